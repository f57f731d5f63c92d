//! `t`: the list grouped by thread. Each thread's listed items go together, newest first,
//! under the newest of them; the groups (an item outside any thread is one of its own) are
//! ordered by their newest item, so the thread with the latest activity is on top. A row
//! keeps meaning one item, so the cursor, the position indicator, `n`/`N`/`!` and the
//! selection work on the grouped order as on the flat one. The order is built in one pass
//! over what the list shows and kept until that changes ([`Stamp`]). Pure data; it names
//! only `row`.

use std::collections::HashMap;

use super::row::{Id, Row};
use crate::model::InboxFilter;

/// Where a row sits in its group, for the list's marker column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Alone (no thread, or the only listed item of its thread).
    Single,
    /// The newest item of a thread with `size` listed items: the group's header row.
    First {
        size: usize,
    },
    Middle,
    Last,
}

/// What the grouped order was built for: when any of it changes, it is built again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    pub filter: InboxFilter,
    pub search: String,
    pub thread: Option<String>,
    /// Items in the replica, and listed.
    pub total: usize,
    pub shown: usize,
    /// The last change applied and the next command's number: an item came, went or
    /// changed.
    pub last_seq: i64,
    pub next_req: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Groups {
    stamp: Option<Stamp>,
    /// The list's ids, top to bottom.
    order: Vec<Id>,
    rows: HashMap<Id, usize>,
    marks: Vec<Mark>,
}

impl Groups {
    /// Whether it was built for `stamp`.
    pub fn built_for(&self, stamp: &Stamp) -> bool {
        self.stamp.as_ref() == Some(stamp)
    }

    /// Groups `listed` (the flat list, newest first).
    pub fn build<'a>(stamp: Stamp, listed: impl Iterator<Item = &'a Row>) -> Groups {
        let mut groups: Vec<Vec<Id>> = Vec::new();
        let mut by_thread: HashMap<&'a str, usize> = HashMap::new();
        for r in listed {
            match r.thread.as_deref() {
                Some(t) => match by_thread.get(t) {
                    Some(g) => groups[*g].push(Id::clone(&r.id)),
                    None => {
                        by_thread.insert(t, groups.len());
                        groups.push(vec![Id::clone(&r.id)]);
                    }
                },
                None => groups.push(vec![Id::clone(&r.id)]),
            }
        }
        let mut out = Groups { stamp: Some(stamp), ..Groups::default() };
        for g in groups {
            let size = g.len();
            for (i, id) in g.into_iter().enumerate() {
                out.marks.push(match (size, i) {
                    (1, _) => Mark::Single,
                    (_, 0) => Mark::First { size },
                    (_, i) if i + 1 == size => Mark::Last,
                    _ => Mark::Middle,
                });
                out.rows.insert(Id::clone(&id), out.order.len());
                out.order.push(id);
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn at(&self, row: usize) -> Option<&Id> {
        self.order.get(row)
    }

    pub fn from(&self, row: usize) -> impl Iterator<Item = &Id> {
        self.order.iter().skip(row)
    }

    pub fn row_of(&self, id: &str) -> Option<usize> {
        self.rows.get(id).copied()
    }

    pub fn mark(&self, row: usize) -> Option<Mark> {
        self.marks.get(row).copied()
    }
}
