//! The editor's rows outside the matrix: what each one edits, how it reads, and how it
//! changes. A row is a switch (space flips it), a choice (space steps through the values) or
//! text (enter opens a tui-textarea; typed text becomes a value in [`super::text`], checked
//! the way REST `PUT /settings` checks it). Pure: `now` and the zone arrive as arguments.

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub use super::text::{set_text, text};
use crate::model::{Channel, Urgency};
use crate::prefs::{DndUntil, EmailFrequency, MASKED_SECRET, Preferences, Rule};
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
    /// The devices' state when none is listed (loading, none yet, or why not).
    PushDevices,
    /// A listed push device (index into [`super::Devices::Listed`]).
    Device(usize),
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
        RowId::WebhookSecret | RowId::PushDevices | RowId::Device(_) => Kind::Info,
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
        RowId::Device(_) => "  device".into(),
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
        RowId::PushDevices | RowId::Device(_) => "channels.push".into(),
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
