//! Slow readers (many-users issue, item 3), through the real binary: websocket clients that
//! stop reading cost the daemon bounded memory whatever is published meanwhile, get every
//! change in order once they read again, and a client that never reads again is closed.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn campanile(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
    c.arg("--data")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .env("NO_COLOR", "1")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CAMPANILE_SERVER");
    c
}

fn token(dir: &Path, scope: &str) -> String {
    let out = campanile(dir).args(["token", "create", "--user", "alice", "--scope", scope]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

struct Daemon {
    child: Child,
    addr: String,
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A daemon with `config` over a store holding user alice; her user and publisher tokens.
fn start(dir: &Path, config: &str) -> (Daemon, String, String) {
    std::fs::write(dir.join("config.toml"), config).unwrap();
    assert!(campanile(dir).args(["user", "add", "alice"]).status().unwrap().success());
    let (user, publisher) = (token(dir, "user"), token(dir, "publisher"));
    let mut child = campanile(dir)
        .args(["daemon", "--listen", "127.0.0.1:0", "--no-socket"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the daemon logs its address").unwrap();
        if let Some(rest) = line.split("listen=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let (tx, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Daemon { child, addr, log }, user, publisher)
}

/// A `/proc/PID/status` figure in KiB: `VmRSS` now, `VmHWM` the most it ever was.
fn kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A connection of alice's that has had its welcome (and nothing else yet).
async fn connect(addr: &str, token: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream")).await.unwrap();
    let hello = json!({"type": "hello", "token": token, "last_seq": 0});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    loop {
        let Message::Text(t) = ws.next().await.unwrap().unwrap() else { continue };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["type"] == "welcome" {
            return ws;
        }
    }
}

/// Publishes `n` events of about 16 KB each, from four publishers at once.
async fn publish(addr: &str, publisher: &str, n: usize) {
    campanile::channels::install_crypto();
    let http = reqwest::Client::new();
    let body = "x".repeat(16 * 1024);
    let mut tasks = Vec::new();
    for p in 0..4 {
        let (http, url, publisher, body) =
            (http.clone(), format!("http://{addr}/api/v1/events"), publisher.to_string(), body.clone());
        tasks.push(tokio::spawn(async move {
            for i in (p..n).step_by(4) {
                let e = json!({"type": "load.tick", "title": format!("tick {i}"), "body": body});
                let r = http.post(&url).bearer_auth(&publisher).json(&e).send().await.unwrap();
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Reads changes until `count` have come, one every `pace` while `slow` holds and at full
/// speed after; asserts their seqs run 1, 2, 3 … without a gap or a repeat.
async fn read_all(ws: &mut Socket, count: i64, pace: Duration, slow: tokio::sync::watch::Receiver<bool>) {
    let mut last = 0;
    while last < count {
        if *slow.borrow() {
            tokio::time::sleep(pace).await;
        }
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next()).await;
        let Ok(Some(Ok(Message::Text(t)))) = msg else { panic!("the stream ended at seq {last}: {msg:?}") };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["type"] == "change" {
            assert_eq!(v["seq"], last + 1, "in order, nothing lost or repeated");
            last += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_readers_cost_bounded_memory_and_catch_up_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[daemon]\nstream_queue_bytes = 65536\nstream_stall_secs = 300\n";
    let (daemon, user, publisher) = start(dir.path(), config);
    const READERS: usize = 24;
    const EVENTS: usize = 3000;
    let (slow, slowly) = tokio::sync::watch::channel(true);
    let mut sockets = Vec::new();
    for _ in 0..READERS {
        sockets.push(connect(&daemon.addr, &user).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = kib(daemon.child.id(), "VmRSS:");
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            let slowly = slowly.clone();
            tokio::spawn(
                async move { read_all(&mut ws, EVENTS as i64, Duration::from_millis(5), slowly).await },
            )
        })
        .collect();
    // 48 MB for each reader, which takes a frame every 5 ms while it is published (far
    // slower than it comes), then reads at full speed to catch up.
    publish(&daemon.addr, &publisher, EVENTS).await;
    slow.send_replace(false);
    for r in readers {
        r.await.unwrap();
    }
    let peak_mib = kib(daemon.child.id(), "VmHWM:").saturating_sub(before) / 1024;
    // Unbounded, each session caught up in pages of a thousand 16 KB changes (about 370 MiB
    // more for 24); bounded, each holds its 64 KiB budget, a page of 16 and a frame or two.
    // The rest is page caches (the writer's may reach 64 MiB): about 110 MiB in all.
    assert!(peak_mib < 200, "the daemon grew by {peak_mib} MiB at its peak for {READERS} slow readers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_again_is_closed_and_the_log_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, user, publisher) = start(dir.path(), "[daemon]\nstream_stall_secs = 1\n");
    let mut ws = connect(&daemon.addr, &user).await;
    publish(&daemon.addr, &publisher, 1000).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let said = loop {
        match daemon.log.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains("the client stopped reading") => break line,
            _ => assert!(std::time::Instant::now() < deadline, "no log line about the stalled client"),
        }
    };
    assert!(said.contains("secs=1"), "{said}");
    // What was sent before the close is still there to read; then the stream ends.
    let mut changes = 0;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
        if matches!(&msg, Message::Text(t) if t.contains("\"type\":\"change\"")) {
            changes += 1;
        }
    }
    assert!(changes < 1000, "the session ended before it could send everything ({changes} changes)");
}
