//! DESIGN §4 step 2, actions: `set_urgency`, `route`, `mute`, the inbox-only actions
//! (`skip_inbox`, `mark_read`, `snooze_for`, `tag`), `stop`, disabled rules, and rules seeing
//! what earlier ones did.

use campanile::engine::{Action, SuppressReason};
use campanile::model::{Channel, Urgency};
use campanile::prefs::Preferences;
use serde_json::json;

use crate::common::{NOON, all_on, ev, event, expect, expect_all, mins, run, suppressed, ts};

use Channel::{Desktop, Email, Push, Slack, Webhook};

// ---------------------------------------------------------------- 2. rules: actions

#[test]
fn set_urgency_rewrites_the_plan_urgency_and_min_urgency_uses_it() {
    // Desktop's default minimum is `urgent`: a raised item pops up, a lowered one is filtered.
    let mut prefs = Preferences::parse(
        r#"
[[rules]]
name = "CI failures on main are urgent"
match = { type = "build.*", urgency_at_least = "high" }
actions = { set_urgency = "urgent" }
[[rules]]
name = "digests are low"
match = { type = "digest.*" }
actions = { set_urgency = "low" }
"#,
    )
    .unwrap();
    prefs.channels.push.enabled = true;
    prefs.channels.push.min_urgency = Urgency::Normal;
    let plan = run(&ev("build.failed", "high"), &prefs);
    assert_eq!(plan.urgency, Urgency::Urgent);
    expect(&plan, &[(Desktop, Action::Deliver), (Push, Action::Deliver)]);
    assert!(plan.channels[&Desktop].repeat.is_some(), "urgent now, so it repeats");

    let plan = run(&ev("build.failed", "normal"), &prefs);
    assert_eq!(plan.urgency, Urgency::Normal);
    expect(&plan, &[(Desktop, suppressed(SuppressReason::Urgency)), (Push, Action::Deliver)]);

    let plan = run(&ev("digest.ready", "high"), &prefs);
    assert_eq!(plan.urgency, Urgency::Low);
    expect(&plan, &[(Push, suppressed(SuppressReason::Urgency))]);
}

#[test]
fn route_sends_only_to_its_channels_and_overrides_the_matrix_for_them() {
    let prefs = all_on(
        r#"
[events."build.failed"]
slack = false
[categories.system]
push = false
[[rules]]
name = "builds to chat"
match = { type = "build.*" }
actions = { route = ["slack", "push"] }
"#,
    );
    let plan = run(&ev("build.failed", "normal"), &prefs);
    let rule = suppressed(SuppressReason::Rule);
    expect(
        &plan,
        &[
            (Desktop, rule.clone()),
            (Email, rule.clone()),
            (Webhook, rule.clone()),
            (Slack, Action::Deliver),
            (Push, Action::Deliver),
        ],
    );
    assert!(plan.inbox.record);
    // Without the rule the matrix applies: the category turns push off for another `system`
    // event, the event cell turns slack off once the rule is gone.
    let off = suppressed(SuppressReason::Disabled);
    let other = run(&ev("deploy.failed", "normal"), &prefs);
    expect(&other, &[(Push, off.clone()), (Slack, Action::Deliver), (Desktop, Action::Deliver)]);
    let mut unruled = prefs.clone();
    unruled.rules.clear();
    let plan = run(&ev("build.failed", "normal"), &unruled);
    expect(&plan, &[(Push, off.clone()), (Slack, off), (Desktop, Action::Deliver)]);
}

#[test]
fn route_does_not_turn_on_a_channel_that_is_off_nor_lower_its_minimum() {
    let mut prefs = all_on(
        r#"
[[rules]]
name = "builds to chat"
match = { type = "build.*" }
actions = { route = ["slack", "push"] }
"#,
    );
    prefs.channels.slack.enabled = false;
    prefs.channels.push.min_urgency = Urgency::High;
    let plan = run(&ev("build.failed", "normal"), &prefs);
    expect(
        &plan,
        &[
            (Slack, suppressed(SuppressReason::Disabled)),
            (Push, suppressed(SuppressReason::Urgency)),
            (Desktop, suppressed(SuppressReason::Rule)),
        ],
    );
}

#[test]
fn mute_wins_over_route() {
    let prefs = all_on(
        r#"
[[rules]]
name = "route"
actions = { route = ["slack"] }
[[rules]]
name = "mute"
actions = { mute = true }
"#,
    );
    expect_all(&run(&ev("build.failed", "normal"), &prefs), &suppressed(SuppressReason::Rule));
}

#[test]
fn skip_inbox_mark_read_snooze_and_tags_shape_the_inbox_only() {
    let prefs = all_on(
        r#"
[[rules]]
name = "skip"
match = { type = "skip.*" }
actions = { skip_inbox = true }
[[rules]]
name = "read"
match = { type = "read.*" }
actions = { mark_read = true }
[[rules]]
name = "snooze"
match = { type = "snooze.*" }
actions = { snooze_for = "1h 30m", tag = "later" }
[[rules]]
name = "tag ci"
match = { actor = "ci" }
actions = { tag = "ci" }
[[rules]]
name = "tag ci again"
match = { actor = "ci" }
actions = { tag = "ci" }
"#,
    );
    let now = ts(NOON);

    let plan = run(&ev("skip.me", "normal"), &prefs);
    assert!(!plan.inbox.record, "{plan:#?}");
    expect_all(&plan, &Action::Deliver);

    let plan = run(&ev("read.me", "normal"), &prefs);
    assert!(plan.inbox.record && plan.inbox.read, "{plan:#?}");
    assert_eq!(plan.inbox.snooze_until, None);
    expect_all(&plan, &Action::Deliver);

    let plan = run(&event(json!({ "type": "snooze.me", "title": "t", "actor": "ci" })), &prefs);
    assert!(plan.inbox.record && !plan.inbox.read);
    assert_eq!(plan.inbox.snooze_until, Some(now + mins(90)));
    assert_eq!(plan.inbox.tags, vec!["later".to_string(), "ci".to_string()], "in order, once each");
    expect_all(&plan, &Action::Deliver);

    let plan = run(&ev("other.thing", "normal"), &prefs);
    assert!(plan.inbox.record && !plan.inbox.read);
    assert!(plan.inbox.tags.is_empty() && plan.inbox.snooze_until.is_none());
}

#[test]
fn stop_ends_the_chain_and_disabled_rules_are_ignored() {
    let prefs = all_on(
        r#"
[[rules]]
name = "off"
enabled = false
match = { type = "build.*" }
actions = { mute = true }
[[rules]]
name = "tag and stop"
match = { type = "build.*" }
actions = { tag = "first" }
stop = true
[[rules]]
name = "never reached"
match = { type = "build.*" }
actions = { mute = true, tag = "second" }
[[rules]]
name = "others"
actions = { tag = "other" }
"#,
    );
    let plan = run(&ev("build.failed", "normal"), &prefs);
    expect_all(&plan, &Action::Deliver);
    assert_eq!(plan.inbox.tags, vec!["first".to_string()]);

    // A rule that does not match does not stop anything.
    let plan = run(&ev("deploy.failed", "normal"), &prefs);
    expect_all(&plan, &Action::Deliver);
    assert_eq!(plan.inbox.tags, vec!["other".to_string()]);

    // The same chain with the first rule on mutes.
    let mut on = prefs.clone();
    on.rules[0].enabled = true;
    expect_all(&run(&ev("build.failed", "normal"), &on), &suppressed(SuppressReason::Rule));
}

#[test]
fn a_later_rule_sees_the_urgency_an_earlier_one_set() {
    let prefs = all_on(
        r#"
[[rules]]
name = "raise"
match = { type = "build.*" }
actions = { set_urgency = "urgent" }
[[rules]]
name = "mute urgent"
match = { urgency_at_least = "urgent" }
actions = { mute = true }
"#,
    );
    expect_all(&run(&ev("build.failed", "low"), &prefs), &suppressed(SuppressReason::Rule));
    expect_all(&run(&ev("deploy.failed", "low"), &prefs), &Action::Deliver);

    let lowering = all_on(
        r#"
[[rules]]
name = "lower"
actions = { set_urgency = "low" }
[[rules]]
name = "mute urgent"
match = { urgency_at_least = "urgent" }
actions = { mute = true }
"#,
    );
    let plan = run(&ev("build.failed", "urgent"), &lowering);
    expect_all(&plan, &Action::Deliver);
    assert_eq!(plan.urgency, Urgency::Low);
}
