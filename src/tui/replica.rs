//! The TUI's copy of one user's inbox and preferences, kept by the sync protocol (DESIGN §6):
//! server truth as `snapshot` pages and then the change log deliver it, each item a compact
//! [`Row`], with the user's own commands laid over it until the server answers. Each command
//! in flight is a [`Pending`] entry (a bulk action's may cover the whole inbox); the server's
//! state of every item under one is kept in `base`, so that a refusal restores exactly what
//! the server holds (including changes that arrived meanwhile) and a server update that
//! arrives before our command's does not make the item flicker back. Pure data: no I/O, no
//! clock.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::index::{Index, Lens};
use super::row::{Id, Row, Symbols};
use crate::model::{ItemState, Notification};
use crate::prefs::{Preferences, Required, timezone};
use crate::sync::protocol::{BulkAction, Op};

/// What a command does to each item it reaches, as the server would do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Read,
    Unread,
    Archive,
    Unarchive,
    Snooze(Timestamp),
    Unsnooze,
}

impl Edit {
    /// The edit an op on items makes; `None` for ops that change no item here (preferences,
    /// `get`, and `undo_bulk`, whose edit its sender knows).
    pub fn of(op: &Op) -> Option<Edit> {
        Some(match op {
            Op::MarkRead { .. } | Op::MarkAllRead { .. } => Edit::Read,
            Op::MarkUnread { .. } => Edit::Unread,
            Op::Archive { .. } => Edit::Archive,
            Op::Unarchive { .. } => Edit::Unarchive,
            Op::Snooze { until, .. } => Edit::Snooze(*until),
            Op::Unsnooze { .. } => Edit::Unsnooze,
            Op::Bulk { action, until, .. } => match action {
                BulkAction::MarkRead => Edit::Read,
                BulkAction::MarkUnread => Edit::Unread,
                BulkAction::Archive => Edit::Archive,
                BulkAction::Unarchive => Edit::Unarchive,
                BulkAction::Snooze => Edit::Snooze((*until)?),
                BulkAction::Unsnooze => Edit::Unsnooze,
            },
            Op::UndoBulk { .. } | Op::Get { .. } | Op::PrefsUpdate { .. } => return None,
        })
    }

    /// Applies it to one item's state; `at` is when the user acted.
    pub fn apply(self, s: &mut ItemState, at: Timestamp) {
        match self {
            Edit::Read => {
                s.read_at.get_or_insert(at);
            }
            Edit::Unread => s.read_at = None,
            Edit::Archive => {
                s.archived_at.get_or_insert(at);
            }
            Edit::Unarchive => s.archived_at = None,
            Edit::Snooze(until) => s.snoozed_until = Some(until),
            Edit::Unsnooze => s.snoozed_until = None,
        }
    }
}

/// A command sent or queued whose `result` has not come yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub op: Op,
    /// What it shows on each of `ids` until the server's copy replaces it.
    pub edit: Option<Edit>,
    /// The items it changed here, sorted (a bulk action's can be the whole inbox, so they
    /// are looked up, never scanned).
    pub ids: Vec<Id>,
    /// Sent on the current connection; unsent ones go out on the next `Connected`.
    pub sent: bool,
    /// When the user acted: the `read_at`/`archived_at` the overlay shows.
    pub at: Timestamp,
    /// For `prefs_update`: what to restore if it is refused.
    pub prefs_before: Option<(serde_json::Value, i64)>,
}

impl Pending {
    pub fn covers(&self, id: &str) -> bool {
        self.ids.binary_search_by(|x| (**x).cmp(id)).is_ok()
    }
}

/// How far the inbox has come in since a `welcome` to a client with no history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loading {
    /// Nothing of it yet.
    Waiting,
    /// `snapshot` pages: `loaded` items of `total`, newest first.
    Snapshot { loaded: u64, total: u64 },
    /// A server without snapshots replays its log: at change `seq` of `head`.
    Replay { seq: i64, head: i64 },
}

impl Loading {
    /// How much of how much, when known.
    pub fn progress(self) -> Option<(u64, u64)> {
        match self {
            Loading::Waiting => None,
            Loading::Snapshot { loaded, total } => Some((loaded, total)),
            Loading::Replay { seq, head } => {
                Some((u64::try_from(seq).unwrap_or(0), u64::try_from(head).unwrap_or(0)))
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replica {
    pub user: Option<String>,
    /// What the user sees, by id. ULIDs sort by creation time, so iterating in reverse is
    /// newest first. Changed only through the replica's methods, which keep `index` on it.
    items: BTreeMap<Id, Row>,
    /// Counts and the list's order, kept up to date with `items`.
    index: Index,
    /// The server's state of every item that a pending command changed here.
    base: BTreeMap<Id, ItemState>,
    /// Commands by request number, in the order the user gave them.
    pub pending: BTreeMap<u64, Pending>,
    symbols: Symbols,
    /// The resume cursor: the last change applied (or, after a snapshot, the welcome's seq).
    /// `hello` sends it so the server sends only what follows, and bulk actions send it as
    /// `up_to` (what the user had seen).
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
    /// Set from a `welcome` to a client with no history until its inbox is in: the badge
    /// keeps the server's count, the header shows the progress and bulk actions wait.
    pub loading: Option<Loading>,
    /// After `snapshot_required`: the inbox is refetched on a new connection, and what the
    /// old one still sends is ignored.
    pub resyncing: bool,
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

    /// Every item, by id.
    pub fn items(&self) -> &BTreeMap<Id, Row> {
        &self.items
    }

    pub fn get(&self, id: &str) -> Option<&Row> {
        self.items.get(id)
    }

    /// Forgets every item (the pending commands stay, to be laid over what comes next).
    pub fn reset(&mut self) {
        self.items.clear();
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
        self.index.refocus(lens, &self.items);
    }

    /// Counts unread items, unless the replica is known to be incomplete (then the badge keeps
    /// the server's count from `welcome`).
    pub fn recount(&mut self) {
        if self.loading.is_none() && !self.resyncing {
            self.unread = i64::try_from(self.index.unread()).unwrap_or(i64::MAX);
        }
    }

    /// Shows `row` in place of whatever had its id.
    fn put(&mut self, row: Row) {
        match self.items.entry(Arc::clone(&row.id)) {
            Entry::Occupied(mut e) => {
                self.index.change(Some(e.get()), Some(&row));
                e.insert(row);
            }
            Entry::Vacant(e) => {
                self.index.change(None, Some(&row));
                e.insert(row);
            }
        }
    }

    /// Takes the server's copy of an item, then lays the pending commands that touch it back
    /// over it.
    pub fn confirm(&mut self, n: Notification) {
        let mut row = Row::new(n, &mut self.symbols);
        if self.pending.values().any(|p| p.covers(&row.id)) {
            self.base.insert(Arc::clone(&row.id), row.state);
            row.state = overlaid(&self.pending, &row.id, row.state);
        } else {
            self.base.remove(&row.id);
        }
        self.put(row);
    }

    /// The server changed one field of each of `ids` (a bulk action's compact change): the
    /// items we have take it, under whatever pending commands still cover them.
    pub fn set_states(&mut self, ids: &[String], set: impl Fn(&mut ItemState)) {
        for id in ids {
            let Some(row) = self.items.get_mut(id.as_str()) else { continue };
            if self.pending.values().any(|p| p.covers(id)) {
                let server = self.base.entry(Arc::clone(&row.id)).or_insert(row.state);
                set(server);
                let shown = overlaid(&self.pending, id, *server);
                self.index.edit(row, |r| r.state = shown);
            } else {
                self.index.edit(row, |r| set(&mut r.state));
            }
        }
    }

    /// Records a command and shows its effect at once.
    pub fn begin(&mut self, req: u64, pending: Pending) {
        if let Some(edit) = pending.edit {
            for id in &pending.ids {
                if let Some(row) = self.items.get_mut(&**id) {
                    self.base.entry(Arc::clone(id)).or_insert(row.state);
                    self.index.edit(row, |r| edit.apply(&mut r.state, pending.at));
                }
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
            if !accepted
                && let Some(server) = self.base.get(&**id).copied()
                && let Some(row) = self.items.get_mut(&**id)
            {
                let shown = overlaid(&self.pending, id, server);
                self.index.edit(row, |r| r.state = shown);
            }
            if !self.pending.values().any(|p| p.covers(id)) {
                self.base.remove(&**id);
            }
        }
        if !accepted && let Some((prefs, version)) = done.prefs_before.clone() {
            self.set_prefs(prefs, version);
        }
        self.recount();
        Some(done)
    }

    /// One `snapshot` page. The first page of a snapshot replaces whatever we had (a
    /// connection that dropped mid-snapshot starts over; pending commands stay over it);
    /// after the last, the resume cursor is the welcome's seq, where the changes go on.
    pub fn snapshot_page(&mut self, items: Vec<Notification>, loaded: u64, total: u64, done: bool) {
        if usize::try_from(loaded).is_ok_and(|l| l <= items.len()) {
            self.reset();
        }
        for n in items {
            self.confirm(n);
        }
        if done {
            self.loading = None;
            self.last_seq = self.last_seq.max(self.server_seq);
        } else {
            self.loading = Some(Loading::Snapshot { loaded, total });
        }
        self.recount();
    }

    /// Whether the server's state of some item is kept because a pending command covers it
    /// (none once every command is answered).
    #[cfg(test)]
    pub fn has_base(&self) -> bool {
        !self.base.is_empty()
    }
}

/// `state` with every pending command that covers `id` laid over it, in the order given.
fn overlaid(pending: &BTreeMap<u64, Pending>, id: &str, mut state: ItemState) -> ItemState {
    for p in pending.values().filter(|p| p.covers(id)) {
        if let Some(edit) = p.edit {
            edit.apply(&mut state, p.at);
        }
    }
    state
}
