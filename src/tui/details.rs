//! The details (data, deliveries, the engine's plan) of the few items opened last. The
//! replica keeps none of them for its 100,000 rows; the detail pane asks the server for the
//! one it shows (`get`), shows "loading…" until it comes, and keeps a few so that moving
//! back and forth does not ask again. A change that carries a kept item in full refreshes it.
//! Pure data: `update` decides when to ask.

use std::collections::VecDeque;

use super::row::{Detail, Id};

/// How many opened items keep their details.
pub const KEEP: usize = 16;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// Oldest first.
    kept: VecDeque<(Id, Detail)>,
    /// The `get` in flight, by its `req`.
    pub asked: Option<(u64, Id)>,
    /// The item whose `get` the server refused, and why (shown instead of "loading…").
    pub failed: Option<(Id, String)>,
}

impl Details {
    pub fn get(&self, id: &str) -> Option<&Detail> {
        self.kept.iter().rev().find(|(k, _)| &**k == id).map(|(_, d)| d)
    }

    /// Keeps `detail` for `id`, forgetting the oldest one when full.
    pub fn keep(&mut self, id: Id, detail: Detail) {
        self.kept.retain(|(k, _)| *k != id);
        if self.kept.len() == KEEP {
            self.kept.pop_front();
        }
        if self.failed.as_ref().is_some_and(|(f, _)| *f == id) {
            self.failed = None;
        }
        self.kept.push_back((id, detail));
    }

    /// A newer copy of an item arrived: its details replace the kept ones (a change that
    /// carries no plan keeps the one we have; a plan is decided once).
    pub fn refresh(&mut self, id: &str, mut detail: Detail) {
        if let Some((_, kept)) = self.kept.iter_mut().find(|(k, _)| &**k == id) {
            if detail.plan.is_none() {
                detail.plan = kept.plan.take();
            }
            *kept = detail;
        }
    }

    /// Whether the detail of `id` is kept, asked for, or refused.
    pub fn known(&self, id: &str) -> bool {
        self.get(id).is_some()
            || self.asked.as_ref().is_some_and(|(_, a)| &**a == id)
            || self.failed.as_ref().is_some_and(|(f, _)| &**f == id)
    }

    /// Forgets everything (another store's history).
    pub fn clear(&mut self) {
        *self = Details::default();
    }
}
