//! The sync side of `update`: the connection coming and going, the server's frames, and the
//! clock. Follows DESIGN §6 with this client's additions. `hello` carries the replica's
//! resume cursor (the only one: the client actor just forwards it) and says that this client
//! takes `snapshot` pages and bulk changes. A client with no history gets its inbox as
//! snapshot pages, newest first, and then the changes after the welcome's seq (an older
//! server replays its log instead); changes apply once each in `seq` order, a bulk action's
//! compact change sets one field of many items, a foreign history or `snapshot_required`
//! means starting over on a new connection, and every command is answered by a `result`
//! that settles its optimistic change. Pure like the rest of `update`.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::{detail, inbox};
use crate::model::{ItemState, Notification};
use crate::sync::protocol::{ClientFrame, ErrorBody, FEATURE_BULK, FEATURE_SNAPSHOT, Op, ServerFrame};
use crate::tui::app::{App, Connection};
use crate::tui::effect::Effect;
use crate::tui::replica::Loading;
use crate::tui::row::Detail;

const CLIENT: &str = concat!("campanile-tui/", env!("CARGO_PKG_VERSION"));

/// The transport is up: say hello with what we already have, then send every command the
/// user gave while it was down (and any that were in flight when it dropped: commands are
/// idempotent, so a second delivery changes nothing).
pub(super) fn connected(app: &mut App, host: Option<String>, fx: &mut Vec<Effect>) -> bool {
    app.connection = host.map_or(Connection::Embedded, |host| Connection::Connected { host });
    app.retry_at = None;
    detail::forget_asked(app);
    let r = &mut app.replica;
    r.resyncing = false;
    fx.push(Effect::Send(ClientFrame::Hello {
        token: None,
        last_seq: r.last_seq,
        stream: r.stream.clone(),
        client: Some(CLIENT.to_string()),
        features: vec![FEATURE_BULK.to_string(), FEATURE_SNAPSHOT.to_string()],
    }));
    let mut resent = 0;
    for (req, p) in &mut r.pending {
        p.sent = true;
        resent += 1;
        fx.push(Effect::Send(ClientFrame::Command { req: req.to_string(), op: p.op.clone() }));
    }
    if resent > 0 {
        app.say(format!("Back online: sent {resent} queued action{}", if resent == 1 { "" } else { "s" }));
    }
    true
}

pub(super) fn disconnected(app: &mut App, retry_in_secs: Option<u64>) -> bool {
    for p in app.replica.pending.values_mut() {
        p.sent = false;
    }
    detail::forget_asked(app);
    match retry_in_secs {
        Some(secs) => {
            app.connection = Connection::Reconnecting { in_secs: secs };
            let wait = SignedDuration::from_secs(i64::try_from(secs).unwrap_or(i64::MAX));
            app.retry_at = app.now.checked_add(wait).ok();
        }
        None => {
            app.connection = Connection::Offline;
            app.retry_at = None;
        }
    }
    app.say("Connection lost: what you do is queued until it is back · ctrl-r retries now");
    true
}

/// The server refused the token: nothing will connect until the user fixes it, so the
/// header says so instead of counting down and the status line says how (what was queued
/// stays queued).
pub(super) fn token_refused(app: &mut App, reason: String) -> bool {
    for p in app.replica.pending.values_mut() {
        p.sent = false;
    }
    detail::forget_asked(app);
    app.connection = Connection::Refused;
    app.retry_at = None;
    app.warn(reason);
    true
}

/// Time passed. Redraws only when something on screen depends on it: the reconnect
/// countdown, ages (shown in whole minutes) or a snooze running out.
pub(super) fn tick(app: &mut App, now: Timestamp) -> bool {
    let minute = |t: Timestamp| t.as_second().div_euclid(60);
    let listed_before = app.listed_len();
    let new_minute = minute(now) != minute(app.now);
    app.now = now;
    app.refocus();
    // A snooze that ran out changes the badge too.
    app.replica.recount();
    let mut changed = new_minute || app.listed_len() != listed_before;
    if let (Connection::Reconnecting { in_secs }, Some(at)) = (&mut app.connection, app.retry_at) {
        // Rounded up: "reconnecting in 0s" only once it is due.
        let d = now.duration_until(at);
        let left = u64::try_from(d.as_secs() + i64::from(d.subsec_nanos() > 0)).unwrap_or(0);
        changed |= left != *in_secs;
        *in_secs = left;
    }
    changed
}

pub(super) fn frame(app: &mut App, frame: ServerFrame, fx: &mut Vec<Effect>) -> bool {
    match frame {
        ServerFrame::Welcome { user, stream, seq, unread, prefs, prefs_version, required } => {
            let r = &mut app.replica;
            if r.stream.as_ref().is_some_and(|s| *s != stream) {
                r.reset();
                app.undo.clear();
                app.details.clear();
                app.say("The server's history is not the one we had: starting over");
            }
            let r = &mut app.replica;
            // With no history, the whole inbox comes next (as snapshot pages, or replayed by
            // an older server); until it is in, the badge is the server's and the header
            // says it is loading.
            if r.last_seq == 0 {
                r.loading = (seq > 0).then_some(Loading::Waiting);
            }
            r.stream = Some(stream);
            r.user = Some(user);
            r.server_seq = seq;
            r.unread = unread;
            r.set_prefs(prefs, prefs_version);
            r.set_required(required.as_ref());
            // A resumed replica is complete: its own count (with our pending commands over
            // it) is the badge.
            r.recount();
            if let Some(ed) = app.editor.as_mut() {
                ed.required = app.replica.required.clone();
            }
            true
        }
        ServerFrame::SnapshotRequired { .. } => {
            resync(app, fx);
            true
        }
        ServerFrame::Snapshot { items, loaded, total, done } => {
            if app.replica.resyncing {
                return false;
            }
            app.replica.snapshot_page(items, loaded, total, done);
            true
        }
        ServerFrame::Change { seq, kind, payload } => {
            let r = &mut app.replica;
            if r.resyncing || seq <= r.last_seq {
                return false;
            }
            r.last_seq = seq;
            apply_change(app, seq, &kind, payload, fx);
            let r = &mut app.replica;
            if matches!(r.loading, Some(Loading::Waiting | Loading::Replay { .. })) {
                r.loading = (seq < r.server_seq).then_some(Loading::Replay { seq, head: r.server_seq });
            }
            // During a first replay the count waits for its end: one count, not one per item.
            r.recount();
            true
        }
        ServerFrame::Result { req, ok, error, prefs, prefs_version, bulk, notifications, .. } => {
            if super::pipe::answered(app, &req, ok, error.as_ref(), notifications.as_deref(), fx) {
                return true;
            }
            if detail::answered(app, &req, ok, error.clone(), notifications) {
                return true;
            }
            let Ok(req) = req.parse::<u64>() else { return false };
            let Some(done) = app.replica.settle(req, ok) else { return false };
            if !ok {
                app.undo.retain(|u| u.req != req);
                refused(app, &done.op, error, prefs.zip(prefs_version));
            } else if matches!(done.op, Op::Bulk { .. }) {
                inbox::bulk_answered(app, req, bulk, fx);
            }
            true
        }
        ServerFrame::Error { error } => {
            app.warn(format!("The server could not take a frame: {}", error.message));
            true
        }
        ServerFrame::Pong => false,
    }
}

/// Our history is not the server's: forget it and connect anew with none, which gets the
/// whole inbox as snapshot pages. What the old connection still sends is ignored.
fn resync(app: &mut App, fx: &mut Vec<Effect>) {
    let r = &mut app.replica;
    r.reset();
    // Loading from now until the new connection's snapshot is in.
    r.loading = Some(Loading::Waiting);
    r.resyncing = true;
    fx.push(Effect::Reconnect);
    app.say("Reloading the inbox from the server");
}

/// A bulk action's compact change: `{"ids": [...], "set": {field: instant or null}}`.
#[derive(serde::Deserialize)]
struct SetMany {
    ids: Vec<String>,
    set: BTreeMap<String, Option<Timestamp>>,
}

fn apply_change(
    app: &mut App,
    seq: i64,
    kind: &str,
    mut payload: serde_json::Map<String, serde_json::Value>,
    fx: &mut Vec<Effect>,
) {
    match kind {
        "notification_created" | "notification_updated" => {
            let parsed =
                payload.remove("notification").map(serde_json::from_value::<Notification>).transpose();
            match parsed {
                Ok(Some(mut n)) => {
                    let detail = Detail::take(&mut n);
                    app.details.refresh(&n.id, detail);
                    app.replica.confirm(n);
                }
                Ok(None) => app.warn(format!("Change {seq} carried no notification")),
                Err(e) => app.warn(format!("Change {seq} is unreadable: {e}")),
            }
        }
        "notifications_updated" => {
            match serde_json::from_value::<SetMany>(serde_json::Value::Object(payload)) {
                Ok(change) => {
                    for (field, value) in change.set {
                        let set: fn(&mut ItemState, Option<Timestamp>) = match field.as_str() {
                            "read_at" => |s, v| s.read_at = v,
                            "archived_at" => |s, v| s.archived_at = v,
                            "snoozed_until" => |s, v| s.snoozed_until = v,
                            // A field from a newer server: nothing this client shows.
                            _ => continue,
                        };
                        app.replica.set_states(&change.ids, |s| set(s, value));
                    }
                }
                Err(e) => app.warn(format!("Change {seq} is unreadable: {e}")),
            }
        }
        "prefs_updated" => {
            let version = payload.get("prefs_version").and_then(serde_json::Value::as_i64);
            if let (Some(prefs), Some(version)) = (payload.remove("prefs"), version) {
                app.replica.set_prefs(prefs, version);
            }
        }
        "snapshot_required" => resync(app, fx),
        // A kind from a newer server: nothing this client shows depends on it.
        _ => {}
    }
}

fn refused(app: &mut App, op: &Op, error: Option<ErrorBody>, current: Option<(serde_json::Value, i64)>) {
    let what = match op {
        Op::MarkRead { .. } | Op::MarkAllRead { .. } => "Marking read",
        Op::MarkUnread { .. } => "Marking unread",
        Op::Archive { .. } => "Archiving",
        Op::Unarchive { .. } => "Unarchiving",
        Op::Snooze { .. } => "Snoozing",
        Op::Unsnooze { .. } => "Unsnoozing",
        Op::Bulk { .. } => "The action on the whole list",
        Op::UndoBulk { .. } => "Undoing",
        Op::Get { .. } => "Fetching the item",
        Op::PrefsUpdate { .. } => "Saving preferences",
    };
    let (code, message) =
        error.map_or_else(|| (String::new(), "refused".to_string()), |e| (e.code, e.message));
    if code == "conflict"
        && let Some((prefs, version)) = current
    {
        app.replica.set_prefs(prefs, version);
        app.warn(format!("{what} failed: they changed elsewhere; now showing version {version}, try again"));
    } else {
        app.warn(format!("{what} failed and was undone: {message}"));
    }
}
