//! The independent reading of DESIGN §4 that `props` checks `decide` against: quiet windows
//! computed from the local calendar with jiff, the plan kind each channel should get, and the
//! checks of a plan's model, holds and digests.

use campanile::engine::{Action, SuppressReason};
use campanile::model::{Channel, Urgency};
use campanile::prefs::{EmailFrequency, Preferences, QuietHours};
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::props::Case;

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

pub fn local(tz: &TimeZone, t: Timestamp) -> DateTime {
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

pub fn check_model(case: &Case) -> Result<(), TestCaseError> {
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

pub fn check_hold(case: &Case) -> Result<(), TestCaseError> {
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

pub fn check_digest(case: &Case) -> Result<(), TestCaseError> {
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
