//! The instants behind the snooze and do-not-disturb presets. Clock times ("tonight",
//! "tomorrow 09:00") are read in the user's zone and turned into instants by the engine's
//! rule for skipped and repeated hours, so a preset never lands on a time that does not
//! exist. Pure: `now` is an argument.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use super::state::{DndPreset, SnoozePreset};
use crate::engine::quiet::local_instant;

const TONIGHT: Time = Time::constant(20, 0, 0, 0);
const MORNING: Time = Time::constant(9, 0, 0, 0);

fn at(tz: &TimeZone, date: Date, time: Time) -> Timestamp {
    local_instant(tz, date.to_datetime(time))
}

fn in_an_hour(now: Timestamp) -> Timestamp {
    now.saturating_add(SignedDuration::from_hours(1)).unwrap_or(now)
}

fn tomorrow_morning(now: Timestamp, tz: &TimeZone) -> Timestamp {
    let today = now.to_zoned(tz.clone()).date();
    at(tz, today.tomorrow().unwrap_or(today), MORNING)
}

pub fn snooze_until(preset: SnoozePreset, now: Timestamp, tz: &TimeZone) -> Timestamp {
    let today = now.to_zoned(tz.clone()).date();
    match preset {
        SnoozePreset::Hour => in_an_hour(now),
        SnoozePreset::Tonight => {
            let tonight = at(tz, today, TONIGHT);
            if tonight > now { tonight } else { at(tz, today.tomorrow().unwrap_or(today), TONIGHT) }
        }
        SnoozePreset::Tomorrow => tomorrow_morning(now, tz),
        SnoozePreset::NextWeek => {
            // The Monday after today, even when today is a Monday.
            let ahead = 7 - today.weekday().to_monday_zero_offset();
            at(tz, today.checked_add(i64::from(ahead).days()).unwrap_or(today), MORNING)
        }
    }
}

/// `None` turns do-not-disturb off.
pub fn dnd_until(preset: DndPreset, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    match preset {
        DndPreset::Hour => Some(in_an_hour(now)),
        DndPreset::Tomorrow => Some(tomorrow_morning(now, tz)),
        DndPreset::Off => None,
    }
}
