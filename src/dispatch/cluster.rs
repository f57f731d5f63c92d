//! This dispatcher as one node of several on a PostgreSQL store (DESIGN §5a). Two threads:
//!
//! - `campanile-node` heartbeats the node's registration (releasing what dead nodes held,
//!   and waking the delivery workers when it did), writes this node's presence changes to
//!   the shared table and reads the other nodes' back into the presence book.
//! - `campanile-listen` hears the other nodes' commits (`LISTEN`) and closes the hub queues
//!   of the users they name, so those sessions catch up from the store by seq; after its
//!   connection comes back it wakes every session, since what was sent meanwhile is lost.
//!
//! Both hold the dispatcher weakly and stop with [`ClusterGuard`]; the node leaves the
//! cluster as it stops (its claims go back at once).

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::Shared;
use crate::store::{Listener, Node, PgUrl, PresenceOp, StoreError, Wakeup};

/// What the node thread is asked to do besides its heartbeat.
pub(super) enum NodeMsg {
    Presence(PresenceOp),
    /// Another node's presence changed: read the table again.
    Refresh,
}

/// Stops the node's threads and leaves the cluster when dropped.
pub struct ClusterGuard {
    stop: Arc<Stop>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Told once: the threads end.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    told: Condvar,
}

impl Stop {
    fn is_set(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.told.notify_all();
    }

    /// Waits up to `wait` for the stop; true when stopped.
    fn wait(&self, wait: Duration) -> bool {
        let stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (stopped, _) =
            self.told.wait_timeout_while(stopped, wait, |s| !*s).unwrap_or_else(PoisonError::into_inner);
        *stopped
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        self.stop.set();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Starts the node's threads. `rx` is the other end of the presence book's sender.
pub(super) fn start(
    node: Node,
    url: PgUrl,
    shared: Weak<Shared>,
    rx: Receiver<NodeMsg>,
    refresh: Sender<NodeMsg>,
) -> Result<ClusterGuard, StoreError> {
    let stop = Arc::new(Stop::default());
    let id = node.id().to_string();
    let (s1, s2) = (Arc::clone(&stop), Arc::clone(&stop));
    let weak = shared.clone();
    let heart = std::thread::Builder::new()
        .name("campanile-node".into())
        .spawn(move || run_node(node, weak, rx, &s1))
        .map_err(|e| StoreError::Io(format!("cannot start the node's heartbeat: {e}")))?;
    let listen = std::thread::Builder::new()
        .name("campanile-listen".into())
        .spawn(move || run_listener(Listener::new(&url, &id), shared, refresh, &s2))
        .map_err(|e| StoreError::Io(format!("cannot start the node's listener: {e}")))?;
    Ok(ClusterGuard { stop, threads: vec![heart, listen] })
}

/// How long one wait of either thread lasts: how soon they notice they should stop.
const TICK: Duration = Duration::from_millis(250);

fn run_node(mut node: Node, shared: Weak<Shared>, rx: Receiver<NodeMsg>, stop: &Stop) {
    let mut last_beat: Option<Instant> = None;
    let mut refresh = true;
    while !stop.is_set() {
        // Presence changes are written as they come (batched with whatever came with them).
        let mut ops = Vec::new();
        let wait = match last_beat {
            Some(at) => crate::store::postgres::node::HEARTBEAT.saturating_sub(at.elapsed()).min(TICK),
            None => Duration::ZERO,
        };
        match rx.recv_timeout(wait) {
            Ok(msg) => {
                for msg in std::iter::once(msg).chain(rx.try_iter()) {
                    match msg {
                        NodeMsg::Presence(op) => ops.push(op),
                        NodeMsg::Refresh => refresh = true,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let Some(shared) = shared.upgrade() else { break };
        if let Err(e) = node.write_presence(&ops) {
            tracing::warn!(error = %e, lost = ops.len(), "cannot share presence with the other nodes");
        }
        if last_beat.is_none_or(|at| at.elapsed() >= crate::store::postgres::node::HEARTBEAT) {
            last_beat = Some(Instant::now());
            beat(&mut node, &shared);
            refresh = true; // reports expire, and dead nodes' rows stop counting
        }
        if refresh {
            refresh = false;
            match node.remote_presence(Timestamp::now(), shared.presence.ttl()) {
                Ok(remote) => shared.presence.set_remote(remote),
                Err(e) => tracing::warn!(error = %e, "cannot read the other nodes' presence"),
            }
        }
    }
    let id = node.id().to_string();
    match node.leave() {
        Ok(()) => tracing::info!(node = %id, "left the cluster"),
        Err(e) => {
            tracing::warn!(node = %id, error = %e, "could not leave the cluster; the others will see this node die")
        }
    }
}

fn beat(node: &mut Node, shared: &Shared) {
    let mut fault = shared.cluster_fault.lock().unwrap_or_else(PoisonError::into_inner);
    match node.heartbeat(Timestamp::now()) {
        Ok(beat) => {
            if fault.take().is_some() {
                tracing::info!("the database answers the node's heartbeat again");
            }
            shared.metrics.nodes_live.store(beat.live, Ordering::Relaxed);
            if beat.released > 0 {
                tracing::warn!(
                    deliveries = beat.released,
                    "released the deliveries of a node that died; sending them from here"
                );
                shared.metrics.claims_released.fetch_add(beat.released, Ordering::Relaxed);
                shared.outbox.notify_one();
                shared.scheduled.notify_one();
            }
        }
        Err(e) => {
            if fault.is_none() {
                tracing::error!(error = %e, "the node's heartbeat failed: the database does not answer");
            }
            *fault = Some(format!("the database does not answer this node's heartbeat: {e}"));
        }
    }
}

fn run_listener(mut listener: Listener, shared: Weak<Shared>, refresh: Sender<NodeMsg>, stop: &Stop) {
    let mut down_since: Option<Instant> = None;
    while !stop.is_set() {
        let heard = listener.wait(TICK);
        let Some(shared) = shared.upgrade() else { break };
        let up = listener.connected();
        shared.metrics.listener_up.store(u64::from(up), Ordering::Relaxed);
        match heard {
            Ok(wakeups) => {
                if let Some(since) = down_since.take() {
                    tracing::info!(
                        secs = since.elapsed().as_secs(),
                        "the listener is back: every session re-checks the store"
                    );
                }
                for w in wakeups {
                    shared.metrics.wakeups.fetch_add(1, Ordering::Relaxed);
                    match w {
                        Wakeup::Users(users) => {
                            shared.hub.nudge(&users);
                            // What another node commits may be due here too (its scheduled
                            // rows, its deliveries): each is claimed by one node.
                            shared.scheduled.notify_one();
                            shared.outbox.notify_one();
                        }
                        Wakeup::Everyone => {
                            shared.hub.nudge_all();
                            shared.scheduled.notify_one();
                            shared.outbox.notify_one();
                        }
                        Wakeup::Presence => {
                            let _ = refresh.send(NodeMsg::Refresh);
                        }
                    }
                }
            }
            Err(e) => {
                if down_since.is_none() {
                    tracing::error!(error = %e, "cannot hear the other nodes; retrying every second");
                    down_since = Some(Instant::now());
                }
                drop(shared);
                if stop.wait(Duration::from_secs(1)) {
                    break;
                }
            }
        }
    }
}
