//! Incoming webhooks as the store keeps them: which sender's format a hook speaks, whom its
//! events go to, and the secret the sender proves itself with. The mapping of each sender's
//! payload lives in the `hooks` module; this is only the record.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{FieldError, Recipients, check_topic, check_user_name};

/// The sender whose payload format a hook reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum HookSource {
    Github,
    Alertmanager,
    Gitlab,
    Grafana,
    Cloudevents,
    /// Any JSON, mapped by a template of the daemon's config (`[hooks.templates.<name>]`).
    Generic,
}

impl HookSource {
    pub const ALL: [HookSource; 6] = [
        HookSource::Github,
        HookSource::Alertmanager,
        HookSource::Gitlab,
        HookSource::Grafana,
        HookSource::Cloudevents,
        HookSource::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookSource::Github => "github",
            HookSource::Alertmanager => "alertmanager",
            HookSource::Gitlab => "gitlab",
            HookSource::Grafana => "grafana",
            HookSource::Cloudevents => "cloudevents",
            HookSource::Generic => "generic",
        }
    }
}

impl std::str::FromStr for HookSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HookSource::ALL.into_iter().find(|h| h.as_str() == s).ok_or_else(|| {
            format!("unknown hook source `{s}`, expected one of github, alertmanager, gitlab, grafana, cloudevents, generic")
        })
    }
}

/// Whom a hook's events go to when the payload does not say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookTarget {
    Users(Vec<String>),
    Topic(String),
}

impl HookTarget {
    pub fn check(&self) -> Result<(), FieldError> {
        match self {
            HookTarget::Users(users) if users.is_empty() => {
                Err(FieldError::new("user", "a hook publishes to at least one user or a topic"))
            }
            HookTarget::Users(users) => users.iter().try_for_each(|u| check_user_name(u)),
            HookTarget::Topic(t) => check_topic(t),
        }
    }

    pub fn recipients(&self) -> Recipients {
        match self {
            HookTarget::Users(u) => Recipients::Users(u.clone()),
            HookTarget::Topic(t) => Recipients::Topic(t.clone()),
        }
    }
}

impl std::fmt::Display for HookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookTarget::Users(u) => write!(f, "users {}", u.join(",")),
            HookTarget::Topic(t) => write!(f, "topic {t}"),
        }
    }
}

/// A hook as stored. The secret is kept as given (a sender's HMAC needs it), and leaves
/// the server only once, when the hook is created.
#[derive(Clone, PartialEq, Eq)]
pub struct Hook {
    /// Random; the last segment of the hook's URL path.
    pub id: String,
    pub source: HookSource,
    pub target: HookTarget,
    pub label: Option<String>,
    /// The `[hooks.templates.<name>]` a generic hook renders with.
    pub template: Option<String>,
    pub secret: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl Hook {
    /// The path a sender posts to, under the server's address.
    pub fn path(&self) -> String {
        format!("/api/v1/hooks/{}", self.id)
    }

    /// The idempotency scope of its events: keys are per hook.
    pub fn producer(&self) -> String {
        format!("hook:{}", self.id)
    }
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("id", &self.id)
            .field("source", &self.source)
            .field("target", &self.target)
            .field("label", &self.label)
            .field("template", &self.template)
            .field("secret", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}
