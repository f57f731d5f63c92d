//! Fan-out of committed changes to live connections. Each connection has a bounded queue;
//! a connection that falls behind is dropped from the hub (its queue closes) and catches up
//! from the store by seq, so memory stays bounded and nothing is lost or duplicated.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

use crate::store::Change;

/// How many changes a connection may have queued before it must catch up from the store.
pub const QUEUE: usize = 1024;

/// One connection's subscription: its id and its queue.
type Subscriber = (u64, mpsc::Sender<Arc<Change>>);

#[derive(Default)]
pub struct Hub {
    subscribers: Mutex<HashMap<String, Vec<Subscriber>>>,
    next: AtomicU64,
}

impl Hub {
    /// A new subscription for `user`'s changes from now on.
    pub fn subscribe(&self, user: &str) -> (u64, mpsc::Receiver<Arc<Change>>) {
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
    pub fn publish(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let mut subs = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        for change in changes {
            let Some(list) = subs.get_mut(&change.user) else { continue };
            let change = Arc::new(change.clone());
            // A full or closed queue drops the subscriber: it resumes from the store.
            list.retain(|(_, tx)| tx.try_send(Arc::clone(&change)).is_ok());
        }
        subs.retain(|_, list| !list.is_empty());
    }

    pub fn connections(&self) -> usize {
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner).values().map(Vec::len).sum()
    }
}
