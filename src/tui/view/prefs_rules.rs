//! The Rules tab: the ordered rules (on/off, name, what they match and do), a rule's form,
//! and the test panel, which runs the engine's `decide` on an inbox item with the edited,
//! unsaved rules and the organisation's required cells (from `welcome`) and shows each
//! channel's plan and the reasons, as `campanile explain` does.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::prefs_body::{Body, SELECTED, draw_body, error_line, rows_body, selected_style};
use crate::engine::{Action as Plan, History, Input, Policy, Presence, decide};
use crate::model::Event;
use crate::prefs::Rule;
use crate::tui::app::App;
use crate::tui::prefs::rows::rule_form;
use crate::tui::prefs::{Editor, inbox_matches, mutes_everything};
use crate::tui::row::Row;

pub(super) fn rules(app: &App, ed: &Editor, frame: &mut Frame, area: Rect) {
    let (main, test) = match ed.test {
        None => (area, None),
        Some(_) if area.width >= 100 => {
            let [m, t] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
            (m, Some(t))
        }
        Some(_) => {
            let [m, t] = Layout::vertical([Constraint::Percentage(40), Constraint::Min(0)]).areas(area);
            (m, Some(t))
        }
    };
    let body = match ed.rule {
        Some(i) => {
            let mut b = rows_body(app, ed, &rule_form(i), ed.rule_row, main.width);
            if let Some(r) = ed.draft.rules.get(i) {
                b.lines.push(Line::default());
                b.lines.push(reach(app, r));
            }
            b
        }
        None => list(app, ed),
    };
    draw_body(ed, body, frame, main);
    if let (Some(at), Some(rect)) = (ed.test, test) {
        panel(app, ed, at, frame, rect);
    }
}

/// `type build.* · urgency ≥ high → set urgency urgent`
pub fn summary(r: &Rule) -> String {
    let m = &r.matcher;
    let mut when = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            when.push(format!("{k} {v}"));
        }
    };
    add("type", &m.kind);
    add("category", &m.category);
    add("actor", &m.actor);
    add("thread", &m.thread);
    add("text", &m.text_contains.as_ref().map(|t| format!("\"{t}\"")));
    if let Some(u) = m.urgency_at_least {
        when.push(format!("urgency ≥ {u}"));
    }
    if let Some(u) = m.urgency_at_most {
        when.push(format!("urgency ≤ {u}"));
    }
    when.extend(m.data.iter().map(|(k, v)| format!("{k}={v}")));
    let a = &r.actions;
    let mut then = Vec::new();
    if a.mute {
        then.push("mute".to_string());
    }
    if let Some(u) = a.set_urgency {
        then.push(format!("set urgency {u}"));
    }
    if let Some(r) = &a.route {
        then.push(format!("route to {}", r.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")));
    }
    if a.skip_inbox {
        then.push("skip inbox".into());
    }
    if a.mark_read {
        then.push("mark read".into());
    }
    if let Some(s) = &a.snooze_for {
        then.push(format!("snooze {s}"));
    }
    if let Some(t) = &a.tag {
        then.push(format!("tag {t}"));
    }
    if r.stop {
        then.push("stop".into());
    }
    let when = if when.is_empty() { "everything".to_string() } else { when.join(" · ") };
    let then = if then.is_empty() { "nothing".to_string() } else { then.join(", ") };
    format!("{when} → {then}")
}

/// How many inbox items the rule matches now; a warning for one that mutes everything.
fn reach(app: &App, r: &Rule) -> Line<'static> {
    let (hit, all) = inbox_matches(app.replica.items().values(), &r.matcher);
    if mutes_everything(r) {
        return warning(all);
    }
    let mut text = format!("  Matches {hit} of the {all} items in your inbox now");
    if !r.matcher.data.is_empty() {
        text.push_str(" (data conditions are not checked here)");
    }
    Line::styled(text, Style::new().fg(Color::Gray))
}

fn warning(all: usize) -> Line<'static> {
    Line::styled(
        format!("  ⚠ no conditions and mute: silences every item, urgent ones too (all {all} in your inbox)"),
        Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD),
    )
}

fn list(app: &App, ed: &Editor) -> Body {
    let mut b = Body { lines: Vec::new(), cursor: 0, field: None };
    if ed.draft.rules.is_empty() {
        b.lines.push(Line::styled(
            "  No rules. a adds one; rules run in order, like mail filters.",
            Style::new().fg(Color::Gray),
        ));
    }
    for (i, r) in ed.draft.rules.iter().enumerate() {
        let here = i == ed.row();
        if here {
            b.cursor = b.lines.len();
        }
        let marker = if here { SELECTED } else { "  " };
        let state = if r.enabled {
            Span::styled("on ", Style::new().fg(Color::Green))
        } else {
            Span::styled("off", Style::new().fg(Color::DarkGray))
        };
        let style = if here { selected_style() } else { Style::new().add_modifier(Modifier::BOLD) };
        b.lines.push(Line::from(vec![
            Span::styled(format!("{marker}{}. ", i + 1), style),
            state,
            Span::styled(format!(" {}", r.name), style),
        ]));
        b.lines.push(Line::styled(format!("       {}", summary(r)), Style::new().fg(Color::Gray)));
        if mutes_everything(r) {
            b.lines.push(warning(app.replica.items().values().filter(|r| !r.is_archived()).count()));
        }
        if let Some(e) = ed.error.as_ref().filter(|e| e.field.starts_with(&format!("rules[{i}]"))) {
            b.lines.push(error_line(&format!("{}: {}", e.field, e.message)));
        }
    }
    b
}

/// The event a notification came from, as far as the inbox keeps it ([`Row::event`]).
pub fn event_of(n: &Row, data: Option<&serde_json::Value>) -> Event {
    n.event(data)
}

fn panel(app: &App, ed: &Editor, at: usize, frame: &mut Frame, area: Rect) {
    let block = Block::new()
        .borders(Borders::TOP | Borders::LEFT)
        .title(" Test with these rules (not saved) · [ ] other item ")
        .border_style(Style::new().fg(Color::Magenta));
    let Some(n) = app.listed_nth(at) else {
        frame.render_widget(Paragraph::new("The inbox is empty").block(block), area);
        return;
    };
    let event = event_of(n, app.details.get(&n.id).map(|d| &d.data));
    // The organisation's required cells, as the server's engine would apply them.
    let policy = Policy { required: app.replica.required.clone(), ..Policy::default() };
    let plan = decide(&Input {
        event: &event,
        prefs: &ed.draft,
        presence: &Presence::default(),
        history: &History::default(),
        policy: &policy,
        now: app.now,
    });
    let tz = crate::prefs::timezone(&ed.draft.quiet_hours.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = |t: jiff::Timestamp| crate::model::when::human(t, app.now, &tz);
    let dim = Style::new().fg(Color::Gray);
    let mut lines = vec![
        Line::styled(n.title.to_string(), Style::new().add_modifier(Modifier::BOLD)),
        Line::styled(format!("{} · {} · {} → {}", n.kind, n.category, n.urgency, plan.urgency), dim),
    ];
    let inbox = &plan.inbox;
    let state = match (inbox.record, inbox.read) {
        (false, _) => "not recorded",
        (true, true) => "record, read",
        (true, false) => "record, unread",
    };
    let mut why = inbox.reasons.join("; ");
    if !inbox.tags.is_empty() {
        why = format!("{why} tags {}", inbox.tags.join(", "));
    }
    lines.push(Line::from(vec![
        Span::raw(format!("{:<8} {state}", "inbox")),
        Span::styled(format!("  {why}"), dim),
    ]));
    for (channel, p) in &plan.channels {
        let (word, colour) = match &p.action {
            Plan::Deliver => ("deliver".to_string(), Color::Green),
            Plan::Hold { until: Some(u) } => (format!("hold until {}", local(*u)), Color::Yellow),
            Plan::Hold { until: None } => ("hold (do not disturb)".to_string(), Color::Yellow),
            Plan::Digest { at } => (format!("digest {}", local(*at)), Color::Cyan),
            Plan::Escalate { after, .. } => (format!("escalate {} if unread", local(*after)), Color::Magenta),
            Plan::Suppress { reason } => (format!("suppress ({})", reason.as_str()), Color::DarkGray),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{:<8} ", channel.as_str())),
            Span::styled(word, Style::new().fg(colour)),
            Span::styled(format!("  · {}", p.reasons.join("; ")), dim),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}
