//! Bad input over the REST API (DESIGN §7, §13): every refusal has the right status and the
//! one error shape `{"error":{"code","message","field"?}}`, and nothing is stored. Also
//! idempotency, plain-text publishing, the OpenAPI document and the metrics.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::collections::BTreeSet;

use reqwest::header::{CONTENT_TYPE, HeaderMap, IF_MATCH};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use support::{Daemon, start};

struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Value,
    text: String,
}

fn req(d: &Daemon, who: &str, method: Method, path: &str) -> RequestBuilder {
    d.http.request(method, d.url(path)).bearer_auth(d.token(who))
}

async fn send(rb: RequestBuilder) -> Resp {
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, body, text }
}

/// A request with a raw body sent as `application/json`.
async fn raw_json(d: &Daemon, who: &str, method: Method, path: &str, body: impl Into<reqwest::Body>) -> Resp {
    send(req(d, who, method, path).header(CONTENT_TYPE, "application/json").body(body)).await
}

/// DESIGN §7: the status, `{"error":{"code","message","field"?}}` and nothing else.
fn assert_error(r: &Resp, status: u16, code: &str, field: Option<&str>, context: &str) {
    assert_eq!(r.status, status, "{context}: {}", r.text);
    let ct = r.headers.get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{context}: content-type {ct:?}: {}", r.text);
    let outer = r.body.as_object().unwrap_or_else(|| panic!("{context}: not an object: {}", r.text));
    assert_eq!(outer.keys().collect::<Vec<_>>(), ["error"], "{context}: {}", r.text);
    let e = r.body["error"].as_object().unwrap_or_else(|| panic!("{context}: {}", r.text));
    for (k, v) in e {
        assert!(matches!(k.as_str(), "code" | "message" | "field"), "{context}: unexpected {k}: {}", r.text);
        assert!(v.is_string(), "{context}: {k} is a string: {}", r.text);
    }
    assert_eq!(e["code"], code, "{context}: {}", r.text);
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{context}: {}", r.text);
    assert_eq!(e.get("field").and_then(Value::as_str), field, "{context}: {}", r.text);
}

/// Nothing reached the user's inbox.
async fn assert_inbox_empty(d: &Daemon, who: &str) {
    let (status, count) = d.get(who, "/notifications/unread_count").await;
    assert_eq!(status, 200);
    assert_eq!(count["unread"], 0, "{who}: {count}");
    let (_, page) = d.get(who, "/notifications").await;
    assert_eq!(page["items"], json!([]), "{who}: {page}");
}

async fn settings(d: &Daemon, who: &str) -> Value {
    let (status, body) = d.get(who, "/settings").await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn bad_events_are_refused_with_the_field_and_nothing_is_stored() {
    let d = start().await;
    // (body, status, code, field)
    let cases: &[(&str, u16, &str, Option<&str>)] = &[
        (r#"{"type":"a.b","title":"#, 400, "malformed", None),
        (r#"{"type":"a.b" "title":"t"}"#, 400, "malformed", None),
        ("not json at all", 400, "malformed", None),
        ("", 400, "malformed", None),
        (r#"{"type":"a.b","title":5}"#, 422, "invalid", Some("title")),
        (r#"{"type":7,"title":"t"}"#, 422, "invalid", Some("type")),
        (r#"{"type":"a.b","title":"t","data":{"x":1},"urgency":3}"#, 422, "invalid", Some("urgency")),
        (r#"{"type":"a.b","title":"t","urgency":"asap"}"#, 422, "invalid", Some("urgency")),
        (r#"{"type":"a.b","title":"t","urgency":["high"]}"#, 422, "invalid", Some("urgency")),
        (r#"{"type":"a.b","title":"t","to":{"users":"alice"}}"#, 422, "invalid", Some("to.users")),
        (r#"{"type":"a.b","title":"t","to":"alice"}"#, 422, "invalid", Some("to")),
        (r#"{"type":"a.b","title":"t","title":"u"}"#, 422, "invalid", Some("title")),
        (r#"{"type":"Not Dotted!","title":"t"}"#, 422, "invalid", Some("type")),
        (r#"{"type":".a","title":"t"}"#, 422, "invalid", Some("type")),
        (r#"{"type":"a.b"}"#, 422, "invalid", Some("title")),
        (r#"{"title":"t"}"#, 422, "invalid", Some("type")),
        (r#"{"type":"a.b","title":"   "}"#, 422, "invalid", Some("title")),
        (r#"{"type":"a.b","title":"t","url":"ftp://x"}"#, 422, "invalid", Some("url")),
        (r#"{"type":"a.b","title":"t","occurred_at":"yesterday"}"#, 422, "invalid", Some("occurred_at")),
        (r#"{"type":"a.b","title":"t","category":"Not A Word"}"#, 422, "invalid", Some("category")),
        (r#"{"type":"a.b","title":"t","to":{"users":[]}}"#, 422, "invalid", Some("to.users")),
        (r#"{"type":"a.b","title":"t","to":{"broadcast":false}}"#, 422, "invalid", Some("to.broadcast")),
        ("[]", 422, "invalid", Some("body")),
    ];
    for &(body, status, code, field) in cases {
        let r = raw_json(&d, "alice", Method::POST, "/events", body).await;
        assert_error(&r, status, code, field, body);
    }
    // An unknown field is named, in `field` and in the message.
    let r =
        raw_json(&d, "alice", Method::POST, "/events", r#"{"type":"a.b","title":"t","colour":"red"}"#).await;
    assert_error(&r, 422, "invalid", Some("colour"), "unknown field");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("colour"), "{}", r.text);
    let r = raw_json(
        &d,
        "alice",
        Method::POST,
        "/events",
        r#"{"type":"a.b","title":"t","to":{"users":["alice"],"x":1}}"#,
    )
    .await;
    assert_error(&r, 422, "invalid", Some("to"), "`to` with two keys");
    // ... but `data` belongs to the producer.
    let ok =
        raw_json(&d, "bob", Method::POST, "/events", r#"{"type":"a.b","title":"t","data":{"colour":"red"}}"#)
            .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    // A publisher naming someone unknown is refused as a whole: no one gets anything.
    let r = raw_json(
        &d,
        "svc",
        Method::POST,
        "/events",
        r#"{"type":"a.b","title":"t","to":{"users":["alice","nobody"]}}"#,
    )
    .await;
    assert_error(&r, 422, "invalid", Some("to.users"), "unknown user");
    let r = raw_json(
        &d,
        "svc",
        Method::POST,
        "/events",
        r#"{"type":"a.b","title":"t","to":{"emails":["nobody@example.com"]}}"#,
    )
    .await;
    assert_error(&r, 422, "invalid", Some("to.emails"), "unknown address");
    assert_inbox_empty(&d, "alice").await;
    d.stop().await;
}

#[tokio::test]
async fn a_missing_field_is_named_in_field_and_message() {
    let d = start().await;
    for (body, missing) in [(r#"{"type":"a.b"}"#, "title"), (r#"{"title":"t"}"#, "type")] {
        let r = raw_json(&d, "alice", Method::POST, "/events", body).await;
        assert_error(&r, 422, "invalid", Some(missing), body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(missing), "{}", r.text);
    }
    let r = raw_json(&d, "alice", Method::POST, "/device-tokens", r#"{"provider":"ntfy"}"#).await;
    assert_error(&r, 422, "invalid", Some("token"), "device without token");
    assert_inbox_empty(&d, "alice").await;
    d.stop().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_at_the_limit_are_read() {
    let d = start().await;
    let limit = 1024 * 1024;
    let padded = |fill: usize| {
        let head = r#"{"type":"a.b","title":"big"}"#;
        format!("{head}{}", " ".repeat(fill - head.len()))
    };
    let over = padded(limit + 1);
    for (method, path) in [
        (Method::POST, "/events"),
        (Method::PUT, "/settings"),
        (Method::POST, "/device-tokens"),
        (Method::POST, "/notifications/mark_all_read"),
    ] {
        let r = raw_json(&d, "alice", method.clone(), path, over.clone()).await;
        assert_error(&r, 413, "too_large", None, &format!("{method} {path}"));
    }
    assert_inbox_empty(&d, "alice").await;
    let at = padded(limit);
    assert_eq!(at.len(), limit);
    let r = raw_json(&d, "alice", Method::POST, "/events", at).await;
    assert_eq!(r.status, 201, "exactly max_body_bytes is accepted: {}", r.text);
    d.stop().await;
}

#[tokio::test]
async fn pagination_and_query_errors_are_400() {
    let d = start().await;
    for i in 0..3 {
        let (status, _) = d.publish("alice", json!({"type": "a.b", "title": format!("n{i}")})).await;
        assert_eq!(status, 201);
    }
    // The happy path, so the refusals below mean something.
    let (status, page1) = d.get("alice", "/notifications?limit=2").await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (status, page2) = d.get("alice", &format!("/notifications?limit=2&cursor={cursor}")).await;
    assert_eq!(status, 200, "{page2}");
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_eq!(page2["items"][0]["title"], "n0");
    assert_eq!(page2["next_cursor"], Value::Null);

    let cases: &[(&str, &str, Option<&str>)] = &[
        ("alice", "/notifications?cursor=not-a-cursor", Some("cursor")),
        ("alice", "/notifications?cursor=", Some("cursor")),
        ("alice", "/notifications?limit=0", Some("limit")),
        ("alice", "/notifications?limit=201", Some("limit")),
        ("alice", "/notifications?limit=500", Some("limit")),
        ("alice", "/notifications?limit=-1", None),
        ("alice", "/notifications?limit=ten", None),
        ("alice", "/notifications?unread=maybe", None),
        ("alice", "/notifications?colour=red", None),
        ("alice", "/notifications?unread=true&sort=asc", None),
        ("root", "/audit?limit=ten", None),
        ("root", "/audit?colour=red", None),
    ];
    for &(who, path, field) in cases {
        let r = send(req(&d, who, Method::GET, path)).await;
        assert_error(&r, 400, "malformed", field, path);
    }
    for path in ["/device-tokens/phone", "/device-tokens/phone?provider=ntfy&colour=red"] {
        let r = send(req(&d, "alice", Method::DELETE, path)).await;
        assert_error(&r, 400, "malformed", None, path);
    }
    d.stop().await;
}

#[tokio::test]
async fn bad_settings_are_422_naming_the_field_and_change_nothing() {
    let d = start().await;
    let before = settings(&d, "alice").await;
    let cases: &[(&str, u16, &str, Option<&str>)] = &[
        (r#"{"quiet_hours":{"timezone":"Mars/Olympus"}}"#, 422, "invalid", Some("quiet_hours.timezone")),
        (r#"{"quiet_hours":{"enabled":"yes"}}"#, 422, "invalid", Some("quiet_hours.enabled")),
        (
            r#"{"channels":{"desktop":{"min_urgency":"asap"}}}"#,
            422,
            "invalid",
            Some("channels.desktop.min_urgency"),
        ),
        (r#"{"channels":{"email":{"address":"nope"}}}"#, 422, "invalid", Some("channels.email.address")),
        (r#"{"channels":{"slack":{"url":"ftp://x"}}}"#, 422, "invalid", Some("channels.slack.url")),
        ("[]", 422, "invalid", Some("body")),
        (r#""quiet""#, 422, "invalid", Some("body")),
        (r#"{"colour":"red"}"#, 422, "invalid", Some("colour")),
        (r#"{"quiet_hours":{"colour":"red"}}"#, 422, "invalid", Some("quiet_hours.colour")),
        (r#"{"quiet_hours":"#, 400, "malformed", None),
        ("", 400, "malformed", None),
    ];
    for &(body, status, code, field) in cases {
        let r = raw_json(&d, "alice", Method::PUT, "/settings", body).await;
        assert_error(&r, status, code, field, body);
        assert_eq!(settings(&d, "alice").await, before, "{body} changed the settings");
    }
    // A valid zone is taken, so the refusal above was about the zone.
    let r =
        raw_json(&d, "alice", Method::PUT, "/settings", r#"{"quiet_hours":{"timezone":"Europe/Berlin"}}"#)
            .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(settings(&d, "alice").await["prefs"]["quiet_hours"]["timezone"], "Europe/Berlin");
    d.stop().await;
}

#[tokio::test]
async fn a_stale_if_match_is_409_and_changes_nothing() {
    let d = start().await;
    let v0 = settings(&d, "alice").await["prefs_version"].as_i64().unwrap();
    let put = |version: &str, body: &'static str| {
        req(&d, "alice", Method::PUT, "/settings")
            .header(IF_MATCH, version)
            .json(&serde_json::from_str::<Value>(body).unwrap())
    };
    let r = send(put(&v0.to_string(), r#"{"quiet_hours":{"start":"21:00"}}"#)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v1 = r.body["prefs_version"].as_i64().unwrap();
    assert!(v1 > v0);
    let after_first = settings(&d, "alice").await;

    let r = send(put(&v0.to_string(), r#"{"quiet_hours":{"start":"23:00"}}"#)).await;
    assert_error(&r, 409, "conflict", None, "stale If-Match");
    assert_eq!(settings(&d, "alice").await, after_first);

    let r = send(put("soon", r#"{"quiet_hours":{"start":"23:00"}}"#)).await;
    assert_error(&r, 400, "malformed", None, "If-Match not a number");
    assert_eq!(settings(&d, "alice").await, after_first);

    // The current version, quoted like an ETag, is taken.
    let r = send(put(&format!("\"{v1}\""), r#"{"quiet_hours":{"start":"23:00"}}"#)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(settings(&d, "alice").await["prefs"]["quiet_hours"]["start"], "23:00");
    d.stop().await;
}

#[tokio::test]
async fn bad_device_tokens_are_422_and_not_registered() {
    let d = start().await;
    let cases: &[(&str, u16, &str, Option<&str>)] = &[
        (r#"{"provider":"apns","token":"abc"}"#, 422, "invalid", Some("provider")),
        (r#"{"provider":"expo","token":"abc"}"#, 422, "invalid", Some("token")),
        (r#"{"provider":"expo","token":"ExponentPushToken[abc"}"#, 422, "invalid", Some("token")),
        (r#"{"provider":"ntfy","token":"has space"}"#, 422, "invalid", Some("token")),
        (r#"{"provider":"ntfy","token":""}"#, 422, "invalid", Some("token")),
        (r#"{"provider":5,"token":"abc"}"#, 422, "invalid", Some("provider")),
        (r#"{"provider":"ntfy","token":"abc","colour":"red"}"#, 422, "invalid", Some("colour")),
        (r#"{"provider":"ntfy"}"#, 422, "invalid", Some("token")),
        ("[]", 422, "invalid", Some("body")),
        (r#"{"provider":"ntfy","#, 400, "malformed", None),
        ("", 400, "malformed", None),
    ];
    for &(body, status, code, field) in cases {
        let r = raw_json(&d, "alice", Method::POST, "/device-tokens", body).await;
        assert_error(&r, status, code, field, body);
    }
    // None of those was registered: the first good one is alone in the list.
    let r = raw_json(
        &d,
        "alice",
        Method::POST,
        "/device-tokens",
        r#"{"provider":"expo","token":"ExponentPushToken[abc]"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["devices"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(r.body["devices"][0]["token"], "ExponentPushToken[abc]");
    d.stop().await;
}

#[tokio::test]
async fn bad_mark_all_read_bodies_are_refused() {
    let d = start().await;
    let (status, _) = d.publish("alice", json!({"type": "a.b", "title": "t"})).await;
    assert_eq!(status, 201);
    let cases: &[(&str, u16, &str, Option<&str>)] = &[
        (r#"{"category":5}"#, 422, "invalid", Some("category")),
        (r#"{"category":"system""#, 400, "malformed", None),
        (r#"{"colour":"red"}"#, 422, "invalid", Some("colour")),
        ("[]", 422, "invalid", Some("body")),
    ];
    for &(body, status, code, field) in cases {
        let r = raw_json(&d, "alice", Method::POST, "/notifications/mark_all_read", body).await;
        assert_error(&r, status, code, field, body);
    }
    let (_, count) = d.get("alice", "/notifications/unread_count").await;
    assert_eq!(count["unread"], 1, "a refused mark_all_read marked nothing");
    d.stop().await;
}

#[tokio::test]
async fn unknown_routes_are_404_with_the_error_shape() {
    let d = start().await;
    let base = format!("http://{}", d.addr);
    let cases = [
        (Method::GET, format!("{base}/api/v1/nope")),
        (Method::GET, format!("{base}/nope")),
        (Method::GET, format!("{base}/api/v2/notifications")),
        (Method::GET, format!("{base}/api/v1/notifications/{}/read/extra", "01ARZ3NDEKTSV4RRFFQ69G5FAV")),
        (Method::POST, format!("{base}/api/v1/workflows/nope/trigger")),
    ];
    for (method, url) in cases {
        let rb = d
            .http
            .request(method.clone(), &url)
            .bearer_auth(d.token("root"))
            .json(&json!({"to": {"users": ["alice"]}}));
        let r = send(rb).await;
        assert_error(&r, 404, "not_found", None, &format!("{method} {url}"));
    }
    assert_inbox_empty(&d, "alice").await;
    d.stop().await;
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_error_shape() {
    let d = start().await;
    for (method, path) in [
        (Method::DELETE, "/notifications"),
        (Method::GET, "/events"),
        (Method::POST, "/settings"),
        (Method::GET, "/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV/read"),
    ] {
        let r = send(req(&d, "alice", method.clone(), path)).await;
        assert_error(&r, 405, "method_not_allowed", None, &format!("{method} {path}"));
        assert!(r.headers.contains_key(reqwest::header::ALLOW), "{method} {path}: no Allow header");
    }
    d.stop().await;
}

#[tokio::test]
async fn a_plain_get_on_the_stream_is_refused_with_the_error_shape() {
    let d = start().await;
    let r = send(req(&d, "alice", Method::GET, "/stream")).await;
    assert!(matches!(r.status, 400 | 426), "{} {}", r.status, r.text);
    assert_error(&r, r.status, "malformed", None, "GET /stream without an upgrade");
    d.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_body_and_refuses_another() {
    let d = start().await;
    let post = |who: &str, key: &str, body: Value| {
        req(&d, who, Method::POST, "/events").header("Idempotency-Key", key).json(&body)
    };
    let a = json!({"type": "build.failed", "title": "Build failed", "body": "3 tests"});
    let first = send(post("alice", "k-1", a.clone())).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["duplicate"], false);
    let again = send(post("alice", "k-1", a.clone())).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(again.body["event"], first.body["event"]);
    assert_eq!(again.body["notifications"], first.body["notifications"]);

    let other = send(post("alice", "k-1", json!({"type": "build.failed", "title": "Something else"}))).await;
    assert_error(&other, 409, "conflict", None, "same key, another body");

    // Keys are per producer: bob's k-1 is his own.
    let bobs = send(post("bob", "k-1", a.clone())).await;
    assert_eq!(bobs.status, 201, "{}", bobs.text);
    assert_ne!(bobs.body["event"], first.body["event"]);

    // An event's `id` is a key too.
    let with_id = json!({"id": "build-4711", "type": "build.failed", "title": "Build 4711 failed"});
    let r1 = send(req(&d, "alice", Method::POST, "/events").json(&with_id)).await;
    assert_eq!(r1.status, 201, "{}", r1.text);
    let r2 = send(req(&d, "alice", Method::POST, "/events").json(&with_id)).await;
    assert_eq!(r2.status, 200, "{}", r2.text);
    assert_eq!(r2.body["duplicate"], true);
    assert_eq!(r2.body["notifications"], r1.body["notifications"]);

    // A bad key is refused.
    let long = "k".repeat(257);
    let r = send(post("alice", &long, a.clone())).await;
    assert_error(&r, 422, "invalid", Some("Idempotency-Key"), "a 257-character key");

    let (_, count) = d.get("alice", "/notifications/unread_count").await;
    assert_eq!(count["unread"], 2, "one per distinct event: {count}");
    let (_, page) = d.get("alice", "/notifications").await;
    let titles: BTreeSet<&str> =
        page["items"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap()).collect();
    assert_eq!(titles, BTreeSet::from(["Build failed", "Build 4711 failed"]));
    d.stop().await;
}

/// The notification a publish answer names, from the caller's inbox.
async fn stored(d: &Daemon, who: &str, r: &Resp) -> Value {
    let id = r.body["notifications"][0].as_str().unwrap_or_else(|| panic!("{}", r.text));
    let (_, page) = d.get(who, "/notifications").await;
    page["items"].as_array().unwrap().iter().find(|n| n["id"] == id).cloned().unwrap()
}

#[tokio::test]
async fn plain_text_publishing_like_ntfy() {
    let d = start().await;
    for content_type in [Some("text/plain"), Some("text/plain; charset=utf-8"), None] {
        let mut rb =
            req(&d, "alice", Method::POST, "/events").header("Title", "Backup done").body("42 GB in 3 min");
        if let Some(ct) = content_type {
            rb = rb.header(CONTENT_TYPE, ct);
        }
        let r = send(rb).await;
        assert_eq!(r.status, 201, "{content_type:?}: {}", r.text);
        let n = stored(&d, "alice", &r).await;
        assert_eq!(n["title"], "Backup done", "{n}");
        assert_eq!(n["body"], "42 GB in 3 min", "{n}");
        assert_eq!(n["type"], "message", "{n}");
        assert_eq!(n["urgency"], "normal", "{n}");
    }
    // Without a Title header, the first line is the title.
    let r = send(req(&d, "alice", Method::POST, "/events").body("Disk almost full\n/var at 97%")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let n = stored(&d, "alice", &r).await;
    assert_eq!((n["title"].as_str(), n["body"].as_str()), (Some("Disk almost full"), Some("/var at 97%")));
    // Headers carry the rest.
    let r = send(
        req(&d, "alice", Method::POST, "/events")
            .header("Title", "Deploy")
            .header("Urgency", "high")
            .header("Type", "deploy.done")
            .header("Url", "https://ci.example/1")
            .body("api v2"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let n = stored(&d, "alice", &r).await;
    assert_eq!(n["urgency"], "high", "{n}");
    assert_eq!(n["type"], "deploy.done", "{n}");
    assert_eq!(n["url"], "https://ci.example/1", "{n}");
    let (_, count) = d.get("alice", "/notifications/unread_count").await;
    assert_eq!(count["unread"], 5);

    // Bad headers are refused, naming the header, and store nothing.
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("Urgency", "asap", Some("Urgency")),
        ("Type", "Not Dotted!", Some("type")),
        ("Url", "ftp://x", Some("url")),
        ("To", "bob", None),
    ];
    for &(header, value, field) in cases {
        let r = send(
            req(&d, "alice", Method::POST, "/events")
                .header(CONTENT_TYPE, "text/plain")
                .header("Title", "t")
                .header(header, value)
                .body("b"),
        )
        .await;
        if header == "To" {
            assert_error(&r, 403, "forbidden", field, "To: bob from a user token");
        } else {
            assert_error(&r, 422, "invalid", field, &format!("{header}: {value}"));
        }
    }
    let r =
        send(req(&d, "alice", Method::POST, "/events").header(CONTENT_TYPE, "text/plain").body("   ")).await;
    assert_error(&r, 422, "invalid", Some("title"), "an empty text body");
    let r = send(
        req(&d, "alice", Method::POST, "/events").header(CONTENT_TYPE, "text/plain").body(vec![0xff, 0xfe]),
    )
    .await;
    assert_error(&r, 400, "malformed", None, "a body that is not UTF-8");
    let (_, count) = d.get("alice", "/notifications/unread_count").await;
    assert_eq!(count["unread"], 5);
    let (_, bob) = d.get("bob", "/notifications/unread_count").await;
    assert_eq!(bob["unread"], 0);
    d.stop().await;
}

/// Every operation the router serves, from `server::api()` in src/server/mod.rs.
const OPERATIONS: &[(&str, &str)] = &[
    ("post", "/events"),
    ("get", "/notifications"),
    ("patch", "/notifications/{id}/read"),
    ("patch", "/notifications/{id}/unread"),
    ("post", "/notifications/mark_all_read"),
    ("post", "/notifications/bulk"),
    ("post", "/notifications/bulk/{id}/undo"),
    ("get", "/notifications/{id}"),
    ("get", "/notifications/unread_count"),
    ("get", "/settings"),
    ("put", "/settings"),
    ("get", "/topics"),
    ("put", "/topics/{topic}/subscribers/{user}"),
    ("delete", "/topics/{topic}/subscribers/{user}"),
    ("post", "/device-tokens"),
    ("get", "/device-tokens"),
    ("delete", "/device-tokens/{token}"),
    ("get", "/audit"),
    ("get", "/tokens"),
    ("delete", "/tokens/{id}"),
    ("get", "/users"),
    ("post", "/users"),
    ("delete", "/users/{name}"),
    ("get", "/workflows"),
    ("post", "/workflows/{id}/trigger"),
    ("post", "/webhooks/delivery-status"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/stream"),
    ("post", "/hooks/{hook}"),
];

#[tokio::test]
async fn the_openapi_document_is_3_1_and_describes_every_route() {
    let d = start().await;
    let r = send(d.http.get(d.url("/openapi.json"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = &r.body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch") {
                continue;
            }
            let responses =
                op["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}: no responses"));
            assert!(!responses.is_empty(), "{method} {path} has no response");
            documented.insert((method.clone(), path.clone()));
        }
    }
    let expected: BTreeSet<(String, String)> =
        OPERATIONS.iter().map(|(m, p)| ((*m).to_string(), (*p).to_string())).collect();
    assert_eq!(documented, expected);

    // Each documented operation is served: the router knows the path and the method.
    for (method, path) in OPERATIONS {
        let concrete = path
            .replace("{id}", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
            .replace("{topic}", "t")
            .replace("{user}", "root")
            .replace("{token}", "phone")
            .replace("{hook}", "hk_none");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = send(req(&d, "root", m, &concrete)).await;
        assert_ne!(r.status, 405, "{method} {path}: {}", r.text);
        let fallback = r.status == 404 && r.text.contains("no such route");
        assert!(!fallback, "{method} {path} is not routed: {}", r.text);
    }
    d.stop().await;
}

/// The value of an unlabelled Prometheus sample.
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no sample {name} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

async fn metrics(d: &Daemon, url: &str) -> String {
    let r = d.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain"), "{ct}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_accepted_events() {
    let d = start().await;
    let root_url = format!("http://{}/metrics", d.addr);
    let text = metrics(&d, &root_url).await;
    assert!(text.contains("# TYPE campanile_events_accepted_total counter"), "{text}");
    let before = sample(&text, "campanile_events_accepted_total");
    assert_eq!(before, 0);
    for i in 0..2 {
        let (status, _) =
            d.publish("alice", json!({"type": "a.b", "title": format!("m{i}"), "id": format!("m{i}")})).await;
        assert_eq!(status, 201);
    }
    // A replay and refusals are not accepted events.
    let (status, _) = d.publish("alice", json!({"type": "a.b", "title": "m0", "id": "m0"})).await;
    assert_eq!(status, 200);
    let (status, _) = d.publish("alice", json!({"type": "a.b", "title": 5})).await;
    assert_eq!(status, 422);
    let (status, _) =
        d.publish("alice", json!({"type": "a.b", "title": "t", "to": {"users": ["bob"]}})).await;
    assert_eq!(status, 403);
    let (status, _) = d.publish("svc", json!({"type": "a.b", "title": "t", "to": {"broadcast": true}})).await;
    assert_eq!(status, 403);
    let (status, _) =
        d.publish("root", json!({"type": "a.b", "title": "t", "to": {"broadcast": true}})).await;
    assert_eq!(status, 201);
    for url in [root_url, d.url("/metrics")] {
        let text = metrics(&d, &url).await;
        assert_eq!(sample(&text, "campanile_events_accepted_total"), 3, "{url}:\n{text}");
        assert_eq!(sample(&text, "campanile_events_duplicate_total"), 1, "{url}:\n{text}");
        assert_eq!(sample(&text, "campanile_notifications_total"), 2 + 4, "{url}:\n{text}");
    }
    d.stop().await;
}
