//! The dispatcher core (DESIGN §2): the one writer that owns the store's write connection,
//! a pool of readers, the change hub and the presence book. Handlers hold a cheap
//! [`Dispatch`] clone. Requests that arrive together share one transaction (group commit),
//! each is answered only after that commit, and changes fan out only after it too.

pub mod commands;
pub mod hub;
pub mod metrics;
pub mod presence;
pub mod queries;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::engine::Policy;
use crate::model::prefs::Preferences;
use crate::store::prelude::*;
use crate::store::{AcceptContext, Accepted, Change, Location, StoreError, Submission};

pub use hub::Hub;
pub use metrics::Metrics;
pub use presence::PresenceBook;

/// Most jobs one transaction takes.
const BATCH: usize = 512;
/// Writes after which an idle writer checkpoints the WAL.
const CHECKPOINT_EVERY: usize = 5_000;
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
    store_path: PathBuf,
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
}

/// Remembers a failure of the store itself (full disk, I/O, corruption, a bug) for health;
/// any other outcome means the store answered.
fn note_fault(shared: &Shared, outcome: Result<(), &StoreError>) {
    let fault = match outcome {
        Err(
            e @ (StoreError::Db(_) | StoreError::Corrupt(_) | StoreError::Io(_) | StoreError::Internal(_)),
        ) => Some(e.to_string()),
        _ => None,
    };
    *shared.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
}

/// A cheap handle to the dispatcher.
#[derive(Clone)]
pub struct Dispatch {
    shared: Arc<Shared>,
}

/// Joins the writer thread once every queued job is done.
pub struct WriterGuard {
    thread: std::thread::JoinHandle<()>,
    /// Held while this engine owns the store: one engine per store.
    _lock: std::fs::File,
}

/// The lock file beside a store that an engine holds while it runs.
pub fn lock_path(store_path: &std::path::Path) -> PathBuf {
    store_path.with_extension("lock")
}

/// Takes the store's engine lock (an advisory `flock`): a second engine on the same store
/// would fan out only its own commits, so it is refused.
fn engine_lock(store_path: &std::path::Path) -> Result<std::fs::File, StoreError> {
    if let Some(dir) = store_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let path = lock_path(store_path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Taken(format!(
            "another campanile engine already runs on {}",
            store_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Corrupt(format!("{}: {e}", path.display()))),
    }
}

/// Whether an engine holds the store (for writers that would bypass it).
pub fn engine_running(store_path: &std::path::Path) -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open(lock_path(store_path))
        .is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

impl WriterGuard {
    /// Waits for the writer to finish: call after the last [`Dispatch`] clone is dropped.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

impl Dispatch {
    /// Opens the store at `data_dir` and starts the writer thread.
    pub fn start(config: Config, store_path: PathBuf) -> Result<(Dispatch, WriterGuard), StoreError> {
        let lock = engine_lock(&store_path)?;
        let store = Location::Sqlite(store_path.clone()).open(config.daemon.synchronous)?;
        let stream = store.stream().to_string();
        let (tx, rx) = mpsc::channel(QUEUE);
        let ttl = SignedDuration::from_secs(i64::from(config.engine.presence_ttl_seconds));
        let shared = Arc::new(Shared {
            jobs: tx,
            readers: Mutex::new(Vec::new()),
            store_path,
            policy: policy(&config),
            config,
            hub: Hub::default(),
            presence: PresenceBook::new(ttl),
            metrics: Metrics::default(),
            stream,
            scheduled: tokio::sync::Notify::new(),
            outbox: tokio::sync::Notify::new(),
            writer_running: Arc::new(AtomicBool::new(true)),
            fault: Mutex::new(None),
        });
        // The writer holds the shared parts weakly: the queue's sender lives in them, so
        // dropping every handle closes the queue and lets the writer finish.
        let weak = Arc::downgrade(&shared);
        let running = RunningGuard(Arc::clone(&shared.writer_running));
        let thread = std::thread::Builder::new()
            .name("campanile-writer".into())
            .spawn(move || {
                let _running = running;
                writer(store, rx, weak)
            })
            .map_err(|e| StoreError::Io(format!("cannot start the writer: {e}")))?;
        Ok((Dispatch { shared }, WriterGuard { thread, _lock: lock }))
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
        match self.shared.fault.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            Some(fault) => Err(fault.clone()),
            None => Ok(()),
        }
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
                None => Location::Sqlite(shared.store_path.clone()).open(shared.config.daemon.synchronous)?,
            };
            let out = f(store.as_ref());
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

/// Marks the writer stopped when its thread ends, however it ends.
struct RunningGuard(Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

fn writer(mut store: Box<dyn Store>, mut rx: mpsc::Receiver<Job>, shared: std::sync::Weak<Shared>) {
    let mut jobs = Vec::with_capacity(BATCH);
    let mut since_checkpoint = 0;
    while let Some(first) = rx.blocking_recv() {
        jobs.push(first);
        while jobs.len() < BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        // Handles may all be gone while jobs remain: finish them with what we can reach.
        let Some(shared) = shared.upgrade() else {
            for job in jobs.drain(..) {
                if let Job::Accept(_, reply) = job {
                    let _ = reply.send(Err(StoreError::Corrupt("the dispatcher stopped".into())));
                }
            }
            continue;
        };
        since_checkpoint += jobs.len();
        run_batch(store.as_mut(), &shared, &mut jobs);
        shared.scheduled.notify_one();
        shared.outbox.notify_one();
        drop(shared);
        if since_checkpoint >= CHECKPOINT_EVERY && rx.is_empty() {
            // Idle and the WAL has grown: move it into the database now, not on a later
            // commit's path.
            store.checkpoint();
            since_checkpoint = 0;
        }
    }
}

fn run_batch(store: &mut dyn Store, shared: &Shared, jobs: &mut Vec<Job>) {
    let now = Timestamp::now();
    let mut accepts = Vec::new();
    let mut writes = Vec::new();
    for job in jobs.drain(..) {
        match job {
            Job::Accept(sub, reply) => accepts.push((sub, reply)),
            Job::Write(f) => writes.push(f),
        }
    }
    if !accepts.is_empty() {
        let (subs, replies): (Vec<Submission>, Vec<_>) = accepts.into_iter().map(|(s, r)| (*s, r)).unzip();
        let presence = |user: &str| shared.presence.current(user, now);
        let ctx = AcceptContext {
            policy: &shared.policy,
            defaults: &shared.config.defaults,
            presence: &presence,
            now,
        };
        let started = Instant::now();
        // A panic is a bug in one batch: its transaction rolls back as it unwinds, its
        // callers get an error, and the writer goes on with the next.
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| store.accept_batch(&subs, &ctx)))
            .unwrap_or_else(|_| Err(panicked("accepting events")));
        shared.metrics.observe_commit(started.elapsed().as_secs_f64());
        note_fault(shared, result.as_ref().map(|_| ()));
        match result {
            Ok(results) => {
                for (reply, mut r) in replies.into_iter().zip(results) {
                    if let Ok(a) = &mut r {
                        let m = &shared.metrics;
                        if a.duplicate {
                            m.events_duplicate.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        } else {
                            m.events_accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            m.notifications.fetch_add(
                                a.notifications.len() as u64,
                                std::sync::atomic::Ordering::Relaxed,
                            );
                            shared.hub.publish(std::mem::take(&mut a.changes));
                        }
                    } else {
                        shared.metrics.events_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(e.again()));
                }
            }
        }
    }
    for f in writes {
        // A panicking job drops its reply: its caller learns it failed (see `write`).
        match std::panic::catch_unwind(AssertUnwindSafe(|| f(store, now))) {
            Ok(changes) => shared.hub.publish(changes),
            Err(_) => {
                panicked("a write");
            }
        }
    }
}

/// Logs that a job panicked (the panic hook printed the panic itself) and says so.
fn panicked(what: &str) -> StoreError {
    tracing::error!("{what} panicked and was rolled back; the writer goes on");
    StoreError::Internal(format!("{what} failed unexpectedly; the server log has the details"))
}

/// The engine's policy from the organisation's config: its required cells and the
/// collapse window.
pub fn policy(config: &Config) -> Policy {
    Policy {
        required: config.required.clone(),
        collapse_window: SignedDuration::from_mins(i64::from(config.engine.collapse_window_minutes)),
    }
}

/// Runs scheduled work when it falls due (urgent repeats, snooze wake-ups, held and escalated
/// deliveries): sleeps until the next due row or until the writer commits something new.
pub async fn scheduler(dispatch: Dispatch, stop: tokio_util::sync::CancellationToken) {
    loop {
        let next = dispatch.read(|s| s.next_due()).await.ok().flatten();
        let now = Timestamp::now();
        let wait = match next {
            Some(t) if t <= now => std::time::Duration::ZERO,
            Some(t) => now.duration_until(t).unsigned_abs().min(std::time::Duration::from_secs(60)),
            None => std::time::Duration::from_secs(60),
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = dispatch.schedule_changed() => continue,
            }
        }
        if stop.is_cancelled() {
            return;
        }
        let r = dispatch.write(|s, now| s.run_due(now).map(|c| ((), c))).await;
        if let Err(e) = r {
            tracing::error!(error = %e, "running scheduled work failed");
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

    use super::*;

    #[tokio::test]
    async fn a_panicking_write_fails_alone_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (dispatch, writer) = Dispatch::start(Config::default(), dir.path().join("c.db")).unwrap();
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
}
