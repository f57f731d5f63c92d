//! The domain types of DESIGN §3 and the wire shapes of §13: events, urgencies, channels,
//! recipients and notifications. Strict on input: an unknown field in an event is an error
//! (except inside `data`, which belongs to the producer). No I/O lives here.

mod directory;
mod hook;
mod inbox;
pub mod prefs;
pub mod when;

pub use directory::{
    DeviceToken, PUSH_PROVIDERS, Subscriber, TopicInfo, check_device_token, check_topic, check_user_name,
};
pub use hook::{Hook, HookSource, HookTarget};
pub use inbox::{InboxFilter, ItemState, ItemText, RawJson, View, is_unread, text_matches};

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How urgent an item is; ordered so that `min_urgency` comparisons read naturally.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Default,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Urgency {
    pub const ALL: [Urgency; 4] = [Urgency::Low, Urgency::Normal, Urgency::High, Urgency::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
            Urgency::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Urgency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Urgency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Urgency::ALL
            .into_iter()
            .find(|u| u.as_str() == s)
            .ok_or_else(|| format!("unknown urgency `{s}`, expected one of low, normal, high, urgent"))
    }
}

/// An out-of-band channel. The in-app inbox is not a channel: it always records (DESIGN §4).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Desktop,
    Email,
    Slack,
    Webhook,
    Push,
}

impl Channel {
    pub const ALL: [Channel; 5] =
        [Channel::Desktop, Channel::Email, Channel::Slack, Channel::Webhook, Channel::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Desktop => "desktop",
            Channel::Email => "email",
            Channel::Slack => "slack",
            Channel::Webhook => "webhook",
            Channel::Push => "push",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            format!("unknown channel `{s}`, expected one of desktop, email, slack, webhook, push")
        })
    }
}

/// The categories the product knows by name; any other lowercase word is a custom category.
pub const KNOWN_CATEGORIES: [&str; 9] =
    ["issues", "projects", "team", "system", "billing", "integrations", "ai", "approvals", "analytics"];

/// Who an event is for: exactly one of the four shapes of DESIGN §13.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipients {
    Users(Vec<String>),
    Emails(Vec<String>),
    Topic(String),
    Broadcast(bool),
}

/// What a producer sends (DESIGN §13). Only `type` and `title` are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 256)]
    pub id: Option<String>,
    /// A dotted lowercase name like `build.failed`.
    #[serde(rename = "type")]
    #[schema(max_length = 256, pattern = "^[a-z0-9_-]([a-z0-9._-]*[a-z0-9_-])?$")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[a-z0-9_-]{1,64}$")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Recipients>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 256)]
    pub thread: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 256)]
    pub collapse_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 256)]
    pub actor: Option<String>,
    /// Not blank; at most 1,000 bytes.
    #[schema(min_length = 1, max_length = 1000)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 65536)]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^https?://")]
    pub url: Option<String>,
    /// The producer's own fields: an object, or absent.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    #[schema(value_type = Option<Object>)]
    pub data: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<Timestamp>,
}

/// A rejected input, naming the field so a producer can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

const MAX_TITLE: usize = 1_000;
const MAX_BODY: usize = 64 * 1024;
const MAX_KEY: usize = 256;

impl Event {
    /// Parses an event from JSON text, strictly, with a message naming the offending field.
    pub fn from_json(text: &str) -> Result<Event, FieldError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let event: Event = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "event".to_string() } else { path };
            FieldError::new(field, e.into_inner().to_string())
        })?;
        event.validate()?;
        Ok(event)
    }

    /// Checks what serde cannot: formats, lengths and the shape of `to`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.kind.is_empty() || self.kind.len() > MAX_KEY {
            return Err(FieldError::new("type", "must be 1 to 256 characters"));
        }
        if !self
            .kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
            || self.kind.starts_with('.')
            || self.kind.ends_with('.')
        {
            return Err(FieldError::new(
                "type",
                format!("`{}` is not a dotted lowercase name like `build.failed`", self.kind),
            ));
        }
        if self.title.trim().is_empty() {
            return Err(FieldError::new("title", "must not be empty"));
        }
        if self.title.len() > MAX_TITLE {
            return Err(FieldError::new("title", format!("longer than {MAX_TITLE} bytes")));
        }
        if self.body.as_ref().is_some_and(|b| b.len() > MAX_BODY) {
            return Err(FieldError::new("body", format!("longer than {MAX_BODY} bytes")));
        }
        if !(self.data.is_object() || self.data.is_null()) {
            return Err(FieldError::new("data", "must be an object (or null)"));
        }
        if let Some(category) = &self.category
            && (category.is_empty()
                || category.len() > 64
                || !category
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'))
        {
            return Err(FieldError::new("category", format!("`{category}` is not a lowercase word")));
        }
        for (name, value) in [
            ("id", &self.id),
            ("thread", &self.thread),
            ("collapse_key", &self.collapse_key),
            ("actor", &self.actor),
        ] {
            if let Some(v) = value
                && (v.is_empty() || v.len() > MAX_KEY)
            {
                return Err(FieldError::new(name, "must be 1 to 256 characters"));
            }
        }
        if let Some(url) = &self.url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(FieldError::new("url", format!("`{url}` is not an http(s) URL")));
        }
        match &self.to {
            Some(Recipients::Users(users)) if users.is_empty() => {
                Err(FieldError::new("to.users", "must name at least one user"))
            }
            Some(Recipients::Emails(emails)) if emails.is_empty() => {
                Err(FieldError::new("to.emails", "must name at least one address"))
            }
            Some(Recipients::Emails(emails)) => match emails.iter().find(|e| !looks_like_email(e)) {
                Some(bad) => Err(FieldError::new("to.emails", format!("`{bad}` is not an e-mail address"))),
                None => Ok(()),
            },
            Some(Recipients::Topic(topic)) if topic.is_empty() => {
                Err(FieldError::new("to.topic", "must not be empty"))
            }
            Some(Recipients::Broadcast(false)) => {
                Err(FieldError::new("to.broadcast", "must be true when present"))
            }
            _ => Ok(()),
        }
    }

    /// The category an event belongs to: its own, else its type's prefix when that names a
    /// known category (singular or plural), else `system`.
    pub fn effective_category(&self) -> String {
        if let Some(c) = &self.category {
            return c.clone();
        }
        let prefix = self.kind.split('.').next().unwrap_or_default();
        KNOWN_CATEGORIES
            .iter()
            .find(|c| **c == prefix || c.strip_suffix('s') == Some(prefix))
            .map_or_else(|| "system".to_string(), |c| (*c).to_string())
    }

    pub fn effective_urgency(&self) -> Urgency {
        self.urgency.unwrap_or_default()
    }

    /// The key under which repeats collapse into one inbox row: `collapse_key`, else
    /// thread + type when there is a thread.
    pub fn collapse_identity(&self) -> Option<String> {
        match (&self.collapse_key, &self.thread) {
            (Some(k), _) => Some(format!("key:{k}")),
            (None, Some(t)) => Some(format!("thread:{t}\u{1f}{}", self.kind)),
            (None, None) => None,
        }
    }
}

/// A deliberately loose syntax check: one `@`, something before it, a dotted domain after.
pub fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Delivery state of one channel for one notification (DESIGN §13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryState {
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Where one channel's delivery of an item stands: `pending → delivered`, or `failed` (to be
/// retried) `→ delivered | dead`; `held`, `digest` and `scheduled` wait for their time;
/// `skipped`: read before it went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
    Dead,
    Held,
    Digest,
    Scheduled,
    Skipped,
    /// A status from a newer server, kept so the item still reads.
    #[serde(other)]
    Unknown,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Held => "held",
            DeliveryStatus::Digest => "digest",
            DeliveryStatus::Scheduled => "scheduled",
            DeliveryStatus::Skipped => "skipped",
            DeliveryStatus::Unknown => "unknown",
        }
    }

    /// Waiting for its time (quiet hours, a digest, an escalation): reading the item
    /// cancels it.
    pub fn is_waiting(self) -> bool {
        matches!(self, DeliveryStatus::Held | DeliveryStatus::Digest | DeliveryStatus::Scheduled)
    }
}

impl From<&str> for DeliveryStatus {
    /// The outbox's own status words (and the waiting ones); anything else is `Unknown`.
    fn from(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.to_string())).unwrap_or(DeliveryStatus::Unknown)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recipient's copy of an event (DESIGN §3, §13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    pub user: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub category: String,
    pub urgency: Urgency,
    pub title: String,
    pub body: Option<String>,
    pub url: Option<String>,
    pub thread: Option<String>,
    /// The event's `data`: `null` when it had none.
    #[schema(value_type = Option<Object>)]
    pub data: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<Timestamp>,
    pub count: u32,
    /// Per channel: `{status, attempts, last_error}`.
    #[schema(value_type = Object)]
    pub deliveries: BTreeMap<Channel, DeliveryState>,
    /// The engine's decision with its reasons, `explain --json`'s shape (an addition to the
    /// DESIGN §13 object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub plan: Option<RawJson>,
}

impl Notification {
    pub fn state(&self) -> ItemState {
        ItemState { read_at: self.read_at, archived_at: self.archived_at, snoozed_until: self.snoozed_until }
    }

    pub fn text(&self) -> ItemText<'_> {
        ItemText {
            title: &self.title,
            body: self.body.as_deref(),
            kind: &self.kind,
            category: &self.category,
            thread: self.thread.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_event_parses() {
        let text = r#"{ "id": "build-4711", "type": "build.failed", "category": "system", "urgency": "high",
  "to": { "users": ["alice"] }, "thread": "repo/api#4711", "collapse_key": null,
  "actor": "ci", "title": "Build failed on main", "body": "3 tests failed", "url": "https://ci.example/4711",
  "data": { "branch": "main" }, "occurred_at": "2027-03-14T06:30:00Z" }"#;
        let e = Event::from_json(text).expect("reference event");
        assert_eq!(e.kind, "build.failed");
        assert_eq!(e.to, Some(Recipients::Users(vec!["alice".into()])));
        assert_eq!(e.effective_urgency(), Urgency::High);
    }

    #[test]
    fn unknown_fields_are_named_but_data_is_free() {
        let err = Event::from_json(r#"{"type":"a.b","title":"t","colour":"red"}"#).unwrap_err();
        assert!(err.message.contains("colour"), "{err}");
        let ok = Event::from_json(r#"{"type":"a.b","title":"t","data":{"colour":"red"}}"#);
        assert!(ok.is_ok());
        let err = Event::from_json(r#"{"type":"a.b","title":"t","to":{"group":"x"}}"#).unwrap_err();
        assert_eq!(err.field, "to");
        let err = Event::from_json(r#"{"type":"a.b","title":"t","urgency":"asap"}"#).unwrap_err();
        assert_eq!(err.field, "urgency");
        let err = Event::from_json(r#"{"title":"t"}"#).unwrap_err();
        assert!(err.message.contains("type"), "{err}");
    }

    #[test]
    fn category_defaults_from_prefix() {
        let mut e = Event::from_json(r#"{"type":"issue.assigned","title":"t"}"#).expect("event");
        assert_eq!(e.effective_category(), "issues");
        e.kind = "billing.payment_failed".into();
        assert_eq!(e.effective_category(), "billing");
        e.kind = "build.failed".into();
        assert_eq!(e.effective_category(), "system");
    }

    #[test]
    fn validation_names_the_field() {
        for (text, field) in [
            (r#"{"type":"Build Failed","title":"t"}"#, "type"),
            (r#"{"type":"a.b","title":"  "}"#, "title"),
            (r#"{"type":"a.b","title":"t","url":"ftp://x"}"#, "url"),
            (r#"{"type":"a.b","title":"t","to":{"emails":["nope"]}}"#, "to.emails"),
            (r#"{"type":"a.b","title":"t","to":{"broadcast":false}}"#, "to.broadcast"),
            (r#"{"type":"a.b","title":"t","occurred_at":"yesterday"}"#, "occurred_at"),
        ] {
            let err = Event::from_json(text).unwrap_err();
            assert_eq!(err.field, field, "{text}: {err}");
        }
    }
}
