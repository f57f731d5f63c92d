//! The TUI's whole state: the inbox replica, what the screen shows (selection, focus, mode,
//! filter, search), the undo stack, the status line and the time `now` that relative ages are
//! measured from. Everything the view draws is derived from here, so a state can be drawn,
//! compared and tested as a plain value. Queries only: changes happen in `update`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::index::{Index, Lens};
use super::layout;
use super::prefs::{Editor, Tab};
use super::replica::{Replica, is_unread};
use crate::engine::quiet::{Quiet, quiet_at};
use crate::model::{Notification, Urgency};
use crate::sync::protocol::Op;

/// How the TUI reaches the inbox, as the header says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The engine runs in this process (in-process channel pair).
    Embedded,
    Connected {
        host: String,
    },
    Reconnecting {
        in_secs: u64,
    },
    Offline,
}

impl Connection {
    /// Commands go out now (else they wait in the offline queue).
    pub fn is_up(&self) -> bool {
        matches!(self, Connection::Embedded | Connection::Connected { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Focus {
    Sidebar,
    List,
    Detail,
}

/// Which keymap is live and which overlay shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Normal,
    Search,
    Help,
    ConfirmMarkAllRead,
    SnoozeMenu,
    DndMenu,
    FilterMenu,
    /// The preference editor on a tab.
    Prefs(Tab),
    /// Typing in one of the editor's text fields.
    PrefsField,
    /// A rule's form.
    PrefsRule,
    /// A save met a newer version on the server.
    PrefsConflict,
    /// Leaving the editor with unsaved changes.
    PrefsLeave,
    /// "Remove this push device?"
    PrefsRemoveDevice,
}

impl Mode {
    pub fn in_prefs(self) -> bool {
        matches!(
            self,
            Mode::Prefs(_)
                | Mode::PrefsField
                | Mode::PrefsRule
                | Mode::PrefsConflict
                | Mode::PrefsLeave
                | Mode::PrefsRemoveDevice
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub unread_only: bool,
    pub category: Option<String>,
    pub urgency_at_least: Option<Urgency>,
}

impl Filter {
    pub fn admits(&self, n: &Notification) -> bool {
        (!self.unread_only || n.read_at.is_none())
            && self.category.as_ref().is_none_or(|c| *c == n.category)
            && self.urgency_at_least.is_none_or(|u| n.urgency >= u)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// What one pass over the inbox counts for a draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Category → unread (and not snoozed), by name.
    pub categories: Vec<(String, usize)>,
    /// How many items the list shows (filter and search applied).
    pub shown: usize,
}

/// A user action that `u` can take back: the op that reverses it.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoEntry {
    /// The command it reverses; dropped if the server refuses that command.
    pub req: u64,
    pub inverse: Op,
    pub label: String,
}

/// How many actions `u` can take back.
pub const UNDO_DEPTH: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub connection: Connection,
    /// When the next reconnect is due, so ticks can count down.
    pub retry_at: Option<Timestamp>,
    pub replica: Replica,
    /// Index into [`App::listed`].
    pub selected: usize,
    /// First listed row drawn: the list renders only the rows that fit from here.
    pub list_offset: usize,
    pub focus: Focus,
    pub detail_open: bool,
    pub detail_scroll: u16,
    pub filter: Filter,
    /// Incremental search; matches title, body, type, category and thread.
    pub search: String,
    pub mode: Mode,
    pub undo: Vec<UndoEntry>,
    /// The next command's `req`; requests are numbered in the order the user acted.
    pub next_req: u64,
    pub status: Option<Status>,
    pub now: Timestamp,
    /// The terminal's size, for paging.
    pub size: (u16, u16),
    /// The preference editor, while open.
    pub editor: Option<Editor>,
    /// The system's IANA time zone (the shell asks once), offered first in the editor.
    pub system_zone: Option<String>,
}

impl App {
    pub fn new(now: Timestamp) -> App {
        App {
            connection: Connection::Offline,
            retry_at: None,
            replica: Replica::default(),
            selected: 0,
            list_offset: 0,
            focus: Focus::List,
            detail_open: false,
            detail_scroll: 0,
            filter: Filter::default(),
            search: String::new(),
            mode: Mode::Normal,
            undo: Vec::new(),
            next_req: 1,
            status: None,
            now,
            size: (80, 24),
            editor: None,
            system_zone: None,
        }
    }

    /// Whether an item belongs in the list: in the inbox, not archived, not snoozed, and
    /// admitted by the filter and the search.
    pub fn shows(&self, n: &Notification) -> bool {
        listed_under(n, &self.filter, &self.search, self.now)
    }

    /// The replica's index, if it was kept for what the screen shows now (`update` keeps it
    /// so); `None` sends a query the long way, over every item.
    fn index(&self) -> Option<&Index> {
        let index = self.replica.index();
        let lens = index.lens();
        (lens.now == self.now
            && lens.search == self.search
            && lens.filter == self.filter
            && index.total() == self.replica.notifications.len())
        .then_some(index)
    }

    /// Points the replica's index at the current filter, search and clock.
    pub fn refocus(&mut self) {
        if self.index().is_none() {
            let lens = Lens { filter: self.filter.clone(), search: self.search.clone(), now: self.now };
            self.replica.refocus(&lens);
        }
    }

    /// The list, newest first.
    pub fn listed(&self) -> Vec<&Notification> {
        self.listed_from(0).collect()
    }

    /// The list from row `row` down.
    pub fn listed_from(&self, row: usize) -> Box<dyn Iterator<Item = &Notification> + '_> {
        let items = &self.replica.notifications;
        match self.index() {
            Some(index) => Box::new(index.shown_from(row).filter_map(|id| items.get(id))),
            None => Box::new(items.values().rev().filter(|n| self.shows(n)).skip(row)),
        }
    }

    /// How many rows the list has.
    pub fn listed_len(&self) -> usize {
        match self.index() {
            Some(index) => index.shown_len(),
            None => self.replica.notifications.values().filter(|n| self.shows(n)).count(),
        }
    }

    /// The item on list row `row`.
    pub fn listed_nth(&self, row: usize) -> Option<&Notification> {
        match self.index() {
            Some(index) => index.shown_at(row).and_then(|id| self.replica.notifications.get(id)),
            None => self.listed_from(row).next(),
        }
    }

    pub fn selected_notification(&self) -> Option<&Notification> {
        self.listed_nth(self.selected)
    }

    /// Whether any item is neither archived nor snoozed.
    pub fn any_awake(&self) -> bool {
        match self.index() {
            Some(index) => index.awake() > 0,
            None => self
                .replica
                .notifications
                .values()
                .any(|n| n.archived_at.is_none() && n.snoozed_until.is_none_or(|t| t <= self.now)),
        }
    }

    /// Every category with items in the inbox, by name, with how many are unread (and not
    /// snoozed). The filtered category stays listed even when it empties.
    pub fn categories(&self) -> Vec<(String, usize)> {
        self.tally().categories
    }

    /// The sidebar's counts and the list's length: read from the replica's index when it
    /// follows what the screen shows (always, after `update`), else in one pass over the inbox.
    pub fn tally(&self) -> Tally {
        if let Some(index) = self.index() {
            let mut categories: Vec<(String, usize)> =
                index.categories().iter().map(|(c, n)| (c.clone(), n.unread)).collect();
            if let Some(c) = &self.filter.category
                && let Err(at) = categories.binary_search_by(|(k, _)| k.as_str().cmp(c))
            {
                categories.insert(at, (c.clone(), 0));
            }
            return Tally { categories, shown: index.shown_len() };
        }
        // No allocation per item: there are few categories, so a short list searched from
        // the last hit beats any map.
        let mut counts: Vec<(&str, usize)> = Vec::new();
        let mut last = 0;
        let mut shown = 0;
        for n in self.replica.notifications.values().filter(|n| n.archived_at.is_none()) {
            shown += usize::from(self.shows(n));
            let unread = usize::from(is_unread(n) && n.snoozed_until.is_none_or(|t| t <= self.now));
            let c = n.category.as_str();
            if counts.get(last).is_some_and(|(k, _)| *k == c) {
                counts[last].1 += unread;
            } else if let Some(i) = counts.iter().position(|(k, _)| *k == c) {
                counts[i].1 += unread;
                last = i;
            } else {
                counts.push((c, unread));
                last = counts.len() - 1;
            }
        }
        if let Some(c) = &self.filter.category
            && !counts.iter().any(|(k, _)| k == c)
        {
            counts.push((c.as_str(), 0));
        }
        counts.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Tally { categories: counts.into_iter().map(|(c, n)| (c.to_string(), n)).collect(), shown }
    }

    /// What "mark all read" marks: every unread item, only in the filtered category when one
    /// is chosen (what the server's `mark_all_read` does with the same filter).
    pub fn mark_all_targets(&self) -> Vec<String> {
        let category = self.filter.category.as_ref();
        self.replica
            .notifications
            .values()
            .filter(|n| is_unread(n) && category.is_none_or(|c| *c == n.category))
            .map(|n| n.id.clone())
            .collect()
    }

    pub fn list_rows(&self) -> usize {
        layout::list_rows(self.size.0, self.size.1, self.detail_open)
    }

    /// Quiet hours or do-not-disturb in force now, by the engine's own rule.
    pub fn quiet(&self) -> Option<Quiet> {
        let p = self.replica.parsed_prefs.as_ref()?;
        quiet_at(&p.quiet_hours, &self.replica.zone(), p.dnd.until, self.now)
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.status = Some(Status { text: text.into(), error: false });
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.status = Some(Status { text: text.into(), error: true });
    }

    /// Keeps the selection on the item it was on when the list changed under it (a new
    /// item arrived above, a filter changed); if that item left the list, the selection
    /// stays at the same row, which is now the next item.
    pub(crate) fn reselect(&mut self, anchor: Option<&str>) {
        // The common case while a large inbox loads: nothing to keep and nothing to clamp.
        if anchor.is_none() && self.selected == 0 && self.list_offset == 0 {
            return;
        }
        let (found, len) = match self.index() {
            Some(index) => (anchor.and_then(|a| index.row_of(a)), index.shown_len()),
            None => {
                let (mut found, mut len) = (None, 0);
                for n in self.replica.notifications.values().rev().filter(|n| self.shows(n)) {
                    if anchor == Some(n.id.as_str()) {
                        found = Some(len);
                    }
                    len += 1;
                }
                (found, len)
            }
        };
        if let Some(i) = found {
            self.selected = i;
        }
        self.selected = self.selected.min(len.saturating_sub(1));
        self.keep_in_view(len);
    }

    /// Moves the drawn window just enough to show the selected row.
    fn keep_in_view(&mut self, len: usize) {
        let rows = self.list_rows().max(1);
        if self.selected < self.list_offset {
            self.list_offset = self.selected;
        } else if self.selected >= self.list_offset + rows {
            self.list_offset = self.selected + 1 - rows;
        }
        self.list_offset = self.list_offset.min(len.saturating_sub(rows));
    }
}

/// Whether the list shows `n` under this filter and search at `now`: in the inbox, not
/// archived, not snoozed, admitted by both.
pub(crate) fn listed_under(n: &Notification, filter: &Filter, search: &str, now: Timestamp) -> bool {
    n.archived_at.is_none()
        && n.snoozed_until.is_none_or(|t| t <= now)
        && filter.admits(n)
        && matches_search(n, search)
}

fn matches_search(n: &Notification, search: &str) -> bool {
    if search.is_empty() {
        return true;
    }
    let needle = search.to_lowercase();
    [Some(&n.title), n.body.as_ref(), Some(&n.kind), Some(&n.category), n.thread.as_ref()]
        .into_iter()
        .flatten()
        .any(|hay| hay.to_lowercase().contains(&needle))
}
