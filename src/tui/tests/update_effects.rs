//! What `update` decides for the shell to carry out, on plain values: what the server is
//! told about presence (on a change, as a heartbeat by the `Tick` clock, never while the
//! connection is down) and which desktop popups go up (live changes only, once; a local
//! client only warns, once), and what `e` hands the pager.

use jiff::SignedDuration;

use super::fixtures::*;
use crate::engine::PresenceState::{self, Active, Idle};
use crate::model::{Channel, Notification};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::update::update;

fn presence(fx: &[Effect]) -> Vec<(PresenceState, Option<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::ReportPresence { state, viewing } => Some((*state, viewing.clone())),
            _ => None,
        })
        .collect()
}

fn after(secs: i64) -> Action {
    Action::Tick(now() + SignedDuration::from_secs(secs))
}

#[test]
fn presence_is_said_on_connect_on_change_and_as_a_heartbeat_while_active() {
    let mut app = App::new(now());
    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    assert!(matches!(fx[0], Effect::Send(_)), "hello goes first: {fx:?}");
    assert_eq!(presence(&fx), [(Active, None)]);
    assert_eq!(presence(&update(&mut app, after(29))), [], "nothing changed, no heartbeat due");
    assert_eq!(presence(&update(&mut app, after(30))), [(Active, None)], "the heartbeat");
    assert_eq!(presence(&update(&mut app, Action::FocusLost)), [(Idle, None)]);
    assert_eq!(presence(&update(&mut app, after(120))), [], "no heartbeat while idle");
    assert_eq!(presence(&update(&mut app, Action::FocusGained)), [(Active, None)]);
    assert_eq!(presence(&update(&mut app, after(-3600))), [(Active, None)], "a clock set back");
}

#[test]
fn the_thread_open_in_the_detail_is_what_the_user_is_viewing_while_focused() {
    let mut items = notes(2);
    items[1].thread = Some("repo/api#9".into());
    let mut app = app_with(items);
    assert_eq!(presence(&update(&mut app, Action::OpenDetail)), [(Active, Some("repo/api#9".into()))]);
    assert_eq!(presence(&update(&mut app, Action::FocusLost)), [(Idle, None)], "not viewing unfocused");
    assert_eq!(presence(&update(&mut app, Action::FocusGained)), [(Active, Some("repo/api#9".into()))]);
    assert_eq!(presence(&update(&mut app, Action::CloseDetail)), [(Active, None)]);
}

#[test]
fn nothing_is_said_while_the_connection_is_down_and_a_new_one_is_told_at_once() {
    let mut app = app_with(notes(1));
    update(&mut app, Action::Disconnected { retry_in_secs: Some(1) });
    assert_eq!(presence(&update(&mut app, Action::FocusLost)), []);
    assert_eq!(presence(&update(&mut app, after(60))), []);
    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    assert_eq!(presence(&fx), [(Idle, None)]);
    assert!(matches!(fx[0], Effect::Send(_)), "after hello: {fx:?}");
}

fn popping(n: u32) -> Notification {
    let mut item = note(n, "Deploy failed");
    item.deliveries.insert(Channel::Desktop, delivered("pending", 0, None));
    item
}

fn raised(fx: &[Effect]) -> usize {
    fx.iter().filter(|e| matches!(e, Effect::RaisePopup(_))).count()
}

#[test]
fn history_replayed_on_connect_raises_no_popup_and_a_live_change_raises_one_once() {
    let mut app = App::new(now());
    app.popups.remote = true;
    update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    update(&mut app, Action::Frame(welcome("stream-1", 1, 1, serde_json::json!({}), 1)));
    let fx = update(&mut app, Action::Frame(change(1, "notification_created", &popping(1))));
    assert_eq!(raised(&fx), 0, "replayed history is not news");
    let fx = update(&mut app, Action::Frame(change(2, "notification_created", &popping(2))));
    assert_eq!(raised(&fx), 1);
    let fx = update(&mut app, Action::Frame(change(3, "notification_updated", &popping(2))));
    assert_eq!(raised(&fx), 0, "once");
}

#[test]
fn a_local_client_raises_nothing_and_says_once_that_the_engine_could_not() {
    let mut app = app_with(notes(1));
    let mut failed = note(2, "Deploy failed");
    failed.deliveries.insert(Channel::Desktop, delivered("failed", 1, Some("no notification server")));
    let fx = update(&mut app, Action::Frame(change(2, "notification_created", &failed)));
    assert_eq!(raised(&fx), 0);
    assert_eq!(status(&app), "Desktop popups are off (? says why)", "short: it fits a narrow status line");
    assert_eq!(app.popups.off.as_deref(), Some("no notification server"));
    app.status = None;
    failed.id = id(3);
    update(&mut app, Action::Frame(change(3, "notification_created", &failed)));
    update(&mut app, Action::PopupFailed("gone".into()));
    assert_eq!(status(&app), "", "said once");
    // Then kept where it can be looked up: the header says so, and help says why.
    let header = &super::view::rows(&super::view::draw(&app, 120, 30))[0];
    assert!(header.contains("no popups"), "{header}");
    update(&mut app, Action::Help);
    let help = super::view::rows(&super::view::draw(&app, 120, 30)).join("\n");
    assert!(help.contains("Desktop popups are off: no notification server"), "{help}");
}

#[test]
fn e_hands_the_item_to_the_pager_as_plain_text_and_a_pager_that_failed_says_why() {
    let items = showcase();
    let mut app = app_with(items.clone());
    let fx = run(&mut app, [Action::OpenDetail, Action::OpenDetail]);
    serve_gets(&mut app, &fx, &items);
    let fx = press(&mut app, &[crate::tui::action::Key::Char('e')]);
    let text = fx
        .iter()
        .find_map(|e| match e {
            Effect::Page(t) => Some(t.clone()),
            _ => None,
        })
        .expect("a page effect");
    for part in
        ["Build failed on main", "3 tests", "https://ci.example/4711", "branch: main", "Why", "hold until"]
    {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    assert!(!text.contains('\x1b'), "plain text");
    update(&mut app, Action::Paged(Err("nopager: not found (set PAGER)".into())));
    assert_eq!(status(&app), "The pager did not run: nopager: not found (set PAGER)");
}
