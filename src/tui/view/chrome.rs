//! The rows around the panes: the header (the view, connection, unread badge, how far a
//! first load has come, quiet indicator), the status line (the last message, or the search
//! prompt while typing) and the footer (the keys of the current mode, read from the keymap so
//! hints and keys never disagree).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use unicode_width::UnicodeWidthStr;

use crate::tui::action::Action;
use crate::tui::app::{App, Connection};
use crate::tui::state::Mode;
use crate::tui::words::{thousands, view_name};

const SEP: &str = " │ ";

pub(super) fn header(app: &App, frame: &mut Frame, area: Rect) {
    let bar = Style::new().bg(Color::Blue).fg(Color::White);
    let mut spans = vec![
        Span::styled(" campanile", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(SEP),
        Span::styled(view_name(app.view()), Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(SEP),
    ];
    spans.push(match &app.connection {
        Connection::Connecting => Span::raw("connecting"),
        Connection::Embedded => Span::raw("embedded"),
        Connection::Connected { host } => Span::raw(format!("connected to {host}")),
        Connection::Reconnecting { in_secs } => {
            Span::styled(format!("reconnecting in {in_secs}s"), Style::new().fg(Color::Yellow))
        }
        Connection::Offline => Span::styled("offline", Style::new().fg(Color::LightRed)),
        Connection::Refused => Span::styled("token refused", Style::new().fg(Color::LightRed)),
    });
    let queued = app.replica.pending.values().filter(|p| !p.sent).count();
    if queued > 0 {
        spans.push(Span::raw(format!(" ({queued} queued)")));
    }
    spans.push(Span::raw(SEP));
    let unread = u64::try_from(app.replica.unread).unwrap_or(0);
    // Before the first welcome there is no count to show, not a count of zero.
    spans.push(if app.replica.user.is_none() {
        Span::raw("loading…")
    } else if unread > 0 {
        Span::styled(format!("● {} unread", thousands(unread)), Style::new().add_modifier(Modifier::BOLD))
    } else {
        Span::raw("no unread")
    });
    if !app.marked.is_empty() {
        spans.push(Span::raw(SEP));
        spans.push(Span::styled(
            format!("{} selected", thousands(app.marked.len() as u64)),
            Style::new().fg(Color::LightGreen).add_modifier(Modifier::BOLD),
        ));
    }
    // How far, the list's title says (the header has no room at 80 columns).
    if app.replica.user.is_some() && app.loading() {
        spans.push(Span::raw(SEP));
        spans.push(Span::styled("loading", Style::new().fg(Color::Yellow)));
    }
    if app.popups.off.is_some() {
        spans.push(Span::raw(SEP));
        spans.push(Span::styled("no popups", Style::new().fg(Color::Yellow)));
    }
    if let Some(q) = app.quiet() {
        let what = if q.reason.starts_with("do not disturb") { "dnd" } else { "quiet" };
        let until = q
            .until
            .map(|t| format!(" until {}", t.to_zoned(app.replica.zone()).strftime("%H:%M")))
            .unwrap_or_default();
        spans.push(Span::raw(SEP));
        spans.push(Span::styled(format!("{what}{until}"), Style::new().fg(Color::LightMagenta)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

pub(super) fn status(app: &App, frame: &mut Frame, area: Rect) {
    let line = if app.mode == Mode::Search {
        Line::from(vec![
            Span::styled("/", Style::new().fg(Color::Cyan)),
            Span::raw(app.search.clone()),
            Span::styled("▏", Style::new().fg(Color::Cyan)),
        ])
    } else if let Some(s) = &app.status {
        let style = if s.error { Style::new().fg(Color::LightRed) } else { Style::new() };
        Line::from(Span::styled(format!(" {}", s.text), style))
    } else {
        Line::default()
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The footer follows the context: the list's keys, the open detail's (scrolling, the link,
/// closing), or the editor's and each dialog's own keymap.
fn hinted(app: &App, b: &crate::tui::action::Binding) -> bool {
    if app.mode == Mode::Normal && !app.marked.is_empty() {
        return matches!(
            b.action,
            Action::ToggleRead
                | Action::Archive
                | Action::Snooze
                | Action::MuteThread
                | Action::ToggleSelect
                | Action::CloseDetail
                | Action::Undo
                | Action::Help
                | Action::Quit
        );
    }
    if app.mode == Mode::Normal && app.detail_open {
        let link = app.selected_item().is_some_and(|r| r.url.is_some());
        return match b.action {
            Action::DetailDown | Action::DetailUp | Action::CloseDetail | Action::Help | Action::Quit => true,
            Action::ToggleRead | Action::Archive | Action::Snooze => true,
            Action::OpenLink => link,
            _ => false,
        };
    }
    b.footer && applies(app, &b.action)
}

/// Keys that only work on one row are hinted only there.
fn applies(app: &App, action: &Action) -> bool {
    use crate::tui::action::PrefsAction;
    use crate::tui::prefs::rows::RowId;
    match action {
        Action::Prefs(PrefsAction::RegenerateSecret) => {
            app.editor.as_ref().is_some_and(|e| e.rule.is_none() && e.current() == Some(RowId::WebhookSecret))
        }
        _ => true,
    }
}

/// As many hints as fit, dropping from the end but keeping `?` for help, which lists the rest.
pub(super) fn footer(app: &App, frame: &mut Frame, area: Rect) {
    // `a` and `s` say what they do to the selected item.
    let selected = app.selected_item();
    let archived = selected.is_some_and(|r| r.is_archived());
    let snoozed = selected.is_some_and(|r| r.snoozed_at(app.now).is_some());
    let mut hints: Vec<(String, &'static str, bool)> = app
        .keys
        .bindings(app.mode)
        .into_iter()
        .filter(|b| hinted(app, b))
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(|k| k.label()).collect();
            let label = match (&b.action, app.mode) {
                (Action::Archive, Mode::Normal) => {
                    if archived {
                        "unarchive"
                    } else {
                        "archive"
                    }
                }
                (Action::Snooze, Mode::Normal) => {
                    if snoozed {
                        "unsnooze"
                    } else {
                        "snooze"
                    }
                }
                (Action::ToggleSelect, _) => "select",
                (Action::CloseDetail, _) if !app.marked.is_empty() && !app.detail_open => "clear selection",
                (Action::MuteThread, _) if !app.marked.is_empty() => "mute threads",
                (Action::DetailDown, _) => "scroll down",
                (Action::DetailUp, _) => "up",
                (Action::CloseDetail, _) => "close",
                _ => b.label,
            };
            (keys.join("/"), label, b.action == Action::Help)
        })
        .collect();
    let width =
        |h: &[(String, &str, bool)]| h.iter().map(|(k, l, _)| k.width() + l.width() + 3).sum::<usize>();
    let picked = (app.mode == Mode::Normal && !app.marked.is_empty())
        .then(|| format!(" {} selected:", thousands(app.marked.len() as u64)));
    let room = usize::from(area.width).saturating_sub(picked.as_deref().map_or(0, UnicodeWidthStr::width));
    while width(&hints) > room && hints.len() > 1 {
        match hints.iter().rposition(|(_, _, help)| !help) {
            Some(i) => hints.remove(i),
            None => break,
        };
    }
    let key = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    if let Some(n) = picked {
        spans.push(Span::styled(n, Style::new().add_modifier(Modifier::BOLD)));
    }
    for (keys, label, _) in hints {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(keys, key));
        spans.push(Span::styled(format!(" {label} "), Style::new().fg(Color::Gray)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
