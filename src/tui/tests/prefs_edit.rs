//! The preference editor's `update`, key by key through the keymap: tabs, rows, switches,
//! choices, text fields validated as typed (with the server's own messages), backing out of
//! a field, the time-zone search, dirty tracking and leaving (the webhook secret: `prefs_secret`).

use super::fixtures::*;
use crate::model::{Channel, Urgency};
use crate::prefs::{DndUntil, EmailFrequency};
use crate::tui::action::{Action, Key};
use crate::tui::app::App;
use crate::tui::prefs::rows::RowId;
use crate::tui::state::{Mode, Tab};
use crate::tui::update::update;

/// Moves the cursor down to `row` on the current tab (or form), from the top.
pub fn goto(app: &mut App, row: RowId) {
    for _ in 0..40 {
        press(app, &[Key::Char('k')]);
    }
    for _ in 0..40 {
        if editor(app).current() == Some(row) {
            return;
        }
        press(app, &[Key::Char('j')]);
    }
    panic!("no row {row:?} on this tab");
}

#[test]
fn p_opens_the_editor_on_the_replicas_preferences_and_number_keys_or_tab_switch_tabs() {
    let mut app =
        editing(serde_json::json!({"channels": {"email": {"enabled": true, "address": "a@example.com"}}}));
    let ed = editor(&app);
    assert_eq!((ed.tab, ed.version, ed.dirty()), (Tab::Channels, 1, false));
    assert_eq!(ed.draft.channels.email.address, "a@example.com");
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    press(&mut app, &[Key::Char('3')]);
    assert_eq!((editor(&app).tab, app.mode), (Tab::Quiet, Mode::Prefs(Tab::Quiet)));
    press(&mut app, &[Key::Tab, Key::Tab]);
    assert_eq!(editor(&app).tab, Tab::Rules);
    press(&mut app, &[Key::Tab]);
    assert_eq!(editor(&app).tab, Tab::Channels, "tab wraps around");
    press(&mut app, &[Key::BackTab]);
    assert_eq!(editor(&app).tab, Tab::Rules);
    press(&mut app, &[Key::Char('2')]);
    assert_eq!(editor(&app).tab, Tab::Events);
}

#[test]
fn space_flips_switches_and_steps_choices_and_each_change_makes_the_draft_dirty() {
    let mut app = editing(serde_json::json!({}));
    goto(&mut app, RowId::Enabled(Channel::Desktop));
    press(&mut app, &[Key::Char(' ')]);
    assert!(!editor(&app).draft.channels.desktop.enabled);
    assert!(editor(&app).dirty());
    press(&mut app, &[Key::Char(' ')]);
    assert!(!editor(&app).dirty(), "back to what it was is not a change");
    goto(&mut app, RowId::MinUrgency(Channel::Desktop));
    press(&mut app, &[Key::Enter]);
    assert_eq!(editor(&app).draft.channels.desktop.min_urgency, Urgency::Low, "urgent wraps to low");
    press(&mut app, &[Key::Enter, Key::Enter]);
    assert_eq!(editor(&app).draft.channels.desktop.min_urgency, Urgency::High);
    goto(&mut app, RowId::EmailFrequency);
    press(&mut app, &[Key::Char(' '), Key::Char(' ')]);
    assert_eq!(editor(&app).draft.channels.email.frequency, EmailFrequency::Daily);
    for ch in [Channel::Email, Channel::Slack, Channel::Webhook, Channel::Push] {
        goto(&mut app, RowId::Enabled(ch));
        press(&mut app, &[Key::Char(' ')]);
        assert!(editor(&app).draft.channels.switch(ch).0, "{ch} on");
        goto(&mut app, RowId::MinUrgency(ch));
        press(&mut app, &[Key::Char(' ')]);
        assert_eq!(editor(&app).draft.channels.switch(ch).1, Urgency::Normal, "{ch} at least normal");
    }
}

#[test]
fn a_text_field_is_checked_as_typed_with_the_servers_message_and_enter_keeps_only_a_good_value() {
    let mut app = editing(serde_json::json!({}));
    goto(&mut app, RowId::EmailAddress);
    press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::PrefsField);
    type_text(&mut app, "alice");
    let error = editor(&app).field.as_ref().unwrap().error.clone();
    assert_eq!(error.as_deref(), Some("`alice` is not an e-mail address"));
    press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::PrefsField, "a bad value is not kept");
    assert_eq!(editor(&app).draft.channels.email.address, "");
    // Keys that are commands elsewhere are text here.
    type_text(&mut app, "@example.com");
    assert_eq!(editor(&app).field.as_ref().unwrap().error, None);
    press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    assert_eq!(editor(&app).draft.channels.email.address, "alice@example.com");

    goto(&mut app, RowId::SlackUrl);
    press(&mut app, &[Key::Enter]);
    type_text(&mut app, "hooks.slack.com/x");
    let error = editor(&app).field.as_ref().unwrap().error.clone().unwrap();
    assert_eq!(error, "`hooks.slack.com/x` must start with https:// or http://");
    press(&mut app, &[Key::Home]);
    type_text(&mut app, "https://");
    assert_eq!(editor(&app).field.as_ref().unwrap().text(), "https://hooks.slack.com/x");
    assert_eq!(editor(&app).field.as_ref().unwrap().error, None);
    press(&mut app, &[Key::Enter]);
    assert_eq!(editor(&app).draft.channels.slack.url, "https://hooks.slack.com/x");

    goto(&mut app, RowId::WebhookUrl);
    press(&mut app, &[Key::Enter]);
    type_text(&mut app, "https:// x");
    assert_eq!(editor(&app).field.as_ref().unwrap().error.as_deref(), Some("`https:// x` has no host"));
}

#[test]
fn esc_backs_out_of_a_field_leaving_the_value_as_it_was() {
    let mut app = editing(serde_json::json!({"channels": {"email": {"address": "a@example.com"}}}));
    goto(&mut app, RowId::EmailAddress);
    press(&mut app, &[Key::Enter]);
    assert_eq!(editor(&app).field.as_ref().unwrap().text(), "a@example.com", "starts from the value");
    press(&mut app, &[Key::Backspace, Key::Backspace, Key::Backspace]);
    type_text(&mut app, "org");
    press(&mut app, &[Key::Esc]);
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    assert_eq!(editor(&app).draft.channels.email.address, "a@example.com");
    assert!(!editor(&app).dirty());
    assert!(app.editor.is_some(), "esc in a field does not leave the editor");
}

#[test]
fn quiet_hours_take_times_and_a_zone_found_by_incremental_search_with_the_system_zone_first() {
    let mut app = app_with_prefs(showcase(), serde_json::json!({}));
    app.system_zone = Some("Europe/Berlin".into());
    update(&mut app, Action::Preferences);
    press(&mut app, &[Key::Char('3')]);
    goto(&mut app, RowId::QuietEnabled);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(
        editor(&app).draft.quiet_hours.timezone,
        "Europe/Berlin",
        "on from the defaults: the system zone"
    );
    goto(&mut app, RowId::QuietStart);
    press(
        &mut app,
        &[Key::Enter, Key::Backspace, Key::Backspace, Key::Backspace, Key::Backspace, Key::Backspace],
    );
    type_text(&mut app, "25:00");
    assert_eq!(
        editor(&app).field.as_ref().unwrap().error.as_deref(),
        Some("`25:00` is not a time of day HH:MM (00:00 to 23:59)")
    );
    press(&mut app, &[Key::Backspace; 5]);
    type_text(&mut app, "21:30");
    press(&mut app, &[Key::Enter]);
    assert_eq!(editor(&app).draft.quiet_hours.start.to_string(), "21:30");

    goto(&mut app, RowId::QuietZone);
    press(&mut app, &[Key::Enter]);
    press(&mut app, &[Key::Backspace; 13]);
    let zones = crate::tui::prefs::values::zones("", Some("Europe/Berlin"), 6);
    assert_eq!(zones[0], "Europe/Berlin", "an empty search offers the system zone first");
    type_text(&mut app, "new_y");
    assert_eq!(editor(&app).field.as_ref().unwrap().error, None, "a search with matches is no error");
    assert_eq!(crate::tui::prefs::values::zones("new_y", None, 6), ["America/New_York"]);
    press(&mut app, &[Key::Enter]);
    assert_eq!(editor(&app).draft.quiet_hours.timezone, "America/New_York", "enter takes the match");

    press(&mut app, &[Key::Enter]);
    press(&mut app, &[Key::Backspace; 16]);
    type_text(&mut app, "Mars/Olympus");
    assert_eq!(
        editor(&app).field.as_ref().unwrap().error.as_deref(),
        Some("`Mars/Olympus` is not an IANA time zone (like Europe/Berlin or America/New_York)")
    );
    press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::PrefsField, "no zone, no match: not kept");
    press(&mut app, &[Key::Backspace; 12]);
    type_text(&mut app, "europe/");
    press(&mut app, &[Key::Down, Key::Down]);
    let third = crate::tui::prefs::values::zones("europe/", Some("Europe/Berlin"), 6)[2].clone();
    press(&mut app, &[Key::Enter]);
    assert_eq!(editor(&app).draft.quiet_hours.timezone, third, "arrows pick among the matches");

    goto(&mut app, RowId::QuietWeekends);
    press(&mut app, &[Key::Char(' ')]);
    assert!(editor(&app).draft.quiet_hours.weekends);
}

#[test]
fn do_not_disturb_steps_through_an_hour_tomorrow_forever_and_off() {
    let mut app = editing(serde_json::json!({}));
    press(&mut app, &[Key::Char('3')]);
    goto(&mut app, RowId::Dnd);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(editor(&app).draft.dnd.until, Some(DndUntil::At(ts("2027-03-14T13:00:00Z"))));
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(editor(&app).draft.dnd.until, Some(DndUntil::At(ts("2027-03-15T09:00:00Z"))));
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(editor(&app).draft.dnd.until, Some(DndUntil::Forever));
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(editor(&app).draft.dnd.until, None);
}

#[test]
fn digest_escalation_urgent_repeat_and_presence_are_all_editable() {
    let mut app = editing(serde_json::json!({}));
    press(&mut app, &[Key::Char('4')]);
    goto(&mut app, RowId::EmailFrequency);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(editor(&app).draft.channels.email.frequency, EmailFrequency::Hourly);
    goto(&mut app, RowId::EscalateAfter);
    press(&mut app, &[Key::Enter, Key::Backspace]);
    type_text(&mut app, "soon");
    assert_eq!(
        editor(&app).field.as_ref().unwrap().error.as_deref(),
        Some("`soon` is not a whole number of minutes")
    );
    press(&mut app, &[Key::Backspace; 4]);
    type_text(&mut app, "30");
    press(&mut app, &[Key::Enter]);
    goto(&mut app, RowId::EscalateVia(Channel::Push));
    press(&mut app, &[Key::Char(' ')]);
    goto(&mut app, RowId::EscalateVia(Channel::Email));
    press(&mut app, &[Key::Char(' ')]);
    let e = &editor(&app).draft.escalation;
    assert_eq!((e.after_minutes, e.channels.clone()), (30, vec![Channel::Email, Channel::Push]));
    goto(&mut app, RowId::RepeatEvery);
    press(&mut app, &[Key::Enter, Key::Backspace, Key::Backspace]);
    type_text(&mut app, "5");
    press(&mut app, &[Key::Enter]);
    goto(&mut app, RowId::ExpireAfter);
    press(&mut app, &[Key::Enter, Key::Backspace, Key::Backspace]);
    type_text(&mut app, "0");
    press(&mut app, &[Key::Enter]);
    assert_eq!(
        (editor(&app).draft.urgent.repeat_every_minutes, editor(&app).draft.urgent.expire_minutes),
        (5, 0)
    );
    goto(&mut app, RowId::SuppressViewing);
    press(&mut app, &[Key::Char(' ')]);
    assert!(!editor(&app).draft.presence.suppress_when_viewing);
}

#[test]
fn leaving_with_unsaved_changes_asks_and_discard_or_stay_do_what_they_say() {
    let mut app = editing(serde_json::json!({}));
    press(&mut app, &[Key::Char(' ')]);
    press(&mut app, &[Key::Esc]);
    assert_eq!(app.mode, Mode::PrefsLeave);
    assert!(app.editor.is_some());
    press(&mut app, &[Key::Esc]);
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels), "esc keeps editing");
    assert!(editor(&app).dirty());
    press(&mut app, &[Key::Char('q'), Key::Char('d')]);
    assert!(app.editor.is_none());
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.replica.parsed_prefs.as_ref().unwrap().channels.desktop.enabled, "nothing was saved");
}

#[test]
fn a_zone_the_user_chose_is_kept_when_quiet_hours_are_switched_on() {
    let mut app = app_with_prefs(showcase(), serde_json::json!({"quiet_hours": {"timezone": "Asia/Tokyo"}}));
    app.system_zone = Some("Europe/Berlin".into());
    update(&mut app, Action::Preferences);
    press(&mut app, &[Key::Char('3')]);
    goto(&mut app, RowId::QuietEnabled);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(editor(&app).draft.quiet_hours.timezone, "Asia/Tokyo");
}

#[test]
fn the_mouse_wheel_moves_the_editors_cursor_not_the_inbox_behind_it() {
    let mut app = editing(serde_json::json!({}));
    let selected = app.selected;
    update(&mut app, Action::MoveDown);
    update(&mut app, Action::MoveDown);
    assert_eq!(editor(&app).row(), 2);
    update(&mut app, Action::MoveUp);
    assert_eq!(editor(&app).row(), 1);
    update(&mut app, Action::Click { column: 30, row: 6 });
    assert_eq!((app.selected, editor(&app).row()), (selected, 1));
}

#[test]
fn a_field_opens_with_its_old_value_selected_so_typing_replaces_it_and_ctrl_u_clears_the_line() {
    let mut app = editing(serde_json::json!({"channels": {"email": {"address": "old@example.com"}}}));
    goto(&mut app, RowId::EmailAddress);
    press(&mut app, &[Key::Enter]);
    type_text(&mut app, "new@example.com");
    assert_eq!(editor(&app).field.as_ref().unwrap().text(), "new@example.com", "replaced, not appended");
    press(&mut app, &[Key::Ctrl('u')]);
    assert_eq!(editor(&app).field.as_ref().unwrap().text(), "");
    press(&mut app, &[Key::Esc]);
    // An arrow key first keeps the old value and edits it.
    press(&mut app, &[Key::Enter, Key::End]);
    type_text(&mut app, "m");
    assert_eq!(editor(&app).field.as_ref().unwrap().text(), "old@example.comm");
}
