//! The daemon's front door under abuse (hardening issue, finding 2): a peer that trickles its
//! headers, a keep-alive connection left idle and a body that never finishes are closed on
//! time, and a client over the connection cap gets a `503` at once, not a hang.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::time::{Duration, Instant};

use campanile::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn daemon() -> support::Daemon {
    let mut c = Config::default();
    c.daemon.max_connections = 4;
    c.daemon.header_timeout_secs = 1;
    c.daemon.body_timeout_secs = 1;
    support::start_with(c).await
}

/// Reads until the server closes the connection (or `limit` passes); what it sent.
async fn read_to_close(s: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read).await.ok()?;
    Some(String::from_utf8_lossy(&all).to_string())
}

/// Sends one request on `s` and reads its answer's head (and a short body).
async fn exchange(s: &mut TcpStream, request: &str) -> String {
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await.unwrap().unwrap();
    String::from_utf8_lossy(&buf[..n]).to_string()
}

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n";

#[tokio::test]
async fn a_peer_trickling_its_headers_is_closed_after_the_header_timeout() {
    let d = daemon().await;
    let mut s = TcpStream::connect(d.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let start = Instant::now();
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if s.write_all(b"x-slow: 1\r\n").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
    let answer =
        read_to_close(&mut s, Duration::from_secs(2)).await.expect("the server closes the connection");
    assert!(start.elapsed() < Duration::from_secs(4), "closed after {:?}", start.elapsed());
    assert!(!answer.contains("200 OK"), "{answer}");
    d.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let d = daemon().await;
    let mut s = TcpStream::connect(d.addr).await.unwrap();
    assert!(exchange(&mut s, HEALTHZ).await.starts_with("HTTP/1.1 200"));
    let start = Instant::now();
    read_to_close(&mut s, Duration::from_secs(4)).await.expect("an idle connection is closed");
    assert!(start.elapsed() >= Duration::from_millis(800), "closed too early: {:?}", start.elapsed());
    d.stop().await;
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_408() {
    let d = daemon().await;
    let mut s = TcpStream::connect(d.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"title\":",
        d.token("alice")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut s, Duration::from_secs(4)).await.expect("an answer, then close");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 1 s"), "{answer}");
    d.stop().await;
}

#[tokio::test]
async fn a_client_over_the_connection_cap_is_refused_at_once_and_served_when_a_slot_frees() {
    let d = daemon().await;
    // Each connection answers and stays open (keep-alive) until the cap is reached.
    let mut open = Vec::new();
    let refused = loop {
        assert!(open.len() <= 4, "the cap of 4 was not enforced");
        let mut s = TcpStream::connect(d.addr).await.unwrap();
        let start = Instant::now();
        let answer = exchange(&mut s, HEALTHZ).await;
        if answer.starts_with("HTTP/1.1 503") {
            assert!(start.elapsed() < Duration::from_millis(500), "refusal took {:?}", start.elapsed());
            break answer;
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        open.push(s);
    };
    assert!(refused.contains("retry-after: 1"), "{refused}");
    assert!(refused.contains("connection limit"), "{refused}");
    // A slot frees when a connection closes.
    drop(open.pop());
    let mut ok = false;
    for _ in 0..20 {
        let mut s = TcpStream::connect(d.addr).await.unwrap();
        if exchange(&mut s, HEALTHZ).await.starts_with("HTTP/1.1 200") {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "a freed slot serves a new connection");
    d.stop().await;
}
