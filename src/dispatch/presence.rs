//! Who is looking at what, as clients report it (DESIGN §4 step 4). Entries expire after the
//! configured TTL unless a heartbeat renews them; a closed connection removes its entry.
//! On a node of a cluster (DESIGN §5a) the book also sends its changes to the shared table
//! and holds what the other nodes' connections report, so the node that plans a delivery
//! sees a viewer connected to another one.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

use crate::engine::{Presence, PresenceState};
use crate::store::{PresenceOp, RemotePresence};

struct Entry {
    presence: Presence,
    updated: Timestamp,
}

/// Takes a presence change to share with the other nodes (it must not block).
pub type Share = Box<dyn Fn(PresenceOp) + Send + Sync>;

pub struct PresenceBook {
    ttl: SignedDuration,
    by_user: Mutex<HashMap<String, HashMap<u64, Entry>>>,
    /// On a node of a cluster: where this node's changes go (to the shared table).
    shared: Option<Share>,
    /// On a node of a cluster: what the other nodes' connections report, by user.
    remote: Mutex<HashMap<String, Vec<Entry>>>,
}

impl PresenceBook {
    pub fn new(ttl: SignedDuration) -> PresenceBook {
        PresenceBook { ttl, by_user: Mutex::default(), shared: None, remote: Mutex::default() }
    }

    /// A book whose changes are also handed to `shared` (a node's writer of the shared table).
    pub fn shared(ttl: SignedDuration, shared: Share) -> PresenceBook {
        PresenceBook { shared: Some(shared), ..PresenceBook::new(ttl) }
    }

    pub fn ttl(&self) -> SignedDuration {
        self.ttl
    }

    fn share(&self, op: PresenceOp) {
        if let Some(share) = &self.shared {
            share(op);
        }
    }

    pub fn set(&self, user: &str, conn: u64, presence: Presence, now: Timestamp) {
        self.share(PresenceOp::Set { user: user.to_string(), conn, presence: presence.clone(), at: now });
        let mut map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(user.to_string()).or_default().insert(conn, Entry { presence, updated: now });
    }

    pub fn remove(&self, user: &str, conn: u64) {
        let mut map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = map.get_mut(user)
            && m.remove(&conn).is_some()
        {
            self.share(PresenceOp::Remove { conn });
            if m.is_empty() {
                map.remove(user);
            }
        }
    }

    /// Replaces what the other nodes report (read from the shared table).
    pub fn set_remote(&self, reported: Vec<RemotePresence>) {
        let mut remote: HashMap<String, Vec<Entry>> = HashMap::new();
        for r in reported {
            remote.entry(r.user).or_default().push(Entry { presence: r.presence, updated: r.updated });
        }
        *self.remote.lock().unwrap_or_else(PoisonError::into_inner) = remote;
    }

    /// Moves a connection's entry to its new id (a connection that fell behind gets a new
    /// hub subscription, and its presence must follow, not linger under the old id).
    pub fn rekey(&self, user: &str, old: u64, new: u64) {
        let mut map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = map.get_mut(user)
            && let Some(e) = m.remove(&old)
        {
            m.insert(new, e);
            self.share(PresenceOp::Rekey { old, new });
        }
    }

    /// The user's presence now: the most recent live active client, else idle if any client
    /// is live, else away.
    pub fn current(&self, user: &str, now: Timestamp) -> Presence {
        let map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        let remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        let here = map.get(user).into_iter().flat_map(|m| m.values());
        let there = remote.get(user).into_iter().flatten();
        let live = here.chain(there).filter(|e| now.duration_since(e.updated) <= self.ttl);
        let mut best: Option<&Entry> = None;
        for e in live {
            let rank = |p: &Presence| match p.state {
                PresenceState::Active => 2,
                PresenceState::Idle => 1,
                PresenceState::Away => 0,
            };
            if best.is_none_or(|b| (rank(&e.presence), e.updated) > (rank(&b.presence), b.updated)) {
                best = Some(e);
            }
        }
        best.map(|e| e.presence.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_expires_and_prefers_active() {
        let t0: Timestamp = "2027-01-01T00:00:00Z".parse().expect("t");
        let book = PresenceBook::new(SignedDuration::from_secs(90));
        let active = Presence { state: PresenceState::Active, viewing: Some("t#1".into()) };
        book.set("alice", 1, Presence { state: PresenceState::Idle, viewing: None }, t0);
        book.set("alice", 2, active.clone(), t0);
        assert_eq!(book.current("alice", t0), active);
        assert_eq!(book.current("alice", t0 + SignedDuration::from_secs(91)), Presence::default());
        book.remove("alice", 2);
        assert_eq!(book.current("alice", t0).state, PresenceState::Idle);
        assert_eq!(book.current("bob", t0), Presence::default());
    }

    #[test]
    fn a_rekeyed_entry_is_removed_with_its_new_id() {
        let t0: Timestamp = "2027-01-01T00:00:00Z".parse().expect("t");
        let book = PresenceBook::new(SignedDuration::from_secs(90));
        let active = Presence { state: PresenceState::Active, viewing: Some("t#1".into()) };
        book.set("alice", 1, active.clone(), t0);
        book.rekey("alice", 1, 7);
        assert_eq!(book.current("alice", t0), active);
        book.remove("alice", 7);
        assert_eq!(book.current("alice", t0), Presence::default(), "nothing left under the old id");
    }

    #[test]
    fn a_shared_book_sends_its_changes_and_counts_other_nodes_viewers() {
        let t0: Timestamp = "2027-01-01T00:00:00Z".parse().expect("t");
        let (tx, rx) = std::sync::mpsc::channel();
        let book = PresenceBook::shared(
            SignedDuration::from_secs(90),
            Box::new(move |op| {
                let _ = tx.send(op);
            }),
        );
        let viewing = Presence { state: PresenceState::Active, viewing: Some("t#1".into()) };
        book.set("alice", 1, viewing.clone(), t0);
        book.rekey("alice", 1, 2);
        book.remove("alice", 2);
        book.remove("alice", 2); // gone already: nothing to send
        let ops: Vec<PresenceOp> = rx.try_iter().collect();
        assert_eq!(
            ops,
            vec![
                PresenceOp::Set { user: "alice".into(), conn: 1, presence: viewing.clone(), at: t0 },
                PresenceOp::Rekey { old: 1, new: 2 },
                PresenceOp::Remove { conn: 2 },
            ]
        );
        // A viewer on another node counts here, until its report is older than the TTL.
        book.set_remote(vec![RemotePresence { user: "bob".into(), presence: viewing.clone(), updated: t0 }]);
        assert_eq!(book.current("bob", t0), viewing);
        assert_eq!(book.current("bob", t0 + SignedDuration::from_secs(91)), Presence::default());
    }
}
