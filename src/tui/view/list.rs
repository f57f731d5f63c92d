//! The category sidebar and the notification list. The list is virtualised: it reads the
//! replica's index from the drawn window's first row and stops when the pane is full, and the
//! counts come from the index too, so a large inbox costs what a screenful costs. A row
//! reads: unread dot, urgency mark (`!!` urgent, `!` high), age, title, collapsed count
//! (`×N`) and, right-aligned, the category, or when a snoozed item comes back. The pane's
//! title names the view and the filter; while the inbox loads it says so.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState, Sparkline, Wrap,
};
use unicode_width::UnicodeWidthStr;

use crate::model::{Urgency, View};
use crate::tui::app::{App, Connection, Tally};
use crate::tui::groups::Mark;
use crate::tui::row::Row;
use crate::tui::state::Focus;
use crate::tui::words::{age, thousands, view_name};

/// A bordered pane; the focused one has a thick border and a bold title, so the focus shows
/// without colour too.
pub(super) fn pane(title: String, focused: bool) -> Block<'static> {
    if focused {
        Block::bordered()
            .border_type(BorderType::Thick)
            .title(Span::styled(title, Style::new().add_modifier(Modifier::BOLD)))
            .border_style(Style::new().fg(Color::Cyan))
    } else {
        Block::bordered().title(title).border_style(Style::new().fg(Color::DarkGray))
    }
}

pub(super) fn sidebar(app: &App, tally: &Tally, frame: &mut Frame, area: Rect) {
    let block = pane("Categories".into(), app.focus == Focus::Sidebar);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let total: usize = tally.categories.iter().map(|(_, n)| n).sum();
    let mut rows = vec![(None, "All".to_string(), total)];
    rows.extend(tally.categories.iter().map(|(c, n)| (Some(c.clone()), c.clone(), *n)));
    // On the wide layout each category has its own last 24 hours, scaled to the busiest.
    let per = (width >= WIDE_SIDEBAR).then(|| app.activity_by_category(SPARK));
    let peak = per.as_ref().and_then(|p| p.values().flatten().max().copied()).unwrap_or(0);
    let lines: Vec<Line> = rows
        .into_iter()
        .take(usize::from(inner.height))
        .map(|(key, name, unread)| {
            let count = if unread > 0 { unread.to_string() } else { String::new() };
            let spark = match (&per, &key) {
                (Some(per), Some(c)) => format!("{} ", bars(per.get(c.as_str()).map(Vec::as_slice), peak)),
                (Some(_), None) => " ".repeat(SPARK + 1),
                (None, _) => String::new(),
            };
            let name = truncate(&name, width.saturating_sub(count.width() + spark.width() + 1));
            let pad = width.saturating_sub(name.width() + spark.width() + count.width());
            let text = format!("{name}{}{spark}{count}", " ".repeat(pad));
            let mut style = Style::new();
            if key == app.filter.category {
                style = style.add_modifier(if app.focus == Focus::Sidebar {
                    Modifier::REVERSED
                } else {
                    Modifier::BOLD | Modifier::UNDERLINED
                });
            }
            Line::styled(text, style)
        })
        .collect();
    let used = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines), inner);
    // The last 24 hours at the bottom, when there is room: a burst stands out.
    if inner.height >= used + 3 && inner.width >= 8 {
        let counts = app.activity(usize::from(inner.width));
        let most = counts.iter().max().copied().unwrap_or(0);
        let label = Rect { y: inner.bottom() - 2, height: 1, ..inner };
        let peak = format!("peak {most}");
        let width = usize::from(inner.width);
        let text = if width >= 10 + peak.width() {
            format!("last 24 h{peak:>w$}", w = width - 9)
        } else {
            "24 h".into()
        };
        frame.render_widget(Paragraph::new(text).style(Style::new().fg(Color::Gray)), label);
        let spark = Rect { y: inner.bottom() - 1, height: 1, ..inner };
        frame.render_widget(Sparkline::default().data(&counts).style(Style::new().fg(Color::Cyan)), spark);
    }
}

/// Sidebar width (inside its border) from which each category shows its own sparkline.
const WIDE_SIDEBAR: usize = 20;
/// Columns of a category's sparkline: 4 hours each.
const SPARK: usize = 6;

/// One bar per count, as high as it is against `peak`; an empty slot is a space, so an hour
/// with one item still shows.
fn bars(counts: Option<&[u64]>, peak: u64) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let counts = counts.unwrap_or(&[]);
    (0..SPARK)
        .map(|i| match counts.get(i).copied().unwrap_or(0) {
            0 => ' ',
            n => {
                let level = (n * 8).div_ceil(peak.max(1)).clamp(1, 8);
                LEVELS[usize::try_from(level - 1).unwrap_or(0)]
            }
        })
        .collect()
}

fn title(app: &App, count: usize) -> String {
    let f = &app.filter;
    // Nothing in yet is not "Inbox 0".
    let mut parts = vec![if app.loading() && count == 0 {
        view_name(f.view).to_string()
    } else {
        format!("{} {}", view_name(f.view), thousands(count as u64))
    }];
    if let Some(c) = &f.category {
        parts.push(c.clone());
    }
    if let Some(t) = &app.thread {
        parts.push(format!("thread {}", t.name));
    }
    if app.grouped {
        parts.push("by thread".into());
    }
    if let Some(u) = f.urgency_at_least {
        parts.push(format!("≥{u}"));
    }
    if !app.search.is_empty() {
        parts.push(format!("/{}", app.search));
    }
    if app.loading() {
        parts.push(match app.replica.loading.and_then(|l| l.progress()) {
            Some((loaded, total)) => format!("loading {}/{}", thousands(loaded), thousands(total)),
            None => "loading…".into(),
        });
    }
    parts.join(" · ")
}

/// What an empty list says: that it is loading, that a view is empty, or that the filter
/// or search leaves nothing.
fn empty_text(app: &App) -> &str {
    let narrowed =
        app.filter.category.is_some() || app.filter.urgency_at_least.is_some() || !app.search.is_empty();
    if app.connection == Connection::Refused {
        // The whole reason, wrapped: the status line may be too narrow for it.
        app.status.as_ref().map_or("The server refused the token", |s| s.text.as_str())
    } else if app.loading() {
        "Loading the inbox…"
    } else if narrowed {
        "Nothing matches. f changes the filter, / the search."
    } else {
        match app.filter.view {
            View::Inbox if !app.any_awake() => "Inbox zero. New notifications appear here as they arrive.",
            View::Inbox | View::All => "Nothing matches. f changes the filter, / the search.",
            View::Unread => "Nothing unread.",
            View::Snoozed => "Nothing snoozed. s on an item snoozes it.",
            View::Archived => "Nothing archived.",
        }
    }
}

pub(super) fn list(app: &App, tally: &Tally, frame: &mut Frame, area: Rect) {
    let count = tally.shown;
    let mut block = pane(title(app, count), app.focus == Focus::List);
    if count > 0 {
        // Where the cursor is, of how many: `123/19,950`.
        let at = format!(" {}/{} ", thousands((app.selected + 1).min(count) as u64), thousands(count as u64));
        block = block.title(Line::from(at).alignment(Alignment::Right));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if count > usize::from(inner.height) && inner.height > 0 {
        // A scrollbar in the right border: where the drawn window is in the whole list.
        let bar = Rect { x: area.right().saturating_sub(1), width: 1, ..inner };
        let last = count - usize::from(inner.height);
        let mut state = ScrollbarState::new(last + 1)
            .position(app.list_offset.min(last))
            .viewport_content_length(usize::from(inner.height));
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight).begin_symbol(None).end_symbol(None),
            bar,
            &mut state,
        );
    }
    if count == 0 {
        let p = Paragraph::new(empty_text(app)).alignment(Alignment::Center).wrap(Wrap { trim: true });
        let mid = Rect { y: inner.y + inner.height / 2, height: inner.height - inner.height / 2, ..inner };
        frame.render_widget(p.style(Style::new().fg(Color::Gray)), mid);
        return;
    }
    let rows = usize::from(inner.height);
    // `update` keeps the offset right; this only guards against a stale one.
    let mut offset = app.list_offset.min(count.saturating_sub(1));
    if app.selected >= offset + rows {
        offset = app.selected + 1 - rows.max(1);
    }
    offset = offset.min(app.selected);
    let tz = app.replica.zone();
    let lines: Vec<Line> = app
        .listed_from(offset)
        .take(rows)
        .enumerate()
        .map(|(i, r)| {
            let here = (offset + i == app.selected, app.focus == Focus::List);
            // The mark column is there only while something is selected.
            let marked = (!app.marked.is_empty()).then(|| app.marked.contains(&r.id));
            let group = app.group_mark(offset + i);
            row(r, app.now, &tz, usize::from(inner.width), here, (marked, group))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row(
    r: &Row,
    now: Timestamp,
    tz: &TimeZone,
    width: usize,
    (selected, focused): (bool, bool),
    (marked, group): (Option<bool>, Option<Mark>),
) -> Line<'static> {
    // The dot is the one "unread" the badge counts; an item not read but archived or
    // snoozed (which no count includes) has a hollow one.
    let unread = r.is_unread(now);
    let dot = match (unread, r.is_read()) {
        (true, _) => "● ",
        (false, false) => "○ ",
        (false, true) => "  ",
    };
    let (mark, mark_style) = match r.urgency {
        Urgency::Urgent => ("!! ", Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD)),
        Urgency::High => ("!  ", Style::new().fg(Color::Yellow)),
        Urgency::Normal | Urgency::Low => ("   ", Style::new()),
    };
    let age = format!("{:>3} ", age(now, r.created_at));
    let collapsed = if r.count > 1 { format!(" ×{}", r.count) } else { String::new() };
    // A snoozed item says when it comes back (the Snoozed view's point), whatever the width.
    let right = match (r.snoozed_at(now), group) {
        (Some(t), _) => format!(" until {} ", t.to_zoned(tz.clone()).strftime("%a %d %b %H:%M")),
        // A thread's group names it, with its size, on its first row.
        (None, Some(Mark::First { size })) if width >= 50 => {
            let name = truncate(r.thread.as_deref().unwrap_or_default(), width / 3);
            format!(" {name} · {size} ")
        }
        (None, _) if width >= 50 => format!(" {} ", r.category),
        (None, _) => String::new(),
    };
    // While grouped by thread: a bracket down each thread's rows.
    let bracket = match group {
        None => "",
        Some(Mark::Single) => " ",
        Some(Mark::First { .. }) => "┌",
        Some(Mark::Middle) => "│",
        Some(Mark::Last) => "└",
    };
    // The cursor is a mark as well as reverse video: it shows without colour and while
    // another pane has the focus.
    let cursor = if selected { "▸" } else { " " };
    // A picked item has a check mark, which shows without colour too.
    let check = match marked {
        Some(true) => "✓",
        Some(false) => " ",
        None => "",
    };
    let fixed = cursor.width()
        + check.width()
        + bracket.width()
        + dot.width()
        + mark.width()
        + age.width()
        + collapsed.width()
        + right.width();
    let title = truncate(&r.title, width.saturating_sub(fixed));
    let pad = " ".repeat(width.saturating_sub(fixed + title.width()));
    let dim = Style::new().fg(Color::Gray);
    let title_style = if unread { Style::new().add_modifier(Modifier::BOLD) } else { Style::new() };
    let line = Line::from(vec![
        Span::styled(cursor, Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(check, Style::new().fg(Color::LightGreen).add_modifier(Modifier::BOLD)),
        Span::styled(bracket, Style::new().fg(Color::Cyan)),
        Span::styled(dot, Style::new().fg(Color::Cyan)),
        Span::styled(mark, mark_style),
        Span::styled(age, dim),
        Span::styled(title, title_style),
        Span::styled(collapsed, Style::new().fg(Color::Cyan)),
        Span::raw(pad),
        Span::styled(
            right,
            if r.snoozed_at(now).is_some() { Style::new().fg(Color::LightMagenta) } else { dim },
        ),
    ]);
    match (selected, focused) {
        (true, true) => line.style(Style::new().add_modifier(Modifier::REVERSED)),
        (true, false) => line.style(Style::new().bg(Color::DarkGray).add_modifier(Modifier::UNDERLINED)),
        _ => line,
    }
}

/// Cuts `s` to `max` terminal columns, ending in `…` when cut.
/// Control characters (a newline in a title) become spaces, so one item stays one row.
pub(super) fn truncate(s: &str, max: usize) -> String {
    let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.width() <= max {
        return s;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    out
}
