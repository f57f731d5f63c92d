//! The dispatcher core (DESIGN §2): the one writer that owns the store's write connection,
//! a pool of readers, the change hub and the presence book. Handlers hold a cheap
//! [`Dispatch`] clone. Requests that arrive together share one transaction (group commit),
//! each is answered only after that commit, and changes fan out only after it too.

mod cluster;
pub mod commands;
mod hooks;
pub mod hub;
mod lock;
pub mod metrics;
pub mod presence;
pub mod queries;
mod scheduler;
mod writer;

use lock::{EngineGuard, engine_lock};
pub use lock::{engine_running, engine_running_at, lock_path};
pub use scheduler::scheduler;
use writer::{RunningGuard, note_fault, writer};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::engine::Policy;
use crate::model::prefs::Preferences;
use crate::store::prelude::*;
use crate::store::{Accepted, Change, Integrity, Location, StorageFault, StoreError, Submission};

pub use hub::Hub;
pub use metrics::Metrics;
pub use presence::PresenceBook;

/// Most jobs one transaction takes.
const BATCH: usize = 512;
/// Rows written (a change per recipient, or a job) after which the checkpointer moves the
/// WAL back once writes pause: a broadcast to thousands is thousands, so its pages go back
/// off the commit path of a later event (SQLite's own checkpoint, at 8,000 pages on the
/// writer's commit, took a broadcast's answer from 0.4 s to 1–3 s).
const CHECKPOINT_EVERY: usize = 2_000;
/// Jobs waiting for the writer before new requests wait (back-pressure, not unbounded memory).
const QUEUE: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the dispatcher is shutting down")]
    Closed,
}

type WriteFn = Box<dyn FnOnce(&mut dyn Store, Timestamp) -> Vec<Change> + Send>;

enum Job {
    Accept(Box<Submission>, oneshot::Sender<Result<Accepted, StoreError>>),
    Write(WriteFn),
}

struct Shared {
    jobs: mpsc::Sender<Job>,
    readers: Mutex<Vec<Box<dyn Store>>>,
    store: Location,
    config: Config,
    policy: Policy,
    hub: Hub,
    presence: PresenceBook,
    metrics: Metrics,
    stream: String,
    /// Woken after each batch: new schedule rows may be due sooner.
    scheduled: tokio::sync::Notify,
    outbox: tokio::sync::Notify,
    /// False once the writer thread has ended (it should only with the last handle).
    writer_running: Arc<AtomicBool>,
    /// Why the store's last write failed, until one succeeds.
    fault: Mutex<Option<String>>,
    /// Damage found in the store: it stays until the operator restores the store.
    damaged: std::sync::OnceLock<String>,
    /// Bumped whenever a token may have been revoked: sessions re-check theirs.
    tokens: tokio::sync::watch::Sender<u64>,
    /// On a node of a cluster: why its heartbeat last failed, until one succeeds.
    cluster_fault: Mutex<Option<String>>,
    /// Tokens used since their last record (see [`Dispatch::touch_token`]).
    touched: Arc<Touched>,
}

/// Tokens waiting to be recorded as used, and how many records were written.
#[derive(Default)]
struct Touched {
    waiting: Mutex<std::collections::HashSet<String>>,
    writes: std::sync::atomic::AtomicU64,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The pooled readers close before the queue does (and with it the writer), so the
        // writer's connection is the last: the last one moves the write-ahead log into the
        // file and removes it, and two closing at once each leave that to the other.
        self.readers.get_mut().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// A cheap handle to the dispatcher.
#[derive(Clone)]
pub struct Dispatch {
    shared: Arc<Shared>,
}

/// Joins the writer thread once every queued job is done.
pub struct WriterGuard {
    thread: std::thread::JoinHandle<()>,
    /// Held while this engine owns the store: one engine per SQLite store.
    _lock: EngineGuard,
    /// On a node of a cluster: its threads, stopped (and the node gone from the registry)
    /// after the writer.
    _cluster: Option<cluster::ClusterGuard>,
}

impl WriterGuard {
    /// Waits for the writer to finish: call after the last [`Dispatch`] clone is dropped.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

impl Dispatch {
    /// Opens the store and starts the writer thread.
    pub fn start(config: Config, store: Location) -> Result<(Dispatch, WriterGuard), StoreError> {
        let lock = engine_lock(&store)?;
        let location = store;
        let mut store = location.open(config.daemon.synchronous)?;
        store.become_writer();
        // On PostgreSQL this dispatcher is one node of any number (DESIGN §5a).
        let node = match &location {
            Location::Postgres(url) => {
                Some((crate::store::Node::register(url, Timestamp::now())?, url.clone()))
            }
            Location::Sqlite(_) => None,
        };
        if let Some((node, _)) = &node {
            store.join_node(node.id());
            tracing::info!(node = %node.id(), "joined the cluster on {location}");
        }
        let budget = std::time::Duration::from_secs(config.daemon.start_check_secs);
        if !budget.is_zero() {
            check_at_start(store.as_mut(), &location, budget)?;
        }
        let stream = store.stream().to_string();
        let (tx, rx) = mpsc::channel(QUEUE);
        let ttl = SignedDuration::from_secs(i64::from(config.engine.presence_ttl_seconds));
        let hub = Hub::new(usize::try_from(config.daemon.stream_queue_bytes).unwrap_or(usize::MAX));
        let (node_tx, node_rx) = std::sync::mpsc::channel();
        let presence = if node.is_some() {
            let tx = node_tx.clone();
            PresenceBook::shared(
                ttl,
                Box::new(move |op| {
                    let _ = tx.send(cluster::NodeMsg::Presence(op));
                }),
            )
        } else {
            PresenceBook::new(ttl)
        };
        let shared = Arc::new(Shared {
            jobs: tx,
            readers: Mutex::new(Vec::new()),
            store: location,
            policy: policy(&config),
            config,
            hub,
            presence,
            metrics: Metrics::default(),
            stream,
            scheduled: tokio::sync::Notify::new(),
            outbox: tokio::sync::Notify::new(),
            writer_running: Arc::new(AtomicBool::new(true)),
            fault: Mutex::new(None),
            damaged: std::sync::OnceLock::new(),
            tokens: tokio::sync::watch::Sender::new(0),
            cluster_fault: Mutex::new(None),
            touched: Arc::default(),
        });
        // The writer holds the shared parts weakly: the queue's sender lives in them, so
        // dropping every handle closes the queue and lets the writer finish.
        let weak = Arc::downgrade(&shared);
        let running = RunningGuard(Arc::clone(&shared.writer_running));
        let cluster = match node {
            Some((node, url)) => {
                let _ = shared.metrics.node.set(node.id().to_string());
                Some(cluster::start(node, url, Arc::downgrade(&shared), node_rx, node_tx)?)
            }
            None => None,
        };
        let (written, rows) = std::sync::mpsc::channel();
        let checkpoints = shared.store.open(shared.config.daemon.synchronous)?;
        let checkpointer = std::thread::Builder::new()
            .name("campanile-ckpt".into())
            .spawn(move || writer::checkpointer(checkpoints, rows))
            .map_err(|e| StoreError::Io(format!("cannot start the checkpointer: {e}")))?;
        let thread = std::thread::Builder::new()
            .name("campanile-writer".into())
            .spawn(move || {
                let _running = running;
                let mut store = store;
                writer(&mut store, rx, weak, written);
                // The checkpointer stops once the writer does; its connection must be gone
                // before the writer's closes, so that the writer's is the last: the last
                // connection moves the write-ahead log into the file and removes it (two
                // closing at once each leave it to the other).
                let _ = checkpointer.join();
                drop(store);
            })
            .map_err(|e| StoreError::Io(format!("cannot start the writer: {e}")))?;
        Ok((Dispatch { shared }, WriterGuard { thread, _lock: lock, _cluster: cluster }))
    }

    /// Whether the writer still takes work.
    pub fn writer_running(&self) -> bool {
        self.shared.writer_running.load(Ordering::Relaxed)
    }

    /// Whether the dispatcher can do its job: its writer runs and its last commit did not
    /// fail in the store. `Err` says what is wrong, for `/healthz`. Costs an atomic load and
    /// a lock: probes may call it as often as they like.
    pub fn health(&self) -> Result<(), String> {
        if !self.writer_running() {
            return Err("the store's writer has stopped; restart the dispatcher".into());
        }
        if let Some(damage) = self.shared.damaged.get() {
            return Err(damage.clone());
        }
        if let Some(fault) = self.shared.cluster_fault.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
        {
            return Err(fault.clone());
        }
        match self.shared.fault.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            Some(fault) => Err(fault.clone()),
            None => Ok(()),
        }
    }

    /// Changes whenever a token may have been revoked (here, or by another process).
    pub fn token_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.tokens.subscribe()
    }

    /// Tells sessions and caches that tokens changed.
    pub fn tokens_changed(&self) {
        self.shared.tokens.send_modify(|g| *g += 1);
    }

    /// The current generation of [`Dispatch::token_changes`].
    pub fn token_generation(&self) -> u64 {
        *self.shared.tokens.borrow()
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn stream(&self) -> &str {
        &self.shared.stream
    }

    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    pub fn presence(&self) -> &PresenceBook {
        &self.shared.presence
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Idle reader connections in the pool (a gauge for `/metrics`).
    pub fn readers_pooled(&self) -> usize {
        self.shared.readers.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// This dispatcher's node id, on a store several dispatchers share.
    pub fn node(&self) -> Option<&str> {
        self.shared.metrics.node.get().map(String::as_str)
    }

    /// Resolves when the writer committed something that may have scheduled work.
    pub async fn schedule_changed(&self) {
        self.shared.scheduled.notified().await;
    }

    /// Resolves when the writer committed something that may have queued deliveries.
    pub async fn outbox_changed(&self) {
        self.shared.outbox.notified().await;
    }

    /// Accepts an event; answers after its transaction committed.
    pub async fn publish(&self, sub: Submission) -> Result<Accepted, DispatchError> {
        let (tx, rx) = oneshot::channel();
        self.shared.jobs.send(Job::Accept(Box::new(sub), tx)).await.map_err(|_| DispatchError::Closed)?;
        Ok(rx.await.map_err(|_| DispatchError::Closed)??)
    }

    /// Runs a write on the writer; its changes fan out after it committed.
    pub(in crate::dispatch) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store, Timestamp) -> Result<(T, Vec<Change>), StoreError> + Send + 'static,
    ) -> Result<T, DispatchError> {
        let (tx, rx) = oneshot::channel();
        let job: WriteFn = Box::new(move |store, now| match f(store, now) {
            Ok((value, changes)) => {
                let _ = tx.send(Ok(value));
                changes
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                Vec::new()
            }
        });
        self.shared.jobs.send(Job::Write(job)).await.map_err(|_| DispatchError::Closed)?;
        let r = match rx.await {
            Ok(r) => r,
            // The reply was dropped unsent: the writer stopped, or the job panicked.
            Err(_) if self.writer_running() => Err(StoreError::Internal(
                "the write failed unexpectedly; the server log has the details".into(),
            )),
            Err(_) => return Err(DispatchError::Closed),
        };
        // A failure of the store itself (not a refusal of bad input) marks the dispatcher
        // unhealthy until a write succeeds.
        note_fault(&self.shared, r.as_ref().map(|_| ()));
        Ok(r?)
    }

    /// Runs a read on a pooled reader connection, off the async threads.
    pub(in crate::dispatch) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, DispatchError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let pooled = shared.readers.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let store = match pooled {
                Some(s) => s,
                None => shared.store.open(shared.config.daemon.synchronous)?,
            };
            let out = f(store.as_ref());
            if let Err(e @ StoreError::Storage(StorageFault::Damaged, _)) = &out {
                note_damage(&shared, e);
            }
            let mut pool = shared.readers.lock().unwrap_or_else(PoisonError::into_inner);
            if pool.len() < 8 {
                pool.push(store);
            }
            out
        })
        .await
        .map_err(|_| DispatchError::Closed)?
        .map_err(DispatchError::from)
    }

    /// The organisation's defaults for users who saved no preferences.
    pub fn defaults(&self) -> &Preferences {
        &self.shared.config.defaults
    }
}

/// The engine's policy from the organisation's config: its required cells and the
/// collapse window.
/// Refuses to serve from a damaged store: it would answer errors to everything while
/// looking healthy. Reads its structure for up to `budget` (`daemon.start_check_secs`).
fn check_at_start(
    store: &mut dyn Store,
    location: &Location,
    budget: std::time::Duration,
) -> Result<(), StoreError> {
    let began = std::time::Instant::now();
    match store.check(budget)? {
        Integrity::Ok => {
            tracing::debug!(ms = began.elapsed().as_millis() as u64, "the store's structure is sound");
            Ok(())
        }
        Integrity::Unfinished => {
            tracing::info!(
                secs = budget.as_secs(),
                "the store is too large to check fully at start; `campanile store check` reads all of it"
            );
            Ok(())
        }
        Integrity::Damaged(problems) => Err(StoreError::Storage(
            StorageFault::Damaged,
            format!(
                "{} failed its check ({}); restore it from a backup, or set it aside and start a new \
                 store with `campanile daemon --new-store`",
                location,
                problems.join("; ")
            ),
        )),
    }
}

/// Watches the store's revocation counter, so that a token revoked by another process
/// (`campanile token revoke`) stops working here within a second.
pub async fn watch_tokens(dispatch: Dispatch, stop: tokio_util::sync::CancellationToken) {
    let mut seen = dispatch.token_epoch().await.ok();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Ok(epoch) = dispatch.token_epoch().await
            && seen != Some(epoch)
        {
            if seen.is_some() {
                tracing::info!("a token was revoked: open sessions re-check theirs");
                dispatch.tokens_changed();
            }
            seen = Some(epoch);
        }
    }
}

/// Marks the store damaged for `/healthz`, once, with a log line.
fn note_damage(shared: &Shared, e: &StoreError) {
    if shared.damaged.set(e.to_string()).is_ok() {
        tracing::error!(error = %e, "the store is damaged: /healthz now answers 503");
    }
}

pub fn policy(config: &Config) -> Policy {
    Policy {
        required: config.required.clone(),
        collapse_window: SignedDuration::from_mins(i64::from(config.engine.collapse_window_minutes)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

    use super::*;

    #[tokio::test]
    async fn a_panicking_write_fails_alone_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (dispatch, writer) =
            Dispatch::start(Config::default(), Location::Sqlite(dir.path().join("c.db"))).unwrap();
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {})); // the expected panic need not print
        let r = dispatch
            .write(|_, _| -> Result<((), Vec<Change>), StoreError> { panic!("a bug in a write job") })
            .await;
        std::panic::set_hook(hook);
        assert!(matches!(r, Err(DispatchError::Store(StoreError::Internal(_)))), "{r:?}");
        assert!(dispatch.writer_running());
        assert!(dispatch.health().unwrap_err().contains("failed unexpectedly"));
        // The next write goes through, and health is back.
        let ok = dispatch.write(|s, now| s.upsert_user("alice", None, now).map(|()| ((), Vec::new()))).await;
        assert!(ok.is_ok(), "{ok:?}");
        assert_eq!(dispatch.health(), Ok(()));
        drop(dispatch);
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
    }

    #[tokio::test]
    async fn tokens_used_at_once_are_recorded_in_one_write_not_one_commit_each() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Sqlite(dir.path().join("c.db"));
        let now = Timestamp::now();
        {
            let mut store = location.open(crate::store::Synchronous::Normal).unwrap();
            for i in 0..300 {
                let name = format!("u{i}");
                store.upsert_user(&name, None, now).unwrap();
                store.create_token(&name, crate::store::Scope::User, None, now).unwrap();
            }
        }
        let (dispatch, writer) = Dispatch::start(Config::default(), location).unwrap();
        let ids: Vec<String> = dispatch.tokens(None).await.unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(ids.len(), 300);
        // A team's sessions opening together: every token looked up before the writer runs.
        for id in &ids {
            dispatch.touch_token(id.clone());
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let tokens = dispatch.tokens(None).await.unwrap();
            if tokens.iter().all(|t| t.last_used_at.is_some()) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not every token was recorded as used");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(dispatch.shared.touched.writes.load(Ordering::Relaxed), 1, "one write for all 300");
        // One used later gets a record of its own.
        dispatch.touch_token(ids[0].clone());
        let first = dispatch.tokens(None).await.unwrap().into_iter().find(|t| t.id == ids[0]).unwrap();
        let before = first.last_used_at;
        loop {
            let t = dispatch.tokens(None).await.unwrap().into_iter().find(|t| t.id == ids[0]).unwrap();
            if t.last_used_at != before || dispatch.shared.touched.writes.load(Ordering::Relaxed) == 2 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the later use was not recorded");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(dispatch);
        tokio::task::spawn_blocking(move || writer.join()).await.unwrap();
    }
}
