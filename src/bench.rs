//! `campanile bench`: load against a temporary daemon (or `--server`). P publishers POST
//! events over kept-alive connections, S websocket subscribers follow the stream; reports
//! accepted events/s, end-to-end latency (POST sent → frame received) from an HdrHistogram,
//! errors, and, in the same run on the same server, the rate of a no-op `GET /healthz` as
//! the bound (DESIGN §10). Traffic goes to loopback unless `--server` says otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use crate::config::{Config, Paths};
use crate::local::{Serve, run as run_engine};
use crate::store::Scope;
use crate::store::{Store, Synchronous};

#[derive(Clone)]
pub struct Options {
    pub publishers: usize,
    pub subscribers: usize,
    pub duration: Duration,
    /// Total events per second across publishers; `None`: as fast as answers come.
    pub rate: Option<u64>,
    /// `host:port`, a publisher or admin token, and TLS for https; `None`: a temporary daemon.
    pub server: Option<(String, String, Option<crate::tls::Tls>)>,
    pub synchronous: Synchronous,
    /// Every event carries a thread of its own (so the engine looks for a series to
    /// collapse it into, and finds none).
    pub threads: bool,
    /// Items the bench user's inbox holds before the load starts (temporary daemon only).
    pub prefill: usize,
    /// Other nodes of the server's cluster (`host:port`): connections are spread over the
    /// server and these in turn.
    pub also: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    pub publishers: usize,
    pub subscribers: usize,
    pub duration_s: f64,
    pub synchronous: Synchronous,
    pub events_accepted: u64,
    pub events_per_s: f64,
    pub errors: u64,
    pub frames_received: u64,
    /// Frames a subscriber never got (accepted events × subscribers − received): must be 0.
    pub frames_missing: u64,
    pub frames_per_s: f64,
    pub latency_ms: Latency,
    pub healthz_per_s: f64,
    pub ingest_to_healthz: f64,
    /// With a prefilled inbox: "mark all read" on it and its undo, through the REST API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk: Option<BulkReport>,
}

/// A big inbox as a user meets it: connecting (hello → welcome; a fresh client's whole
/// snapshot), then one bulk action over the whole inbox and its undo (`R`, then `u`).
#[derive(Debug, Serialize)]
pub struct BulkReport {
    pub welcome_ms: f64,
    pub snapshot_ms: f64,
    pub snapshot_items: u64,
    pub items: u64,
    pub mark_read_ms: f64,
    pub unread_after: i64,
    pub undo_ms: f64,
    pub unread_after_undo: i64,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: &str, tls: Option<&crate::tls::Tls>) -> Result<Sender, String> {
    let stream = crate::tls::connect(addr, tls).await.map_err(|e| e.to_string())?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn call(s: &mut Sender, req: hyper::Request<Full<Bytes>>) -> Result<hyper::StatusCode, String> {
    s.ready().await.map_err(|e| e.to_string())?;
    let resp = s.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    resp.into_body().collect().await.map_err(|e| e.to_string())?;
    Ok(status)
}

/// Runs the benchmark and returns its report.
pub async fn run(opts: Options) -> Result<Report, String> {
    let temp = match &opts.server {
        Some(_) => None,
        None => Some(tempfile_dir()?),
    };
    let tls = opts.server.as_ref().and_then(|(_, _, tls)| tls.clone());
    let (addr, token, stop) = match (&opts.server, &temp) {
        (Some((addr, token, _)), _) => (addr.clone(), token.clone(), None),
        (None, Some(dir)) => {
            let (prefill, threads) = (opts.prefill, opts.threads);
            let (addr, token, stop, engine) =
                temporary_daemon(dir, opts.synchronous, move |store, now| fill(store, prefill, threads, now))
                    .await?;
            (addr, token, Some((stop, engine)))
        }
        (None, None) => return Err("no target".into()),
    };
    // Every node of the cluster, in turn: connection i goes to nodes[i % n].
    let nodes: Vec<String> = std::iter::once(addr.clone()).chain(opts.also.iter().cloned()).collect();
    let node = |i: usize| nodes[i % nodes.len()].clone();
    let epoch = Instant::now();
    let deadline = epoch + Duration::from_millis(500) + opts.duration;

    // Subscribers first, so every event has its audience. Each reads until it has seen every
    // accepted event (known once publishing ends) or a generous timeout.
    let frames = Arc::new(AtomicU64::new(0));
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let (publishing_ended, ended) = tokio::sync::watch::channel(());
    let mut subs = Vec::new();
    for i in 0..opts.subscribers {
        let addr = node(i + 1);
        let stream = crate::tls::connect(&addr, tls.as_ref()).await.map_err(|e| e.to_string())?;
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let (mut ws, _) = tokio_tungstenite::client_async(format!("{scheme}://{addr}/api/v1/stream"), stream)
            .await
            .map_err(|e| format!("websocket: {e}"))?;
        let hello = serde_json::json!({"type": "hello", "token": token, "last_seq": i64::MAX, "client": "campanile-bench"});
        ws.send(Message::text(hello.to_string())).await.map_err(|e| e.to_string())?;
        let (frames, expected, mut ended) = (Arc::clone(&frames), Arc::clone(&expected), ended.clone());
        subs.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
            let grace = deadline + Duration::from_secs(30);
            let mut seen = 0;
            while seen < expected.load(Ordering::Relaxed) {
                // Woken when publishing ends too: the last frame may have come before the
                // total was known.
                let next = tokio::select! {
                    next = tokio::time::timeout_at(grace.into(), ws.next()) => next,
                    changed = ended.changed() => match changed {
                        Ok(()) => continue,
                        Err(_) => break,
                    },
                };
                let Ok(Some(Ok(msg))) = next else { break };
                let Message::Text(t) = msg else { continue };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) else { continue };
                if let Some(sent) = v["notification"]["data"]["t"].as_u64() {
                    let now = epoch.elapsed().as_micros() as u64;
                    let _ = h.record(now.saturating_sub(sent).max(1));
                    frames.fetch_add(1, Ordering::Relaxed);
                    seen += 1;
                }
            }
            h
        }));
    }

    let accepted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let per_publisher = opts.rate.map(|r| Duration::from_secs_f64(opts.publishers as f64 / r.max(1) as f64));
    let started = Instant::now();
    let mut pubs = Vec::new();
    let threads = opts.threads;
    for i in 0..opts.publishers {
        let addr = node(i);
        let mut s = connect(&addr, tls.as_ref()).await?;
        let (accepted, errors, token, addr) =
            (Arc::clone(&accepted), Arc::clone(&errors), token.clone(), addr);
        pubs.push(tokio::spawn(async move {
            let mut tick = per_publisher.map(tokio::time::interval);
            while Instant::now() < deadline {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let t = epoch.elapsed().as_micros() as u64;
                let body = tick_event(t, threads).to_string();
                let req = hyper::Request::post("/api/v1/events")
                    .header("host", &addr)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body)))
                    .expect("request");
                match call(&mut s, req).await {
                    Ok(st) if st.is_success() => accepted.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for p in pubs {
        let _ = p.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    expected.store(accepted.load(Ordering::Relaxed), Ordering::Relaxed);
    publishing_ended.send_replace(());
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    for s in subs {
        if let Ok(h) = s.await {
            let _ = hist.add(h);
        }
    }

    // The bound: a no-op GET on the same server stack, same connections, same time.
    let healthz = Arc::new(AtomicU64::new(0));
    let bound_deadline = Instant::now() + opts.duration;
    let mut gets = Vec::new();
    for i in 0..opts.publishers {
        let addr = node(i);
        let mut s = connect(&addr, tls.as_ref()).await?;
        let (healthz, addr) = (Arc::clone(&healthz), addr);
        gets.push(tokio::spawn(async move {
            while Instant::now() < bound_deadline {
                let req = hyper::Request::get("/healthz")
                    .header("host", &addr)
                    .body(Full::new(Bytes::new()))
                    .expect("request");
                if matches!(call(&mut s, req).await, Ok(st) if st.is_success()) {
                    healthz.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for g in gets {
        let _ = g.await;
    }
    let healthz_per_s = healthz.load(Ordering::Relaxed) as f64 / opts.duration.as_secs_f64();
    let bulk = match opts.prefill {
        0 => None,
        _ => Some(bulk_read_and_undo(&addr, &token).await?),
    };
    if let Some((stop, engine)) = stop {
        stop.cancel();
        // Wait for it to stop, so its temporary store is removed before we exit.
        let _ = engine.await;
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let events = accepted.load(Ordering::Relaxed);
    let events_per_s = events as f64 / elapsed;
    let frames_received = frames.load(Ordering::Relaxed);
    Ok(Report {
        target: if opts.server.is_some() { nodes.join(" + ") } else { format!("temporary daemon on {addr}") },
        publishers: opts.publishers,
        subscribers: opts.subscribers,
        duration_s: elapsed,
        synchronous: opts.synchronous,
        events_accepted: events,
        events_per_s,
        errors: errors.load(Ordering::Relaxed),
        frames_received,
        frames_missing: (events * opts.subscribers as u64).saturating_sub(frames_received),
        frames_per_s: frames_received as f64 / elapsed,
        latency_ms: Latency { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), max: hist.max() as f64 / 1000.0 },
        healthz_per_s,
        ingest_to_healthz: if healthz_per_s > 0.0 { events_per_s / healthz_per_s } else { 0.0 },
        bulk,
    })
}

/// A fresh client's connection: the time from `hello` to `welcome`, to the snapshot's last
/// page, and how many items it carried.
async fn connect_fresh(addr: &str, token: &str) -> Result<(f64, f64, u64), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream"))
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    let hello =
        serde_json::json!({"type": "hello", "token": token, "last_seq": 0, "features": ["snapshot", "bulk"]});
    let started = Instant::now();
    ws.send(Message::text(hello.to_string())).await.map_err(|e| e.to_string())?;
    let (mut welcome_ms, mut items) = (0.0, 0);
    while let Some(msg) = ws.next().await {
        let Message::Text(t) = msg.map_err(|e| e.to_string())? else { continue };
        let v: serde_json::Value = serde_json::from_str(&t).map_err(|e| e.to_string())?;
        match v["type"].as_str() {
            Some("welcome") => welcome_ms = started.elapsed().as_secs_f64() * 1000.0,
            Some("snapshot") => {
                items += v["items"].as_array().map_or(0, Vec::len) as u64;
                if v["done"] == true {
                    return Ok((welcome_ms, started.elapsed().as_secs_f64() * 1000.0, items));
                }
            }
            _ => {}
        }
    }
    Err("the stream ended before the snapshot did".into())
}

/// Sends a JSON request and returns the status and the JSON answer.
async fn json_call(
    addr: &str,
    token: &str,
    method: hyper::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let mut s = connect(addr, None).await?;
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.map(|b| b.to_string()).unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    s.ready().await.map_err(|e| e.to_string())?;
    let resp = s.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if !status.is_success() {
        return Err(format!("{path}: {status}: {}", String::from_utf8_lossy(&bytes)));
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// Marks the bench user's whole inbox read in one bulk action, then undoes it: the time
/// each takes, and the unread count after each.
async fn bulk_read_and_undo(addr: &str, token: &str) -> Result<BulkReport, String> {
    let (welcome_ms, snapshot_ms, snapshot_items) = connect_fresh(addr, token).await?;
    let unread = |v: serde_json::Value| v["unread"].as_i64().unwrap_or(-1);
    let count = "/api/v1/notifications/unread_count";
    let started = Instant::now();
    let body = serde_json::json!({"action": "mark_read", "filter": {"view": "inbox"}});
    let done = json_call(addr, token, hyper::Method::POST, "/api/v1/notifications/bulk", Some(body)).await?;
    let mark_read_ms = started.elapsed().as_secs_f64() * 1000.0;
    let unread_after = unread(json_call(addr, token, hyper::Method::GET, count, None).await?);
    let id = done["bulk"].as_str().ok_or("the bulk action changed nothing")?;
    let started = Instant::now();
    let path = format!("/api/v1/notifications/bulk/{id}/undo");
    json_call(addr, token, hyper::Method::POST, &path, None).await?;
    let undo_ms = started.elapsed().as_secs_f64() * 1000.0;
    let unread_after_undo = unread(json_call(addr, token, hyper::Method::GET, count, None).await?);
    Ok(BulkReport {
        welcome_ms,
        snapshot_ms,
        snapshot_items,
        items: done["updated"].as_u64().unwrap_or(0),
        mark_read_ms,
        unread_after,
        undo_ms,
        unread_after_undo,
    })
}

/// One event of the load: `t` is when it was sent (µs since the bench began).
fn tick_event(t: u64, thread: bool) -> serde_json::Value {
    let mut e = serde_json::json!({"type": "bench.tick", "title": "tick", "data": {"t": t}});
    if thread {
        e["thread"] = serde_json::Value::String(format!("bench/{}", crate::store::new_id()));
    }
    e
}

/// Fills user `bench`'s inbox with `n` items, in transactions of a thousand, shaped like the
/// load (with a thread each when `threads`).
pub(crate) fn fill(
    store: &mut dyn Store,
    n: usize,
    threads: bool,
    now: jiff::Timestamp,
) -> Result<(), crate::store::StoreError> {
    if n == 0 {
        return Ok(());
    }
    store.upsert_user("bench", None, now)?;
    let config = Config::default();
    let policy = crate::dispatch::policy(&config);
    let away = |_: &str| crate::engine::Presence::default();
    let ctx =
        crate::store::AcceptContext { policy: &policy, defaults: &config.defaults, presence: &away, now };
    let mut done = 0;
    while done < n {
        let batch: Vec<crate::store::Submission> = (done..n.min(done + 1000))
            .map(|i| {
                let mut event = tick_event(i as u64, threads);
                event["body"] = serde_json::Value::String(format!("item {i} of the prefilled inbox"));
                crate::store::Submission {
                    producer: "bench".into(),
                    idempotency_key: None,
                    default_user: Some("bench".into()),
                    event: serde_json::from_value(event).expect("a valid event"),
                }
            })
            .collect();
        done += batch.len();
        for r in store.accept_batch(&batch, &ctx)? {
            r?;
        }
    }
    Ok(())
}

pub(crate) fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("campanile-bench-{}", crate::store::new_id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// A daemon on a free loopback port over a store in `dir`, with a publisher token for user
/// `bench` and whatever `setup` adds. Cancelling the token stops it; the handle ends once it
/// has stopped and `dir` is removed.
pub(crate) async fn temporary_daemon(
    dir: &std::path::Path,
    synchronous: Synchronous,
    setup: impl FnOnce(&mut dyn Store, jiff::Timestamp) -> Result<(), crate::store::StoreError>,
) -> Result<(String, String, tokio_util::sync::CancellationToken, tokio::task::JoinHandle<()>), String> {
    let paths = Paths {
        config_file: dir.join("config.toml"),
        data_dir: dir.to_path_buf(),
        runtime_dir: dir.join("run"),
        state_dir: dir.join("state"),
    };
    let token = {
        let mut store =
            crate::store::Location::Sqlite(paths.store()).open(synchronous).map_err(|e| e.to_string())?;
        let now = jiff::Timestamp::now();
        setup(store.as_mut(), now).map_err(|e| e.to_string())?;
        store.upsert_user("bench", None, now).map_err(|e| e.to_string())?;
        store.create_token("bench", Scope::Publisher, Some("bench"), now).map_err(|e| e.to_string())?
    };
    let mut config = Config::default();
    config.daemon.synchronous = synchronous;
    let stop = tokio_util::sync::CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let s = stop.clone();
    let dir = dir.to_path_buf();
    let engine = tokio::spawn(async move {
        let serve = Serve { tcp: "127.0.0.1:0".parse().ok(), socket: false };
        let r = run_engine(
            &paths,
            config,
            serve,
            move |a| {
                let _ = tx.send(a);
            },
            async move { s.cancelled().await },
        )
        .await;
        if let Err(e) = r {
            eprintln!("bench daemon: {e}");
        }
        let _ = std::fs::remove_dir_all(dir);
    });
    let addr = rx.await.map_err(|_| "the temporary daemon did not start".to_string())?.ok_or("no address")?;
    Ok((addr.to_string(), token, stop, engine))
}
