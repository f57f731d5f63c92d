//! The TUI's whole state: the inbox replica, the details of the items opened lately, what the
//! screen shows (selection, focus, mode, view, filter, search), the undo stack, the status
//! line and the time `now` that relative ages are measured from. Everything the view draws
//! is derived from here, so a state can be drawn, compared and tested as a plain value.
//! Queries only: changes happen in `update`.

use super::details::Details;
use super::groups::{Groups, Mark, Stamp};
use super::index::{Index, Lens};
use super::layout;
use super::prefs::Editor;
use super::replica::{Edit, Replica};
use super::row::{Id, Row};
use super::state::{Focus, Mode, PopupState, PresenceReport};
use crate::engine::quiet::{Quiet, quiet_at};
use crate::model::{InboxFilter, View};
use crate::sync::protocol::Op;
use jiff::Timestamp;
use std::collections::BTreeSet;

/// How the TUI reaches the inbox, as the header says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Starting: no connection tried yet.
    Connecting,
    /// The engine runs in this process (in-process channel pair).
    Embedded,
    Connected {
        host: String,
    },
    Reconnecting {
        in_secs: u64,
    },
    Offline,
    /// The server refused the token: no retry until the user fixes it (the status line
    /// says how).
    Refused,
}

impl Connection {
    /// Commands go out now (else they wait in the offline queue).
    pub fn is_up(&self) -> bool {
        matches!(self, Connection::Embedded | Connection::Connected { .. })
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
    /// `None` until the server answers a bulk action with the id that undoes it.
    pub inverse: Option<Op>,
    /// What the undo shows at once, on `ids`.
    pub edit: Option<Edit>,
    /// The items it changed here, sorted.
    pub ids: Vec<Id>,
    pub label: String,
    /// Further ops that reverse it, each on its own ids (an action on a selection whose
    /// items were in different states, or on more items than one command may name).
    pub also: Vec<Op>,
    /// A mute (`m`): the names of the rules it added, which the undo removes from whatever
    /// the preferences are by then.
    pub unmute: Vec<String>,
    /// `u` was pressed before the server's answer came: the undo runs when it does.
    pub undo_on_answer: bool,
}

/// One thread's items in the list, and where the list was before (`esc` goes back there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadView {
    pub name: String,
    /// The item the cursor was on, its row and the first row drawn.
    pub back: (Option<String>, usize, usize),
}

/// `|`: the command typed, and where its run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeView {
    pub command: String,
    /// The item whose JSON goes to it.
    pub id: Id,
    pub stage: PipeStage,
    /// How far the output is scrolled.
    pub scroll: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipeStage {
    Typing,
    /// Asking the server for the item in full (the replica keeps no data or deliveries);
    /// `req` is the `get`'s, and names the run after.
    Fetching {
        req: u64,
    },
    Running {
        run: u64,
    },
    Done(super::action::PipeOutcome),
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
    /// The view, category and lowest urgency the list shows (its `q` is `search`).
    pub filter: InboxFilter,
    /// Incremental search; matches title, body, type, category and thread
    /// (`model::text_matches`).
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
    /// Details of the items opened lately, fetched from the server.
    pub details: Details,
    /// What the server was last told about the user's presence.
    pub presence: PresenceReport,
    /// Which desktop popups this client raised.
    pub popups: PopupState,
    /// The command palette's query and highlighted match, while it is open.
    pub palette: super::palette::Palette,
    /// How far help is scrolled (on a terminal too short for it).
    pub help_scroll: u16,
    /// `NO_COLOR` is set: the view draws attributes only (reverse, bold, marks), no colour.
    pub no_color: bool,
    /// The items picked with `space` or `*`, which `r`, `a`, `s` and `m` act on.
    pub marked: BTreeSet<Id>,
    /// `*` picked everything this filter showed, up to this change, and nothing was toggled
    /// since: an action on the selection goes out as one bulk command on that filter.
    pub marked_all: Option<(InboxFilter, i64)>,
    /// `enter` on a thread: the list shows its items only, until `esc`.
    pub thread: Option<ThreadView>,
    /// `|`: the command and its output, while its prompt or output is open.
    pub pipe: Option<PipeView>,
    /// The last command piped to, offered again at the next `|`.
    pub last_pipe: String,
    /// `t`: the list groups each thread's items under its newest.
    pub grouped: bool,
    /// The grouped order, kept for what the screen shows (`refocus` renews it).
    pub groups: super::groups::Groups,
    /// The keys, with `[tui.keys]` in place of the defaults they replace.
    pub keys: super::keymap::Keymap,
    /// The colours of `[tui.theme]`.
    pub theme: super::theme::Theme,
}

impl App {
    pub fn new(now: Timestamp) -> App {
        App {
            connection: Connection::Connecting,
            retry_at: None,
            replica: Replica::default(),
            selected: 0,
            list_offset: 0,
            focus: Focus::List,
            detail_open: false,
            detail_scroll: 0,
            filter: InboxFilter::default(),
            search: String::new(),
            mode: Mode::Normal,
            undo: Vec::new(),
            next_req: 1,
            status: None,
            now,
            size: (80, 24),
            editor: None,
            system_zone: None,
            details: Details::default(),
            presence: PresenceReport::default(),
            popups: PopupState::default(),
            palette: Default::default(),
            help_scroll: 0,
            no_color: false,
            marked: BTreeSet::new(),
            marked_all: None,
            keys: Default::default(),
            theme: Default::default(),
            thread: None,
            pipe: None,
            last_pipe: String::new(),
            grouped: false,
            groups: Default::default(),
        }
    }

    /// What the list shows now, as a lens over the inbox.
    pub fn lens(&self) -> Lens {
        Lens::new(self.filter.clone(), &self.search, self.now)
            .in_thread(self.thread.as_ref().map(|t| t.name.as_str()))
    }

    /// The filter as the server takes it: the view, category, urgency and the search.
    pub fn inbox_filter(&self) -> InboxFilter {
        InboxFilter { q: (!self.search.is_empty()).then(|| self.search.clone()), ..self.filter.clone() }
    }

    pub fn view(&self) -> View {
        self.filter.view
    }

    /// The replica's index, if it was kept for what the screen shows now (`update` keeps it
    /// so); `None` sends a query the long way, over every item.
    fn index(&self) -> Option<&Index> {
        let index = self.replica.index();
        let lens = index.lens();
        (lens.now == self.now
            && lens.search() == self.search
            && *lens.filter() == self.filter
            && lens.thread() == self.thread.as_ref().map(|t| t.name.as_str())
            && index.total() == self.replica.items().len())
        .then_some(index)
    }

    /// Points the replica's index at the current filter, search and clock, and renews the
    /// grouped order (`t`) when what the list shows changed.
    pub fn refocus(&mut self) {
        if self.index().is_none() {
            let lens = self.lens();
            self.replica.refocus(&lens);
        }
        if !self.grouped {
            if self.groups.len() > 0 {
                self.groups = Groups::default();
            }
            return;
        }
        let stamp = Stamp {
            filter: self.filter.clone(),
            search: self.search.clone(),
            thread: self.thread.as_ref().map(|t| t.name.clone()),
            total: self.replica.items().len(),
            shown: self.replica.index().shown_len(),
            last_seq: self.replica.last_seq,
            next_req: self.next_req,
        };
        if !self.groups.built_for(&stamp) {
            let items = self.replica.items();
            let flat = self.replica.index().shown_from(0).filter_map(|id| items.get(id));
            self.groups = Groups::build(stamp, flat);
        }
    }

    /// The grouped order, when `t` is on and it follows the list.
    fn grouping(&self) -> Option<&Groups> {
        let index = self.index()?;
        (self.grouped && self.groups.len() == index.shown_len()).then_some(&self.groups)
    }

    /// Where list row `row` sits in its thread's group, while the list is grouped.
    pub fn group_mark(&self, row: usize) -> Option<Mark> {
        self.grouping()?.mark(row)
    }

    /// The list, newest first.
    #[cfg(test)]
    pub fn listed(&self) -> Vec<&Row> {
        self.listed_from(0).collect()
    }

    /// The list from row `row` down.
    pub fn listed_from(&self, row: usize) -> Box<dyn Iterator<Item = &Row> + '_> {
        let items = self.replica.items();
        if let Some(groups) = self.grouping() {
            return Box::new(groups.from(row).filter_map(|id| items.get(id)));
        }
        match self.index() {
            Some(index) => Box::new(index.shown_from(row).filter_map(|id| items.get(id))),
            None => {
                let lens = self.lens();
                Box::new(items.values().rev().filter(move |r| lens.shows(r)).skip(row))
            }
        }
    }

    /// How many rows the list has.
    pub fn listed_len(&self) -> usize {
        match self.index() {
            Some(index) => index.shown_len(),
            None => {
                let lens = self.lens();
                self.replica.items().values().filter(|r| lens.shows(r)).count()
            }
        }
    }

    /// The item on list row `row`.
    pub fn listed_nth(&self, row: usize) -> Option<&Row> {
        if let Some(groups) = self.grouping() {
            return groups.at(row).and_then(|id| self.replica.get(id));
        }
        match self.index() {
            Some(index) => index.shown_at(row).and_then(|id| self.replica.get(id)),
            None => self.listed_from(row).next(),
        }
    }

    pub fn selected_item(&self) -> Option<&Row> {
        self.listed_nth(self.selected)
    }

    /// How many of the listed items are unread: what `R` marks read.
    pub fn listed_unread(&self) -> usize {
        match self.index() {
            Some(index) => index.shown_unread(),
            None => self.listed_from(0).filter(|r| r.is_unread(self.now)).count(),
        }
    }

    /// The ids of the listed unread items, sorted: what `R` shows read at once.
    pub fn listed_unread_ids(&self) -> Vec<Id> {
        let mut ids: Vec<Id> =
            self.listed_from(0).filter(|r| r.is_unread(self.now)).map(|r| Id::clone(&r.id)).collect();
        ids.reverse();
        ids
    }

    /// Whether any item is neither archived nor snoozed.
    pub fn any_awake(&self) -> bool {
        match self.index() {
            Some(index) => index.awake() > 0,
            None => {
                self.replica.items().values().any(|r| !r.is_archived() && r.snoozed_at(self.now).is_none())
            }
        }
    }

    /// Every category with items in the inbox, by name, with how many are unread. The
    /// filtered category stays listed even when it empties.
    pub fn categories(&self) -> Vec<(String, usize)> {
        self.tally().categories
    }

    /// The sidebar's counts and the list's length: read from the replica's index when it
    /// follows what the screen shows (always, after `update`), else in one pass over the inbox.
    pub fn tally(&self) -> Tally {
        if let Some(index) = self.index() {
            let mut categories: Vec<(String, usize)> =
                index.categories().iter().map(|(c, n)| (c.to_string(), n.unread)).collect();
            if let Some(c) = &self.filter.category
                && let Err(at) = categories.binary_search_by(|(k, _)| k.as_str().cmp(c))
            {
                categories.insert(at, (c.clone(), 0));
            }
            return Tally { categories, shown: index.shown_len() };
        }
        let lens = self.lens();
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        let mut shown = 0;
        for r in self.replica.items().values() {
            shown += usize::from(lens.shows(r));
            if !r.is_archived() {
                *counts.entry(&r.category).or_default() += usize::from(r.is_unread(self.now));
            }
        }
        if let Some(c) = &self.filter.category {
            counts.entry(c).or_default();
        }
        Tally { categories: counts.into_iter().map(|(c, n)| (c.to_string(), n)).collect(), shown }
    }

    /// How many items arrived in each of `buckets` equal slices of the last 24 hours, oldest
    /// first. Ids sort by arrival, so only the last day's items are read.
    pub fn activity(&self, buckets: usize) -> Vec<u64> {
        let mut out = vec![0; buckets];
        let day = 86_400i64;
        let now = self.now.as_second();
        for r in self.replica.items().values().rev() {
            let ago = now - r.created_at.as_second();
            if ago >= day {
                break;
            }
            if let Ok(ago) = usize::try_from(ago)
                && buckets > 0
            {
                let slot = ago * buckets / 86_400;
                out[buckets - 1 - slot.min(buckets - 1)] += 1;
            }
        }
        out
    }

    /// Like [`App::activity`], for each category apart (the sidebar's sparklines on the wide
    /// layout): category → counts, oldest slice first.
    pub fn activity_by_category(&self, buckets: usize) -> std::collections::HashMap<&str, Vec<u64>> {
        let mut out: std::collections::HashMap<&str, Vec<u64>> = std::collections::HashMap::new();
        let now = self.now.as_second();
        for r in self.replica.items().values().rev() {
            let ago = now - r.created_at.as_second();
            if ago >= 86_400 {
                break;
            }
            if let Ok(ago) = usize::try_from(ago)
                && buckets > 0
            {
                let slot = (ago * buckets / 86_400).min(buckets - 1);
                out.entry(&r.category).or_insert_with(|| vec![0; buckets])[buckets - 1 - slot] += 1;
            }
        }
        out
    }

    /// Before the first `welcome`, or while the inbox comes in: the header and the list
    /// say so instead of "no unread".
    pub fn loading(&self) -> bool {
        self.replica.user.is_none() || self.replica.loading.is_some() || self.replica.resyncing
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

    /// Forgets the selection (`esc`, or once an action took it).
    pub fn clear_marks(&mut self) {
        self.marked.clear();
        self.marked_all = None;
    }

    /// Puts the cursor on item `id` if the list shows it (after an undo brought it back).
    pub(crate) fn select_item(&mut self, id: &str) {
        self.refocus();
        let row = match self.index() {
            Some(_) if self.grouping().is_some() => self.grouping().and_then(|g| g.row_of(id)),
            Some(index) => index.row_of(id),
            None => self.listed_from(0).position(|r| &*r.id == id),
        };
        if let Some(row) = row {
            self.selected = row;
            self.keep_in_view(self.listed_len());
        }
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
            Some(index) if self.grouping().is_some() => {
                (anchor.and_then(|a| self.groups.row_of(a)), index.shown_len())
            }
            Some(index) => (anchor.and_then(|a| index.row_of(a)), index.shown_len()),
            None => {
                let (mut found, mut len) = (None, 0);
                for r in self.listed_from(0) {
                    if anchor == Some(&*r.id) {
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
