//! Per-user preferences (DESIGN §3, shape of §13) and the organisation's policy that bounds
//! them. One validation serves every way preferences arrive (file, REST, `prefs_update`), so
//! the same bad value gets the same message everywhere. No I/O lives here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Time;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Channel, Urgency};

/// A wall-clock time of day written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(pub Time);

impl ClockTime {
    pub fn hm(hour: i8, minute: i8) -> ClockTime {
        ClockTime(Time::constant(hour, minute, 0, 0))
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

impl FromStr for ClockTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a time of day HH:MM (00:00 to 23:59)");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: i8 = h.parse().map_err(|_| bad())?;
        let minute: i8 = m.parse().map_err(|_| bad())?;
        Time::new(hour, minute, 0, 0).map(ClockTime).map_err(|_| bad())
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a webhook secret looks like on the way out of the server.
pub const MASKED_SECRET: &str = "whsec_********";

/// Manual do-not-disturb: until an instant, or until turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DndUntil {
    At(Timestamp),
    Forever,
}

fn ser_dnd<S: Serializer>(v: &Option<DndUntil>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_str(""),
        Some(DndUntil::Forever) => s.serialize_str("forever"),
        Some(DndUntil::At(t)) => s.collect_str(t),
    }
}

fn de_dnd<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DndUntil>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    match s.as_str() {
        "" => Ok(None),
        "forever" => Ok(Some(DndUntil::Forever)),
        other => other.parse::<Timestamp>().map(|t| Some(DndUntil::At(t))).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{other}` is neither an RFC 3339 instant (2027-03-14T09:00:00Z) nor `forever`"
            ))
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EmailFrequency {
    #[default]
    Immediate,
    Hourly,
    Daily,
    Weekly,
}

impl EmailFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailFrequency::Immediate => "immediate",
            EmailFrequency::Hourly => "hourly",
            EmailFrequency::Daily => "daily",
            EmailFrequency::Weekly => "weekly",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DesktopPrefs {
    pub enabled: bool,
    pub min_urgency: Urgency,
}

impl Default for DesktopPrefs {
    fn default() -> Self {
        // The product pops up only for urgent items unless the user lowers it (DESIGN §4).
        DesktopPrefs { enabled: true, min_urgency: Urgency::Urgent }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailPrefs {
    pub enabled: bool,
    pub min_urgency: Urgency,
    pub address: String,
    pub frequency: EmailFrequency,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackPrefs {
    pub enabled: bool,
    pub min_urgency: Urgency,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookPrefs {
    pub enabled: bool,
    pub min_urgency: Urgency,
    pub url: String,
    /// `whsec_<base64>`; never sent back to clients in full.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushPrefs {
    pub enabled: bool,
    pub min_urgency: Urgency,
}

// Every channel but desktop starts at `low` (DESIGN §4); a derived `Default` would take
// `Urgency::default()`, which is an event's default urgency (`normal`), not a channel minimum.
impl Default for EmailPrefs {
    fn default() -> Self {
        EmailPrefs {
            enabled: false,
            min_urgency: Urgency::Low,
            address: String::new(),
            frequency: EmailFrequency::default(),
        }
    }
}

impl Default for SlackPrefs {
    fn default() -> Self {
        SlackPrefs { enabled: false, min_urgency: Urgency::Low, url: String::new() }
    }
}

impl Default for WebhookPrefs {
    fn default() -> Self {
        WebhookPrefs { enabled: false, min_urgency: Urgency::Low, url: String::new(), secret: String::new() }
    }
}

impl Default for PushPrefs {
    fn default() -> Self {
        PushPrefs { enabled: false, min_urgency: Urgency::Low }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelPrefs {
    pub desktop: DesktopPrefs,
    pub email: EmailPrefs,
    pub slack: SlackPrefs,
    pub webhook: WebhookPrefs,
    pub push: PushPrefs,
}

impl ChannelPrefs {
    /// Whether the channel is on and its minimum urgency.
    pub fn switch(&self, channel: Channel) -> (bool, Urgency) {
        match channel {
            Channel::Desktop => (self.desktop.enabled, self.desktop.min_urgency),
            Channel::Email => (self.email.enabled, self.email.min_urgency),
            Channel::Slack => (self.slack.enabled, self.slack.min_urgency),
            Channel::Webhook => (self.webhook.enabled, self.webhook.min_urgency),
            Channel::Push => (self.push.enabled, self.push.min_urgency),
        }
    }

    /// What is missing for the channel to deliver anywhere, if anything.
    pub fn missing_target(&self, channel: Channel) -> Option<&'static str> {
        match channel {
            Channel::Email if self.email.address.is_empty() => Some("no e-mail address set"),
            Channel::Slack if self.slack.url.is_empty() => Some("no Slack webhook URL set"),
            Channel::Webhook if self.webhook.url.is_empty() => Some("no webhook URL set"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuietHours {
    pub enabled: bool,
    pub start: ClockTime,
    pub end: ClockTime,
    /// IANA name; checked against the bundled time-zone database.
    pub timezone: String,
    pub weekends: bool,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            enabled: false,
            start: ClockTime::hm(22, 0),
            end: ClockTime::hm(8, 0),
            timezone: "UTC".into(),
            weekends: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PresencePrefs {
    pub suppress_when_viewing: bool,
}

impl Default for PresencePrefs {
    fn default() -> Self {
        PresencePrefs { suppress_when_viewing: true }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Escalation {
    /// 0 = no escalation.
    pub after_minutes: u32,
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UrgentRepeat {
    /// 0 = never repeat.
    pub repeat_every_minutes: u32,
    pub expire_minutes: u32,
}

impl Default for UrgentRepeat {
    fn default() -> Self {
        UrgentRepeat { repeat_every_minutes: 10, expire_minutes: 60 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Dnd {
    #[serde(serialize_with = "ser_dnd", deserialize_with = "de_dnd")]
    pub until: Option<DndUntil>,
}

/// What a rule looks at. Every condition present must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RuleMatch {
    /// Glob over the event type: `build.*`, `*.failed`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency_at_least: Option<Urgency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency_at_most: Option<Urgency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Glob over the thread key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Case-insensitive substring of title or body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_contains: Option<String>,
    /// Dotted path into `data` → the value it must equal.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, serde_json::Value>,
}

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RuleActions {
    /// No out-of-band channel; the inbox still records.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mute: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_urgency: Option<Urgency>,
    /// Only these channels (the event x channel matrix is overridden for them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<Vec<Channel>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_inbox: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mark_read: bool,
    /// A duration such as `1h` or `30m`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snooze_for: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(rename = "match", default)]
    pub matcher: RuleMatch,
    #[serde(default)]
    pub actions: RuleActions,
    /// Ends the chain when this rule matched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop: bool,
}

fn yes() -> bool {
    true
}

pub type ChannelSwitches = BTreeMap<Channel, bool>;

/// One user's preferences, the structure of DESIGN §13.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Preferences {
    pub channels: ChannelPrefs,
    pub quiet_hours: QuietHours,
    pub presence: PresencePrefs,
    pub categories: BTreeMap<String, ChannelSwitches>,
    pub events: BTreeMap<String, ChannelSwitches>,
    pub escalation: Escalation,
    pub urgent: UrgentRepeat,
    pub dnd: Dnd,
    pub rules: Vec<Rule>,
}

/// The organisation's bounds on preferences, from the daemon's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Required {
    /// Event type → channels a user cannot turn off.
    pub events: BTreeMap<String, Vec<Channel>>,
    /// Category → channels a user cannot turn off.
    pub categories: BTreeMap<String, Vec<Channel>>,
}

impl Required {
    pub fn requires(&self, kind: &str, category: &str, channel: Channel) -> bool {
        self.events.get(kind).is_some_and(|c| c.contains(&channel))
            || self.categories.get(category).is_some_and(|c| c.contains(&channel))
    }
}

mod checks;

pub use checks::{check_email, check_secret, check_url, parse_duration, timezone};

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn a_webhook_secret_is_whsec_and_base64_of_a_sensible_length() {
        assert!(check_secret("s", "").is_ok());
        assert!(check_secret("s", MASKED_SECRET).is_ok(), "a client echoing the mask keeps the secret");
        assert!(check_secret("s", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert_eq!(check_secret("s", "MfKQ9r8").unwrap_err().message, "must start with `whsec_`");
        assert_eq!(check_secret("s", "whsec_!!").unwrap_err().message, "must be `whsec_` followed by base64");
        assert!(check_secret("s", "whsec_c2hvcnQ=").unwrap_err().message.contains("5 bytes"));
    }
}
