//! Text rows: what a text field starts from, and how typed text becomes a value. Every
//! check is a function REST `PUT /settings` also runs ([`check_email`], [`check_url`],
//! [`ClockTime`]'s parser, [`timezone`], [`parse_duration`], [`Channel`]'s parser), so the
//! editor and the API word a bad value the same way. Pure.

use std::collections::BTreeMap;

use super::rows::{RowId, RuleField, path};
use crate::model::Channel;
use crate::prefs::{ClockTime, Preferences, check_email, check_url, parse_duration, timezone};

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The text a text row starts editing from.
pub fn text(p: &Preferences, row: RowId) -> String {
    use RuleField as F;
    let c = &p.channels;
    match row {
        RowId::EmailAddress => c.email.address.clone(),
        RowId::SlackUrl => c.slack.url.clone(),
        RowId::WebhookUrl => c.webhook.url.clone(),
        RowId::QuietStart => p.quiet_hours.start.to_string(),
        RowId::QuietEnd => p.quiet_hours.end.to_string(),
        RowId::QuietZone => p.quiet_hours.timezone.clone(),
        RowId::EscalateAfter => p.escalation.after_minutes.to_string(),
        RowId::RepeatEvery => p.urgent.repeat_every_minutes.to_string(),
        RowId::ExpireAfter => p.urgent.expire_minutes.to_string(),
        RowId::Rule(i, f) => {
            let Some(r) = p.rules.get(i) else { return String::new() };
            let m = &r.matcher;
            match f {
                F::Name => r.name.clone(),
                F::Kind => opt(&m.kind),
                F::Category => opt(&m.category),
                F::Actor => opt(&m.actor),
                F::Thread => opt(&m.thread),
                F::Text => opt(&m.text_contains),
                F::Data => m.data.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
                F::Route => r
                    .actions
                    .route
                    .as_ref()
                    .map(|cs| cs.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
                F::SnoozeFor => opt(&r.actions.snooze_for),
                F::Tag => opt(&r.actions.tag),
                _ => String::new(),
            }
        }
        _ => String::new(),
    }
}

fn minutes(s: &str) -> Result<u32, String> {
    s.trim().parse::<u32>().map_err(|_| format!("`{s}` is not a whole number of minutes"))
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `key=value, key=value`; a value that reads as JSON (a number, `true`) is that, else text.
fn data(s: &str) -> Result<BTreeMap<String, serde_json::Value>, String> {
    let mut out = BTreeMap::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("`{pair}` is not key=value"))?;
        let v = v.trim();
        let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
        out.insert(k.trim().to_string(), value);
    }
    Ok(out)
}

fn channels(s: &str) -> Result<Option<Vec<Channel>>, String> {
    let list: Vec<&str> = s.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if list.is_empty() {
        return Ok(None);
    }
    list.into_iter().map(str::parse::<Channel>).collect::<Result<Vec<_>, _>>().map(Some)
}

/// Checks `text` for a row and, when it is good, writes it into `p`. The error is the message
/// the server would give for the same value.
pub fn set_text(p: &mut Preferences, row: RowId, text: &str) -> Result<(), String> {
    use RuleField as F;
    let c = &mut p.channels;
    let err = |e: crate::model::FieldError| e.message;
    match row {
        RowId::EmailAddress => {
            check_email(&path(row), text).map_err(err)?;
            c.email.address = text.to_string();
        }
        RowId::SlackUrl => {
            check_url(&path(row), text).map_err(err)?;
            c.slack.url = text.to_string();
        }
        RowId::WebhookUrl => {
            check_url(&path(row), text).map_err(err)?;
            c.webhook.url = text.to_string();
        }
        RowId::QuietStart => p.quiet_hours.start = text.parse::<ClockTime>()?,
        RowId::QuietEnd => p.quiet_hours.end = text.parse::<ClockTime>()?,
        RowId::QuietZone => {
            timezone(text)?;
            p.quiet_hours.timezone = text.to_string();
        }
        RowId::EscalateAfter => p.escalation.after_minutes = minutes(text)?,
        RowId::RepeatEvery => p.urgent.repeat_every_minutes = minutes(text)?,
        RowId::ExpireAfter => p.urgent.expire_minutes = minutes(text)?,
        RowId::Rule(i, f) => {
            let Some(r) = p.rules.get_mut(i) else { return Ok(()) };
            let m = &mut r.matcher;
            match f {
                // The message `Preferences::validate` gives for an empty name.
                F::Name if text.trim().is_empty() => return Err("must not be empty".into()),
                F::Name => r.name = text.trim().to_string(),
                F::Kind => m.kind = some(text),
                F::Category => m.category = some(text),
                F::Actor => m.actor = some(text),
                F::Thread => m.thread = some(text),
                F::Text => m.text_contains = some(text),
                F::Data => m.data = data(text)?,
                F::Route => r.actions.route = channels(text)?,
                F::SnoozeFor => {
                    let s = some(text);
                    if let Some(s) = &s {
                        parse_duration(s)?;
                    }
                    r.actions.snooze_for = s;
                }
                F::Tag => r.actions.tag = some(text),
                _ => {}
            }
        }
        _ => {}
    }
    Ok(())
}
