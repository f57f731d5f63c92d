//! The TUI's copy of one user's inbox and preferences, kept by the sync protocol (DESIGN §6):
//! server truth as the change log delivers it, with the user's own commands laid over it
//! until the server answers. Each command in flight is a [`Pending`] entry; the server's copy
//! of every item under one is kept in `base`, so that a refusal restores exactly what the
//! server holds (including changes that arrived meanwhile) and a server update that arrives
//! before our command's does not make the item flicker back. Pure data: no I/O, no clock.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::index::{Index, Lens};
use crate::model::Notification;
use crate::prefs::{Preferences, Required, timezone};
use crate::sync::protocol::Op;

/// A command sent or queued whose `result` has not come yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub op: Op,
    /// The items the op changed here (for `mark_all_read`, the ones it matched).
    pub ids: Vec<String>,
    /// Sent on the current connection; unsent ones go out on the next `Connected`.
    pub sent: bool,
    /// When the user acted: the `read_at`/`archived_at` the overlay shows.
    pub at: Timestamp,
    /// For `prefs_update`: what to restore if it is refused.
    pub prefs_before: Option<(serde_json::Value, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replica {
    pub user: Option<String>,
    /// What the user sees, by id. ULIDs sort by creation time, so iterating in reverse is
    /// newest first. Read it freely; change it only through the replica's methods, which
    /// keep `index` on it.
    pub notifications: BTreeMap<String, Notification>,
    /// Counts and the list's order, kept up to date with `notifications`.
    index: Index,
    /// The server's copy of every item that a pending command changed here.
    pub base: BTreeMap<String, Notification>,
    /// Commands by request number, in the order the user gave them.
    pub pending: BTreeMap<u64, Pending>,
    /// The last change applied; `hello` sends it so the server replays only what follows.
    pub last_seq: i64,
    /// The server's head as its last `welcome` announced it.
    pub server_seq: i64,
    /// The store's identity; a different one means our history is not its history.
    pub stream: Option<String>,
    pub unread: i64,
    pub prefs: serde_json::Value,
    pub prefs_version: i64,
    /// `prefs` as the engine reads them; `None` when they do not parse (then no quiet
    /// indicator, and UTC for clock times).
    pub parsed_prefs: Option<Preferences>,
    /// The organisation's required cells, as the last `welcome` said (none from a server
    /// that does not say).
    pub required: Required,
    /// The replica was empty at `welcome` and the replay up to the welcome's seq is still
    /// arriving: the user has seen none of it, so the selection stays on the top row.
    pub initial_replay: bool,
    /// Between `snapshot_required` and the refetched inbox: the replica is incomplete.
    pub awaiting_snapshot: bool,
}

impl Replica {
    pub fn set_prefs(&mut self, prefs: serde_json::Value, version: i64) {
        self.parsed_prefs = serde_json::from_value(prefs.clone()).ok();
        self.prefs = prefs;
        self.prefs_version = version;
    }

    /// Takes the policy a `welcome` carries. Read field by field, so a policy with parts
    /// this client does not know still locks the cells it does.
    pub fn set_required(&mut self, policy: Option<&serde_json::Value>) {
        let part = |key: &str| {
            policy
                .and_then(|p| p.get(key))
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default()
        };
        self.required = Required { events: part("events"), categories: part("categories") };
    }

    /// The user's zone for clock times (snooze presets, do-not-disturb): their quiet hours'
    /// zone, else UTC.
    pub fn zone(&self) -> TimeZone {
        self.parsed_prefs
            .as_ref()
            .and_then(|p| timezone(&p.quiet_hours.timezone).ok())
            .unwrap_or(TimeZone::UTC)
    }

    /// Forgets every item: the server's history is not the one we followed.
    pub fn reset(&mut self) {
        self.notifications.clear();
        self.index.clear();
        self.base.clear();
        self.last_seq = 0;
    }

    /// The counts and the list's order under the lens last asked for.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Moves the index to another filter, search or clock.
    pub fn refocus(&mut self, lens: &Lens) {
        self.index.refocus(lens, &self.notifications);
    }

    /// Counts unread items, unless the replica is known to be incomplete (then the badge keeps
    /// the server's count from `welcome`).
    pub fn recount(&mut self) {
        if !self.awaiting_snapshot && !self.initial_replay {
            self.unread = i64::try_from(self.index.unread()).unwrap_or(i64::MAX);
        }
    }

    /// Shows `n` in place of whatever had its id.
    fn put(&mut self, n: Notification) {
        match self.notifications.entry(n.id.clone()) {
            Entry::Occupied(mut e) => {
                self.index.change(Some(e.get()), Some(&n));
                e.insert(n);
            }
            Entry::Vacant(e) => {
                self.index.change(None, Some(&n));
                e.insert(n);
            }
        }
    }

    /// Takes the server's copy of an item, then lays the pending commands that touch it back
    /// over it.
    pub fn confirm(&mut self, n: Notification) {
        if self.pending.values().any(|p| p.ids.contains(&n.id)) {
            self.base.insert(n.id.clone(), n.clone());
            let shown = self.overlaid(n);
            self.put(shown);
        } else {
            self.base.remove(&n.id);
            self.put(n);
        }
    }

    fn overlaid(&self, mut n: Notification) -> Notification {
        let id = n.id.clone();
        for p in self.pending.values().filter(|p| p.ids.contains(&id)) {
            apply_op(&mut n, &p.op, p.at);
        }
        n
    }

    /// Records a command and shows its effect at once. Returns the ids it changed.
    pub fn begin(&mut self, req: u64, pending: Pending) {
        for id in &pending.ids {
            if let Some(n) = self.notifications.get_mut(id) {
                if !self.base.contains_key(id) {
                    self.base.insert(id.clone(), n.clone());
                }
                self.index.edit(n, |n| apply_op(n, &pending.op, pending.at));
            }
        }
        self.pending.insert(req, pending);
        self.recount();
    }

    /// The server answered `req`. Accepted: the overlay stays until the server's change
    /// replaces it. Refused: every item it touched goes back to the server's copy (with the
    /// other pending commands still over it) and preferences to what they were.
    pub fn settle(&mut self, req: u64, accepted: bool) -> Option<Pending> {
        let done = self.pending.remove(&req)?;
        for id in &done.ids {
            let still_pending = self.pending.values().any(|p| p.ids.contains(id));
            if !accepted && let Some(server) = self.base.get(id).cloned() {
                let shown = self.overlaid(server);
                self.put(shown);
            }
            if !still_pending {
                self.base.remove(id);
            }
        }
        if !accepted && let Some((prefs, version)) = done.prefs_before.clone() {
            self.set_prefs(prefs, version);
        }
        self.recount();
        Some(done)
    }

    /// Replaces every item by a refetched inbox, keeping pending commands over it.
    pub fn restore_snapshot(&mut self, items: Vec<Notification>) {
        self.notifications.clear();
        self.index.clear();
        self.base.clear();
        self.awaiting_snapshot = false;
        for n in items {
            self.confirm(n);
        }
        self.recount();
    }
}

pub fn is_unread(n: &Notification) -> bool {
    n.read_at.is_none() && n.archived_at.is_none()
}

/// What an op does to one item, as the server would do it; ops on preferences touch none.
pub fn apply_op(n: &mut Notification, op: &Op, at: Timestamp) {
    match op {
        Op::MarkRead { .. } | Op::MarkAllRead { .. } => {
            n.read_at.get_or_insert(at);
        }
        Op::MarkUnread { .. } => n.read_at = None,
        Op::Archive { .. } => {
            n.archived_at.get_or_insert(at);
        }
        Op::Unarchive { .. } => n.archived_at = None,
        Op::Snooze { until, .. } => n.snoozed_until = Some(*until),
        Op::Unsnooze { .. } => n.snoozed_until = None,
        Op::Bulk { .. } | Op::UndoBulk { .. } | Op::Get { .. } | Op::PrefsUpdate { .. } => {}
    }
}
