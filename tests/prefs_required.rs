//! The organisation's required cells reach clients: the daemon config's `required` rides in
//! the websocket `welcome` frame and in the `GET /settings` answer (always: empty maps when
//! there is none), and the TUI's editor fed that real welcome draws the cells locked and
//! refuses to turn one off.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use campanile::config::Config;
use campanile::model::Channel;
use campanile::prefs::Required;
use campanile::sync::protocol::ServerFrame;
use campanile::tui::action::{Action, Key, key_to_action};
use campanile::tui::app::App;
use campanile::tui::prefs::matrix;
use campanile::tui::update::update;
use serde_json::json;
use support::{Ws, start, start_with};

fn policy() -> Required {
    let mut r = Required::default();
    r.events.insert("deploy.failed".into(), vec![Channel::Email, Channel::Push]);
    r.categories.insert("security".into(), vec![Channel::Desktop]);
    r
}

#[tokio::test]
async fn welcome_and_settings_carry_the_policy_and_the_editor_locks_its_cells() {
    let d = start_with(Config { required: policy(), ..Config::default() }).await;
    let want =
        json!({"events": {"deploy.failed": ["email", "push"]}, "categories": {"security": ["desktop"]}});
    let (_first, welcome) = Ws::connect(&d, "alice", 0, None).await;
    assert_eq!(welcome["required"], want, "{welcome}");
    let (status, settings) = d.get("alice", "/settings").await;
    assert_eq!((status, &settings["required"]), (200, &want), "{settings}");

    // The TUI's core on that very frame, with a deploy.failed item in the inbox.
    let (status, _) = d.publish("alice", json!({"type": "deploy.failed", "title": "api down"})).await;
    assert_eq!(status, 201);
    let (mut ws, welcome) = Ws::connect(&d, "alice", 0, None).await;
    let mut app = App::new(jiff::Timestamp::now());
    update(&mut app, Action::Connected { host: Some(d.addr.to_string()) });
    update(&mut app, Action::Frame(serde_json::from_value::<ServerFrame>(welcome).unwrap()));
    assert_eq!(app.replica.required, policy());
    while app.replica.last_seq < app.replica.server_seq {
        let f = ws.next().await;
        update(&mut app, Action::Frame(serde_json::from_value::<ServerFrame>(f).unwrap()));
    }
    let press = |app: &mut App, keys: &[Key]| {
        for k in keys {
            if let Some(a) = key_to_action(app.mode, *k) {
                update(app, a);
            }
        }
    };
    press(&mut app, &[Key::Char('p'), Key::Char('2')]);
    let rows = app.editor.as_ref().unwrap().matrix();
    let at = rows.iter().position(|r| r.kind.as_deref() == Some("deploy.failed")).unwrap();
    press(&mut app, &vec![Key::Char('j'); at]);
    press(&mut app, &[Key::Char('l'), Key::Char(' ')]);
    let ed = app.editor.as_ref().unwrap();
    assert!(matrix::locked(&ed.required, &rows[at], Channel::Email));
    assert!(matrix::cell(&ed.draft, &rows[at], Channel::Email).on() && !ed.dirty(), "refused");
    let status = app.status.clone().unwrap();
    assert!(status.error, "{status:?}");
    assert_eq!(
        status.text,
        "deploy.failed × email is required by your organisation and cannot be turned off"
    );
    d.stop().await;
}

#[tokio::test]
async fn a_daemon_without_a_policy_says_so_with_empty_maps() {
    let d = start().await;
    let (_ws, welcome) = Ws::connect(&d, "alice", 0, None).await;
    assert_eq!(welcome["required"], json!({"events": {}, "categories": {}}));
    let (_, settings) = d.get("alice", "/settings").await;
    assert_eq!(settings["required"], json!({"events": {}, "categories": {}}));
    d.stop().await;
}
