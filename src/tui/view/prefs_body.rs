//! The body of the preference editor's tabs made of rows (Channels, Quiet hours, Digest &
//! escalation, a rule's form): each row's label and value, the text field being edited with
//! its error inline under it (and, for the time zone, the matching names), the quiet-hours
//! preview, and how a body scrolls to keep the cursor in view. Shared by the editor's screen
//! ([`super::prefs`]) and the Rules tab ([`super::prefs_rules`]). Pure like every view.

use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::engine::quiet::quiet_at;
use crate::model::Channel;
use crate::prefs::{EmailFrequency, timezone};
use crate::tui::app::App;
use crate::tui::prefs::Editor;
use crate::tui::prefs::rows::{self, RowId};
use crate::tui::prefs::values::{self, ZONE_MATCHES};
use crate::tui::state::Tab;

pub(super) const SELECTED: &str = "▸ ";

/// What a tab's body draws: its lines, the line the cursor is on (scrolled into view), and
/// where the open text field goes.
pub(super) struct Body {
    pub lines: Vec<Line<'static>>,
    pub cursor: usize,
    /// Line and column of the text field being edited.
    pub field: Option<(usize, u16)>,
}

pub(super) fn error_line(message: &str) -> Line<'static> {
    Line::styled(format!("    ✗ {message}"), Style::new().fg(Color::LightRed))
}

pub(super) fn selected_style() -> Style {
    Style::new().bg(Color::DarkGray).add_modifier(Modifier::BOLD)
}

/// Scrolls the body so the cursor (and the line under it, for an error) shows, then draws
/// the text field's widget over its line.
pub(super) fn draw_body(ed: &Editor, b: Body, frame: &mut Frame, area: Rect) {
    let height = usize::from(area.height);
    let want = (b.cursor + 2).min(b.lines.len());
    let offset = want.saturating_sub(height);
    let p = Paragraph::new(b.lines).scroll((u16::try_from(offset).unwrap_or(0), 0));
    frame.render_widget(p, area);
    if let (Some(f), Some((line, x))) = (&ed.field, b.field)
        && line >= offset
        && line - offset < height
    {
        let y = area.y + u16::try_from(line - offset).unwrap_or(0);
        let rect = Rect { x: area.x + x, y, width: area.width.saturating_sub(x), height: 1 };
        let mut w = f.area.clone();
        w.set_cursor_line_style(Style::new());
        w.set_style(Style::new().bg(Color::Blue).fg(Color::White));
        frame.render_widget(&w, rect);
    }
}

fn label_width(width: u16) -> usize {
    if width >= 100 { 34 } else { 30 }
}

/// Rows of switches, choices and text, with the field being edited, its error and, for the
/// time zone, the matching names.
pub(super) fn rows_body(app: &App, ed: &Editor, list: &[RowId], at: usize, width: u16) -> Body {
    let tz = timezone(&ed.draft.quiet_hours.timezone).unwrap_or(TimeZone::UTC);
    let lw = label_width(width);
    let mut b = Body { lines: Vec::new(), cursor: 0, field: None };
    for (i, row) in list.iter().enumerate() {
        if let Some(h) = heading(*row) {
            if !b.lines.is_empty() {
                b.lines.push(Line::default());
            }
            b.lines.push(Line::styled(h, Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)));
        }
        let here = i == at;
        if here {
            b.cursor = b.lines.len();
        }
        let marker = if here { SELECTED } else { "  " };
        let name = match ed.device(*row) {
            Some(d) => format!("  {} device", d.provider),
            None => rows::label(*row),
        };
        let label = format!("{marker}{name:<lw$} ");
        let editing = ed.field.as_ref().filter(|f| f.row == *row);
        let room = usize::from(width).saturating_sub(label.width());
        let value = match row {
            _ if editing.is_some() => String::new(),
            RowId::PushDevices | RowId::Device(_) => super::prefs_devices::value(ed, *row, &tz, here, room),
            _ => values::display(&ed.draft, *row, &tz),
        };
        let style = if here { selected_style() } else { Style::new() };
        let value_style = match rows::kind(*row) {
            rows::Kind::Switch if value == "on" => Style::new().fg(Color::Green),
            rows::Kind::Switch => Style::new().fg(Color::DarkGray),
            _ if *row == RowId::PushDevices => Style::new().fg(Color::Gray),
            _ => Style::new(),
        };
        if editing.is_some() {
            b.field = Some((b.lines.len(), u16::try_from(label.width()).unwrap_or(0)));
        }
        b.lines.push(Line::from(vec![Span::styled(label, style), Span::styled(value, value_style)]));
        if let Some(f) = editing {
            if let Some(e) = &f.error {
                b.lines.push(error_line(e));
            }
            if *row == RowId::QuietZone {
                for (k, z) in
                    values::zones(&f.text(), ed.system_zone.as_deref(), ZONE_MATCHES).iter().enumerate()
                {
                    let mark = if k == f.pick { "▸" } else { " " };
                    let sys = if Some(z.as_str()) == ed.system_zone.as_deref() { "  (system)" } else { "" };
                    let pad = " ".repeat(lw + 2);
                    b.lines.push(Line::styled(format!("{pad}{mark} {z}{sys}"), Style::new().fg(Color::Gray)));
                }
            }
        } else if let Some(e) = ed.error.as_ref().filter(|e| e.field == rows::path(*row))
            && list.iter().position(|r| rows::path(*r) == e.field) == Some(i)
        {
            b.lines.push(error_line(&e.message));
        }
    }
    match ed.tab {
        Tab::Quiet if ed.rule.is_none() => {
            b.lines.push(Line::default());
            b.lines
                .push(Line::styled(format!("  {}", preview(app, ed)), Style::new().fg(Color::LightMagenta)));
        }
        Tab::Delivery => {
            b.lines.push(Line::default());
            let note = match ed.draft.channels.email.frequency {
                EmailFrequency::Immediate => "e-mail goes out at once (no digest)",
                EmailFrequency::Hourly => "digest e-mail on the hour, local time",
                EmailFrequency::Daily => "digest e-mail daily at 09:00 local time",
                EmailFrequency::Weekly => "digest e-mail on Mondays at 09:00 local time",
            };
            b.lines.push(Line::styled(format!("  {note}"), Style::new().fg(Color::Gray)));
        }
        _ => {}
    }
    if let Some(e) = &ed.error
        && !list.iter().any(|r| rows::path(*r) == e.field)
        && ed.tab != Tab::Events
    {
        b.lines.push(error_line(&format!("{}: {}", e.field, e.message)));
    }
    b
}

pub(super) fn zone_of(ed: &Editor) -> TimeZone {
    timezone(&ed.draft.quiet_hours.timezone).unwrap_or(TimeZone::UTC)
}

fn heading(row: RowId) -> Option<String> {
    match row {
        RowId::Enabled(c) => Some(match c {
            Channel::Desktop => "Desktop popups",
            Channel::Email => "E-mail",
            Channel::Slack => "Slack",
            Channel::Webhook => "Webhook",
            Channel::Push => "Push",
        }),
        RowId::EmailFrequency => None,
        RowId::EscalateAfter => Some("Escalation (unread for N minutes)"),
        RowId::RepeatEvery => Some("Urgent items and presence"),
        RowId::Dnd => Some("Do not disturb"),
        _ => None,
    }
    .map(|s| format!(" {s}"))
}

/// "now 22:14 in Europe/Berlin: quiet until 08:00 (9 h 46 min)", from the engine's own rule
/// applied to the draft.
pub fn preview(app: &App, ed: &Editor) -> String {
    let qh = &ed.draft.quiet_hours;
    let (tz, name) = match timezone(&qh.timezone) {
        Ok(tz) => (tz, qh.timezone.clone()),
        Err(_) => (TimeZone::UTC, "UTC".to_string()),
    };
    let local = |t: jiff::Timestamp| t.to_zoned(tz.clone()).strftime("%H:%M").to_string();
    let head = format!("now {} in {name}", local(app.now));
    match quiet_at(qh, &tz, ed.draft.dnd.until, app.now) {
        Some(q) => match q.until {
            Some(until) => {
                let mins = app.now.duration_until(until).as_mins().max(0);
                let (h, m) = (mins / 60, mins % 60);
                let day = if until.to_zoned(tz.clone()).date() == app.now.to_zoned(tz.clone()).date() {
                    String::new()
                } else {
                    until.to_zoned(tz.clone()).strftime("%a ").to_string()
                };
                format!("{head}: quiet until {day}{} ({h} h {m} min)", local(until))
            }
            None => format!("{head}: quiet until do-not-disturb is turned off"),
        },
        None if qh.enabled => format!("{head}: not quiet; quiet from {} to {}", qh.start, qh.end),
        None => format!("{head}: not quiet (quiet hours are off)"),
    }
}
