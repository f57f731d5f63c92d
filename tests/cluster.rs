//! Several dispatchers on one PostgreSQL database (issue 14, DESIGN §5a), as an operator runs
//! them: two real `campanile daemon` processes on a fresh database, clients and a webhook
//! receiver on 127.0.0.1. What one node accepts reaches the other's sessions in order; a
//! client resumes on either node with nothing lost or repeated; a viewer on one node
//! silences the pings of an event the other accepted; a node killed during ingest loses no
//! acknowledged event; deliveries go out once while both run and at least once when one
//! dies holding them; a scheduled row fires once. Runs when `CAMPANILE_TEST_POSTGRES`
//! names a server (`.ci/run` sets it).

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn campanile(dir: &Path, store: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
    c.arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--data")
        .arg(dir.join("data"))
        .args(["--store", store])
        .env("NO_COLOR", "1")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CAMPANILE_SERVER")
        .env_remove("CAMPANILE_STORE");
    c
}

/// A database with alice (user token) and a config whose deliveries are quick to retry.
struct Cluster {
    db: stores::FreshDatabase,
    dir: tempfile::TempDir,
    token: String,
}

impl Cluster {
    fn new() -> Option<Cluster> {
        let db = stores::FreshDatabase::create()?;
        campanile::channels::install_crypto();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[delivery]\nbackoff_base_ms = 300\nbackoff_max_ms = 1000\njitter = false\n\
             timeout_ms = 8000\nallow_private_targets = true\n",
        )
        .unwrap();
        let cluster = Cluster { db, dir, token: String::new() };
        cluster.cli(&["user", "add", "alice", "--email", "alice@example.com"]);
        cluster.cli(&["user", "add", "bob", "--email", "bob@example.com"]);
        let out = cluster.cli(&["token", "create", "--user", "alice", "--scope", "admin"]);
        let token = out.split_whitespace().find(|w| w.starts_with("cmp_")).unwrap().to_string();
        Some(Cluster { token, ..cluster })
    }

    fn url(&self) -> String {
        self.db.url.expose().to_string()
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = campanile(self.dir.path(), &self.url()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into()
    }

    fn node(&self) -> Node {
        let mut child = campanile(self.dir.path(), &self.url())
            .args(["daemon", "--listen", "127.0.0.1:0", "--no-socket"])
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        // Killed with the test if it fails before the node is set up.
        let mut guard = Killed(Some(child));
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else { panic!("the daemon ended:\n{}", seen.join("\n")) };
            if let Some(rest) = line.split("listen=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
            seen.push(line);
        };
        let child = guard.0.take().unwrap();
        let log = Arc::new(Mutex::new(seen));
        let keep = Arc::clone(&log);
        let drain = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep.lock().unwrap().push(line);
            }
        });
        Node { child, addr, log, drain: Some(drain), http: reqwest::Client::new(), token: self.token.clone() }
    }
}

/// A child process killed when dropped.
struct Killed(Option<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Node {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
    /// Reads the node's log until its stderr closes.
    drain: Option<std::thread::JoinHandle<()>>,
    http: reqwest::Client,
    token: String,
}

impl Node {
    async fn post(&self, event: Value) -> Result<Value, String> {
        let r = self
            .http
            .post(format!("http://{}/api/v1/events", self.addr))
            .bearer_auth(&self.token)
            .json(&event)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let body: Value = r.json().await.map_err(|e| e.to_string())?;
        if status == 201 { Ok(body) } else { Err(format!("{status}: {body}")) }
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("http://{}/api/v1{path}", self.addr))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn put(&self, path: &str, body: Value) {
        let r = self
            .http
            .put(format!("http://{}/api/v1{path}", self.addr))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.text().await.unwrap());
    }

    async fn health(&self) -> Value {
        self.http.get(format!("http://{}/healthz", self.addr)).send().await.unwrap().json().await.unwrap()
    }

    async fn ws(&self, last_seq: i64) -> Ws {
        let (stream, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/api/v1/stream", self.addr)).await.unwrap();
        let mut ws = Ws { stream };
        ws.send(json!({"type": "hello", "token": self.token, "last_seq": last_seq, "client": "test/0"}))
            .await;
        assert_eq!(ws.next().await["type"], "welcome");
        ws
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops with SIGTERM; the node's log.
    fn stop(mut self) -> String {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let status = self.child.wait().unwrap();
        if let Some(drain) = self.drain.take() {
            drain.join().unwrap();
        }
        let log = self.log.lock().unwrap().join("\n");
        assert!(status.success(), "the node stopped with {status}:\n{log}");
        assert!(!log.contains("panicked"), "{log}");
        log
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Ws {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Ws {
    async fn send(&mut self, v: Value) {
        self.stream.send(Message::text(v.to_string())).await.unwrap();
    }

    async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(15), self.stream.next())
                .await
                .expect("a frame within 15 s")
                .expect("the stream is open")
                .expect("a websocket frame");
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    /// The next `change` frames, `n` of them.
    async fn changes(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < n {
            let f = self.next().await;
            if f["type"] == "change" {
                out.push(f);
            }
        }
        out
    }

    /// Nothing but a pong comes back to a ping: nothing else was queued.
    async fn nothing_more(&mut self) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.send(json!({"type": "ping"})).await;
        let f = self.next().await;
        assert_eq!(f["type"], "pong", "nothing more was due, got {f}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    campanile::channels::install_crypto();
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn a_change_accepted_by_one_node_reaches_sessions_on_the_other_and_resumes_on_either() {
    let Some(cluster) = Cluster::new() else { return };
    let (a, b) = (cluster.node(), cluster.node());
    runtime().block_on(async {
        let (ha, hb) = (a.health().await, b.health().await);
        assert_eq!(ha["status"], "ok", "{ha}");
        assert!(ha["node"].is_string() && ha["node"] != hb["node"], "two nodes: {ha} {hb}");
        assert_eq!(ha["stream"], hb["stream"], "one stream: one store");

        // Accepted by A, seen live by a session on B, in order.
        let mut on_b = b.ws(0).await;
        for i in 1..=5 {
            a.post(json!({"type": "build.failed", "title": format!("a{i}")})).await.unwrap();
        }
        let got = on_b.changes(5).await;
        let seqs: Vec<i64> = got.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
        let titles: Vec<&str> = got.iter().map(|f| f["notification"]["title"].as_str().unwrap()).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(titles, ["a1", "a2", "a3", "a4", "a5"]);

        // Presence is shared: viewing a thread on B silences the ping for an event A accepts.
        on_b.send(json!({"type": "presence", "state": "active", "viewing": "repo#9"})).await;
        on_b.send(json!({"type": "ping"})).await;
        assert_eq!(on_b.next().await["type"], "pong");
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let urgent =
            json!({"type": "issue.commented", "title": "reply", "thread": "repo#9", "urgency": "urgent"});
        a.post(urgent).await.unwrap();
        let f = &on_b.changes(1).await[0];
        assert_eq!(f["seq"], 6);
        assert!(f["notification"]["read_at"].is_string(), "arrives read while viewed on the other node: {f}");
        assert_eq!(f["notification"]["plan"]["channels"]["desktop"]["reason"], "viewing", "{f}");

        // The session is cut; meanwhile both nodes accept; it resumes on A from its last seq.
        drop(on_b);
        for i in 1..=3 {
            a.post(json!({"type": "build.failed", "title": format!("b{i}")})).await.unwrap();
            b.post(json!({"type": "build.failed", "title": format!("c{i}")})).await.unwrap();
        }
        let mut on_a = a.ws(6).await;
        let got = on_a.changes(6).await;
        let seqs: Vec<i64> = got.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, [7, 8, 9, 10, 11, 12], "nothing lost, nothing repeated");
        on_a.nothing_more().await;
        // And it goes on live with what B accepts.
        b.post(json!({"type": "build.failed", "title": "d"})).await.unwrap();
        assert_eq!(on_a.changes(1).await[0]["seq"], 13);
        on_a.nothing_more().await;

        let metrics =
            a.http.get(format!("http://{}/metrics", a.addr)).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("campanile_cluster_nodes 2"), "{metrics}");
        assert!(metrics.contains("campanile_cluster_listener_up 1"), "{metrics}");
    });
    a.stop();
    b.stop();
    let out = cluster.cli(&["audit", "verify"]);
    assert!(out.contains("ok"), "{out}");
}

#[test]
fn two_nodes_writing_for_the_same_users_in_opposite_orders_never_fail_each_other() {
    let Some(cluster) = Cluster::new() else { return };
    let (a, b) = (cluster.node(), cluster.node());
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for (node, users) in [(&a, ["alice", "bob"]), (&b, ["bob", "alice"])] {
            for p in 0..4 {
                let (addr, token) = (node.addr.clone(), cluster.token.clone());
                tasks.push(tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    let mut refused = Vec::new();
                    for i in 0..25 {
                        let event = json!({"type": "build.failed", "title": format!("{p}-{i}"), "to": {"users": users}});
                        let r = http
                            .post(format!("http://{addr}/api/v1/events"))
                            .bearer_auth(&token)
                            .json(&event)
                            .send()
                            .await
                            .unwrap();
                        if r.status().as_u16() != 201 {
                            refused.push(format!("{}: {}", r.status(), r.text().await.unwrap()));
                        }
                    }
                    refused
                }));
            }
        }
        for t in tasks {
            let refused = t.await.unwrap();
            assert!(refused.is_empty(), "{refused:?}");
        }
        // Each user's log is whole: 200 changes, seq 1 to 200 with no gap.
        let mut ws = a.ws(0).await;
        let got = ws.changes(200).await;
        let seqs: Vec<i64> = got.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=200).collect::<Vec<i64>>());
        ws.nothing_more().await;
    });
    a.stop();
    b.stop();
    let out = cluster.cli(&["audit", "verify"]);
    assert!(out.contains("ok "), "{out}");
}

#[test]
fn a_node_killed_during_ingest_loses_no_acknowledged_event() {
    let Some(cluster) = Cluster::new() else { return };
    let (mut a, b) = (cluster.node(), cluster.node());
    let rt = runtime();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    rt.block_on(async {
        let a_addr = a.addr.clone();
        let mut publishers = Vec::new();
        for p in 0..4 {
            let (acked, token, addr) = (Arc::clone(&acked), cluster.token.clone(), a_addr.clone());
            publishers.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                for i in 0.. {
                    let title = format!("p{p}-{i}");
                    let r = http
                        .post(format!("http://{addr}/api/v1/events"))
                        .bearer_auth(&token)
                        .json(&json!({"type": "build.failed", "title": title}))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().as_u16() == 201 => acked.lock().unwrap().push(title),
                        _ => return,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        a.kill();
        for p in publishers {
            tokio::time::timeout(Duration::from_secs(15), p).await.expect("publishers notice").unwrap();
        }
    });
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "the node took events before it died: {}", acked.len());
    rt.block_on(async {
        let mut stored = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/notifications?limit=200&cursor={c}"),
                None => "/notifications?limit=200".to_string(),
            };
            let page = b.get(&path).await;
            for item in page["items"].as_array().unwrap() {
                stored.insert(item["title"].as_str().unwrap().to_string());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let lost: Vec<&String> = acked.iter().filter(|t| !stored.contains(*t)).collect();
        assert!(
            lost.is_empty(),
            "{} acknowledged events lost, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
        // The other node goes on taking events.
        b.post(json!({"type": "build.failed", "title": "after"})).await.unwrap();
    });
    b.stop();
}

/// A webhook receiver on 127.0.0.1: answers 200 and records each delivery id, or, while
/// told to hang, records the id as seen and never answers.
#[derive(Clone, Default)]
struct Receiver {
    hang: Arc<std::sync::atomic::AtomicBool>,
    delivered: Arc<Mutex<Vec<String>>>,
    hung: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
            let me = me.clone();
            async move {
                let id =
                    headers.get("webhook-id").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                if me.hang.load(std::sync::atomic::Ordering::Relaxed) {
                    me.hung.lock().unwrap().push(id.clone());
                    tokio::time::sleep(Duration::from_secs(3_600)).await;
                }
                me.delivered.lock().unwrap().push(id);
                axum::http::StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    async fn wait_for(&self, list: &Mutex<Vec<String>>, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while list.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} within {within:?}",
                list.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[test]
fn deliveries_go_out_once_from_two_nodes_and_again_when_one_dies_holding_them() {
    let Some(cluster) = Cluster::new() else { return };
    let (mut a, b) = (cluster.node(), cluster.node());
    runtime().block_on(async {
        let rx = Receiver::default();
        let url = rx.start().await;
        a.put(
            "/settings",
            json!({"channels": {"webhook": {"enabled": true, "url": url, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}}),
        )
        .await;
        // Both nodes accept, both nodes' workers race for the outbox.
        for i in 0..30 {
            let node = if i % 2 == 0 { &a } else { &b };
            node.post(json!({"type": "deploy.failed", "title": format!("w{i}"), "urgency": "high"})).await.unwrap();
        }
        rx.wait_for(&rx.delivered, 30, Duration::from_secs(20)).await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let delivered = rx.delivered.lock().unwrap().clone();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for id in &delivered {
            *count.entry(id).or_default() += 1;
        }
        let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "sent twice by two live nodes: {twice:?}");
        assert_eq!(count.len(), 30);

        // A takes deliveries and dies while they are in flight: after its registration
        // lapses, B sends them (the same delivery ids).
        rx.hang.store(true, std::sync::atomic::Ordering::Relaxed);
        for i in 0..5 {
            a.post(json!({"type": "deploy.failed", "title": format!("x{i}"), "urgency": "high"})).await.unwrap();
        }
        rx.wait_for(&rx.hung, 5, Duration::from_secs(10)).await;
        let in_flight: Vec<String> = rx.hung.lock().unwrap().clone();
        a.kill();
        rx.hang.store(false, std::sync::atomic::Ordering::Relaxed);
        rx.wait_for(&rx.delivered, 35, Duration::from_secs(40)).await;
        let delivered = rx.delivered.lock().unwrap().clone();
        for id in &in_flight {
            assert!(delivered.contains(id), "{id} was never delivered after its node died");
        }
    });
    let log = b.stop();
    assert!(log.contains("released the deliveries of a node that died"), "{log}");
}

#[test]
fn a_scheduled_wake_up_fires_once_with_two_nodes_racing_for_it() {
    let Some(cluster) = Cluster::new() else { return };
    let (a, b) = (cluster.node(), cluster.node());
    runtime().block_on(async {
        let mut on_b = b.ws(0).await;
        let mut on_a = a.ws(0).await;
        let posted = a.post(json!({"type": "build.failed", "title": "later"})).await.unwrap();
        let id = posted["notifications"][0].as_str().unwrap().to_string();
        assert_eq!(on_b.changes(1).await[0]["seq"], 1);
        assert_eq!(on_a.changes(1).await[0]["seq"], 1);
        let until = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
        on_a.send(
            json!({"type": "command", "req": "s", "op": "snooze", "ids": [id], "until": until.to_string()}),
        )
        .await;
        // The snooze, then its wake-up: one change each, whichever node ran it.
        let got = on_b.changes(2).await;
        assert_eq!(got[0]["seq"], 2);
        assert!(got[0]["notification"]["snoozed_until"].is_string(), "{}", got[0]);
        assert_eq!(got[1]["seq"], 3);
        assert!(got[1]["notification"]["snoozed_until"].is_null(), "woken: {}", got[1]);
        tokio::time::sleep(Duration::from_secs(2)).await;
        on_b.nothing_more().await;
    });
    a.stop();
    b.stop();
}

fn nginx_bin() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

/// README's nginx file for two nodes, pointed at these nodes and a free port, with the
/// paths a process of our own needs.
fn readme_nginx(dir: &Path, a: &str, b: &str, port: u16) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("<!-- cluster-nginx")
        .nth(1)
        .and_then(|rest| rest.split("```nginx\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("README has the nginx file of Running several dispatchers");
    assert!(
        block.contains("127.0.0.1:7801")
            && block.contains("127.0.0.1:7802")
            && block.contains("listen 8080;")
    );
    let d = dir.display();
    let conf = block
        .replace("127.0.0.1:7801", a)
        .replace("127.0.0.1:7802", b)
        .replace("listen 8080;", &format!("listen 127.0.0.1:{port};"))
        .replace(
            "http {",
            &format!(
                "http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    \
                 fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;"
            ),
        );
    format!("daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n{conf}")
}

#[test]
fn the_readme_load_balancer_serves_two_nodes_and_survives_one_dying() {
    let Some(cluster) = Cluster::new() else { return };
    let Some(nginx) = nginx_bin() else {
        eprintln!(
            "SKIPPED the_readme_load_balancer_serves_two_nodes: nginx is not installed (apt-get install nginx-light)"
        );
        return;
    };
    let (mut a, b) = (cluster.node(), cluster.node());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nginx.conf"), readme_nginx(dir.path(), &a.addr, &b.addr, port)).unwrap();
    let child = Command::new(nginx)
        .args(["-e", "stderr", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _nginx = Killed(Some(child));
    // The balancer as a node: the same client code, another address.
    let front = Node {
        child: Command::new("true").spawn().unwrap(),
        addr: format!("127.0.0.1:{port}"),
        log: Arc::default(),
        drain: None,
        http: reqwest::Client::new(),
        token: cluster.token.clone(),
    };
    runtime().block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "nginx did not listen: {log}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Requests take turns between the nodes; the stream goes through the balancer.
        let mut nodes = std::collections::HashSet::new();
        for _ in 0..4 {
            nodes.insert(front.health().await["node"].as_str().unwrap().to_string());
        }
        assert_eq!(nodes.len(), 2, "both nodes answer behind the balancer: {nodes:?}");
        let mut ws = front.ws(0).await;
        for i in 1..=4 {
            front.post(json!({"type": "build.failed", "title": format!("n{i}")})).await.unwrap();
        }
        let seqs: Vec<i64> = ws.changes(4).await.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);

        // A node dies: the balancer sends everything to the other; the client resumes.
        a.kill();
        drop(ws);
        for i in 5..=8 {
            front.post(json!({"type": "build.failed", "title": format!("n{i}")})).await.unwrap();
        }
        let mut ws = front.ws(4).await;
        let seqs: Vec<i64> = ws.changes(4).await.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, [5, 6, 7, 8], "resumed through the balancer with nothing lost or repeated");
        ws.nothing_more().await;
    });
    drop(front);
    b.stop();
}

#[test]
fn a_refused_event_in_a_batch_does_not_silence_the_announcement_of_the_others() {
    let Some(db) = stores::FreshDatabase::create() else { return };
    let location = campanile::store::Location::Postgres(db.url.clone());
    let mut store = location.open(campanile::store::Synchronous::Normal).unwrap();
    let now = jiff::Timestamp::now();
    for user in ["alice", "bob"] {
        store.upsert_user(user, None, now).unwrap();
    }
    store.join_node("n1");
    let mut other = campanile::store::Listener::new(&db.url, "n2");
    let first = other.wait(Duration::from_millis(10)).unwrap();
    assert!(
        first.contains(&campanile::store::Wakeup::Everyone),
        "a new listener re-checks everyone: {first:?}"
    );
    let sub = |json: &str| campanile::store::Submission {
        producer: "ci".into(),
        idempotency_key: None,
        default_user: Some("alice".into()),
        event: campanile::model::Event::from_json(json).unwrap(),
    };
    let subs = vec![
        sub(r#"{"type":"a.one","title":"one"}"#),
        sub(r#"{"type":"a.two","title":"two","to":{"users":["nobody"]}}"#),
        sub(r#"{"type":"a.three","title":"three","to":{"users":["bob"]}}"#),
    ];
    let (policy, defaults) = (campanile::engine::Policy::default(), campanile::prefs::Preferences::default());
    let ctx = campanile::store::AcceptContext {
        policy: &policy,
        defaults: &defaults,
        presence: &|_| campanile::engine::Presence::default(),
        now,
    };
    let results = store.accept_batch(&subs, &ctx).unwrap();
    assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok());
    let mut heard = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(heard.contains(&"alice".to_string()) && heard.contains(&"bob".to_string())) {
        assert!(Instant::now() < deadline, "announced only {heard:?}");
        for w in other.wait(Duration::from_millis(100)).unwrap() {
            if let campanile::store::Wakeup::Users(users) = w {
                heard.extend(users);
            }
        }
    }
    // The node's own announcements are not for itself.
    let mut own = campanile::store::Listener::new(&db.url, "n1");
    own.wait(Duration::from_millis(10)).unwrap();
    store.accept_batch(&subs[..1], &ctx).unwrap();
    assert!(
        !own.wait(Duration::from_millis(300))
            .unwrap()
            .iter()
            .any(|w| matches!(w, campanile::store::Wakeup::Users(_)))
    );
    assert_eq!(store.last_seq("alice").unwrap(), 2, "the counter moved for the event before the refused one");
}
