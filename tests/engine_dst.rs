//! Quiet hours across daylight-saving transitions (DESIGN §4 step 5): a bound inside a skipped
//! hour becomes the transition itself, a bound inside a repeated hour the earlier instant, and
//! a period is half-open. Exact UTC instants for 2026 and 2027 in New York, London, Lord Howe
//! (a 30-minute shift) and zones without DST, through `quiet` directly and through `decide`.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use campanile::engine::quiet::{local_instant, quiet_at};
use campanile::engine::{Action, History, Input, Plan, Policy, Presence, decide};
use campanile::model::{Channel, Event, Urgency};
use campanile::prefs::{ClockTime, DndUntil, EmailFrequency, Preferences, QuietHours, timezone};
use jiff::Timestamp;
use jiff::civil::{DateTime, date};
use jiff::tz::TimeZone;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn tz(name: &str) -> TimeZone {
    timezone(name).unwrap()
}

fn dt(y: i16, m: i8, d: i8, h: i8, min: i8) -> DateTime {
    date(y, m, d).at(h, min, 0, 0)
}

fn window(zone: &str, start: &str, end: &str, weekends: bool) -> QuietHours {
    QuietHours {
        enabled: true,
        start: start.parse::<ClockTime>().unwrap(),
        end: end.parse::<ClockTime>().unwrap(),
        timezone: zone.into(),
        weekends,
    }
}

/// `quiet_at`'s `until` for a window and `now`, `None` when `now` is not quiet.
fn until(qh: &QuietHours, now: &str) -> Option<Timestamp> {
    let q = quiet_at(qh, &tz(&qh.timezone), None, ts(now))?;
    Some(q.until.expect("only dnd forever has no end"))
}

/// Runs a table of `(now, expected until)` against one window, directly and through `decide`.
fn check(qh: &QuietHours, table: &[(&str, Option<&str>)]) {
    for (now, want) in table {
        let want = want.map(ts);
        assert_eq!(until(qh, now), want, "{}-{} {} at {now}", qh.start, qh.end, qh.timezone);
        let plan = decide_at(qh, None, now, Urgency::Normal);
        let hold = want.map_or(Action::Deliver, |u| Action::Hold { until: Some(u) });
        for c in [Channel::Desktop, Channel::Push, Channel::Email] {
            assert_eq!(plan.channels[&c].action, hold, "decide: {c} at {now} in {plan:#?}");
        }
        assert_eq!(plan.channels[&Channel::Webhook].action, Action::Deliver);
    }
}

fn decide_at(qh: &QuietHours, dnd: Option<DndUntil>, now: &str, urgency: Urgency) -> Plan {
    let mut prefs = Preferences { quiet_hours: qh.clone(), ..Preferences::default() };
    prefs.dnd.until = dnd;
    prefs.channels.desktop.min_urgency = Urgency::Low;
    prefs.channels.push.enabled = true;
    prefs.channels.email.enabled = true;
    prefs.channels.email.address = "alice@example.com".into();
    prefs.channels.webhook.enabled = true;
    prefs.channels.webhook.url = "https://hooks.example/x".into();
    let event =
        Event::from_json(&format!(r#"{{"type":"build.failed","title":"t","urgency":"{urgency}"}}"#)).unwrap();
    decide(&Input {
        event: &event,
        prefs: &prefs,
        presence: &Presence::default(),
        history: &History::default(),
        policy: &Policy::default(),
        now: ts(now),
    })
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

// ---------------------------------------------------------------- New York

#[test]
fn new_york_spring_forward_window_starting_in_the_gap() {
    // 02:30-07:00 on 2026-03-08: starts at the transition (07:00Z), ends 07:00 EDT (11:00Z).
    check(
        &window("America/New_York", "02:30", "07:00", false),
        &[
            ("2026-03-08T06:59:59Z", None),
            ("2026-03-08T07:00:00Z", Some("2026-03-08T11:00:00Z")),
            ("2026-03-08T10:59:59Z", Some("2026-03-08T11:00:00Z")),
            ("2026-03-08T11:00:00Z", None),
            // The day before, all EST: 07:30Z to 12:00Z.
            ("2026-03-07T07:29:59Z", None),
            ("2026-03-07T07:30:00Z", Some("2026-03-07T12:00:00Z")),
        ],
    );
}

#[test]
fn new_york_spring_forward_window_ending_in_the_gap() {
    // 22:00-02:30 from 2026-03-07: 22:00 EST (03:00Z) to the transition (07:00Z).
    check(
        &window("America/New_York", "22:00", "02:30", false),
        &[
            ("2026-03-08T02:59:59Z", None),
            ("2026-03-08T03:00:00Z", Some("2026-03-08T07:00:00Z")),
            ("2026-03-08T06:59:59Z", Some("2026-03-08T07:00:00Z")),
            ("2026-03-08T07:00:00Z", None),
            ("2026-03-08T07:30:00Z", None),
            // The next night is EDT: 22:00 EDT (02:00Z) to 02:30 EDT (06:30Z).
            ("2026-03-09T02:00:00Z", Some("2026-03-09T06:30:00Z")),
        ],
    );
}

#[test]
fn new_york_a_window_wholly_inside_the_gap_is_empty_that_day() {
    check(
        &window("America/New_York", "02:10", "02:50", false),
        &[
            ("2026-03-08T06:59:59Z", None),
            ("2026-03-08T07:00:00Z", None),
            ("2026-03-08T07:30:00Z", None),
            // A day later 02:10-02:50 EDT exists: 06:10Z-06:50Z.
            ("2026-03-09T06:30:00Z", Some("2026-03-09T06:50:00Z")),
            ("2027-03-14T07:00:00Z", None),
        ],
    );
}

#[test]
fn new_york_fall_back_window_starting_in_the_repeated_hour() {
    // 01:30-06:00 on 2026-11-01: starts at the first 01:30 (EDT, 05:30Z), ends 06:00 EST (11:00Z).
    check(
        &window("America/New_York", "01:30", "06:00", false),
        &[
            ("2026-11-01T05:29:59Z", None),
            ("2026-11-01T05:30:00Z", Some("2026-11-01T11:00:00Z")),
            ("2026-11-01T06:30:00Z", Some("2026-11-01T11:00:00Z")), // the second 01:30
            ("2026-11-01T10:59:59Z", Some("2026-11-01T11:00:00Z")),
            ("2026-11-01T11:00:00Z", None),
        ],
    );
}

#[test]
fn new_york_fall_back_window_ending_in_the_repeated_hour() {
    // 22:00-01:30 from 2026-10-31: 22:00 EDT (02:00Z) to the first 01:30 (05:30Z). The second
    // 01:00-01:30 (EST, 06:00Z-06:30Z) is past the end although its wall time is inside.
    check(
        &window("America/New_York", "22:00", "01:30", false),
        &[
            ("2026-11-01T01:59:59Z", None),
            ("2026-11-01T02:00:00Z", Some("2026-11-01T05:30:00Z")),
            ("2026-11-01T05:29:59Z", Some("2026-11-01T05:30:00Z")),
            ("2026-11-01T05:30:00Z", None),
            ("2026-11-01T06:15:00Z", None),
            // 2027 likewise.
            ("2027-11-07T05:00:00Z", Some("2027-11-07T05:30:00Z")),
            ("2027-11-07T06:15:00Z", None),
        ],
    );
}

#[test]
fn new_york_night_across_fall_back_lasts_an_hour_longer() {
    // 22:00 EDT (02:00Z) to 08:00 EST (13:00Z): eleven hours.
    check(
        &window("America/New_York", "22:00", "08:00", false),
        &[
            ("2026-11-01T02:00:00Z", Some("2026-11-01T13:00:00Z")),
            ("2026-11-01T06:30:00Z", Some("2026-11-01T13:00:00Z")),
            ("2026-11-01T12:59:59Z", Some("2026-11-01T13:00:00Z")),
            ("2026-11-01T13:00:00Z", None),
            // And across spring forward, nine hours: 03:00Z to 12:00Z.
            ("2026-03-08T03:00:00Z", Some("2026-03-08T12:00:00Z")),
            ("2026-03-08T12:00:00Z", None),
        ],
    );
}

// ---------------------------------------------------------------- London

#[test]
fn london_spring_forward() {
    // 00:30-01:30 on 2026-03-29: 00:30Z to the transition (01:00Z).
    check(
        &window("Europe/London", "00:30", "01:30", false),
        &[
            ("2026-03-29T00:29:59Z", None),
            ("2026-03-29T00:30:00Z", Some("2026-03-29T01:00:00Z")),
            ("2026-03-29T00:59:59Z", Some("2026-03-29T01:00:00Z")),
            ("2026-03-29T01:00:00Z", None),
        ],
    );
    // 01:30-08:00: the transition (01:00Z) to 08:00 BST (07:00Z).
    check(
        &window("Europe/London", "01:30", "08:00", false),
        &[
            ("2026-03-29T00:59:59Z", None),
            ("2026-03-29T01:00:00Z", Some("2026-03-29T07:00:00Z")),
            ("2026-03-29T07:00:00Z", None),
            ("2027-03-28T01:00:00Z", Some("2027-03-28T07:00:00Z")),
        ],
    );
}

#[test]
fn london_fall_back() {
    // 23:00-01:30 from 2026-10-24: 23:00 BST (22:00Z) to the first 01:30 (BST, 00:30Z).
    check(
        &window("Europe/London", "23:00", "01:30", false),
        &[
            ("2026-10-24T21:59:59Z", None),
            ("2026-10-24T22:00:00Z", Some("2026-10-25T00:30:00Z")),
            ("2026-10-25T00:29:59Z", Some("2026-10-25T00:30:00Z")),
            ("2026-10-25T00:30:00Z", None),
            ("2026-10-25T01:15:00Z", None), // the second 01:15, GMT
        ],
    );
    // 01:30-07:00: the first 01:30 (00:30Z) to 07:00 GMT (07:00Z).
    check(
        &window("Europe/London", "01:30", "07:00", false),
        &[
            ("2026-10-25T00:29:59Z", None),
            ("2026-10-25T00:30:00Z", Some("2026-10-25T07:00:00Z")),
            ("2026-10-25T01:30:00Z", Some("2026-10-25T07:00:00Z")),
            ("2026-10-25T07:00:00Z", None),
            ("2027-10-31T00:30:00Z", Some("2027-10-31T07:00:00Z")),
        ],
    );
}

// ---------------------------------------------------------------- Lord Howe (30 minutes)

#[test]
fn lord_howe_spring_forward_half_hour_gap() {
    // 22:00-02:15 from 2026-10-03: 22:00 (+10:30, 11:30Z) to the transition (15:30Z).
    check(
        &window("Australia/Lord_Howe", "22:00", "02:15", false),
        &[
            ("2026-10-03T11:29:59Z", None),
            ("2026-10-03T11:30:00Z", Some("2026-10-03T15:30:00Z")),
            ("2026-10-03T15:29:59Z", Some("2026-10-03T15:30:00Z")),
            ("2026-10-03T15:30:00Z", None),
        ],
    );
    // 02:15-07:00 on 2026-10-04: the transition (15:30Z) to 07:00 (+11, 20:00Z).
    check(
        &window("Australia/Lord_Howe", "02:15", "07:00", false),
        &[
            ("2026-10-03T15:29:59Z", None),
            ("2026-10-03T15:30:00Z", Some("2026-10-03T20:00:00Z")),
            ("2026-10-03T19:59:59Z", Some("2026-10-03T20:00:00Z")),
            ("2026-10-03T20:00:00Z", None),
            ("2027-10-02T15:30:00Z", Some("2027-10-02T20:00:00Z")),
        ],
    );
    // 02:00-02:30 is exactly the gap: empty that day.
    check(
        &window("Australia/Lord_Howe", "02:00", "02:30", false),
        &[("2026-10-03T15:29:59Z", None), ("2026-10-03T15:30:00Z", None)],
    );
}

#[test]
fn lord_howe_fall_back_half_hour_fold() {
    // 22:00-01:45 from 2026-04-04: 22:00 (+11, 11:00Z) to the first 01:45 (+11, 14:45Z).
    check(
        &window("Australia/Lord_Howe", "22:00", "01:45", false),
        &[
            ("2026-04-04T10:59:59Z", None),
            ("2026-04-04T11:00:00Z", Some("2026-04-04T14:45:00Z")),
            ("2026-04-04T14:44:59Z", Some("2026-04-04T14:45:00Z")),
            ("2026-04-04T14:45:00Z", None),
            ("2026-04-04T15:10:00Z", None), // the second 01:40, +10:30
        ],
    );
    // 01:45-06:00 on 2026-04-05: the first 01:45 (14:45Z) to 06:00 (+10:30, 19:30Z).
    check(
        &window("Australia/Lord_Howe", "01:45", "06:00", false),
        &[
            ("2026-04-04T14:44:59Z", None),
            ("2026-04-04T14:45:00Z", Some("2026-04-04T19:30:00Z")),
            ("2026-04-04T15:20:00Z", Some("2026-04-04T19:30:00Z")),
            ("2026-04-04T19:30:00Z", None),
            ("2027-04-03T14:45:00Z", Some("2027-04-03T19:30:00Z")),
        ],
    );
}

// ---------------------------------------------------------------- no DST

#[test]
fn zones_without_dst_ignore_other_zones_transitions() {
    // Kolkata is +05:30 all year: 22:00-08:00 is 16:30Z-02:30Z, on US and UK change days too.
    check(
        &window("Asia/Kolkata", "22:00", "08:00", false),
        &[
            ("2026-03-07T16:29:59Z", None),
            ("2026-03-07T16:30:00Z", Some("2026-03-08T02:30:00Z")),
            ("2026-03-08T02:29:59Z", Some("2026-03-08T02:30:00Z")),
            ("2026-03-08T02:30:00Z", None),
            ("2026-10-24T20:00:00Z", Some("2026-10-25T02:30:00Z")),
        ],
    );
    // Tokyo is +09:00: 02:30-07:00 on 2026-11-01 is 17:30Z-22:00Z on the 31st.
    check(
        &window("Asia/Tokyo", "02:30", "07:00", false),
        &[
            ("2026-10-31T17:29:59Z", None),
            ("2026-10-31T17:30:00Z", Some("2026-10-31T22:00:00Z")),
            ("2026-10-31T22:00:00Z", None),
            ("2026-03-07T17:30:00Z", Some("2026-03-07T22:00:00Z")),
        ],
    );
}

// ---------------------------------------------------------------- weekends and dnd

#[test]
fn weekends_merge_with_nights_across_a_transition() {
    // New York, weekend of the spring change: Friday 22:00 EST (03:00Z Sat) to Monday 08:00
    // EDT (12:00Z); fall change: Friday 22:00 EDT to Monday 08:00 EST (13:00Z).
    check(
        &window("America/New_York", "22:00", "08:00", true),
        &[
            ("2026-03-07T02:59:59Z", None),
            ("2026-03-07T03:00:00Z", Some("2026-03-09T12:00:00Z")),
            ("2026-03-08T07:00:00Z", Some("2026-03-09T12:00:00Z")),
            ("2026-03-09T11:59:59Z", Some("2026-03-09T12:00:00Z")),
            ("2026-03-09T12:00:00Z", None),
            ("2026-10-31T17:00:00Z", Some("2026-11-02T13:00:00Z")),
        ],
    );
    // London: Saturday 2026-03-28 noon GMT to Monday 08:00 BST (07:00Z).
    check(
        &window("Europe/London", "22:00", "08:00", true),
        &[("2026-03-28T12:00:00Z", Some("2026-03-30T07:00:00Z"))],
    );
    // Lord Howe, a same-day window: Saturday 2026-10-03 10:00 (+10:30) to Monday 00:00 (+11).
    check(
        &window("Australia/Lord_Howe", "12:00", "13:00", true),
        &[("2026-10-02T23:30:00Z", Some("2026-10-04T13:00:00Z"))],
    );
}

#[test]
fn dnd_ending_at_a_window_that_ends_in_the_gap() {
    let qh = window("America/New_York", "22:00", "02:30", false);
    let zone = tz("America/New_York");
    let dnd = Some(DndUntil::At(ts("2026-03-08T03:00:00Z"))); // 22:00 EST: the window's start
    let q = quiet_at(&qh, &zone, dnd, ts("2026-03-08T01:00:00Z")).unwrap();
    assert_eq!(q.until, Some(ts("2026-03-08T07:00:00Z")), "{}", q.reason);
    let plan = decide_at(&qh, dnd, "2026-03-08T01:00:00Z", Urgency::High);
    assert_eq!(
        plan.channels[&Channel::Desktop].action,
        Action::Hold { until: Some(ts("2026-03-08T07:00:00Z")) }
    );
    // Urgent goes through all of it.
    let plan = decide_at(&qh, dnd, "2026-03-08T01:00:00Z", Urgency::Urgent);
    assert_eq!(plan.channels[&Channel::Desktop].action, Action::Deliver);
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
    let plan = decide(&Input {
        event: &event,
        prefs: &prefs,
        presence: &Presence::default(),
        history: &History::default(),
        policy: &Policy::default(),
        now: ts(now),
    });
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

#[test]
fn dnd_forever_is_an_endless_hold_in_any_zone() {
    let qh = window("Australia/Lord_Howe", "22:00", "02:15", false);
    let q = quiet_at(&qh, &tz("Australia/Lord_Howe"), Some(DndUntil::Forever), ts("2026-10-03T12:00:00Z"));
    assert_eq!(q.map(|q| q.until), Some(None));
}
