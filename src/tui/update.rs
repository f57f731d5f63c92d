//! `update(&mut App, Action) -> Vec<Effect>`: the only place the TUI's state changes (STYLE
//! habit 2). User commands show their effect at once (optimistically) and go to the server as
//! `command` frames with a fresh `req`; while the connection is down they wait in the
//! replica's pending queue and go out on the next `Connected`. Frames from the server live in
//! [`sync`]. Pure: no I/O, no clock (time arrives as `Tick`), no randomness.

mod devices;
pub mod prefs;
mod sync;

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::action::{Action, DndPreset, SnoozePreset};
use super::app::{App, Focus, Mode, UNDO_DEPTH, UndoEntry};
use super::effect::Effect;
use super::presets;
use super::replica::Pending;
use super::view::detail::max_scroll;
use crate::model::Urgency;
use crate::sync::protocol::{ClientFrame, MarkAllFilter, Op, ServerFrame};

/// Applies one action; returns what the shell must do, `Redraw` when anything visible changed.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    app.refocus();
    // The selection stays on the item it was on while the list changes under it (a new item
    // arriving must not turn `a` into "archive the new one"). Moves and searches place it
    // themselves, and a first load or a snapshot has nothing the user has looked at yet.
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
        | Action::Snapshot { .. } => true,
        Action::Frame(ServerFrame::Change { seq, .. }) => {
            app.replica.initial_replay && *seq <= app.replica.server_seq
        }
        _ => false,
    };
    let anchor = if places_selection { None } else { app.selected_notification().map(|n| n.id.clone()) };
    let mut fx = Vec::new();
    let redraw = match action {
        Action::Tick(now) => sync::tick(app, now),
        Action::Frame(frame) => {
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
                prefs::settled(app, ok, error, current);
            } else if app.replica.prefs_version != version {
                prefs::follow(app);
            }
            redraw
        }
        Action::Connected { host } => sync::connected(app, host, &mut fx),
        Action::Disconnected { retry_in_secs } => sync::disconnected(app, retry_in_secs),
        Action::Snapshot { items } => {
            app.replica.restore_snapshot(items);
            app.say("Inbox reloaded from the server");
            true
        }
        other => {
            user(app, other, &mut fx);
            true
        }
    };
    app.refocus();
    app.reselect(anchor.as_deref());
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
    match action {
        Action::MoveUp => step(app, -1),
        Action::MoveDown => step(app, 1),
        Action::PageUp => step(app, -page(app)),
        Action::PageDown => step(app, page(app)),
        Action::Top => jump(app, 0),
        Action::Click { column, row } => click(app, column, row),
        Action::Bottom => jump(app, usize::MAX),
        Action::OpenDetail => open_detail(app, fx),
        // Esc backs out one step: the detail first, then a kept search.
        Action::CloseDetail if app.detail_open => {
            app.detail_open = false;
            app.focus = Focus::List;
        }
        Action::CloseDetail => app.search.clear(),
        Action::OpenLink => match app.selected_notification().and_then(|n| n.url.clone()) {
            Some(url) => fx.push(Effect::OpenUrl(url)),
            None => app.say("This notification has no link"),
        },
        Action::ToggleRead => toggle_read(app, fx),
        Action::MarkAllRead => app.mode = Mode::ConfirmMarkAllRead,
        Action::ConfirmYes => mark_all_read(app, fx),
        Action::ConfirmNo | Action::CloseMenu => app.mode = Mode::Normal,
        Action::Archive => archive(app, fx),
        Action::Undo => undo(app, fx),
        Action::Snooze if app.selected_notification().is_some() => app.mode = Mode::SnoozeMenu,
        Action::Snooze => app.say("Nothing selected to snooze"),
        Action::SnoozePick(preset) => snooze(app, preset, fx),
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
        Action::FilterToggleUnread => app.filter.unread_only = !app.filter.unread_only,
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
        Action::MuteThread => mute_thread(app, fx),
        Action::DoNotDisturb => app.mode = Mode::DndMenu,
        Action::Dnd(preset) => dnd(app, preset, fx),
        Action::FocusNext => focus_next(app),
        Action::Preferences => prefs::open(app, fx),
        Action::Prefs(action) => prefs::act(app, action, fx),
        Action::Help => app.mode = if app.mode == Mode::Help { Mode::Normal } else { Mode::Help },
        Action::Quit => fx.push(Effect::Quit),
        Action::Resize { width, height } => app.size = (width, height),
        Action::Tick(_)
        | Action::Frame(_)
        | Action::Connected { .. }
        | Action::Disconnected { .. }
        | Action::Snapshot { .. } => {}
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

fn focus_next(app: &mut App) {
    let a = super::layout::areas(ratatui::layout::Rect::new(0, 0, app.size.0, app.size.1), app.detail_open);
    let order = [(Focus::Sidebar, a.sidebar), (Focus::List, a.list), (Focus::Detail, a.detail)];
    let panes: Vec<Focus> = order.into_iter().filter(|(_, r)| r.is_some()).map(|(f, _)| f).collect();
    let at = panes.iter().position(|f| *f == app.focus).unwrap_or(0);
    app.focus = panes.get((at + 1) % panes.len().max(1)).copied().unwrap_or(Focus::List);
}

fn open_detail(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(n) = app.selected_notification() else { return };
    let (id, unread) = (n.id.clone(), n.read_at.is_none());
    app.detail_open = true;
    app.detail_scroll = 0;
    if app.list_rows() == 0 {
        app.focus = Focus::Detail;
    }
    // Opening is reading it, as in any mail reader; not an undo step of its own.
    if unread {
        command(app, Op::MarkRead { ids: vec![id.clone()] }, vec![id], fx);
    }
}

/// Sends `op` (or queues it while offline) and shows its effect at once. Returns its `req`.
fn command(app: &mut App, op: Op, ids: Vec<String>, fx: &mut Vec<Effect>) -> u64 {
    start(app, op, ids, None, fx)
}

fn start(
    app: &mut App,
    op: Op,
    ids: Vec<String>,
    prefs_before: Option<(serde_json::Value, i64)>,
    fx: &mut Vec<Effect>,
) -> u64 {
    let req = app.next_req;
    app.next_req += 1;
    let sent = app.connection.is_up();
    if sent {
        fx.push(Effect::Send(ClientFrame::Command { req: req.to_string(), op: op.clone() }));
    }
    app.replica.begin(req, Pending { op, ids, sent, at: app.now, prefs_before });
    req
}

/// Tells the user what happened, and that it waits for the connection if it does.
pub(super) fn report(app: &mut App, text: String) {
    if app.connection.is_up() {
        app.say(text);
    } else {
        let queued = app.replica.pending.values().filter(|p| !p.sent).count();
        app.say(format!("{text} (offline: {queued} queued)"));
    }
}

fn remember(app: &mut App, req: u64, inverse: Op, label: &str) {
    if app.undo.len() == UNDO_DEPTH {
        app.undo.remove(0);
    }
    app.undo.push(UndoEntry { req, inverse, label: label.to_string() });
}

fn toggle_read(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(n) = app.selected_notification() else { return };
    let ids = vec![n.id.clone()];
    let (op, inverse, label, text) = if n.read_at.is_none() {
        (Op::MarkRead { ids: ids.clone() }, Op::MarkUnread { ids: ids.clone() }, "marked read", "Marked read")
    } else {
        (
            Op::MarkUnread { ids: ids.clone() },
            Op::MarkRead { ids: ids.clone() },
            "marked unread",
            "Marked unread",
        )
    };
    let req = command(app, op, ids, fx);
    remember(app, req, inverse, label);
    report(app, format!("{text} · u to undo"));
}

fn archive(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(n) = app.selected_notification() else { return };
    let ids = vec![n.id.clone()];
    let req = command(app, Op::Archive { ids: ids.clone() }, ids.clone(), fx);
    remember(app, req, Op::Unarchive { ids }, "archived");
    report(app, "Archived · u to undo".into());
}

/// Marks every unread item read, in the filtered category only when one is chosen (what the
/// server's `mark_all_read` does with the same filter).
fn mark_all_read(app: &mut App, fx: &mut Vec<Effect>) {
    app.mode = Mode::Normal;
    let category = app.filter.category.clone();
    let ids = app.mark_all_targets();
    if ids.is_empty() {
        app.say("Nothing unread");
        return;
    }
    let filter = category.clone().map(|c| MarkAllFilter { category: Some(c) });
    let count = ids.len();
    let req = command(app, Op::MarkAllRead { filter }, ids.clone(), fx);
    remember(app, req, Op::MarkUnread { ids }, "marked all read");
    let scope = category.map_or_else(String::new, |c| format!(" in {c}"));
    report(app, format!("Marked {count} read{scope} · u to undo"));
}

fn undo(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(entry) = app.undo.pop() else {
        app.say("Nothing to undo");
        return;
    };
    let ids = match &entry.inverse {
        Op::MarkRead { ids } | Op::MarkUnread { ids } | Op::Archive { ids } | Op::Unarchive { ids } => {
            ids.clone()
        }
        _ => Vec::new(),
    };
    command(app, entry.inverse, ids, fx);
    report(app, format!("Undone: {}", entry.label));
}

fn local(t: Timestamp, tz: &TimeZone) -> Zoned {
    t.to_zoned(tz.clone())
}

fn snooze(app: &mut App, preset: SnoozePreset, fx: &mut Vec<Effect>) {
    app.mode = Mode::Normal;
    let Some(n) = app.selected_notification() else { return };
    let ids = vec![n.id.clone()];
    let tz = app.replica.zone();
    let until = presets::snooze_until(preset, app.now, &tz);
    command(app, Op::Snooze { ids: ids.clone(), until }, ids, fx);
    report(app, format!("Snoozed until {}", local(until, &tz).strftime("%a %H:%M")));
}

/// Saves edited preferences with the version they were edited from; shown at once.
fn save_prefs(app: &mut App, prefs: serde_json::Value, fx: &mut Vec<Effect>) {
    let (before, version) = (app.replica.prefs.clone(), app.replica.prefs_version);
    // The server answers a successful save with version + 1; assuming it lets a second edit
    // follow this one before the answer comes.
    app.replica.set_prefs(prefs.clone(), version + 1);
    start(app, Op::PrefsUpdate { version, prefs }, Vec::new(), Some((before, version)), fx);
}

/// The preferences as an object, whatever arrived.
fn prefs_object(app: &App) -> serde_json::Map<String, serde_json::Value> {
    app.replica.prefs.as_object().cloned().unwrap_or_default()
}

fn mute_thread(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(thread) = app.selected_notification().and_then(|n| n.thread.clone()) else {
        app.say("This notification has no thread to mute");
        return;
    };
    let name = format!("Mute thread {thread}");
    let mut prefs = prefs_object(app);
    let rules = prefs.entry("rules").or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if !rules.is_array() {
        *rules = serde_json::Value::Array(Vec::new());
    }
    let Some(rules) = rules.as_array_mut() else { return };
    if rules.iter().any(|r| r.get("name").and_then(|n| n.as_str()) == Some(&name)) {
        app.say(format!("Thread {thread} is already muted"));
        return;
    }
    rules.push(serde_json::json!({
        "name": name,
        "match": { "thread": thread },
        "actions": { "mute": true },
    }));
    save_prefs(app, serde_json::Value::Object(prefs), fx);
    report(app, format!("Muted thread {thread}: it stays in the inbox but sends nothing"));
}

fn dnd(app: &mut App, preset: DndPreset, fx: &mut Vec<Effect>) {
    app.mode = Mode::Normal;
    let tz = app.replica.zone();
    let until = presets::dnd_until(preset, app.now, &tz);
    let mut prefs = prefs_object(app);
    let dnd = prefs.entry("dnd").or_insert_with(|| serde_json::json!({}));
    if !dnd.is_object() {
        *dnd = serde_json::json!({});
    }
    let Some(dnd) = dnd.as_object_mut() else { return };
    let value = until.map_or_else(String::new, |t| t.to_string());
    dnd.insert("until".into(), serde_json::Value::String(value));
    save_prefs(app, serde_json::Value::Object(prefs), fx);
    match until {
        Some(t) => report(app, format!("Do not disturb until {}", local(t, &tz).strftime("%a %H:%M"))),
        None => report(app, "Do not disturb is off".into()),
    }
}
