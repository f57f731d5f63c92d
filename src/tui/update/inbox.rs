//! The user's commands on their inbox: read, archive, snooze and their opposites on the
//! selected item, "mark all read" on everything listed (one `bulk` command, however many
//! items), undo, and the two that edit preferences (mute a thread, do not disturb). Each
//! shows its effect at once and goes to the server as a `command` frame with a fresh `req`;
//! while the connection is down it waits in the replica's pending queue and goes out on the
//! next `Connected`. Pure.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::model::{InboxFilter, View};
use crate::sync::protocol::{BulkAction, ClientFrame, Op};
use crate::tui::app::{App, UNDO_DEPTH, UndoEntry};
use crate::tui::effect::Effect;
use crate::tui::presets;
use crate::tui::replica::{Edit, Pending};
use crate::tui::row::Id;
use crate::tui::state::{DndPreset, Focus, Mode, SnoozePreset};
use crate::tui::words::thousands;

/// Sends `op` (or queues it while offline) and shows `edit` on `ids` at once. Returns its
/// `req`.
pub(super) fn start(
    app: &mut App,
    op: Op,
    edit: Option<Edit>,
    ids: Vec<Id>,
    prefs_before: Option<(serde_json::Value, i64)>,
    fx: &mut Vec<Effect>,
) -> u64 {
    let req = app.next_req;
    app.next_req += 1;
    let sent = app.connection.is_up();
    if sent {
        fx.push(Effect::Send(ClientFrame::Command { req: req.to_string(), op: op.clone() }));
    }
    app.replica.begin(req, Pending { op, edit, ids, sent, at: app.now, prefs_before });
    req
}

/// [`start`] for an op on one item.
fn command(app: &mut App, op: Op, id: &Id, fx: &mut Vec<Effect>) -> u64 {
    let edit = Edit::of(&op);
    start(app, op, edit, vec![Id::clone(id)], None, fx)
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

/// The ids an op names, sorted (as the replica's pending entries keep them).
fn ids_of(op: &Op) -> Vec<Id> {
    let ids = match op {
        Op::MarkRead { ids }
        | Op::MarkUnread { ids }
        | Op::Archive { ids }
        | Op::Unarchive { ids }
        | Op::Snooze { ids, .. }
        | Op::Unsnooze { ids } => ids,
        _ => return Vec::new(),
    };
    let mut out: Vec<Id> = ids.iter().map(|i| Id::from(i.as_str())).collect();
    out.sort();
    out
}

/// [`start`] for an op on items, showing its edit on the ids it names.
pub(super) fn start_op(app: &mut App, op: Op, fx: &mut Vec<Effect>) -> u64 {
    let (edit, ids) = (Edit::of(&op), ids_of(&op));
    start(app, op, edit, ids, None, fx)
}

/// Makes the command `req` undoable by `inverse` (known later for a bulk action).
pub(super) fn remember(
    app: &mut App,
    req: u64,
    inverse: Option<Op>,
    edit: Option<Edit>,
    ids: Vec<Id>,
    label: &str,
) {
    if app.undo.len() == UNDO_DEPTH {
        app.undo.remove(0);
    }
    app.undo.push(UndoEntry {
        req,
        inverse,
        edit,
        ids,
        label: label.to_string(),
        also: Vec::new(),
        unmute: Vec::new(),
        undo_on_answer: false,
    });
}

/// Runs `op` on the selected item and remembers `inverse` as its undo.
fn on_selected(app: &mut App, op: impl FnOnce(Vec<String>) -> (Op, Op), label: &str, fx: &mut Vec<Effect>) {
    let Some(id) = app.selected_item().map(|r| Id::clone(&r.id)) else { return };
    let (op, inverse) = op(vec![id.to_string()]);
    let req = command(app, op, &id, fx);
    let edit = Edit::of(&inverse);
    remember(app, req, Some(inverse), edit, vec![id], label);
}

pub(super) fn open_detail(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(r) = app.selected_item() else { return };
    let (id, unread) = (Id::clone(&r.id), !r.is_read());
    app.detail_open = true;
    app.detail_scroll = 0;
    if app.list_rows() == 0 {
        app.focus = Focus::Detail;
    }
    // Opening is reading it, as in any mail reader; not an undo step of its own.
    if unread {
        command(app, Op::MarkRead { ids: vec![id.to_string()] }, &id, fx);
    }
}

pub(super) fn toggle_read(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(read) = app.selected_item().map(|r| r.is_read()) else { return };
    if read {
        on_selected(
            app,
            |ids| (Op::MarkUnread { ids: ids.clone() }, Op::MarkRead { ids }),
            "marked unread",
            fx,
        );
        report(app, "Marked unread · u to undo".into());
    } else {
        on_selected(
            app,
            |ids| (Op::MarkRead { ids: ids.clone() }, Op::MarkUnread { ids }),
            "marked read",
            fx,
        );
        report(app, "Marked read · u to undo".into());
    }
}

/// Archives the selected item, or brings an archived one back.
pub(super) fn archive(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(archived) = app.selected_item().map(|r| r.is_archived()) else { return };
    if archived {
        on_selected(app, |ids| (Op::Unarchive { ids: ids.clone() }, Op::Archive { ids }), "unarchived", fx);
        report(app, "Unarchived · u to undo".into());
    } else {
        on_selected(app, |ids| (Op::Archive { ids: ids.clone() }, Op::Unarchive { ids }), "archived", fx);
        report(app, "Archived · u to undo".into());
    }
}

/// `s`: the snooze menu, with "unsnooze now" for an item that is snoozed.
pub(super) fn snooze_menu(app: &mut App) {
    match app.selected_item().map(|r| r.snoozed_at(app.now).is_some()) {
        Some(true) => app.mode = Mode::UnsnoozeMenu,
        Some(false) => app.mode = Mode::SnoozeMenu,
        None => app.say("Nothing selected to snooze"),
    }
}

pub(super) fn local(t: Timestamp, tz: &TimeZone) -> Zoned {
    t.to_zoned(tz.clone())
}

pub(super) fn snooze(app: &mut App, preset: SnoozePreset, fx: &mut Vec<Effect>) {
    app.mode = Mode::Normal;
    let tz = app.replica.zone();
    let until = presets::snooze_until(preset, app.now, &tz);
    let Some(before) = app.selected_item().map(|r| r.snoozed_at(app.now)) else { return };
    let back = |ids: Vec<String>| match before {
        Some(t) => Op::Snooze { ids, until: t },
        None => Op::Unsnooze { ids },
    };
    on_selected(app, |ids| (Op::Snooze { ids: ids.clone(), until }, back(ids)), "snoozed", fx);
    report(app, format!("Snoozed until {} · u to undo", local(until, &tz).strftime("%a %H:%M")));
}

/// Wakes the selected snoozed item now.
pub(super) fn unsnooze(app: &mut App, fx: &mut Vec<Effect>) {
    app.mode = Mode::Normal;
    let Some(before) = app.selected_item().and_then(|r| r.snoozed_at(app.now)) else {
        app.say("This notification is not snoozed");
        return;
    };
    on_selected(
        app,
        |ids| (Op::Unsnooze { ids: ids.clone() }, Op::Snooze { ids, until: before }),
        "unsnoozed",
        fx,
    );
    report(app, "Back in the inbox now · u to undo".into());
}

/// Why a bulk action cannot run now: it takes what the user sees, so all of it must be in.
pub(super) fn bulk_blocked(app: &App) -> Option<String> {
    if !app.loading() {
        return None;
    }
    let progress = app.replica.loading.and_then(|l| l.progress());
    Some(match progress {
        Some((loaded, total)) => format!(
            "The inbox is still loading ({} of {}): try again once it is in",
            thousands(loaded),
            thousands(total)
        ),
        None => "The inbox is still loading: try again once it is in".into(),
    })
}

/// ` in billing`, ` matching "deploy"`: what a bulk action was limited to, for the status.
fn scope(app: &App) -> String {
    let mut s = String::new();
    if let Some(c) = &app.filter.category {
        s.push_str(&format!(" in {c}"));
    }
    if !app.search.is_empty() {
        s.push_str(&format!(" matching \"{}\"", app.search));
    }
    s
}

/// `R`: asks about what the list shows unread (the dialog counts it).
pub(super) fn ask_mark_all_read(app: &mut App) {
    if let Some(why) = bulk_blocked(app) {
        app.say(why);
    } else if app.thread.is_some() {
        app.say("In a thread, * selects its items and r reads them");
    } else if app.listed_unread() == 0 {
        app.say("Nothing unread here");
    } else {
        app.mode = Mode::ConfirmMarkAllRead;
    }
}

/// Marks read every unread item the list shows, as one `bulk` command on the same filter
/// up to the last change we applied: the server marks exactly what the user saw, however
/// many, and a newer item stays unread. (The unread items of Inbox, Unread and All are the
/// same set, so the filter names the Unread view; Snoozed and Archived have none.)
pub(super) fn mark_all_read(app: &mut App, fx: &mut Vec<Effect>) {
    app.mode = Mode::Normal;
    let ids = app.listed_unread_ids();
    if ids.is_empty() {
        app.say("Nothing unread here");
        return;
    }
    let filter = InboxFilter { view: View::Unread, ..app.inbox_filter() };
    let op =
        Op::Bulk { action: BulkAction::MarkRead, filter, up_to: Some(app.replica.last_seq), until: None };
    let count = ids.len();
    let req = start(app, op, Some(Edit::Read), ids.clone(), None, fx);
    remember(app, req, None, Some(Edit::Unread), ids, "marked all read");
    let scope = scope(app);
    report(app, format!("Marked {} read{scope} · u to undo", thousands(count as u64)));
}

/// The server answered a bulk action: its id is what undoes it (none: it changed nothing,
/// so there is nothing to undo).
pub(super) fn bulk_answered(app: &mut App, req: u64, bulk: Option<String>, fx: &mut Vec<Effect>) {
    let Some(at) = app.undo.iter().position(|u| u.req == req && u.inverse.is_none()) else { return };
    let Some(bulk) = bulk else {
        if app.undo.remove(at).undo_on_answer {
            app.say("The server changed nothing, so there is nothing to undo");
        }
        return;
    };
    app.undo[at].inverse = Some(Op::UndoBulk { bulk });
    // An undo asked for while waiting runs now; only the newest entry can be waiting,
    // since `u` takes entries last first.
    if app.undo[at].undo_on_answer && at + 1 == app.undo.len() {
        undo(app, fx);
    }
}

/// `u`: takes back the last action that changed an item (or muted a thread), whichever it
/// was, and puts the cursor on the item it brought back.
pub(super) fn undo(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(entry) = app.undo.pop() else {
        app.say("Nothing to undo");
        return;
    };
    if !entry.unmute.is_empty() {
        let mut prefs = prefs_object(app);
        if let Some(rules) = prefs.get_mut("rules").and_then(|r| r.as_array_mut()) {
            rules.retain(|r| {
                r.get("name").and_then(|n| n.as_str()).is_none_or(|n| !entry.unmute.iter().any(|m| m == n))
            });
        }
        save_prefs(app, serde_json::Value::Object(prefs), fx);
        report(app, format!("Undone: {}", entry.label));
        return;
    }
    let Some(inverse) = entry.inverse.clone() else {
        app.say(format!("Undo of {} follows when the server answers", entry.label));
        app.undo.push(UndoEntry { undo_on_answer: true, ..entry });
        return;
    };
    let back = entry.ids.last().map(|id| id.to_string());
    start(app, inverse, entry.edit, entry.ids, None, fx);
    for op in entry.also {
        start_op(app, op, fx);
    }
    if let Some(id) = back {
        app.select_item(&id);
    }
    report(app, format!("Undone: {}", entry.label));
}

/// Saves edited preferences with the version they were edited from; shown at once.
fn save_prefs(app: &mut App, prefs: serde_json::Value, fx: &mut Vec<Effect>) {
    let (before, version) = (app.replica.prefs.clone(), app.replica.prefs_version);
    // The server answers a successful save with version + 1; assuming it lets a second edit
    // follow this one before the answer comes.
    app.replica.set_prefs(prefs.clone(), version + 1);
    start(app, Op::PrefsUpdate { version, prefs }, None, Vec::new(), Some((before, version)), fx);
}

/// The preferences as an object, whatever arrived.
fn prefs_object(app: &App) -> serde_json::Map<String, serde_json::Value> {
    app.replica.prefs.as_object().cloned().unwrap_or_default()
}

/// `m`: mutes the selected item's thread.
pub(super) fn mute_thread(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(thread) = app.selected_item().and_then(|r| r.thread.as_deref().map(str::to_string)) else {
        app.say("This notification has no thread to mute");
        return;
    };
    mute_threads(app, vec![thread], fx);
}

/// Mutes each of `threads` (sorted, not empty) with one save, as one undo step.
pub(super) fn mute_threads(app: &mut App, threads: Vec<String>, fx: &mut Vec<Effect>) {
    let mut prefs = prefs_object(app);
    let rules = prefs.entry("rules").or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if !rules.is_array() {
        *rules = serde_json::Value::Array(Vec::new());
    }
    let Some(rules) = rules.as_array_mut() else { return };
    let mut added = Vec::new();
    for thread in &threads {
        let name = format!("Mute thread {thread}");
        if rules.iter().any(|r| r.get("name").and_then(|n| n.as_str()) == Some(&name)) {
            continue;
        }
        rules.push(serde_json::json!({
            "name": name,
            "match": { "thread": thread },
            "actions": { "mute": true },
        }));
        added.push(name);
    }
    let what = match threads.as_slice() {
        [one] => format!("thread {one}"),
        many => format!("{} threads", many.len()),
    };
    if added.is_empty() {
        app.say(match threads.as_slice() {
            [one] => format!("Thread {one} is already muted"),
            _ => format!("All {what} are already muted"),
        });
        return;
    }
    save_prefs(app, serde_json::Value::Object(prefs), fx);
    if app.undo.len() == UNDO_DEPTH {
        app.undo.remove(0);
    }
    // The save has no item edit and needs no server id to be undone.
    app.undo.push(UndoEntry {
        req: app.next_req - 1,
        inverse: None,
        edit: None,
        ids: Vec::new(),
        label: format!("muted {what}"),
        also: Vec::new(),
        unmute: added,
        undo_on_answer: false,
    });
    app.clear_marks();
    let it = if threads.len() == 1 {
        "it stays in the inbox but sends"
    } else {
        "they stay in the inbox but send"
    };
    report(app, format!("Muted {what}: {it} nothing · u to undo"));
}

pub(super) fn dnd(app: &mut App, preset: DndPreset, fx: &mut Vec<Effect>) {
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
