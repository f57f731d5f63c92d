//! A store that refuses to lie (hardening issue, findings 3, 4 and 11): a file that is not a
//! store is never silently re-created, a damaged store is refused at start with its path
//! and what is wrong, damage found while running turns `/healthz` to 503 and closes a
//! websocket with an error frame and 1011, and a full disk is a 503 that says so.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use campanile::config::Config;
use campanile::store::{SqliteStore, StorageFault, StoreError, Synchronous};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn campanile(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
    c.arg("--data")
        .arg(data)
        .env("NO_COLOR", "1")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CAMPANILE_SERVER");
    c
}

/// Runs the daemon until it says it is ready (`Ok(log so far)`) or exits (`Err(its log)`).
fn daemon_start(data: &Path, extra: &[&str]) -> Result<String, String> {
    let mut child = campanile(data)
        .args(["daemon", "--listen", "127.0.0.1:0", "--no-socket"])
        .args(extra)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut log = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("campanile daemon ready") {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(log);
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the daemon exited 0 without being ready:\n{log}");
    Err(log)
}

fn store_path(dir: &Path) -> PathBuf {
    support::paths(dir).store()
}

#[test]
fn an_empty_store_file_is_refused_not_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::File::create(&path).unwrap();
    let e = SqliteStore::open(&path, Synchronous::Normal).err().expect("an empty file is refused");
    assert!(matches!(e, StoreError::Storage(StorageFault::Damaged, _)), "{e:?}");
    assert!(e.to_string().contains("is empty") && e.to_string().contains(&path.display().to_string()), "{e}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "the file was written to");

    let log =
        daemon_start(&support::paths(dir.path()).data_dir, &[]).expect_err("the daemon refuses to start");
    assert!(log.contains("is empty") && log.contains("--new-store"), "{log}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "the daemon wrote to the file");

    // Asked explicitly, the daemon sets the file aside and begins a new store.
    let log = daemon_start(&support::paths(dir.path()).data_dir, &["--new-store"]).unwrap();
    assert!(log.contains("set aside"), "{log}");
    let aside: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".set-aside-"))
        .collect();
    assert_eq!(aside.len(), 1, "one file set aside");
    assert!(std::fs::metadata(&path).unwrap().len() > 0, "a new store was made");
    // A sound store is kept as it is, --new-store or not.
    let log = daemon_start(&support::paths(dir.path()).data_dir, &["--new-store"]).unwrap();
    assert!(!log.contains("set aside"), "{log}");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "notes I keep in the wrong place\n").unwrap();
    let e = SqliteStore::open(&path, Synchronous::Normal).err().expect("refused");
    assert!(e.to_string().contains("is not an SQLite database"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "notes I keep in the wrong place\n");
}

/// A store holding `n` of alice's notifications, written and closed by a real daemon.
async fn filled(n: usize) -> (tempfile::TempDir, PathBuf) {
    let d = support::start().await;
    let events: Vec<Value> = (0..n)
        .map(|i| json!({"type": "ci.build", "title": format!("build {i} {}", "x".repeat(200)), "to": {"users": ["alice"]}}))
        .collect();
    for chunk in events.chunks(100) {
        for e in chunk {
            assert_eq!(d.publish("svc", e.clone()).await.0, 201);
        }
    }
    let path = store_path(d.dir.path());
    let dir = d.stop_keeping_store().await;
    // The damage must land on the file the data is in: should the log still hold some of it,
    // a connection of our own (then the last) moves it into the file and removes it.
    if path.with_extension("db-wal").exists() {
        drop(SqliteStore::open(&path, Synchronous::Normal).unwrap());
    }
    assert!(!path.with_extension("db-wal").exists());
    (dir, path)
}

/// Overwrites pages in the middle of the file with garbage.
fn damage(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let at = (len / 2) / 4096 * 4096;
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&vec![0xA5; 4096 * 4]).unwrap();
    f.sync_all().unwrap();
}

#[tokio::test]
async fn a_damaged_store_is_refused_at_start_and_store_check_names_the_damage() {
    let (dir, path) = filled(1500).await;
    let data = support::paths(dir.path()).data_dir;
    damage(&path);
    let log = daemon_start(&data, &[]).expect_err("a damaged store is refused");
    assert!(log.contains("failed its check") && log.contains(&path.display().to_string()), "{log}");
    let out = campanile(&data).args(["store", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is damaged"), "{err}");

    // Truncated to half: refused as well.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(std::fs::metadata(&path).unwrap().len() / 2).unwrap();
    drop(f);
    let log = daemon_start(&data, &[]).expect_err("a truncated store is refused");
    assert!(log.contains("failed its check") || log.contains("damaged"), "{log}");
}

#[tokio::test]
async fn damage_found_while_running_turns_healthz_503_and_closes_the_websocket_with_1011() {
    let (dir, path) = filled(1500).await;
    damage(&path);
    // With the start-up check off, the damage is found by the first read that meets it.
    let mut config = Config::default();
    config.daemon.start_check_secs = 0;
    let d = support::start_in(dir, config).await;
    let (status, health) = get_healthz(&d).await;
    assert_eq!(status, 200, "{health}");

    let url = format!("ws://{}/api/v1/stream", d.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = json!({"type": "hello", "token": d.token("alice"), "last_seq": 0, "features": ["snapshot"]});
    ws.send(Message::Text(hello.to_string().into())).await.unwrap();
    let mut error = None;
    let mut close = None;
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match m {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "error" {
                    error = Some(v);
                }
            }
            Message::Close(c) => {
                close = c;
                break;
            }
            _ => {}
        }
    }
    let error = error.expect("an error frame before the close");
    assert_eq!(error["error"]["code"], "store_damaged", "{error}");
    assert_eq!(u16::from(close.expect("a close frame").code), 1011);

    let (status, health) = get_healthz(&d).await;
    assert_eq!(status, 503, "{health}");
    assert!(health["reason"].as_str().unwrap().contains("damaged"), "{health}");
    d.stop().await;
}

async fn get_healthz(d: &support::Daemon) -> (u16, Value) {
    let r = d.http.get(format!("http://{}/healthz", d.addr)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}
