//! Properties of `engine::decide` over random preferences, urgencies and instants (DESIGN §4),
//! checked against an independent reading of quiet hours: windows are computed here from the
//! local calendar with jiff, a skipped bound found by walking the wall clock forward out of
//! the gap, a repeated bound by taking the earlier instant. Times of day are drawn partly from
//! the hours where the zones below change their clocks, and instants partly from around the
//! real transitions, so the interesting cases come up in a few hundred runs.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use campanile::engine::{Action, History, Input, Plan, Policy, Presence, SuppressReason, decide};
use campanile::model::{Channel, Event, Urgency};
use campanile::prefs::{
    ClockTime, DndUntil, EmailFrequency, Escalation, Preferences, QuietHours, UrgentRepeat, timezone,
};
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

const ZONES: [&str; 8] = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Tokyo",
    "Asia/Kolkata",
    // Changes at midnight: Sunday 00:00-01:00 is skipped, Saturday 23:00-24:00 repeated.
    "America/Santiago",
    "Europe/Berlin",
];

const DST_ZONES: [&str; 5] =
    ["America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "Europe/Berlin"];

/// Minutes of the day in or next to the zones' gaps and folds, and common window bounds.
const INTERESTING: [u16; 17] =
    [0, 30, 59, 60, 90, 105, 120, 135, 150, 165, 180, 480, 540, 1320, 1380, 1410, 1439];

/// 2025-01-01T00:00:00Z to 2029-01-01T00:00:00Z.
const FROM: i64 = 1_735_689_600;
const TO: i64 = 1_861_920_000;

#[derive(Debug, Clone)]
struct Case {
    prefs: Preferences,
    urgency: Urgency,
    now: Timestamp,
}

impl Case {
    fn tz(&self) -> TimeZone {
        timezone(&self.prefs.quiet_hours.timezone).unwrap()
    }

    fn plan(&self) -> Plan {
        let event = Event::from_json(&format!(
            r#"{{"type":"build.failed","title":"t","urgency":"{}"}}"#,
            self.urgency
        ))
        .unwrap();
        decide(&Input {
            event: &event,
            prefs: &self.prefs,
            presence: &Presence::default(),
            history: &History::default(),
            policy: &Policy::default(),
            now: self.now,
        })
    }

    fn dnd_end(&self) -> Option<Timestamp> {
        match self.prefs.dnd.until {
            Some(DndUntil::At(t)) if t > self.now => Some(t),
            _ => None,
        }
    }

    fn dnd_forever(&self) -> bool {
        self.prefs.dnd.until == Some(DndUntil::Forever)
    }
}

fn minute_of_day() -> impl Strategy<Value = u16> {
    prop_oneof![0u16..1440, select(INTERESTING.to_vec())]
}

fn clock(m: u16) -> ClockTime {
    ClockTime::hm(i8::try_from(m / 60).unwrap(), i8::try_from(m % 60).unwrap())
}

#[derive(Debug, Clone, Copy)]
enum DndKind {
    Off,
    Past,
    Future,
    Forever,
}

/// `now`: uniform over four years, or near one of the zone's transitions (returned too).
fn instant(zone: &str, near: bool, k: usize, offset: i64, uniform: i64) -> (Timestamp, Option<Timestamp>) {
    let tz = timezone(zone).unwrap();
    let transition = tz
        .following(Timestamp::from_second(FROM).unwrap())
        .take_while(|t| t.timestamp().as_second() < TO)
        .nth(k)
        .map(|t| t.timestamp());
    match transition {
        Some(t) if near => (t + SignedDuration::from_secs(offset), Some(t)),
        _ => (Timestamp::from_second(uniform).unwrap(), None),
    }
}

/// The minute of the day at which the clock changes, on the wall clock before the change: the
/// start of the gap or the end of the fold. Window bounds near it are the hard cases.
fn changeover_minute(zone: &str, transition: Timestamp) -> i32 {
    let wall = local(&timezone(zone).unwrap(), transition - SignedDuration::from_mins(1));
    (i32::from(wall.hour()) * 60 + i32::from(wall.minute()) + 1).rem_euclid(1440)
}

/// Random cases; with `edge`, only zones that change their clocks, `now` up to four hours
/// before a change and the window's end within 75 minutes of the changeover minute.
fn cases(edge: bool) -> impl Strategy<Value = Case> {
    let zones =
        if edge { ZONES.iter().copied().filter(|z| DST_ZONES.contains(z)).collect() } else { ZONES.to_vec() };
    let weekends = prop::bool::weighted(if edge { 0.25 } else { 0.5 });
    let quiet = (select(zones), minute_of_day(), minute_of_day(), weekends, prop::bool::weighted(0.85));
    let channels = (any::<[bool; 5]>(), prop::array::uniform5(select(Urgency::ALL.to_vec())));
    let email = select(vec![
        EmailFrequency::Immediate,
        EmailFrequency::Hourly,
        EmailFrequency::Daily,
        EmailFrequency::Weekly,
    ]);
    let dnd = (
        prop_oneof![
            6 => Just(DndKind::Off),
            1 => Just(DndKind::Past),
            2 => Just(DndKind::Future),
            1 => Just(DndKind::Forever),
        ],
        1i64..3 * 86_400,
    );
    let when = (
        prop::bool::weighted(if edge { 1.0 } else { 0.6 }),
        0usize..8,
        // Often just before the change, where a window ending at it holds `now`.
        (-36 * 3600i64..36 * 3600, -4 * 3600i64..3600, any::<bool>()),
        FROM..TO,
        // Near a transition, sometimes move the window's bounds next to the changeover.
        (any::<bool>(), any::<bool>(), -75i32..=75, -75i32..=75),
    );
    let extra = (select(vec![0u32, 15]), any::<[bool; 5]>(), select(vec![0u32, 10]), 1u32..120);
    (quiet, channels, email, dnd, when, select(Urgency::ALL.to_vec()), extra).prop_map(
        move |(
            (zone, start, end, weekends, enabled),
            (on, min),
            freq,
            (dnd, dnd_secs),
            when,
            urgency,
            extra,
        )| {
            let (near, k, (wide, tight, pick), uniform, (snap_start, snap_end, ds, de)) = when;
            let offset = if edge || pick { tight } else { wide };
            let snap_end = edge || snap_end;
            let (now, transition) = instant(zone, near, k, offset, uniform);
            let (mut start, mut end) = (start, end);
            if let Some(t) = transition {
                let m = changeover_minute(zone, t);
                let near_it = |d: i32| u16::try_from((m + d).rem_euclid(1440)).unwrap();
                if snap_start {
                    start = near_it(ds);
                }
                if snap_end {
                    end = near_it(de);
                }
            }
            let quiet_hours =
                QuietHours { enabled, start: clock(start), end: clock(end), timezone: zone.into(), weekends };
            let mut p = Preferences { quiet_hours, ..Preferences::default() };
            p.channels.desktop.enabled = on[0];
            p.channels.desktop.min_urgency = min[0];
            p.channels.email.enabled = on[1];
            p.channels.email.min_urgency = min[1];
            p.channels.email.address = "alice@example.com".into();
            p.channels.email.frequency = freq;
            p.channels.slack.enabled = on[2];
            p.channels.slack.min_urgency = min[2];
            p.channels.slack.url = "https://hooks.slack.example/T1".into();
            p.channels.webhook.enabled = on[3];
            p.channels.webhook.min_urgency = min[3];
            p.channels.webhook.url = "https://hooks.example/x".into();
            p.channels.push.enabled = on[4];
            p.channels.push.min_urgency = min[4];
            let d = SignedDuration::from_secs(dnd_secs);
            p.dnd.until = match dnd {
                DndKind::Off => None,
                DndKind::Past => Some(DndUntil::At(now - d)),
                DndKind::Future => Some(DndUntil::At(now + d)),
                DndKind::Forever => Some(DndUntil::Forever),
            };
            let (after, esc, every, expire) = extra;
            let escalate_to: Vec<Channel> =
                Channel::ALL.into_iter().zip(esc).filter(|(_, e)| *e).map(|(c, _)| c).collect();
            p.escalation = Escalation {
                after_minutes: if escalate_to.is_empty() { 0 } else { after },
                channels: escalate_to,
            };
            p.urgent = UrgentRepeat { repeat_every_minutes: every, expire_minutes: expire };
            Case { prefs: p, urgency, now }
        },
    )
}

// ---------------------------------------------------------------- the independent reading

fn is_gap(tz: &TimeZone, dt: DateTime) -> bool {
    matches!(tz.to_ambiguous_timestamp(dt).offset(), AmbiguousOffset::Gap { .. })
}

/// A wall-clock time as an instant: out of a gap by walking forward a minute at a time (every
/// transition in these zones falls on a whole minute), the earlier instant of a fold.
fn resolve(tz: &TimeZone, mut dt: DateTime) -> Timestamp {
    loop {
        match tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => return offset.to_timestamp(dt).unwrap(),
            AmbiguousOffset::Fold { before, after } => {
                return before.to_timestamp(dt).unwrap().min(after.to_timestamp(dt).unwrap());
            }
            AmbiguousOffset::Gap { .. } => dt = dt.checked_add(1.minute()).unwrap(),
        }
    }
}

fn local(tz: &TimeZone, t: Timestamp) -> DateTime {
    t.to_zoned(tz.clone()).datetime()
}

/// Whether `t` lies in a daily window or a weekend of `qh`.
fn quiet(qh: &QuietHours, tz: &TimeZone, t: Timestamp) -> bool {
    if !qh.enabled {
        return false;
    }
    let (start, end) = (qh.start.0, qh.end.0);
    let today = local(tz, t).date();
    if qh.weekends && matches!(today.weekday(), Weekday::Saturday | Weekday::Sunday) {
        return true;
    }
    if start == end {
        return false;
    }
    (-2i32..=1).any(|d| {
        let day: Date = today.checked_add(d.days()).unwrap();
        let end_day = if end <= start { day.tomorrow().unwrap() } else { day };
        let (s, e) = (resolve(tz, day.to_datetime(start)), resolve(tz, end_day.to_datetime(end)));
        s <= t && t < e
    })
}

fn interruptive(c: Channel, prefs: &Preferences) -> bool {
    match c {
        Channel::Desktop | Channel::Push | Channel::Slack => true,
        Channel::Email => prefs.channels.email.frequency == EmailFrequency::Immediate,
        Channel::Webhook => false,
    }
}

/// The plan kind §4 gives a channel for these inputs (no rules, presence or policy), with the
/// instants of holds and digests left out: they have properties of their own.
#[derive(Debug, PartialEq)]
enum Kind {
    Suppress(SuppressReason),
    Hold,
    Digest,
    Escalate(Timestamp),
    Deliver { repeat: bool },
}

fn kind(a: &Action) -> Kind {
    match a {
        Action::Deliver => Kind::Deliver { repeat: false },
        Action::Hold { .. } => Kind::Hold,
        Action::Digest { .. } => Kind::Digest,
        Action::Escalate { after, unless_read } => {
            assert!(unless_read);
            Kind::Escalate(*after)
        }
        Action::Suppress { reason } => Kind::Suppress(*reason),
    }
}

fn model(case: &Case, c: Channel) -> Kind {
    let p = &case.prefs;
    let (enabled, min) = p.channels.switch(c);
    let urgent = case.urgency == Urgency::Urgent;
    let quiet_now =
        case.dnd_forever() || case.dnd_end().is_some() || quiet(&p.quiet_hours, &case.tz(), case.now);
    if !enabled {
        Kind::Suppress(SuppressReason::Disabled)
    } else if case.urgency < min {
        Kind::Suppress(SuppressReason::Urgency)
    } else if interruptive(c, p) && !urgent && quiet_now {
        Kind::Hold
    } else if c == Channel::Email && p.channels.email.frequency != EmailFrequency::Immediate {
        Kind::Digest
    } else if p.escalation.after_minutes > 0 && p.escalation.channels.contains(&c) {
        Kind::Escalate(case.now + SignedDuration::from_mins(i64::from(p.escalation.after_minutes)))
    } else {
        Kind::Deliver { repeat: urgent && interruptive(c, p) && p.urgent.repeat_every_minutes > 0 }
    }
}

// ---------------------------------------------------------------- properties

fn check_model(case: &Case) -> Result<(), TestCaseError> {
    let plan = case.plan();
    let quiet_now = quiet(&case.prefs.quiet_hours, &case.tz(), case.now);
    for c in Channel::ALL {
        let p = &plan.channels[&c];
        let mut got = kind(&p.action);
        if let Kind::Deliver { repeat } = &mut got {
            *repeat = p.repeat.is_some();
        }
        prop_assert_eq!(&got, &model(case, c), "{} (quiet by our reading: {}) in {:#?}", c, quiet_now, plan);
        // The headline: nothing interruptive is delivered inside a quiet window unless urgent.
        if quiet_now && interruptive(c, &case.prefs) && case.urgency != Urgency::Urgent {
            prop_assert!(
                !matches!(p.action, Action::Deliver | Action::Escalate { .. }),
                "{} in {:#?}",
                c,
                plan
            );
        }
        if let Some(r) = &p.repeat {
            let expire = SignedDuration::from_mins(i64::from(case.prefs.urgent.expire_minutes));
            prop_assert_eq!(r.every_minutes, case.prefs.urgent.repeat_every_minutes);
            prop_assert_eq!(r.until, case.now + expire);
        }
    }
    Ok(())
}

fn check_hold(case: &Case) -> Result<(), TestCaseError> {
    let plan = case.plan();
    let tz = case.tz();
    let qh = &case.prefs.quiet_hours;
    let mut holds = plan.channels.values().filter_map(|p| match p.action {
        Action::Hold { until } => Some(until),
        _ => None,
    });
    let Some(until) = holds.next() else { return Ok(()) };
    prop_assert!(holds.all(|u| u == until), "one period, one end: {:#?}", plan);
    if case.dnd_forever() {
        prop_assert_eq!(until, None);
        return Ok(());
    }
    let until = until.expect("only dnd forever has no end");
    prop_assert!(until > case.now, "{} is not after {}", until, case.now);
    prop_assert!(!quiet(qh, &tz, until), "{} is still quiet", until);
    // Every instant from now (or from the end of dnd) to `until` is quiet: periods merge.
    let from = case.dnd_end().unwrap_or(case.now);
    prop_assert!(until >= from);
    if until > from {
        let span = until.duration_since(from);
        for i in 0..32 {
            let t = from + span / 32 * i;
            prop_assert!(quiet(qh, &tz, t), "{} between {} and {} is not quiet", t, from, until);
        }
        let t = until - SignedDuration::from_secs(1);
        prop_assert!(quiet(qh, &tz, t), "{} just before {} is not quiet", t, until);
    }
    // Without dnd, a hold ends at the window's end on the wall clock (at the transition when
    // that end is skipped, at the earlier instant when it is repeated), or with weekends on at
    // Monday 00:00.
    if case.dnd_end().is_none() {
        let wall = local(&tz, until);
        let at_end = until == resolve(&tz, wall.date().to_datetime(qh.end.0));
        let at_monday = qh.weekends
            && wall.date().weekday() == Weekday::Monday
            && until == resolve(&tz, wall.date().to_datetime(Time::midnight()));
        prop_assert!(
            at_end || at_monday,
            "{} is {} in {}, window {}-{}",
            until,
            wall,
            qh.timezone,
            qh.start,
            qh.end
        );
        if !qh.weekends {
            prop_assert!(at_end);
            if !is_gap(&tz, wall.date().to_datetime(qh.end.0)) {
                prop_assert_eq!(wall.time(), qh.end.0);
            }
        }
    }
    Ok(())
}

fn check_digest(case: &Case) -> Result<(), TestCaseError> {
    let plan = case.plan();
    let Action::Digest { at } = plan.channels[&Channel::Email].action else {
        prop_assert_ne!(model(case, Channel::Email), Kind::Digest);
        return Ok(());
    };
    let tz = case.tz();
    let freq = case.prefs.channels.email.frequency;
    let wall = local(&tz, at);
    let nine = Time::constant(9, 0, 0, 0);
    prop_assert!(at > case.now, "{} is not after {}", at, case.now);
    let wait = at.duration_since(case.now);
    match freq {
        EmailFrequency::Immediate => prop_assert!(false, "an immediate e-mail is no digest"),
        EmailFrequency::Hourly => {
            prop_assert_eq!(wall.second(), 0);
            let hour = wall.date().to_datetime(Time::constant(wall.hour(), 0, 0, 0));
            prop_assert!(wall.minute() == 0 || is_gap(&tz, hour), "{} is {}", at, wall);
            prop_assert!(wait <= SignedDuration::from_hours(2), "{} waits {:#}", at, wait);
        }
        EmailFrequency::Daily | EmailFrequency::Weekly => {
            let gap = is_gap(&tz, wall.date().to_datetime(nine));
            prop_assert!(wall.time() == nine || gap, "{} is {}", at, wall);
            prop_assert_eq!(at, resolve(&tz, wall.date().to_datetime(nine)));
            let every = if freq == EmailFrequency::Daily { 1 } else { 7 };
            if freq == EmailFrequency::Weekly {
                prop_assert_eq!(wall.date().weekday(), Weekday::Monday);
            }
            // No bucket is skipped: the one before is not after now.
            let before = wall.date().checked_sub(every.days()).unwrap().to_datetime(nine);
            prop_assert!(resolve(&tz, before) <= case.now, "skipped {}", before);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_plan_names_all_five_channels(case in cases(false)) {
        let plan = case.plan();
        let names: Vec<Channel> = plan.channels.keys().copied().collect();
        prop_assert_eq!(names, Channel::ALL.to_vec());
        prop_assert!(plan.inbox.record);
    }

    #[test]
    fn urgent_is_never_held(case in cases(false)) {
        let case = Case { urgency: Urgency::Urgent, ..case };
        let plan = case.plan();
        for (c, p) in &plan.channels {
            prop_assert!(!matches!(p.action, Action::Hold { .. }), "{} held: {:#?}", c, plan);
        }
    }

    #[test]
    fn the_plan_matches_an_independent_reading_of_section_4(case in cases(false)) {
        check_model(&case)?;
    }

    #[test]
    fn the_plan_matches_it_at_clock_changes_too(case in cases(true)) {
        check_model(&case)?;
    }

    #[test]
    fn a_hold_ends_at_the_first_instant_out_of_every_quiet_period(case in cases(false)) {
        check_hold(&case)?;
    }

    #[test]
    fn a_hold_across_a_clock_change_ends_where_section_4_says(case in cases(true)) {
        check_hold(&case)?;
    }

    #[test]
    fn digests_land_on_their_local_schedule(case in cases(false)) {
        check_digest(&case)?;
    }

    #[test]
    fn digests_land_on_their_local_schedule_at_clock_changes(case in cases(true)) {
        check_digest(&case)?;
    }
}
