//! Quiet periods and schedule buckets in a user's time zone (DESIGN §4 step 5 and 6).
//!
//! A wall-clock bound becomes an instant on its date by one rule: inside a skipped hour
//! (spring forward) it is the transition itself, the first valid instant after the gap; inside
//! a repeated hour (fall back) it is the earlier of the two instants. Periods are half-open
//! [start, end). Pure: the caller passes `now`.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

use crate::model::prefs::{DndUntil, EmailFrequency, QuietHours};

/// Turns a local date-time into an instant by the rule above.
pub fn local_instant(tz: &TimeZone, dt: DateTime) -> Timestamp {
    let amb = tz.to_ambiguous_timestamp(dt);
    let at = |offset: jiff::tz::Offset| {
        offset
            .to_timestamp(dt)
            .unwrap_or_else(|_| dt.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(Timestamp::MIN))
    };
    match amb.offset() {
        AmbiguousOffset::Unambiguous { offset } => at(offset),
        AmbiguousOffset::Fold { before, after } => at(before).min(at(after)),
        AmbiguousOffset::Gap { before, after } => {
            // `dt` read with the offset before the gap lies just after the transition; the
            // nearest transition at or before it is where the gap begins.
            let late = at(before).max(at(after));
            tz.preceding(late.saturating_add(1.nanosecond()).unwrap_or(late))
                .next()
                .map_or(late, |t| t.timestamp())
        }
    }
}

/// Why `now` is quiet, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quiet {
    /// `None` only for do-not-disturb until turned off.
    pub until: Option<Timestamp>,
    pub reason: String,
}

/// Daily windows as instants, remembered by start date within one `quiet_at` (its loop
/// looks at the same day's window again after moving to that window's end).
struct Windows<'a> {
    tz: &'a TimeZone,
    qh: &'a QuietHours,
    /// (start date, start, end once worked out): the last few, without allocating.
    seen: [Option<(Date, Timestamp, Option<Timestamp>)>; 4],
    next: usize,
}

impl Windows<'_> {
    /// The window that starts on `date`, if it contains `t` (the end is only worked out when
    /// the start is not after `t`).
    fn containing(&mut self, date: Date, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let (start, end) = (self.qh.start.0, self.qh.end.0);
        if start == end {
            return None;
        }
        let i = match self.seen.iter().position(|w| w.is_some_and(|(d, ..)| d == date)) {
            Some(i) => i,
            None => {
                let i = self.next;
                self.next = (self.next + 1) % self.seen.len();
                self.seen[i] = Some((date, local_instant(self.tz, date.to_datetime(start)), None));
                i
            }
        };
        let (_, s, known_end) = self.seen[i]?;
        if s > t {
            return None;
        }
        let e = match known_end {
            Some(e) => e,
            None => {
                let end_date = if end <= start { date.tomorrow().ok()? } else { date };
                let e = local_instant(self.tz, end_date.to_datetime(end));
                self.seen[i] = Some((date, s, Some(e)));
                e
            }
        };
        (s < e && t < e).then_some((s, e))
    }
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The quiet period (from the daily window or the weekend) that contains `t`, if any: returns
/// its end and a reason.
fn period_containing(w: &mut Windows<'_>, t: Timestamp) -> Option<(Timestamp, String)> {
    let (tz, qh) = (w.tz, w.qh);
    let today = tz.to_datetime(t).date();
    for date in [today.yesterday().ok()?, today] {
        if let Some((_, e)) = w.containing(date, t) {
            let name = tz.iana_name().unwrap_or("UTC");
            return Some((e, format!("quiet hours {}-{} {name}", qh.start, qh.end)));
        }
    }
    if qh.weekends && is_weekend(today) {
        let mut monday = today;
        while monday.weekday() != Weekday::Monday {
            monday = monday.tomorrow().ok()?;
        }
        let end = local_instant(tz, monday.to_datetime(Time::midnight()));
        if t < end {
            return Some((end, "weekend".to_string()));
        }
    }
    None
}

/// Whether `now` is quiet for this user, and the first instant at or after `now` that lies
/// in no quiet period (adjacent and overlapping periods merge).
pub fn quiet_at(qh: &QuietHours, tz: &TimeZone, dnd: Option<DndUntil>, now: Timestamp) -> Option<Quiet> {
    let mut reasons = Vec::new();
    let mut t = now;
    match dnd {
        Some(DndUntil::Forever) => {
            return Some(Quiet { until: None, reason: "do not disturb until turned off".into() });
        }
        Some(DndUntil::At(until)) if until > now => {
            reasons.push(format!("do not disturb until {until}"));
            t = until;
        }
        _ => {}
    }
    if qh.enabled {
        // Each step moves past one period; a year of back-to-back periods is far beyond any
        // real configuration, so the bound only guards against a bug, never cuts a real case.
        let mut windows = Windows { tz, qh, seen: [None; 4], next: 0 };
        for _ in 0..800 {
            match period_containing(&mut windows, t) {
                Some((end, reason)) => {
                    if !reasons.contains(&reason) {
                        reasons.push(reason);
                    }
                    t = end;
                }
                None => break,
            }
        }
    }
    let reason = match reasons.len() {
        0 => return None,
        1 => reasons.pop().unwrap_or_default(),
        _ => reasons.join(", then "),
    };
    Some(Quiet { until: Some(t), reason })
}

/// The next digest bucket strictly after `now`: hourly on the local hour, daily at 09:00
/// local, weekly on Monday 09:00 local. `None` for immediate e-mail.
pub fn digest_at(freq: EmailFrequency, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    let local = now.to_zoned(tz.clone()).datetime();
    let nine = Time::constant(9, 0, 0, 0);
    let candidates: Box<dyn Iterator<Item = DateTime>> = match freq {
        EmailFrequency::Immediate => return None,
        EmailFrequency::Hourly => {
            let hour = local.date().to_datetime(Time::constant(local.hour(), 0, 0, 0));
            Box::new((1..=3).filter_map(move |h| hour.checked_add(h.hours()).ok()))
        }
        EmailFrequency::Daily => Box::new(
            (0..=2)
                .filter_map(move |d| local.date().checked_add(d.days()).ok())
                .map(move |d| d.to_datetime(nine)),
        ),
        EmailFrequency::Weekly => Box::new(
            (0..=14)
                .filter_map(move |d| local.date().checked_add(d.days()).ok())
                .filter(|d| d.weekday() == Weekday::Monday)
                .map(move |d| d.to_datetime(nine)),
        ),
    };
    candidates.map(|dt| local_instant(tz, dt)).find(|at| *at > now)
}
