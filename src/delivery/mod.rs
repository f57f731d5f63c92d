//! The outbox workers (DESIGN §5, §8): claim due deliveries, send each once through its
//! channel with a time limit, and record the result. Failures are retried with exponential
//! backoff and full jitter (`Retry-After` wins when the receiver sends one); a 4xx other
//! than 408/429 is final; after `max_attempts` the delivery is `dead`. Attempts in flight are
//! bounded per channel, and a per-target circuit breaker holds back the deliveries of an
//! endpoint that keeps failing, so one dead receiver does not slow the others.
//!
//! The worker sleeps until the next row is due or the writer commits something new: no
//! polling. A crash between claim and record leaves the claim, which the next start
//! releases: the delivery goes out again with the same id (at-least-once).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::channels::email::Email;
use crate::channels::push::Push;
use crate::channels::slack::Slack;
use crate::channels::webhook::Webhook;
use crate::channels::{Deliver, Failure, Report};
use crate::config::DeliveryConfig;
use crate::dispatch::Dispatch;
mod breaker;
pub mod desktop;

use crate::dispatch::commands::Command;
use crate::model::Channel;
use crate::store::{Attempt, AttemptStatus, DeliveryJob};
use breaker::Breakers;

/// Claimed per round; more wait for the next round.
const CLAIM_BATCH: u32 = 64;

/// How long a retry waits after the `attempt`-th attempt failed (1-based): up to
/// `base * 2^(attempt-1)`, capped at `max`; with jitter, a uniform random wait up to that.
pub fn backoff(cfg: &DeliveryConfig, attempt: u32) -> Duration {
    let exp = cfg.backoff_base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(40));
    let cap = exp.min(cfg.backoff_max_ms);
    let ms = if cfg.jitter { random_below(cap.saturating_add(1)) } else { cap };
    Duration::from_millis(ms)
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    if n == 0 { 0 } else { u64::from_le_bytes(b) % n }
}

/// What the worker makes of a report after `attempts` attempts (this one included).
pub fn resolve(
    cfg: &DeliveryConfig,
    outcome: &Result<(), Failure>,
    attempts: u32,
    now: Timestamp,
) -> AttemptStatus {
    match outcome {
        Ok(()) => AttemptStatus::Delivered,
        Err(Failure::Final { .. }) => AttemptStatus::Dead,
        Err(Failure::Retry { .. }) if attempts >= cfg.max_attempts => AttemptStatus::Dead,
        Err(Failure::Retry { after, .. }) => {
            // A receiver's Retry-After is honoured, between a second and a day.
            let wait = after.map_or_else(
                || backoff(cfg, attempts),
                |a| a.clamp(Duration::from_secs(1), Duration::from_secs(86_400)),
            );
            let wait = SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX);
            AttemptStatus::Failed { retry_at: now.saturating_add(wait).unwrap_or(now) }
        }
    }
}

struct Outbound {
    webhook: Webhook,
    slack: Slack,
    email: Email,
    push: Push,
}

impl Outbound {
    fn target(&self, job: &DeliveryJob) -> Result<String, String> {
        match job.channel {
            Channel::Webhook => self.webhook.target(job),
            Channel::Slack => self.slack.target(job),
            Channel::Email => self.email.target(job),
            Channel::Push => self.push.target(job),
            Channel::Desktop => Err("desktop popups are raised by the engine's desktop worker".into()),
        }
    }

    async fn deliver(&self, job: &DeliveryJob, now: Timestamp) -> Report {
        match job.channel {
            Channel::Webhook => self.webhook.deliver(job, now).await,
            Channel::Slack => self.slack.deliver(job, now).await,
            Channel::Email => self.email.deliver(job, now).await,
            Channel::Push => self.push.deliver(job, now).await,
            Channel::Desktop => {
                Report::new("desktop", Err(Failure::Final { error: "not an outbox channel".into() }))
            }
        }
    }
}

struct Worker {
    dispatch: Dispatch,
    cfg: DeliveryConfig,
    out: Outbound,
    breakers: Breakers,
    permits: HashMap<Channel, Arc<Semaphore>>,
    /// Per target: bounds what one slow receiver can hold of its channel's slots.
    targets: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Results on their way to the recorder, which writes them in batches.
    records: tokio::sync::mpsc::Sender<(String, Attempt)>,
    stop: CancellationToken,
}

/// A claimed delivery on its way: unless a result was recorded, dropping it (an early
/// return, a panic, an abort at shutdown) puts the row back, due now, so no claim outlives
/// the task that held it.
struct Claim {
    id: String,
    records: tokio::sync::mpsc::Sender<(String, Attempt)>,
    settled: bool,
}

impl Claim {
    fn settle(mut self, attempt: Attempt) {
        self.settled = true;
        // The worker claims only while the queue has room for every claim in flight, so it
        // is never full here; were it to be, the row stays claimed and goes out again at
        // the next start (at-least-once).
        if self.records.try_send((self.id.clone(), attempt)).is_err() {
            tracing::error!(delivery = %self.id, "the recorder has stopped; the attempt goes unrecorded");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.settled {
            let release = Attempt {
                status: AttemptStatus::Deferred { until: Timestamp::now() },
                error: None,
                target: String::new(),
                content_hash: None,
            };
            let _ = self.records.try_send((self.id.clone(), release));
        }
    }
}

impl Worker {
    /// Puts the claim back untried when its target's circuit is open; `None` if it did.
    fn unless_open(&self, claim: Claim, target: &Result<String, String>) -> Option<Claim> {
        let Ok(target) = target else { return Some(claim) };
        let Some(until) = self.breakers.open_until(target, Timestamp::now()) else { return Some(claim) };
        claim.settle(Attempt {
            status: AttemptStatus::Deferred { until },
            error: Some(format!("circuit open: {target} keeps failing; next try at {until}")),
            target: target.clone(),
            content_hash: None,
        });
        None
    }

    fn target_permits(&self, target: &str) -> Arc<Semaphore> {
        let mut t = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget idle targets now and then so the map does not grow without bound.
        if t.len() > 10_000 {
            t.retain(|_, s| s.available_permits() < self.cfg.per_target_concurrency);
        }
        Arc::clone(
            t.entry(target.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.cfg.per_target_concurrency))),
        )
    }
}

/// Runs the outbox workers until `stop`; attempts in flight get one timeout to finish.
pub async fn run(dispatch: Dispatch, stop: CancellationToken) {
    let config = dispatch.config().clone();
    let cfg = config.delivery.clone();
    let timeout = Duration::from_millis(cfg.timeout_ms);
    // User-configured URLs (webhook, Slack) may be kept out of private networks; the
    // operator's own endpoints (SMTP, push providers) are trusted.
    let allow = cfg.allow_private_targets;
    let user_http =
        crate::channels::Http { client: crate::channels::http_client(timeout, allow), allow_private: allow };
    let http = crate::channels::http_client(timeout, true);
    let email = Email::new(config.email.clone(), timeout, &crate::workflows::all(&config.workflows));
    let out = Outbound {
        webhook: Webhook { http: user_http.clone() },
        slack: Slack { http: user_http },
        email,
        push: Push { http, config: config.push.clone() },
    };
    let permits = Channel::ALL.iter().map(|c| (*c, Arc::new(Semaphore::new(cfg.concurrency)))).collect();
    let breakers = Breakers::new(cfg.breaker_failures, Duration::from_millis(cfg.breaker_cooldown_ms));
    // Claimed and not yet finished, at most: a backlog stays in the store, not in memory.
    let cap = cfg.concurrency.saturating_mul(64).max(256);
    // Room for the result of every claim that can be in flight, twice over.
    let (records, rx) = tokio::sync::mpsc::channel(2 * (cap + CLAIM_BATCH as usize));
    let recorder = tokio::spawn(recorder(dispatch.clone(), rx));
    let worker = Arc::new(Worker {
        dispatch: dispatch.clone(),
        cfg,
        out,
        breakers,
        permits,
        targets: Mutex::default(),
        records,
        stop: stop.clone(),
    });

    match dispatch.release_claims().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deliveries = n, "released deliveries a previous run had in flight"),
        Err(e) => tracing::error!(error = %e, "releasing old claims failed"),
    }
    let mut inflight = JoinSet::new();
    loop {
        while inflight.try_join_next().is_some() {}
        // A recorder that cannot keep up (the store busy, the disk full) holds claiming back:
        // results waiting to be written stay bounded.
        let room = worker.records.capacity() >= inflight.len() + CLAIM_BATCH as usize;
        if inflight.len() >= cap || !room {
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(_) = inflight.join_next() => {}
                // Nothing in flight: the recorder is what must drain.
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            continue;
        }
        let next = dispatch.next_delivery_due().await.ok().flatten();
        let now = Timestamp::now();
        match next {
            Some(t) if t <= now => {
                let claimed = dispatch.claim_deliveries(CLAIM_BATCH).await;
                match claimed {
                    Ok(jobs) => {
                        for job in jobs {
                            inflight.spawn(attempt(Arc::clone(&worker), job));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "claiming deliveries failed");
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        }
                    }
                }
                if stop.is_cancelled() {
                    break;
                }
                continue;
            }
            _ => {}
        }
        let wait = next
            .map_or(Duration::from_secs(60), |t| now.duration_until(t).unsigned_abs())
            .min(Duration::from_secs(60));
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
            _ = dispatch.outbox_changed() => {}
        }
    }
    // Let attempts in flight finish (each is bounded by the timeout); the rest are released
    // at the next start.
    let grace = timeout + Duration::from_secs(1);
    let _ = tokio::time::timeout(grace, async { while inflight.join_next().await.is_some() {} }).await;
    inflight.abort_all();
    while inflight.join_next().await.is_some() {}
    // The last sender goes with the worker: the recorder writes what is left and ends.
    drop(worker);
    let _ = recorder.await;
}

/// Writes attempt results as they come, as many as are waiting in one transaction: one
/// commit for a burst of deliveries instead of one each.
async fn recorder(dispatch: Dispatch, mut rx: tokio::sync::mpsc::Receiver<(String, Attempt)>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        // A failed write (the disk full, the store busy) is tried again: these results are
        // the only record that the deliveries happened.
        let batch = Arc::new(batch);
        for wait in [0u64, 100, 1_000, 5_000, 30_000, 60_000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let b = Arc::clone(&batch);
            match dispatch.record_attempts(b).await {
                Ok(()) => break,
                Err(crate::dispatch::DispatchError::Closed) => return,
                Err(e) => {
                    tracing::error!(error = %e, attempts = batch.len(), "recording delivery attempts failed")
                }
            }
        }
    }
}

async fn attempt(w: Arc<Worker>, job: DeliveryJob) {
    let claim = Claim { id: job.id.clone(), records: w.records.clone(), settled: false };
    let target = w.out.target(&job);
    // An open circuit defers without waiting for any slot (the target's may be held by
    // requests that hang); checked again once a slot is ours.
    let Some(claim) = w.unless_open(claim, &target) else { return };
    // The target's slot first, then the channel's: waiting for a slow target holds none of
    // the channel's slots.
    // A target that stays busy for a second (it hangs, or has a long queue) gets the row
    // back in the store for one timeout, so waiting rows do not fill the worker's
    // in-memory quota and starve other targets.
    let timeout = Duration::from_millis(w.cfg.timeout_ms);
    let busy_wait = timeout.min(Duration::from_secs(1));
    let _target_permit = match &target {
        Ok(t) => match tokio::time::timeout(busy_wait, w.target_permits(t).acquire_owned()).await {
            Ok(Ok(p)) => Some(p),
            Ok(Err(_)) => return,
            Err(_) => {
                let wait = SignedDuration::try_from(timeout).unwrap_or(SignedDuration::MAX);
                let until = Timestamp::now().saturating_add(wait).unwrap_or_else(|_| Timestamp::now());
                claim.settle(Attempt {
                    status: AttemptStatus::Deferred { until },
                    error: Some(format!("{t} is busy; next try at {until}")),
                    target: t.clone(),
                    content_hash: None,
                });
                return;
            }
        },
        Err(_) => None,
    };
    let Some(sem) = w.permits.get(&job.channel) else { return };
    let Ok(_permit) = Arc::clone(sem).acquire_owned().await else { return };
    // Shutting down: do not start a send that would be cut off (the claim goes back).
    if w.stop.is_cancelled() {
        return;
    }
    let Some(claim) = w.unless_open(claim, &target) else { return };
    let now = Timestamp::now();
    let report = w.out.deliver(&job, now).await;
    let done = Timestamp::now();
    w.breakers.record(&report.target, &report.outcome, done);
    let attempts = job.attempts.saturating_add(1);
    let status = resolve(&w.cfg, &report.outcome, attempts, done);
    let metrics = w.dispatch.metrics();
    let counter = match status {
        AttemptStatus::Delivered => &metrics.deliveries_delivered,
        AttemptStatus::Failed { .. } | AttemptStatus::Deferred { .. } => &metrics.deliveries_failed,
        AttemptStatus::Dead => &metrics.deliveries_dead,
    };
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Err(f) = &report.outcome {
        tracing::info!(delivery = %job.id, channel = %job.channel, attempt = attempts, error = f.error(), "delivery attempt failed");
    }
    let record = Attempt {
        status,
        error: report.outcome.as_ref().err().map(|f| f.error().to_string()),
        target: report.target.clone(),
        content_hash: report.content_hash.clone(),
    };
    claim.settle(record);
    for (provider, token) in report.remove_devices {
        let r = w.dispatch.execute(&job.user, Command::RemoveDevice { provider, token }).await;
        if let Err(e) = r {
            tracing::error!(error = %e, "removing a rejected push token failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(jitter: bool) -> DeliveryConfig {
        DeliveryConfig { jitter, ..DeliveryConfig::default() }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_below_it() {
        let c = cfg(false);
        let waits: Vec<u64> = (1..=8).map(|a| backoff(&c, a).as_secs()).collect();
        assert_eq!(waits, [15, 30, 60, 120, 240, 480, 600, 600]);
        // The default policy gives up after 8 attempts, about 26 minutes in.
        let total: u64 = waits[..7].iter().sum();
        assert_eq!(total, 1545);
        let j = cfg(true);
        for a in 1..=8 {
            for _ in 0..50 {
                assert!(backoff(&j, a) <= backoff(&c, a));
            }
        }
        // Jitter spreads the waits (not all equal across 50 draws).
        let draws: std::collections::BTreeSet<u128> = (0..50).map(|_| backoff(&j, 5).as_millis()).collect();
        assert!(draws.len() > 10);
    }

    #[test]
    fn resolve_follows_the_retry_rules() {
        let c = cfg(false);
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let retry = Err(Failure::Retry { error: "HTTP 500".into(), after: None });
        assert_eq!(resolve(&c, &Ok(()), 1, now), AttemptStatus::Delivered);
        assert_eq!(
            resolve(&c, &Err(Failure::Final { error: "HTTP 410".into() }), 1, now),
            AttemptStatus::Dead
        );
        assert_eq!(
            resolve(&c, &retry, 1, now),
            AttemptStatus::Failed { retry_at: "2026-01-01T00:00:15Z".parse().unwrap() }
        );
        assert_eq!(resolve(&c, &retry, 8, now), AttemptStatus::Dead);
        let after = Err(Failure::Retry { error: "HTTP 429".into(), after: Some(Duration::from_secs(90)) });
        assert_eq!(
            resolve(&c, &after, 1, now),
            AttemptStatus::Failed { retry_at: "2026-01-01T00:01:30Z".parse().unwrap() }
        );
    }
}
