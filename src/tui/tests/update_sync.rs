//! The sync side: welcome, changes by seq, results settling optimistic changes, the offline
//! queue, and snapshots.

use super::fixtures::*;
use crate::sync::protocol::{ClientFrame, Op, ServerFrame};
use crate::tui::action::Action;
use crate::tui::app::{App, Connection};
use crate::tui::effect::Effect;
use crate::tui::update::update;

#[test]
fn connecting_says_hello_with_what_the_replica_already_has() {
    let mut app = App::new(now());
    let fx = update(&mut app, Action::Connected { host: None });
    assert_eq!(app.connection, Connection::Embedded);
    assert_eq!(
        sent(&fx),
        vec![ClientFrame::Hello {
            token: None,
            last_seq: 0,
            stream: None,
            client: Some(concat!("campanile-tui/", env!("CARGO_PKG_VERSION")).into()),
            features: vec!["bulk".into(), "snapshot".into()],
        }]
    );
    let mut app = app_with(notes(3));
    update(&mut app, Action::Disconnected { retry_in_secs: Some(1) });
    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    let ClientFrame::Hello { last_seq, stream, .. } = &sent(&fx)[0] else { panic!("{fx:?}") };
    assert_eq!((*last_seq, stream.as_deref()), (3, Some("stream-1")));
}

#[test]
fn a_welcome_from_the_same_stream_keeps_the_inbox_and_a_foreign_one_starts_over() {
    let mut app = app_with(notes(3));
    update(&mut app, Action::Frame(welcome("stream-1", 3, 3, serde_json::json!({}), 1)));
    assert_eq!(titles(&app).len(), 3);
    assert_eq!(app.replica.last_seq, 3);
    update(&mut app, Action::Frame(welcome("stream-2", 1, 1, serde_json::json!({}), 4)));
    assert!(titles(&app).is_empty(), "another store's history replaces ours");
    assert_eq!(app.replica.last_seq, 0, "so the next hello asks for everything");
    assert_eq!(app.replica.stream.as_deref(), Some("stream-2"));
    assert_eq!(app.replica.unread, 1, "the badge is the server's until the replay arrives");
    update(&mut app, Action::Frame(change(1, "notification_created", &note(9, "From the new store"))));
    assert_eq!(titles(&app), ["From the new store"]);
}

#[test]
fn changes_apply_once_in_seq_order_and_old_ones_are_ignored() {
    let mut app = app_with(notes(2));
    let mut renamed = note(2, "Renamed");
    renamed.count = 4;
    update(&mut app, Action::Frame(change(3, "notification_updated", &renamed)));
    assert_eq!(titles(&app)[0], "Renamed");
    assert_eq!(row(&app, 2).count, 4);
    // A replayed older change must not undo the newer one.
    let fx = update(&mut app, Action::Frame(change(2, "notification_created", &note(2, "Old title"))));
    assert_eq!(titles(&app)[0], "Renamed");
    assert!(!fx.contains(&Effect::Redraw));
    assert_eq!(app.replica.last_seq, 3);
}

#[test]
fn prefs_updated_replaces_prefs_and_version() {
    let mut app = app_with(notes(1));
    let prefs = serde_json::json!({"dnd": {"until": "forever"}});
    update(&mut app, Action::Frame(prefs_change(2, prefs.clone(), 5)));
    assert_eq!((app.replica.prefs.clone(), app.replica.prefs_version), (prefs, 5));
    assert!(app.quiet().is_some_and(|q| q.until.is_none()), "do not disturb until turned off");
}

#[test]
fn an_accepted_result_settles_the_command_and_keeps_its_effect() {
    let mut app = app_with(notes(2));
    update(&mut app, Action::ToggleRead);
    assert_eq!(app.replica.pending.len(), 1);
    update(&mut app, Action::Frame(ok("1")));
    assert!(app.replica.pending.is_empty());
    assert!(!app.replica.has_base());
    assert!(row(&app, 2).is_read(), "no flicker before the change comes");
    assert_eq!(app.replica.unread, 1);
}

#[test]
fn a_refused_command_restores_the_item_and_says_why() {
    let mut app = app_with(notes(3));
    update(&mut app, Action::Archive);
    assert_eq!(titles(&app).len(), 2);
    update(&mut app, Action::Frame(refused("1", "not_found", "no such notification 01JD")));
    assert_eq!(titles(&app), ["Notification 3", "Notification 2", "Notification 1"]);
    assert!(!row(&app, 3).is_archived());
    let s = app.status.clone().unwrap();
    assert!(s.error);
    assert_eq!(s.text, "Archiving failed and was undone: no such notification 01JD");
    let fx = update(&mut app, Action::Undo);
    assert!(ops(&fx).is_empty(), "a refused action leaves nothing to undo");
}

#[test]
fn a_refusal_restores_the_servers_copy_including_changes_that_came_meanwhile() {
    let mut app = app_with(notes(2));
    update(&mut app, Action::ToggleRead);
    // Another client renamed it while our mark_read was in flight.
    let renamed = note(2, "Renamed elsewhere");
    update(&mut app, Action::Frame(change(3, "notification_updated", &renamed)));
    let shown = row(&app, 2);
    assert_eq!((&*shown.title, shown.is_read()), ("Renamed elsewhere", true));
    update(&mut app, Action::Frame(refused("1", "internal", "the store failed")));
    let mut symbols = crate::tui::row::Symbols::default();
    assert_eq!(row(&app, 2), crate::tui::row::Row::new(renamed, &mut symbols));
    assert_eq!(app.replica.unread, 2);
}

#[test]
fn a_prefs_conflict_shows_the_servers_prefs() {
    let mut items = notes(1);
    items[0].thread = Some("t".into());
    let mut app = app_with(items);
    update(&mut app, Action::MuteThread);
    assert_eq!(app.replica.prefs["rules"].as_array().map(Vec::len), Some(1));
    let theirs = serde_json::json!({"dnd": {"until": "forever"}});
    let frame = ServerFrame::Result {
        req: "1".into(),
        ok: false,
        error: Some(crate::sync::protocol::ErrorBody {
            code: "conflict".into(),
            message: "you edited version 1".into(),
            field: None,
        }),
        prefs: Some(theirs.clone()),
        prefs_version: Some(3),
        bulk: None,
        count: None,
        notifications: None,
    };
    update(&mut app, Action::Frame(frame));
    assert_eq!((app.replica.prefs.clone(), app.replica.prefs_version), (theirs, 3));
    assert_eq!(
        status(&app),
        "Saving preferences failed: they changed elsewhere; now showing version 3, try again"
    );
    // Any other refusal puts back what we had.
    update(&mut app, Action::MuteThread);
    update(&mut app, Action::Frame(refused("2", "invalid", "bad rule")));
    assert_eq!(app.replica.prefs_version, 3);
    assert!(app.replica.prefs.get("rules").is_none());
}

#[test]
fn offline_actions_are_queued_shown_and_sent_in_order_on_reconnect() {
    let mut app = app_with(notes(3));
    update(&mut app, Action::Disconnected { retry_in_secs: Some(5) });
    assert_eq!(app.connection, Connection::Reconnecting { in_secs: 5 });
    let fx = run(&mut app, [Action::ToggleRead, Action::MoveDown, Action::Archive]);
    assert!(sent(&fx).is_empty(), "nothing goes out while the connection is down");
    assert_eq!(titles(&app), ["Notification 3", "Notification 1"], "but the user sees the effect");
    assert_eq!(status(&app), "Archived · u to undo (offline: 2 queued)");

    let fx = update(&mut app, Action::Tick(ts("2027-03-14T12:00:02Z")));
    assert_eq!(app.connection, Connection::Reconnecting { in_secs: 3 });
    assert!(fx.contains(&Effect::Redraw), "the countdown moved");

    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    let frames = sent(&fx);
    assert!(matches!(frames[0], ClientFrame::Hello { last_seq: 3, .. }), "hello first");
    assert_eq!(
        commands(&fx),
        vec![("1".into(), Op::MarkRead { ids: vec![id(3)] }), ("2".into(), Op::Archive { ids: vec![id(2)] })]
    );
    assert_eq!(status(&app), "Back online: sent 2 queued actions");
    update(&mut app, Action::Frame(ok("1")));
    update(&mut app, Action::Frame(ok("2")));
    assert!(app.replica.pending.is_empty());
}

#[test]
fn commands_in_flight_when_the_connection_drops_are_sent_again() {
    let mut app = app_with(notes(1));
    let fx = update(&mut app, Action::ToggleRead);
    assert_eq!(commands(&fx).len(), 1);
    update(&mut app, Action::Disconnected { retry_in_secs: None });
    assert_eq!(app.connection, Connection::Offline);
    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    assert_eq!(commands(&fx), vec![("1".into(), Op::MarkRead { ids: vec![id(1)] })]);
}

#[test]
fn snapshot_required_reconnects_with_no_history_and_the_snapshot_fills_the_inbox() {
    let mut app = app_with(notes(2));
    update(&mut app, Action::Frame(welcome("stream-1", 9, 4, serde_json::json!({}), 1)));
    let fx = update(&mut app, Action::Frame(ServerFrame::SnapshotRequired { seq: None }));
    assert!(fx.contains(&Effect::Reconnect));
    assert!(titles(&app).is_empty());
    assert!(app.loading());
    // What the old connection still sends is not part of the new history.
    let fx = update(&mut app, Action::Frame(change(10, "notification_created", &note(10, "Live"))));
    assert!(titles(&app).is_empty() && !fx.contains(&Effect::Redraw));
    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    let ClientFrame::Hello { last_seq, .. } = &sent(&fx)[0] else { panic!("{fx:?}") };
    assert_eq!(*last_seq, 0, "asks for everything");
    update(&mut app, Action::Frame(welcome("stream-1", 10, 3, serde_json::json!({}), 1)));
    let mut read = note(9, "Nine");
    read.read_at = Some(now());
    let pages = snapshot(&[note(10, "Live"), note(7, "Seven"), note(8, "Eight"), read], 2);
    update(&mut app, Action::Frame(pages[0].clone()));
    assert_eq!(app.replica.unread, 3, "the server's count while the pages come");
    update(&mut app, Action::Frame(pages[1].clone()));
    assert_eq!(titles(&app), ["Live", "Nine", "Eight", "Seven"]);
    assert_eq!(app.replica.unread, 3);
    assert_eq!(app.replica.last_seq, 10);
    assert!(!app.loading());
}

#[test]
fn a_server_error_frame_is_shown() {
    let mut app = app_with(notes(1));
    let error =
        crate::sync::protocol::ErrorBody { code: "malformed".into(), message: "bad".into(), field: None };
    update(&mut app, Action::Frame(ServerFrame::Error { error }));
    assert_eq!(status(&app), "The server could not take a frame: bad");
}

/// A client with no history: the header says it is loading from the first frame, the list
/// fills newest first with the selection on the top row, and the badge is the server's until
/// the last page.
#[test]
fn snapshot_pages_fill_the_list_newest_first_without_moving_the_selection() {
    let mut app = App::new(now());
    assert!(app.loading(), "before the welcome");
    update(&mut app, Action::Connected { host: None });
    let items = notes(5);
    update(&mut app, Action::Frame(welcome("stream-1", 5, 5, serde_json::json!({}), 1)));
    assert_eq!(app.replica.loading, Some(crate::tui::replica::Loading::Waiting));
    let pages = snapshot(&items, 2);
    update(&mut app, Action::Frame(pages[0].clone()));
    assert_eq!(titles(&app), ["Notification 5", "Notification 4"]);
    assert_eq!(selected_title(&app), "Notification 5");
    assert_eq!(app.replica.loading.and_then(|l| l.progress()), Some((2, 5)));
    // Usable already: the user moves down, and the next pages do not move the selection.
    update(&mut app, Action::MoveDown);
    update(&mut app, Action::Frame(pages[1].clone()));
    assert_eq!(selected_title(&app), "Notification 4");
    assert_eq!(app.replica.unread, 5, "the server's count while loading");
    update(&mut app, Action::Frame(pages[2].clone()));
    assert_eq!(titles(&app).len(), 5);
    assert_eq!(selected_title(&app), "Notification 4");
    assert!(!app.loading());
    assert_eq!(app.replica.last_seq, 5);
    // The changes after the welcome's seq follow on.
    update(&mut app, Action::Frame(change(6, "notification_created", &note(6, "Six"))));
    assert_eq!(titles(&app)[0], "Six");
}

/// A bulk action's compact change sets one field of each listed item the replica has, under
/// whatever the user's own pending commands show.
#[test]
fn notifications_updated_sets_a_field_of_many_items() {
    let mut app = app_with(notes(4));
    update(&mut app, Action::ToggleRead);
    let ids = [id(1), id(2), id(3), id(4), id(99)];
    let at = ts("2027-03-14T11:59:00Z");
    update(&mut app, Action::Frame(set_many(5, &ids[1..], "archived_at", Some(at))));
    assert_eq!(titles(&app), ["Notification 1"]);
    assert_eq!(app.replica.unread, 1);
    update(&mut app, Action::Frame(set_many(6, &ids, "archived_at", None)));
    assert_eq!(titles(&app).len(), 4);
    assert!(row(&app, 4).is_read(), "our own mark-read still shows");
    update(&mut app, Action::Frame(refused("1", "internal", "no")));
    assert!(!row(&app, 4).is_read());
    assert_eq!(app.replica.unread, 4);
    update(
        &mut app,
        Action::Frame(set_many(7, &ids[..2], "snoozed_until", Some(ts("2027-03-14T13:00:00Z")))),
    );
    assert_eq!(app.replica.unread, 2, "snoozed items are not unread");
    update(&mut app, Action::Tick(ts("2027-03-14T13:00:00Z")));
    assert_eq!(app.replica.unread, 4, "until they wake");
}

/// Opening an item fetches what the replica does not keep; the detail says so until then.
#[test]
fn opening_an_item_fetches_its_detail_once() {
    let mut app = app_with(showcase());
    let fx = run(&mut app, [Action::OpenDetail, Action::OpenDetail]);
    let asked = commands(&fx);
    assert_eq!(asked.len(), 2, "read, then get: {asked:?}");
    assert_eq!(asked[1].1, Op::Get { ids: vec![id(5)] });
    assert!(app.details.get(&id(5)).is_none());
    let mut full = showcase().pop().unwrap();
    full.read_at = Some(now());
    let mut answer = ok(&asked[1].0);
    if let ServerFrame::Result { notifications, .. } = &mut answer {
        *notifications = Some(vec![full.clone()]);
    }
    update(&mut app, Action::Frame(answer));
    assert_eq!(app.details.get(&id(5)).map(|d| d.deliveries.len()), Some(3));
    // Moving away and back asks for the other one only.
    let fx = run(&mut app, [Action::MoveDown]);
    let asked = commands(&fx);
    assert_eq!(
        asked.iter().map(|(_, op)| op.clone()).collect::<Vec<_>>(),
        vec![Op::Get { ids: vec![id(4)] }]
    );
    let fx = run(&mut app, [Action::MoveUp]);
    assert!(ops(&fx).is_empty(), "5 is kept");
    update(&mut app, Action::MoveDown);
    update(&mut app, Action::Frame(refused(&asked[0].0, "not_found", "no such notification")));
    assert_eq!(
        app.details.failed.as_ref().map(|(i, w)| (i.to_string(), w.as_str())),
        Some((id(4), "no such notification"))
    );
    assert!(ops(&update(&mut app, Action::MoveUp)).is_empty(), "a refusal is not asked again");
}

/// A server without snapshots replays its log, oldest first: the header says how far, the
/// selection stays on the top row, and the result equals the snapshot's.
#[test]
fn an_older_servers_replay_keeps_the_selection_on_top_and_ends_like_a_snapshot() {
    let mut app = App::new(now());
    update(&mut app, Action::Connected { host: None });
    update(&mut app, Action::Frame(welcome("stream-1", 3, 3, serde_json::json!({}), 1)));
    update(&mut app, Action::Frame(change(1, "notification_created", &note(1, "One"))));
    assert_eq!(app.replica.loading.and_then(|l| l.progress()), Some((1, 3)));
    update(&mut app, Action::Frame(change(2, "notification_created", &note(2, "Two"))));
    assert_eq!(selected_title(&app), "Two", "the newest, not the first that came");
    update(&mut app, Action::Frame(change(3, "notification_created", &note(3, "Three"))));
    assert!(!app.loading());
    assert_eq!(selected_title(&app), "Three");
    let replayed = app_replayed(notes(6));
    let snapshot = app_with(notes(6));
    assert_eq!(replayed.replica.items(), snapshot.replica.items());
    assert_eq!((replayed.replica.last_seq, replayed.replica.unread), (6, 6));
}

#[test]
fn a_refused_token_stops_the_countdown_and_ctrl_r_retries_now() {
    let mut app = app_with(notes(1));
    let reason = "127.0.0.1:1 refused the token (401 Unauthorized): give a valid one with --token";
    update(&mut app, Action::Refused { reason: reason.into() });
    assert_eq!(app.connection, crate::tui::app::Connection::Refused);
    assert_eq!(app.retry_at, None, "nothing counts down");
    assert_eq!(status(&app), reason);
    let key = crate::tui::action::key_to_action(app.mode, crate::tui::action::Key::Ctrl('r')).unwrap();
    let fx = update(&mut app, key);
    assert!(fx.contains(&Effect::Reconnect), "{fx:?}");
    assert_eq!(status(&app), "Reconnecting now");
}
