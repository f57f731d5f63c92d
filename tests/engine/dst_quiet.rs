//! Daylight-saving transitions, part two: quiet hours (DESIGN §4 step 5) whose bounds fall in
//! a skipped or repeated hour, through `quiet_at` directly and through `decide`. A period is
//! half-open; weekends and dnd merge with the nights around them.

use campanile::engine::Action;
use campanile::engine::quiet::quiet_at;
use campanile::model::{Channel, Urgency};
use campanile::prefs::DndUntil;

use crate::common::{check, decide_at, ts, tz, window};

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

#[test]
fn dnd_forever_is_an_endless_hold_in_any_zone() {
    let qh = window("Australia/Lord_Howe", "22:00", "02:15", false);
    let q = quiet_at(&qh, &tz("Australia/Lord_Howe"), Some(DndUntil::Forever), ts("2026-10-03T12:00:00Z"));
    assert_eq!(q.map(|q| q.until), Some(None));
}
