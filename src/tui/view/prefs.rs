//! The preference editor's screen: a tab bar, then the tab's body — rows of switches,
//! choices and text fields ([`super::prefs_body`]), the event × channel matrix, or the rules
//! with their form and test panel ([`super::prefs_rules`]) — and the dialogs for a version
//! conflict, for leaving with unsaved changes and for removing a push device. Pure like
//! every view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::overlay::{dialog, keys, wrapped};
use super::prefs_body::{Body, SELECTED, draw_body, error_line, rows_body, zone_of};
use crate::model::Channel;
use crate::tui::action::bindings;
use crate::tui::app::App;
use crate::tui::prefs::Editor;
use crate::tui::prefs::matrix::{self, Cell};
use crate::tui::state::{Mode, Tab};
const CELL: usize = 9;

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
        Mode::PrefsAskSecret | Mode::PrefsShowSecret => super::prefs_secret::secret(app, ed, frame, area),
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

/// Only the fields both sides changed, each with the side picked for it; what was taken
/// from theirs without asking is summed up in a line.
fn conflict(app: &App, ed: &Editor, frame: &mut Frame, area: Rect) {
    let Some(c) = &ed.conflict else { return };
    let room = usize::from(area.width).saturating_sub(6).max(20);
    let mut lines = wrapped(
        &format!("Version {} on the server and your edit both changed these; pick for each:", c.version),
        room,
    );
    lines.push(Line::default());
    let keys_len = bindings(Mode::PrefsConflict).iter().filter(|b| b.footer).count();
    let fit = usize::from(area.height).saturating_sub(9 + keys_len) / 2;
    // The clashes around the cursor, as many as fit.
    let first = c.at.saturating_sub(fit.saturating_sub(1));
    let w = room.saturating_sub(12).max(8);
    let cut = |s: String| {
        if s.width() > w { format!("{}…", s.chars().take(w - 1).collect::<String>()) } else { s }
    };
    for (i, clash) in c.merge.clashes.iter().enumerate().skip(first).take(fit.max(1)) {
        let here = i == c.at;
        let mine = c.picks.get(i).copied().unwrap_or(true);
        let marker = if here { "▸ " } else { "  " };
        let name = Style::new().add_modifier(Modifier::BOLD);
        lines.push(Line::styled(
            format!("{marker}{}", clash.name()),
            if here { name.add_modifier(Modifier::REVERSED) } else { name },
        ));
        let pick = |on: bool| {
            if on {
                Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            } else {
                Style::new().fg(Color::Gray)
            }
        };
        lines.push(Line::from(vec![
            Span::raw(format!("    {} yours  ", if mine { "●" } else { "○" })),
            Span::styled(cut(clash.shown(clash.mine.as_ref())), pick(mine)),
        ]));
        lines.push(Line::from(vec![
            Span::raw(format!("    {} theirs ", if mine { "○" } else { "●" })),
            Span::styled(cut(clash.shown(clash.theirs.as_ref())), pick(!mine)),
        ]));
    }
    let n = c.merge.clashes.len();
    if n > fit.max(1) {
        lines.push(Line::styled(format!("  field {} of {n}", c.at + 1), Style::new().fg(Color::Gray)));
    }
    if !c.merge.taken.is_empty() {
        lines.push(Line::default());
        lines.extend(wrapped(
            &format!(
                "Taken from theirs without asking (only they changed it): {}; the rest of your changes stay.",
                crate::tui::prefs::merge::names(&c.merge.taken)
            ),
            room,
        ));
    }
    lines.push(Line::default());
    let shown: Vec<_> = bindings(Mode::PrefsConflict).into_iter().filter(|b| b.footer).collect();
    lines.extend(keys(&shown, app));
    dialog("Version conflict", lines, frame, area);
}

fn leave(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::raw("You have unsaved changes."), Line::default()];
    lines.extend(keys(&bindings(Mode::PrefsLeave), app));
    dialog("Leave the preferences?", lines, frame, area);
}
