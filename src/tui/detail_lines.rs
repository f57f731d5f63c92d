//! What the detail pane says about an item: title, what it is and when it came, the body
//! with light markdown (`**bold**` and `` `code` ``), the link, and, once fetched from the
//! server (the replica does not keep them), the producer's data, per-channel delivery state
//! from `deliveries`, and the engine's plan per channel with the reasons that led to it
//! (`plan`, as `campanile explain` prints it); "loading…" until then. As styled lines, with
//! how far they scroll in the pane: the view draws them and `update` stops scrolling at
//! their end, so both read the same lines and `update` never imports the view. Pure.

use jiff::Timestamp;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::App;
use super::layout::areas;
use super::row::{Detail, Row};
use crate::model::DeliveryState;
use crate::model::DeliveryStatus;
use crate::model::when::human;

/// Where the detail's text goes in its pane: below the top rule (which carries the title and
/// shows the focus), the full width but for the scrollbar's column. No side borders, so a
/// wrapped link is not cut by a border character when it is selected and copied.
pub fn text_area(pane: Rect) -> Rect {
    let inner = Block::new().borders(Borders::TOP).inner(pane);
    Rect { width: inner.width.saturating_sub(1), ..inner }
}

/// How many rows `lines` take in `width` columns, wrapped as the view wraps them.
pub fn wrapped_rows(lines: &[Line<'static>], width: u16) -> usize {
    Paragraph::new(lines.to_vec()).wrap(Wrap { trim: false }).line_count(width.max(1))
}

/// How far the detail of the selected item scrolls before its end reaches the pane's bottom,
/// for the terminal size `update` last saw.
pub fn max_scroll(app: &App) -> u16 {
    let Some(area) = areas(Rect::new(0, 0, app.size.0, app.size.1), app.detail_open).detail else {
        return 0;
    };
    let Some(n) = app.selected_item() else { return 0 };
    last_scroll(&lines(app, n), text_area(area))
}

/// Wrapped height minus the visible height: the scroll that shows the last row at the
/// bottom (counted exactly as the paragraph wraps, so the end is always reachable).
pub fn last_scroll(lines: &[Line<'static>], text: Rect) -> u16 {
    let rows = wrapped_rows(lines, text.width);
    u16::try_from(rows.saturating_sub(usize::from(text.height))).unwrap_or(u16::MAX)
}

fn heading(text: &'static str) -> Line<'static> {
    Line::styled(text, Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD))
}

pub fn lines(app: &App, n: &Row) -> Vec<Line<'static>> {
    let dim = Style::new().fg(Color::Gray);
    let tz = app.replica.zone();
    let mut out = vec![Line::styled(n.title.to_string(), Style::new().add_modifier(Modifier::BOLD))];
    let mut what = format!("{} · {} · {}", n.urgency, n.category, n.kind);
    if let Some(t) = &n.thread {
        what.push_str(&format!(" · {t}"));
    }
    out.push(Line::styled(what, dim));
    let mut when = human(n.created_at, app.now, &tz);
    if n.count > 1 {
        when.push_str(&format!(" · ×{} (collapsed)", n.count));
    }
    when.push_str(if n.is_read() { " · read" } else { " · unread" });
    if n.is_archived() {
        when.push_str(" · archived (a brings it back)");
    }
    if let Some(t) = n.snoozed_at(app.now) {
        when.push_str(&format!(" · snoozed until {}", human(t, app.now, &tz)));
    }
    out.push(Line::styled(when, dim));
    if let Some(body) = n.body.as_deref().filter(|b| !b.trim().is_empty()) {
        out.push(Line::default());
        out.extend(body.lines().map(inline_markdown));
    }
    if let Some(url) = &n.url {
        out.push(Line::default());
        out.push(Line::from(vec![
            Span::styled("Link", Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)),
            Span::styled("  (o opens it)", dim),
        ]));
        // On a line of its own from the first column: a long link wraps with nothing
        // between its parts, so selecting its rows copies it whole.
        out.push(Line::styled(url.to_string(), Style::new().add_modifier(Modifier::UNDERLINED)));
    }
    match app.details.get(&n.id) {
        Some(d) => out.extend(fetched(d, dim, |t| human(t, app.now, &tz))),
        None => {
            out.push(Line::default());
            let text = match &app.details.failed {
                Some((id, why)) if *id == n.id => format!("Delivery and data could not be loaded: {why}"),
                _ => "Delivery and data: loading…".to_string(),
            };
            out.push(Line::styled(text, dim));
        }
    }
    out
}

/// The parts fetched with `get`: data, deliveries and the engine's reasons.
fn fetched(d: &Detail, dim: Style, when: impl Fn(Timestamp) -> String) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    match &d.data {
        serde_json::Value::Object(map) if !map.is_empty() => {
            out.push(Line::default());
            out.push(heading("Data"));
            for (k, v) in map {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                out.push(Line::from(vec![Span::styled(format!("  {k}: "), dim), Span::raw(v)]));
            }
        }
        serde_json::Value::Null | serde_json::Value::Object(_) => {}
        other => {
            out.push(Line::default());
            out.push(heading("Data"));
            out.push(Line::raw(format!("  {other}")));
        }
    }
    out.push(Line::default());
    out.push(heading("Delivery"));
    if d.deliveries.is_empty() {
        out.push(Line::styled("  inbox only: no channel was planned", dim));
    }
    for (channel, state) in &d.deliveries {
        out.push(delivery(channel.as_str(), state));
    }
    let plan = d.plan.as_ref().map(crate::model::RawJson::value);
    if let Some(channels) = plan.as_ref().and_then(|p| p.get("channels")).and_then(|c| c.as_object()) {
        out.push(Line::default());
        out.push(heading("Why"));
        for (channel, plan) in channels {
            out.push(why(channel, plan, dim, &when));
        }
    }
    out
}

/// One channel's plan and its reasons, e.g. `desktop  hold until 07:00Z · quiet hours ...`.
fn why(
    channel: &str,
    plan: &serde_json::Value,
    dim: Style,
    when: impl Fn(Timestamp) -> String,
) -> Line<'static> {
    let word = plan.get("plan").and_then(|p| p.as_str()).unwrap_or("?");
    let field = |k: &str| plan.get(k).and_then(|v| v.as_str());
    // Instants come as RFC 3339 in UTC: shown in local time, and how far from now.
    let time = |k: &str| field(k).map(|s| s.parse::<Timestamp>().map_or_else(|_| s.to_string(), &when));
    let detail = match word {
        "hold" => format!(" until {}", time("until").unwrap_or_else(|| "do-not-disturb is off".into())),
        "digest" => format!(" at {}", time("at").unwrap_or_else(|| "?".into())),
        "escalate" => format!(" at {} if unread", time("after").unwrap_or_else(|| "?".into())),
        "suppress" => format!(" ({})", field("reason").unwrap_or("?")),
        _ => String::new(),
    };
    let reasons: Vec<&str> = plan
        .get("reasons")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str())
        .collect();
    Line::from(vec![
        Span::raw(format!("  {channel:<8} {word}{detail}")),
        Span::styled(
            if reasons.is_empty() { String::new() } else { format!(" · {}", reasons.join("; ")) },
            dim,
        ),
    ])
}

fn delivery(channel: &str, d: &DeliveryState) -> Line<'static> {
    let colour = match d.status {
        DeliveryStatus::Delivered => Color::Green,
        DeliveryStatus::Failed | DeliveryStatus::Dead => Color::LightRed,
        _ => Color::Yellow,
    };
    let mut spans =
        vec![Span::raw(format!("  {channel:<8} ")), Span::styled(d.status.as_str(), Style::new().fg(colour))];
    if d.attempts > 1 {
        spans.push(Span::raw(format!(" · {} attempts", d.attempts)));
    }
    if let Some(e) = &d.last_error {
        spans.push(Span::styled(format!(" · {e}"), Style::new().fg(Color::LightRed)));
    }
    Line::from(spans)
}

/// `**bold**` and `` `code` `` inside one line; an unclosed marker stays as written.
fn inline_markdown(text: &str) -> Line<'static> {
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let styled = if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**").filter(|e| *e > 0)
        {
            Some((&after[..end], Style::new().add_modifier(Modifier::BOLD), &after[end + 2..]))
        } else if let Some(after) = rest.strip_prefix('`')
            && let Some(end) = after.find('`').filter(|e| *e > 0)
        {
            Some((&after[..end], Style::new().fg(Color::Yellow).bg(Color::DarkGray), &after[end + 1..]))
        } else {
            None
        };
        match styled {
            Some((inner, style, after)) => {
                if !plain.is_empty() {
                    spans.push(Span::raw(std::mem::take(&mut plain)));
                }
                spans.push(Span::styled(inner.to_string(), style));
                rest = after;
            }
            None => {
                plain.push(if c.is_control() { ' ' } else { c });
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !plain.is_empty() {
        spans.push(Span::raw(plain));
    }
    Line::from(spans)
}

/// The detail as plain text, for a pager: every line, unwrapped (the pager wraps).
pub fn plain(app: &App, n: &Row) -> String {
    let mut out = String::new();
    for line in lines(app, n) {
        for span in &line.spans {
            out.push_str(&span.content);
        }
        out.push('\n');
    }
    out
}
