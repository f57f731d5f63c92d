//! DESIGN §4 steps 4 and 5: viewing the thread suppresses out-of-band channels; quiet hours,
//! weekends and do-not-disturb hold interruptive channels, urgent bypasses them.

use campanile::engine::{Action, Presence, PresenceState, SuppressReason};
use campanile::model::Channel;
use campanile::prefs::{DndUntil, EmailFrequency};
use serde_json::json;

use crate::common::{
    BERLIN_MORNING, BERLIN_NIGHT, BERLIN_NIGHTS, Case, NOON, all_on, ev, event, expect, expect_all, run,
    suppressed, threaded, ts,
};

use Channel::{Desktop, Email, Push, Slack, Webhook};

// ---------------------------------------------------------------- 4. presence

fn presence(state: PresenceState, viewing: Option<&str>) -> Presence {
    Presence { state, viewing: viewing.map(str::to_string) }
}

#[test]
fn viewing_the_thread_suppresses_out_of_band_channels_and_the_item_arrives_read() {
    let mut prefs = all_on("");
    prefs.channels.push.enabled = false;
    let case = Case { presence: presence(PresenceState::Active, Some("repo/api#1")), ..Case::default() };
    let plan = case.run(&threaded("repo/api#1"), &prefs);
    let viewing = suppressed(SuppressReason::Viewing);
    expect(
        &plan,
        &[
            (Desktop, viewing.clone()),
            (Email, viewing.clone()),
            (Slack, viewing.clone()),
            (Webhook, viewing),
            // Preferences come first: a channel already off stays `disabled`.
            (Push, suppressed(SuppressReason::Disabled)),
        ],
    );
    assert!(plan.inbox.record && plan.inbox.read, "{plan:#?}");
}

#[test]
fn presence_suppresses_only_when_active_on_the_same_thread_and_switched_on() {
    let prefs = all_on("");
    let mut off = prefs.clone();
    off.presence.suppress_when_viewing = false;
    let threadless = event(json!({ "type": "issue.commented", "title": "t" }));
    for (why, p, e, prefs) in [
        ("idle", presence(PresenceState::Idle, Some("repo/api#1")), threaded("repo/api#1"), &prefs),
        ("away", presence(PresenceState::Away, Some("repo/api#1")), threaded("repo/api#1"), &prefs),
        (
            "another thread",
            presence(PresenceState::Active, Some("repo/api#2")),
            threaded("repo/api#1"),
            &prefs,
        ),
        ("viewing nothing", presence(PresenceState::Active, None), threaded("repo/api#1"), &prefs),
        ("threadless event", presence(PresenceState::Active, None), threadless.clone(), &prefs),
        ("switched off", presence(PresenceState::Active, Some("repo/api#1")), threaded("repo/api#1"), &off),
    ] {
        let case = Case { presence: p, ..Case::default() };
        let plan = case.run(&e, prefs);
        expect_all(&plan, &Action::Deliver);
        assert!(!plan.inbox.read, "{why}: {plan:#?}");
    }
}

// ---------------------------------------------------------------- 5. quiet hours and dnd

#[test]
fn quiet_hours_hold_interruptive_channels_until_the_window_ends() {
    let case = Case { now: ts(BERLIN_NIGHT), ..Case::default() };
    let plan = case.run(&ev("build.failed", "high"), &all_on(BERLIN_NIGHTS));
    let hold = Action::Hold { until: Some(ts(BERLIN_MORNING)) };
    expect(
        &plan,
        &[
            (Desktop, hold.clone()),
            (Push, hold.clone()),
            (Slack, hold.clone()),
            (Email, hold),
            // Integrations keep flowing.
            (Webhook, Action::Deliver),
        ],
    );
    assert!(plan.channels[&Desktop].reasons.iter().any(|r| r.contains("quiet hours")), "{plan:#?}");
    assert!(plan.inbox.record && !plan.inbox.read);
}

#[test]
fn quiet_hours_edges_are_half_open() {
    let prefs = all_on(BERLIN_NIGHTS);
    let e = ev("build.failed", "normal");
    for (now, want) in [
        ("2027-03-10T20:59:59Z", Action::Deliver),
        ("2027-03-10T21:00:00Z", Action::Hold { until: Some(ts(BERLIN_MORNING)) }),
        ("2027-03-11T06:59:59Z", Action::Hold { until: Some(ts(BERLIN_MORNING)) }),
        (BERLIN_MORNING, Action::Deliver),
    ] {
        let case = Case { now: ts(now), ..Case::default() };
        expect(&case.run(&e, &prefs), &[(Desktop, want)]);
    }
}

#[test]
fn urgent_bypasses_quiet_hours_and_says_so() {
    let case = Case { now: ts(BERLIN_NIGHT), ..Case::default() };
    let plan = case.run(&ev("build.failed", "urgent"), &all_on(BERLIN_NIGHTS));
    expect_all(&plan, &Action::Deliver);
    for c in [Desktop, Push, Slack, Email] {
        assert!(
            plan.channels[&c].reasons.iter().any(|r| r.contains("urgent") && r.contains("quiet hours")),
            "{c}: {plan:#?}"
        );
    }
}

#[test]
fn a_digest_email_is_not_held_but_waits_for_its_bucket() {
    let mut prefs = all_on(BERLIN_NIGHTS);
    prefs.channels.email.frequency = EmailFrequency::Daily;
    let case = Case { now: ts(BERLIN_NIGHT), ..Case::default() };
    let plan = case.run(&ev("build.failed", "normal"), &prefs);
    expect(
        &plan,
        &[
            // 09:00 CET on Thursday.
            (Email, Action::Digest { at: ts("2027-03-11T08:00:00Z") }),
            (Desktop, Action::Hold { until: Some(ts(BERLIN_MORNING)) }),
        ],
    );
}

#[test]
fn weekends_are_quiet_and_merge_with_the_nights_around_them() {
    let mut prefs = all_on(BERLIN_NIGHTS);
    prefs.quiet_hours.weekends = true;
    // Monday 2027-03-15 08:00 CET.
    let monday = Action::Hold { until: Some(ts("2027-03-15T07:00:00Z")) };
    for now in [
        "2027-03-12T21:00:00Z", // Friday 22:00
        "2027-03-13T11:00:00Z", // Saturday noon
        "2027-03-14T22:59:59Z", // Sunday 23:59:59
        "2027-03-14T23:30:00Z", // Monday 00:30
    ] {
        let case = Case { now: ts(now), ..Case::default() };
        expect(
            &case.run(&ev("a.b", "normal"), &prefs),
            &[(Desktop, monday.clone()), (Webhook, Action::Deliver)],
        );
    }
    // Friday afternoon is not the weekend yet.
    let case = Case { now: ts("2027-03-12T15:00:00Z"), ..Case::default() };
    expect(&case.run(&ev("a.b", "normal"), &prefs), &[(Desktop, Action::Deliver)]);
    // A same-day window: Saturday ends at Monday 00:00 when the night does not touch it.
    let mut day = prefs.clone();
    day.quiet_hours.start = "12:00".parse().unwrap();
    day.quiet_hours.end = "13:00".parse().unwrap();
    let case = Case { now: ts("2027-03-13T11:00:00Z"), ..Case::default() };
    expect(
        &case.run(&ev("a.b", "normal"), &day),
        &[(Desktop, Action::Hold { until: Some(ts("2027-03-14T23:00:00Z")) })],
    );
}

#[test]
fn an_empty_or_disabled_window_is_never_quiet() {
    let mut prefs = all_on(BERLIN_NIGHTS);
    prefs.quiet_hours.end = prefs.quiet_hours.start;
    let case = Case { now: ts("2027-03-10T21:30:00Z"), ..Case::default() };
    expect_all(&case.run(&ev("a.b", "normal"), &prefs), &Action::Deliver);
    let mut prefs = all_on(BERLIN_NIGHTS);
    prefs.quiet_hours.enabled = false;
    expect_all(&case.run(&ev("a.b", "normal"), &prefs), &Action::Deliver);
}

#[test]
fn dnd_in_the_future_holds_until_then_in_the_past_does_nothing() {
    let mut prefs = all_on("");
    let until = ts("2027-03-10T15:00:00Z");
    prefs.dnd.until = Some(DndUntil::At(until));
    let plan = run(&ev("a.b", "high"), &prefs);
    let hold = Action::Hold { until: Some(until) };
    expect(
        &plan,
        &[
            (Desktop, hold.clone()),
            (Push, hold.clone()),
            (Slack, hold.clone()),
            (Email, hold),
            (Webhook, Action::Deliver),
        ],
    );
    assert!(plan.channels[&Desktop].reasons.iter().any(|r| r.contains("do not disturb")));

    prefs.dnd.until = Some(DndUntil::At(ts("2027-03-10T11:59:59Z")));
    expect_all(&run(&ev("a.b", "high"), &prefs), &Action::Deliver);
    prefs.dnd.until = Some(DndUntil::At(ts(NOON)));
    expect_all(&run(&ev("a.b", "high"), &prefs), &Action::Deliver);
}

#[test]
fn dnd_forever_holds_without_an_end_and_urgent_still_bypasses() {
    let prefs = all_on("[dnd]\nuntil = \"forever\"\n");
    assert_eq!(prefs.dnd.until, Some(DndUntil::Forever));
    let plan = run(&ev("a.b", "high"), &prefs);
    expect(&plan, &[(Desktop, Action::Hold { until: None }), (Email, Action::Hold { until: None })]);
    expect(&plan, &[(Webhook, Action::Deliver)]);
    expect_all(&run(&ev("a.b", "urgent"), &prefs), &Action::Deliver);
}

#[test]
fn dnd_followed_by_quiet_hours_holds_until_the_window_ends() {
    let e = ev("a.b", "normal");
    let mut prefs = all_on(BERLIN_NIGHTS);
    // Ends exactly when the window starts (22:00 CET): one merged period.
    prefs.dnd.until = Some(DndUntil::At(ts("2027-03-10T21:00:00Z")));
    let plan = run(&e, &prefs);
    expect(&plan, &[(Desktop, Action::Hold { until: Some(ts(BERLIN_MORNING)) })]);
    let reasons = plan.channels[&Desktop].reasons.join(" | ");
    assert!(reasons.contains("do not disturb") && reasons.contains("quiet hours"), "{reasons}");

    // Ending inside the window: the same.
    prefs.dnd.until = Some(DndUntil::At(ts("2027-03-11T03:00:00Z")));
    expect(&run(&e, &prefs), &[(Desktop, Action::Hold { until: Some(ts(BERLIN_MORNING)) })]);

    // Ending a minute before: only dnd.
    let gap = ts("2027-03-10T20:59:00Z");
    prefs.dnd.until = Some(DndUntil::At(gap));
    expect(&run(&e, &prefs), &[(Desktop, Action::Hold { until: Some(gap) })]);
}
