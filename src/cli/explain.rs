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
    #[arg(long, value_name = "FILE|-", required_unless_present = "hook", conflicts_with = "hook")]
    event: Option<String>,
    /// Read FILE as this sender's webhook payload and show the events it becomes, and why
    #[arg(long, value_enum, value_name = "SOURCE", requires = "payload")]
    hook: Option<crate::model::HookSource>,
    /// The kind of hook event (GitHub's X-GitHub-Event, GitLab's X-Gitlab-Event, e.g.
    /// workflow_run or "Pipeline Hook"; a CloudEvent's type in binary mode)
    #[arg(long, value_name = "KIND", requires = "hook")]
    event_kind: Option<String>,
    /// A generic hook's template, `[hooks.templates.NAME]` of the config
    #[arg(long, value_name = "NAME", requires = "hook")]
    template: Option<String>,
    /// The hook payload (JSON), or - for standard input
    #[arg(value_name = "FILE|-", requires = "hook")]
    payload: Option<String>,
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
    let now = match &args.at {
        Some(s) => s.parse::<Timestamp>().map_err(|_| {
            Failure::input(format!("--at: `{s}` is not an RFC 3339 instant like 2027-03-14T06:30:00Z"))
        })?,
        None => Timestamp::now(),
    };
    let presence: Presence = args.presence.parse().map_err(|e| Failure::input(format!("--presence: {e}")))?;
    let policy = crate::dispatch::policy(&env.config);
    let plan_of = |event: &Event| {
        decide(&Input {
            event,
            prefs: &prefs,
            presence: &presence,
            history: &History::default(),
            policy: &policy,
            now,
        })
    };
    let to_json = |v: &dyn erased::Json| v.pretty().map_err(|e| Failure::check(e.to_string()));
    if let (Some(source), Some(file)) = (args.hook, &args.payload) {
        let payload = read_source(file, "the hook payload")?;
        let out = hook_events(
            source,
            args.event_kind.as_deref(),
            args.template.as_deref(),
            payload.as_bytes(),
            &env.config.hooks,
        )?;
        let colour = colour(std::io::stdout().is_terminal());
        match out {
            crate::hooks::Outcome::Events(events) => {
                if args.json {
                    let items: Vec<serde_json::Value> = events
                        .iter()
                        .map(|m| {
                            serde_json::json!({"idempotency_key": m.key, "event": m.event,
                                "reasons": m.reasons, "plan": plan_of(&m.event)})
                        })
                        .collect();
                    println!("{}", to_json(&serde_json::json!({ "events": items }))?);
                    return Ok(());
                }
                let n = events.len();
                println!("hook {} payload → {n} event{}", source.as_str(), if n == 1 { "" } else { "s" });
                for m in &events {
                    println!();
                    print!("{}", render_mapped(m, &to_json(&m.event)?));
                    print!("{}", render(&m.event, &plan_of(&m.event), now, colour));
                }
            }
            crate::hooks::Outcome::Ping(why) | crate::hooks::Outcome::Ignored(why) => {
                if args.json {
                    println!("{}", to_json(&serde_json::json!({ "events": [], "ignored": why }))?);
                } else {
                    println!("nothing recorded: {why}");
                }
            }
        }
        return Ok(());
    }
    let source = args.event.as_deref().unwrap_or("-");
    let event = Event::from_json(&read_source(source, "--event")?)
        .map_err(|e| Failure::input(format!("--event: {e}")))?;
    let plan = plan_of(&event);
    if args.json {
        println!("{}", to_json(&plan)?);
    } else {
        print!("{}", render(&event, &plan, now, colour(std::io::stdout().is_terminal())));
    }
    Ok(())
}

/// Pretty JSON of anything serialisable, behind one object-safe call.
mod erased {
    pub trait Json {
        fn pretty(&self) -> serde_json::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn pretty(&self) -> serde_json::Result<String> {
            serde_json::to_string_pretty(self)
        }
    }
}

/// Maps a hook payload as the daemon would, with the kind header set from `--event-kind`
/// and no signature check (the payload is the user's own file).
pub fn hook_events(
    source: crate::model::HookSource,
    kind: Option<&str>,
    template: Option<&str>,
    payload: &[u8],
    settings: &crate::hooks::Settings,
) -> Result<crate::hooks::Outcome, Failure> {
    let mut headers = crate::hooks::Headers::new();
    if source == crate::model::HookSource::Cloudevents {
        match kind {
            // Binary mode: the file is the data; the attributes come as the daemon would get them.
            Some(k) => {
                for (name, value) in [
                    ("ce-specversion", "1.0"),
                    ("ce-type", k),
                    ("ce-source", "campanile-explain"),
                    ("ce-id", "explain"),
                    ("content-type", "application/json"),
                ] {
                    headers.insert(name, value);
                }
            }
            None => headers.insert("content-type", "application/cloudevents+json"),
        }
        return crate::hooks::map(source, template, &headers, payload, settings)
            .map_err(|e| Failure::input(format!("the hook payload: {e}")));
    }
    match (crate::hooks::kind_header(source), kind) {
        (Some(name), Some(k)) => headers.insert(name, k),
        (Some(name), None) => {
            return Err(Failure::input(format!(
                "--event-kind: a {} payload needs its kind (the {name} header), e.g. {}",
                source.as_str(),
                match source {
                    crate::model::HookSource::Github => "--event-kind workflow_run",
                    crate::model::HookSource::Gitlab => "--event-kind \"Pipeline Hook\"",
                    _ => "",
                }
            )));
        }
        (None, Some(_)) => {
            return Err(Failure::input(format!(
                "--event-kind: a {} payload says its kind itself; leave it out",
                source.as_str()
            )));
        }
        (None, None) => {}
    }
    crate::hooks::map(source, template, &headers, payload, settings)
        .map_err(|e| Failure::input(format!("the hook payload: {e}")))
}

/// What a hook payload became: the event (DESIGN §13 JSON), its key, and why.
fn render_mapped(m: &crate::hooks::Mapped, json: &str) -> String {
    let mut out = String::new();
    if let Some(k) = &m.key {
        out.push_str(&format!("idempotency key {k}\n"));
    }
    for r in &m.reasons {
        out.push_str(&format!("  · {r}\n"));
    }
    out.push_str(json);
    out.push('\n');
    out
}

/// The human form: one line per channel, the plan first, then why.
pub fn render(event: &Event, plan: &Plan, now: Timestamp, colour: bool) -> String {
    let paint = |code: &str, s: &str| if colour { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
    // Local time, to the second; `--json` keeps RFC 3339 in UTC (DESIGN §13).
    let tz = jiff::tz::TimeZone::system();
    let when = |t: Timestamp| crate::model::when::human(t, now, &tz);
    let stamp = now.to_zoned(tz.clone()).strftime("%a %-d %b %Y %H:%M:%S %Z").to_string();
    let mut out = format!(
        "{} {} \"{}\" at {stamp}, urgency {}\n",
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
        line.push_str(&format!(", snoozed until {}", when(until)));
    }
    if !inbox.reasons.is_empty() {
        line.push_str(&format!("  · {}", inbox.reasons.join("; ")));
    }
    out.push_str(&line);
    out.push('\n');
    for (channel, p) in &plan.channels {
        let (word, code) = match &p.action {
            Action::Deliver => ("deliver".to_string(), "32"),
            Action::Hold { until: Some(u) } => (format!("hold until {}", when(*u)), "33"),
            Action::Hold { until: None } => ("hold until do-not-disturb is off".to_string(), "33"),
            Action::Digest { at } => (format!("digest at {}", when(*at)), "36"),
            Action::Escalate { after, .. } => (format!("escalate at {} if unread", when(*after)), "35"),
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
