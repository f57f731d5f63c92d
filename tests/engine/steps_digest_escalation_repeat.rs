//! DESIGN §4 steps 6 to 8 and collapse: digest buckets in local time, escalation after a
//! delay unless read, pager-like repeats of urgent deliveries, and folding into an unread row
//! of the same thread.

use campanile::engine::{Action, CollapseTarget, History, Policy, Repeat};
use campanile::model::Channel;
use campanile::prefs::{EmailFrequency, Preferences};
use jiff::SignedDuration;

use crate::common::{
    BERLIN_MORNING, BERLIN_NIGHT, BERLIN_NIGHTS, Case, NOON, action, all_on, ev, expect, expect_all, mins,
    run, threaded, ts,
};

use Channel::{Desktop, Email, Push, Slack, Webhook};

// ---------------------------------------------------------------- 6. digest

fn digest_prefs(freq: EmailFrequency) -> Preferences {
    let mut prefs = all_on(
        r#"
[quiet_hours]
enabled = false
timezone = "America/New_York"
"#,
    );
    prefs.channels.email.frequency = freq;
    prefs
}

fn digest_at(freq: EmailFrequency, now: &str) -> Action {
    let case = Case { now: ts(now), ..Case::default() };
    let plan = case.run(&ev("a.b", "urgent"), &digest_prefs(freq));
    if freq != EmailFrequency::Immediate {
        assert!(plan.channels[&Email].repeat.is_none(), "a digest never repeats: {plan:#?}");
    }
    expect(&plan, &[(Desktop, Action::Deliver)]);
    action(&plan, Email).clone()
}

#[test]
fn digest_buckets_are_local_and_strictly_after_now() {
    use EmailFrequency::{Daily, Hourly, Weekly};
    let at = |s: &str| Action::Digest { at: ts(s) };
    // Wednesday 2027-03-10 is EST (UTC-5); Monday 2027-03-15 is already EDT (UTC-4).
    for (freq, now, want) in [
        (Hourly, "2027-03-10T14:20:00Z", "2027-03-10T15:00:00Z"),
        (Hourly, "2027-03-10T15:00:00Z", "2027-03-10T16:00:00Z"),
        (Hourly, "2027-03-10T04:59:59Z", "2027-03-10T05:00:00Z"), // crosses local midnight
        (Daily, "2027-03-10T13:59:59Z", "2027-03-10T14:00:00Z"),
        (Daily, "2027-03-10T14:00:00Z", "2027-03-11T14:00:00Z"),
        (Daily, "2027-03-10T14:20:00Z", "2027-03-11T14:00:00Z"),
        (Daily, "2027-03-11T03:00:00Z", "2027-03-11T14:00:00Z"), // 22:00 local on the 10th
        (Weekly, "2027-03-10T14:20:00Z", "2027-03-15T13:00:00Z"),
        (Weekly, "2027-03-15T12:59:59Z", "2027-03-15T13:00:00Z"),
        (Weekly, "2027-03-15T13:00:00Z", "2027-03-22T13:00:00Z"),
        (Weekly, "2027-03-15T02:00:00Z", "2027-03-15T13:00:00Z"), // Sunday 22:00 local
    ] {
        assert_eq!(digest_at(freq, now), at(want), "{freq:?} at {now}");
    }
}

#[test]
fn immediate_email_is_not_a_digest() {
    assert_eq!(digest_at(EmailFrequency::Immediate, NOON), Action::Deliver);
}

// ---------------------------------------------------------------- 7. escalation

#[test]
fn escalation_waits_on_its_channels_only() {
    let prefs = all_on(
        r#"
[escalation]
after_minutes = 30
channels = ["email", "slack"]
"#,
    );
    let now = ts(NOON);
    let plan = run(&ev("a.b", "high"), &prefs);
    let esc = Action::Escalate { after: now + mins(30), unless_read: true };
    expect(
        &plan,
        &[
            (Email, esc.clone()),
            (Slack, esc),
            (Desktop, Action::Deliver),
            (Webhook, Action::Deliver),
            (Push, Action::Deliver),
        ],
    );

    let mut off = prefs.clone();
    off.escalation.after_minutes = 0;
    expect_all(&run(&ev("a.b", "high"), &off), &Action::Deliver);
}

#[test]
fn quiet_hours_and_digest_come_before_escalation() {
    let mut prefs = all_on(&format!(
        "{BERLIN_NIGHTS}\n[escalation]\nafter_minutes = 30\nchannels = [\"email\", \"slack\", \"webhook\"]\n"
    ));
    prefs.channels.email.frequency = EmailFrequency::Hourly;
    let now = ts(BERLIN_NIGHT);
    let case = Case { now, ..Case::default() };
    let plan = case.run(&ev("a.b", "normal"), &prefs);
    expect(
        &plan,
        &[
            (Slack, Action::Hold { until: Some(ts(BERLIN_MORNING)) }),
            (Email, Action::Digest { at: ts("2027-03-11T00:00:00Z") }),
            (Webhook, Action::Escalate { after: now + mins(30), unless_read: true }),
        ],
    );
}

// ---------------------------------------------------------------- 8. deliver and repeat

#[test]
fn urgent_deliveries_to_interruptive_channels_repeat_like_a_pager() {
    let now = ts(NOON);
    let plan = run(&ev("a.b", "urgent"), &all_on(""));
    expect_all(&plan, &Action::Deliver);
    let pager = Some(Repeat { every_minutes: 10, until: now + mins(60) });
    for c in [Desktop, Push, Slack, Email] {
        assert_eq!(plan.channels[&c].repeat, pager, "{c}");
    }
    assert_eq!(plan.channels[&Webhook].repeat, None, "webhooks are not interruptive");

    let custom = all_on("[urgent]\nrepeat_every_minutes = 5\nexpire_minutes = 30\n");
    let plan = run(&ev("a.b", "urgent"), &custom);
    assert_eq!(plan.channels[&Desktop].repeat, Some(Repeat { every_minutes: 5, until: now + mins(30) }));

    for u in ["low", "normal", "high"] {
        let plan = run(&ev("a.b", u), &all_on(""));
        assert!(plan.channels.values().all(|p| p.repeat.is_none()), "{u}: {plan:#?}");
    }
}

#[test]
fn repeat_every_zero_never_repeats() {
    let prefs = all_on("[urgent]\nrepeat_every_minutes = 0\nexpire_minutes = 60\n");
    let plan = run(&ev("a.b", "urgent"), &prefs);
    expect_all(&plan, &Action::Deliver);
    assert!(plan.channels.values().all(|p| p.repeat.is_none()), "{plan:#?}");
}

#[test]
fn escalated_held_or_suppressed_plans_carry_no_repeat() {
    let mut prefs = all_on("[escalation]\nafter_minutes = 5\nchannels = [\"push\"]\n");
    prefs.channels.slack.enabled = false;
    let plan = run(&ev("a.b", "urgent"), &prefs);
    assert!(matches!(action(&plan, Push), Action::Escalate { .. }));
    assert_eq!(plan.channels[&Push].repeat, None);
    assert_eq!(plan.channels[&Slack].repeat, None);
    assert!(plan.channels[&Desktop].repeat.is_some());
}

// ---------------------------------------------------------------- collapse

#[test]
fn collapse_within_the_window_folds_into_the_unread_row() {
    let now = ts(NOON);
    let target =
        |ago: i64| CollapseTarget { notification: "01JDROW".into(), count: 2, last_at: now - mins(ago) };
    for (ago, want) in
        [(0, Some("01JDROW")), (10, Some("01JDROW")), (59, Some("01JDROW")), (61, None), (600, None)]
    {
        let case =
            Case { history: History { duplicate: false, collapse: Some(target(ago)) }, ..Case::default() };
        let plan = case.run(&threaded("repo/api#1"), &all_on(""));
        assert_eq!(plan.inbox.collapse_into.as_deref(), want, "{ago} min ago");
        assert!(plan.inbox.record);
        expect_all(&plan, &Action::Deliver);
    }
    // A wider window takes the older row too.
    let case = Case {
        history: History { duplicate: false, collapse: Some(target(600)) },
        policy: Policy { collapse_window: SignedDuration::from_hours(24), ..Policy::default() },
        ..Case::default()
    };
    assert_eq!(
        case.run(&threaded("repo/api#1"), &all_on("")).inbox.collapse_into.as_deref(),
        Some("01JDROW")
    );
    // Nothing to collapse into.
    assert_eq!(run(&threaded("repo/api#1"), &all_on("")).inbox.collapse_into, None);
}

#[test]
fn an_item_skipping_the_inbox_collapses_into_nothing() {
    let now = ts(NOON);
    let prefs = all_on("[[rules]]\nname = \"skip\"\nactions = { skip_inbox = true }\n");
    let case = Case {
        history: History {
            duplicate: false,
            collapse: Some(CollapseTarget { notification: "01JDROW".into(), count: 1, last_at: now }),
        },
        ..Case::default()
    };
    let plan = case.run(&threaded("repo/api#1"), &prefs);
    assert!(!plan.inbox.record);
    assert_eq!(plan.inbox.collapse_into, None);
}
