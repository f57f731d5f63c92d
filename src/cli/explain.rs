//! `campanile explain`: the engine's test bench for users. Reads preferences, an event and a
//! time, runs `decide`, prints each channel's plan with its reasons (or DESIGN §13's JSON).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Args;
use jiff::Timestamp;

use super::{Env, Failure, colour};
use crate::engine::{Action, History, Input, Plan, Presence, decide};
use crate::model::Event;
use crate::model::prefs::Preferences;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Preference file, TOML or JSON [default: the configured defaults]
    #[arg(long, value_name = "FILE")]
    prefs: Option<PathBuf>,
    /// Event file (JSON), or - for standard input
    #[arg(long, value_name = "FILE|-")]
    event: String,
    /// The instant to decide at, RFC 3339 [default: now]
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// The user's presence: active, idle or away, optionally :THREAD they are viewing
    #[arg(long, value_name = "STATE[:THREAD]", default_value = "away")]
    presence: String,
    /// Print DESIGN §13's JSON object
    #[arg(long)]
    json: bool,
}

fn read_source(path: &str, what: &str) -> Result<String, Failure> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| Failure::input(format!("{what}: stdin: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| Failure::input(format!("{what}: {path}: {e}")))
    }
}

pub fn run(env: &Env, args: &ExplainArgs) -> Result<(), Failure> {
    let prefs = match &args.prefs {
        Some(path) => {
            let text = read_source(&path.display().to_string(), "--prefs")?;
            let p = Preferences::parse(&text)
                .map_err(|e| Failure::input(format!("--prefs {}: {e}", path.display())))?;
            p.check_required(&env.config.required).map_err(|e| Failure::input(format!("--prefs: {e}")))?;
            p
        }
        None => env.config.defaults.clone(),
    };
    let event = Event::from_json(&read_source(&args.event, "--event")?)
        .map_err(|e| Failure::input(format!("--event: {e}")))?;
    let now = match &args.at {
        Some(s) => s.parse::<Timestamp>().map_err(|_| {
            Failure::input(format!("--at: `{s}` is not an RFC 3339 instant like 2027-03-14T06:30:00Z"))
        })?,
        None => Timestamp::now(),
    };
    let presence: Presence = args.presence.parse().map_err(|e| Failure::input(format!("--presence: {e}")))?;
    let policy = crate::dispatch::policy(&env.config);
    let plan = decide(&Input {
        event: &event,
        prefs: &prefs,
        presence: &presence,
        history: &History::default(),
        policy: &policy,
        now,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan).map_err(|e| Failure::check(e.to_string()))?);
    } else {
        print!("{}", render(&event, &plan, now, colour(std::io::stdout().is_terminal())));
    }
    Ok(())
}

/// The human form: one line per channel, the plan first, then why.
pub fn render(event: &Event, plan: &Plan, now: Timestamp, colour: bool) -> String {
    let paint = |code: &str, s: &str| if colour { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
    let mut out = format!(
        "{} {} \"{}\" at {now}, urgency {}\n",
        paint("1", "event"),
        event.kind,
        event.title,
        plan.urgency
    );
    let inbox = &plan.inbox;
    let state = match (inbox.record, inbox.read) {
        (false, _) => "not recorded",
        (true, true) => "record, read",
        (true, false) => "record, unread",
    };
    let mut line = format!("{:<8} {state}", "inbox");
    if let Some(until) = inbox.snooze_until {
        line.push_str(&format!(", snoozed until {until}"));
    }
    if !inbox.reasons.is_empty() {
        line.push_str(&format!("  · {}", inbox.reasons.join("; ")));
    }
    out.push_str(&line);
    out.push('\n');
    for (channel, p) in &plan.channels {
        let (word, code) = match &p.action {
            Action::Deliver => ("deliver".to_string(), "32"),
            Action::Hold { until: Some(u) } => (format!("hold until {u}"), "33"),
            Action::Hold { until: None } => ("hold until do-not-disturb is off".to_string(), "33"),
            Action::Digest { at } => (format!("digest at {at}"), "36"),
            Action::Escalate { after, .. } => (format!("escalate at {after} if unread"), "35"),
            Action::Suppress { reason } => (format!("suppress ({})", reason.as_str()), "2"),
        };
        out.push_str(&format!(
            "{:<8} {}  · {}\n",
            channel.as_str(),
            paint(code, &format!("{word:<32}")),
            p.reasons.join("; ")
        ));
    }
    out
}
