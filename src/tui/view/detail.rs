//! The detail pane for the selected notification: its lines ([`crate::tui::detail_lines`])
//! in a bordered pane, scrolled as far as `update` left it (never past the end).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};

use super::list::pane;
use crate::tui::app::App;
use crate::tui::detail_lines::{last_scroll, lines};
use crate::tui::state::Focus;

pub(super) fn detail(app: &App, frame: &mut Frame, area: Rect) {
    let block = pane("Detail".into(), app.focus == Focus::Detail);
    let Some(n) = app.selected_item() else {
        frame.render_widget(Paragraph::new("Nothing selected").block(block), area);
        return;
    };
    let lines = lines(app, n);
    let scroll = app.detail_scroll.min(last_scroll(&lines, block.inner(area)));
    let p = Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((scroll, 0));
    frame.render_widget(p, area);
}
