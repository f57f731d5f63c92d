//! `enter` on a `×N` series: what is truly known of its occurrences. The store keeps one item
//! per series and updates it in place on each repeat (its count, and the latest title, body,
//! link and data), so the earlier occurrences' times and bodies are not there to show: this
//! says so, and shows the count, when the first came, the latest text and, when it has a
//! thread, that thread's listed items, newest first. Pure like every view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use super::list::truncate;
use super::overlay::{centred, keys, wrapped};
use crate::model::when::human;
use crate::tui::action::bindings;
use crate::tui::app::App;
use crate::tui::state::Mode;
use crate::tui::words::{age, thousands};

pub(super) fn series(app: &App, frame: &mut Frame, area: Rect) {
    let Some(r) = app.selected_item() else { return };
    let width = usize::from(area.width).saturating_sub(4).min(78);
    let room = width.saturating_sub(2);
    let dim = Style::new().fg(Color::Gray);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let tz = app.replica.zone();
    let mut lines = vec![Line::styled(truncate(&r.title, room), bold)];
    lines.push(Line::raw(format!("{} occurrences, kept as one item", thousands(u64::from(r.count)))));
    lines.push(Line::raw(format!("first   {}", human(r.created_at, app.now, &tz))));
    lines.push(Line::raw("latest  its title, body and link are the ones shown here"));
    if let Some(body) = r.body.as_deref() {
        for l in body.lines().take(4) {
            // The detail pane's light markdown, as plain text.
            let l = l.replace("**", "").replace('`', "");
            lines.push(Line::styled(truncate(&format!("  {l}"), room), dim));
        }
    }
    lines.push(Line::default());
    let note = "Each repeat updates the item in place: when each earlier occurrence came and \
                what it said are not kept, so they are not listed.";
    lines.extend(wrapped(note, room).into_iter().map(|l| l.style(dim)));
    if let Some(t) = r.thread.as_deref() {
        let items: Vec<_> = app
            .replica
            .items()
            .values()
            .rev()
            .filter(|o| o.thread.as_deref() == Some(t) && !o.is_archived())
            .collect();
        lines.push(Line::default());
        lines.push(Line::styled(truncate(&format!("Thread {t}: {} items", items.len()), room), bold));
        for o in items.iter().take(5) {
            let here = if o.id == r.id { "▸" } else { " " };
            let count = if o.count > 1 { format!(" ×{}", o.count) } else { String::new() };
            let text = format!("{here} {:>3}  {}{count}", age(app.now, o.created_at), o.title);
            lines.push(Line::raw(truncate(&text, room)));
        }
        if items.len() > 5 {
            lines.push(Line::styled(format!("  … and {} more (t shows them all)", items.len() - 5), dim));
        }
    }
    lines.push(Line::default());
    lines.extend(keys(&bindings(Mode::Series), app));
    let width = lines.iter().map(|l| l.width()).max().unwrap_or(0).max(20) + 4;
    let rect = centred(area, width, lines.len() + 2);
    frame.render_widget(Clear, rect);
    let title = format!("Series ×{}", r.count);
    let block = Block::bordered().title(title).border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
