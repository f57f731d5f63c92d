//! What a draw needs to know about the whole inbox, kept up to date as items change instead
//! of counted on every draw (DESIGN §10: a redraw must not depend on the inbox's size): the
//! unread total, each category's counts, the ids the list shows, in order, and how many of
//! those are unread (what `R` would mark). "Unread" and "shows" are the model's own
//! definitions (`model::is_unread`, `InboxFilter::admits`, `text_matches`), the ones the
//! server's counts, listings and bulk actions use. The replica tells the index about every
//! item it replaces ([`Index::change`], [`Index::edit`]); what depends on the screen's view,
//! filter, search and clock is computed for one [`Lens`], and [`Index::refocus`] moves it to
//! another (only the snoozed items whose snooze ends in between when only the clock moved).
//! Pure data, like the replica.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;

use super::row::{Id, Row};
use crate::model::{InboxFilter, text_matches};

/// Everything besides an item itself that decides whether the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lens {
    /// The view, category and lowest urgency; its `q` stays empty (the search is `search`).
    filter: InboxFilter,
    search: String,
    /// `search` folded once, as [`text_matches`] takes it.
    needle: String,
    /// Only this thread's items (`enter` on a thread).
    thread: Option<String>,
    pub now: Timestamp,
}

impl Default for Lens {
    fn default() -> Lens {
        Lens::new(InboxFilter::default(), "", Timestamp::UNIX_EPOCH)
    }
}

impl Lens {
    pub fn new(filter: InboxFilter, search: &str, now: Timestamp) -> Lens {
        Lens {
            filter: InboxFilter { q: None, ..filter },
            search: search.to_string(),
            needle: search.to_lowercase(),
            thread: None,
            now,
        }
    }

    /// The same lens on one thread's items only (or on all, with `None`).
    pub fn in_thread(self, thread: Option<&str>) -> Lens {
        Lens { thread: thread.map(str::to_string), ..self }
    }

    pub fn thread(&self) -> Option<&str> {
        self.thread.as_deref()
    }

    pub fn filter(&self) -> &InboxFilter {
        &self.filter
    }

    pub fn search(&self) -> &str {
        &self.search
    }

    /// The model's own filter (view, category, urgency) and search: the list shows what the
    /// server's listing and bulk actions would take, nothing of its own.
    pub fn shows(&self, r: &Row) -> bool {
        self.filter.admits(&r.state, r.urgency, r.text(), self.now)
            && text_matches(&self.needle, r.text())
            && self.thread.as_deref().is_none_or(|t| r.thread.as_deref() == Some(t))
    }

    fn awake(&self, r: &Row) -> bool {
        r.snoozed_at(self.now).is_none()
    }
}

/// One category's items outside the archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CategoryCount {
    /// Not archived.
    pub present: usize,
    /// Not archived and not snoozed (at the lens's `now`).
    pub awake: usize,
    /// Unread (`model::is_unread` at the lens's `now`).
    pub unread: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Index {
    lens: Lens,
    /// Items indexed: equal to the replica's while the index follows it.
    total: usize,
    /// Unread by `model::is_unread` at the lens's `now` (the header's badge).
    unread: usize,
    categories: BTreeMap<Arc<str>, CategoryCount>,
    /// Every item with a snooze time, by that time: the ones a moving clock can wake.
    snoozed: BTreeSet<(Timestamp, Id)>,
    /// The ids the list shows under `lens`, oldest first.
    shown: Ranked,
    /// How many of those are unread: what "mark all read" would mark.
    shown_unread: usize,
}

impl Index {
    pub fn lens(&self) -> &Lens {
        &self.lens
    }

    pub fn total(&self) -> usize {
        self.total
    }

    pub fn unread(&self) -> usize {
        self.unread
    }

    /// Category → counts, by name; only categories with items outside the archive.
    pub fn categories(&self) -> &BTreeMap<Arc<str>, CategoryCount> {
        &self.categories
    }

    /// Items neither archived nor snoozed.
    pub fn awake(&self) -> usize {
        self.categories.values().map(|c| c.awake).sum()
    }

    pub fn shown_len(&self) -> usize {
        self.shown.len()
    }

    /// Unread items among those the list shows.
    pub fn shown_unread(&self) -> usize {
        self.shown_unread
    }

    /// The id on list row `row` (0 is the newest).
    pub fn shown_at(&self, row: usize) -> Option<&Id> {
        let last = self.shown.len().checked_sub(1)?;
        self.shown.get(last.checked_sub(row)?)
    }

    /// The list row of `id`, if the list shows it.
    pub fn row_of(&self, id: &str) -> Option<usize> {
        self.shown.rank(id).map(|r| self.shown.len() - 1 - r)
    }

    /// The list's ids from row `row` down.
    pub fn shown_from(&self, row: usize) -> impl Iterator<Item = &Id> {
        let len = self.shown.len();
        let top = row.checked_add(1).and_then(|r| len.checked_sub(r));
        self.shown.down_from(top)
    }

    /// Forgets every item (the lens stays).
    pub fn clear(&mut self) {
        *self = Index { lens: self.lens.clone(), ..Index::default() };
    }

    /// Whether the list shows `r`, and whether it counts it as unread there.
    fn place(&self, r: &Row) -> (bool, bool) {
        let shown = self.lens.shows(r);
        (shown, shown && r.is_unread(self.lens.now))
    }

    /// An item was replaced: `old` (if it was there) by `new` (if it stays).
    pub fn change(&mut self, old: Option<&Row>, new: Option<&Row>) {
        if let Some(o) = old {
            self.count(o, false);
        }
        if let Some(n) = new {
            self.count(n, true);
        }
        let (was, was_unread) = old.map_or((false, false), |o| self.place(o));
        let (is, is_unread) = new.map_or((false, false), |n| self.place(n));
        self.shown_unread =
            (self.shown_unread + usize::from(is_unread)).saturating_sub(usize::from(was_unread));
        match (old.filter(|_| was), new.filter(|_| is)) {
            (Some(o), Some(n)) if o.id == n.id => {}
            (was, is) => {
                if let Some(o) = was {
                    self.shown.remove(&o.id);
                }
                if let Some(n) = is {
                    self.shown.insert(Arc::clone(&n.id));
                }
            }
        }
    }

    /// Changes an item in place, keeping the index on it.
    pub fn edit(&mut self, r: &mut Row, f: impl FnOnce(&mut Row)) {
        let (was, was_unread) = self.place(r);
        self.count(r, false);
        f(r);
        self.count(r, true);
        let (is, is_unread) = self.place(r);
        self.shown_unread =
            (self.shown_unread + usize::from(is_unread)).saturating_sub(usize::from(was_unread));
        if was && !is {
            self.shown.remove(&r.id);
        } else if is && !was {
            self.shown.insert(Arc::clone(&r.id));
        }
    }

    /// Looks at the inbox through another lens. A clock that moved only wakes (or puts back
    /// to sleep) the items whose snooze ends in between; another filter or search lists anew.
    pub fn refocus(&mut self, lens: &Lens, items: &BTreeMap<Id, Row>) {
        if self.lens == *lens {
            return;
        }
        if self.lens.filter != lens.filter
            || self.lens.search != lens.search
            || self.lens.thread != lens.thread
        {
            // Listed at the old clock: a moved one is handled below, like any other.
            self.lens = Lens { now: self.lens.now, ..lens.clone() };
            self.shown = Ranked::default();
            self.shown_unread = 0;
            for r in items.values() {
                let (shown, unread) = self.place(r);
                if shown {
                    self.shown.insert(Arc::clone(&r.id));
                    self.shown_unread += usize::from(unread);
                }
            }
        }
        if self.lens.now != lens.now {
            let (lo, hi) = (self.lens.now.min(lens.now), self.lens.now.max(lens.now));
            let from: Id = Arc::from("");
            let turning: Vec<&Row> = self
                .snoozed
                .range((lo, from)..)
                .take_while(|(t, _)| *t <= hi)
                .filter(|(t, _)| *t > lo)
                .filter_map(|(_, id)| items.get(id))
                .collect();
            for r in &turning {
                self.change(Some(r), None);
            }
            self.lens.now = lens.now;
            for r in turning {
                self.change(None, Some(r));
            }
        }
    }

    /// Adds (or takes away) one item's share of the counts.
    fn count(&mut self, r: &Row, add: bool) {
        let step = |v: &mut usize, by: bool| {
            if by {
                *v = if add { *v + 1 } else { v.saturating_sub(1) };
            }
        };
        let unread = r.is_unread(self.lens.now);
        step(&mut self.total, true);
        step(&mut self.unread, unread);
        if let Some(t) = r.state.snoozed_until {
            if add {
                self.snoozed.insert((t, Arc::clone(&r.id)));
            } else {
                self.snoozed.remove(&(t, Arc::clone(&r.id)));
            }
        }
        if r.is_archived() {
            return;
        }
        let awake = self.lens.awake(r);
        let c = self.categories.entry(Arc::clone(&r.category)).or_default();
        step(&mut c.present, true);
        step(&mut c.awake, awake);
        step(&mut c.unread, unread);
        if c.present == 0 {
            self.categories.remove(&r.category);
        }
    }
}

/// Strings in order, in chunks: insert, remove, rank and select cost a chunk's length plus
/// the number of chunks, never the whole list. Two are equal when they hold the same strings,
/// however chunked.
#[derive(Debug, Clone, Default)]
pub struct Ranked {
    /// Never an empty chunk; each sorted, and each one's items before the next one's.
    chunks: Vec<Vec<Id>>,
    len: usize,
}

const CHUNK: usize = 512;

impl PartialEq for Ranked {
    fn eq(&self, other: &Ranked) -> bool {
        self.len == other.len && self.chunks.iter().flatten().eq(other.chunks.iter().flatten())
    }
}

impl Ranked {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The chunk `s` belongs in: the first whose last item is not before it.
    fn chunk_of(&self, s: &str) -> usize {
        self.chunks.partition_point(|c| c.last().is_some_and(|l| &**l < s))
    }

    pub fn insert(&mut self, s: Id) {
        // After the last one (how a first load arrives): no search.
        if let Some(last) = self.chunks.last_mut()
            && last.last().is_some_and(|l| *l < s)
        {
            if last.len() < CHUNK {
                last.push(s);
            } else {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(s);
                self.chunks.push(chunk);
            }
            self.len += 1;
            return;
        }
        // Not after the last one, so some chunk ends at or after it (unless there is none).
        let at = self.chunk_of(&s);
        let Some(chunk) = self.chunks.get_mut(at) else {
            self.chunks.push(vec![s]);
            self.len += 1;
            return;
        };
        let Err(pos) = chunk.binary_search(&s) else { return };
        chunk.insert(pos, s);
        self.len += 1;
        if chunk.len() > 2 * CHUNK {
            let tail = chunk.split_off(CHUNK);
            self.chunks.insert(at + 1, tail);
        }
    }

    pub fn remove(&mut self, s: &str) {
        let at = self.chunk_of(s);
        let Some(chunk) = self.chunks.get_mut(at) else { return };
        let Ok(pos) = chunk.binary_search_by(|x| (**x).cmp(s)) else { return };
        chunk.remove(pos);
        self.len -= 1;
        if chunk.is_empty() {
            self.chunks.remove(at);
        }
    }

    pub fn rank(&self, s: &str) -> Option<usize> {
        let at = self.chunk_of(s);
        let pos = self.chunks.get(at)?.binary_search_by(|x| (**x).cmp(s)).ok()?;
        Some(self.chunks[..at].iter().map(Vec::len).sum::<usize>() + pos)
    }

    /// Chunk and position of the item of rank `i`.
    fn locate(&self, mut i: usize) -> Option<(usize, usize)> {
        for (at, c) in self.chunks.iter().enumerate() {
            if i < c.len() {
                return Some((at, i));
            }
            i -= c.len();
        }
        None
    }

    pub fn get(&self, i: usize) -> Option<&Id> {
        let (at, pos) = self.locate(i)?;
        self.chunks.get(at)?.get(pos)
    }

    /// The item of rank `top` and every one before it, downwards; nothing for `None`.
    pub fn down_from(&self, top: Option<usize>) -> impl Iterator<Item = &Id> {
        let (at, pos) = top.and_then(|t| self.locate(t)).map_or((0, None), |(a, p)| (a, Some(p)));
        let first = pos.map_or(&[][..], |p| &self.chunks[at][..=p]);
        let before = if pos.is_some() { &self.chunks[..at] } else { &[][..] };
        first.iter().rev().chain(before.iter().rev().flat_map(|c| c.iter().rev()))
    }

    /// Checks the chunks' invariants.
    #[cfg(test)]
    pub fn check(&self) {
        assert!(self.chunks.iter().all(|c| !c.is_empty()));
        let all: Vec<&Id> = self.chunks.iter().flatten().collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "strictly ordered");
        assert_eq!(all.len(), self.len);
    }
}

#[cfg(test)]
impl Index {
    /// The index of `items` as seen through `lens`, from scratch: what the tests compare the
    /// kept one with.
    pub fn build<'a>(lens: Lens, items: impl IntoIterator<Item = &'a Row>) -> Index {
        let mut index = Index { lens, ..Index::default() };
        for r in items {
            index.change(None, Some(r));
        }
        index
    }

    /// Checks the list's chunks (the rest is compared with a rebuild).
    pub fn check(&self) {
        self.shown.check();
    }
}
