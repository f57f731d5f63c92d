//! Who may do what over the REST API and the websocket (DESIGN §7, §9): a user token reaches
//! only its own user's notifications, settings, subscriptions and devices; a publisher
//! publishes to anyone but cannot broadcast; an admin can. Missing or bad credentials are
//! refused on every route, and `user` tokens are rate-limited.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::collections::BTreeSet;

use campanile::config::{Config, RateLimit};
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER};
use serde_json::{Value, json};
use support::{Daemon, Ws, start, start_with};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// A well-formed id that names no notification.
const NO_SUCH_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

/// Sends a request with a raw `Authorization` header (or none) and an optional JSON body.
async fn call(
    d: &Daemon,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let mut rb = d.http.request(method, d.url(path));
    if let Some(a) = authorization {
        rb = rb.header(AUTHORIZATION, a);
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp { status, headers, body }
}

/// The same, as one of the harness's users.
async fn as_user(d: &Daemon, who: &str, method: Method, path: &str, body: Option<&Value>) -> Resp {
    call(d, method, path, Some(&format!("Bearer {}", d.token(who))), body).await
}

/// DESIGN §7: `{"error":{"code","message","field"?}}` and nothing else.
fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let outer = r.body.as_object().unwrap_or_else(|| panic!("an error object, got {}", r.body));
    assert_eq!(outer.keys().collect::<Vec<_>>(), ["error"], "{}", r.body);
    let e = r.body["error"].as_object().unwrap_or_else(|| panic!("error is an object: {}", r.body));
    assert_eq!(e["code"], code, "{}", r.body);
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.body);
    for (k, v) in e {
        assert!(matches!(k.as_str(), "code" | "message" | "field"), "unexpected key {k}: {}", r.body);
        assert!(v.is_string(), "{k} is a string: {}", r.body);
    }
}

async fn unread(d: &Daemon, who: &str) -> i64 {
    let (status, body) = d.get(who, "/notifications/unread_count").await;
    assert_eq!(status, 200, "{body}");
    body["unread"].as_i64().unwrap()
}

async fn ids_of(d: &Daemon, who: &str, query: &str) -> Vec<String> {
    let (status, body) = d.get(who, &format!("/notifications{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect()
}

/// Publishes and expects 201; returns the notification ids.
async fn publish_ok(d: &Daemon, who: &str, event: Value) -> Vec<String> {
    let (status, body) = d.publish(who, event).await;
    assert_eq!(status, 201, "{body}");
    body["notifications"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Access {
    /// Needs a bearer token: 401 without one.
    Token,
    /// Open to probes: answers without a token.
    Public,
    /// The websocket: the token may come in `hello` (tested separately below).
    Stream,
    /// An incoming webhook: no token, the sender proves the hook's secret (`tests/hooks.rs`);
    /// a hook that does not exist is 404 whatever the credentials.
    Hook,
}

/// Every route of `server::api()`: method, OpenAPI path, a concrete path, a plausible body.
fn routes() -> Vec<(Method, &'static str, String, Option<Value>, Access)> {
    let event = json!({"type": "a.b", "title": "t"});
    vec![
        (Method::POST, "/events", "/events".into(), Some(event), Access::Token),
        (Method::GET, "/notifications", "/notifications".into(), None, Access::Token),
        (
            Method::PATCH,
            "/notifications/{id}/read",
            format!("/notifications/{NO_SUCH_ID}/read"),
            None,
            Access::Token,
        ),
        (
            Method::PATCH,
            "/notifications/{id}/unread",
            format!("/notifications/{NO_SUCH_ID}/unread"),
            None,
            Access::Token,
        ),
        (
            Method::POST,
            "/notifications/mark_all_read",
            "/notifications/mark_all_read".into(),
            None,
            Access::Token,
        ),
        (
            Method::POST,
            "/notifications/bulk",
            "/notifications/bulk".into(),
            Some(json!({"action": "mark_read", "filter": {"view": "inbox"}})),
            Access::Token,
        ),
        (
            Method::POST,
            "/notifications/bulk/{id}/undo",
            "/notifications/bulk/01JD0000000000000000000000/undo".into(),
            None,
            Access::Token,
        ),
        (
            Method::GET,
            "/notifications/{id}",
            "/notifications/01JD0000000000000000000000".into(),
            None,
            Access::Token,
        ),
        (
            Method::GET,
            "/notifications/unread_count",
            "/notifications/unread_count".into(),
            None,
            Access::Token,
        ),
        (Method::GET, "/settings", "/settings".into(), None, Access::Token),
        (Method::PUT, "/settings", "/settings".into(), Some(json!({"presence": {}})), Access::Token),
        (
            Method::PUT,
            "/topics/{topic}/subscribers/{user}",
            "/topics/x/subscribers/alice".into(),
            None,
            Access::Token,
        ),
        (
            Method::DELETE,
            "/topics/{topic}/subscribers/{user}",
            "/topics/x/subscribers/alice".into(),
            None,
            Access::Token,
        ),
        (Method::GET, "/topics", "/topics".into(), None, Access::Token),
        (
            Method::POST,
            "/device-tokens",
            "/device-tokens".into(),
            Some(json!({"provider": "ntfy", "token": "phone"})),
            Access::Token,
        ),
        (
            Method::DELETE,
            "/device-tokens/{token}",
            "/device-tokens/phone?provider=ntfy".into(),
            None,
            Access::Token,
        ),
        (Method::GET, "/audit", "/audit".into(), None, Access::Token),
        (Method::GET, "/tokens", "/tokens".into(), None, Access::Token),
        (Method::GET, "/users", "/users".into(), None, Access::Token),
        (Method::POST, "/users", "/users".into(), Some(json!({"users": []})), Access::Token),
        (Method::DELETE, "/users/{name}", "/users/nosuchuser".into(), None, Access::Token),
        (Method::DELETE, "/tokens/{id}", "/tokens/nosuchtoken".into(), None, Access::Token),
        (Method::GET, "/workflows", "/workflows".into(), None, Access::Token),
        (Method::GET, "/device-tokens", "/device-tokens".into(), None, Access::Token),
        (
            Method::POST,
            "/workflows/{id}/trigger",
            "/workflows/task-completed/trigger".into(),
            Some(json!({"to": {"subscriber": "alice"}, "payload": {"task_name": "t"}})),
            Access::Token,
        ),
        (
            Method::POST,
            "/webhooks/delivery-status",
            "/webhooks/delivery-status".into(),
            Some(json!({"delivery": "nope", "status": "delivered"})),
            Access::Token,
        ),
        (Method::GET, "/healthz", "/healthz".into(), None, Access::Public),
        (Method::GET, "/metrics", "/metrics".into(), None, Access::Public),
        (Method::GET, "/stream", "/stream".into(), None, Access::Stream),
        (Method::POST, "/hooks/{hook}", "/hooks/hk_none".into(), Some(json!({})), Access::Hook),
    ]
}

/// The (method, path) pairs the OpenAPI document describes.
async fn documented(d: &Daemon) -> BTreeSet<(String, String)> {
    let r = call(d, Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let mut out = BTreeSet::new();
    for (path, item) in r.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch" | "head" | "options") {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_route_table_is_every_route_the_api_serves() {
    let d = start().await;
    let table: BTreeSet<(String, String)> =
        routes().into_iter().map(|(m, p, ..)| (m.as_str().to_lowercase(), p.to_string())).collect();
    assert_eq!(table, documented(&d).await, "update routes() in this file when the API changes");
    d.stop().await;
}

#[tokio::test]
async fn no_token_a_bad_token_or_basic_auth_is_401_on_every_route() {
    let d = start().await;
    let credentials = [
        None,
        Some("Bearer not-a-token".to_string()),
        Some("Bearer ".to_string()),
        Some("Basic x".to_string()),
        Some(format!("Basic {}", d.token("root"))),
        Some(d.token("root").to_string()),
    ];
    for (method, _, path, body, access) in routes() {
        for cred in &credentials {
            let r = call(&d, method.clone(), &path, cred.as_deref(), body.as_ref()).await;
            match access {
                Access::Token => {
                    assert_eq!(r.status, 401, "{method} {path} with {cred:?}: {}", r.body);
                    assert_error(&r, 401, "unauthorized");
                }
                Access::Public => {
                    if cred.is_none() {
                        assert_eq!(r.status, 200, "{method} {path} is open to probes");
                    }
                }
                Access::Stream => {}
                Access::Hook => assert_error(&r, 404, "not_found"),
            }
        }
    }
    // Nothing was published, subscribed or registered by any of that.
    for who in ["alice", "bob", "svc", "root"] {
        assert_eq!(unread(&d, who).await, 0, "{who}");
    }
    let topics = as_user(&d, "root", Method::GET, "/topics", None).await;
    assert_eq!(topics.body["topics"], json!([]));
    d.stop().await;
}

#[tokio::test]
async fn the_probes_also_answer_at_the_root() {
    let d = start().await;
    for path in ["/healthz", "/metrics"] {
        let r = d.http.get(format!("http://{}{path}", d.addr)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let r = d.http.get(format!("http://{}/healthz", d.addr)).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    d.stop().await;
}

#[tokio::test]
async fn a_user_never_reads_counts_or_marks_another_users_notifications() {
    let d = start().await;
    let bobs = publish_ok(&d, "bob", json!({"type": "secret.plan", "title": "Bob's secret plan"})).await;
    assert_eq!(bobs.len(), 1);
    let bobs = &bobs[0];
    let alices = publish_ok(&d, "alice", json!({"type": "a.b", "title": "Alice's own"})).await;
    assert_eq!(unread(&d, "bob").await, 1);

    // Reading: bob's item is in none of alice's views.
    assert_eq!(unread(&d, "alice").await, 1);
    for q in ["", "?unread=true", "?q=secret", "?category=system", "?limit=200"] {
        let ids = ids_of(&d, "alice", q).await;
        assert!(!ids.contains(bobs), "bob's item in alice's GET /notifications{q}");
    }
    assert_eq!(ids_of(&d, "alice", "").await, alices);
    assert!(ids_of(&d, "alice", "?q=secret").await.is_empty());
    assert_eq!(ids_of(&d, "bob", "?q=secret").await, std::slice::from_ref(bobs));

    // Marking read: 404, as if it did not exist, and bob's item stays unread.
    let r = as_user(&d, "alice", Method::PATCH, &format!("/notifications/{bobs}/read"), None).await;
    assert_error(&r, 404, "not_found");
    let missing =
        as_user(&d, "alice", Method::PATCH, &format!("/notifications/{NO_SUCH_ID}/read"), None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(unread(&d, "bob").await, 1);
    let (_, page) = d.get("bob", "/notifications").await;
    assert_eq!(page["items"][0]["read_at"], Value::Null);

    // Marking unread: bob reads it himself, then alice's unread is refused and changes nothing.
    let r = as_user(&d, "bob", Method::PATCH, &format!("/notifications/{bobs}/read"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["notification"]["id"], bobs.as_str());
    assert!(r.body["notification"]["read_at"].is_string());
    let r = as_user(&d, "alice", Method::PATCH, &format!("/notifications/{bobs}/unread"), None).await;
    assert_error(&r, 404, "not_found");
    assert_eq!(unread(&d, "bob").await, 0);

    // Mark all read marks only the caller's own.
    let r = as_user(&d, "bob", Method::PATCH, &format!("/notifications/{bobs}/unread"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = as_user(&d, "alice", Method::POST, "/notifications/mark_all_read", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["updated"], 1);
    assert_eq!(unread(&d, "alice").await, 0);
    assert_eq!(unread(&d, "bob").await, 1);

    // An admin token does not reach into another user's inbox either: it is its own user.
    let r = as_user(&d, "root", Method::PATCH, &format!("/notifications/{bobs}/read"), None).await;
    assert_error(&r, 404, "not_found");
    assert!(!ids_of(&d, "root", "").await.contains(bobs));
    assert_eq!(unread(&d, "bob").await, 1);
    d.stop().await;
}

#[tokio::test]
async fn a_user_never_changes_another_users_settings() {
    let d = start().await;
    let (status, bob_before) = d.get("bob", "/settings").await;
    assert_eq!(status, 200);
    let patch = json!({"quiet_hours": {"enabled": true, "timezone": "Asia/Tokyo", "start": "21:00"},
                       "channels": {"desktop": {"enabled": false}}});
    let r = as_user(&d, "alice", Method::PUT, "/settings", Some(&patch)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["prefs"]["quiet_hours"]["timezone"], "Asia/Tokyo");
    let (_, alice_after) = d.get("alice", "/settings").await;
    assert_eq!(alice_after["prefs"]["quiet_hours"]["timezone"], "Asia/Tokyo");
    assert_eq!(alice_after["prefs"]["channels"]["desktop"]["enabled"], false);
    let (_, bob_after) = d.get("bob", "/settings").await;
    assert_eq!(bob_after, bob_before, "alice's PUT /settings changed bob's");
    assert_ne!(bob_after["prefs"]["quiet_hours"]["timezone"], "Asia/Tokyo");
    d.stop().await;
}

async fn topics_of(d: &Daemon, who: &str) -> Value {
    let r = as_user(d, who, Method::GET, "/topics", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["topics"].clone()
}

#[tokio::test]
async fn subscriptions_are_self_or_admin_and_topics_are_listed_per_user() {
    let d = start().await;
    // Alice cannot subscribe bob; root can.
    let r = as_user(&d, "alice", Method::PUT, "/topics/x/subscribers/bob", None).await;
    assert_error(&r, 403, "forbidden");
    assert_eq!(topics_of(&d, "bob").await, json!([]));
    assert_eq!(topics_of(&d, "root").await, json!([]));
    let r = as_user(&d, "svc", Method::PUT, "/topics/x/subscribers/bob", None).await;
    assert_error(&r, 403, "forbidden");
    let r = as_user(&d, "root", Method::PUT, "/topics/x/subscribers/bob", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(topics_of(&d, "bob").await, json!([{"topic": "x", "subscribers": 1, "subscribed": true}]));

    // Alice subscribes herself elsewhere; she sees only her topics, root sees all.
    let r = as_user(&d, "alice", Method::PUT, "/topics/mine/subscribers/alice", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        topics_of(&d, "alice").await,
        json!([{"topic": "mine", "subscribers": 1, "subscribed": true}])
    );
    assert_eq!(
        topics_of(&d, "root").await,
        json!([{"topic": "mine", "subscribers": 1, "subscribed": false},
               {"topic": "x", "subscribers": 1, "subscribed": false}])
    );

    // Alice cannot unsubscribe bob; bob stays subscribed. Root can.
    let r = as_user(&d, "alice", Method::DELETE, "/topics/x/subscribers/bob", None).await;
    assert_error(&r, 403, "forbidden");
    assert_eq!(topics_of(&d, "bob").await[0]["subscribed"], true);
    let r = as_user(&d, "root", Method::DELETE, "/topics/x/subscribers/bob", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(topics_of(&d, "bob").await, json!([]));
    let r = as_user(&d, "root", Method::DELETE, "/topics/x/subscribers/bob", None).await;
    assert_error(&r, 404, "not_found");

    // A user removes their own subscription.
    let r = as_user(&d, "alice", Method::DELETE, "/topics/mine/subscribers/alice", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(topics_of(&d, "root").await, json!([]));
    d.stop().await;
}

#[tokio::test]
async fn a_user_never_removes_another_users_device() {
    let d = start().await;
    let r = as_user(
        &d,
        "bob",
        Method::POST,
        "/device-tokens",
        Some(&json!({"provider": "ntfy", "token": "bob-phone"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["devices"][0]["token"], "bob-phone");
    let r = as_user(&d, "alice", Method::DELETE, "/device-tokens/bob-phone?provider=ntfy", None).await;
    assert_error(&r, 404, "not_found");
    let r = as_user(&d, "svc", Method::DELETE, "/device-tokens/bob-phone?provider=ntfy", None).await;
    assert_error(&r, 404, "not_found");
    // Bob's device survived: he can still remove it, once.
    let r = as_user(&d, "bob", Method::DELETE, "/device-tokens/bob-phone?provider=ntfy", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = as_user(&d, "bob", Method::DELETE, "/device-tokens/bob-phone?provider=ntfy", None).await;
    assert_error(&r, 404, "not_found");
    d.stop().await;
}

#[tokio::test]
async fn the_audit_log_is_for_admins_only() {
    let d = start().await;
    publish_ok(&d, "alice", json!({"type": "a.b", "title": "t"})).await;
    for who in ["alice", "bob", "svc"] {
        let r = as_user(&d, who, Method::GET, "/audit", None).await;
        assert_error(&r, 403, "forbidden");
    }
    let r = as_user(&d, "root", Method::GET, "/audit", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let kinds: Vec<&str> =
        r.body["items"].as_array().unwrap().iter().map(|i| i["record"]["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"event.accepted"), "{kinds:?}");
    d.stop().await;
}

#[tokio::test]
async fn who_may_publish_to_whom() {
    let d = start().await;
    // (who, to, expected status); `to: null` means the field is left out.
    let cases = [
        ("alice", Value::Null, 201),
        ("alice", json!({"users": ["alice"]}), 201),
        ("alice", json!({"users": ["alice", "alice"]}), 201),
        ("alice", json!({"users": ["bob"]}), 403),
        ("alice", json!({"users": ["alice", "bob"]}), 403),
        ("alice", json!({"emails": ["bob@example.com"]}), 403),
        ("alice", json!({"topic": "deploys"}), 403),
        ("alice", json!({"broadcast": true}), 403),
        ("svc", json!({"users": ["bob"]}), 201),
        ("svc", json!({"emails": ["bob@example.com"]}), 201),
        ("svc", json!({"topic": "nobody-listens"}), 201),
        ("svc", json!({"broadcast": true}), 403),
    ];
    let mut expected_bob = 0;
    let mut expected_alice = 0;
    for (i, (who, to, status)) in cases.into_iter().enumerate() {
        let mut event = json!({"type": "a.b", "title": format!("case {i}")});
        if !to.is_null() {
            event["to"] = to.clone();
        }
        let (got, body) = d.publish(who, event).await;
        assert_eq!(got, status, "{who} → {to}: {body}");
        if status == 403 {
            assert_eq!(body["error"]["code"], "forbidden", "{body}");
        } else {
            assert_eq!(body["duplicate"], false);
            let n = body["notifications"].as_array().unwrap().len();
            if who == "alice" {
                assert_eq!(n, 1, "{to}: {body}");
                expected_alice += 1;
            } else if to.get("topic").is_some() {
                assert_eq!(n, 0, "{to}: {body}");
            } else {
                assert_eq!(n, 1, "{to}: {body}");
                expected_bob += 1;
            }
        }
        assert_eq!(unread(&d, "alice").await, expected_alice, "after {who} → {to}");
        assert_eq!(unread(&d, "bob").await, expected_bob, "after {who} → {to}");
    }
    assert_eq!(unread(&d, "svc").await, 0);

    // An admin's broadcast reaches every user, the admin included.
    let ids =
        publish_ok(&d, "root", json!({"type": "a.b", "title": "all hands", "to": {"broadcast": true}})).await;
    assert_eq!(ids.len(), 4, "{ids:?}");
    for who in ["alice", "bob", "svc", "root"] {
        let (_, page) = d.get(who, "/notifications?q=all%20hands").await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{who}: {page}");
        assert_eq!(items[0]["user"], who);
        assert!(ids.contains(&items[0]["id"].as_str().unwrap().to_string()));
    }
    assert_eq!(unread(&d, "alice").await, expected_alice + 1);
    assert_eq!(unread(&d, "bob").await, expected_bob + 1);
    d.stop().await;
}

#[tokio::test]
async fn a_topic_reaches_its_subscribers_only() {
    let d = start().await;
    let r = as_user(&d, "alice", Method::PUT, "/topics/deploys/subscribers/alice", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Bob follows another topic, and another deploys topic's prefix.
    for topic in ["builds", "deploys-staging"] {
        let r = as_user(&d, "bob", Method::PUT, &format!("/topics/{topic}/subscribers/bob"), None).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let ids = publish_ok(
        &d,
        "svc",
        json!({"type": "deploy.done", "title": "api v2 is live", "to": {"topic": "deploys"}}),
    )
    .await;
    assert_eq!(ids.len(), 1);
    let (_, page) = d.get("alice", "/notifications").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["id"], ids[0].as_str());
    assert_eq!(page["items"][0]["title"], "api v2 is live");
    assert!(ids_of(&d, "bob", "").await.is_empty());
    assert_eq!(unread(&d, "bob").await, 0);
    // Subscribing twice is one subscription: still one notification per event.
    let r = as_user(&d, "alice", Method::PUT, "/topics/deploys/subscribers/alice", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let ids =
        publish_ok(&d, "svc", json!({"type": "deploy.done", "title": "again", "to": {"topic": "deploys"}}))
            .await;
    assert_eq!(ids.len(), 1);
    assert_eq!(unread(&d, "alice").await, 2);
    assert_eq!(unread(&d, "bob").await, 0);
    d.stop().await;
}

#[tokio::test]
async fn user_tokens_are_rate_limited_and_publishers_are_not() {
    let mut config = Config::default();
    config.daemon.rate_limit = RateLimit { per_second: 1, burst: 3 };
    let d = start_with(config).await;
    for i in 0..3 {
        publish_ok(&d, "alice", json!({"type": "a.b", "title": format!("quick {i}")})).await;
    }
    let r =
        as_user(&d, "alice", Method::POST, "/events", Some(&json!({"type": "a.b", "title": "one too many"})))
            .await;
    assert_error(&r, 429, "rate_limited");
    let retry: u64 = r.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=3).contains(&retry), "Retry-After: {retry}");
    assert_eq!(unread(&d, "alice").await, 3, "the refused event was not stored");
    // The limit is per user.
    publish_ok(&d, "bob", json!({"type": "a.b", "title": "bob is fine"})).await;
    // A publisher is not limited.
    for i in 0..20 {
        publish_ok(&d, "svc", json!({"type": "a.b", "title": format!("svc {i}"), "to": {"users": ["bob"]}}))
            .await;
    }
    assert_eq!(unread(&d, "bob").await, 21);
    d.stop().await;
}

fn ws_url(d: &Daemon) -> String {
    format!("ws://{}/api/v1/stream", d.addr)
}

/// Connects without a token on the upgrade and says `hello`; returns the client.
async fn hello(d: &Daemon, token: Option<&str>) -> Ws {
    let (stream, _) = tokio_tungstenite::connect_async(ws_url(d)).await.unwrap();
    let mut ws = Ws { stream };
    let mut frame = json!({"type": "hello", "last_seq": 0, "client": "test/0"});
    if let Some(t) = token {
        frame["token"] = json!(t);
    }
    ws.send(frame).await;
    ws
}

/// After an error frame the server closes: a close frame, or the end of the stream.
async fn expect_closed(ws: &mut Ws) {
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), ws.stream.next())
        .await
        .expect("the server closes within 10 s");
    match next {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1008, "{frame:?}"),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stream_hello_without_a_valid_token_gets_an_error_and_a_close() {
    let d = start().await;
    for token in [Some("not-a-token"), Some(""), None] {
        let mut ws = hello(&d, token).await;
        let f = ws.next().await;
        assert_eq!(f["type"], "error", "{token:?}: {f}");
        assert_eq!(f["error"]["code"], "unauthorized", "{f}");
        expect_closed(&mut ws).await;
    }
    d.stop().await;
}

#[tokio::test]
async fn a_stream_upgrade_with_bad_credentials_is_401() {
    let d = start().await;
    for auth in ["Bearer not-a-token", "Basic x"] {
        let mut req = ws_url(&d).into_client_request().unwrap();
        req.headers_mut().insert("authorization", auth.parse().unwrap());
        match tokio_tungstenite::connect_async(req).await {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 401, "{auth}"),
            Err(e) => panic!("{auth}: expected an HTTP 401, got {e}"),
            Ok(_) => panic!("{auth}: the upgrade was accepted"),
        }
    }
    // A good token on the upgrade works without one in hello.
    let mut req = ws_url(&d).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {}", d.token("bob")).parse().unwrap());
    let (stream, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut ws = Ws { stream };
    ws.send(json!({"type": "hello", "last_seq": 0})).await;
    let welcome = ws.next().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["user"], "bob");
    d.stop().await;
}

#[tokio::test]
async fn a_stream_carries_only_its_users_changes() {
    let d = start().await;
    let (mut ws, welcome) = Ws::connect(&d, "alice", 0, None).await;
    assert_eq!(welcome["user"], "alice");
    assert_eq!(welcome["unread"], 0);
    let for_bob =
        publish_ok(&d, "svc", json!({"type": "a.b", "title": "for bob", "to": {"users": ["bob"]}})).await;
    let for_alice =
        publish_ok(&d, "svc", json!({"type": "a.b", "title": "for alice", "to": {"users": ["alice"]}})).await;
    // Bob reads his: a notification_updated for bob, which alice must not see either.
    let r = as_user(&d, "bob", Method::PATCH, &format!("/notifications/{}/read", for_bob[0]), None).await;
    assert_eq!(r.status, 200);
    let f = ws.next().await;
    assert_eq!(f["type"], "change", "{f}");
    assert_eq!(f["seq"], 1, "{f}");
    assert_eq!(f["kind"], "notification_created", "{f}");
    assert_eq!(f["notification"]["user"], "alice", "{f}");
    assert_eq!(f["notification"]["id"], for_alice[0].as_str(), "{f}");
    // Nothing else is queued for alice: the next frame answers a ping.
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await["type"], "pong");
    // And a websocket command cannot touch bob's item either.
    ws.send(json!({"type": "command", "req": "1", "op": "mark_unread", "ids": [for_bob[0]]})).await;
    let res = ws.next().await;
    assert_eq!(res["type"], "result", "{res}");
    assert_eq!(res["ok"], false, "{res}");
    assert_eq!(res["error"]["code"], "not_found", "{res}");
    assert_eq!(unread(&d, "bob").await, 0);
    ws.stream.close(None).await.unwrap();
    d.stop().await;
}
