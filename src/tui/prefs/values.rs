//! A row's value: how it reads on screen (text rows show their text, [`super::text`]), how
//! space flips a switch or steps a choice, and the time-zone names a text field offers. Pure:
//! `now` and the zone arrive as arguments.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::rows::{RowId, RuleField};
use super::text::text;
use crate::model::{Channel, Urgency};
use crate::prefs::{DndUntil, EmailFrequency, MASKED_SECRET, Preferences, Rule};
use crate::tui::presets::dnd_until;
use crate::tui::state::DndPreset;

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
        RowId::WebhookSecret if c.webhook.secret.is_empty() => "(none) · n makes one".into(),
        // Never shown in full: a new one is shown once, in its own dialog.
        RowId::WebhookSecret => format!("{MASKED_SECRET} · n makes a new one"),
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

/// How many matching zone names a time-zone field offers.
pub const ZONE_MATCHES: usize = 6;

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
