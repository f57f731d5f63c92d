//! What "unread" means and which items a view shows: one definition, used by the store's
//! queries and counts, the REST and websocket filters and the TUI's list, badge and bulk
//! actions, so that every count a user sees agrees (DESIGN §11).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Urgency;

/// Which part of the inbox a listing shows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Not archived, not snoozed into the future: what the inbox shows by default.
    #[default]
    Inbox,
    /// The inbox's unread items.
    Unread,
    /// Snoozed into the future (and not archived): they come back when their time comes.
    Snoozed,
    Archived,
    /// Everything, archived and snoozed included.
    All,
}

impl View {
    pub const ALL: [View; 5] = [View::Inbox, View::Unread, View::Snoozed, View::Archived, View::All];

    pub fn as_str(self) -> &'static str {
        match self {
            View::Inbox => "inbox",
            View::Unread => "unread",
            View::Snoozed => "snoozed",
            View::Archived => "archived",
            View::All => "all",
        }
    }

    /// Whether an item in this state belongs to the view at `now`.
    pub fn admits(self, state: &ItemState, now: Timestamp) -> bool {
        let snoozed = state.snoozed_until.is_some_and(|t| t > now);
        match self {
            View::Inbox => state.archived_at.is_none() && !snoozed,
            View::Unread => is_unread(state, now),
            View::Snoozed => state.archived_at.is_none() && snoozed,
            View::Archived => state.archived_at.is_some(),
            View::All => true,
        }
    }
}

impl std::str::FromStr for View {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        View::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            format!("unknown view `{s}`, expected one of inbox, unread, snoozed, archived, all")
        })
    }
}

/// The parts of an item that views and "unread" look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ItemState {
    pub read_at: Option<Timestamp>,
    pub archived_at: Option<Timestamp>,
    pub snoozed_until: Option<Timestamp>,
}

/// Unread: not read, not archived, and not snoozed into the future. The header's badge,
/// the category counts, `unread_count`, `list --unread` and "mark all read" all mean this.
pub fn is_unread(state: &ItemState, now: Timestamp) -> bool {
    state.read_at.is_none() && state.archived_at.is_none() && state.snoozed_until.is_none_or(|t| t <= now)
}

/// What a user narrowed the list to: a view, and optionally a category, a lowest urgency
/// and a text. Bulk actions take the same filter, so they change what the user sees.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxFilter {
    #[serde(default)]
    pub view: View,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency_at_least: Option<Urgency>,
    /// Text in the title, body, type, category or thread, in any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
}

/// The searchable text of an item.
#[derive(Debug, Clone, Copy)]
pub struct ItemText<'a> {
    pub title: &'a str,
    pub body: Option<&'a str>,
    pub kind: &'a str,
    pub category: &'a str,
    pub thread: Option<&'a str>,
}

impl InboxFilter {
    pub fn admits(&self, state: &ItemState, urgency: Urgency, text: ItemText<'_>, now: Timestamp) -> bool {
        self.view.admits(state, now)
            && self.category.as_deref().is_none_or(|c| c == text.category)
            && self.urgency_at_least.is_none_or(|u| urgency >= u)
            && self.q.as_deref().is_none_or(|q| text_matches(&q.to_lowercase(), text))
    }
}

/// Whether `needle` (already lower-cased) is in any of the item's searchable fields, case
/// folded the same way. The store registers this as an SQL function, so a search means the
/// same thing in every place.
pub fn text_matches(needle: &str, text: ItemText<'_>) -> bool {
    if needle.is_empty() {
        return true;
    }
    [Some(text.title), text.body, Some(text.kind), Some(text.category), text.thread]
        .into_iter()
        .flatten()
        .any(|hay| contains_folded(hay, needle))
}

fn contains_folded(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

/// A JSON value kept as its text: stored, sent and compared without being parsed again
/// (an item's plan is written once at accept and only read when someone looks at it).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct RawJson(Box<serde_json::value::RawValue>);

/// Read through a `Value`: a raw value cannot be taken from inside an internally tagged enum
/// (the sync protocol's `result` frame carries items with their plan), where serde buffers
/// the fields first and `RawValue` then fails with "invalid type: newtype struct".
impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        RawJson::to_raw(&value).map_err(serde::de::Error::custom)
    }
}

impl RawJson {
    pub fn from_string(text: String) -> Result<RawJson, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(RawJson)
    }

    pub fn to_raw<T: Serialize>(value: &T) -> Result<RawJson, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(RawJson)
    }

    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The value, parsed (for a reader that walks it).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("instant")
    }

    #[test]
    fn a_plan_reads_back_inside_a_tagged_frame() {
        #[derive(Deserialize)]
        #[serde(tag = "type")]
        enum Frame {
            Result { plan: RawJson },
        }
        let Frame::Result { plan } =
            serde_json::from_str(r#"{"type":"Result","plan":{"channels":{"desktop":{"plan":"send"}}}}"#)
                .expect("a plan inside a tagged frame");
        assert_eq!(plan.value()["channels"]["desktop"]["plan"], "send");
    }

    #[test]
    fn views_split_the_inbox() {
        let now = at("2027-01-01T12:00:00Z");
        let plain = ItemState::default();
        let read = ItemState { read_at: Some(now), ..plain };
        let snoozed = ItemState { snoozed_until: Some(at("2027-01-01T13:00:00Z")), ..plain };
        let woken = ItemState { snoozed_until: Some(at("2027-01-01T11:00:00Z")), ..plain };
        let archived = ItemState { archived_at: Some(now), ..plain };
        let seen = |s: &ItemState| View::ALL.into_iter().filter(|v| v.admits(s, now)).collect::<Vec<_>>();
        assert_eq!(seen(&plain), [View::Inbox, View::Unread, View::All]);
        assert_eq!(seen(&read), [View::Inbox, View::All]);
        assert_eq!(seen(&snoozed), [View::Snoozed, View::All]);
        assert_eq!(seen(&woken), [View::Inbox, View::Unread, View::All]);
        assert_eq!(seen(&archived), [View::Archived, View::All]);
        assert!(!is_unread(&snoozed, now) && is_unread(&woken, now));
    }

    #[test]
    fn search_folds_case_in_every_field() {
        let text = ItemText {
            title: "Build FAILED",
            body: Some("Grüße aus Köln"),
            kind: "build.failed",
            category: "system",
            thread: Some("repo/api#7"),
        };
        for hit in ["failed", "BUILD", "KÖLN", "api#7", "system", ""] {
            assert!(text_matches(&hit.to_lowercase(), text), "{hit}");
        }
        assert!(text_matches("grüße", text));
        assert!(!text_matches("deploy", text));
    }

    #[test]
    fn raw_json_is_kept_as_text() {
        let raw = RawJson::to_raw(&serde_json::json!({"a": [1, 2]})).expect("raw");
        assert_eq!(raw.get(), r#"{"a":[1,2]}"#);
        let back: RawJson = serde_json::from_value(serde_json::json!({"b": true})).expect("from a value");
        assert_eq!(back.value(), serde_json::json!({"b": true}));
    }
}
