//! `update(&mut App, Action) -> Vec<Effect>`: the only place the TUI's state changes (STYLE
//! habit 2). This file dispatches actions and owns moving around, searching, filters and
//! views; the commands on items (which show their effect at once and go to the server as
//! `command` frames) live in [`inbox`], frames from the server in [`sync`], fetching the
//! detail of the item shown in [`detail`], the preference editor in [`prefs`], and the two
//! decisions the shell only carries out: desktop popups ([`popups`]) and what the server is
//! told about presence ([`presence`], after every action). Pure: no I/O, no clock (time
//! arrives as `Tick`), no randomness.

mod conflict;
mod detail;
mod devices;
mod inbox;
mod pipe;
mod popups;
mod prefs;
mod presence;
mod save;
mod secret;
mod select;
mod sync;

use super::action::Action;
use super::app::App;
use super::detail_lines::max_scroll;
use super::effect::Effect;
use super::replica::Loading;
use super::state::{Focus, Mode};
use crate::model::{Urgency, View};
use crate::sync::protocol::ServerFrame;

/// Applies one action; returns what the shell must do, `Redraw` when anything visible changed.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    app.refocus();
    // The selection stays on the item it was on while the list changes under it (a new item
    // arriving must not turn `a` into "archive the new one"). Moves and searches place it
    // themselves, and a first replay (oldest first) has nothing the user has looked at yet.
    let places_selection = match &action {
        Action::MoveUp
        | Action::MoveDown
        | Action::Click { .. }
        | Action::Top
        | Action::Bottom
        | Action::PageUp
        | Action::PageDown
        | Action::SearchInput(_)
        | Action::SearchBackspace
        | Action::StartSearch
        | Action::NextUnread
        | Action::PrevUnread
        | Action::NextUrgent
        | Action::PaletteRun
        | Action::ToggleSelect
        | Action::GroupThreads
        | Action::Undo => true,
        Action::Frame(ServerFrame::Change { .. }) => {
            matches!(app.replica.loading, Some(Loading::Replay { .. } | Loading::Waiting))
        }
        _ => false,
    };
    let anchor = if places_selection { None } else { app.selected_item().map(|r| r.id.to_string()) };
    let mut fx = Vec::new();
    let redraw = match action {
        Action::Tick(now) => sync::tick(app, now),
        Action::Frame(frame) => {
            let popped = popups::observe(app, &frame, &mut fx);
            let version = app.replica.prefs_version;
            // The editor's own save: its answer settles the editor too.
            let saved = match &frame {
                ServerFrame::Result { req, ok, error, prefs, prefs_version, .. }
                    if app
                        .editor
                        .as_ref()
                        .is_some_and(|e| e.saving.is_some_and(|s| s.to_string() == *req)) =>
                {
                    Some((*ok, error.clone(), prefs.clone().zip(*prefs_version)))
                }
                _ => None,
            };
            let redraw = sync::frame(app, frame, &mut fx);
            if let Some((ok, error, current)) = saved {
                prefs::settled(app, ok, error, current, &mut fx);
            } else if app.replica.prefs_version != version {
                prefs::follow(app);
            }
            redraw || popped
        }
        Action::Connected { host } => {
            presence::forget(app);
            sync::connected(app, host, &mut fx)
        }
        Action::Disconnected { retry_in_secs } => sync::disconnected(app, retry_in_secs),
        Action::Refused { reason } => sync::token_refused(app, reason),
        // Nothing on screen changes; what the server is told does (below).
        Action::FocusGained => {
            app.presence.focused = true;
            false
        }
        Action::FocusLost => {
            app.presence.focused = false;
            false
        }
        Action::PopupAcknowledged { id } => {
            popups::acknowledged(id, &mut fx);
            false
        }
        Action::PopupFailed(why) => popups::failed(app, &why),
        other => {
            user(app, other, &mut fx);
            true
        }
    };
    app.refocus();
    app.reselect(anchor.as_deref());
    detail::fetch(app, &mut fx);
    presence::report(app, &mut fx);
    if redraw {
        fx.push(Effect::Redraw);
    }
    fx
}

fn user(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    // The mouse wheel moves the editor's cursor while it is open; clicks do nothing there.
    if app.editor.is_some() {
        match action {
            Action::MoveUp => return prefs::act(app, super::action::PrefsAction::Up, fx),
            Action::MoveDown => return prefs::act(app, super::action::PrefsAction::Down, fx),
            Action::Click { .. } => return,
            _ => {}
        }
    }
    if app.mode == Mode::Help {
        // Help scrolls on a short terminal; the view stops it at the last line.
        let most = u16::try_from(super::action::bindings(Mode::Normal).len()).unwrap_or(u16::MAX);
        match action {
            Action::MoveDown => app.help_scroll = (app.help_scroll + 1).min(most),
            Action::MoveUp => app.help_scroll = app.help_scroll.saturating_sub(1),
            _ => {}
        }
        if matches!(action, Action::MoveDown | Action::MoveUp) {
            return;
        }
    }
    if app.mode == Mode::PipeOutput {
        let by = match action {
            Action::MoveDown => 1,
            Action::MoveUp => -1,
            Action::PageDown => page(app),
            Action::PageUp => -page(app),
            _ => 0,
        };
        if by != 0 {
            return pipe::scroll(app, by);
        }
    }
    match action {
        Action::MoveUp => step(app, -1),
        Action::MoveDown => step(app, 1),
        Action::PageUp => step(app, -page(app)),
        Action::PageDown => step(app, page(app)),
        Action::Top => jump(app, 0),
        Action::Click { column, row } => click(app, column, row),
        Action::Bottom => jump(app, usize::MAX),
        Action::OpenDetail if app.mode == Mode::Series => {
            app.mode = Mode::Normal;
            inbox::open_detail(app, fx);
        }
        // A `×N` series first shows what is known of its occurrences.
        Action::OpenDetail if app.selected_item().is_some_and(|r| r.count > 1) => {
            app.mode = Mode::Series;
        }
        Action::SeriesThread => {
            app.mode = Mode::Normal;
            if !open_thread(app) {
                app.say("Its thread lists no other item");
            }
        }
        Action::OpenDetail if open_thread(app) => {}
        Action::OpenDetail => inbox::open_detail(app, fx),
        // Esc backs out one step: the detail first, then a kept search.
        Action::CloseDetail if app.detail_open => {
            app.detail_open = false;
            app.focus = Focus::List;
        }
        Action::CloseDetail if !app.marked.is_empty() => {
            app.clear_marks();
            app.say("Selection cleared");
        }
        Action::CloseDetail if app.thread.is_some() => close_thread(app),
        Action::CloseDetail => app.search.clear(),
        Action::ToggleSelect => select::toggle(app),
        Action::SelectAll => select::all(app),
        Action::DetailDown => scroll_detail(app, 1),
        Action::DetailUp => scroll_detail(app, -1),
        Action::DetailHalfDown => scroll_detail(app, half_detail(app)),
        Action::DetailHalfUp => scroll_detail(app, -half_detail(app)),
        Action::OpenLink => match app.selected_item().and_then(|r| r.url.clone()) {
            Some(url) => fx.push(Effect::OpenUrl(url.into())),
            None => app.say("This notification has no link"),
        },
        // With a selection, `r`, `a`, `s` and `m` act on all of it.
        Action::ToggleRead if !app.marked.is_empty() => select::read(app, fx),
        Action::Archive if !app.marked.is_empty() => select::archive(app, fx),
        Action::Snooze if !app.marked.is_empty() => select::snooze_menu(app),
        Action::SnoozePick(preset) if !app.marked.is_empty() => select::snooze(app, preset, fx),
        Action::Unsnooze if !app.marked.is_empty() => select::unsnooze(app, fx),
        Action::MuteThread if !app.marked.is_empty() => select::mute(app, fx),
        Action::ToggleRead => inbox::toggle_read(app, fx),
        Action::MarkAllRead => inbox::ask_mark_all_read(app),
        Action::ConfirmYes => inbox::mark_all_read(app, fx),
        Action::CloseMenu if matches!(app.mode, Mode::PipePrompt | Mode::PipeOutput) => pipe::close(app, fx),
        Action::ConfirmNo | Action::CloseMenu => app.mode = Mode::Normal,
        Action::Archive => inbox::archive(app, fx),
        Action::Undo => inbox::undo(app, fx),
        Action::Snooze => inbox::snooze_menu(app),
        Action::SnoozePick(preset) => inbox::snooze(app, preset, fx),
        Action::Unsnooze => inbox::unsnooze(app, fx),
        Action::StartSearch => {
            app.search.clear();
            app.selected = 0;
            app.mode = Mode::Search;
        }
        Action::SearchInput(c) => {
            app.search.push(c);
            app.selected = 0;
        }
        Action::SearchBackspace => {
            app.search.pop();
            app.selected = 0;
        }
        Action::SearchCommit => {
            app.mode = Mode::Normal;
            let n = app.listed_len();
            app.say(format!("{n} match{} for \"{}\"", if n == 1 { "" } else { "es" }, app.search));
        }
        Action::SearchCancel => {
            app.search.clear();
            app.mode = Mode::Normal;
        }
        Action::Filter => app.mode = Mode::FilterMenu,
        Action::PickView => app.mode = Mode::ViewMenu,
        Action::SetView(view) => {
            app.mode = Mode::Normal;
            set_view(app, view);
        }
        Action::FilterNextView => {
            let at = View::ALL.iter().position(|v| *v == app.filter.view).unwrap_or(0);
            set_view(app, View::ALL[(at + 1) % View::ALL.len()]);
        }
        Action::FilterToggleUnread => {
            set_view(app, if app.filter.view == View::Unread { View::Inbox } else { View::Unread });
        }
        Action::FilterNextCategory => shift_category(app, 1),
        Action::FilterNextUrgency => {
            app.filter.urgency_at_least = match app.filter.urgency_at_least {
                None => Some(Urgency::Normal),
                Some(Urgency::Low | Urgency::Normal) => Some(Urgency::High),
                Some(Urgency::High) => Some(Urgency::Urgent),
                Some(Urgency::Urgent) => None,
            }
        }
        Action::FilterClear => app.filter = Default::default(),
        Action::MuteThread => inbox::mute_thread(app, fx),
        Action::RetryNow if app.connection.is_up() => app.say("Connected already"),
        Action::RetryNow => {
            app.say("Reconnecting now");
            fx.push(Effect::Reconnect);
        }
        Action::DoNotDisturb => app.mode = Mode::DndMenu,
        Action::Dnd(preset) => inbox::dnd(app, preset, fx),
        Action::FocusNext => focus_step(app, 1),
        Action::FocusPrev => focus_step(app, -1),
        Action::NextUnread => seek(app, 1, "unread", |r, now| r.is_unread(now)),
        Action::PrevUnread => seek(app, -1, "unread", |r, now| r.is_unread(now)),
        Action::NextUrgent => seek(app, 1, "urgent", |r, _| r.urgency == Urgency::Urgent),
        Action::CopyLink => match app.selected_item().and_then(|r| r.url.clone()) {
            Some(url) => {
                fx.push(Effect::Copy(url.into()));
                app.say("Copied the link");
            }
            None => app.say("This notification has no link"),
        },
        Action::Palette => {
            app.palette = Default::default();
            app.mode = Mode::Palette;
        }
        Action::PaletteInput(c) => {
            app.palette.query.push(c);
            app.palette.pick = 0;
        }
        Action::PaletteBackspace => {
            app.palette.query.pop();
            app.palette.pick = 0;
        }
        Action::PaletteDown | Action::PaletteUp => {
            let n = super::palette::matches(&app.palette.query, &app.keys).len();
            let p = &mut app.palette.pick;
            *p = if action == Action::PaletteDown {
                (*p + 1).min(n.saturating_sub(1))
            } else {
                p.saturating_sub(1)
            };
        }
        Action::PaletteRun => {
            app.mode = Mode::Normal;
            match super::palette::matches(&app.palette.query, &app.keys).into_iter().nth(app.palette.pick) {
                Some(entry) => user(app, entry.action, fx),
                None => app.say(format!("No action matches \"{}\"", app.palette.query)),
            }
        }
        Action::OpenInPager => match app.selected_item() {
            Some(n) => {
                let text = super::detail_lines::plain(app, n);
                fx.push(Effect::Page(text));
            }
            None => app.say("Nothing selected"),
        },
        Action::PipeTo => {
            pipe::close(app, fx);
            pipe::open(app);
        }
        Action::PipeInput(c) => pipe::input(app, c),
        Action::PipeBackspace => pipe::backspace(app),
        Action::PipeRun => pipe::run(app, fx),
        Action::Piped(outcome) => pipe::piped(app, outcome),
        Action::GroupThreads => group_threads(app),
        Action::Paged(Ok(())) => {}
        Action::Paged(Err(why)) => app.warn(format!("The pager did not run: {why}")),
        Action::CopyId => {
            if let Some(id) = app.selected_item().map(|r| r.id.to_string()) {
                app.say(format!("Copied the id {id}"));
                fx.push(Effect::Copy(id));
            }
        }
        Action::Preferences => prefs::open(app, fx),
        Action::Prefs(action) => prefs::act(app, action, fx),
        Action::Help => {
            app.help_scroll = 0;
            app.mode = if app.mode == Mode::Help { Mode::Normal } else { Mode::Help };
        }
        Action::Quit => fx.push(Effect::Quit),
        Action::Resize { width, height } => app.size = (width, height),
        Action::Tick(_)
        | Action::Frame(_)
        | Action::Connected { .. }
        | Action::Disconnected { .. }
        | Action::Refused { .. }
        | Action::FocusGained
        | Action::FocusLost
        | Action::PopupAcknowledged { .. }
        | Action::PopupFailed(_) => {}
    }
}

/// `enter` on an item of a thread with more items: the list shows that thread's items,
/// newest first (another `enter` opens one). Whether it did.
fn open_thread(app: &mut App) -> bool {
    if app.thread.is_some() {
        return false;
    }
    let Some((id, thread)) =
        app.selected_item().and_then(|r| Some((r.id.to_string(), r.thread.as_deref()?.to_string())))
    else {
        return false;
    };
    let lens = app.lens().in_thread(Some(&thread));
    let items = app.replica.items().values().filter(|r| lens.shows(r)).take(2).count();
    if items < 2 {
        return false;
    }
    app.thread = Some(super::app::ThreadView {
        name: thread,
        back: (Some(id.clone()), app.selected, app.list_offset),
    });
    app.refocus();
    app.selected = 0;
    app.list_offset = 0;
    app.select_item(&id);
    let n = app.listed_len();
    app.say(format!("{n} items in this thread · enter opens one, esc goes back"));
    true
}

/// `t`: the list grouped by thread, or flat again, with the cursor on the same item.
fn group_threads(app: &mut App) {
    let id = app.selected_item().map(|r| r.id.to_string());
    app.grouped = !app.grouped;
    app.refocus();
    app.selected = 0;
    app.list_offset = 0;
    if let Some(id) = id {
        app.select_item(&id);
    }
    app.say(if app.grouped {
        "Grouped by thread, newest activity first · t lists flat again"
    } else {
        "Listed flat, newest first"
    });
}

/// `esc` in a thread: the whole list again, where it was.
fn close_thread(app: &mut App) {
    let Some(t) = app.thread.take() else { return };
    let (id, selected, offset) = t.back;
    app.refocus();
    app.selected = selected;
    app.list_offset = offset;
    if let Some(id) = id {
        app.select_item(&id);
    }
}

/// Shows another view. The selection follows its item when the new view lists it too, and
/// starts at the top otherwise.
fn set_view(app: &mut App, view: View) {
    if app.filter.view != view {
        app.filter.view = view;
        app.selected = 0;
        app.list_offset = 0;
    }
}

fn page(app: &App) -> isize {
    isize::try_from(app.list_rows().max(1)).unwrap_or(1)
}

/// Moves within the focused pane: the list's selection, the sidebar's category, or the
/// detail's scroll.
/// Selects the list row under a click (inside the list's border); elsewhere nothing.
fn click(app: &mut App, column: u16, row: u16) {
    let (w, h) = app.size;
    let areas = super::layout::areas(ratatui::layout::Rect::new(0, 0, w, h), app.detail_open);
    let Some(list) = areas.list else { return };
    let inside = column > list.x
        && column < list.right().saturating_sub(1)
        && row > list.y
        && row < list.bottom().saturating_sub(1);
    if inside {
        app.focus = Focus::List;
        jump(app, app.list_offset + usize::from(row - list.y - 1));
    }
}

fn step(app: &mut App, by: isize) {
    match app.focus {
        Focus::Sidebar => shift_category(app, by.signum()),
        Focus::Detail if app.detail_open => {
            let by = i16::try_from(by).unwrap_or(i16::MAX);
            app.detail_scroll = app.detail_scroll.saturating_add_signed(by).min(max_scroll(app));
        }
        Focus::List | Focus::Detail => jump(app, app.selected.saturating_add_signed(by)),
    }
}

/// Scrolls the open detail without moving the focus to it (no `Tab` first).
fn scroll_detail(app: &mut App, by: i16) {
    if !app.detail_open {
        app.say("Open an item first (enter)");
        return;
    }
    app.detail_scroll = app.detail_scroll.saturating_add_signed(by).min(max_scroll(app));
}

/// Half the detail's height, at least a line.
fn half_detail(app: &App) -> i16 {
    let area = super::layout::areas(ratatui::layout::Rect::new(0, 0, app.size.0, app.size.1), true).detail;
    area.map_or(1, |r| i16::try_from(r.height / 2).unwrap_or(1).max(1))
}

fn jump(app: &mut App, to: usize) {
    if app.focus == Focus::Detail && app.detail_open {
        app.detail_scroll = if to == 0 { 0 } else { max_scroll(app) };
        return;
    }
    let to = to.min(app.listed_len().saturating_sub(1));
    if to != app.selected {
        app.detail_scroll = 0;
    }
    app.selected = to;
}

/// Moves the category filter through "all" and every category, as the sidebar lists them.
fn shift_category(app: &mut App, by: isize) {
    let mut choices: Vec<Option<String>> = vec![None];
    choices.extend(app.categories().into_iter().map(|(c, _)| Some(c)));
    let at = choices.iter().position(|c| *c == app.filter.category).unwrap_or(0);
    let len = isize::try_from(choices.len()).unwrap_or(1);
    let next = (isize::try_from(at).unwrap_or(0) + by).rem_euclid(len);
    app.filter.category = choices.into_iter().nth(next.unsigned_abs()).flatten();
    app.selected = 0;
}

/// Moves the focus to the next (`by` 1) or previous (-1) pane that is drawn.
fn focus_step(app: &mut App, by: isize) {
    let a = super::layout::areas(ratatui::layout::Rect::new(0, 0, app.size.0, app.size.1), app.detail_open);
    let order = [(Focus::Sidebar, a.sidebar), (Focus::List, a.list), (Focus::Detail, a.detail)];
    let panes: Vec<Focus> = order.into_iter().filter(|(_, r)| r.is_some()).map(|(f, _)| f).collect();
    let len = panes.len().max(1).cast_signed();
    let at = panes.iter().position(|f| *f == app.focus).unwrap_or(0).cast_signed();
    app.focus = panes.get((at + by).rem_euclid(len).unsigned_abs()).copied().unwrap_or(Focus::List);
}

/// Selects the next (`by` 1) or previous (-1) listed item that `wanted`, wrapping around the
/// list, and says so when it wrapped or found none.
fn seek(app: &mut App, by: isize, what: &str, wanted: impl Fn(&super::row::Row, jiff::Timestamp) -> bool) {
    let len = app.listed_len();
    if len == 0 {
        return app.say(format!("No {what} items in this list"));
    }
    let now = app.now;
    let from = app.selected;
    // One pass over the list from the row after (or before) the cursor, around the end.
    let found = (1..=len)
        .map(|k| (from.cast_signed() + by * k.cast_signed()).rem_euclid(len.cast_signed()).unsigned_abs())
        .find(|i| app.listed_nth(*i).is_some_and(|r| wanted(r, now)));
    match found {
        Some(i) if i == from => app.say(format!("This is the only {what} item in this list")),
        Some(i) => {
            let wrapped = (by > 0 && i < from) || (by < 0 && i > from);
            app.selected = i;
            app.detail_scroll = 0;
            if wrapped {
                app.say(format!(
                    "Back at the {} for the next {what} item",
                    if by > 0 { "top" } else { "bottom" }
                ));
            }
        }
        None => app.say(format!("No {what} items in this list")),
    }
}
