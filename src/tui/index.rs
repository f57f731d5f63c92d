//! What a draw needs to know about the whole inbox, kept up to date as items change instead
//! of counted on every draw (DESIGN §10: a redraw must not depend on the inbox's size): the
//! unread total, each category's counts, and the ids the list shows, in order. The replica
//! tells the index about every item it replaces ([`Index::change`], [`Index::edit`]); what
//! depends on the screen's filter, search and clock is computed for one [`Lens`], and
//! [`Index::refocus`] moves it to another (only the snoozed items whose snooze ends in between
//! when only the clock moved). Pure data, like the replica.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::app::{Filter, listed_under};
use super::replica::is_unread;
use crate::model::Notification;

/// Everything besides an item itself that decides whether the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lens {
    pub filter: Filter,
    pub search: String,
    pub now: Timestamp,
}

impl Default for Lens {
    fn default() -> Lens {
        Lens { filter: Filter::default(), search: String::new(), now: Timestamp::UNIX_EPOCH }
    }
}

impl Lens {
    pub fn shows(&self, n: &Notification) -> bool {
        listed_under(n, &self.filter, &self.search, self.now)
    }

    fn awake(&self, n: &Notification) -> bool {
        n.snoozed_until.is_none_or(|t| t <= self.now)
    }
}

/// One category's items outside the archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CategoryCount {
    /// Not archived.
    pub present: usize,
    /// Not archived and not snoozed (at the lens's `now`).
    pub awake: usize,
    /// Unread and not snoozed.
    pub unread: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Index {
    lens: Lens,
    /// Items indexed: equal to the replica's while the index follows it.
    total: usize,
    /// Unread and not archived, snoozed or not (the header's badge).
    unread: usize,
    categories: BTreeMap<String, CategoryCount>,
    /// Every item with a snooze time, by that time: the ones a moving clock can wake.
    snoozed: BTreeSet<(Timestamp, String)>,
    /// The ids the list shows under `lens`, oldest first.
    shown: Ranked,
}

impl Index {
    /// The index of `items` as seen through `lens`, from scratch.
    pub fn build<'a>(lens: Lens, items: impl IntoIterator<Item = &'a Notification>) -> Index {
        let mut index = Index { lens, ..Index::default() };
        for n in items {
            index.change(None, Some(n));
        }
        index
    }

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
    pub fn categories(&self) -> &BTreeMap<String, CategoryCount> {
        &self.categories
    }

    /// Items neither archived nor snoozed.
    pub fn awake(&self) -> usize {
        self.categories.values().map(|c| c.awake).sum()
    }

    pub fn shown_len(&self) -> usize {
        self.shown.len()
    }

    /// The id on list row `row` (0 is the newest).
    pub fn shown_at(&self, row: usize) -> Option<&str> {
        let last = self.shown.len().checked_sub(1)?;
        self.shown.get(last.checked_sub(row)?).map(String::as_str)
    }

    /// The list row of `id`, if the list shows it.
    pub fn row_of(&self, id: &str) -> Option<usize> {
        self.shown.rank(id).map(|r| self.shown.len() - 1 - r)
    }

    /// The list's ids from row `row` down.
    pub fn shown_from(&self, row: usize) -> impl Iterator<Item = &str> {
        let len = self.shown.len();
        let top = row.checked_add(1).and_then(|r| len.checked_sub(r));
        self.shown.down_from(top).map(String::as_str)
    }

    /// Forgets every item (the lens stays).
    pub fn clear(&mut self) {
        *self = Index { lens: self.lens.clone(), ..Index::default() };
    }

    /// An item was replaced: `old` (if it was there) by `new` (if it stays).
    pub fn change(&mut self, old: Option<&Notification>, new: Option<&Notification>) {
        if let Some(o) = old {
            self.count(o, false);
        }
        if let Some(n) = new {
            self.count(n, true);
        }
        let was = old.filter(|o| self.lens.shows(o));
        let is = new.filter(|n| self.lens.shows(n));
        match (was, is) {
            (Some(o), Some(n)) if o.id == n.id => {}
            (was, is) => {
                if let Some(o) = was {
                    self.shown.remove(&o.id);
                }
                if let Some(n) = is {
                    self.shown.insert(n.id.clone());
                }
            }
        }
    }

    /// Changes an item in place, keeping the index on it.
    pub fn edit(&mut self, n: &mut Notification, f: impl FnOnce(&mut Notification)) {
        let was = self.lens.shows(n);
        self.count(n, false);
        f(n);
        self.count(n, true);
        let is = self.lens.shows(n);
        if was && !is {
            self.shown.remove(&n.id);
        } else if is && !was {
            self.shown.insert(n.id.clone());
        }
    }

    /// Looks at the inbox through another lens. A clock that moved only wakes (or puts back
    /// to sleep) the items whose snooze ends in between; another filter or search lists anew.
    pub fn refocus(&mut self, lens: &Lens, items: &BTreeMap<String, Notification>) {
        if self.lens == *lens {
            return;
        }
        if self.lens.filter != lens.filter || self.lens.search != lens.search {
            // Listed at the old clock: a moved one is handled below, like any other.
            self.lens.filter = lens.filter.clone();
            self.lens.search = lens.search.clone();
            self.shown = Ranked::default();
            for n in items.values().filter(|n| self.lens.shows(n)) {
                self.shown.insert(n.id.clone());
            }
        }
        if self.lens.now != lens.now {
            let (lo, hi) = (self.lens.now.min(lens.now), self.lens.now.max(lens.now));
            let turning: Vec<&Notification> = self
                .snoozed
                .range((lo, String::new())..)
                .take_while(|(t, _)| *t <= hi)
                .filter(|(t, _)| *t > lo)
                .filter_map(|(_, id)| items.get(id))
                .collect();
            for n in &turning {
                self.change(Some(n), None);
            }
            self.lens.now = lens.now;
            for n in turning {
                self.change(None, Some(n));
            }
        }
    }

    /// Adds (or takes away) one item's share of the counts.
    fn count(&mut self, n: &Notification, add: bool) {
        let step = |v: &mut usize, by: bool| {
            if by {
                *v = if add { *v + 1 } else { v.saturating_sub(1) };
            }
        };
        step(&mut self.total, true);
        step(&mut self.unread, is_unread(n));
        if let Some(t) = n.snoozed_until {
            if add {
                self.snoozed.insert((t, n.id.clone()));
            } else {
                self.snoozed.remove(&(t, n.id.clone()));
            }
        }
        if n.archived_at.is_some() {
            return;
        }
        let awake = self.lens.awake(n);
        let c = match self.categories.get_mut(n.category.as_str()) {
            Some(c) => c,
            None => self.categories.entry(n.category.clone()).or_default(),
        };
        step(&mut c.present, true);
        step(&mut c.awake, awake);
        step(&mut c.unread, awake && is_unread(n));
        if c.present == 0 {
            self.categories.remove(n.category.as_str());
        }
    }
}

/// Strings in order, in chunks: insert, remove, rank and select cost a chunk's length plus
/// the number of chunks, never the whole list. Two are equal when they hold the same strings,
/// however chunked.
#[derive(Debug, Clone, Default)]
pub struct Ranked {
    /// Never an empty chunk; each sorted, and each one's items before the next one's.
    chunks: Vec<Vec<String>>,
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

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk `s` belongs in: the first whose last item is not before it.
    fn chunk_of(&self, s: &str) -> usize {
        self.chunks.partition_point(|c| c.last().is_some_and(|l| l.as_str() < s))
    }

    pub fn insert(&mut self, s: String) {
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
        let Ok(pos) = chunk.binary_search_by(|x| x.as_str().cmp(s)) else { return };
        chunk.remove(pos);
        self.len -= 1;
        if chunk.is_empty() {
            self.chunks.remove(at);
        }
    }

    pub fn rank(&self, s: &str) -> Option<usize> {
        let at = self.chunk_of(s);
        let pos = self.chunks.get(at)?.binary_search_by(|x| x.as_str().cmp(s)).ok()?;
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

    pub fn get(&self, i: usize) -> Option<&String> {
        let (at, pos) = self.locate(i)?;
        self.chunks.get(at)?.get(pos)
    }

    /// The item of rank `top` and every one before it, downwards; nothing for `None`.
    pub fn down_from(&self, top: Option<usize>) -> impl Iterator<Item = &String> {
        let (at, pos) = top.and_then(|t| self.locate(t)).map_or((0, None), |(a, p)| (a, Some(p)));
        let first = pos.map_or(&[][..], |p| &self.chunks[at][..=p]);
        let before = if pos.is_some() { &self.chunks[..at] } else { &[][..] };
        first.iter().rev().chain(before.iter().rev().flat_map(|c| c.iter().rev()))
    }

    /// Checks the chunks' invariants.
    #[cfg(test)]
    pub fn check(&self) {
        assert!(self.chunks.iter().all(|c| !c.is_empty()));
        let all: Vec<&String> = self.chunks.iter().flatten().collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "strictly ordered");
        assert_eq!(all.len(), self.len);
    }
}

#[cfg(test)]
impl Index {
    /// Checks the list's chunks (the rest is compared with a rebuild).
    pub fn check(&self) {
        self.shown.check();
    }
}
