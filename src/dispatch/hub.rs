//! Fan-out of committed changes to live connections. Each connection has a queue bounded in
//! changes and in bytes; a connection that falls behind is dropped from the hub (its queue
//! closes) and catches up from the store by seq, so memory stays bounded and nothing is
//! lost or duplicated.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::mpsc;

use crate::store::Change;

/// How many changes a connection may have queued before it must catch up from the store.
pub const QUEUE: usize = 1024;

/// A committed change as connections receive it: its frame text is built once, by the
/// first connection that sends it, and shared by all.
#[derive(Debug)]
pub struct Published {
    pub change: Change,
    text: OnceLock<String>,
}

impl Published {
    pub fn new(change: Change) -> Published {
        Published { change, text: OnceLock::new() }
    }

    /// The `change` frame of DESIGN §6 for this change.
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| frame_text(&self.change))
    }

    /// What it weighs in a connection's queue: about the bytes of its frame.
    pub fn weight(&self) -> usize {
        self.change.payload.len() + 64
    }
}

/// One connection's end of the hub: the changes published for its user, in order, until it
/// falls behind (then `recv` gives `None` and the connection catches up from the store).
pub struct Live {
    rx: mpsc::Receiver<Arc<Published>>,
    /// Bytes queued and not yet taken, shared with the hub's side.
    queued: Arc<AtomicUsize>,
}

impl Live {
    pub async fn recv(&mut self) -> Option<Arc<Published>> {
        let p = self.rx.recv().await?;
        self.queued.fetch_sub(p.weight(), Ordering::Relaxed);
        Some(p)
    }

    pub fn try_recv(&mut self) -> Option<Arc<Published>> {
        let p = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(p.weight(), Ordering::Relaxed);
        Some(p)
    }
}

/// A change's websocket frame: its header, then the payload's fields spliced in.
pub fn frame_text(c: &Change) -> String {
    let kind = serde_json::to_string(&c.kind).unwrap_or_else(|_| "\"\"".into());
    let fields = c.payload.trim().strip_prefix('{').unwrap_or("}").trim_start();
    let mut out = String::with_capacity(48 + kind.len() + fields.len());
    out.push_str("{\"type\":\"change\",\"seq\":");
    out.push_str(&c.seq.to_string());
    out.push_str(",\"kind\":");
    out.push_str(&kind);
    if fields != "}" {
        out.push(',');
    }
    out.push_str(fields);
    out
}

/// One connection's subscription: its id, its queue and the bytes waiting in it.
type Subscriber = (u64, mpsc::Sender<Arc<Published>>, Arc<AtomicUsize>);

pub struct Hub {
    subscribers: Mutex<HashMap<String, Vec<Subscriber>>>,
    next: AtomicU64,
    /// Most bytes a connection's queue holds (`daemon.stream_queue_bytes`).
    queue_bytes: usize,
}

impl Hub {
    pub fn new(queue_bytes: usize) -> Hub {
        Hub { subscribers: Mutex::default(), next: AtomicU64::new(0), queue_bytes }
    }

    /// A new subscription for `user`'s changes from now on.
    pub fn subscribe(&self, user: &str) -> (u64, Live) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let queued = Arc::new(AtomicUsize::new(0));
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(user.to_string())
            .or_default()
            .push((id, tx, Arc::clone(&queued)));
        (id, Live { rx, queued })
    }

    pub fn unsubscribe(&self, user: &str, id: u64) {
        let mut subs = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = subs.get_mut(user) {
            list.retain(|(i, _, _)| *i != id);
            if list.is_empty() {
                subs.remove(user);
            }
        }
    }

    /// Hands committed changes to every live subscriber of their user. Never blocks.
    pub fn publish(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let mut subs = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        for change in changes {
            let Some(list) = subs.get_mut(&change.user) else { continue };
            let change = Arc::new(Published::new(change));
            let weight = change.weight();
            // A full or closed queue drops the subscriber: it resumes from the store. So does
            // one whose reader lets more bytes wait than the budget: a slow reader costs no
            // more than that, whatever is published.
            list.retain(|(_, tx, queued)| {
                if queued.load(Ordering::Relaxed) + weight > self.queue_bytes {
                    return false;
                }
                queued.fetch_add(weight, Ordering::Relaxed);
                tx.try_send(Arc::clone(&change)).is_ok()
            });
        }
        subs.retain(|_, list| !list.is_empty());
    }

    /// Closes the queues of these users' connections: each then catches up from the store by
    /// seq, as one that fell behind does. Another node's commits reach this node's sessions
    /// this way (DESIGN §5a: a wake-up, not a carrier). Returns how many were woken.
    pub fn nudge(&self, users: &[String]) -> usize {
        let mut subs = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        users.iter().filter_map(|u| subs.remove(u)).map(|list| list.len()).sum()
    }

    /// Closes every connection's queue (see [`Hub::nudge`]): after a wake-up that names no
    /// users, or that may have been missed.
    pub fn nudge_all(&self) -> usize {
        let mut subs = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *subs).into_values().map(|list| list.len()).sum()
    }

    pub fn connections(&self) -> usize {
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner).values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reader_past_its_byte_budget_is_dropped_to_catch_up_and_one_that_reads_is_not() {
        let hub = Hub::new(10_000);
        let change = |seq: i64| Change {
            user: "u".into(),
            seq,
            kind: "notification_created".into(),
            payload: format!(r#"{{"notification":{{"body":"{}"}}}}"#, "x".repeat(3_000)),
        };
        let (_, mut slow) = hub.subscribe("u");
        let (_, mut keeping_up) = hub.subscribe("u");
        for seq in 1..=5 {
            hub.publish(vec![change(seq)]);
            assert_eq!(keeping_up.recv().await.map(|p| p.change.seq), Some(seq));
        }
        // Three changes of about 3 KB fit in 10,000 bytes; the fourth did not.
        for seq in 1..=3 {
            assert_eq!(slow.recv().await.map(|p| p.change.seq), Some(seq));
        }
        assert!(slow.recv().await.is_none(), "dropped: it resumes from the store");
        assert_eq!(hub.connections(), 1);
    }

    #[tokio::test]
    async fn a_nudged_connection_gets_what_was_queued_then_is_told_to_catch_up() {
        let hub = Hub::new(1 << 20);
        let change = |user: &str, seq: i64| Change {
            user: user.into(),
            seq,
            kind: "notification_created".into(),
            payload: "{}".into(),
        };
        let (_, mut alice) = hub.subscribe("alice");
        let (_, mut bob) = hub.subscribe("bob");
        hub.publish(vec![change("alice", 1)]);
        assert_eq!(hub.nudge(&["alice".into(), "carol".into()]), 1);
        assert_eq!(alice.recv().await.map(|p| p.change.seq), Some(1), "nothing queued is lost");
        assert!(alice.recv().await.is_none(), "then it catches up from the store");
        hub.publish(vec![change("bob", 1)]);
        assert_eq!(bob.recv().await.map(|p| p.change.seq), Some(1), "others are not woken");
        assert_eq!(hub.nudge_all(), 1);
        assert!(bob.recv().await.is_none());
        assert_eq!(hub.connections(), 0);
    }

    #[test]
    fn frames_splice_the_payload() {
        let c = |payload: &str| Change {
            user: "u".into(),
            seq: 7,
            kind: "notification_created".into(),
            payload: payload.into(),
        };
        let v: serde_json::Value =
            serde_json::from_str(&frame_text(&c(r#"{"notification":{"id":"x"}}"#))).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"type":"change","seq":7,"kind":"notification_created","notification":{"id":"x"}})
        );
        let v: serde_json::Value = serde_json::from_str(&frame_text(&c("{}"))).expect("json");
        assert_eq!(v, serde_json::json!({"type":"change","seq":7,"kind":"notification_created"}));
    }
}
