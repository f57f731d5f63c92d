//! DESIGN §4 steps 1 and 2, matching: a duplicate goes nowhere and is not recorded; a rule's
//! conditions (type and thread globs, category, urgency bounds, actor, text, data paths)
//! each decide whether it fires, and combine with AND.

use campanile::engine::{Action, History, Policy, SuppressReason};
use campanile::model::{Channel, Event, Urgency};
use campanile::prefs::{Preferences, Required};
use serde_json::{Value, json};

use crate::common::{Case, action, all_on, ev, event, expect_all, run, suppressed};

// ---------------------------------------------------------------- 1. dedupe

#[test]
fn a_duplicate_suppresses_every_channel_and_records_nothing() {
    let prefs = all_on("");
    // Even an urgent event, on channels the organisation requires, goes nowhere twice.
    let mut required = Required::default();
    required.events.insert("build.failed".into(), Channel::ALL.to_vec());
    let case = Case {
        history: History { duplicate: true, collapse: None },
        policy: Policy { required, ..Policy::default() },
        ..Case::default()
    };
    let plan = case.run(&ev("build.failed", "urgent"), &prefs);
    expect_all(&plan, &suppressed(SuppressReason::Duplicate));
    assert!(!plan.inbox.record, "{plan:#?}");
    assert!(plan.channels.values().all(|p| p.repeat.is_none()));
}

#[test]
fn a_fresh_event_with_the_same_prefs_is_recorded_and_delivered() {
    let plan = run(&ev("build.failed", "normal"), &all_on(""));
    expect_all(&plan, &Action::Deliver);
    assert!(plan.inbox.record);
    assert!(!plan.inbox.read);
    assert_eq!(plan.urgency, Urgency::Normal);
}

// ---------------------------------------------------------------- 2. rules

fn muting(matcher: &str) -> Preferences {
    all_on(&format!(
        r#"
[[rules]]
name = "quiet"
match = {matcher}
actions = {{ mute = true }}
"#
    ))
}

/// Runs `event` against a muting rule and reports whether the rule fired.
fn muted(prefs: &Preferences, event: &Event) -> bool {
    let plan = run(event, prefs);
    let rule = suppressed(SuppressReason::Rule);
    let all_muted = Channel::ALL.iter().all(|c| *action(&plan, *c) == rule);
    let none_muted = Channel::ALL.iter().all(|c| *action(&plan, *c) != rule);
    assert!(all_muted || none_muted, "a mute is all or nothing: {plan:#?}");
    if all_muted {
        assert!(plan.inbox.record, "a mute still records in the inbox: {plan:#?}");
    }
    all_muted
}

#[test]
fn rule_matches_type_by_glob() {
    let prefs = muting(r#"{ type = "build.*" }"#);
    assert!(muted(&prefs, &ev("build.failed", "normal")));
    assert!(muted(&prefs, &ev("build.x", "normal")));
    assert!(!muted(&prefs, &ev("deploy.failed", "normal")));
    assert!(!muted(&prefs, &ev("rebuild.failed", "normal")));
    let prefs = muting(r#"{ type = "*.fail?d" }"#);
    assert!(muted(&prefs, &ev("payment.failed", "normal")));
    assert!(!muted(&prefs, &ev("payment.fail", "normal")));
}

#[test]
fn rule_matches_category_explicit_or_from_the_type_prefix() {
    let prefs = muting(r#"{ category = "billing" }"#);
    assert!(muted(&prefs, &ev("billing.payment_failed", "normal")));
    assert!(muted(&prefs, &event(json!({ "type": "invoice.sent", "category": "billing", "title": "t" }))));
    assert!(!muted(&prefs, &ev("build.failed", "normal")));
    assert!(!muted(&prefs, &event(json!({ "type": "billing.x", "category": "team", "title": "t" }))));
}

#[test]
fn rule_matches_urgency_bounds_inclusively() {
    let at_least = muting(r#"{ urgency_at_least = "high" }"#);
    let at_most = muting(r#"{ urgency_at_most = "normal" }"#);
    let between = muting(r#"{ urgency_at_least = "normal", urgency_at_most = "high" }"#);
    for (u, least, most, mid) in [
        ("low", false, true, false),
        ("normal", false, true, true),
        ("high", true, false, true),
        ("urgent", true, false, false),
    ] {
        let e = ev("build.failed", u);
        assert_eq!(muted(&at_least, &e), least, "at_least high, {u}");
        assert_eq!(muted(&at_most, &e), most, "at_most normal, {u}");
        assert_eq!(muted(&between, &e), mid, "normal..=high, {u}");
    }
    // An event without urgency is `normal`.
    assert!(muted(&at_most, &event(json!({ "type": "build.failed", "title": "t" }))));
}

#[test]
fn rule_matches_actor_exactly() {
    let prefs = muting(r#"{ actor = "dependabot" }"#);
    let by = |actor: Option<&str>| {
        let mut v = json!({ "type": "pr.opened", "title": "t" });
        if let Some(a) = actor {
            v["actor"] = json!(a);
        }
        event(v)
    };
    assert!(muted(&prefs, &by(Some("dependabot"))));
    assert!(!muted(&prefs, &by(Some("dependabot[bot]"))));
    assert!(!muted(&prefs, &by(Some("Dependabot"))));
    assert!(!muted(&prefs, &by(None)));
}

#[test]
fn rule_matches_thread_by_glob_and_never_a_threadless_event() {
    let prefs = muting(r#"{ thread = "repo/api#*" }"#);
    let on = |thread: Option<&str>| {
        let mut v = json!({ "type": "build.failed", "title": "t" });
        if let Some(t) = thread {
            v["thread"] = json!(t);
        }
        event(v)
    };
    assert!(muted(&prefs, &on(Some("repo/api#4711"))));
    assert!(!muted(&prefs, &on(Some("repo/web#4711"))));
    assert!(!muted(&prefs, &on(None)));
    let anything = muting(r#"{ thread = "*" }"#);
    assert!(muted(&anything, &on(Some("x"))));
    assert!(!muted(&anything, &on(None)), "`*` needs a thread to match");
}

#[test]
fn rule_text_contains_is_case_insensitive_over_title_and_body() {
    let prefs = muting(r#"{ text_contains = "FlaKy" }"#);
    let text = |title: &str, body: Option<&str>| {
        let mut v = json!({ "type": "build.failed", "title": title });
        if let Some(b) = body {
            v["body"] = json!(b);
        }
        event(v)
    };
    assert!(muted(&prefs, &text("A flaky test", None)));
    assert!(muted(&prefs, &text("Build failed", Some("probably FLAKY again"))));
    assert!(!muted(&prefs, &text("Build failed", Some("3 tests failed"))));
    assert!(!muted(&prefs, &text("Build failed", None)));
}

#[test]
fn rule_data_matches_a_dotted_path_by_equality() {
    let prefs = muting(r#"{ data = { "ci.branch" = "main", "attempt" = 2 } }"#);
    let with = |data: Value| event(json!({ "type": "build.failed", "title": "t", "data": data }));
    assert!(muted(&prefs, &with(json!({ "ci": { "branch": "main" }, "attempt": 2 }))));
    assert!(muted(&prefs, &with(json!({ "ci": { "branch": "main", "sha": "abc" }, "attempt": 2, "x": 1 }))));
    assert!(!muted(&prefs, &with(json!({ "ci": { "branch": "dev" }, "attempt": 2 }))));
    assert!(!muted(&prefs, &with(json!({ "ci": { "branch": "main" }, "attempt": "2" }))), "2 is not \"2\"");
    assert!(!muted(&prefs, &with(json!({ "ci": { "branch": "main" } }))), "every condition must hold");
    assert!(!muted(&prefs, &with(json!({ "ci.branch": "main", "attempt": 2 }))), "the dot is a path");
    assert!(!muted(&prefs, &event(json!({ "type": "build.failed", "title": "t" }))));
}

#[test]
fn rule_conditions_combine_with_and() {
    let prefs = muting(r#"{ type = "build.*", actor = "ci" }"#);
    let e = |kind: &str, actor: &str| event(json!({ "type": kind, "title": "t", "actor": actor }));
    assert!(muted(&prefs, &e("build.failed", "ci")));
    assert!(!muted(&prefs, &e("build.failed", "bob")));
    assert!(!muted(&prefs, &e("deploy.failed", "ci")));
}
