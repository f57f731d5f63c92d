//! The editor's rows outside the matrix: which rows each tab has, what each one edits (its
//! path in the preferences, as errors name it), its label and its kind. A row is a switch
//! (space flips it), a choice (space steps through the values) or text (enter opens a
//! tui-textarea). How a row reads and changes is in [`super::values`], how typed text becomes
//! a value in [`super::text`]. Pure data.

use crate::model::Channel;

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
