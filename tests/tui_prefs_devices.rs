//! Push devices in the preference editor against a real daemon: the effects `update` asks
//! for run through the shell's own REST code (`shell::answer`, what the running TUI spawns),
//! and their answers go back into `update`. The Push section lists the user's devices (not
//! another user's); `x` then `y` removes one on the server, and the list is asked for again.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use campanile::sync::client::Transport;
use campanile::sync::protocol::ServerFrame;
use campanile::tui::action::{Action, Key, PrefsAction, key_to_action};
use campanile::tui::app::App;
use campanile::tui::effect::Effect;
use campanile::tui::prefs::Devices;
use campanile::tui::prefs::rows::RowId;
use campanile::tui::shell::answer;
use campanile::tui::state::{Mode, Tab};
use campanile::tui::update::update;
use serde_json::json;
use support::{Daemon, Ws, start};

const PHONE: &str = "ExponentPushToken[phone0000000000000000001]";

async fn register(d: &Daemon, who: &str, provider: &str, token: &str) {
    let r = d
        .http
        .post(d.url("/device-tokens"))
        .bearer_auth(d.token(who))
        .json(&json!({"provider": provider, "token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

/// Runs every REST effect as the shell does and feeds the answers back, until none is left.
async fn settle(app: &mut App, transport: &Transport, mut fx: Vec<Effect>) {
    while let Some(e) = fx.pop() {
        if let Some(a) = answer(transport, e).await {
            fx.extend(update(app, a));
        }
    }
}

async fn press(app: &mut App, transport: &Transport, keys: &[Key]) {
    for k in keys {
        if let Some(a) = key_to_action(app.mode, *k) {
            let fx = update(app, a);
            settle(app, transport, fx).await;
        }
    }
}

fn listed(app: &App) -> Vec<(String, String)> {
    match &app.editor.as_ref().unwrap().devices {
        Devices::Listed(l) => l.iter().map(|d| (d.provider.clone(), d.token.clone())).collect(),
        other => panic!("not listed: {other:?}"),
    }
}

#[tokio::test]
async fn the_editor_lists_the_users_push_devices_and_removes_one_on_the_server() {
    let d = start().await;
    register(&d, "alice", "expo", PHONE).await;
    register(&d, "alice", "ntfy", "alice-laptop").await;
    register(&d, "bob", "ntfy", "bob-phone").await;
    let transport =
        Transport::Tcp { authority: d.addr.to_string(), token: d.token("alice").to_string(), tls: None };

    let (_ws, welcome) = Ws::connect(&d, "alice", 0, None).await;
    let mut app = App::new(jiff::Timestamp::now());
    update(&mut app, Action::Connected { host: Some(d.addr.to_string()) });
    update(&mut app, Action::Frame(serde_json::from_value::<ServerFrame>(welcome).unwrap()));
    press(&mut app, &transport, &[Key::Char('p')]).await;
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    assert_eq!(
        listed(&app),
        vec![("expo".into(), PHONE.into()), ("ntfy".into(), "alice-laptop".into())],
        "alice's devices, oldest first, and not bob's"
    );
    let ed = app.editor.as_ref().unwrap();
    let registered = ed.device(RowId::Device(0)).unwrap().created_at;
    assert!(registered.duration_until(jiff::Timestamp::now()).as_secs() < 60, "{registered}");

    // To the phone's row, ask, decline: nothing is removed.
    for _ in 0..40 {
        if app.editor.as_ref().unwrap().current() == Some(RowId::Device(0)) {
            break;
        }
        press(&mut app, &transport, &[Key::Char('j')]).await;
    }
    press(&mut app, &transport, &[Key::Char('x'), Key::Char('n')]).await;
    assert_eq!(listed(&app).len(), 2);
    // Ask again and say yes: removed on the server, and the list asked for again.
    press(&mut app, &transport, &[Key::Char('x')]).await;
    assert_eq!(app.mode, Mode::PrefsRemoveDevice);
    press(&mut app, &transport, &[Key::Char('y')]).await;
    assert_eq!(listed(&app), vec![("ntfy".into(), "alice-laptop".into())]);
    let status = app.status.clone().unwrap();
    assert!(!status.error && status.text.starts_with("Removed the expo device"), "{status:?}");
    let (_, body) = d.get("alice", "/device-tokens").await;
    assert_eq!(body["devices"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["devices"][0]["token"], "alice-laptop");
    let (_, body) = d.get("bob", "/device-tokens").await;
    assert_eq!(body["devices"][0]["token"], "bob-phone", "bob's device is untouched");

    // A device already gone (removed elsewhere): the server's reason reaches the status line.
    let fx = update(
        &mut app,
        Action::Prefs(PrefsAction::DevicesListed(Ok(vec![campanile::model::DeviceToken {
            provider: "expo".into(),
            token: PHONE.into(),
            created_at: registered,
        }]))),
    );
    settle(&mut app, &transport, fx).await;
    press(&mut app, &transport, &[Key::Char('k'), Key::Char('j'), Key::Char('x'), Key::Char('y')]).await;
    let status = app.status.clone().unwrap();
    assert!(status.error && status.text.contains("no such device"), "{status:?}");
    assert_eq!(listed(&app), vec![("ntfy".into(), "alice-laptop".into())], "the server's list again");
    d.stop().await;
}

/// The embedded engine's way: the same effects over the local engine socket, where the
/// local user is implicit.
#[tokio::test]
async fn over_the_local_engine_socket_the_same_effects_list_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let paths = support::paths(dir.path());
    let stop = tokio_util::sync::CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (p, s) = (paths.clone(), stop.clone());
    let task = tokio::spawn(async move {
        let serve = campanile::local::Serve { tcp: None, socket: true };
        let ready = move |_| {
            let _ = tx.send(());
        };
        campanile::local::run(&p, campanile::config::Config::default(), serve, ready, async move {
            s.cancelled().await
        })
        .await
        .unwrap();
    });
    rx.await.unwrap();
    let target = campanile::client::Target::Socket(paths.socket());
    let body = json!({"provider": "ntfy", "token": "desk-phone"}).to_string().into_bytes();
    let headers = [("content-type", "application/json")];
    let (status, _) =
        campanile::client::request(&target, "POST", "/api/v1/device-tokens", &headers, body).await.unwrap();
    assert_eq!(status.as_u16(), 201);

    let transport = Transport::Unix(paths.socket());
    let Some(Action::Prefs(PrefsAction::DevicesListed(Ok(list)))) =
        answer(&transport, Effect::FetchDevices).await
    else {
        panic!("a device list");
    };
    assert_eq!(list.iter().map(|d| d.token.as_str()).collect::<Vec<_>>(), ["desk-phone"]);
    let removed =
        answer(&transport, Effect::RemoveDevice { provider: "ntfy".into(), token: "desk-phone".into() })
            .await;
    assert!(
        matches!(&removed, Some(Action::Prefs(PrefsAction::DeviceRemoved { result: Ok(()), .. }))),
        "{removed:?}"
    );
    let again = answer(&transport, Effect::FetchDevices).await;
    assert_eq!(again, Some(Action::Prefs(PrefsAction::DevicesListed(Ok(Vec::new())))));
    stop.cancel();
    task.await.unwrap();
}
