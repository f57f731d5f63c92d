//! DESIGN §4 step 3: channels on and off, the event-by-channel matrix, minimum urgencies and
//! their defaults, missing targets; and the organisation's required cells, which override all
//! of these and a mute but not quiet hours.

use campanile::engine::{Action, Policy, SuppressReason};
use campanile::model::{Channel, Urgency};
use campanile::prefs::{Preferences, Required};

use crate::common::{Case, action, all_on, ev, expect, run, suppressed, ts};

use Channel::{Desktop, Email, Push, Slack, Webhook};

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
