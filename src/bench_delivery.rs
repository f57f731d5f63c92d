//! `campanile bench --deliveries N`: delivery throughput of a temporary daemon to a webhook
//! receiver on 127.0.0.1 that answers 204 at once. N events are published to one user whose
//! only channel is that webhook; the clock runs from the first publish until the receiver has
//! had every delivery. With `--dead-endpoint`, a second user first gets as many events for a
//! webhook that accepts connections and never answers (a backlog stuck on a dead receiver),
//! then the healthy run is timed: the report shows what the dead endpoint costs the healthy
//! one, and how many requests it saw (bounded by the per-target limit and the breaker).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::model::prefs::Preferences;
use crate::store::Synchronous;

#[derive(Debug, Serialize)]
pub struct DeliveryReport {
    pub target: String,
    pub deliveries: u64,
    pub seconds: f64,
    pub deliveries_per_s: f64,
    /// Requests the healthy receiver got more than once (redeliveries).
    pub duplicates: u64,
    pub dead_endpoint: bool,
    /// Requests the dead endpoint received (it never answers).
    pub dead_endpoint_requests: u64,
}

/// A receiver on 127.0.0.1: counts requests and their delivery ids; answers 204, or never.
async fn receiver(hang: bool) -> Result<(String, Arc<AtomicU64>, Arc<AtomicU64>), String> {
    let count = Arc::new(AtomicU64::new(0));
    let dups = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(std::sync::Mutex::new(std::collections::HashSet::<String>::new()));
    let (c, d) = (Arc::clone(&count), Arc::clone(&dups));
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let (c, d, seen) = (Arc::clone(&c), Arc::clone(&d), Arc::clone(&seen));
        async move {
            let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            if !seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id) {
                d.fetch_add(1, Ordering::Relaxed);
            }
            c.fetch_add(1, Ordering::Relaxed);
            if hang {
                std::future::pending::<()>().await;
            }
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}/hook", listener.local_addr().map_err(|e| e.to_string())?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, count, dups))
}

fn webhook_only(url: &str) -> Result<Preferences, String> {
    Preferences::parse(&format!(
        "[channels.desktop]\nenabled = false\n[channels.email]\nenabled = false\n[channels.slack]\nenabled = false\n\
         [channels.push]\nenabled = false\n[channels.webhook]\nenabled = true\nurl = \"{url}\"\n\
         secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
    ))
    .map_err(|e| e.to_string())
}

pub async fn run(n: u64, dead: bool, synchronous: Synchronous) -> Result<DeliveryReport, String> {
    let (good_url, good, duplicates) = receiver(false).await?;
    let (dead_url, dead_count, _) = receiver(true).await?;
    let (good_prefs, dead_prefs) = (webhook_only(&good_url)?, webhook_only(&dead_url)?);
    let dir = crate::bench::tempfile_dir()?;
    let (addr, token, stop, engine) = crate::bench::temporary_daemon(&dir, synchronous, move |store, now| {
        for (user, prefs) in [("good", &good_prefs), ("dead", &dead_prefs)] {
            store.upsert_user(user, None, now)?;
            store.put_prefs(user, prefs, None, &Preferences::default(), now)?;
        }
        Ok(())
    })
    .await?;
    crate::channels::install_crypto();
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/events");

    if dead {
        // The dead endpoint's backlog first: its deliveries are all claimed and waiting
        // (or hanging) while the healthy ones are timed.
        publish(&http, &url, &token, "dead", n).await?;
    }
    let started = Instant::now();
    publish(&http, &url, &token, "good", n).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut late = None;
    while good.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline {
            late = Some(format!("only {} of {n} deliveries arrived in time", good.load(Ordering::Relaxed)));
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(e) = late {
        stop.cancel();
        let _ = engine.await;
        return Err(e);
    }
    let report = DeliveryReport {
        target: good_url,
        deliveries: n,
        seconds,
        deliveries_per_s: n as f64 / seconds,
        duplicates: duplicates.load(Ordering::Relaxed),
        dead_endpoint: dead,
        dead_endpoint_requests: dead_count.load(Ordering::Relaxed),
    };
    stop.cancel();
    let _ = engine.await;
    Ok(report)
}

/// Publishes `n` events to `user` over 8 connections.
async fn publish(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    user: &'static str,
    n: u64,
) -> Result<(), String> {
    let publishers = 8u64;
    let mut pubs = Vec::new();
    for p in 0..publishers {
        let (http, url, token) = (http.clone(), url.to_string(), token.to_string());
        pubs.push(tokio::spawn(async move {
            let mut i = p;
            while i < n {
                let body = serde_json::json!({"type": "bench.delivery", "title": format!("d{i}"), "to": {"users": [user]}});
                let r = http.post(&url).bearer_auth(&token).json(&body).send().await;
                if !r.is_ok_and(|r| r.status().is_success()) {
                    return Err(format!("publishing event {i} to {user} failed"));
                }
                i += publishers;
            }
            Ok(())
        }));
    }
    for p in pubs {
        p.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}
