//! Settings a `user` token may save (hardening issue, findings 7 and 8): e-mail only to the
//! address registered for the user, a bounded document, rate-limited saves, and a save that
//! changes nothing leaves no trace in the change log.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use campanile::config::Config;
use serde_json::{Value, json};
use support::Daemon;

async fn put(d: &Daemon, who: &str, body: Value) -> (u16, Value) {
    let r = d.http.put(d.url("/settings")).bearer_auth(d.token(who)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_user_token_may_mail_only_its_registered_address() {
    let d = support::start().await;
    let (s, e) =
        put(&d, "alice", json!({"channels": {"email": {"enabled": true, "address": "victim@example.org"}}}))
            .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "channels.email.address");
    assert!(e["error"]["message"].as_str().unwrap().contains("alice@example.com"), "{e}");
    // The registered address, in any case, is fine.
    let (s, e) =
        put(&d, "alice", json!({"channels": {"email": {"enabled": true, "address": "Alice@Example.com"}}}))
            .await;
    assert_eq!(s, 200, "{e}");
    // Other fields save while the address stays.
    let (s, e) = put(&d, "alice", json!({"quiet_hours": {"enabled": true}})).await;
    assert_eq!(s, 200, "{e}");
    // A publisher's own preferences are not restricted (it routes by address anyway).
    let (s, e) =
        put(&d, "svc", json!({"channels": {"email": {"enabled": true, "address": "ops@example.org"}}})).await;
    assert_eq!(s, 200, "{e}");
    d.stop().await;
}

#[tokio::test]
async fn preferences_are_bounded_and_an_unchanged_save_writes_nothing() {
    let d = support::start().await;
    let rules: Vec<Value> = (0..101)
        .map(|i| json!({"name": format!("r{i}"), "match": {"category": "ci"}, "actions": {"mute": true}}))
        .collect();
    let (s, e) = put(&d, "alice", json!({ "rules": rules })).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "rules", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("at most 100 rules"), "{e}");
    let events: serde_json::Map<String, Value> =
        (0..501).map(|i| (format!("kind.n{i}"), json!({"email": false}))).collect();
    let (s, e) = put(&d, "alice", json!({ "events": events })).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "events", "{e}");

    let (s, first) = put(&d, "alice", json!({"quiet_hours": {"enabled": true}})).await;
    assert_eq!(s, 200, "{first}");
    let seq_before = support::Ws::connect(&d, "alice", 0, None).await.1["seq"].clone();
    let (s, again) = put(&d, "alice", json!({"quiet_hours": {"enabled": true}})).await;
    assert_eq!(s, 200);
    assert_eq!(again["prefs_version"], first["prefs_version"], "no new version for no change");
    let seq_after = support::Ws::connect(&d, "alice", 0, None).await.1["seq"].clone();
    assert_eq!(seq_before, seq_after, "nothing in the change log");
    d.stop().await;
}

#[tokio::test]
async fn settings_saves_by_a_user_token_are_rate_limited() {
    let mut c = Config::default();
    c.daemon.rate_limit.per_second = 1;
    c.daemon.rate_limit.burst = 3;
    let d = support::start_with(c).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(put(&d, "alice", json!({"quiet_hours": {"enabled": i % 2 == 0}})).await.0);
    }
    assert!(statuses[..3].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    // Admins are not limited.
    for i in 0..6 {
        assert_eq!(put(&d, "root", json!({"quiet_hours": {"enabled": i % 2 == 0}})).await.0, 200);
    }
    d.stop().await;
}
