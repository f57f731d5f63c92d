//! Crash safety through the real binary: publish continuously, SIGKILL the daemon, restart
//! it on the same store; every event that got a 2xx is there and the change log's seq is
//! contiguous. DESIGN §5's promise.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde_json::json;

fn campanile(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
    c.arg("--data")
        .arg(data)
        .env("NO_COLOR", "1")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CAMPANILE_SERVER");
    c
}

/// Starts the daemon on a free port and returns it with its address (read from its log).
fn start(data: &Path) -> (Child, String) {
    start_with(campanile(data))
}

fn start_with(mut cmd: Command) -> (Child, String) {
    let mut child = cmd
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
    // Keep draining the log so the daemon never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(campanile(&data).args(["user", "add", "alice"]).status().unwrap().success());
    let out = campanile(&data)
        .args(["token", "create", "--user", "alice", "--scope", "publisher"])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let (mut child, addr) = start(&data);
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    campanile::channels::install_crypto();
    let http = reqwest::Client::new();
    let mut publishers = Vec::new();
    for p in 0..4 {
        let (http, acked, token, url) =
            (http.clone(), acked.clone(), token.clone(), format!("http://{addr}/api/v1/events"));
        publishers.push(tokio::spawn(async move {
            for i in 0.. {
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"type": "crash.test", "title": format!("{p}-{i}")}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let body: serde_json::Value = r.json().await.unwrap();
                        acked.lock().unwrap().push(body["notifications"][0].as_str().unwrap().to_string());
                    }
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => return, // the daemon is gone
                }
            }
        }));
    }
    // Kill mid-stream once a good number of events were acknowledged.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while acked.lock().unwrap().len() < 400 {
        assert!(std::time::Instant::now() < deadline, "publishing too slow");
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for p in publishers {
        p.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let (mut child, addr) = start(&data);
    let mut stored = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("http://{addr}/api/v1/notifications?limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value =
            http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        for n in page["items"].as_array().unwrap() {
            stored.insert(n["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let missing: Vec<_> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(missing.is_empty(), "{} acknowledged events lost, e.g. {:?}", missing.len(), missing.first());

    // The change log replays 1..N without a gap, one change per stored notification.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream")).await.unwrap();
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"type": "hello", "token": token, "last_seq": 0}).to_string(),
    ))
    .await
    .unwrap();
    let welcome: serde_json::Value =
        serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    let last = welcome["seq"].as_i64().unwrap();
    assert_eq!(last as usize, stored.len());
    for expected in 1..=last {
        let f: serde_json::Value =
            serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
        assert_eq!(f["seq"], expected);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = campanile(&data).args(["audit", "verify"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// DESIGN §5: a crash between claiming a delivery and recording its result sends it again
/// after the restart, with the same delivery id (`webhook-id`), so the receiver can dedupe.
/// The audit trail verifies after failures, retries and the crash, and not after one byte
/// of one record is changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_killed_in_flight_goes_out_again_with_the_same_id() {
    use axum::http::HeaderMap;
    use tokio::sync::mpsc;

    // The receiver: 500 first, then it hangs (the daemon is killed meanwhile), then 200.
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let calls = Arc::new(Mutex::new(0u32));
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let (tx, calls) = (tx.clone(), Arc::clone(&calls));
        async move {
            let n = {
                let mut c = calls.lock().unwrap();
                *c += 1;
                *c
            };
            let _ = tx.send(headers["webhook-id"].to_str().unwrap().to_string());
            match n {
                1 => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                2 => {
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                    axum::http::StatusCode::OK
                }
                _ => axum::http::StatusCode::NO_CONTENT,
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[delivery]\nbackoff_base_ms = 200\njitter = false\ntimeout_ms = 30000\n")
        .unwrap();
    let cmd = |config: &Path| {
        let mut c = campanile(&data);
        c.arg("--config").arg(config);
        c
    };
    assert!(campanile(&data).args(["user", "add", "alice"]).status().unwrap().success());
    let out =
        campanile(&data).args(["token", "create", "--user", "alice", "--scope", "user"]).output().unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (mut child, addr) = start_with(cmd(&config));
    campanile::channels::install_crypto();
    let http = reqwest::Client::new();
    let prefs = json!({"channels": {"webhook": {"enabled": true, "url": hook,
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}});
    let r = http
        .put(format!("http://{addr}/api/v1/settings"))
        .bearer_auth(&token)
        .json(&prefs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("http://{addr}/api/v1/events"))
        .bearer_auth(&token)
        .json(&json!({"type": "build.failed", "title": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let first = wait(&mut rx).await; // 500
    let second = wait(&mut rx).await; // in flight when the daemon dies
    assert_eq!(first, second);
    child.kill().unwrap(); // SIGKILL between claim and result
    child.wait().unwrap();

    let (mut child, addr) = start_with(cmd(&config));
    let third = wait(&mut rx).await;
    assert_eq!(third, first, "the same delivery id after the restart");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page: serde_json::Value = http
            .get(format!("http://{addr}/api/v1/notifications"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let state = &page["items"][0]["deliveries"]["webhook"];
        if state["status"] == "delivered" {
            // The attempt the crash cut short was never recorded: two recorded attempts.
            assert_eq!(state["attempts"], 2, "{state}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not delivered after the restart: {state}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let out = campanile(&data).args(["audit", "verify"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db = rusqlite::Connection::open(data.join("campanile.db")).unwrap();
    let changed = db
        .execute(
            "UPDATE audit SET record = replace(record, '\"HTTP 500\"', '\"HTTP 501\"')
             WHERE record LIKE '%\"error\":\"HTTP 500\"%'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1, "one failed attempt is in the trail");
    drop(db);
    let out = campanile(&data).args(["audit", "verify"]).output().unwrap();
    assert!(!out.status.success(), "a changed byte breaks the chain");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("audit"), "{err}");
}

async fn wait(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
        .await
        .expect("a delivery within 20 s")
        .unwrap()
}
