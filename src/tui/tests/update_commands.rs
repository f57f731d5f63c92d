//! User commands: each shows its effect at once, sends one `command` frame with a fresh
//! `req`, and (where it can) is taken back by `u`.

use super::fixtures::*;
use crate::model::{InboxFilter, View};
use crate::sync::protocol::{BulkAction, ClientFrame, Op};
use crate::tui::action::{Action, Key};
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::state::{DndPreset, Focus, Mode, SnoozePreset};
use crate::tui::update::update;

#[test]
fn toggle_read_reads_at_once_sends_mark_read_and_unreads_on_second_press() {
    let mut app = app_with(notes(3));
    assert_eq!(app.replica.unread, 3);
    let fx = update(&mut app, Action::ToggleRead);
    assert_eq!(
        sent(&fx),
        vec![ClientFrame::Command { req: "1".into(), op: Op::MarkRead { ids: vec![id(3)] } }]
    );
    assert!(fx.contains(&Effect::Redraw));
    assert_eq!(app.selected_item().unwrap().state.read_at, Some(now()));
    assert_eq!(app.replica.unread, 2, "the badge drops before the server answers");
    assert_eq!(status(&app), "Marked read · u to undo");

    let fx = update(&mut app, Action::ToggleRead);
    assert_eq!(commands(&fx), vec![("2".into(), Op::MarkUnread { ids: vec![id(3)] })]);
    assert_eq!(app.replica.unread, 3);
}

#[test]
fn archive_removes_the_row_and_selects_the_next_and_undo_brings_it_back_under_the_cursor() {
    let mut app = app_with(notes(3));
    update(&mut app, Action::MoveDown);
    assert_eq!(selected_title(&app), "Notification 2");
    let fx = update(&mut app, Action::Archive);
    assert_eq!(ops(&fx), vec![Op::Archive { ids: vec![id(2)] }]);
    assert_eq!(titles(&app), ["Notification 3", "Notification 1"]);
    assert_eq!(selected_title(&app), "Notification 1", "the selection stays on the same row");
    assert_eq!(status(&app), "Archived · u to undo");

    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::Unarchive { ids: vec![id(2)] }]);
    assert_eq!(titles(&app), ["Notification 3", "Notification 2", "Notification 1"]);
    assert_eq!(selected_title(&app), "Notification 2", "the cursor returns to the restored item");
    assert_eq!(status(&app), "Undone: archived");
}

#[test]
fn undo_takes_back_the_last_action_first_then_says_when_nothing_is_left() {
    let mut app = app_with(notes(2));
    run(&mut app, [Action::ToggleRead, Action::MoveDown, Action::Archive]);
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::Unarchive { ids: vec![id(1)] }]);
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::MarkUnread { ids: vec![id(2)] }]);
    let fx = update(&mut app, Action::Undo);
    assert!(ops(&fx).is_empty());
    assert_eq!(status(&app), "Nothing to undo");
}

fn mark_read_where(filter: InboxFilter, up_to: i64) -> Op {
    Op::Bulk { action: BulkAction::MarkRead, filter, up_to: Some(up_to), until: None }
}

#[test]
fn mark_all_read_asks_first_and_marks_only_what_is_listed() {
    let mut items = notes(4);
    items[0].category = "billing".into();
    items[1].category = "billing".into();
    let mut app = app_with(items);

    update(&mut app, Action::MarkAllRead);
    assert_eq!(app.mode, Mode::ConfirmMarkAllRead);
    let fx = update(&mut app, Action::ConfirmNo);
    assert!(ops(&fx).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.replica.unread, 4);

    app.filter.category = Some("billing".into());
    let fx = run(&mut app, [Action::MarkAllRead, Action::ConfirmYes]);
    let billing =
        InboxFilter { view: View::Unread, category: Some("billing".into()), ..InboxFilter::default() };
    assert_eq!(ops(&fx), vec![mark_read_where(billing, 4)]);
    assert_eq!(app.replica.unread, 2, "system items stay unread");
    assert_eq!(status(&app), "Marked 2 read in billing · u to undo");
    let fx = update(&mut app, Action::Undo);
    assert!(ops(&fx).is_empty(), "the undo waits for the bulk action's id");
    assert_eq!(status(&app), "Undo of marked all read follows when the server answers");
    let fx = update(&mut app, Action::Frame(bulk_ok("1", Some("b1"), 2)));
    assert_eq!(ops(&fx), vec![Op::UndoBulk { bulk: "b1".into() }], "the waiting undo runs on the answer");
    assert_eq!(status(&app), "Undone: marked all read");
    assert_eq!(app.replica.unread, 4, "shown unread at once");

    app.filter.category = None;
    run(&mut app, [Action::StartSearch, Action::SearchInput('3'), Action::SearchCommit]);
    let fx = run(&mut app, [Action::MarkAllRead, Action::ConfirmYes]);
    let search = InboxFilter { view: View::Unread, q: Some("3".into()), ..InboxFilter::default() };
    assert_eq!(ops(&fx), vec![mark_read_where(search, 4)]);
    assert_eq!(app.replica.unread, 3);
    update(&mut app, Action::SearchCancel);
    run(&mut app, [Action::CloseDetail, Action::MarkAllRead, Action::ConfirmYes]);
    assert_eq!(app.replica.unread, 0);
    update(&mut app, Action::MarkAllRead);
    assert_eq!(app.mode, Mode::Normal, "nothing to ask about");
    assert_eq!(status(&app), "Nothing unread here");
}

#[test]
fn a_bulk_action_that_changed_nothing_leaves_nothing_to_undo() {
    let mut app = app_with(notes(2));
    run(&mut app, [Action::MarkAllRead, Action::ConfirmYes]);
    update(&mut app, Action::Frame(bulk_ok("1", None, 0)));
    let fx = update(&mut app, Action::Undo);
    assert!(ops(&fx).is_empty());
    assert_eq!(status(&app), "Nothing to undo");
}

#[test]
fn mark_all_read_waits_for_the_inbox_to_be_in() {
    let mut app = App::new(now());
    update(&mut app, Action::Connected { host: None });
    update(&mut app, Action::Frame(welcome("stream-1", 3, 3, serde_json::json!({}), 1)));
    update(&mut app, Action::Frame(snapshot(&notes(3), 2)[0].clone()));
    update(&mut app, Action::MarkAllRead);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(status(&app), "The inbox is still loading (2 of 3): try again once it is in");
}

fn berlin() -> serde_json::Value {
    serde_json::json!({"quiet_hours": {"enabled": false, "timezone": "Europe/Berlin"}})
}

#[test]
fn snooze_presets_are_clock_times_in_the_users_zone() {
    // Noon UTC on Sunday is 13:00 in Berlin (CET, +01:00).
    for (preset, until) in [
        (SnoozePreset::Hour, "2027-03-14T13:00:00Z"),
        (SnoozePreset::Tonight, "2027-03-14T19:00:00Z"),
        (SnoozePreset::Tomorrow, "2027-03-15T08:00:00Z"),
        (SnoozePreset::NextWeek, "2027-03-15T08:00:00Z"),
    ] {
        let mut app = app_with_prefs(notes(2), berlin());
        update(&mut app, Action::Snooze);
        assert_eq!(app.mode, Mode::SnoozeMenu);
        let fx = update(&mut app, Action::SnoozePick(preset));
        assert_eq!(app.mode, Mode::Normal);
        assert_eq!(ops(&fx), vec![Op::Snooze { ids: vec![id(2)], until: ts(until) }], "{preset:?}");
        assert_eq!(titles(&app), ["Notification 1"], "a snoozed item leaves the list");
    }
}

#[test]
fn tonight_after_eight_means_tomorrow_evening_and_next_week_from_monday_is_a_week_on() {
    let mut app = app_with(notes(1));
    // Monday 15 March, 21:00 UTC.
    update(&mut app, Action::Tick(ts("2027-03-15T21:00:00Z")));
    let fx = run(&mut app, [Action::Snooze, Action::SnoozePick(SnoozePreset::Tonight)]);
    assert_eq!(ops(&fx), vec![Op::Snooze { ids: vec![id(1)], until: ts("2027-03-16T20:00:00Z") }]);
    let mut app = app_with(notes(1));
    update(&mut app, Action::Tick(ts("2027-03-15T07:00:00Z")));
    let fx = run(&mut app, [Action::Snooze, Action::SnoozePick(SnoozePreset::NextWeek)]);
    assert_eq!(ops(&fx), vec![Op::Snooze { ids: vec![id(1)], until: ts("2027-03-22T09:00:00Z") }]);
}

#[test]
fn a_snoozed_item_comes_back_when_its_time_passes() {
    let mut app = app_with(notes(2));
    run(&mut app, [Action::Snooze, Action::SnoozePick(SnoozePreset::Hour)]);
    assert_eq!(titles(&app).len(), 1);
    let fx = update(&mut app, Action::Tick(ts("2027-03-14T13:00:00Z")));
    assert_eq!(titles(&app).len(), 2);
    assert!(fx.contains(&Effect::Redraw));
}

#[test]
fn snooze_with_an_empty_list_explains_instead_of_opening_a_menu() {
    let mut app = app_with(vec![]);
    update(&mut app, Action::Snooze);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(status(&app), "Nothing selected to snooze");
}

#[test]
fn mute_thread_appends_a_rule_to_the_current_prefs_version() {
    let existing =
        serde_json::json!({"name": "Quiet bots", "match": {"actor": "bot"}, "actions": {"mute": true}});
    let mut items = notes(2);
    items[1].thread = Some("repo/api#4711".into());
    let mut app = app_with_prefs(items, serde_json::json!({"rules": [existing.clone()]}));
    app.replica.prefs_version = 7;
    let fx = update(&mut app, Action::MuteThread);
    let expected = serde_json::json!({"rules": [existing, {
        "name": "Mute thread repo/api#4711",
        "match": {"thread": "repo/api#4711"},
        "actions": {"mute": true},
    }]});
    assert_eq!(ops(&fx), vec![Op::PrefsUpdate { version: 7, prefs: expected }]);
    assert_eq!(
        status(&app),
        "Muted thread repo/api#4711: it stays in the inbox but sends nothing · u to undo"
    );
    assert_eq!(titles(&app).len(), 2, "muting keeps the item in the inbox");

    let fx = update(&mut app, Action::MuteThread);
    assert!(ops(&fx).is_empty(), "a second mute adds no second rule");
    assert_eq!(status(&app), "Thread repo/api#4711 is already muted");

    update(&mut app, Action::MoveDown);
    let fx = update(&mut app, Action::MuteThread);
    assert!(ops(&fx).is_empty());
    assert_eq!(status(&app), "This notification has no thread to mute");
}

#[test]
fn dnd_presets_set_or_clear_dnd_until_and_the_header_knows() {
    let mut app = app_with_prefs(notes(1), berlin());
    update(&mut app, Action::DoNotDisturb);
    assert_eq!(app.mode, Mode::DndMenu);
    let fx = update(&mut app, Action::Dnd(DndPreset::Hour));
    let Op::PrefsUpdate { version, prefs } = &ops(&fx)[0] else { panic!("{fx:?}") };
    assert_eq!(*version, 1);
    assert_eq!(prefs["dnd"]["until"], "2027-03-14T13:00:00Z");
    assert_eq!(prefs["quiet_hours"]["timezone"], "Europe/Berlin", "the rest of the prefs is kept");
    assert!(app.quiet().is_some(), "do-not-disturb shows at once");
    assert_eq!(status(&app), "Do not disturb until Sun 14:00");

    let fx = update(&mut app, Action::Dnd(DndPreset::Tomorrow));
    let Op::PrefsUpdate { version, prefs } = &ops(&fx)[0] else { panic!("{fx:?}") };
    assert_eq!(*version, 2, "a second edit follows the first");
    assert_eq!(prefs["dnd"]["until"], "2027-03-15T08:00:00Z");

    let fx = update(&mut app, Action::Dnd(DndPreset::Off));
    let Op::PrefsUpdate { prefs, .. } = &ops(&fx)[0] else { panic!("{fx:?}") };
    assert_eq!(prefs["dnd"]["until"], "");
    assert!(app.quiet().is_none());
    assert_eq!(status(&app), "Do not disturb is off");
}

#[test]
fn open_link_opens_the_url_or_says_there_is_none() {
    let mut items = notes(2);
    items[1].url = Some("https://ci.example/4711".into());
    let mut app = app_with(items);
    let fx = update(&mut app, Action::OpenLink);
    assert!(fx.contains(&Effect::OpenUrl("https://ci.example/4711".into())));
    update(&mut app, Action::MoveDown);
    let fx = update(&mut app, Action::OpenLink);
    assert!(!fx.iter().any(|e| matches!(e, Effect::OpenUrl(_))));
    assert_eq!(status(&app), "This notification has no link");
}

#[test]
fn opening_an_unread_item_reads_it_and_esc_closes_the_detail() {
    let mut app = app_with(notes(2));
    let fx = update(&mut app, Action::OpenDetail);
    assert!(app.detail_open);
    assert_eq!(ops(&fx), vec![Op::MarkRead { ids: vec![id(2)] }, Op::Get { ids: vec![id(2)] }]);
    serve_gets(&mut app, &fx, &notes(2));
    assert_eq!(app.replica.unread, 1);
    assert!(app.undo.is_empty(), "reading by opening is not an undo step");
    let fx = run(&mut app, [Action::CloseDetail, Action::OpenDetail]);
    assert!(ops(&fx).is_empty(), "an item already read is not read again");
    update(&mut app, Action::CloseDetail);
    assert!(!app.detail_open);
    assert_eq!(app.focus, Focus::List);
    // With the detail closed, esc drops a kept search.
    run(&mut app, [Action::StartSearch, Action::SearchInput('1'), Action::SearchCommit]);
    assert_eq!(titles(&app), ["Notification 1"]);
    update(&mut app, Action::CloseDetail);
    assert_eq!(titles(&app).len(), 2);
}

#[test]
fn preferences_and_quit() {
    let mut app = app_with(notes(1));
    update(&mut app, Action::Preferences);
    assert!(app.editor.is_some(), "p opens the preference editor");
    assert_eq!(app.mode, crate::tui::state::Mode::Prefs(crate::tui::state::Tab::Channels));
    update(&mut app, Action::Prefs(crate::tui::action::PrefsAction::Leave));
    assert!(app.editor.is_none(), "nothing changed, so leaving asks nothing");
    let fx = update(&mut app, Action::Quit);
    assert!(fx.contains(&Effect::Quit));
}

#[test]
fn requests_are_numbered_in_the_order_the_user_acted() {
    let mut app = app_with(notes(3));
    let fx = run(&mut app, [Action::ToggleRead, Action::MoveDown, Action::Archive, Action::Undo]);
    let reqs: Vec<String> = commands(&fx).into_iter().map(|(r, _)| r).collect();
    assert_eq!(reqs, ["1", "2", "3"]);
}

/// Items snoozed and archived, for the views.
fn put_away() -> crate::tui::app::App {
    let mut items = notes(4);
    items[0].archived_at = Some(ts("2027-03-14T09:00:00Z"));
    items[1].snoozed_until = Some(ts("2027-03-14T15:00:00Z"));
    items[1].read_at = Some(ts("2027-03-14T08:00:00Z"));
    app_with(items)
}

#[test]
fn the_view_picker_shows_each_part_of_the_inbox() {
    let mut app = put_away();
    assert_eq!(titles(&app), ["Notification 4", "Notification 3"], "Inbox: not archived, not snoozed");
    let cases = [
        ('2', View::Unread, vec!["Notification 4", "Notification 3"]),
        ('3', View::Snoozed, vec!["Notification 2"]),
        ('4', View::Archived, vec!["Notification 1"]),
        ('5', View::All, vec!["Notification 4", "Notification 3", "Notification 2", "Notification 1"]),
        ('1', View::Inbox, vec!["Notification 4", "Notification 3"]),
    ];
    for (key, view, want) in cases {
        press(&mut app, &[Key::Char('V')]);
        assert_eq!(app.mode, Mode::ViewMenu);
        press(&mut app, &[Key::Char(key)]);
        assert_eq!((app.mode, app.filter.view), (Mode::Normal, view));
        assert_eq!(titles(&app), want, "{view:?}");
    }
    // The filter menu steps through them too.
    press(&mut app, &[Key::Char('f'), Key::Char('v'), Key::Char('v'), Key::Esc]);
    assert_eq!(app.filter.view, View::Snoozed);
    assert_eq!(app.replica.unread, 2, "the badge is the same in every view");
}

#[test]
fn in_an_archived_item_a_unarchives_and_undo_archives_it_again() {
    let mut app = put_away();
    update(&mut app, Action::SetView(View::Archived));
    let fx = update(&mut app, Action::Archive);
    assert_eq!(ops(&fx), vec![Op::Unarchive { ids: vec![id(1)] }]);
    assert!(titles(&app).is_empty(), "it left the archive");
    assert_eq!(app.replica.unread, 3, "and counts as unread again");
    assert_eq!(status(&app), "Unarchived · u to undo");
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::Archive { ids: vec![id(1)] }]);
    assert_eq!(titles(&app), ["Notification 1"]);
}

#[test]
fn in_a_snoozed_item_s_offers_unsnooze_now_and_undo_snoozes_it_until_the_same_time() {
    let mut app = put_away();
    update(&mut app, Action::SetView(View::Snoozed));
    update(&mut app, Action::Snooze);
    assert_eq!(app.mode, Mode::UnsnoozeMenu);
    let fx = press(&mut app, &[Key::Char('0')]);
    assert_eq!(ops(&fx), vec![Op::Unsnooze { ids: vec![id(2)] }]);
    assert!(titles(&app).is_empty());
    assert_eq!(app.replica.unread, 2, "it was read before it was snoozed");
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::Snooze { ids: vec![id(2)], until: ts("2027-03-14T15:00:00Z") }]);
    assert_eq!(titles(&app), ["Notification 2"]);
    // Snoozed again until another time, undo goes back to the time before.
    let fx = run(&mut app, [Action::Snooze, Action::SnoozePick(SnoozePreset::Hour)]);
    assert_eq!(ops(&fx), vec![Op::Snooze { ids: vec![id(2)], until: ts("2027-03-14T13:00:00Z") }]);
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::Snooze { ids: vec![id(2)], until: ts("2027-03-14T15:00:00Z") }]);
}

#[test]
fn one_undo_stack_last_first_and_the_cursor_returns_to_the_restored_item() {
    let mut app = app_with(notes(4));
    // Read the newest, move down two, snooze that one, archive the one now under the cursor.
    run(&mut app, [Action::ToggleRead, Action::MoveDown, Action::MoveDown]);
    assert_eq!(selected_title(&app), "Notification 2");
    run(&mut app, [Action::Snooze, Action::SnoozePick(SnoozePreset::Hour)]);
    assert_eq!(selected_title(&app), "Notification 1");
    run(&mut app, [Action::Archive, Action::Top]);
    assert_eq!(selected_title(&app), "Notification 4");

    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::Unarchive { ids: vec![id(1)] }]);
    assert_eq!(selected_title(&app), "Notification 1", "the cursor is on what came back");
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::Unsnooze { ids: vec![id(2)] }]);
    assert_eq!(selected_title(&app), "Notification 2");
    assert_eq!(status(&app), "Undone: snoozed");
    update(&mut app, Action::Bottom);
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::MarkUnread { ids: vec![id(4)] }]);
    assert_eq!(selected_title(&app), "Notification 4");
}

#[test]
fn a_mute_is_undone_in_turn_by_removing_its_rule_from_the_current_prefs() {
    let mut items = notes(2);
    items[1].thread = Some("repo/api#4711".into());
    let mut app = app_with_prefs(items, serde_json::json!({"rules": []}));
    app.replica.prefs_version = 3;
    run(&mut app, [Action::ToggleRead, Action::MuteThread]);
    // The save was taken: the server's version is 4.
    update(&mut app, Action::Frame(ok("2")));
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::PrefsUpdate { version: 4, prefs: serde_json::json!({"rules": []}) }]);
    assert_eq!(status(&app), "Undone: muted thread repo/api#4711");
    let fx = update(&mut app, Action::Undo);
    assert_eq!(ops(&fx), vec![Op::MarkUnread { ids: vec![id(2)] }]);
}
