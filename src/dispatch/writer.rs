//! The one writer (DESIGN §5): a thread that owns the store's write connection, takes the
//! jobs waiting, runs the accepts of a batch in one transaction (group commit) and the other
//! writes after them, answers each caller after commit and hands the changes to the hub.
//! A job that panics is rolled back and fails alone; the writer goes on.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::{BATCH, CHECKPOINT_EVERY, Job, Shared};
use crate::store::{AcceptContext, Store, StoreError, Submission};

/// Remembers a failure of the store itself (full disk, I/O, corruption, a bug) for health;
/// any other outcome means the store answered.
pub(super) fn note_fault(shared: &Shared, outcome: Result<(), &StoreError>) {
    if let Err(e @ StoreError::Storage(crate::store::StorageFault::Damaged, _)) = outcome {
        super::note_damage(shared, e);
    }
    let fault = match outcome {
        Err(
            e @ (StoreError::Db(_)
            | StoreError::Corrupt(_)
            | StoreError::Io(_)
            | StoreError::Internal(_)
            | StoreError::Storage(..)),
        ) => Some(e.to_string()),
        _ => None,
    };
    *shared.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
}

/// Marks the writer stopped when its thread ends, however it ends.
pub(super) struct RunningGuard(pub(super) Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

pub(super) fn writer(
    store: &mut Box<dyn Store>,
    mut rx: mpsc::Receiver<Job>,
    shared: std::sync::Weak<Shared>,
    written: std::sync::mpsc::Sender<usize>,
) {
    let mut jobs = Vec::with_capacity(BATCH);
    let anchor = shared.upgrade().map(|s| s.config.daemon.audit_anchor.clone()).unwrap_or_default();
    let mut heads = HeadKeeper { anchor, last: None, at: std::time::Instant::now() };
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
                    let _ = reply.send(Err(StoreError::Internal("the dispatcher stopped".into())));
                }
            }
            continue;
        };
        let _ = written.send(run_batch(store.as_mut(), &shared, &mut jobs));
        shared.scheduled.notify_one();
        shared.outbox.notify_one();
        drop(shared);
        if rx.is_empty() && heads.at.elapsed() >= HEAD_EVERY {
            heads.keep(store.as_mut());
        }
    }
    heads.keep(store.as_mut());
    if let Some(h) = &heads.last {
        tracing::info!(seq = h.seq, hash = %h.hash, "audit chain head (keep it to check the chain later: campanile audit verify --anchor)");
    }
}

/// Moves the WAL back into the database on a connection of its own: at start, then once
/// writes pause for [`QUIET`] (or pile up past [`BUSY_LIMIT`] rows without a pause): neither
/// the writer's next commit nor the fan-out of the last one waits for it. SQLite's own
/// checkpoint, at 20,000 pages on the writer's commit path, is only the backstop.
pub(super) fn checkpointer(mut store: Box<dyn Store>, written: std::sync::mpsc::Receiver<usize>) {
    use std::sync::mpsc::RecvTimeoutError;
    // What an earlier process left in the WAL (an import of a team, a daemon that stopped
    // mid-run) goes back first: otherwise the first commit that pushes it past SQLite's
    // backstop checkpoints it on the commit path (seconds, for a broadcast after an import
    // of thousands of users).
    store.checkpoint();
    let mut pending = 0;
    while let Ok(rows) = written.recv() {
        pending += rows;
        loop {
            match written.recv_timeout(QUIET) {
                Ok(rows) => {
                    pending += rows;
                    if pending >= BUSY_LIMIT {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        if pending >= CHECKPOINT_EVERY {
            store.checkpoint();
            pending = 0;
        }
    }
}

/// A pause in writes this long lets the checkpointer run.
const QUIET: std::time::Duration = std::time::Duration::from_millis(100);
/// Rows written without a pause after which the checkpointer runs anyway: about a
/// broadcast to 5,000, some 15,000 pages of WAL (SQLite's backstop is at 20,000).
const BUSY_LIMIT: usize = 5_000;

/// How often an idle writer records the audit chain's head.
const HEAD_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Records the audit chain's head in the store and, when configured, in an anchor file
/// outside it (`daemon.audit_anchor`), so that losing the end of the chain shows.
struct HeadKeeper {
    anchor: String,
    last: Option<crate::store::AuditHead>,
    at: std::time::Instant,
}

impl HeadKeeper {
    fn keep(&mut self, store: &mut dyn Store) {
        self.at = std::time::Instant::now();
        if store.audit_head().ok().flatten() == self.last {
            return;
        }
        match store.record_audit_head() {
            Ok(Some(h)) => {
                if !self.anchor.is_empty()
                    && let Err(e) = write_anchor(std::path::Path::new(&self.anchor), &h)
                {
                    tracing::warn!(anchor = %self.anchor, error = %e, "cannot write the audit anchor");
                }
                self.last = Some(h);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot record the audit chain's head"),
        }
    }
}

/// Replaces the anchor file's content at once (written aside, then renamed).
fn write_anchor(path: &std::path::Path, head: &crate::store::AuditHead) -> std::io::Result<()> {
    let aside = path.with_extension("tmp");
    std::fs::write(&aside, format!("{}\n", head.to_line()))?;
    std::fs::rename(&aside, path)
}

/// Runs a batch of jobs; returns how many rows it wrote, near enough (a job, or a change per
/// recipient): what the WAL grew by, for the idle checkpoint.
fn run_batch(store: &mut dyn Store, shared: &Shared, jobs: &mut Vec<Job>) -> usize {
    let now = Timestamp::now();
    let mut written = jobs.len();
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
                            written += a.changes.len();
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
            Ok(changes) => {
                written += changes.len();
                shared.hub.publish(changes);
            }
            Err(_) => {
                panicked("a write");
            }
        }
    }
    written
}

/// Logs that a job panicked (the panic hook printed the panic itself) and says so.
fn panicked(what: &str) -> StoreError {
    tracing::error!("{what} panicked and was rolled back; the writer goes on");
    StoreError::Internal(format!("{what} failed unexpectedly; the server log has the details"))
}
