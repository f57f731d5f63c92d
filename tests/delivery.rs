//! Delivery end to end: the real daemon delivers to real receivers on 127.0.0.1 (an HTTP
//! server for webhook, Slack, Expo and ntfy; an SMTP sink for e-mail). Signatures verify,
//! payloads have their documented shape, failures are retried with growing delays, final
//! answers are final, hanging receivers time out, `Retry-After` is honoured, and the audit
//! trail verifies after all of it.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use campanile::config::{Config, DeliveryConfig, SmtpSecurity};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use support::Daemon;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// What the receiver answers next.
#[derive(Clone)]
enum Reply {
    Status(u16),
    StatusWith(u16, &'static str, &'static str),
    Json(Value),
    /// Never answers.
    Hang,
}

#[derive(Debug)]
struct Received {
    at: Instant,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
    }
}

/// An HTTP receiver on 127.0.0.1 that answers from a script (then 200) and reports every
/// request it gets.
struct Receiver {
    url: String,
    script: Arc<Mutex<VecDeque<Reply>>>,
    rx: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn start(script: Vec<Reply>) -> Receiver {
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (tx, rx) = mpsc::unbounded_channel();
        let s = Arc::clone(&script);
        let app =
            axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let (s, tx) = (Arc::clone(&s), tx.clone());
                async move {
                    let _ =
                        tx.send(Received { at: Instant::now(), path: uri.path().to_string(), headers, body });
                    let reply = s.lock().unwrap().pop_front().unwrap_or(Reply::Status(200));
                    match reply {
                        Reply::Status(c) => StatusCode::from_u16(c).unwrap().into_response(),
                        Reply::StatusWith(c, k, v) => {
                            (StatusCode::from_u16(c).unwrap(), [(k, v)]).into_response()
                        }
                        Reply::Json(v) => axum::Json(v).into_response(),
                        Reply::Hang => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            StatusCode::OK.into_response()
                        }
                    }
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, script, rx }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(15), self.rx.recv())
            .await
            .expect("a request within 15 s")
            .unwrap()
    }

    /// Nothing more arrives within `wait`.
    async fn quiet(&mut self, wait: Duration) {
        if let Ok(Some(r)) = tokio::time::timeout(wait, self.rx.recv()).await {
            panic!("unexpected request to {}: {}", r.path, String::from_utf8_lossy(&r.body));
        }
    }
}

fn fast() -> DeliveryConfig {
    DeliveryConfig {
        max_attempts: 4,
        backoff_base_ms: 300,
        backoff_max_ms: 5_000,
        jitter: false,
        timeout_ms: 700,
        concurrency: 4,
        per_target_concurrency: 2,
        breaker_failures: 100,
        breaker_cooldown_ms: 1_000,
        allow_private_targets: true,
    }
}

async fn daemon(config: Config) -> Daemon {
    support::start_with(Config { delivery: fast(), ..config }).await
}

async fn put_settings(d: &Daemon, who: &str, prefs: Value) {
    let r = d.http.put(d.url("/settings")).bearer_auth(d.token(who)).json(&prefs).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Publishes one event to alice; returns the notification id.
async fn notify(d: &Daemon, event: Value) -> String {
    let (status, body) = d.publish("svc", event).await;
    assert_eq!(status, 201, "{body}");
    body["notifications"][0].as_str().unwrap().to_string()
}

/// Waits until alice's notification `id` has `status` on `channel`; returns its state.
async fn state_of(d: &Daemon, id: &str, channel: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, body) = d.get("alice", "/notifications").await;
        let item = body["items"].as_array().unwrap().iter().find(|n| n["id"] == id).cloned().unwrap();
        let state = item["deliveries"][channel].clone();
        if state["status"] == status {
            return state;
        }
        assert!(Instant::now() < deadline, "{channel} never became {status}: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn verify(secret: &str, r: &Received) -> bool {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.header("webhook-id"), r.header("webhook-timestamp")).as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    r.header("webhook-signature").split(' ').any(|s| s == expected)
}

fn webhook_prefs(url: &str) -> Value {
    json!({"channels": {"webhook": {"enabled": true, "url": url, "secret": SECRET}}})
}

const EVENT: &str = r#"{"type": "build.failed", "title": "Build failed on main", "body": "3 tests failed",
    "url": "https://ci.example/4711", "to": {"users": ["alice"]}, "data": {"branch": "main"}}"#;

fn event() -> Value {
    serde_json::from_str(EVENT).unwrap()
}

#[tokio::test]
async fn a_webhook_is_signed_by_the_standard_and_fails_with_another_secret() {
    let mut rx = Receiver::start(vec![]).await;
    let d = daemon(Config::default()).await;
    put_settings(&d, "alice", webhook_prefs(&format!("{}/hook", rx.url))).await;
    let id = notify(&d, event()).await;
    let r = rx.next().await;
    assert_eq!(r.path, "/hook");
    assert_eq!(r.header("content-type"), "application/json");
    assert!(verify(SECRET, &r), "the signature verifies with the user's secret");
    assert!(!verify("whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==", &r), "and not with another");
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert!((jiff::Timestamp::now().as_second() - ts).abs() < 60);
    let body = r.json();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["data", "event_type", "timestamp", "user_id"]);
    assert_eq!(body["event_type"], "build.failed");
    assert_eq!(body["user_id"], "alice");
    assert_eq!(body["data"]["id"], id.as_str());
    assert_eq!(body["data"]["data"]["branch"], "main");
    let state = state_of(&d, &id, "webhook", "delivered").await;
    assert_eq!(state["attempts"], 1);
    d.stop().await;
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_three_attempts_with_growing_delays_and_one_id() {
    let mut rx = Receiver::start(vec![Reply::Status(500), Reply::Status(503)]).await;
    let d = daemon(Config::default()).await;
    put_settings(&d, "alice", webhook_prefs(&rx.url)).await;
    let id = notify(&d, event()).await;
    let (a, b, c) = (rx.next().await, rx.next().await, rx.next().await);
    let (first, second) = (b.at - a.at, c.at - b.at);
    assert!(first >= Duration::from_millis(300), "first retry after the base backoff: {first:?}");
    assert!(second >= Duration::from_millis(600), "second after twice that: {second:?}");
    assert!(second > first, "{first:?} then {second:?}");
    let ids = [a.header("webhook-id"), b.header("webhook-id"), c.header("webhook-id")];
    assert!(ids.iter().all(|i| *i == ids[0] && !i.is_empty()), "one delivery id across retries: {ids:?}");
    assert!(verify(SECRET, &c));
    let state = state_of(&d, &id, "webhook", "delivered").await;
    assert_eq!(state["attempts"], 3);
    rx.quiet(Duration::from_millis(800)).await;
    d.stop().await;
}

#[tokio::test]
async fn gone_is_final_and_retries_stop_at_max_attempts() {
    let mut rx = Receiver::start(vec![Reply::Status(410)]).await;
    let d = daemon(Config::default()).await;
    put_settings(&d, "alice", webhook_prefs(&rx.url)).await;
    let id = notify(&d, event()).await;
    rx.next().await;
    let state = state_of(&d, &id, "webhook", "dead").await;
    assert_eq!(state["attempts"], 1);
    assert_eq!(state["last_error"], "HTTP 410");
    rx.quiet(Duration::from_millis(800)).await;

    // Always 500: four attempts (the configured maximum), then dead.
    rx.script.lock().unwrap().extend(vec![Reply::Status(500); 10]);
    let id = notify(&d, json!({"type": "build.failed", "title": "again", "to": {"users": ["alice"]}})).await;
    for _ in 0..4 {
        rx.next().await;
    }
    let state = state_of(&d, &id, "webhook", "dead").await;
    assert_eq!(state["attempts"], 4);
    assert_eq!(state["last_error"], "HTTP 500");
    rx.quiet(Duration::from_millis(1500)).await;
    d.stop().await;
}

#[tokio::test]
async fn a_hanging_receiver_times_out_and_retry_after_is_honoured() {
    let mut rx = Receiver::start(vec![Reply::Hang, Reply::StatusWith(503, "retry-after", "2")]).await;
    let d = daemon(Config::default()).await;
    put_settings(&d, "alice", webhook_prefs(&rx.url)).await;
    let id = notify(&d, event()).await;
    let hang = rx.next().await;
    let state = state_of(&d, &id, "webhook", "failed").await;
    assert_eq!(state["last_error"], "timed out");
    let busy = rx.next().await;
    assert!(busy.at - hang.at >= Duration::from_millis(700 + 300), "timeout, then the backoff");
    let ok = rx.next().await;
    assert!(ok.at - busy.at >= Duration::from_secs(2), "Retry-After: 2 waits 2 s: {:?}", ok.at - busy.at);
    assert!(ok.at - busy.at < Duration::from_secs(4));
    state_of(&d, &id, "webhook", "delivered").await;
    d.stop().await;
}

#[tokio::test]
async fn slack_gets_blocks_with_a_button_and_a_text_fallback() {
    let mut rx = Receiver::start(vec![]).await;
    let d = daemon(Config::default()).await;
    put_settings(
        &d,
        "alice",
        json!({"channels": {"slack": {"enabled": true, "url": format!("{}/services/T/B/X", rx.url)}}}),
    )
    .await;
    let id = notify(&d, event()).await;
    let r = rx.next().await;
    assert_eq!(r.path, "/services/T/B/X");
    let body = r.json();
    assert_eq!(body["text"], "Build failed on main: 3 tests failed");
    let blocks = body["blocks"].as_array().unwrap();
    let kinds: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["header", "section", "context", "actions"]);
    assert_eq!(blocks[0]["text"]["text"], "Build failed on main");
    assert_eq!(blocks[3]["elements"][0]["type"], "button");
    assert_eq!(blocks[3]["elements"][0]["url"], "https://ci.example/4711");
    state_of(&d, &id, "slack", "delivered").await;
    d.stop().await;
}

#[tokio::test]
async fn push_goes_to_expo_and_ntfy_and_an_unregistered_device_is_removed() {
    let tickets = json!({"data": [
        {"status": "ok", "id": "t1"},
        {"status": "error", "message": "not registered", "details": {"error": "DeviceNotRegistered"}}]});
    let mut rx = Receiver::start(vec![Reply::Json(tickets)]).await;
    let mut config = Config::default();
    config.push.expo_url = format!("{}/expo", rx.url);
    config.push.ntfy_url = format!("{}/ntfy", rx.url);
    let d = daemon(config).await;
    put_settings(&d, "alice", json!({"channels": {"push": {"enabled": true}}})).await;
    for (provider, token) in [
        ("expo", "ExponentPushToken[phone-1]"),
        ("expo", "ExponentPushToken[old-phone]"),
        ("ntfy", "alice-alerts"),
    ] {
        let r = d
            .http
            .post(d.url("/device-tokens"))
            .bearer_auth(d.token("alice"))
            .json(&json!({"provider": provider, "token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let id = notify(
        &d,
        json!({"type": "payment.failed", "title": "Card declined", "body": "Update it",
        "urgency": "urgent", "url": "https://pay.example/1", "to": {"users": ["alice"]}}),
    )
    .await;
    let expo = rx.next().await;
    assert_eq!(expo.path, "/expo/--/api/v2/push/send");
    let msgs = expo.json();
    let msgs = msgs.as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["to"], "ExponentPushToken[phone-1]");
    assert_eq!(msgs[0]["title"], "Card declined");
    assert_eq!(msgs[0]["body"], "Update it");
    assert_eq!(msgs[0]["priority"], "high");
    assert_eq!(msgs[0]["data"]["url"], "https://pay.example/1");
    let ntfy = rx.next().await;
    assert_eq!(ntfy.path, "/ntfy");
    let n = ntfy.json();
    assert_eq!(n["topic"], "alice-alerts");
    assert_eq!(n["title"], "Card declined");
    assert_eq!(n["message"], "Update it");
    assert_eq!(n["priority"], 5);
    assert_eq!(n["click"], "https://pay.example/1");
    state_of(&d, &id, "push", "delivered").await;
    // The rejected token is gone; the others stay.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, devices) = d.get("alice", "/device-tokens").await;
        let tokens: Vec<String> = devices["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["token"].as_str().unwrap().to_string())
            .collect();
        if !tokens.contains(&"ExponentPushToken[old-phone]".to_string()) {
            assert_eq!(tokens, ["ExponentPushToken[phone-1]", "alice-alerts"]);
            break;
        }
        assert!(Instant::now() < deadline, "the unregistered token is still there: {tokens:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.stop().await;
}

/// A minimal SMTP server on 127.0.0.1: accepts every message and hands over its DATA.
async fn smtp_sink() -> (u16, mpsc::UnboundedReceiver<(String, String)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut rcpt = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        rcpt = line[8..].trim().trim_matches(['<', '>']).to_string();
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        w.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        let _ = tx.send((rcpt.clone(), data));
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn email_reaches_a_real_smtp_sink_with_text_and_html() {
    let (port, mut mails) = smtp_sink().await;
    let mut config = Config::default();
    config.email.host = "127.0.0.1".into();
    config.email.port = Some(port);
    config.email.security = SmtpSecurity::None;
    config.email.from = "Campanile <bell@example.com>".into();
    let d = daemon(config).await;
    put_settings(&d, "alice", json!({"channels": {"email": {"enabled": true, "address": "alice@example.com", "frequency": "immediate"}}})).await;
    let id = notify(&d, event()).await;
    let (rcpt, data) = tokio::time::timeout(Duration::from_secs(15), mails.recv()).await.unwrap().unwrap();
    assert_eq!(rcpt, "alice@example.com");
    assert!(data.contains("Subject: Build failed on main"), "{data}");
    assert!(data.contains("From: Campanile <bell@example.com>"), "{data}");
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("Content-Type: text/plain"), "{data}");
    assert!(data.contains("Content-Type: text/html"), "{data}");
    assert!(data.contains("3 tests failed"), "{data}");
    assert!(data.contains("https://ci.example/4711"), "{data}");
    let state = state_of(&d, &id, "email", "delivered").await;
    assert_eq!(state["attempts"], 1);

    // A workflow with its own e-mail: subject and body from its templates.
    let r = d
        .http
        .post(d.url("/workflows/welcome-email/trigger"))
        .bearer_auth(d.token("svc"))
        .json(&json!({"to": {"subscriber": "alice"}, "payload": {"getting_started_url": "https://app.example/start"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, data) = tokio::time::timeout(Duration::from_secs(15), mails.recv()).await.unwrap().unwrap();
    assert!(data.contains("Subject: Welcome to Campanile, alice"), "{data}");
    assert!(data.contains("your account is ready"), "{data}");
    assert!(data.contains("Start here"), "{data}");
    d.stop().await;
}

#[tokio::test]
async fn a_workflow_trigger_renders_for_the_subscriber_and_reports_missing_variables() {
    let d = daemon(Config::default()).await;
    let r = d
        .http
        .post(d.url("/workflows/task-failed/trigger"))
        .bearer_auth(d.token("svc"))
        .json(&json!({"to": {"email": "alice@example.com"}, "id": "run-7",
                      "payload": {"task_name": "nightly", "task_url": "https://ci.example/7"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["workflow"], "task-failed");
    assert_eq!(body["missing"], json!(["failure_reason", "thread_id"]));
    let (_, list) = d.get("alice", "/notifications").await;
    let n = &list["items"][0];
    assert_eq!(n["title"], "Task failed: nightly");
    assert_eq!(n["type"], "task.failed");
    assert_eq!(n["urgency"], "high");
    assert_eq!(n["url"], "https://ci.example/7");
    assert_eq!(n["id"], body["notifications"][0]);

    // The same id again delivers nothing twice.
    let again = d
        .http
        .post(d.url("/workflows/task-failed/trigger"))
        .bearer_auth(d.token("svc"))
        .json(&json!({"to": {"email": "alice@example.com"}, "id": "run-7",
                      "payload": {"task_name": "nightly", "task_url": "https://ci.example/7"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["duplicate"], true);

    // Broadcast needs an admin; payload text may use subscriber variables.
    let payload =
        json!({"to": {"broadcast": true}, "payload": {"title": "Hello {{ first_name }}", "message": "New"}});
    let r = d
        .http
        .post(d.url("/workflows/promotional/trigger"))
        .bearer_auth(d.token("svc"))
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = d
        .http
        .post(d.url("/workflows/promotional/trigger"))
        .bearer_auth(d.token("root"))
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, bob) = d.get("bob", "/notifications").await;
    assert_eq!(bob["items"][0]["title"], "Hello bob");
    let r = d
        .http
        .post(d.url("/workflows/nope/trigger"))
        .bearer_auth(d.token("root"))
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = d
        .http
        .post(d.url("/workflows/promotional/trigger"))
        .bearer_auth(d.token("root"))
        .json(&json!({"to": {"subscriber": "alice", "topic": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    d.stop().await;
}

#[tokio::test]
async fn a_payload_cannot_make_the_daemon_build_huge_strings() {
    let d = daemon(Config::default()).await;
    let bomb = "{% set x = 'x' %}{% for i in range(34) %}{% set x = x ~ x %}{% endfor %}{{ x }}";
    // An admin's payload may name subscriber fields, nothing more: a 422 saying so.
    let r = d
        .http
        .post(d.url("/workflows/promotional/trigger"))
        .bearer_auth(d.token("root"))
        .json(&json!({"to": {"subscriber": "alice"}, "payload": {"title": bomb, "message": "m"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["field"], "payload", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("not allowed in payload strings"), "{e}");
    // A user's own payload is text: stored as written, never evaluated.
    let r = d
        .http
        .post(d.url("/workflows/promotional/trigger"))
        .bearer_auth(d.token("alice"))
        .json(&json!({"to": {"subscriber": "alice"}, "payload": {"title": bomb, "message": "m"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, list) = d.get("alice", "/notifications").await;
    assert_eq!(list["items"][0]["data"]["title"], bomb);
    d.stop().await;
}

#[tokio::test]
async fn a_provider_callback_updates_the_delivery_state() {
    let mut rx = Receiver::start(vec![]).await;
    let d = daemon(Config::default()).await;
    put_settings(&d, "alice", webhook_prefs(&rx.url)).await;
    let id = notify(&d, event()).await;
    let delivery = rx.next().await.header("webhook-id").to_string();
    state_of(&d, &id, "webhook", "delivered").await;
    let post = |who: &'static str, body: Value| {
        d.http.post(d.url("/webhooks/delivery-status")).bearer_auth(d.token(who)).json(&body).send()
    };
    let r = post("alice", json!({"delivery": delivery, "status": "failed"})).await.unwrap();
    assert_eq!(r.status(), 403, "a user token cannot report provider status");
    let r = post("svc", json!({"delivery": delivery, "status": "bounced"})).await.unwrap();
    assert_eq!(r.status(), 422);
    let r = post("svc", json!({"delivery": "01NOSUCHDELIVERY", "status": "failed"})).await.unwrap();
    assert_eq!(r.status(), 404);
    let r = post("svc", json!({"delivery": delivery, "status": "failed", "error": "mailbox full"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let state = state_of(&d, &id, "webhook", "dead").await;
    assert_eq!(state["last_error"], "mailbox full");
    d.stop().await;
}

#[tokio::test]
async fn a_dead_endpoint_does_not_hold_up_another_users_webhook() {
    let mut dead = Receiver::start(vec![Reply::Hang; 100]).await;
    let mut alive = Receiver::start(vec![]).await;
    let delivery = DeliveryConfig { breaker_failures: 2, breaker_cooldown_ms: 60_000, ..fast() };
    let config = Config { delivery, ..Config::default() };
    let d = support::start_with(config).await;
    put_settings(&d, "alice", webhook_prefs(&dead.url)).await;
    put_settings(&d, "bob", webhook_prefs(&alive.url)).await;
    for i in 0..20 {
        notify(&d, json!({"type": "build.failed", "title": format!("red {i}"), "to": {"users": ["alice"]}}))
            .await;
    }
    dead.next().await;
    let sent = Instant::now();
    let (status, _) =
        d.publish("svc", json!({"type": "build.passed", "title": "green", "to": {"users": ["bob"]}})).await;
    assert_eq!(status, 201);
    alive.next().await;
    assert!(sent.elapsed() < Duration::from_millis(500), "bob's webhook waited {:?}", sent.elapsed());
    // Two requests in flight to the dead one (its per-target limit), two timeouts open its
    // circuit, and the other 18 stay queued without being tried.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut seen = 1;
    while let Ok(r) = dead.rx.try_recv() {
        assert_eq!(r.path, "/");
        seen += 1;
    }
    assert!(seen <= 4, "the dead endpoint got {seen} requests");
    d.stop().await;
}

#[tokio::test]
async fn a_shared_dispatcher_can_refuse_private_webhook_targets() {
    let mut rx = Receiver::start(vec![]).await;
    let delivery = DeliveryConfig { allow_private_targets: false, ..fast() };
    let d = support::start_with(Config { delivery, ..Config::default() }).await;
    put_settings(&d, "alice", webhook_prefs(&format!("{}/hook", rx.url))).await;
    let id = notify(&d, event()).await;
    let state = state_of(&d, &id, "webhook", "dead").await;
    assert_eq!(state["attempts"], 1, "final at once: {state}");
    assert!(state["last_error"].as_str().unwrap().contains("private address"), "{state}");
    // A name that resolves into loopback is refused the same way.
    let port = rx.url.rsplit(':').next().unwrap().to_string();
    put_settings(&d, "alice", webhook_prefs(&format!("http://localhost:{port}/hook"))).await;
    let id = notify(&d, event()).await;
    let state = state_of(&d, &id, "webhook", "dead").await;
    assert!(state["last_error"].as_str().unwrap().contains("resolves only to private addresses"), "{state}");
    rx.quiet(Duration::from_millis(300)).await;
    d.stop().await;
}
