//! The detail pane for the selected notification: its lines ([`crate::tui::detail_lines`])
//! under a top rule that carries the title, how far it is scrolled (`12–30/45`) and the
//! focus, with a scrollbar when the text is longer than the pane; scrolled as far as
//! `update` left it (never past the end).

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState, Wrap};

use crate::tui::app::App;
use crate::tui::detail_lines::{lines, text_area, wrapped_rows};
use crate::tui::state::Focus;

pub(super) fn detail(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Detail;
    let mut block = Block::new().borders(Borders::TOP);
    block = if focused {
        block
            .border_set(border::THICK)
            .border_style(Style::new().fg(Color::Cyan))
            .title(Line::styled("Detail", Style::new().add_modifier(Modifier::BOLD)))
    } else {
        block.border_style(Style::new().fg(Color::DarkGray)).title("Detail")
    };
    let text = text_area(area);
    let Some(n) = app.selected_item() else {
        frame.render_widget(block, area);
        frame.render_widget(Paragraph::new("Nothing selected"), text);
        return;
    };
    let lines = lines(app, n);
    let rows = wrapped_rows(&lines, text.width);
    let height = usize::from(text.height);
    let last = rows.saturating_sub(height);
    let scroll = usize::from(app.detail_scroll).min(last);
    if rows > height {
        let shown = format!(" {}–{}/{} ", scroll + 1, (scroll + height).min(rows), rows);
        block = block.title(Line::from(shown).alignment(Alignment::Right));
    }
    frame.render_widget(block, area);
    let at = u16::try_from(scroll).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((at, 0)), text);
    if rows > height {
        let bar = Rect { x: text.right(), width: 1, ..text };
        let mut state = ScrollbarState::new(last + 1).position(scroll).viewport_content_length(height);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight).begin_symbol(None).end_symbol(None),
            bar,
            &mut state,
        );
    }
}
