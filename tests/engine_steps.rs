//! One table test per step and per reason of DESIGN §4, as `engine::decide` implements them,
//! plus the JSON shape of a plan (DESIGN §13). Every case builds its own input: preferences
//! from TOML (the form users write), events from JSON (the form producers send).

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use campanile::engine::{
    Action, CollapseTarget, History, Input, Plan, Policy, Presence, PresenceState, Repeat, SuppressReason,
    decide,
};
use campanile::model::{Channel, Event, Urgency};
use campanile::prefs::{DndUntil, EmailFrequency, Preferences, Required};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use Channel::{Desktop, Email, Push, Slack, Webhook};

/// A Wednesday, outside every quiet window used below.
const NOON: &str = "2027-03-10T12:00:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn event(v: Value) -> Event {
    Event::from_json(&v.to_string()).unwrap()
}

fn ev(kind: &str, urgency: &str) -> Event {
    event(json!({ "type": kind, "title": "Build failed on main", "urgency": urgency }))
}

/// Every channel on, every minimum `low`, every target set; `extra` is appended TOML that must
/// not reopen a `[channels.*]` table.
fn all_on(extra: &str) -> Preferences {
    let text = format!(
        r#"
[channels.desktop]
enabled = true
min_urgency = "low"
[channels.email]
enabled = true
address = "alice@example.com"
[channels.slack]
enabled = true
url = "https://hooks.slack.example/T1"
[channels.webhook]
enabled = true
url = "https://hooks.example/campanile"
[channels.push]
enabled = true
{extra}
"#
    );
    Preferences::parse(&text).unwrap()
}

struct Case {
    presence: Presence,
    history: History,
    policy: Policy,
    now: Timestamp,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            presence: Presence::default(),
            history: History::default(),
            policy: Policy::default(),
            now: ts(NOON),
        }
    }
}

impl Case {
    fn run(&self, event: &Event, prefs: &Preferences) -> Plan {
        decide(&Input {
            event,
            prefs,
            presence: &self.presence,
            history: &self.history,
            policy: &self.policy,
            now: self.now,
        })
    }
}

fn run(event: &Event, prefs: &Preferences) -> Plan {
    Case::default().run(event, prefs)
}

fn action(plan: &Plan, c: Channel) -> &Action {
    &plan.channels.get(&c).unwrap_or_else(|| panic!("{c} missing from {plan:#?}")).action
}

fn suppressed(reason: SuppressReason) -> Action {
    Action::Suppress { reason }
}

/// Asserts each listed channel's action, with the whole plan in the message.
fn expect(plan: &Plan, want: &[(Channel, Action)]) {
    for (c, a) in want {
        assert_eq!(action(plan, *c), a, "channel {c} in {plan:#?}");
    }
}

fn expect_all(plan: &Plan, a: &Action) {
    assert_eq!(plan.channels.len(), 5, "{plan:#?}");
    for c in Channel::ALL {
        assert_eq!(action(plan, c), a, "channel {c} in {plan:#?}");
    }
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

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

// ---------------------------------------------------------------- 3. preferences

#[test]
fn a_channel_turned_off_is_disabled() {
    for c in Channel::ALL {
        let mut prefs = all_on("");
        match c {
            Desktop => prefs.channels.desktop.enabled = false,
            Email => prefs.channels.email.enabled = false,
            Slack => prefs.channels.slack.enabled = false,
            Webhook => prefs.channels.webhook.enabled = false,
            Push => prefs.channels.push.enabled = false,
        }
        let plan = run(&ev("build.failed", "urgent"), &prefs);
        for other in Channel::ALL {
            let want = if other == c { suppressed(SuppressReason::Disabled) } else { Action::Deliver };
            assert_eq!(*action(&plan, other), want, "{c} off, looking at {other}");
        }
    }
}

#[test]
fn the_event_by_channel_matrix() {
    let prefs = all_on(
        r#"
[events."build.failed"]
email = false
slack = true
[categories.system]
slack = false
webhook = false
[categories.billing]
push = false
"#,
    );
    let off = suppressed(SuppressReason::Disabled);
    // build.failed is in `system`: its own cell turns e-mail off and, `true`, beats the
    // category's `false` for slack; the category still turns the webhook off.
    expect(
        &run(&ev("build.failed", "normal"), &prefs),
        &[(Email, off.clone()), (Slack, Action::Deliver), (Webhook, off.clone()), (Desktop, Action::Deliver)],
    );
    expect(
        &run(&ev("build.passed", "normal"), &prefs),
        &[(Email, Action::Deliver), (Slack, off.clone()), (Webhook, off.clone()), (Push, Action::Deliver)],
    );
    expect(
        &run(&ev("billing.payment_failed", "normal"), &prefs),
        &[
            (Push, off.clone()),
            (Slack, Action::Deliver),
            (Webhook, Action::Deliver),
            (Email, Action::Deliver),
        ],
    );
}

#[test]
fn below_min_urgency_is_suppressed_for_urgency_and_equal_passes() {
    let mut prefs = all_on("");
    prefs.channels.slack.min_urgency = Urgency::High;
    for (u, want) in [
        ("low", suppressed(SuppressReason::Urgency)),
        ("normal", suppressed(SuppressReason::Urgency)),
        ("high", Action::Deliver),
        ("urgent", Action::Deliver),
    ] {
        let plan = run(&ev("build.failed", u), &prefs);
        expect(&plan, &[(Slack, want), (Webhook, Action::Deliver)]);
    }
}

#[test]
fn channel_off_is_reported_before_urgency() {
    let mut prefs = all_on("");
    prefs.channels.push.enabled = false;
    prefs.channels.push.min_urgency = Urgency::Urgent;
    expect(&run(&ev("a.b", "low"), &prefs), &[(Push, suppressed(SuppressReason::Disabled))]);
}

#[test]
fn defaults_desktop_pops_up_only_for_urgent_and_the_rest_start_at_low() {
    let d = Preferences::default();
    assert_eq!(d.channels.desktop.min_urgency, Urgency::Urgent);
    assert!(d.channels.desktop.enabled);
    for c in [Email, Slack, Webhook, Push] {
        assert_eq!(d.channels.switch(c).1, Urgency::Low, "{c}");
    }
    // Parsed from an empty file: the same.
    let parsed = Preferences::parse("").unwrap();
    assert_eq!(parsed.channels.desktop.min_urgency, Urgency::Urgent);

    let mut prefs = all_on("");
    prefs.channels.desktop = Preferences::default().channels.desktop;
    for (u, want) in [
        ("low", suppressed(SuppressReason::Urgency)),
        ("normal", suppressed(SuppressReason::Urgency)),
        ("high", suppressed(SuppressReason::Urgency)),
        ("urgent", Action::Deliver),
    ] {
        expect(&run(&ev("build.failed", u), &prefs), &[(Desktop, want), (Push, Action::Deliver)]);
    }
}

#[test]
fn a_channel_without_a_target_is_disabled() {
    let mut prefs = all_on("");
    prefs.channels.email.address.clear();
    prefs.channels.slack.url.clear();
    prefs.channels.webhook.url.clear();
    let off = suppressed(SuppressReason::Disabled);
    expect(
        &run(&ev("build.failed", "urgent"), &prefs),
        &[
            (Email, off.clone()),
            (Slack, off.clone()),
            (Webhook, off),
            (Desktop, Action::Deliver),
            (Push, Action::Deliver),
        ],
    );
}

// ---------------------------------------------------------------- organisation

fn required_desktop() -> Policy {
    let mut required = Required::default();
    required.events.insert("security.alert".into(), vec![Desktop]);
    required.categories.insert("billing".into(), vec![Email]);
    Policy { required, ..Policy::default() }
}

#[test]
fn required_cells_override_channel_off_matrix_min_urgency_and_mute() {
    let case = Case { policy: required_desktop(), ..Case::default() };
    let mut prefs = all_on(
        r#"
[events."security.alert"]
desktop = false
[categories.billing]
email = false
[[rules]]
name = "mute everything"
actions = { mute = true }
"#,
    );
    prefs.channels.desktop.enabled = false;
    prefs.channels.desktop.min_urgency = Urgency::Urgent;
    prefs.channels.email.enabled = false;
    prefs.channels.email.min_urgency = Urgency::Urgent;

    let plan = case.run(&ev("security.alert", "low"), &prefs);
    let rule = suppressed(SuppressReason::Rule);
    expect(
        &plan,
        &[(Desktop, Action::Deliver), (Email, rule.clone()), (Slack, rule.clone()), (Push, rule.clone())],
    );
    assert!(plan.channels[&Desktop].reasons.iter().any(|r| r.contains("organisation")), "{plan:#?}");

    let plan = case.run(&ev("billing.payment_failed", "low"), &prefs);
    expect(&plan, &[(Email, Action::Deliver), (Desktop, rule.clone()), (Webhook, rule)]);

    // Without the policy, the same preferences silence both.
    let plan = run(&ev("security.alert", "low"), &prefs);
    expect(&plan, &[(Desktop, suppressed(SuppressReason::Rule))]);
}

#[test]
fn required_cells_still_respect_quiet_hours() {
    let case = Case {
        policy: required_desktop(),
        now: ts("2027-03-10T23:30:00Z"), // 00:30 Thursday in Berlin
        ..Case::default()
    };
    let mut prefs = all_on(
        r#"
[quiet_hours]
enabled = true
start = "22:00"
end = "08:00"
timezone = "Europe/Berlin"
"#,
    );
    prefs.channels.desktop.enabled = false;
    let plan = case.run(&ev("security.alert", "high"), &prefs);
    expect(&plan, &[(Desktop, Action::Hold { until: Some(ts("2027-03-11T07:00:00Z")) })]);
}

// ---------------------------------------------------------------- 4. presence

fn threaded(thread: &str) -> Event {
    event(json!({ "type": "issue.commented", "title": "New comment", "thread": thread }))
}

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

const BERLIN_NIGHTS: &str = r#"
[quiet_hours]
enabled = true
start = "22:00"
end = "08:00"
timezone = "Europe/Berlin"
"#;

/// Thursday 2027-03-11 00:30 in Berlin (CET, UTC+1); the window ends at 08:00 CET.
const BERLIN_NIGHT: &str = "2027-03-10T23:30:00Z";
const BERLIN_MORNING: &str = "2027-03-11T07:00:00Z";

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

// ---------------------------------------------------------------- JSON (DESIGN §13)

/// Removes `reasons` (free text) after checking it is a non-empty list of strings.
fn without_reasons(mut v: Value) -> Value {
    let reasons = v.as_object_mut().unwrap().remove("reasons").unwrap_or_else(|| panic!("no reasons in {v}"));
    let list = reasons.as_array().unwrap();
    assert!(!list.is_empty() && list.iter().all(Value::is_string), "{reasons}");
    v
}

#[test]
fn a_plan_serialises_in_the_explain_shape() {
    // The §13 example: Berlin nights, Sunday 2027-03-14 07:30 CET.
    let mut prefs = all_on(BERLIN_NIGHTS);
    prefs.channels.email.frequency = EmailFrequency::Daily;
    prefs.channels.slack.enabled = false;
    let now = ts("2027-03-14T06:30:00Z");
    let event = event(json!({
        "id": "build-4711", "type": "build.failed", "category": "system", "urgency": "high",
        "to": { "users": ["alice"] }, "thread": "repo/api#4711", "actor": "ci",
        "title": "Build failed on main", "body": "3 tests failed", "url": "https://ci.example/4711",
        "data": { "branch": "main" }, "occurred_at": "2027-03-14T06:30:00Z"
    }));
    let case = Case { now, ..Case::default() };
    let mut plan = case.run(&event, &prefs);
    let v = serde_json::to_value(&plan).unwrap();

    assert_eq!(v["inbox"]["record"], json!(true));
    assert_eq!(v["inbox"]["read"], json!(false));
    let channels = v["channels"].as_object().unwrap();
    let mut names: Vec<&str> = channels.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["desktop", "email", "push", "slack", "webhook"]);
    assert_eq!(
        without_reasons(channels["desktop"].clone()),
        json!({ "plan": "hold", "until": "2027-03-14T07:00:00Z" })
    );
    assert_eq!(
        without_reasons(channels["push"].clone()),
        json!({ "plan": "hold", "until": "2027-03-14T07:00:00Z" })
    );
    assert_eq!(
        without_reasons(channels["email"].clone()),
        json!({ "plan": "digest", "at": "2027-03-14T08:00:00Z" })
    );
    assert_eq!(
        without_reasons(channels["slack"].clone()),
        json!({ "plan": "suppress", "reason": "disabled" })
    );
    assert_eq!(channels["slack"]["reasons"], json!(["channel off"]));
    assert_eq!(without_reasons(channels["webhook"].clone()), json!({ "plan": "deliver" }));

    // The remaining plan kinds, and a round trip.
    plan.channels.get_mut(&Push).unwrap().action =
        Action::Escalate { after: ts("2027-03-14T06:45:00Z"), unless_read: true };
    plan.channels.get_mut(&Desktop).unwrap().action = Action::Hold { until: None };
    plan.channels.get_mut(&Webhook).unwrap().action = Action::Suppress { reason: SuppressReason::Viewing };
    let v = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        without_reasons(v["channels"]["push"].clone()),
        json!({ "plan": "escalate", "after": "2027-03-14T06:45:00Z", "unless_read": true })
    );
    assert_eq!(without_reasons(v["channels"]["desktop"].clone()), json!({ "plan": "hold", "until": null }));
    assert_eq!(
        without_reasons(v["channels"]["webhook"].clone()),
        json!({ "plan": "suppress", "reason": "viewing" })
    );
    let back: Plan = serde_json::from_value(v).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn suppress_reasons_and_repeats_serialise_by_their_contract_names() {
    for (reason, name) in [
        (SuppressReason::Disabled, "disabled"),
        (SuppressReason::Urgency, "urgency"),
        (SuppressReason::Viewing, "viewing"),
        (SuppressReason::Rule, "rule"),
        (SuppressReason::Duplicate, "duplicate"),
    ] {
        assert_eq!(
            serde_json::to_value(Action::Suppress { reason }).unwrap(),
            json!({ "plan": "suppress", "reason": name })
        );
    }
    assert_eq!(serde_json::to_value(Action::Deliver).unwrap(), json!({ "plan": "deliver" }));

    let plan = run(&ev("a.b", "urgent"), &all_on(""));
    let v = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        v["channels"]["desktop"]["repeat"],
        json!({ "every_minutes": 10, "until": "2027-03-10T13:00:00Z" })
    );
    assert!(v["channels"]["webhook"].get("repeat").is_none(), "{v}");
    assert_eq!(v["urgency"], json!("urgent"));
    // A fresh inbox plan has nothing optional to say.
    let inbox = v["inbox"].as_object().unwrap();
    let mut keys: Vec<&str> = inbox.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["read", "record"]);
}
