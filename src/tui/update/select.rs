//! Multi-select: `space` picks the item under the cursor (and steps down), `*` picks
//! everything the list shows (or, with a selection, clears it), `esc` clears it; `r`, `a`,
//! `s` and `m` then act on every picked item. A selection made by `*` and left alone goes to
//! the server as one `bulk` command on the filter it was made with, up to the change the user
//! had seen, however many items; one picked by hand goes as the per-item commands, at most
//! [`CHUNK`] ids each. Either way the action is one step of the undo stack that brings every
//! item back as it was. Pure.

use jiff::Timestamp;

use crate::sync::protocol::{BulkAction, Op};
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::presets;
use crate::tui::replica::Edit;
use crate::tui::row::Id;
use crate::tui::state::{Mode, SnoozePreset};
use crate::tui::words::thousands;

use super::inbox::{bulk_blocked, local, mute_threads, remember, report, start, start_op};

/// The most ids one command may name (the server refuses more: `store::MAX_IDS`).
pub(crate) const CHUNK: usize = 1000;

/// `space`: picks the item under the cursor, or drops it, and moves to the next.
pub(super) fn toggle(app: &mut App) {
    let Some(id) = app.selected_item().map(|r| Id::clone(&r.id)) else { return };
    // A selection changed by hand is no longer "what the filter showed".
    app.marked_all = None;
    if !app.marked.remove(&id) {
        app.marked.insert(id);
    }
    app.selected = (app.selected + 1).min(app.listed_len().saturating_sub(1));
    app.detail_scroll = 0;
    say_count(app);
}

/// `*`: picks everything the list shows (view, filter and search), or clears a selection.
pub(super) fn all(app: &mut App) {
    if !app.marked.is_empty() {
        app.clear_marks();
        app.say("Selection cleared");
        return;
    }
    if let Some(why) = bulk_blocked(app) {
        app.say(why);
        return;
    }
    app.marked = app.listed_from(0).map(|r| Id::clone(&r.id)).collect();
    if app.marked.is_empty() {
        app.say("Nothing listed to select");
        return;
    }
    // The server's filter cannot name a thread: in one, the ids go.
    if app.thread.is_none() {
        app.marked_all = Some((app.inbox_filter(), app.replica.last_seq));
    }
    say_count(app);
}

fn say_count(app: &mut App) {
    if app.marked.is_empty() {
        app.say("Nothing selected");
    } else {
        app.say(format!("{} selected · r a s m act on them, esc clears", thousands(app.marked.len() as u64)));
    }
}

/// What the picked items look like now (the ones still in the inbox), in id order.
struct Picked {
    id: Id,
    read: bool,
    archived: bool,
    snoozed: Option<Timestamp>,
    thread: Option<String>,
}

fn picked(app: &App) -> Vec<Picked> {
    app.marked
        .iter()
        .filter_map(|id| app.replica.get(id))
        .map(|r| Picked {
            id: Id::clone(&r.id),
            read: r.is_read(),
            archived: r.is_archived(),
            snoozed: r.snoozed_at(app.now),
            thread: r.thread.as_deref().map(str::to_string),
        })
        .collect()
}

/// The per-item op of a bulk action.
fn op_on(action: BulkAction, until: Option<Timestamp>, ids: Vec<String>) -> Option<Op> {
    Some(match action {
        BulkAction::MarkRead => Op::MarkRead { ids },
        BulkAction::MarkUnread => Op::MarkUnread { ids },
        BulkAction::Archive => Op::Archive { ids },
        BulkAction::Unarchive => Op::Unarchive { ids },
        BulkAction::Snooze => Op::Snooze { ids, until: until? },
        BulkAction::Unsnooze => Op::Unsnooze { ids },
    })
}

/// `action` on `ids`, as commands of at most [`CHUNK`] ids.
fn chunked(action: BulkAction, until: Option<Timestamp>, ids: &[Id]) -> Vec<Op> {
    ids.chunks(CHUNK)
        .filter_map(|c| op_on(action, until, c.iter().map(|i| i.to_string()).collect()))
        .collect()
}

/// Does `action` to the picked items `changed` (sorted) and remembers `back` (the ops that
/// undo it, item by item) as one undo step; then the selection is done with.
fn act(
    app: &mut App,
    (action, until): (BulkAction, Option<Timestamp>),
    changed: Vec<Id>,
    back: Vec<Op>,
    (done, then): (&str, &str),
    fx: &mut Vec<Effect>,
) {
    let count = changed.len();
    if let Some((filter, up_to)) = app.marked_all.clone() {
        // Everything the filter showed: one command, undone by the server's bulk id.
        let op = Op::Bulk { action, filter, up_to: Some(up_to), until };
        let edit = Edit::of(&op);
        let req = start(app, op, edit, changed.clone(), None, fx);
        let undo_edit = back.first().and_then(Edit::of);
        remember(app, req, None, undo_edit, changed, &format!("{done} {count} selected"));
    } else {
        let mut first = None;
        for op in chunked(action, until, &changed) {
            let req = start_op(app, op, fx);
            first.get_or_insert(req);
        }
        let Some(req) = first else { return };
        let mut back = back.into_iter();
        let Some(inverse) = back.next() else { return };
        let edit = Edit::of(&inverse);
        remember(app, req, Some(inverse), edit, changed, &format!("{done} {count} selected"));
        if let Some(entry) = app.undo.last_mut() {
            entry.also = back.collect();
        }
    }
    app.clear_marks();
    let done = format!("{}{}", done[..1].to_uppercase(), &done[1..]);
    report(app, format!("{done} {}{then} · u to undo", thousands(count as u64)));
}

fn ids(p: &[Picked], keep: impl Fn(&Picked) -> bool) -> Vec<Id> {
    p.iter().filter(|p| keep(p)).map(|p| Id::clone(&p.id)).collect()
}

/// `r` on a selection: reads what is unread of it, or, when all of it is read, unreads it.
pub(super) fn read(app: &mut App, fx: &mut Vec<Effect>) {
    let p = picked(app);
    let unread = ids(&p, |p| !p.read);
    if !unread.is_empty() {
        let back = chunked(BulkAction::MarkUnread, None, &unread);
        act(app, (BulkAction::MarkRead, None), unread, back, ("marked read", ""), fx);
    } else {
        let read = ids(&p, |_| true);
        let back = chunked(BulkAction::MarkRead, None, &read);
        act(app, (BulkAction::MarkUnread, None), read, back, ("marked unread", ""), fx);
    }
}

/// `a` on a selection: archives what is not archived, or, when all of it is, brings it back.
pub(super) fn archive(app: &mut App, fx: &mut Vec<Effect>) {
    let p = picked(app);
    let awake = ids(&p, |p| !p.archived);
    if !awake.is_empty() {
        let back = chunked(BulkAction::Unarchive, None, &awake);
        act(app, (BulkAction::Archive, None), awake, back, ("archived", ""), fx);
    } else {
        let archived = ids(&p, |_| true);
        let back = chunked(BulkAction::Archive, None, &archived);
        act(app, (BulkAction::Unarchive, None), archived, back, ("unarchived", ""), fx);
    }
}

/// The ops that put back each item's snooze as it was before (`None`: not snoozed).
fn snoozes_back(p: &[Picked]) -> Vec<Op> {
    let mut back = chunked(BulkAction::Unsnooze, None, &ids(p, |p| p.snoozed.is_none()));
    let mut times: Vec<Timestamp> = p.iter().filter_map(|p| p.snoozed).collect();
    times.sort();
    times.dedup();
    for t in times {
        back.extend(chunked(BulkAction::Snooze, Some(t), &ids(p, |p| p.snoozed == Some(t))));
    }
    back
}

pub(super) fn snooze(app: &mut App, preset: SnoozePreset, fx: &mut Vec<Effect>) {
    app.mode = Mode::Normal;
    let tz = app.replica.zone();
    let until = presets::snooze_until(preset, app.now, &tz);
    let p = picked(app);
    let back = snoozes_back(&p);
    let then = format!(" until {}", local(until, &tz).strftime("%a %H:%M"));
    act(app, (BulkAction::Snooze, Some(until)), ids(&p, |_| true), back, ("snoozed", &then), fx);
}

pub(super) fn unsnooze(app: &mut App, fx: &mut Vec<Effect>) {
    app.mode = Mode::Normal;
    let p: Vec<Picked> = picked(app).into_iter().filter(|p| p.snoozed.is_some()).collect();
    if p.is_empty() {
        app.say("None of the selected notifications is snoozed");
        return;
    }
    let back = snoozes_back(&p);
    act(app, (BulkAction::Unsnooze, None), ids(&p, |_| true), back, ("unsnoozed", ""), fx);
}

/// `m` on a selection: mutes every thread of it, with one save.
pub(super) fn mute(app: &mut App, fx: &mut Vec<Effect>) {
    let mut threads: Vec<String> = picked(app).into_iter().filter_map(|p| p.thread).collect();
    threads.sort();
    threads.dedup();
    if threads.is_empty() {
        app.say("None of the selected notifications has a thread to mute");
    } else {
        mute_threads(app, threads, fx);
    }
}

/// `s` on a selection: the snooze menu, with "unsnooze now" when all of it is snoozed.
pub(super) fn snooze_menu(app: &mut App) {
    let p = picked(app);
    let all_snoozed = !p.is_empty() && p.iter().all(|p| p.snoozed.is_some());
    app.mode = if all_snoozed { Mode::UnsnoozeMenu } else { Mode::SnoozeMenu };
}
