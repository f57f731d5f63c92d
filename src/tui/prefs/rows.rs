//! The editor's rows outside the matrix: what each one edits, how it reads, and how it
//! changes. A row is a switch (space flips it), a choice (space steps through the values) or
//! text (enter opens a tui-textarea). Text is checked by the functions REST `PUT /settings`
//! runs ([`crate::prefs::check_email`], [`crate::prefs::check_url`], [`ClockTime`]'s parser,
//! [`crate::prefs::timezone`], [`crate::prefs::parse_duration`]), so the editor and the API
//! word a bad value the same way. Pure: `now` and the zone arrive as arguments.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::model::{Channel, Urgency};
use crate::prefs::{
    ClockTime, DndUntil, EmailFrequency, MASKED_SECRET, Preferences, Rule, check_email, check_url,
    parse_duration, timezone,
};
use crate::tui::action::DndPreset;
use crate::tui::presets::dnd_until;

/// A field of a rule's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleField {
    Name,
    Enabled,
    Kind,
    Category,
    AtLeast,
    AtMost,
    Actor,
    Thread,
    Text,
    Data,
    Mute,
    SetUrgency,
    Route,
    SkipInbox,
    MarkRead,
    SnoozeFor,
    Tag,
    Stop,
}

impl RuleField {
    pub const ALL: [RuleField; 18] = [
        RuleField::Name,
        RuleField::Enabled,
        RuleField::Kind,
        RuleField::Category,
        RuleField::AtLeast,
        RuleField::AtMost,
        RuleField::Actor,
        RuleField::Thread,
        RuleField::Text,
        RuleField::Data,
        RuleField::Mute,
        RuleField::SetUrgency,
        RuleField::Route,
        RuleField::SkipInbox,
        RuleField::MarkRead,
        RuleField::SnoozeFor,
        RuleField::Tag,
        RuleField::Stop,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowId {
    Enabled(Channel),
    MinUrgency(Channel),
    EmailAddress,
    EmailFrequency,
    SlackUrl,
    WebhookUrl,
    WebhookSecret,
    PushDevices,
    QuietEnabled,
    QuietStart,
    QuietEnd,
    QuietZone,
    QuietWeekends,
    EscalateAfter,
    EscalateVia(Channel),
    RepeatEvery,
    ExpireAfter,
    Dnd,
    SuppressViewing,
    Rule(usize, RuleField),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Switch,
    Choice,
    Text,
    /// Read-only (or changed by a key of its own).
    Info,
}

pub const CHANNELS: [RowId; 16] = [
    RowId::Enabled(Channel::Desktop),
    RowId::MinUrgency(Channel::Desktop),
    RowId::Enabled(Channel::Email),
    RowId::MinUrgency(Channel::Email),
    RowId::EmailAddress,
    RowId::EmailFrequency,
    RowId::Enabled(Channel::Slack),
    RowId::MinUrgency(Channel::Slack),
    RowId::SlackUrl,
    RowId::Enabled(Channel::Webhook),
    RowId::MinUrgency(Channel::Webhook),
    RowId::WebhookUrl,
    RowId::WebhookSecret,
    RowId::Enabled(Channel::Push),
    RowId::MinUrgency(Channel::Push),
    RowId::PushDevices,
];

pub const QUIET: [RowId; 6] = [
    RowId::QuietEnabled,
    RowId::QuietStart,
    RowId::QuietEnd,
    RowId::QuietZone,
    RowId::QuietWeekends,
    RowId::Dnd,
];

pub fn delivery() -> Vec<RowId> {
    let mut rows = vec![RowId::EmailFrequency, RowId::EscalateAfter];
    rows.extend(Channel::ALL.map(RowId::EscalateVia));
    rows.extend([RowId::RepeatEvery, RowId::ExpireAfter, RowId::SuppressViewing]);
    rows
}

pub fn rule_form(i: usize) -> Vec<RowId> {
    RuleField::ALL.iter().map(|f| RowId::Rule(i, *f)).collect()
}

pub fn kind(row: RowId) -> Kind {
    use RuleField as F;
    match row {
        RowId::Enabled(_)
        | RowId::QuietEnabled
        | RowId::QuietWeekends
        | RowId::EscalateVia(_)
        | RowId::SuppressViewing
        | RowId::Rule(_, F::Enabled | F::Mute | F::SkipInbox | F::MarkRead | F::Stop) => Kind::Switch,
        RowId::MinUrgency(_)
        | RowId::EmailFrequency
        | RowId::Dnd
        | RowId::Rule(_, F::AtLeast | F::AtMost | F::SetUrgency) => Kind::Choice,
        RowId::WebhookSecret | RowId::PushDevices => Kind::Info,
        _ => Kind::Text,
    }
}

pub fn label(row: RowId) -> String {
    use RuleField as F;
    match row {
        RowId::Enabled(c) => format!("{c}"),
        RowId::MinUrgency(_) => "  at least".into(),
        RowId::EmailAddress => "  address".into(),
        RowId::EmailFrequency => "  frequency (digest)".into(),
        RowId::SlackUrl => "  webhook URL".into(),
        RowId::WebhookUrl => "  URL".into(),
        RowId::WebhookSecret => "  secret".into(),
        RowId::PushDevices => "  devices".into(),
        RowId::QuietEnabled => "quiet hours".into(),
        RowId::QuietStart => "start".into(),
        RowId::QuietEnd => "end".into(),
        RowId::QuietZone => "time zone".into(),
        RowId::QuietWeekends => "weekends muted".into(),
        RowId::EscalateAfter => "escalate after (min)".into(),
        RowId::EscalateVia(c) => format!("  via {c}"),
        RowId::RepeatEvery => "urgent: repeat every (min)".into(),
        RowId::ExpireAfter => "urgent: give up after (min)".into(),
        RowId::Dnd => "do not disturb".into(),
        RowId::SuppressViewing => "presence: quiet while viewing".into(),
        RowId::Rule(_, f) => match f {
            F::Name => "name",
            F::Enabled => "enabled",
            F::Kind => "match type (glob)",
            F::Category => "match category",
            F::AtLeast => "match urgency at least",
            F::AtMost => "match urgency at most",
            F::Actor => "match actor",
            F::Thread => "match thread (glob)",
            F::Text => "match text contains",
            F::Data => "match data (k=v, …)",
            F::Mute => "→ mute",
            F::SetUrgency => "→ set urgency",
            F::Route => "→ route to (channels)",
            F::SkipInbox => "→ skip inbox",
            F::MarkRead => "→ mark read",
            F::SnoozeFor => "→ snooze for",
            F::Tag => "→ tag",
            F::Stop => "stop after this rule",
        }
        .into(),
    }
}

/// The DESIGN §13 path of what a row edits: a save's error names one, and the view shows it
/// under that row.
pub fn path(row: RowId) -> String {
    use RuleField as F;
    match row {
        RowId::Enabled(c) => format!("channels.{c}.enabled"),
        RowId::MinUrgency(c) => format!("channels.{c}.min_urgency"),
        RowId::EmailAddress => "channels.email.address".into(),
        RowId::EmailFrequency => "channels.email.frequency".into(),
        RowId::SlackUrl => "channels.slack.url".into(),
        RowId::WebhookUrl => "channels.webhook.url".into(),
        RowId::WebhookSecret => "channels.webhook.secret".into(),
        RowId::PushDevices => "channels.push".into(),
        RowId::QuietEnabled => "quiet_hours.enabled".into(),
        RowId::QuietStart => "quiet_hours.start".into(),
        RowId::QuietEnd => "quiet_hours.end".into(),
        RowId::QuietZone => "quiet_hours.timezone".into(),
        RowId::QuietWeekends => "quiet_hours.weekends".into(),
        RowId::EscalateAfter => "escalation.after_minutes".into(),
        RowId::EscalateVia(_) => "escalation.channels".into(),
        RowId::RepeatEvery => "urgent.repeat_every_minutes".into(),
        RowId::ExpireAfter => "urgent.expire_minutes".into(),
        RowId::Dnd => "dnd.until".into(),
        RowId::SuppressViewing => "presence.suppress_when_viewing".into(),
        RowId::Rule(i, f) => format!(
            "rules[{i}].{}",
            match f {
                F::Name => "name",
                F::Enabled => "enabled",
                F::Stop => "stop",
                F::Kind | F::Category | F::AtLeast | F::AtMost | F::Actor | F::Thread | F::Text | F::Data =>
                    "match",
                F::Mute => "actions.mute",
                F::SetUrgency => "actions.set_urgency",
                F::Route => "actions.route",
                F::SkipInbox => "actions.skip_inbox",
                F::MarkRead => "actions.mark_read",
                F::SnoozeFor => "actions.snooze_for",
                F::Tag => "actions.tag",
            }
        ),
    }
}

fn on(b: bool) -> String {
    if b { "on" } else { "off" }.into()
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn urgency(u: Option<Urgency>) -> String {
    u.map_or_else(|| "any".into(), |u| u.to_string())
}

fn rule(p: &Preferences, i: usize) -> Option<&Rule> {
    p.rules.get(i)
}

/// How a row reads on screen (text rows show their text).
pub fn display(p: &Preferences, row: RowId, tz: &TimeZone) -> String {
    use RuleField as F;
    let c = &p.channels;
    match row {
        RowId::Enabled(ch) => on(c.switch(ch).0),
        RowId::MinUrgency(ch) => c.switch(ch).1.to_string(),
        RowId::EmailFrequency => c.email.frequency.as_str().into(),
        RowId::WebhookSecret if c.webhook.secret.is_empty() => "(none) · g generates one".into(),
        // Never shown in full: a new one is shown once, on the status line.
        RowId::WebhookSecret => format!("{MASKED_SECRET} · g regenerates"),
        RowId::PushDevices => "registered with the app (POST /device-tokens); not listed over sync".into(),
        RowId::QuietEnabled => on(p.quiet_hours.enabled),
        RowId::QuietWeekends => on(p.quiet_hours.weekends),
        RowId::EscalateVia(ch) => on(p.escalation.channels.contains(&ch)),
        RowId::SuppressViewing => on(p.presence.suppress_when_viewing),
        RowId::Dnd => match p.dnd.until {
            None => "off".into(),
            Some(DndUntil::Forever) => "until turned off".into(),
            Some(DndUntil::At(t)) => format!("until {}", t.to_zoned(tz.clone()).strftime("%a %d %b %H:%M")),
        },
        RowId::Rule(i, f) => {
            let Some(r) = rule(p, i) else { return String::new() };
            match f {
                F::Enabled => on(r.enabled),
                F::Mute => on(r.actions.mute),
                F::SkipInbox => on(r.actions.skip_inbox),
                F::MarkRead => on(r.actions.mark_read),
                F::Stop => on(r.stop),
                F::AtLeast => urgency(r.matcher.urgency_at_least),
                F::AtMost => urgency(r.matcher.urgency_at_most),
                F::SetUrgency => r.actions.set_urgency.map_or_else(|| "unchanged".into(), |u| u.to_string()),
                _ => text(p, row),
            }
        }
        _ => text(p, row),
    }
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
            let Some(r) = rule(p, i) else { return String::new() };
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

fn next<T: Copy + PartialEq>(all: &[T], at: T) -> T {
    let i = all.iter().position(|x| *x == at).map_or(0, |i| (i + 1) % all.len());
    all[i]
}

fn next_opt(u: Option<Urgency>) -> Option<Urgency> {
    match u {
        None => Some(Urgency::Low),
        Some(Urgency::Urgent) => None,
        Some(u) => Some(next(&Urgency::ALL, u)),
    }
}

/// Flips a switch or steps a choice to its next value. Do-not-disturb steps through off,
/// one hour, tomorrow 09:00 and until turned off, from `now` in the user's zone.
pub fn step(p: &mut Preferences, row: RowId, now: Timestamp, tz: &TimeZone) {
    use RuleField as F;
    let c = &mut p.channels;
    match row {
        RowId::Enabled(ch) => match ch {
            Channel::Desktop => c.desktop.enabled ^= true,
            Channel::Email => c.email.enabled ^= true,
            Channel::Slack => c.slack.enabled ^= true,
            Channel::Webhook => c.webhook.enabled ^= true,
            Channel::Push => c.push.enabled ^= true,
        },
        RowId::MinUrgency(ch) => {
            let u = match ch {
                Channel::Desktop => &mut c.desktop.min_urgency,
                Channel::Email => &mut c.email.min_urgency,
                Channel::Slack => &mut c.slack.min_urgency,
                Channel::Webhook => &mut c.webhook.min_urgency,
                Channel::Push => &mut c.push.min_urgency,
            };
            *u = next(&Urgency::ALL, *u);
        }
        RowId::EmailFrequency => {
            use EmailFrequency::{Daily, Hourly, Immediate, Weekly};
            c.email.frequency = next(&[Immediate, Hourly, Daily, Weekly], c.email.frequency);
        }
        RowId::QuietEnabled => p.quiet_hours.enabled ^= true,
        RowId::QuietWeekends => p.quiet_hours.weekends ^= true,
        RowId::SuppressViewing => p.presence.suppress_when_viewing ^= true,
        RowId::EscalateVia(ch) => {
            let list = &mut p.escalation.channels;
            if list.contains(&ch) {
                list.retain(|x| *x != ch);
            } else {
                list.push(ch);
                list.sort();
            }
        }
        RowId::Dnd => {
            p.dnd.until = match p.dnd.until {
                None => dnd_until(DndPreset::Hour, now, tz).map(DndUntil::At),
                Some(DndUntil::At(t)) if t <= now + jiff::SignedDuration::from_hours(1) => {
                    dnd_until(DndPreset::Tomorrow, now, tz).map(DndUntil::At)
                }
                Some(DndUntil::At(_)) => Some(DndUntil::Forever),
                Some(DndUntil::Forever) => None,
            }
        }
        RowId::Rule(i, f) => {
            let Some(r) = p.rules.get_mut(i) else { return };
            match f {
                F::Enabled => r.enabled ^= true,
                F::Mute => r.actions.mute ^= true,
                F::SkipInbox => r.actions.skip_inbox ^= true,
                F::MarkRead => r.actions.mark_read ^= true,
                F::Stop => r.stop ^= true,
                F::AtLeast => r.matcher.urgency_at_least = next_opt(r.matcher.urgency_at_least),
                F::AtMost => r.matcher.urgency_at_most = next_opt(r.matcher.urgency_at_most),
                F::SetUrgency => r.actions.set_urgency = next_opt(r.actions.set_urgency),
                _ => {}
            }
        }
        _ => {}
    }
}

/// IANA names containing `query` (any case), the system zone first when it matches; at most
/// `limit`.
pub fn zones(query: &str, system: Option<&str>, limit: usize) -> Vec<String> {
    let q = query.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    if let Some(s) = system
        && s.to_lowercase().contains(&q)
    {
        out.push(s.to_string());
    }
    let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_string()).collect();
    names.sort();
    for n in names {
        if out.len() >= limit {
            break;
        }
        if n.to_lowercase().contains(&q) && Some(n.as_str()) != system {
            out.push(n);
        }
    }
    out
}
