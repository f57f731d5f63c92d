//! What floats over the panes: the help overlay (every key of the normal mode, from the
//! keymap) and the small menus for snooze (with "unsnooze now" for a snoozed item), views,
//! do-not-disturb, filter and the mark-all-read question. Each is a box centred in the frame
//! and clipped to it, so a small terminal shows less of it rather than failing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::tui::action::{Action, Binding, bindings};
use crate::tui::app::App;
use crate::tui::state::Mode;
use crate::tui::words::{thousands, view_name};

pub(super) fn overlay(app: &App, frame: &mut Frame, area: Rect) {
    let (title, lines) = match app.mode {
        Mode::Normal | Mode::Search => return,
        // The editor draws its own dialogs.
        Mode::Prefs(_)
        | Mode::PrefsField
        | Mode::PrefsRule
        | Mode::PrefsConflict
        | Mode::PrefsLeave
        | Mode::PrefsRemoveDevice
        | Mode::PrefsAskSecret
        | Mode::PrefsShowSecret => return,
        Mode::Help => return help(app, frame, area),
        // Drawn by their own modules.
        Mode::Palette | Mode::PipePrompt | Mode::PipeOutput | Mode::Series => return,
        Mode::SnoozeMenu => ("Snooze until", keys(&bindings(Mode::SnoozeMenu), app)),
        Mode::UnsnoozeMenu => ("Snoozed: wake now or until", keys(&bindings(Mode::UnsnoozeMenu), app)),
        Mode::ViewMenu => ("View", keys(&bindings(Mode::ViewMenu), app)),
        Mode::DndMenu => ("Do not disturb", keys(&bindings(Mode::DndMenu), app)),
        Mode::FilterMenu => ("Filter", keys(&bindings(Mode::FilterMenu), app)),
        Mode::ConfirmMarkAllRead => ("Mark all read", confirm(app)),
    };
    let width = lines.iter().map(Line::width).max().unwrap_or(0).max(title.width() + 2) + 4;
    let height = lines.len() + 2;
    let rect = centred(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(title).border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
}

/// Every key of the normal mode (and why popups are off, when they are). Too tall for the
/// terminal, it goes in two columns when they fit, else it scrolls (`j`/`k`), and its title
/// says which lines show.
fn help(app: &App, frame: &mut Frame, area: Rect) {
    let room = usize::from(area.width).saturating_sub(4).max(10);
    let mut lines = Vec::new();
    if let Some(why) = &app.popups.off {
        lines.extend(wrapped(&format!("Desktop popups are off: {why}"), room));
        lines.push(Line::default());
    }
    lines.extend(keys(&app.keys.bindings(Mode::Normal), app));
    let fit = usize::from(area.height).saturating_sub(2);
    if lines.len() > fit {
        let two = two_columns(lines.clone());
        if two.iter().map(Line::width).max().unwrap_or(0) <= room && two.len() <= fit {
            lines = two;
        }
    }
    let mut title = "Keys".to_string();
    if lines.len() > fit && fit > 0 {
        let first = usize::from(app.help_scroll).min(lines.len() - fit);
        title = format!("Keys {}–{} of {} (j/k)", first + 1, first + fit, lines.len());
        lines = lines.into_iter().skip(first).take(fit).collect();
    }
    let width = lines.iter().map(Line::width).max().unwrap_or(0).max(title.width() + 2) + 4;
    let rect = centred(area, width, lines.len() + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(title).border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// The first half beside the second, for help on a short terminal.
fn two_columns(lines: Vec<Line<'static>>) -> Vec<Line<'static>> {
    let half = lines.len().div_ceil(2);
    let col = lines.iter().take(half).map(Line::width).max().unwrap_or(0) + 3;
    let mut right = lines.clone().into_iter().skip(half);
    lines
        .into_iter()
        .take(half)
        .map(|left| {
            let pad = " ".repeat(col - left.width());
            let mut spans = left.spans;
            spans.push(Span::raw(pad));
            spans.extend(right.next().map(|r| r.spans).unwrap_or_default());
            Line::from(spans)
        })
        .collect()
}

pub(super) fn centred(area: Rect, width: usize, height: usize) -> Rect {
    let w = u16::try_from(width).unwrap_or(u16::MAX).min(area.width);
    let h = u16::try_from(height).unwrap_or(u16::MAX).min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// One line per binding: keys, what they do, and for filter toggles their current state.
pub(super) fn keys(list: &[Binding], app: &App) -> Vec<Line<'static>> {
    let labels: Vec<String> =
        list.iter().map(|b| b.keys.iter().map(|k| k.label()).collect::<Vec<_>>().join("/")).collect();
    let col = labels.iter().map(|l| l.width()).max().unwrap_or(0) + 2;
    list.iter()
        .zip(labels)
        .map(|(b, keys)| {
            let pad = " ".repeat(col.saturating_sub(keys.width()));
            let mut spans = vec![
                Span::styled(keys, Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)),
                Span::raw(pad),
                Span::raw(b.label),
            ];
            if let Some(state) = filter_state(&b.action, app) {
                spans.push(Span::styled(format!(": {state}"), Style::new().fg(Color::Gray)));
            }
            Line::from(spans)
        })
        .collect()
}

fn filter_state(action: &Action, app: &App) -> Option<String> {
    let f = &app.filter;
    match action {
        Action::SetView(v) if *v == f.view => Some("shown".into()),
        Action::FilterNextView => Some(view_name(f.view).into()),
        Action::FilterToggleUnread => {
            Some(if f.view == crate::model::View::Unread { "on" } else { "off" }.into())
        }
        Action::FilterNextCategory => Some(f.category.clone().unwrap_or_else(|| "all".into())),
        Action::FilterNextUrgency => Some(f.urgency_at_least.map_or_else(|| "any".into(), |u| u.to_string())),
        _ => None,
    }
}

/// Counts what `R` marks: the unread items the list shows (view, filter and search).
fn confirm(app: &App) -> Vec<Line<'static>> {
    let n = app.listed_unread();
    let mut scope = app.filter.category.as_ref().map_or_else(String::new, |c| format!(" in {c}"));
    if !app.search.is_empty() {
        scope.push_str(&format!(" matching \"{}\"", app.search));
    }
    let items = if n == 1 { "item" } else { "items" };
    let mut lines = vec![Line::raw(format!("Mark {} unread {items}{scope} read?", thousands(n as u64)))];
    lines.push(Line::default());
    lines.extend(keys(&bindings(Mode::ConfirmMarkAllRead), app));
    lines
}

/// `text` broken at spaces into lines of at most `width` columns (a longer word on its own).
pub(super) fn wrapped(text: &str, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(Line::raw(std::mem::take(&mut line)));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(Line::raw(line));
    lines
}

/// A question or a notice in a yellow box, centred over `area`.
pub(super) fn dialog(title: &str, lines: Vec<Line<'static>>, frame: &mut Frame, area: Rect) {
    let width = lines.iter().map(Line::width).max().unwrap_or(0) + 4;
    let rect = centred(area, width, lines.len() + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(title.to_string()).border_style(Style::new().fg(Color::Yellow));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
