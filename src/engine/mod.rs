//! The engine: for one event and one recipient, what the inbox and each channel do, and why
//! (DESIGN §4). Pure: no I/O, no clock, no randomness; everything it needs arrives in
//! [`Input`], including `now` and what the store already knows (duplicate, collapsible row).
//! The steps run in the order of DESIGN §4 and the first that applies to a channel wins.

pub mod quiet;
pub mod rules;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::model::prefs::{EmailFrequency, Preferences, Required, timezone};
use crate::model::{Channel, Event, Urgency};

/// What a client reported about the user (already filtered by its TTL by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub state: PresenceState,
    /// The thread the user is looking at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewing: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    Active,
    Idle,
    #[default]
    Away,
}

impl std::str::FromStr for Presence {
    type Err = String;
    /// `active`, `idle`, `away`, optionally followed by `:thread`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (state, viewing) = match s.split_once(':') {
            Some((st, th)) if !th.is_empty() => (st, Some(th.to_string())),
            Some(_) => return Err(format!("`{s}`: a thread must follow the colon")),
            None => (s, None),
        };
        let state = match state {
            "active" => PresenceState::Active,
            "idle" => PresenceState::Idle,
            "away" => PresenceState::Away,
            other => return Err(format!("`{other}` is not a presence state (active, idle or away)")),
        };
        Ok(Presence { state, viewing })
    }
}

/// An unread notification that a new event could fold into (DESIGN §4, collapse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollapseTarget {
    pub notification: String,
    pub count: u32,
    /// When the row was last created or updated.
    pub last_at: Timestamp,
}

/// What the store already knows about this event and recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The event's id was seen from this producer within the dedupe window.
    pub duplicate: bool,
    pub collapse: Option<CollapseTarget>,
}

/// Bounds set by whoever runs the engine (the daemon's config).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub required: Required,
    pub collapse_window: SignedDuration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { required: Required::default(), collapse_window: SignedDuration::from_hours(1) }
    }
}

pub struct Input<'a> {
    pub event: &'a Event,
    pub prefs: &'a Preferences,
    pub presence: &'a Presence,
    pub history: &'a History,
    pub policy: &'a Policy,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressReason {
    Disabled,
    Urgency,
    Viewing,
    Rule,
    Duplicate,
}

impl SuppressReason {
    /// The contract's word for it (`explain --json`'s `reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressReason::Disabled => "disabled",
            SuppressReason::Urgency => "urgency",
            SuppressReason::Viewing => "viewing",
            SuppressReason::Rule => "rule",
            SuppressReason::Duplicate => "duplicate",
        }
    }
}

/// One channel's plan; serialised with a `plan` tag as DESIGN §13 shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum Action {
    Deliver,
    /// `until` is `None` only for do-not-disturb until turned off.
    Hold {
        until: Option<Timestamp>,
    },
    Digest {
        at: Timestamp,
    },
    Escalate {
        after: Timestamp,
        unless_read: bool,
    },
    Suppress {
        reason: SuppressReason,
    },
}

/// Re-alerting of an urgent item until acknowledged, like a pager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    pub every_minutes: u32,
    pub until: Timestamp,
}

/// One reason a channel does what it does.
pub type Reason = std::borrow::Cow<'static, str>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPlan {
    #[serde(flatten)]
    pub action: Action,
    /// Human text; most are fixed phrases, so they are borrowed, not allocated per decision.
    pub reasons: Vec<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPlan {
    pub record: bool,
    pub read: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapse_into: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snooze_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// The decision for one recipient: DESIGN §13's `explain --json` object. `urgency` (after
/// rules) is an addition to the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub inbox: InboxPlan,
    pub channels: BTreeMap<Channel, ChannelPlan>,
    pub urgency: Urgency,
}

/// Channels that interrupt a person; quiet hours hold them. Webhooks keep flowing, and a
/// digest e-mail is not interruptive either.
pub fn interruptive(channel: Channel, prefs: &Preferences) -> bool {
    match channel {
        Channel::Desktop | Channel::Push | Channel::Slack => true,
        Channel::Email => prefs.channels.email.frequency == EmailFrequency::Immediate,
        Channel::Webhook => false,
    }
}

fn plan(action: Action, reasons: Vec<Reason>) -> ChannelPlan {
    ChannelPlan { action, reasons, repeat: None }
}

fn suppress(reason: SuppressReason, why: impl Into<Reason>, mut reasons: Vec<Reason>) -> ChannelPlan {
    reasons.push(why.into());
    plan(Action::Suppress { reason }, reasons)
}

/// Runs the eight steps of DESIGN §4 for every channel.
pub fn decide(input: &Input<'_>) -> Plan {
    let Input { event, prefs, presence, history, policy, now } = *input;
    let category = event.effective_category();

    // 1. Dedupe: the first result stands; nothing new is recorded or sent.
    if history.duplicate {
        let channels = Channel::ALL
            .into_iter()
            .map(|c| (c, suppress(SuppressReason::Duplicate, "already accepted", vec![])))
            .collect();
        return Plan {
            inbox: InboxPlan {
                record: false,
                read: false,
                collapse_into: None,
                snooze_until: None,
                tags: vec![],
                reasons: vec!["duplicate event id".into()],
            },
            channels,
            urgency: event.effective_urgency(),
        };
    }

    // 2. Rules.
    let ruled = rules::apply(&prefs.rules, event, &category, event.effective_urgency());
    let urgency = ruled.urgency.as_ref().map_or(event.effective_urgency(), |(u, _)| *u);

    let viewing = prefs.presence.suppress_when_viewing
        && presence.state == PresenceState::Active
        && event.thread.is_some()
        && presence.viewing == event.thread;

    let inbox = inbox_plan(event, history, policy, now, &ruled, viewing);

    // 5 and 6 depend on the user's zone; a bad zone never reaches here (validated on save),
    // but if it did, UTC keeps the engine total.
    let tz = timezone(&prefs.quiet_hours.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    // Computed on first use: most decisions never reach step 5.
    let mut quiet_memo: Option<Option<quiet::Quiet>> = None;

    let mut channels = BTreeMap::new();
    for channel in Channel::ALL {
        let mut reasons = Vec::with_capacity(3);
        let required = policy.required.requires(&event.kind, &category, channel);
        let (enabled, min_urgency) = prefs.channels.switch(channel);
        let routed = ruled.route.as_ref().is_some_and(|(r, _)| r.contains(&channel));

        // 2–3. Rules and preferences. Cells the organisation requires skip both.
        let decided = if required {
            reasons.push("required by your organisation".into());
            None
        } else if let Some(name) = &ruled.mute {
            Some(suppress(SuppressReason::Rule, format!("muted by rule \"{name}\""), reasons.clone()))
        } else if let Some((route, name)) = ruled.route.as_ref().filter(|_| !routed) {
            let list: Vec<&str> = route.iter().map(|c| c.as_str()).collect();
            Some(suppress(
                SuppressReason::Rule,
                format!("rule \"{name}\" routes to {}", list.join(", ")),
                reasons.clone(),
            ))
        } else if !enabled {
            Some(suppress(SuppressReason::Disabled, "channel off", reasons.clone()))
        } else if let Some(off) =
            (!routed).then(|| cell_off(prefs, &event.kind, &category, channel)).flatten()
        {
            Some(suppress(SuppressReason::Disabled, off, reasons.clone()))
        } else if urgency < min_urgency {
            Some(suppress(
                SuppressReason::Urgency,
                format!("{urgency} is below the channel's minimum, {min_urgency}"),
                reasons.clone(),
            ))
        } else {
            reasons.push(if routed { "routed here by a rule".into() } else { "enabled".into() });
            None
        };
        if let Some(p) = decided {
            channels.insert(channel, p);
            continue;
        }
        if let Some(missing) = prefs.channels.missing_target(channel) {
            channels.insert(channel, suppress(SuppressReason::Disabled, missing, reasons));
            continue;
        }

        // 4. Presence.
        if viewing {
            channels
                .insert(channel, suppress(SuppressReason::Viewing, "you are viewing this thread", reasons));
            continue;
        }

        // 5. Quiet hours and do-not-disturb.
        if interruptive(channel, prefs)
            && let Some(q) = quiet_memo
                .get_or_insert_with(|| quiet::quiet_at(&prefs.quiet_hours, &tz, prefs.dnd.until, now))
        {
            if urgency == Urgency::Urgent {
                reasons.push(format!("urgent: bypasses {}", q.reason).into());
            } else {
                reasons.push(q.reason.clone().into());
                channels.insert(channel, plan(Action::Hold { until: q.until }, reasons));
                continue;
            }
        }

        // 6. Digest.
        if channel == Channel::Email
            && let Some(at) = quiet::digest_at(prefs.channels.email.frequency, &tz, now)
        {
            reasons.push(format!("{} digest", prefs.channels.email.frequency.as_str()).into());
            channels.insert(channel, plan(Action::Digest { at }, reasons));
            continue;
        }

        // 7. Escalation.
        let esc = &prefs.escalation;
        if esc.after_minutes > 0 && esc.channels.contains(&channel) {
            let after =
                now.saturating_add(SignedDuration::from_mins(i64::from(esc.after_minutes))).unwrap_or(now);
            reasons.push(format!("escalates after {} min if still unread", esc.after_minutes).into());
            channels.insert(channel, plan(Action::Escalate { after, unless_read: true }, reasons));
            continue;
        }

        // 8. Deliver; urgent interruptive deliveries repeat until acknowledged.
        if channel == Channel::Email {
            reasons.push("immediate".into());
        }
        let mut p = plan(Action::Deliver, reasons);
        let r = &prefs.urgent;
        if urgency == Urgency::Urgent && interruptive(channel, prefs) && r.repeat_every_minutes > 0 {
            let until =
                now.saturating_add(SignedDuration::from_mins(i64::from(r.expire_minutes))).unwrap_or(now);
            p.reasons.push(
                format!(
                    "urgent: repeats every {} min until acknowledged, for {} min",
                    r.repeat_every_minutes, r.expire_minutes
                )
                .into(),
            );
            p.repeat = Some(Repeat { every_minutes: r.repeat_every_minutes, until });
        }
        channels.insert(channel, p);
    }

    Plan { inbox, channels, urgency }
}

/// The event x channel matrix: the event type's cell, else its category's, else on.
fn cell_off(prefs: &Preferences, kind: &str, category: &str, channel: Channel) -> Option<String> {
    match prefs.events.get(kind).and_then(|m| m.get(&channel)) {
        Some(false) => Some(format!("off for {kind}")),
        Some(true) => None,
        None => match prefs.categories.get(category).and_then(|m| m.get(&channel)) {
            Some(false) => Some(format!("off for category {category}")),
            _ => None,
        },
    }
}

fn inbox_plan(
    event: &Event,
    history: &History,
    policy: &Policy,
    now: Timestamp,
    ruled: &rules::Outcome,
    viewing: bool,
) -> InboxPlan {
    let mut reasons = Vec::new();
    let record = match &ruled.skip_inbox {
        Some(name) => {
            reasons.push(format!("rule \"{name}\" skips the inbox"));
            false
        }
        None => true,
    };
    let mut read = false;
    if viewing {
        read = true;
        reasons.push("arrives read: you are viewing this thread".into());
    }
    if let Some(name) = &ruled.mark_read {
        read = true;
        reasons.push(format!("marked read by rule \"{name}\""));
    }
    let collapse_into = history
        .collapse
        .as_ref()
        .filter(|c| record && now.duration_since(c.last_at) <= policy.collapse_window)
        .map(|c| {
            reasons.push(format!("collapses into the unread item above (×{})", c.count + 1));
            c.notification.clone()
        });
    let snooze_until = ruled.snooze.as_ref().and_then(|(d, name)| {
        reasons.push(format!("snoozed for {d:#} by rule \"{name}\""));
        now.checked_add(*d).ok()
    });
    if !ruled.matched.is_empty() {
        reasons.push(format!("rules matched: {}", ruled.matched.join(", ")));
    }
    let _ = event;
    InboxPlan { record, read, collapse_into, snooze_until, tags: ruled.tags.clone(), reasons }
}

#[cfg(test)]
mod tests {
    use super::SuppressReason;

    #[test]
    fn suppress_reason_words_are_the_contracts() {
        use SuppressReason::*;
        for r in [Disabled, Urgency, Viewing, Rule, Duplicate] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
