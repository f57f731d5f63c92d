//! `|`: the one-line prompt for the command, then the pane with what it printed: the command
//! as its title, how it ended (or that it runs), and the output, scrolled where `update` put
//! it, with a scrollbar when it is longer than the pane. Pure like every view.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};

use super::list::truncate;
use super::overlay::centred;
use crate::tui::app::{App, PipeStage, PipeView};
use crate::tui::state::Mode;

pub(super) fn pipe(app: &App, frame: &mut Frame, area: Rect) {
    let Some(p) = &app.pipe else { return };
    match app.mode {
        Mode::PipePrompt => prompt(app, p, frame, area),
        Mode::PipeOutput => output(p, frame, area),
        _ => {}
    }
}

fn prompt(app: &App, p: &PipeView, frame: &mut Frame, area: Rect) {
    let width = usize::from(area.width).saturating_sub(4).min(76);
    let title = app.replica.get(&p.id).map_or_else(String::new, |r| r.title.to_string());
    let lines = vec![
        Line::styled(
            truncate(&format!("The JSON of “{title}” goes to sh -c on stdin"), width.saturating_sub(2)),
            Style::new().fg(Color::Gray),
        ),
        Line::from(vec![
            Span::styled("| ", Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)),
            Span::raw(p.command.clone()),
            Span::styled("▏", Style::new().fg(Color::Cyan)),
        ]),
    ];
    let rect = centred(area, width + 2, lines.len() + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title("Pipe to a command").border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

fn output(p: &PipeView, frame: &mut Frame, area: Rect) {
    let rect = Rect {
        x: area.x + area.width / 16,
        y: area.y + 1.min(area.height),
        width: area.width - area.width / 8,
        height: area.height.saturating_sub(2),
    };
    frame.render_widget(Clear, rect);
    let (ended, ok, text, cut) = match &p.stage {
        PipeStage::Typing | PipeStage::Fetching { .. } => ("fetching the item…".to_string(), true, "", false),
        PipeStage::Running { .. } => ("running…".to_string(), true, "", false),
        PipeStage::Done(o) => (o.ended.clone(), o.ok, o.output.as_str(), o.cut),
    };
    let status_style = if ok { Style::new().fg(Color::Green) } else { Style::new().fg(Color::LightRed) };
    let mut block = Block::bordered()
        .title(Line::from(format!("| {}", truncate(&p.command, usize::from(rect.width).saturating_sub(20)))))
        .title(
            Line::styled(format!(" {ended} "), status_style.add_modifier(Modifier::BOLD))
                .alignment(Alignment::Right),
        )
        .border_style(Style::new().fg(Color::Cyan));
    let mut lines: Vec<Line> = text.lines().map(|l| Line::raw(l.to_string())).collect();
    if cut {
        lines.push(Line::styled("… (the rest was not kept)", Style::new().fg(Color::Gray)));
    }
    if lines.is_empty() && matches!(p.stage, PipeStage::Done(_)) {
        lines.push(Line::styled("(it printed nothing)", Style::new().fg(Color::Gray)));
    }
    let inner = block.inner(rect);
    let fit = usize::from(inner.height);
    let last = lines.len().saturating_sub(fit);
    let first = usize::from(p.scroll).min(last);
    if lines.len() > fit && fit > 0 {
        block = block.title_bottom(
            Line::from(format!(" lines {}–{} of {} ", first + 1, first + fit, lines.len()))
                .alignment(Alignment::Right),
        );
    }
    let shown: Vec<Line> = lines.iter().skip(first).take(fit).cloned().collect();
    frame.render_widget(Paragraph::new(shown).block(block), rect);
    if lines.len() > fit && fit > 0 {
        let bar = Rect { x: rect.right().saturating_sub(1), width: 1, ..inner };
        let mut state = ScrollbarState::new(last + 1).position(first).viewport_content_length(fit);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight).begin_symbol(None).end_symbol(None),
            bar,
            &mut state,
        );
    }
}
