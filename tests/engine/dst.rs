//! Daylight-saving transitions (DESIGN §4 steps 5 and 6), part one: the tz data the cases rely
//! on, `local_instant` (a time inside a skipped hour becomes the transition itself, one inside
//! a repeated hour the earlier instant), and digest buckets that follow local time across
//! transitions. Exact UTC instants for 2026 and 2027 in New York, London, Lord Howe (a
//! 30-minute shift) and zones without DST; quiet-hours windows are in `dst_quiet`.

use campanile::engine::Action;
use campanile::engine::quiet::local_instant;
use campanile::model::{Channel, Event};
use campanile::prefs::{EmailFrequency, Preferences, QuietHours};
use jiff::Timestamp;
use jiff::civil::{DateTime, date};

use crate::common::{run_at, ts, tz, window};

fn dt(y: i16, m: i8, d: i8, h: i8, min: i8) -> DateTime {
    date(y, m, d).at(h, min, 0, 0)
}

// ---------------------------------------------------------------- the test data itself

#[test]
fn the_transitions_used_below_come_from_the_tz_database() {
    for (zone, from, want) in [
        (
            "America/New_York",
            "2026-01-01T00:00:00Z",
            ["2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z", "2027-03-14T07:00:00Z", "2027-11-07T06:00:00Z"],
        ),
        (
            "Europe/London",
            "2026-01-01T00:00:00Z",
            ["2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z", "2027-03-28T01:00:00Z", "2027-10-31T01:00:00Z"],
        ),
        (
            // Southern hemisphere: DST ends in April, starts in October.
            "Australia/Lord_Howe",
            "2026-01-01T00:00:00Z",
            ["2026-04-04T15:00:00Z", "2026-10-03T15:30:00Z", "2027-04-03T15:00:00Z", "2027-10-02T15:30:00Z"],
        ),
    ] {
        let got: Vec<Timestamp> = tz(zone).following(ts(from)).take(4).map(|t| t.timestamp()).collect();
        let want: Vec<Timestamp> = want.iter().map(|s| ts(s)).collect();
        assert_eq!(got, want, "{zone}");
    }
    for zone in ["Asia/Tokyo", "Asia/Kolkata"] {
        let tz = tz(zone);
        assert!(tz.following(ts("2026-01-01T00:00:00Z")).next().is_none(), "{zone} has no DST any more");
    }
}

// ---------------------------------------------------------------- local_instant

#[test]
fn local_instant_maps_a_skipped_time_to_the_transition() {
    for (zone, local, want) in [
        // New York, 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00Z.
        ("America/New_York", dt(2026, 3, 8, 1, 59), "2026-03-08T06:59:00Z"),
        ("America/New_York", dt(2026, 3, 8, 2, 0), "2026-03-08T07:00:00Z"),
        ("America/New_York", dt(2026, 3, 8, 2, 30), "2026-03-08T07:00:00Z"),
        ("America/New_York", dt(2026, 3, 8, 2, 59), "2026-03-08T07:00:00Z"),
        ("America/New_York", dt(2026, 3, 8, 3, 0), "2026-03-08T07:00:00Z"),
        ("America/New_York", dt(2026, 3, 8, 3, 1), "2026-03-08T07:01:00Z"),
        ("America/New_York", dt(2027, 3, 14, 2, 30), "2027-03-14T07:00:00Z"),
        // London, 2026-03-29: 01:00 GMT becomes 02:00 BST at 01:00Z.
        ("Europe/London", dt(2026, 3, 29, 0, 59), "2026-03-29T00:59:00Z"),
        ("Europe/London", dt(2026, 3, 29, 1, 0), "2026-03-29T01:00:00Z"),
        ("Europe/London", dt(2026, 3, 29, 1, 30), "2026-03-29T01:00:00Z"),
        ("Europe/London", dt(2026, 3, 29, 2, 0), "2026-03-29T01:00:00Z"),
        ("Europe/London", dt(2027, 3, 28, 1, 45), "2027-03-28T01:00:00Z"),
        // Lord Howe, 2026-10-04: 02:00 (+10:30) becomes 02:30 (+11) at 15:30Z the day before.
        ("Australia/Lord_Howe", dt(2026, 10, 4, 1, 59), "2026-10-03T15:29:00Z"),
        ("Australia/Lord_Howe", dt(2026, 10, 4, 2, 0), "2026-10-03T15:30:00Z"),
        ("Australia/Lord_Howe", dt(2026, 10, 4, 2, 15), "2026-10-03T15:30:00Z"),
        ("Australia/Lord_Howe", dt(2026, 10, 4, 2, 29), "2026-10-03T15:30:00Z"),
        ("Australia/Lord_Howe", dt(2026, 10, 4, 2, 30), "2026-10-03T15:30:00Z"),
        ("Australia/Lord_Howe", dt(2026, 10, 4, 3, 0), "2026-10-03T16:00:00Z"),
        ("Australia/Lord_Howe", dt(2027, 10, 3, 2, 10), "2027-10-02T15:30:00Z"),
    ] {
        assert_eq!(local_instant(&tz(zone), local), ts(want), "{zone} {local}");
    }
}

#[test]
fn local_instant_maps_a_repeated_time_to_the_earlier_instant() {
    for (zone, local, want) in [
        // New York, 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00Z; 01:00-02:00 twice.
        ("America/New_York", dt(2026, 11, 1, 0, 59), "2026-11-01T04:59:00Z"),
        ("America/New_York", dt(2026, 11, 1, 1, 0), "2026-11-01T05:00:00Z"),
        ("America/New_York", dt(2026, 11, 1, 1, 30), "2026-11-01T05:30:00Z"),
        ("America/New_York", dt(2026, 11, 1, 1, 59), "2026-11-01T05:59:00Z"),
        ("America/New_York", dt(2026, 11, 1, 2, 0), "2026-11-01T07:00:00Z"),
        ("America/New_York", dt(2027, 11, 7, 1, 30), "2027-11-07T05:30:00Z"),
        // London, 2026-10-25: 02:00 BST becomes 01:00 GMT at 01:00Z.
        ("Europe/London", dt(2026, 10, 25, 1, 0), "2026-10-25T00:00:00Z"),
        ("Europe/London", dt(2026, 10, 25, 1, 30), "2026-10-25T00:30:00Z"),
        ("Europe/London", dt(2026, 10, 25, 2, 0), "2026-10-25T02:00:00Z"),
        ("Europe/London", dt(2027, 10, 31, 1, 15), "2027-10-31T00:15:00Z"),
        // Lord Howe, 2026-04-05: 02:00 (+11) becomes 01:30 (+10:30) at 15:00Z the day before.
        ("Australia/Lord_Howe", dt(2026, 4, 5, 1, 29), "2026-04-04T14:29:00Z"),
        ("Australia/Lord_Howe", dt(2026, 4, 5, 1, 30), "2026-04-04T14:30:00Z"),
        ("Australia/Lord_Howe", dt(2026, 4, 5, 1, 45), "2026-04-04T14:45:00Z"),
        ("Australia/Lord_Howe", dt(2026, 4, 5, 2, 0), "2026-04-04T15:30:00Z"),
        ("Australia/Lord_Howe", dt(2027, 4, 4, 1, 40), "2027-04-03T14:40:00Z"),
    ] {
        assert_eq!(local_instant(&tz(zone), local), ts(want), "{zone} {local}");
    }
}

#[test]
fn local_instant_in_zones_without_dst_is_a_fixed_offset() {
    for (zone, local, want) in [
        ("Asia/Tokyo", dt(2026, 3, 8, 2, 30), "2026-03-07T17:30:00Z"),
        ("Asia/Tokyo", dt(2026, 11, 1, 1, 30), "2026-10-31T16:30:00Z"),
        ("Asia/Kolkata", dt(2026, 3, 29, 1, 30), "2026-03-28T20:00:00Z"),
        ("Asia/Kolkata", dt(2026, 10, 4, 2, 15), "2026-10-03T20:45:00Z"),
        ("UTC", dt(2026, 3, 8, 2, 30), "2026-03-08T02:30:00Z"),
    ] {
        assert_eq!(local_instant(&tz(zone), local), ts(want), "{zone} {local}");
    }
}

// ---------------------------------------------------------------- digests across transitions

fn digest(zone: &str, freq: EmailFrequency, now: &str) -> Action {
    // Quiet hours off: the zone still places the buckets.
    let quiet_hours = QuietHours { enabled: false, ..window(zone, "22:00", "08:00", false) };
    let mut prefs = Preferences { quiet_hours, ..Preferences::default() };
    prefs.channels.email.enabled = true;
    prefs.channels.email.address = "alice@example.com".into();
    prefs.channels.email.frequency = freq;
    let event = Event::from_json(r#"{"type":"a.b","title":"t"}"#).unwrap();
    let plan = run_at(&event, &prefs, ts(now));
    plan.channels[&Channel::Email].action.clone()
}

#[test]
fn digest_buckets_follow_local_time_across_transitions() {
    use EmailFrequency::{Daily, Hourly, Weekly};
    let at = |s: &str| Action::Digest { at: ts(s) };
    for (zone, freq, now, want) in [
        // Saturday 10:00 EST: Sunday 09:00 is EDT.
        ("America/New_York", Daily, "2026-03-07T15:00:00Z", "2026-03-08T13:00:00Z"),
        // Saturday 11:00 EDT: Sunday 09:00 is EST.
        ("America/New_York", Daily, "2026-10-31T15:00:00Z", "2026-11-01T14:00:00Z"),
        // Wednesday before the change: Monday 09:00 is EDT.
        ("America/New_York", Weekly, "2026-03-04T15:00:00Z", "2026-03-09T13:00:00Z"),
        // 01:30 EST, the hour before the gap: the next hour is 03:00 EDT, the transition.
        ("America/New_York", Hourly, "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z"),
        // 01:30 EST, the second time: 02:00 EST.
        ("America/New_York", Hourly, "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"),
        // Lord Howe 01:45 (+10:30): 02:00 is skipped, the bucket is the transition (02:30).
        ("Australia/Lord_Howe", Hourly, "2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z"),
        // Lord Howe second 01:40 (+10:30): 02:00 (+10:30).
        ("Australia/Lord_Howe", Hourly, "2026-04-04T15:10:00Z", "2026-04-04T15:30:00Z"),
        // Kolkata: on the local hour, which is half past in UTC.
        ("Asia/Kolkata", Hourly, "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"),
        ("Asia/Kolkata", Daily, "2026-03-08T03:30:00Z", "2026-03-09T03:30:00Z"),
        ("Europe/London", Daily, "2026-03-28T10:00:00Z", "2026-03-29T08:00:00Z"),
        ("Europe/London", Weekly, "2026-10-25T12:00:00Z", "2026-10-26T09:00:00Z"),
    ] {
        assert_eq!(digest(zone, freq, now), at(want), "{zone} {freq:?} at {now}");
    }
}

#[test]
fn an_hourly_digest_in_the_first_repeated_hour_waits_for_a_local_hour() {
    // 01:59 EDT, the first time. §4 does not settle whether the second 01:00 (EST, 06:00Z) is a
    // bucket of its own; either it or 02:00 EST (07:00Z) is on the local hour.
    let got = digest("America/New_York", EmailFrequency::Hourly, "2026-11-01T05:59:00Z");
    assert!(
        [ts("2026-11-01T06:00:00Z"), ts("2026-11-01T07:00:00Z")]
            .iter()
            .any(|t| got == Action::Digest { at: *t }),
        "{got:?}"
    );
}
