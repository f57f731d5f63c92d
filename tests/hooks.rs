//! Incoming webhooks through the real daemon (HTTP on 127.0.0.1): senders' payloads, signed
//! or not, turned into notifications; refusals that store nothing; a redelivery recorded
//! once; an alert's `resolved` folding into its `firing` item; revocation and rate limits.
//! The payloads are the fixtures of `tests/fixtures/hooks/`.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use campanile::config::{Config, RateLimit};
use campanile::model::{Hook, HookSource, HookTarget};
use campanile::store::prelude::*;
use campanile::store::{NewHook, SqliteStore, Synchronous};
use hmac::{KeyInit, Mac};
use serde_json::Value;
use support::{Daemon, Ws, start, start_with};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/hooks/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Makes a hook the way `campanile hook create` does: on the store, beside the daemon.
fn create(d: &Daemon, source: HookSource, target: HookTarget) -> Hook {
    let mut store = SqliteStore::open(&support::paths(d.dir.path()).store(), Synchronous::Normal).unwrap();
    store
        .create_hook(
            &NewHook { source, target, label: Some("test".into()), template: None },
            jiff::Timestamp::now(),
        )
        .unwrap()
}

fn alice() -> HookTarget {
    HookTarget::Users(vec!["alice".into()])
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

async fn post(d: &Daemon, hook: &Hook, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Value) {
    let mut rb = d.http.post(format!("http://{}{}", d.addr, hook.path())).body(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn github(d: &Daemon, hook: &Hook, kind: &str, delivery: &str, body: Vec<u8>) -> (u16, Value) {
    let sig = signature(&hook.secret, &body);
    let headers = [
        ("X-GitHub-Event", kind),
        ("X-GitHub-Delivery", delivery),
        ("X-Hub-Signature-256", sig.as_str()),
        ("Content-Type", "application/json"),
    ];
    post(d, hook, &headers, body).await
}

async fn items(d: &Daemon, who: &str) -> Vec<Value> {
    let (status, body) = d.get(who, "/notifications?view=all").await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn events_stored(d: &Daemon) -> i64 {
    let store = SqliteStore::open(&support::paths(d.dir.path()).store(), Synchronous::Normal).unwrap();
    store.table_counts().unwrap()["events"]
}

#[tokio::test]
async fn a_signed_github_delivery_becomes_a_notification_once() {
    let d = start().await;
    let hook = create(&d, HookSource::Github, alice());
    let body = fixture("github_workflow_run_failure.json");
    let (status, answer) = github(&d, &hook, "workflow_run", "d-1", body.clone()).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["duplicates"], 0);
    let got = items(&d, "alice").await;
    assert_eq!(got.len(), 1, "{got:?}");
    let n = &got[0];
    assert_eq!(n["type"], "ci.failed");
    assert_eq!(n["urgency"], "high");
    assert_eq!(n["category"], "ci");
    assert_eq!(n["title"], "Build and test failed on main (acme/bellows)");
    assert_eq!(n["url"], "https://github.com/acme/bellows/actions/runs/90210");
    assert_eq!(n["thread"], "github:acme/bellows/ci/Build and test@main");
    assert_eq!(n["data"]["source"], "github");
    assert_eq!(answer["notifications"][0], n["id"]);
    // GitHub's redelivery: the same delivery id, recorded once.
    let (status, again) = github(&d, &hook, "workflow_run", "d-1", body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicates"], 1);
    assert_eq!(again["notifications"], answer["notifications"]);
    assert_eq!(items(&d, "alice").await.len(), 1);
    assert!(items(&d, "bob").await.is_empty(), "only the hook's target hears of it");
    d.stop().await;
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_stores_nothing() {
    let d = start().await;
    let hook = create(&d, HookSource::Github, alice());
    let before = events_stored(&d).await;
    let body = fixture("github_pull_request_opened.json");
    let wrong = signature("not-the-secret", &body);
    for sig in [Some(wrong.as_str()), Some("sha256=00"), None] {
        let mut headers = vec![("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d-2")];
        if let Some(s) = sig {
            headers.push(("X-Hub-Signature-256", s));
        }
        let (status, body) = post(&d, &hook, &headers, body.clone()).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        assert!(body["error"]["message"].as_str().unwrap().contains("X-Hub-Signature-256"), "{body}");
    }
    // A body changed after signing is refused too.
    let sig = signature(&hook.secret, &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let headers = [("X-GitHub-Event", "pull_request"), ("X-Hub-Signature-256", sig.as_str())];
    assert_eq!(post(&d, &hook, &headers, tampered).await.0, 401);
    assert_eq!(events_stored(&d).await, before);
    assert!(items(&d, "alice").await.is_empty());
    d.stop().await;
}

#[tokio::test]
async fn ping_and_unknown_kinds_are_answered_and_store_nothing() {
    let d = start().await;
    let hook = create(&d, HookSource::Github, alice());
    let before = events_stored(&d).await;
    let (status, body) = github(&d, &hook, "ping", "p-1", fixture("github_ping.json")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["ignored"].as_str().unwrap().starts_with("ping"), "{body}");
    let (status, body) = github(&d, &hook, "watch", "w-1", fixture("github_push.json")).await;
    assert_eq!(status, 202, "{body}");
    assert!(body["ignored"].as_str().unwrap().contains("watch"), "{body}");
    let (status, body) =
        github(&d, &hook, "pull_request", "s-1", fixture("github_pull_request_synchronize.json")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["events"], serde_json::json!([]));
    assert_eq!(events_stored(&d).await, before);
    d.stop().await;
}

#[tokio::test]
async fn a_malformed_payload_is_a_400_naming_what_is_wrong() {
    let d = start().await;
    let hook = create(&d, HookSource::Github, alice());
    let (status, body) = github(&d, &hook, "issues", "m-1", b"{\"action\": \"opened\"".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "malformed");
    assert!(body["error"]["message"].as_str().unwrap().contains("not JSON"), "{body}");
    let partial = br#"{"action":"opened","issue":{"title":"x"},"repository":{"full_name":"a/b"}}"#.to_vec();
    let (status, body) = github(&d, &hook, "issues", "m-2", partial).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["message"], "issues: missing `issue.number` (a number)");
    let am = create(&d, HookSource::Alertmanager, alice());
    let auth = format!("Bearer {}", am.secret);
    let (status, body) = post(&d, &am, &[("Authorization", &auth)], br#"{"version":"4"}"#.to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["message"], "alertmanager: missing `alerts` (an array)");
    assert!(items(&d, "alice").await.is_empty());
    d.stop().await;
}

#[tokio::test]
async fn a_resolved_alert_updates_its_firing_item() {
    let d = start().await;
    let hook = create(&d, HookSource::Alertmanager, alice());
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    let auth = format!("Bearer {}", hook.secret);
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let (status, body) = post(&d, &hook, &headers, fixture("alertmanager_firing.json")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["events"].as_array().unwrap().len(), 2, "one event per alert");
    let got = items(&d, "alice").await;
    assert_eq!(got.len(), 2);
    let db1 = got.iter().find(|n| n["title"].as_str().unwrap().contains("db-1")).unwrap().clone();
    assert_eq!(db1["urgency"], "urgent");
    assert_eq!(db1["type"], "alert.firing");
    // Alertmanager repeats a notification while the alert fires: a replay, nothing new.
    let (status, body) = post(&d, &hook, &headers, fixture("alertmanager_firing.json")).await;
    assert_eq!((status, body["duplicates"].as_u64()), (200, Some(2)), "{body}");

    let (status, body) = post(&d, &hook, &headers, fixture("alertmanager_resolved.json")).await;
    assert_eq!(status, 201, "{body}");
    let got = items(&d, "alice").await;
    assert_eq!(got.len(), 2, "the resolved alert updates its item instead of adding one: {got:?}");
    let updated = got.iter().find(|n| n["id"] == db1["id"]).unwrap();
    assert_eq!(updated["count"], 2);
    assert!(updated["title"].as_str().unwrap().starts_with("[RESOLVED] DiskFilling"), "{updated}");
    // The TUI hears it as an update of the same item.
    loop {
        let f = ws.next_of("change").await;
        if f["kind"] == "notification_updated" {
            assert_eq!(f["notification"]["id"], db1["id"]);
            break;
        }
    }
    d.stop().await;
}

#[tokio::test]
async fn each_sender_proves_the_secret_its_own_way() {
    let d = start().await;
    let gitlab = create(&d, HookSource::Gitlab, alice());
    let h = [
        ("X-Gitlab-Event", "Pipeline Hook"),
        ("X-Gitlab-Token", gitlab.secret.as_str()),
        ("X-Gitlab-Event-UUID", "u-1"),
    ];
    let (status, body) = post(&d, &gitlab, &h, fixture("gitlab_pipeline_failed.json")).await;
    assert_eq!(status, 201, "{body}");
    let h = [("X-Gitlab-Event", "Pipeline Hook"), ("X-Gitlab-Token", "guess")];
    assert_eq!(post(&d, &gitlab, &h, fixture("gitlab_pipeline_failed.json")).await.0, 401);

    let grafana = create(&d, HookSource::Grafana, alice());
    let auth = format!("Bearer {}", grafana.secret);
    let (status, body) =
        post(&d, &grafana, &[("Authorization", &auth)], fixture("grafana_firing.json")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(post(&d, &grafana, &[], fixture("grafana_firing.json")).await.0, 401);

    let ce = create(&d, HookSource::Cloudevents, alice());
    let auth = format!("Bearer {}", ce.secret);
    let h = [("Authorization", auth.as_str()), ("Content-Type", "application/cloudevents+json")];
    let (status, body) = post(&d, &ce, &h, fixture("cloudevent_structured.json")).await;
    assert_eq!(status, 201, "{body}");
    let titles: Vec<String> =
        items(&d, "alice").await.iter().map(|n| n["title"].as_str().unwrap().to_string()).collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    for t in [
        "Pipeline failed on main (acme/ledger)",
        "[FIRING] HighLatency: p99 latency above 800 ms",
        "Backup of db-1 done",
    ] {
        assert!(titles.iter().any(|x| x == t), "{t} in {titles:?}");
    }
    d.stop().await;
}

#[tokio::test]
async fn a_hook_publishes_to_its_topic_and_a_revoked_hook_is_gone() {
    let d = start().await;
    let r =
        d.http.put(d.url("/topics/builds/subscribers/bob")).bearer_auth(d.token("bob")).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let hook = create(&d, HookSource::Github, HookTarget::Topic("builds".into()));
    let (status, answer) = github(&d, &hook, "release", "r-1", fixture("github_release.json")).await;
    assert_eq!(status, 201, "{answer}");
    let got = items(&d, "bob").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["title"], "acme/bellows v2.3.0 released: Quiet evenings");
    assert!(items(&d, "alice").await.is_empty());

    let mut store = SqliteStore::open(&support::paths(d.dir.path()).store(), Synchronous::Normal).unwrap();
    assert!(store.revoke_hook(&hook.id, jiff::Timestamp::now()).unwrap());
    let (status, body) = github(&d, &hook, "release", "r-2", fixture("github_release.json")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    d.stop().await;
}

#[tokio::test]
async fn hooks_are_rate_limited_like_user_publishing() {
    let mut config = Config::default();
    config.daemon.rate_limit = RateLimit { per_second: 1, burst: 2 };
    let d = start_with(config).await;
    let hook = create(&d, HookSource::Github, alice());
    // Forged deliveries are refused before they can spend the sender's budget.
    for _ in 0..5 {
        let h = [("X-GitHub-Event", "ping"), ("X-Hub-Signature-256", "sha256=00")];
        assert_eq!(post(&d, &hook, &h, fixture("github_ping.json")).await.0, 401);
    }
    let send = || async {
        d.http
            .post(format!("http://{}{}", d.addr, hook.path()))
            .header("X-GitHub-Event", "ping")
            .header("X-Hub-Signature-256", signature(&hook.secret, &fixture("github_ping.json")))
            .body(fixture("github_ping.json"))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(send().await.status(), 200);
    assert_eq!(send().await.status(), 200);
    let limited = send().await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    d.stop().await;
}

#[tokio::test]
async fn a_generic_hook_renders_the_configured_template() {
    let mut config = Config::default();
    config.hooks.templates.insert(
        "deploys".into(),
        toml::from_str(
            r#"
type = "deploy.{{ status }}"
title = "{{ service }} {{ version }} {{ status }}"
thread = "deploy/{{ service }}"
id = "{{ run_id }}"
"#,
        )
        .unwrap(),
    );
    let d = start_with(config).await;
    let mut store = SqliteStore::open(&support::paths(d.dir.path()).store(), Synchronous::Normal).unwrap();
    let new = NewHook {
        source: HookSource::Generic,
        target: alice(),
        label: None,
        template: Some("deploys".into()),
    };
    let hook = store.create_hook(&new, jiff::Timestamp::now()).unwrap();
    let auth = format!("Bearer {}", hook.secret);
    let body = br#"{"service":"api","version":"1.4.2","status":"finished","run_id":"r-1"}"#.to_vec();
    let (status, answer) = post(&d, &hook, &[("Authorization", &auth)], body.clone()).await;
    assert_eq!(status, 201, "{answer}");
    let (status, _) = post(&d, &hook, &[("Authorization", &auth)], body).await;
    assert_eq!(status, 200, "the rendered id dedupes");
    let got = items(&d, "alice").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["title"], "api 1.4.2 finished");
    assert_eq!(got[0]["type"], "deploy.finished");
    let (status, body) = post(&d, &hook, &[("Authorization", &auth)], b"[1]".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    d.stop().await;
}
