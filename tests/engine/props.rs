//! Properties of `engine::decide` over random preferences, urgencies and instants (DESIGN §4),
//! checked against an independent reading of quiet hours in `props_model`: windows computed
//! from the local calendar with jiff, a skipped bound found by walking the wall clock forward
//! out of the gap, a repeated bound by taking the earlier instant. Times of day are drawn
//! partly from the hours where the zones below change their clocks, and instants partly from
//! around the real transitions, so the interesting cases come up in a few hundred runs.

use campanile::engine::{Action, Plan};
use campanile::model::{Channel, Event, Urgency};
use campanile::prefs::{
    ClockTime, DndUntil, EmailFrequency, Escalation, Preferences, QuietHours, UrgentRepeat,
};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::sample::select;

use crate::common::{run_at, tz};
use crate::props_model::{check_digest, check_hold, check_model, local};

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
pub struct Case {
    pub prefs: Preferences,
    pub urgency: Urgency,
    pub now: Timestamp,
}

impl Case {
    pub fn tz(&self) -> TimeZone {
        tz(&self.prefs.quiet_hours.timezone)
    }

    pub fn plan(&self) -> Plan {
        let event = Event::from_json(&format!(
            r#"{{"type":"build.failed","title":"t","urgency":"{}"}}"#,
            self.urgency
        ))
        .unwrap();
        run_at(&event, &self.prefs, self.now)
    }

    pub fn dnd_end(&self) -> Option<Timestamp> {
        match self.prefs.dnd.until {
            Some(DndUntil::At(t)) if t > self.now => Some(t),
            _ => None,
        }
    }

    pub fn dnd_forever(&self) -> bool {
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
    let tz = tz(zone);
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
    let wall = local(&tz(zone), transition - SignedDuration::from_mins(1));
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
