//! One inbox item as the TUI keeps it: what the list, the counts, the search and the keys
//! need, and nothing else (DESIGN §10: 100,000 items within 150 MB). Text is boxed to its
//! length, the type and category are shared between the items that have them, and the parts
//! only the detail pane shows (data, per-channel deliveries, the engine's plan) are not kept:
//! they are fetched when an item is opened ([`Detail`]). Pure data.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;

use crate::model::{
    Channel, DeliveryState, Event, ItemState, ItemText, Notification, RawJson, Urgency, is_unread,
};

/// A notification's id. Shared, so the list's order and the counts hold the same id the
/// item does, without copying its text.
pub type Id = Arc<str>;

/// One item of the replica.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: Id,
    pub kind: Arc<str>,
    pub category: Arc<str>,
    pub urgency: Urgency,
    /// How many events collapsed into it.
    pub count: u32,
    pub title: Box<str>,
    /// Kept because a search matches it (and `R` marks what a search shows).
    pub body: Option<Box<str>>,
    pub url: Option<Box<str>>,
    pub thread: Option<Box<str>>,
    pub created_at: Timestamp,
    pub state: ItemState,
}

impl Row {
    /// The row of `n`, its type and category shared through `symbols`.
    pub fn new(n: Notification, symbols: &mut Symbols) -> Row {
        Row {
            id: Id::from(n.id),
            kind: symbols.get(&n.kind),
            category: symbols.get(&n.category),
            urgency: n.urgency,
            count: n.count,
            title: n.title.into_boxed_str(),
            body: n.body.map(String::into_boxed_str),
            url: n.url.map(String::into_boxed_str),
            thread: n.thread.map(String::into_boxed_str),
            created_at: n.created_at,
            state: ItemState {
                read_at: n.read_at,
                archived_at: n.archived_at,
                snoozed_until: n.snoozed_until,
            },
        }
    }

    /// What a search looks at.
    pub fn text(&self) -> ItemText<'_> {
        ItemText {
            title: &self.title,
            body: self.body.as_deref(),
            kind: &self.kind,
            category: &self.category,
            thread: self.thread.as_deref(),
        }
    }

    /// Unread at `now`, by the one definition the server uses too.
    pub fn is_unread(&self, now: Timestamp) -> bool {
        is_unread(&self.state, now)
    }

    pub fn is_read(&self) -> bool {
        self.state.read_at.is_some()
    }

    pub fn is_archived(&self) -> bool {
        self.state.archived_at.is_some()
    }

    /// When it comes back, if it is snoozed into the future at `now`.
    pub fn snoozed_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.state.snoozed_until.filter(|t| *t > now)
    }
}

/// Strings many items share (types, categories), each kept once.
#[derive(Debug, Clone, Default)]
pub struct Symbols(HashSet<Arc<str>>);

impl Symbols {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(known) = self.0.get(s) {
            return Arc::clone(known);
        }
        let new: Arc<str> = Arc::from(s);
        self.0.insert(Arc::clone(&new));
        new
    }
}

/// Two replicas are equal when their items are: the shared strings are a cache.
impl PartialEq for Symbols {
    fn eq(&self, _: &Symbols) -> bool {
        true
    }
}

/// The parts of an item only its detail shows, fetched with `get` when it is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub data: serde_json::Value,
    pub deliveries: BTreeMap<Channel, DeliveryState>,
    /// The engine's decision with its reasons (`explain --json`'s shape).
    pub plan: Option<RawJson>,
}

impl Detail {
    /// Takes the detail's parts out of `n` (what is left makes its [`Row`]).
    pub fn take(n: &mut Notification) -> Detail {
        Detail {
            data: std::mem::take(&mut n.data),
            deliveries: std::mem::take(&mut n.deliveries),
            plan: n.plan.take(),
        }
    }
}

impl Row {
    /// The event it came from, as far as the inbox keeps it; `data` is its fetched detail's
    /// (the row keeps none).
    pub fn event(&self, data: Option<&serde_json::Value>) -> Event {
        Event {
            id: None,
            kind: self.kind.to_string(),
            category: Some(self.category.to_string()),
            urgency: Some(self.urgency),
            to: None,
            thread: self.thread.as_deref().map(str::to_string),
            collapse_key: None,
            actor: None,
            title: self.title.to_string(),
            body: self.body.as_deref().map(str::to_string),
            url: self.url.as_deref().map(str::to_string),
            data: data.cloned().unwrap_or(serde_json::Value::Null),
            occurred_at: Some(self.created_at),
        }
    }
}
