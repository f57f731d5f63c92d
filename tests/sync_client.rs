//! The client actor against a real engine on its Unix socket: on every connection it sends
//! its owner's `hello` (the owner keeps the resume cursor), follows the stream, survives the
//! engine restarting (resuming where the owner says: nothing missed, nothing twice), sends
//! commands, and reconnects when asked.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::time::Duration;

use campanile::config::Config;
use campanile::local::{Serve, run};
use campanile::sync::client::{ClientEvent, Transport, spawn};
use campanile::sync::protocol::{ClientFrame, Op, ServerFrame};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Engine {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn engine(dir: &std::path::Path) -> Engine {
    let paths = support::paths(dir);
    let mut config = Config { user: Some("alice".into()), ..Config::default() };
    config.daemon.synchronous = campanile::store::Synchronous::Normal;
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let s = stop.clone();
    let task = tokio::spawn(async move {
        run(
            &paths,
            config,
            Serve { tcp: None, socket: true },
            move |_| {
                let _ = tx.send(());
            },
            async move { s.cancelled().await },
        )
        .await
        .unwrap();
    });
    rx.await.unwrap();
    Engine { stop, task }
}

impl Engine {
    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}

async fn next(rx: &mut mpsc::Receiver<ClientEvent>) -> ClientEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("open")
}

/// The owner's hello: the cursor is the owner's.
fn hello(last_seq: i64) -> ClientFrame {
    ClientFrame::Hello { token: None, last_seq, stream: None, client: None, features: Vec::new() }
}

async fn next_change(rx: &mut mpsc::Receiver<ClientEvent>) -> (i64, serde_json::Value) {
    loop {
        if let ClientEvent::Frame(ServerFrame::Change { seq, payload, .. }) = next(rx).await {
            return (seq, serde_json::Value::Object(payload));
        }
    }
}

fn send_local(dir: &std::path::Path, title: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
        .args(["--data", dir.join("data").to_str().unwrap(), "send", "--title", title])
        .env("XDG_RUNTIME_DIR", dir.join("xdg"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("CAMPANILE_CONFIG")
        .env_remove("CAMPANILE_SERVER")
        .env("USER", "alice")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_resumes_and_commands() {
    let dir = tempfile::tempdir().unwrap();
    let socket = support::paths(dir.path()).socket();
    let e = engine(dir.path()).await;
    let (tx, mut rx) = mpsc::channel(64);
    let client = spawn(Transport::Unix(socket.clone()), tx);
    assert_eq!(next(&mut rx).await, ClientEvent::Connected);
    // A command queued before the hello goes out after it.
    let early = ClientFrame::Command { req: "r0".into(), op: Op::MarkRead { ids: vec![] } };
    assert!(client.send(early));
    assert!(client.send(hello(0)));
    assert!(matches!(next(&mut rx).await, ClientEvent::Frame(ServerFrame::Welcome { .. })));
    // A fresh store greets its user first.
    let (seq, c) = next_change(&mut rx).await;
    assert_eq!((seq, c["notification"]["title"].as_str()), (1, Some("Welcome to Campanile")));

    // `send` finds the engine's socket through the runtime dir: point it there.
    std::fs::create_dir_all(dir.path().join("xdg")).unwrap();
    std::os::unix::fs::symlink(socket.parent().unwrap(), dir.path().join("xdg/campanile")).unwrap();
    send_local(dir.path(), "one");
    let (seq, c) = next_change(&mut rx).await;
    assert_eq!(seq, 2);
    assert_eq!(c["notification"]["title"], "one");
    let id = c["notification"]["id"].as_str().unwrap().to_string();

    // The engine goes away and comes back; what happened meanwhile arrives once.
    e.stop().await;
    assert!(matches!(next(&mut rx).await, ClientEvent::Disconnected { .. }));
    send_local(dir.path(), "two (while the engine was down)");
    let e = engine(dir.path()).await;
    loop {
        if next(&mut rx).await == ClientEvent::Connected {
            break;
        }
    }
    assert!(client.send(hello(2)));
    let (seq, c) = next_change(&mut rx).await;
    assert_eq!(seq, 3, "resumed after seq 2, nothing repeated");
    assert_eq!(c["notification"]["title"], "two (while the engine was down)");

    assert!(client.send(ClientFrame::Command { req: "r1".into(), op: Op::MarkRead { ids: vec![id] } }));
    let mut saw = (false, false);
    while saw != (true, true) {
        match next(&mut rx).await {
            ClientEvent::Frame(ServerFrame::Result { req, ok, .. }) => {
                assert_eq!((req.as_str(), ok), ("r1", true));
                saw.0 = true;
            }
            ClientEvent::Frame(ServerFrame::Change { seq, kind, .. }) => {
                assert_eq!((seq, kind.as_str()), (4, "notification_updated"));
                saw.1 = true;
            }
            _ => {}
        }
    }

    // Asked to, it connects anew at once; a hello from before is not said twice.
    client.reconnect();
    loop {
        match next(&mut rx).await {
            ClientEvent::Connected => break,
            ClientEvent::Disconnected { .. } => panic!("a reconnect asked for is not a lost connection"),
            _ => {}
        }
    }
    assert!(client.send(hello(0)));
    assert!(client.send(hello(0)));
    assert!(client.send(ClientFrame::Ping));
    let mut titles = Vec::new();
    loop {
        match next(&mut rx).await {
            ClientEvent::Frame(ServerFrame::Change { payload, .. }) => {
                titles.push(payload["notification"]["title"].as_str().unwrap().to_string());
            }
            ClientEvent::Frame(ServerFrame::Pong) => break,
            ClientEvent::Frame(ServerFrame::Error { error }) => panic!("{error:?}"),
            _ => {}
        }
    }
    assert_eq!(titles.len(), 4, "everything again from seq 0: {titles:?}");
    e.stop().await;
}
