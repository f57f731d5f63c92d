//! The event × channel matrix (DESIGN §3): one row per category default, followed by the
//! event types of that category, one column per channel. A cell is explicit (set in the
//! preferences) or inherited (an event type from its category, a category from "on"), read
//! the way the engine reads it. Pure.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Channel, Event};
use crate::prefs::{Preferences, Required};

/// A category's default row (`kind` is `None`) or one event type's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixRow {
    pub category: String,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Explicit(bool),
    Inherited(bool),
}

impl Cell {
    pub fn on(self) -> bool {
        match self {
            Cell::Explicit(b) | Cell::Inherited(b) => b,
        }
    }
}

/// The category an event type falls in when no producer said: the engine's own rule.
pub fn category_of(kind: &str) -> String {
    Event {
        id: None,
        kind: kind.to_string(),
        category: None,
        urgency: None,
        to: None,
        thread: None,
        collapse_key: None,
        actor: None,
        title: String::new(),
        body: None,
        url: None,
        data: serde_json::Value::Null,
        occurred_at: None,
    }
    .effective_category()
}

/// Every category and event type the preferences name or the inbox has shown (`seen` holds
/// type → category pairs), grouped by category, the category's default row first.
pub fn rows(p: &Preferences, seen: &[(String, String)]) -> Vec<MatrixRow> {
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in p.categories.keys() {
        groups.entry(c.clone()).or_default();
    }
    for (kind, category) in seen {
        groups.entry(category.clone()).or_default().insert(kind.clone());
    }
    for kind in p.events.keys() {
        let known = seen.iter().find(|(k, _)| k == kind).map(|(_, c)| c.clone());
        groups.entry(known.unwrap_or_else(|| category_of(kind))).or_default().insert(kind.clone());
    }
    groups
        .into_iter()
        .flat_map(|(category, kinds)| {
            std::iter::once(MatrixRow { category: category.clone(), kind: None }).chain(
                kinds.into_iter().map(move |k| MatrixRow { category: category.clone(), kind: Some(k) }),
            )
        })
        .collect()
}

pub fn cell(p: &Preferences, row: &MatrixRow, channel: Channel) -> Cell {
    let category = p.categories.get(&row.category).and_then(|m| m.get(&channel)).copied();
    match &row.kind {
        None => category.map_or(Cell::Inherited(true), Cell::Explicit),
        Some(kind) => match p.events.get(kind).and_then(|m| m.get(&channel)) {
            Some(b) => Cell::Explicit(*b),
            None => Cell::Inherited(category.unwrap_or(true)),
        },
    }
}

pub fn set(p: &mut Preferences, row: &MatrixRow, channel: Channel, on: bool) {
    let map = match &row.kind {
        None => p.categories.entry(row.category.clone()).or_default(),
        Some(kind) => p.events.entry(kind.clone()).or_default(),
    };
    map.insert(channel, on);
}

/// Flips one cell to the opposite of what it does now, making it explicit.
pub fn toggle(p: &mut Preferences, row: &MatrixRow, channel: Channel) {
    let on = cell(p, row, channel).on();
    set(p, row, channel, !on);
}

/// The organisation requires this cell: the engine delivers there whatever the user set.
/// An event type's cell is locked by its own entry or by its category's, as the engine
/// reads the policy.
pub fn locked(required: &Required, row: &MatrixRow, channel: Channel) -> bool {
    match &row.kind {
        Some(kind) => required.requires(kind, &row.category, channel),
        None => required.categories.get(&row.category).is_some_and(|c| c.contains(&channel)),
    }
}

/// How a cell is named in messages: `build.failed × email`, `billing (category) × slack`.
pub fn cell_name(row: &MatrixRow, channel: Channel) -> String {
    match &row.kind {
        Some(kind) => format!("{kind} × {channel}"),
        None => format!("{} (category) × {channel}", row.category),
    }
}

/// Turns the row's unlocked cells off when every one of them is on, else on; required
/// cells are left as they are.
pub fn toggle_row(p: &mut Preferences, row: &MatrixRow, required: &Required) {
    let free: Vec<Channel> = Channel::ALL.into_iter().filter(|c| !locked(required, row, *c)).collect();
    let on = !free.iter().all(|c| cell(p, row, *c).on());
    for c in free {
        set(p, row, c, on);
    }
}

/// Turns the channel off on every row where it is not required when it is on on all of
/// them, else on; required cells are left as they are.
pub fn toggle_column(p: &mut Preferences, rows: &[MatrixRow], channel: Channel, required: &Required) {
    let free: Vec<&MatrixRow> = rows.iter().filter(|r| !locked(required, r, channel)).collect();
    let on = !free.iter().all(|r| cell(p, r, channel).on());
    for r in free {
        set(p, r, channel, on);
    }
}

/// Forgets a row's explicit cells: an event type follows its category again, a category
/// the default (every channel on).
pub fn reset(p: &mut Preferences, row: &MatrixRow) {
    match &row.kind {
        None => p.categories.remove(&row.category),
        Some(kind) => p.events.remove(kind),
    };
}
