//! Desktop popups on a private D-Bus session bus: a real `dbus-daemon`, a recording
//! notification server registered as `org.freedesktop.Notifications`, and the real engine
//! (`campanile daemon` serving the local socket). An urgent item pops up once, as critical,
//! from app `campanile`; a normal one does not (desktop's default minimum is urgent); reading
//! the item closes its popup.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::bus::private_bus;
use zbus::OwnedVariant;

#[derive(Debug)]
enum Call {
    Notify { app: String, summary: String, urgency: Option<u8>, actions: Vec<String> },
    Close(u32),
}

struct Recorder {
    calls: mpsc::Sender<Call>,
    next: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments, reason = "the freedesktop signature")]
    fn notify(
        &mut self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        _body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        self.next += 1;
        let _ = self.calls.send(Call::Notify { app: app_name, summary, urgency, actions });
        self.next
    }

    fn close_notification(&self, id: u32) {
        let _ = self.calls.send(Call::Close(id));
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("recorder".into(), "campanile-tests".into(), "1".into(), "1.2".into())
    }
}

fn next_call(rx: &mpsc::Receiver<Call>) -> Call {
    rx.recv_timeout(Duration::from_secs(15)).expect("a D-Bus call within 15 s")
}

#[test]
fn urgent_items_pop_up_once_and_close_when_read() {
    let bus = private_bus();
    let (tx, rx) = mpsc::channel();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // zbus serves the object on its own executor thread once built.
    let _server = rt
        .block_on(
            zbus::connection::Builder::address(bus.address.as_str())
                .name("org.freedesktop.Notifications")
                .serve_at("/org/freedesktop/Notifications", Recorder { calls: tx, next: 0 })
                .build(),
        )
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let campanile = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
        c.args(["--data", dir.path().join("data").to_str().unwrap()])
            .args(args)
            .env("XDG_RUNTIME_DIR", dir.path().join("run"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("USER", "alice")
            .env("NO_COLOR", "1")
            .env_remove("CAMPANILE_SERVER");
        c
    };
    let mut engine = campanile(&["daemon", "--listen", "127.0.0.1:0"]).stderr(Stdio::null()).spawn().unwrap();
    let socket = dir.path().join("run/campanile/engine.sock");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(std::time::Instant::now() < deadline, "the engine did not come up");
        std::thread::yield_now();
    }

    let out = campanile(&[
        "send",
        "--title",
        "Checkout is down",
        "--urgency",
        "urgent",
        "--url",
        "https://status.example",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    match next_call(&rx) {
        Call::Notify { app, summary, urgency, actions } => {
            assert_eq!(app, "campanile");
            assert_eq!(summary, "Checkout is down");
            assert_eq!(urgency, Some(2), "critical");
            assert!(
                actions.contains(&"ack".to_string()) && actions.contains(&"default".to_string()),
                "{actions:?}"
            );
        }
        other => panic!("expected a popup, got {other:?}"),
    }

    // A normal item stays in the inbox only; the next call must be the close of the first.
    let out = campanile(&["send", "--title", "FYI"]).output().unwrap();
    assert!(out.status.success());
    let target = campanile::client::Target::Socket(socket.clone());
    let (status, _) = rt
        .block_on(campanile::client::request(
            &target,
            "PATCH",
            &format!("/api/v1/notifications/{id}/read"),
            &[],
            vec![],
        ))
        .unwrap();
    assert!(status.is_success());
    match next_call(&rx) {
        Call::Close(n) => assert_eq!(n, 1),
        other => panic!("expected the popup to close, got {other:?}"),
    }

    // The delivery is recorded: the item says desktop delivered.
    let (_, body) = rt
        .block_on(campanile::client::request(&target, "GET", "/api/v1/notifications?limit=5", &[], vec![]))
        .unwrap();
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let item = page["items"].as_array().unwrap().iter().find(|n| n["id"] == id.as_str()).unwrap().clone();
    assert_eq!(item["deliveries"]["desktop"]["status"], "delivered", "{item}");
    engine.kill().unwrap();
    engine.wait().unwrap();
}
