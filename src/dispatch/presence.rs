//! Who is looking at what, as clients report it (DESIGN §4 step 4). Entries expire after the
//! configured TTL unless a heartbeat renews them; a closed connection removes its entry.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

use crate::engine::{Presence, PresenceState};

struct Entry {
    presence: Presence,
    updated: Timestamp,
}

pub struct PresenceBook {
    ttl: SignedDuration,
    by_user: Mutex<HashMap<String, HashMap<u64, Entry>>>,
}

impl PresenceBook {
    pub fn new(ttl: SignedDuration) -> PresenceBook {
        PresenceBook { ttl, by_user: Mutex::default() }
    }

    pub fn set(&self, user: &str, conn: u64, presence: Presence, now: Timestamp) {
        let mut map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(user.to_string()).or_default().insert(conn, Entry { presence, updated: now });
    }

    pub fn remove(&self, user: &str, conn: u64) {
        let mut map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = map.get_mut(user) {
            m.remove(&conn);
            if m.is_empty() {
                map.remove(user);
            }
        }
    }

    /// Moves a connection's entry to its new id (a connection that fell behind gets a new
    /// hub subscription, and its presence must follow, not linger under the old id).
    pub fn rekey(&self, user: &str, old: u64, new: u64) {
        let mut map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = map.get_mut(user)
            && let Some(e) = m.remove(&old)
        {
            m.insert(new, e);
        }
    }

    /// The user's presence now: the most recent live active client, else idle if any client
    /// is live, else away.
    pub fn current(&self, user: &str, now: Timestamp) -> Presence {
        let map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entries) = map.get(user) else { return Presence::default() };
        let live = entries.values().filter(|e| now.duration_since(e.updated) <= self.ttl);
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
}
