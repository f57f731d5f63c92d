//! The command palette: the query being typed, then the matching actions, best first, each
//! with its keys and what it does; the highlighted one runs on enter. Pure like every view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::overlay::centred;
use crate::tui::app::App;
use crate::tui::palette::matches;

pub(super) fn palette(app: &App, frame: &mut Frame, area: Rect) {
    let found = matches(&app.palette.query, &app.keys);
    let width = usize::from(area.width).saturating_sub(4).min(72);
    let room = usize::from(area.height).saturating_sub(4).max(1);
    let mut lines = vec![Line::from(vec![
        Span::styled(":", Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)),
        Span::raw(app.palette.query.clone()),
        Span::styled("▏", Style::new().fg(Color::Cyan)),
    ])];
    if found.is_empty() {
        lines.push(Line::styled("no action matches", Style::new().fg(Color::Gray)));
    }
    // The matches around the highlighted one, as many as fit.
    let first = app.palette.pick.saturating_sub(room - 1);
    let keys_w = found.iter().map(|e| e.keys.width()).max().unwrap_or(0).min(16);
    let label_w = found.iter().map(|e| e.label.width()).max().unwrap_or(0).min(32);
    for (i, e) in found.iter().enumerate().skip(first).take(room) {
        let here = i == app.palette.pick;
        let marker = if here { "▸ " } else { "  " };
        let text = format!("{marker}{:<keys_w$}  {:<label_w$}", e.keys, e.label);
        let name = format!("  {}", e.name);
        let fits = text.width() + name.width() <= width;
        let mut spans = vec![Span::raw(text)];
        if fits {
            spans.push(Span::styled(name, Style::new().fg(Color::Gray)));
        }
        let line = Line::from(spans);
        lines.push(if here { line.style(Style::new().add_modifier(Modifier::REVERSED)) } else { line });
    }
    let rect = centred(area, width + 2, lines.len() + 2);
    frame.render_widget(Clear, rect);
    let title = format!("Actions {}", found.len());
    let block = Block::bordered().title(title).border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
