//! A real daemon for tests: a temporary store, the dispatcher and the HTTP server on
//! 127.0.0.1 port 0, users and tokens made through the store, and a websocket client.

#![allow(dead_code, reason = "each test binary uses part of the harness")]

pub mod bus;
pub mod tmux;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use campanile::config::{Config, Paths};
use campanile::local::{Serve, run};
use campanile::store::Scope;
use campanile::store::prelude::*;
use campanile::store::{SqliteStore, Synchronous};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

pub struct Daemon {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    /// Token by name: alice and bob (user), svc (publisher), root (admin).
    pub tokens: HashMap<&'static str, String>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    pub http: reqwest::Client,
}

pub fn paths(dir: &std::path::Path) -> Paths {
    Paths {
        config_file: dir.join("config.toml"),
        data_dir: dir.join("data"),
        runtime_dir: dir.join("run"),
        state_dir: dir.join("state"),
    }
}

pub async fn start() -> Daemon {
    start_with(Config::default()).await
}

pub async fn start_with(config: Config) -> Daemon {
    start_in(tempfile::tempdir().unwrap(), config).await
}

/// A daemon on the store in `dir` (made if there is none).
pub async fn start_in(dir: tempfile::TempDir, mut config: Config) -> Daemon {
    config.daemon.synchronous = Synchronous::Normal;
    let paths = paths(dir.path());
    let mut tokens = HashMap::new();
    {
        let mut store = SqliteStore::open(&paths.store(), Synchronous::Normal).unwrap();
        let now = jiff::Timestamp::now();
        for (name, email, scope) in [
            ("alice", "alice@example.com", Scope::User),
            ("bob", "bob@example.com", Scope::User),
            ("svc", "svc@example.com", Scope::Publisher),
            ("root", "root@example.com", Scope::Admin),
        ] {
            store.upsert_user(name, Some(email), now).unwrap();
            tokens.insert(name, store.create_token(name, scope, None, now).unwrap());
        }
    }
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let s = stop.clone();
    let task = tokio::spawn(async move {
        let serve = Serve { tcp: Some("127.0.0.1:0".parse().unwrap()), socket: false };
        run(
            &paths,
            config,
            serve,
            move |addr| {
                let _ = tx.send(addr.unwrap());
            },
            async move { s.cancelled().await },
        )
        .await
        .unwrap();
    });
    let addr = rx.await.unwrap();
    campanile::channels::install_crypto();
    Daemon { addr, dir, tokens, stop, task, http: reqwest::Client::new() }
}

impl Daemon {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/api/v1{path}", self.addr)
    }

    pub fn token(&self, who: &str) -> &str {
        &self.tokens[who]
    }

    /// POST /events as `who`; returns (status, body).
    pub async fn publish(&self, who: &str, event: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url("/events"))
            .bearer_auth(self.token(who))
            .json(&event)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, who: &str, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).bearer_auth(self.token(who)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn stop(self) {
        self.stop_keeping_store().await;
    }

    /// Stops the daemon and hands back its directory (the store in it) instead of removing it.
    pub async fn stop_keeping_store(self) -> tempfile::TempDir {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("daemon stops in time")
            .unwrap();
        self.dir
    }
}

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// Connects and says hello; returns the client and the welcome frame.
    pub async fn connect(d: &Daemon, who: &str, last_seq: i64, stream: Option<&str>) -> (Ws, Value) {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/api/v1/stream", d.addr)).await.unwrap();
        let mut ws = Ws { stream: ws };
        let mut hello =
            json!({"type": "hello", "token": d.token(who), "last_seq": last_seq, "client": "test/0"});
        if let Some(s) = stream {
            hello["stream"] = json!(s);
        }
        ws.send(hello).await;
        let welcome = ws.next().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        (ws, welcome)
    }

    pub async fn send(&mut self, v: Value) {
        self.stream.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next JSON frame; fails the test after 10 s.
    pub async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("a frame within 10 s")
                .expect("the stream is open")
                .expect("a websocket frame");
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Close(c) => return json!({"type": "__close", "frame": format!("{c:?}")}),
                _ => continue,
            }
        }
    }

    /// The next frame of a type, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let f = self.next().await;
            if f["type"] == kind {
                return f;
            }
        }
    }
}
