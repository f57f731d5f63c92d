//! The real binary on a PostgreSQL store (issue 14), when `CAMPANILE_TEST_POSTGRES` names a
//! server: operator commands and `campanile daemon` find the store through `--store`, the
//! daemon accepts, replays and lists events from it, says which node it is, and SIGTERM
//! stops it cleanly (several nodes on one database: tests/cluster.rs) (its connections are closed off the async threads, where the driver cannot
//! block). A store dropped on an async thread is covered in-process as well.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use campanile::store::Synchronous;
use serde_json::json;

fn campanile(data: &Path, store: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
    c.args(["--config", "/dev/null", "--data"])
        .arg(data)
        .args(["--store", store])
        .env("NO_COLOR", "1")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CAMPANILE_SERVER")
        .env_remove("CAMPANILE_STORE");
    c
}

fn run(mut c: Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Publishes, replays, conflicts and lists through the daemon at `addr`.
async fn publish_and_list(addr: &str, token: &str) {
    campanile::channels::install_crypto();
    let http = reqwest::Client::new();
    let event =
        json!({"id": "k1", "type": "build.failed", "title": "on postgres", "to": {"users": ["alice"]}});
    let post = |body: serde_json::Value| {
        http.post(format!("http://{addr}/api/v1/events")).bearer_auth(token).json(&body).send()
    };
    let first = post(event.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let again = post(event.clone()).await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(again.json::<serde_json::Value>().await.unwrap()["notifications"], first["notifications"]);
    let other = post(json!({"id": "k1", "type": "build.failed", "title": "changed"})).await.unwrap();
    assert_eq!(other.status().as_u16(), 409);
    let list: serde_json::Value = http
        .get(format!("http://{addr}/api/v1/notifications"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["title"], "on postgres");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[test]
fn a_daemon_serves_from_postgresql_alone_and_stops_cleanly() {
    let Some(db) = stores::FreshDatabase::create() else { return };
    let url = db.url.expose().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run({
        let mut c = campanile(dir.path(), &url);
        c.args(["user", "add", "alice", "--email", "alice@example.com"]);
        c
    });
    assert!(ok, "{err}");
    let (ok, out, err) = run({
        let mut c = campanile(dir.path(), &url);
        c.args(["token", "create", "--user", "alice", "--scope", "admin"]);
        c
    });
    assert!(ok, "{err}");
    let token = out.split_whitespace().find(|w| w.starts_with("cmp_")).unwrap().to_string();

    let mut daemon = campanile(dir.path(), &url)
        .args(["daemon", "--listen", "127.0.0.1:0", "--no-socket"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(daemon.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the daemon logs its address").unwrap();
        if let Some(rest) = line.split("listen=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&log);
    let drain = std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            keep.lock().unwrap().push(line);
        }
    });

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(publish_and_list(&addr, &token));
    drop(runtime);

    rustix::process::kill_process(
        rustix::process::Pid::from_raw(daemon.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = daemon.wait().unwrap();
    drain.join().unwrap();
    let log = log.lock().unwrap().join("\n");
    assert!(status.success(), "the daemon stopped with {status}:\n{log}");
    assert!(!log.contains("panicked"), "{log}");

    let (ok, out, err) = run({
        let mut c = campanile(dir.path(), &url);
        c.args(["audit", "verify"]);
        c
    });
    assert!(ok && out.contains("ok 3 records"), "{out}{err}");
}

#[test]
fn a_store_can_be_dropped_on_a_thread_that_drives_async_tasks() {
    stores::each_location(|location| {
        let store = location.open(Synchronous::Normal).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async move { drop(store) });
    });
}
