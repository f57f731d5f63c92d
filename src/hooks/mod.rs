//! Incoming webhooks (issue 15): each sender's own payload (GitHub, Alertmanager, GitLab,
//! Grafana, CloudEvents) turned into DESIGN §13 events, with the reasons for each choice so
//! `campanile explain --hook` can show them. Pure: bytes and headers in, events out; no
//! clock, no I/O, no store. Of the crate it names only the model. One file per sender;
//! verification of the sender's signature or token lives here too, because it is a
//! function of the secret, the headers and the body.
//!
//! Every event a hook makes carries an idempotency key derived from the sender's own
//! delivery id (or, where the sender has none, from the alert and its content), so a
//! redelivery is recorded once.

mod alerts;
mod cloudevents;
mod generic;
mod github;
mod gitlab;

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{Event, HookSource, Urgency};

pub use generic::{Template, validate as validate_templates};

/// Request headers, names lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(BTreeMap<String, String>);

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_ascii_lowercase(), value.to_string());
    }

    pub fn with(mut self, name: &str, value: &str) -> Headers {
        self.insert(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// The daemon's `[hooks]` settings: how alerts' severities become urgencies, which label
/// names an alert's recipients, and which branches count for pushes and CI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// An alert's `severity` label → urgency; severities not listed are `normal`.
    pub severity_urgency: BTreeMap<String, Urgency>,
    /// A label (Alertmanager, Grafana) naming the user(s) an alert goes to, comma-separated;
    /// empty, or absent on the alert: the hook's own target.
    pub recipient_label: String,
    /// Branches whose pushes notify and whose CI failures are `high`, besides the
    /// repository's default branch.
    pub branches: Vec<String>,
    /// Templates of generic hooks, by name.
    pub templates: BTreeMap<String, Template>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            severity_urgency: BTreeMap::from([
                ("critical".to_string(), Urgency::Urgent),
                ("warning".to_string(), Urgency::High),
            ]),
            recipient_label: String::new(),
            branches: Vec::new(),
            templates: BTreeMap::new(),
        }
    }
}

/// One event a payload becomes, with its idempotency key and why it looks as it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub key: Option<String>,
    pub event: Event,
    pub reasons: Vec<String>,
}

/// What a delivery becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Events(Vec<Mapped>),
    /// The sender checking the hook (GitHub's `ping`): answered, nothing stored.
    Ping(String),
    /// A kind or action this hook does not notify about: nothing stored, and why.
    Ignored(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// The sender did not prove it knows the secret (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The body or a header is not what the sender documents (400).
    #[error("{0}")]
    Malformed(String),
}

/// Checks that a delivery comes from someone who knows the hook's secret, the way each
/// sender proves it: GitHub signs the body (`X-Hub-Signature-256`), GitLab sends the token
/// (`X-Gitlab-Token`), the others an `Authorization: Bearer` header. Constant-time.
pub fn verify(source: HookSource, secret: &str, headers: &Headers, body: &[u8]) -> Result<(), HookError> {
    match source {
        HookSource::Github => github::verify(secret, headers, body),
        HookSource::Gitlab => {
            let token = headers.get("x-gitlab-token").ok_or_else(|| {
                HookError::Unauthorized(
                    "missing X-Gitlab-Token: set the hook's secret as the webhook's secret token".into(),
                )
            })?;
            if same(token.as_bytes(), secret.as_bytes()) {
                Ok(())
            } else {
                Err(HookError::Unauthorized("X-Gitlab-Token does not match the hook's secret".into()))
            }
        }
        HookSource::Alertmanager | HookSource::Grafana | HookSource::Cloudevents | HookSource::Generic => {
            let given = headers
                .get("authorization")
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
                .ok_or_else(|| {
                    HookError::Unauthorized(
                        "missing `Authorization: Bearer <secret>`: give the sender the hook's secret as a bearer credential".into(),
                    )
                })?;
            if same(given.as_bytes(), secret.as_bytes()) {
                Ok(())
            } else {
                Err(HookError::Unauthorized("the bearer credential does not match the hook's secret".into()))
            }
        }
    }
}

/// Turns a verified delivery into events (or says why it makes none). `template` is a
/// generic hook's template name.
pub fn map(
    source: HookSource,
    template: Option<&str>,
    headers: &Headers,
    body: &[u8],
    settings: &Settings,
) -> Result<Outcome, HookError> {
    match source {
        HookSource::Generic => generic::map(template, body, settings),
        HookSource::Github => github::map(headers, body, settings),
        HookSource::Gitlab => gitlab::map(headers, body, settings),
        HookSource::Alertmanager => alerts::map(alerts::Sender::Alertmanager, body, settings),
        HookSource::Grafana => alerts::map(alerts::Sender::Grafana, body, settings),
        HookSource::Cloudevents => cloudevents::map(headers, body),
    }
}

/// The header that names the kind of event, for senders that send one (`explain --event-kind`).
pub fn kind_header(source: HookSource) -> Option<&'static str> {
    match source {
        HookSource::Github => Some("x-github-event"),
        HookSource::Gitlab => Some("x-gitlab-event"),
        HookSource::Cloudevents | HookSource::Alertmanager | HookSource::Grafana | HookSource::Generic => {
            None
        }
    }
}

/// Equal without saying where they differ: both sides are hashed first, so neither length
/// nor content leaks through timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `body` under `secret`, checked against `expected` in constant time.
fn hmac_matches(secret: &[u8], body: &[u8], expected: &[u8]) -> bool {
    match HmacSha256::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            mac.verify_slice(expected).is_ok()
        }
        Err(_) => false,
    }
}

/// The body as a JSON object, or a 400 that says so.
fn object(body: &[u8], what: &str) -> Result<Value, HookError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| HookError::Malformed(format!("the {what} payload is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(HookError::Malformed(format!("the {what} payload is not a JSON object")));
    }
    Ok(v)
}

/// A string at a JSON pointer (`/a/b`), if there is one.
fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A required string, or a 400 naming the field (`workflow_run.conclusion`).
fn need<'a>(v: &'a Value, pointer: &str, what: &str) -> Result<&'a str, HookError> {
    text(v, pointer).ok_or_else(|| {
        HookError::Malformed(format!(
            "{what}: missing `{}` (a string)",
            pointer.trim_start_matches('/').replace('/', ".")
        ))
    })
}

/// A required number, or a 400 naming the field.
fn need_u64(v: &Value, pointer: &str, what: &str) -> Result<u64, HookError> {
    v.pointer(pointer).and_then(Value::as_u64).ok_or_else(|| {
        HookError::Malformed(format!(
            "{what}: missing `{}` (a number)",
            pointer.trim_start_matches('/').replace('/', ".")
        ))
    })
}

/// Cuts text to at most `max` bytes on a character boundary, marking the cut.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Limits of the event fields (the model's, with room to spare).
const TITLE: usize = 300;
const BODY: usize = 4_000;
const KEY: usize = 250;

/// An event with the fields every hook fills, cut to the model's limits.
#[allow(clippy::too_many_arguments, reason = "one call site per sender, each naming every field")]
fn event(
    kind: &str,
    category: &str,
    urgency: Urgency,
    title: &str,
    body: Option<String>,
    url: Option<&str>,
    thread: Option<String>,
    actor: Option<&str>,
) -> Event {
    Event {
        id: None,
        kind: kind.to_string(),
        category: Some(category.to_string()),
        urgency: Some(urgency),
        to: None,
        thread: thread.map(|t| clip(&t, KEY)),
        collapse_key: None,
        actor: actor.map(|a| clip(a, KEY)),
        title: clip(title.trim(), TITLE),
        body: body.map(|b| clip(b.trim(), BODY)).filter(|b| !b.is_empty()),
        url: url.map(|u| clip(u, 2_000)),
        data: Value::Null,
        occurred_at: None,
    }
}

/// A key for a delivery id that may be long: kept when it fits, else its hash.
fn key_of(parts: &[&str]) -> String {
    let joined = parts.join(":");
    if joined.len() <= KEY { joined } else { format!("sha256:{}", hex(&Sha256::digest(joined.as_bytes()))) }
}

/// The first 16 hex digits of the SHA-256 of an event's content: keys that change when
/// the content does, so a changed repeat is a new event and an identical one a replay.
fn content_tag(event: &Event) -> String {
    let text = serde_json::to_string(event).unwrap_or_default();
    hex(&Sha256::digest(text.as_bytes()))[..16].to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first line of a text, for titles built from commit messages and comments.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default().trim()
}

#[cfg(test)]
mod checks {
    #![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

    use super::*;

    #[test]
    fn same_compares_whole_values() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn clip_cuts_on_a_character_boundary_and_marks_it() {
        assert_eq!(clip("short", 10), "short");
        let c = clip("ééééé", 7);
        assert!(c.len() <= 7 && c.ends_with('…'), "{c}");
        assert_eq!(clip("abcdefghij", 6), "abc…");
    }

    #[test]
    fn bearer_senders_need_the_secret() {
        let body = b"{}";
        let h = Headers::new().with("Authorization", "Bearer s3cret");
        assert_eq!(verify(HookSource::Alertmanager, "s3cret", &h, body), Ok(()));
        let wrong = Headers::new().with("Authorization", "Bearer nope");
        assert!(matches!(
            verify(HookSource::Grafana, "s3cret", &wrong, body),
            Err(HookError::Unauthorized(_))
        ));
        let basic = Headers::new().with("Authorization", "Basic czNjcmV0");
        assert!(matches!(
            verify(HookSource::Cloudevents, "s3cret", &basic, body),
            Err(HookError::Unauthorized(_))
        ));
        assert!(matches!(
            verify(HookSource::Alertmanager, "s3cret", &Headers::new(), body),
            Err(HookError::Unauthorized(m)) if m.contains("Authorization")
        ));
    }

    #[test]
    fn gitlab_sends_its_token() {
        let h = Headers::new().with("X-Gitlab-Token", "tok");
        assert_eq!(verify(HookSource::Gitlab, "tok", &h, b"{}"), Ok(()));
        let h = Headers::new().with("X-Gitlab-Token", "to");
        assert!(matches!(verify(HookSource::Gitlab, "tok", &h, b"{}"), Err(HookError::Unauthorized(_))));
    }

    #[test]
    fn long_keys_are_hashed_to_fit() {
        assert_eq!(key_of(&["a", "b"]), "a:b");
        let long = "x".repeat(400);
        let k = key_of(&[&long]);
        assert!(k.starts_with("sha256:") && k.len() < KEY, "{k}");
    }
}

#[cfg(test)]
mod tests;
