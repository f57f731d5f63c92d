//! The clients through a real TLS-terminating reverse proxy: nginx on 127.0.0.1 in front of
//! the daemon, with a CA and a certificate for `localhost` made by the test (openssl CLI).
//! `campanile send --server https://…` and the TUI's websocket client (wss) go through it;
//! an untrusted or misnamed certificate is one line naming the host and the reason.
//! Skipped, with a message saying so, only where nginx or openssl is missing (`.ci/run`
//! installs nginx, so CI always runs it).

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use campanile::sync::client::{ClientEvent, Transport, spawn};
use campanile::sync::protocol::{ClientFrame, ServerFrame};
use campanile::tls::Tls;
use tokio::sync::mpsc;

fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn run(cmd: &mut Command) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, and a certificate it signs for `localhost` only.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Campanile test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

/// nginx in the foreground, stopped (by its pid) when dropped.
struct Nginx {
    child: Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn nginx(bin: &Path, dir: &Path, upstream: std::net::SocketAddr) -> Nginx {
    let port = free_port();
    let d = dir.display();
    let conf = format!(
        r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
            proxy_read_timeout 300s;
            proxy_buffering off;
        }}
    }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(bin)
        .args(["-e", "stderr", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut n = Nginx { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    // Waits for the condition (nginx listening), with a deadline.
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Ok(Some(status)) = n.child.try_wait() {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            panic!("nginx exited ({status}): {log}");
        }
        assert!(Instant::now() < deadline, "nginx did not listen on {port} within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    n
}

fn campanile(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).output().unwrap()
}

async fn next(rx: &mut mpsc::Receiver<ClientEvent>) -> ClientEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_the_stream_go_through_a_tls_proxy() {
    let (Some(nginx_bin), Some(_)) = (tool("nginx"), tool("openssl")) else {
        eprintln!(
            "SKIPPED send_and_the_stream_go_through_a_tls_proxy: nginx or openssl is not installed (apt-get install nginx-light openssl)"
        );
        return;
    };
    let d = support::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    certificates(dir);
    let proxy = nginx(&nginx_bin, dir, d.addr).await;
    let server = format!("https://localhost:{}", proxy.port);
    let ca = dir.join("ca.pem");
    let token = d.token("alice").to_string();

    // The TUI's websocket client, over wss through the proxy.
    let tls = Tls::new(Some(&ca)).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let transport = Transport::Tcp {
        authority: format!("localhost:{}", proxy.port),
        token: token.clone(),
        tls: Some(tls),
    };
    let client = spawn(transport, tx);
    assert_eq!(next(&mut rx).await, ClientEvent::Connected);
    assert!(client.send(ClientFrame::Hello {
        token: None,
        last_seq: 0,
        stream: None,
        client: None,
        features: vec![]
    }));
    loop {
        match next(&mut rx).await {
            ClientEvent::Frame(ServerFrame::Welcome { .. }) => break,
            ClientEvent::Disconnected { .. } => panic!("the wss connection dropped"),
            _ => {}
        }
    }

    // `send` with --ca-cert, and with SSL_CERT_FILE naming the CA instead.
    let o = campanile(
        dir,
        &[
            "--server",
            &server,
            "--token",
            &token,
            "--ca-cert",
            ca.to_str().unwrap(),
            "send",
            "--title",
            "through TLS",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert_eq!(id.len(), 26, "a notification id: {id}");
    let o = campanile(
        dir,
        &["--server", &server, "--token", &token, "send", "--title", "via SSL_CERT_FILE"],
        &[("SSL_CERT_FILE", &ca)],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Both arrive on the stream, as they were sent.
    let mut titles = Vec::new();
    while titles.len() < 2 {
        if let ClientEvent::Frame(ServerFrame::Change { kind, payload, .. }) = next(&mut rx).await
            && kind == "notification_created"
        {
            titles.push(payload["notification"]["title"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(titles, ["through TLS", "via SSL_CERT_FILE"]);
    // `list` reads the inbox through it too.
    let o = campanile(
        dir,
        &["--server", &server, "--token", &token, "--ca-cert", ca.to_str().unwrap(), "list"],
        &[],
    );
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("through TLS") && text.contains(&id), "{text}");

    // The load generator, publishing and subscribing through the proxy.
    let report = dir.join("bench.json");
    let o = campanile(
        dir,
        &[
            "--server",
            &server,
            "--token",
            d.token("svc"),
            "--ca-cert",
            ca.to_str().unwrap(),
            "bench",
            "--publishers",
            "1",
            "--subscribers",
            "1",
            "--seconds",
            "1",
            "--rate",
            "50",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(r["events_accepted"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["frames_missing"], 0, "{r}");

    // An untrusted CA: one line naming the host and the reason, exit 1, nothing sent.
    let o = campanile(dir, &["--server", &server, "--token", &token, "send", "--title", "never"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("localhost:{}", proxy.port)) && err.contains("does not trust"), "{err}");
    // A certificate for another name.
    let by_ip = format!("https://127.0.0.1:{}", proxy.port);
    let o = campanile(
        dir,
        &[
            "--server",
            &by_ip,
            "--token",
            &token,
            "--ca-cert",
            ca.to_str().unwrap(),
            "send",
            "--title",
            "never",
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not valid for the name `127.0.0.1`"), "{err}");
    let (_, body) = d.get("alice", "/notifications?q=never").await;
    assert_eq!(body["items"], serde_json::json!([]), "nothing was sent");
    drop(client);
    drop(proxy);
    d.stop().await;
}
