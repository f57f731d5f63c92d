//! Fan-out of committed changes to live connections. Each connection has a bounded queue;
//! a connection that falls behind is dropped from the hub (its queue closes) and catches up
//! from the store by seq, so memory stays bounded and nothing is lost or duplicated.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// One connection's subscription: its id and its queue.
type Subscriber = (u64, mpsc::Sender<Arc<Published>>);

#[derive(Default)]
pub struct Hub {
    subscribers: Mutex<HashMap<String, Vec<Subscriber>>>,
    next: AtomicU64,
}

impl Hub {
    /// A new subscription for `user`'s changes from now on.
    pub fn subscribe(&self, user: &str) -> (u64, mpsc::Receiver<Arc<Published>>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(user.to_string())
            .or_default()
            .push((id, tx));
        (id, rx)
    }

    pub fn unsubscribe(&self, user: &str, id: u64) {
        let mut subs = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = subs.get_mut(user) {
            list.retain(|(i, _)| *i != id);
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
            // A full or closed queue drops the subscriber: it resumes from the store.
            list.retain(|(_, tx)| tx.try_send(Arc::clone(&change)).is_ok());
        }
        subs.retain(|_, list| !list.is_empty());
    }

    pub fn connections(&self) -> usize {
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner).values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
