//! Smaller findings of issue 12 (finding 12), each on a real daemon: an answer given before
//! the body was read says `Connection: close`; a websocket frame over the limit is answered
//! with a 1009 close frame; `RUST_LOG=trace` does not put a token in the log; ntfy topics a
//! user may claim are restricted when the operator's ntfy token goes with every publish.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use campanile::config::Config;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{Daemon, Ws, start_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Reads one HTTP/1.1 answer (head and a `content-length` body); the head in lower case.
async fn read_answer(conn: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0, "the connection closed before an answer: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let len: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    (head, body)
}

fn event_request(d: &Daemon, body_len: usize) -> Vec<u8> {
    let body = json!({"type": "a.b", "title": "t", "body": "x".repeat(body_len)}).to_string();
    format!(
        "POST /api/v1/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         authorization: Bearer {}\r\ncontent-length: {}\r\n\r\n{body}",
        d.token("alice"),
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn an_answer_given_before_the_body_was_read_says_connection_close() {
    let mut config = Config::default();
    config.daemon.rate_limit.per_second = 1;
    config.daemon.rate_limit.burst = 1;
    let d = start_with(config).await;
    let mut conn = TcpStream::connect(d.addr).await.unwrap();
    // Read in full: the connection stays open for the next request.
    conn.write_all(&event_request(&d, 10)).await.unwrap();
    let (head, _) = read_answer(&mut conn).await;
    assert!(head.starts_with("http/1.1 201"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    // Refused by the rate limit before its 60 KB body is read: hyper closes the connection,
    // and the answer must say so.
    let big = event_request(&d, 60_000);
    let (mut rd, mut wr) = conn.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&big).await;
        wr
    });
    let mut buf = Vec::new();
    let head = loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), rd.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0, "closed without an answer");
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break String::from_utf8_lossy(&buf).to_lowercase();
        }
    };
    assert!(head.starts_with("http/1.1 429"), "{head}");
    assert!(head.contains("retry-after:"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    drop(writer.await);
    // 401 before a body is read: the same.
    let mut conn = TcpStream::connect(d.addr).await.unwrap();
    let body = "x".repeat(200_000);
    let req = format!("PUT /api/v1/settings HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n", body.len());
    conn.write_all(req.as_bytes()).await.unwrap();
    let (head, _) = read_answer(&mut conn).await;
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    d.stop().await;
}

#[tokio::test]
async fn a_frame_over_the_limit_is_closed_with_1009() {
    let mut config = Config::default();
    config.daemon.max_body_bytes = 4096;
    let d = start_with(config).await;
    // After hello.
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    ws.send(json!({"type": "ping", "pad": "x".repeat(10_000)})).await;
    let closed = ws.next().await;
    assert_eq!(closed["type"], "__close", "{closed}");
    let frame = closed["frame"].as_str().unwrap();
    assert!(frame.contains("Size") && frame.contains("larger than 4096 bytes"), "{frame}");
    // As the first frame.
    let (mut raw, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/stream", d.addr)).await.unwrap();
    raw.send(Message::text("y".repeat(10_000))).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), raw.next()).await.unwrap().unwrap().unwrap();
    let Message::Close(Some(c)) = msg else { panic!("expected a close frame, got {msg:?}") };
    assert_eq!(u16::from(c.code), 1009, "{c:?}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logging_shows_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let campanile = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
        c.arg("--data")
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .env("NO_COLOR", "1")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("CAMPANILE_SERVER");
        c
    };
    assert!(campanile().args(["user", "add", "alice"]).status().unwrap().success());
    let out = campanile().args(["token", "create", "--user", "alice"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("cmp_"), "{token}");

    let mut child = campanile()
        .args(["daemon", "--listen", "127.0.0.1:0", "--no-socket"])
        .env("RUST_LOG", "trace")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::clone(&log);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listen=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
            }
            lines.lock().unwrap().push(line);
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the daemon logs its address");

    campanile::channels::install_crypto();
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/notifications/unread_count"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream")).await.unwrap();
    let hello = json!({"type": "hello", "token": token, "last_seq": 0, "client": "test/0"});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    let welcome = loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(t) = m {
            break serde_json::from_str::<Value>(&t).unwrap();
        }
    };
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    ws.send(Message::text(json!({"type": "ping"}).to_string())).await.unwrap();
    ws.close(None).await.unwrap();
    // The hello was read (and logged, if it is) before the welcome was sent.
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();

    let log = log.lock().unwrap();
    assert!(log.iter().any(|l| l.contains("TRACE")), "RUST_LOG=trace took effect");
    let secret = &token["cmp_".len()..];
    let leaks: Vec<&String> = log.iter().filter(|l| l.contains(secret)).collect();
    assert!(
        leaks.is_empty(),
        "the token is in the log:\n{}",
        leaks.iter().map(|l| l.as_str()).collect::<Vec<_>>().join("\n")
    );
}

#[tokio::test]
async fn ntfy_topics_a_user_may_claim_are_restricted_under_the_operators_token() {
    async fn add(d: &Daemon, topic: &str) -> (u16, Value) {
        let r = d
            .http
            .post(d.url("/device-tokens"))
            .bearer_auth(d.token("alice"))
            .json(&json!({"provider": "ntfy", "token": topic}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
    // No operator token: any topic, as before.
    let d = start_with(Config::default()).await;
    assert_eq!(add(&d, "anything").await.0, 201);
    d.stop().await;

    // A token and no prefix: no topic can be claimed, and the answer says why.
    let mut config = Config::default();
    config.push.ntfy_token = "tk_operator".into();
    let d = start_with(config.clone()).await;
    let (status, body) = add(&d, "alerts-prod").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "token", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("push.ntfy_topic_prefix"), "{body}");
    d.stop().await;

    // A token and a per-user prefix: the user's own topics only.
    config.push.ntfy_topic_prefix = "cmp-{user}-".into();
    let d = start_with(config).await;
    assert_eq!(add(&d, "cmp-alice-phone").await.0, 201);
    for topic in ["cmp-bob-phone", "alerts-prod", "cmp-alice"] {
        let (status, body) = add(&d, topic).await;
        assert_eq!(status, 422, "{topic}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("`cmp-alice-`"), "{body}");
    }
    d.stop().await;
}
