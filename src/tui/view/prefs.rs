//! The preference editor's screen: a tab bar, then the tab's body — rows of switches,
//! choices and text fields (a text field being edited is the tui-textarea widget, with its
//! error inline under it), the event × channel matrix, or the rules with their form and test
//! panel ([`super::prefs_rules`]) — and the dialogs for a version conflict and for leaving
//! with unsaved changes. The body scrolls to keep the cursor in view. Pure like every view.

use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::overlay::{centred, keys};
use crate::engine::quiet::quiet_at;
use crate::model::Channel;
use crate::prefs::{EmailFrequency, timezone};
use crate::tui::action::bindings;
use crate::tui::app::{App, Mode};
use crate::tui::prefs::matrix::{self, Cell};
use crate::tui::prefs::rows::{self, RowId};
use crate::tui::prefs::{Editor, Tab, differences};
use crate::tui::update::prefs::ZONE_MATCHES;

pub(super) const SELECTED: &str = "▸ ";
const CELL: usize = 9;

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

pub(super) fn editor(app: &App, ed: &Editor, frame: &mut Frame, area: Rect) {
    let [bar, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    tab_bar(ed, frame, bar);
    let mut title = format!(" {} ", ed.tab.title());
    if let Some(i) = ed.rule {
        title = format!(" Rule {}: {} ", i + 1, ed.draft.rules.get(i).map(|r| r.name.as_str()).unwrap_or(""));
    }
    let block = Block::bordered().title(title).border_style(Style::new().fg(Color::Cyan));
    let inner = block.inner(body);
    frame.render_widget(block, body);
    match ed.tab {
        Tab::Rules => super::prefs_rules::rules(app, ed, frame, inner),
        _ => {
            let b = match ed.tab {
                Tab::Events => matrix_body(ed, inner.width),
                _ => rows_body(app, ed, &ed.rows(), ed.row(), inner.width),
            };
            draw_body(ed, b, frame, inner);
        }
    }
    match app.mode {
        Mode::PrefsConflict => conflict(app, ed, frame, area),
        Mode::PrefsLeave => leave(app, frame, area),
        Mode::PrefsRemoveDevice => super::prefs_devices::remove(app, ed, frame, area, &zone_of(ed)),
        _ => {}
    }
}

fn tab_bar(ed: &Editor, frame: &mut Frame, area: Rect) {
    let mut spans = Vec::new();
    for (i, t) in Tab::ALL.iter().enumerate() {
        let text = format!(" {} {} ", i + 1, t.title());
        spans.push(if *t == ed.tab {
            Span::styled(text, Style::new().bg(Color::Cyan).fg(Color::Black).add_modifier(Modifier::BOLD))
        } else {
            Span::styled(text, Style::new().fg(Color::Gray))
        });
    }
    let state = if ed.saving.is_some() {
        Span::styled(" saving…", Style::new().fg(Color::Yellow))
    } else if ed.dirty() {
        Span::styled(" ● unsaved", Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD))
    } else {
        Span::styled(format!(" v{}", ed.version), Style::new().fg(Color::DarkGray))
    };
    spans.push(state);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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
            _ => rows::display(&ed.draft, *row, &tz),
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
                    rows::zones(&f.text(), ed.system_zone.as_deref(), ZONE_MATCHES).iter().enumerate()
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

fn zone_of(ed: &Editor) -> TimeZone {
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

fn matrix_body(ed: &Editor, width: u16) -> Body {
    let rows = ed.matrix();
    let lw = usize::from(width).saturating_sub(CELL * Channel::ALL.len() + 1).clamp(16, 40);
    let mut header = format!("  {:<lw$}", "event type");
    for c in Channel::ALL {
        header.push_str(&format!("{:^CELL$}", c.as_str()));
    }
    let mut b = Body {
        lines: vec![Line::styled(header, Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD))],
        cursor: 0,
        field: None,
    };
    if rows.is_empty() {
        b.lines.push(Line::styled(
            "  No event types yet: they appear here as they reach the inbox",
            Style::new().fg(Color::Gray),
        ));
    }
    for (i, r) in rows.iter().enumerate() {
        let here = i == ed.row();
        if here {
            b.cursor = b.lines.len();
        }
        let marker = if here { SELECTED } else { "  " };
        let (name, style) = match &r.kind {
            None => (format!("{} (category default)", r.category), Style::new().add_modifier(Modifier::BOLD)),
            Some(k) => (format!("  {k}"), Style::new()),
        };
        let name: String =
            if name.width() > lw { name.chars().take(lw - 1).chain(['…']).collect() } else { name };
        let mut spans = vec![Span::styled(
            format!("{marker}{name:<lw$}"),
            if here { style.add_modifier(Modifier::REVERSED) } else { style },
        )];
        for (col, c) in Channel::ALL.iter().enumerate() {
            let cell = matrix::cell(&ed.draft, r, *c);
            let (text, mut st) = match cell {
                _ if matrix::locked(&ed.required, r, *c) => ("[#]", locked_style()),
                Cell::Explicit(true) => ("[x]", Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)),
                Cell::Explicit(false) => ("[ ]", Style::new().add_modifier(Modifier::BOLD)),
                Cell::Inherited(true) => ("(x)", Style::new().fg(Color::DarkGray)),
                Cell::Inherited(false) => ("( )", Style::new().fg(Color::DarkGray)),
            };
            if here && col == ed.column {
                st = st.add_modifier(Modifier::REVERSED);
            }
            let pad = (CELL - 3) / 2;
            spans.push(Span::raw(" ".repeat(pad)));
            spans.push(Span::styled(text, st));
            spans.push(Span::raw(" ".repeat(CELL - 3 - pad)));
        }
        b.lines.push(Line::from(spans));
    }
    b.lines.push(Line::default());
    b.lines.push(Line::styled(
        "  [x] set here   (x) inherited from the category (a category's default is on)",
        Style::new().fg(Color::Gray),
    ));
    if rows.iter().any(|r| Channel::ALL.iter().any(|c| matrix::locked(&ed.required, r, *c))) {
        b.lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled("[#]", locked_style()),
            Span::styled(
                " required by your organisation: always delivered, cannot be turned off",
                Style::new().fg(Color::Gray),
            ),
        ]));
    }
    if let Some(e) = &ed.error {
        b.lines.push(error_line(&format!("{}: {}", e.field, e.message)));
    }
    b
}

/// A cell the organisation requires: unlike both set and inherited cells.
pub(super) fn locked_style() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

fn conflict(app: &App, ed: &Editor, frame: &mut Frame, area: Rect) {
    let Some(c) = &ed.conflict else { return };
    let mut lines = vec![
        Line::raw(format!("The server has version {}; you edited version {}.", c.version, ed.version)),
        Line::default(),
    ];
    let diffs = differences(&ed.draft, &c.theirs);
    let room = usize::from(area.height).saturating_sub(8 + bindings(Mode::PrefsConflict).len());
    let shown = diffs.len().min(room / 2);
    let w = usize::from(area.width).saturating_sub(24).max(10);
    let cut = |s: &str| {
        if s.width() > w {
            format!("{}…", s.chars().take(w - 1).collect::<String>())
        } else {
            s.to_string()
        }
    };
    for (path, mine, theirs) in diffs.iter().take(shown) {
        lines.push(Line::styled(path.clone(), Style::new().add_modifier(Modifier::BOLD)));
        lines.push(Line::from(vec![
            Span::styled("  yours  ", Style::new().fg(Color::Green)),
            Span::raw(cut(mine)),
            Span::styled("  theirs ", Style::new().fg(Color::Yellow)),
            Span::raw(cut(theirs)),
        ]));
    }
    if diffs.len() > shown {
        lines.push(Line::styled(format!("… and {} more", diffs.len() - shown), Style::new().fg(Color::Gray)));
    }
    lines.push(Line::default());
    lines.extend(keys(&bindings(Mode::PrefsConflict), app));
    dialog("Version conflict", lines, frame, area);
}

fn leave(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::raw("You have unsaved changes."), Line::default()];
    lines.extend(keys(&bindings(Mode::PrefsLeave), app));
    dialog("Leave the preferences?", lines, frame, area);
}

pub(super) fn dialog(title: &str, lines: Vec<Line<'static>>, frame: &mut Frame, area: Rect) {
    let width = lines.iter().map(Line::width).max().unwrap_or(0) + 4;
    let rect = centred(area, width, lines.len() + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(title.to_string()).border_style(Style::new().fg(Color::Yellow));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
