//! What preferences mean beyond their shape: parsing a file with errors that name the line,
//! validation (the same checks the editor and `PUT /settings` run), merging a partial
//! object, the outward form (secrets masked), and the field checks they share.

use std::fmt;

use jiff::SignedDuration;
use jiff::tz::TimeZone;

use super::{MASKED_SECRET, Preferences, Required};
use crate::model::{FieldError, looks_like_email};

impl Preferences {
    /// Parses TOML or JSON (by a leading `{`) strictly; the error names the key path.
    pub fn parse(text: &str) -> Result<Preferences, FieldError> {
        let prefs: Preferences = if text.trim_start().starts_with('{') {
            let de = &mut serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| path_error(e.path(), e.inner()))?
        } else {
            let de = toml::Deserializer::parse(text)
                .map_err(|e| FieldError::new("preferences", e.message().to_string()))?;
            serde_path_to_error::deserialize(de).map_err(|e| path_error(e.path(), &e.inner().message()))?
        };
        prefs.validate()?;
        Ok(prefs)
    }

    /// Everything serde cannot check. The first problem found is returned.
    pub fn validate(&self) -> Result<(), FieldError> {
        let c = &self.channels;
        check_email("channels.email.address", &c.email.address)?;
        check_url("channels.slack.url", &c.slack.url)?;
        check_url("channels.webhook.url", &c.webhook.url)?;
        check_secret("channels.webhook.secret", &c.webhook.secret)?;
        timezone(&self.quiet_hours.timezone).map_err(|m| FieldError::new("quiet_hours.timezone", m))?;
        if self.urgent.repeat_every_minutes > 0 && self.urgent.expire_minutes == 0 {
            return Err(FieldError::new(
                "urgent.expire_minutes",
                "must be above 0 when repeat_every_minutes is set",
            ));
        }
        if self.escalation.after_minutes > 0 && self.escalation.channels.is_empty() {
            return Err(FieldError::new("escalation.channels", "name at least one channel to escalate to"));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |f: &str| format!("rules[{i}].{f}");
            if rule.name.trim().is_empty() {
                return Err(FieldError::new(at("name"), "must not be empty"));
            }
            if let (Some(lo), Some(hi)) = (rule.matcher.urgency_at_least, rule.matcher.urgency_at_most)
                && lo > hi
            {
                return Err(FieldError::new(at("match"), "urgency_at_least is above urgency_at_most"));
            }
            if let Some(s) = &rule.actions.snooze_for {
                parse_duration(s).map_err(|m| FieldError::new(at("actions.snooze_for"), m))?;
            }
            if rule.actions.route.as_ref().is_some_and(Vec::is_empty) {
                return Err(FieldError::new(at("actions.route"), "name at least one channel, or use mute"));
            }
        }
        Ok(())
    }

    /// Refuses preferences that turn off a cell the organisation requires.
    pub fn check_required(&self, required: &Required) -> Result<(), FieldError> {
        for (kind, channels) in &required.events {
            for ch in channels {
                if self.events.get(kind).and_then(|m| m.get(ch)) == Some(&false) {
                    return Err(FieldError::new(
                        format!("events.{kind}.{ch}"),
                        "required by your organisation and cannot be turned off",
                    ));
                }
            }
        }
        for (cat, channels) in &required.categories {
            for ch in channels {
                if self.categories.get(cat).and_then(|m| m.get(ch)) == Some(&false) {
                    return Err(FieldError::new(
                        format!("categories.{cat}.{ch}"),
                        "required by your organisation and cannot be turned off",
                    ));
                }
            }
        }
        Ok(())
    }

    /// These preferences as they leave the server (REST, welcome, `prefs_updated`): the
    /// webhook secret replaced by a mask (DESIGN §9).
    pub fn outward(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if !self.channels.webhook.secret.is_empty() {
            v["channels"]["webhook"]["secret"] = serde_json::Value::String(MASKED_SECRET.into());
        }
        v
    }

    /// Merges a partial preferences object into these (absent fields stay), then validates.
    /// The bounds on what one user may save (documented in README): a preference document
    /// is read on every event for its user, and each save is kept in the change log.
    pub fn check_limits(&self) -> Result<(), FieldError> {
        if self.rules.len() > MAX_RULES {
            return Err(FieldError::new(
                "rules",
                format!("at most {MAX_RULES} rules, found {}", self.rules.len()),
            ));
        }
        for (field, n) in [("categories", self.categories.len()), ("events", self.events.len())] {
            if n > MAX_ENTRIES {
                return Err(FieldError::new(field, format!("at most {MAX_ENTRIES} entries, found {n}")));
            }
        }
        let size = serde_json::to_vec(self).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > MAX_PREFS_BYTES {
            return Err(FieldError::new(
                "preferences",
                format!(
                    "at most {} KiB of preferences, found {} KiB",
                    MAX_PREFS_BYTES / 1024,
                    size.div_ceil(1024)
                ),
            ));
        }
        Ok(())
    }

    pub fn merged(&self, patch: &serde_json::Value) -> Result<Preferences, FieldError> {
        let mut base =
            serde_json::to_value(self).map_err(|e| FieldError::new("preferences", e.to_string()))?;
        merge_json(&mut base, patch);
        let text = base.to_string();
        Preferences::parse(&text)
    }
}

fn merge_json(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge_json(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

fn path_error(path: &serde_path_to_error::Path, message: &dyn fmt::Display) -> FieldError {
    let p = path.to_string();
    let field = if p == "." { "preferences".to_string() } else { p };
    FieldError::new(field, message.to_string())
}

/// An e-mail address, or empty for none. [`Preferences::validate`] and the TUI's editor (as
/// the user types) both check with this, so both say the same.
pub fn check_email(field: &str, address: &str) -> Result<(), FieldError> {
    if !address.is_empty() && !looks_like_email(address) {
        return Err(FieldError::new(field, format!("`{address}` is not an e-mail address")));
    }
    Ok(())
}

/// A webhook signing secret, or empty for none.
pub fn check_secret(field: &str, secret: &str) -> Result<(), FieldError> {
    use base64::Engine as _;
    if secret.is_empty() || secret == MASKED_SECRET {
        return Ok(());
    }
    let Some(key) = secret.strip_prefix("whsec_") else {
        return Err(FieldError::new(field, "must start with `whsec_`"));
    };
    // Standard Webhooks: the key is the base64 after the prefix, tens of bytes long.
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(k) if (16..=64).contains(&k.len()) => Ok(()),
        Ok(k) => Err(FieldError::new(field, format!("the key is {} bytes: use 16 to 64", k.len()))),
        Err(_) => Err(FieldError::new(field, "must be `whsec_` followed by base64")),
    }
}

/// An http(s) URL with a host, or empty for none; shared like [`check_email`].
pub fn check_url(field: &str, url: &str) -> Result<(), FieldError> {
    if url.is_empty() {
        return Ok(());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| FieldError::new(field, format!("`{url}` must start with https:// or http://")))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(FieldError::new(field, format!("`{url}` has no host")));
    }
    Ok(())
}

/// Looks an IANA name up in the bundled database (works without /usr/share/zoneinfo).
pub fn timezone(name: &str) -> Result<TimeZone, String> {
    jiff::tz::db()
        .get(name)
        .map_err(|_| format!("`{name}` is not an IANA time zone (like Europe/Berlin or America/New_York)"))
}

/// `1h`, `30m`, `1h 30m`: the friendly duration format.
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    match s.parse::<SignedDuration>() {
        Ok(d) if d.is_positive() => Ok(d),
        _ => Err(format!("`{s}` is not a duration like 30m, 1h or 1h 30m")),
    }
}

/// Rules one user may have.
pub const MAX_RULES: usize = 100;
/// Category or event-type entries in the matrix.
pub const MAX_ENTRIES: usize = 500;
/// The largest preference document, serialised.
pub const MAX_PREFS_BYTES: usize = 64 * 1024;
