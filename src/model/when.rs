//! How an instant reads for a person (issue 16): local time to the minute (to the second
//! when it has seconds), the day only when it is not today, and how far from now. The wire
//! and `--json` keep RFC 3339 in UTC (DESIGN §13); this is for screens and human output.
//! Pure: `now` and the zone are arguments.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// `07:00 (in 30 min)`, `Mon 09:00 (in 2 d)`, `Fri 12 Mar 09:30:15 (3 d ago)`.
pub fn human(t: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    format!("{} ({})", clock(t, now, tz), relative(t, now))
}

/// The local time, with the day when it is not today (the date too beyond a week).
pub fn clock(t: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let (z, n) = (t.to_zoned(tz.clone()), now.to_zoned(tz.clone()));
    let time = if z.second() == 0 { "%H:%M" } else { "%H:%M:%S" };
    let days = (z.date() - n.date()).get_days().abs();
    let day = if z.date() == n.date() {
        ""
    } else if days < 7 {
        "%a "
    } else if z.year() == n.year() {
        "%a %-d %b "
    } else {
        "%a %-d %b %Y "
    };
    z.strftime(&format!("{day}{time}")).to_string()
}

/// `in 30 min`, `2 h ago`, `now`: the largest unit or two that matter.
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let secs = t.as_second() - now.as_second();
    let a = secs.unsigned_abs();
    let span = match a {
        0..5 => return "now".into(),
        5..60 => format!("{a} s"),
        60..3_600 => format!("{} min", a / 60),
        3_600..36_000 if a % 3_600 >= 60 => format!("{} h {} min", a / 3_600, a % 3_600 / 60),
        3_600..172_800 => format!("{} h", a / 3_600),
        _ => format!("{} d", a / 86_400),
    };
    if secs > 0 { format!("in {span}") } else { format!("{span} ago") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn times_read_as_local_clock_times_with_the_day_when_needed_and_how_far_from_now() {
        let now = ts("2027-03-14T06:30:00Z");
        let berlin = TimeZone::get("Europe/Berlin").unwrap_or(TimeZone::UTC);
        assert_eq!(human(ts("2027-03-14T07:00:00Z"), now, &TimeZone::UTC), "07:00 (in 30 min)");
        assert_eq!(human(ts("2027-03-14T07:00:00Z"), now, &berlin), "08:00 (in 30 min)");
        assert_eq!(human(ts("2027-03-15T08:00:00Z"), now, &TimeZone::UTC), "Mon 08:00 (in 25 h)");
        assert_eq!(human(ts("2027-03-17T08:00:00Z"), now, &TimeZone::UTC), "Wed 08:00 (in 3 d)");
        assert_eq!(human(ts("2027-03-14T04:15:00Z"), now, &TimeZone::UTC), "04:15 (2 h 15 min ago)");
        assert_eq!(
            human(ts("2027-03-01T09:30:15.123456789Z"), now, &TimeZone::UTC),
            "Mon 1 Mar 09:30:15 (12 d ago)",
            "no nanoseconds"
        );
        assert_eq!(relative(now, now), "now");
        assert_eq!(relative(ts("2027-03-14T12:30:00Z"), now), "in 6 h");
    }
}
