//! The JSON shape of a plan (DESIGN §13): the `explain` example, every plan kind and suppress
//! reason by its contract name, repeats, and a round trip.

use campanile::engine::{Action, Plan, SuppressReason};
use campanile::model::Channel;
use campanile::prefs::EmailFrequency;
use serde_json::{Value, json};

use crate::common::{BERLIN_NIGHTS, Case, all_on, ev, event, run, ts};

use Channel::{Desktop, Push, Webhook};

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
