//! Builders and helpers shared by the engine suites: instants, zones, events from JSON,
//! preferences from TOML, a `Case` that runs `decide`, assertions on a plan, and the quiet
//! windows the DST suites check directly and through `decide`.

use campanile::engine::quiet::quiet_at;
use campanile::engine::{Action, History, Input, Plan, Policy, Presence, SuppressReason, decide};
use campanile::model::{Channel, Event, Urgency};
use campanile::prefs::{ClockTime, DndUntil, Preferences, QuietHours, timezone};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// A Wednesday, outside every quiet window used below.
pub const NOON: &str = "2027-03-10T12:00:00Z";

pub const BERLIN_NIGHTS: &str = r#"
[quiet_hours]
enabled = true
start = "22:00"
end = "08:00"
timezone = "Europe/Berlin"
"#;

/// Thursday 2027-03-11 00:30 in Berlin (CET, UTC+1); the window ends at 08:00 CET.
pub const BERLIN_NIGHT: &str = "2027-03-10T23:30:00Z";
pub const BERLIN_MORNING: &str = "2027-03-11T07:00:00Z";

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn tz(name: &str) -> TimeZone {
    timezone(name).unwrap()
}

pub fn event(v: Value) -> Event {
    Event::from_json(&v.to_string()).unwrap()
}

pub fn ev(kind: &str, urgency: &str) -> Event {
    event(json!({ "type": kind, "title": "Build failed on main", "urgency": urgency }))
}

pub fn threaded(thread: &str) -> Event {
    event(json!({ "type": "issue.commented", "title": "New comment", "thread": thread }))
}

/// Every channel on, every minimum `low`, every target set; `extra` is appended TOML that must
/// not reopen a `[channels.*]` table.
pub fn all_on(extra: &str) -> Preferences {
    let text = format!(
        r#"
[channels.desktop]
enabled = true
min_urgency = "low"
[channels.email]
enabled = true
address = "alice@example.com"
[channels.slack]
enabled = true
url = "https://hooks.slack.example/T1"
[channels.webhook]
enabled = true
url = "https://hooks.example/campanile"
[channels.push]
enabled = true
{extra}
"#
    );
    Preferences::parse(&text).unwrap()
}

pub struct Case {
    pub presence: Presence,
    pub history: History,
    pub policy: Policy,
    pub now: Timestamp,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            presence: Presence::default(),
            history: History::default(),
            policy: Policy::default(),
            now: ts(NOON),
        }
    }
}

impl Case {
    pub fn run(&self, event: &Event, prefs: &Preferences) -> Plan {
        decide(&Input {
            event,
            prefs,
            presence: &self.presence,
            history: &self.history,
            policy: &self.policy,
            now: self.now,
        })
    }
}

pub fn run(event: &Event, prefs: &Preferences) -> Plan {
    Case::default().run(event, prefs)
}

/// `decide` at `now` with no presence, history or policy.
pub fn run_at(event: &Event, prefs: &Preferences, now: Timestamp) -> Plan {
    Case { now, ..Case::default() }.run(event, prefs)
}

pub fn action(plan: &Plan, c: Channel) -> &Action {
    &plan.channels.get(&c).unwrap_or_else(|| panic!("{c} missing from {plan:#?}")).action
}

pub fn suppressed(reason: SuppressReason) -> Action {
    Action::Suppress { reason }
}

/// Asserts each listed channel's action, with the whole plan in the message.
pub fn expect(plan: &Plan, want: &[(Channel, Action)]) {
    for (c, a) in want {
        assert_eq!(action(plan, *c), a, "channel {c} in {plan:#?}");
    }
}

pub fn expect_all(plan: &Plan, a: &Action) {
    assert_eq!(plan.channels.len(), 5, "{plan:#?}");
    for c in Channel::ALL {
        assert_eq!(action(plan, c), a, "channel {c} in {plan:#?}");
    }
}

pub fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

// ---------------------------------------------------------------- quiet windows (DST suites)

pub fn window(zone: &str, start: &str, end: &str, weekends: bool) -> QuietHours {
    QuietHours {
        enabled: true,
        start: start.parse::<ClockTime>().unwrap(),
        end: end.parse::<ClockTime>().unwrap(),
        timezone: zone.into(),
        weekends,
    }
}

/// `quiet_at`'s `until` for a window and `now`, `None` when `now` is not quiet.
fn until(qh: &QuietHours, now: &str) -> Option<Timestamp> {
    let q = quiet_at(qh, &tz(&qh.timezone), None, ts(now))?;
    Some(q.until.expect("only dnd forever has no end"))
}

/// Runs a table of `(now, expected until)` against one window, directly and through `decide`.
pub fn check(qh: &QuietHours, table: &[(&str, Option<&str>)]) {
    for (now, want) in table {
        let want = want.map(ts);
        assert_eq!(until(qh, now), want, "{}-{} {} at {now}", qh.start, qh.end, qh.timezone);
        let plan = decide_at(qh, None, now, Urgency::Normal);
        let hold = want.map_or(Action::Deliver, |u| Action::Hold { until: Some(u) });
        for c in [Channel::Desktop, Channel::Push, Channel::Email] {
            assert_eq!(plan.channels[&c].action, hold, "decide: {c} at {now} in {plan:#?}");
        }
        assert_eq!(plan.channels[&Channel::Webhook].action, Action::Deliver);
    }
}

pub fn decide_at(qh: &QuietHours, dnd: Option<DndUntil>, now: &str, urgency: Urgency) -> Plan {
    let mut prefs = Preferences { quiet_hours: qh.clone(), ..Preferences::default() };
    prefs.dnd.until = dnd;
    prefs.channels.desktop.min_urgency = Urgency::Low;
    prefs.channels.push.enabled = true;
    prefs.channels.email.enabled = true;
    prefs.channels.email.address = "alice@example.com".into();
    prefs.channels.webhook.enabled = true;
    prefs.channels.webhook.url = "https://hooks.example/x".into();
    let event =
        Event::from_json(&format!(r#"{{"type":"build.failed","title":"t","urgency":"{urgency}"}}"#)).unwrap();
    run_at(&event, &prefs, ts(now))
}
