//! The preference editor in the real binary, in a real terminal (tmux, its own server
//! socket), with the embedded engine and temporary XDG dirs. A matrix cell toggled and saved
//! is still toggled after the TUI restarts. Quiet hours set in the editor so that now is
//! inside them hold a normal item's popup while an urgent one still pops up, on a private
//! D-Bus session bus with a recording `org.freedesktop.Notifications` server. A second TUI
//! shows a save made in the first without a key pressed. Waits poll the screen or the bus
//! with a deadline.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::bus::private_bus;
use zbus::OwnedVariant;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, env: &str) -> Tmux {
        let tmux = Tmux { socket: format!("campanile-{name}-{}", std::process::id()) };
        tmux.run(env);
        tmux
    }

    fn run(&self, env: &str) {
        let line = format!("{env} {}", env!("CARGO_BIN_EXE_campanile"));
        let started = self.cmd(&["new-session", "-d", "-s", "tui", "-x", "120", "-y", "40", &line]);
        assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux (Debian package tmux)")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "tui"]).stdout).into_owned()
    }

    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "{what} never showed; the screen:\n{screen}");
            std::thread::yield_now();
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("`{text}`"), |s| s.contains(text))
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            assert!(self.cmd(&["send-keys", "-t", "tui", k]).status.success());
        }
    }

    /// Types literal text.
    fn text(&self, text: &str) {
        assert!(self.cmd(&["send-keys", "-t", "tui", "-l", text]).status.success());
    }

    /// Presses `j` until the selected line (the one with `▸`) contains `what`. Waits for the
    /// cursor's line number to change, which typing and toggling never do.
    fn select(&self, what: &str) {
        let cursor = |s: &str| s.lines().position(|l| l.contains('▸'));
        for _ in 0..30 {
            let screen = self.screen();
            if screen.lines().find(|l| l.contains('▸')).is_some_and(|l| l.contains(what)) {
                return;
            }
            let before = cursor(&screen);
            self.keys(&["j"]);
            self.wait_until("the cursor moving", |s| cursor(s) != before);
        }
        panic!("no row with `{what}`:\n{}", self.screen());
    }

    /// Replaces the text of the field under the cursor and waits until it is kept.
    fn set_field(&self, text: &str) {
        self.keys(&["Enter", "End"]);
        for _ in 0..20 {
            self.keys(&["BSpace"]);
        }
        self.text(text);
        self.keys(&["Enter"]);
        self.wait_until(&format!("`{text}` kept"), |s| {
            !s.contains("esc back out")
                && s.lines().find(|l| l.contains('▸')).is_some_and(|l| l.contains(text))
        });
    }

    /// Leaves the editor (nothing unsaved) and waits for the inbox's footer: a key sent right
    /// after Esc would read as Alt+key.
    fn leave_editor(&self) {
        self.keys(&["Escape"]);
        self.wait_for("q quit");
    }

    fn quit(&self, dir: &Path) {
        self.keys(&["q"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while dir.join("run/campanile/engine.sock").exists() {
            assert!(Instant::now() < deadline, "the engine socket is still there after quitting");
            std::thread::yield_now();
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn env_line(dir: &Path, extra: &str) -> String {
    let d = dir.display();
    format!(
        "env HOME={d} XDG_DATA_HOME={d}/data XDG_RUNTIME_DIR={d}/run XDG_CONFIG_HOME={d}/config \
         XDG_STATE_HOME={d}/state USER=alice TERM=xterm-256color TZ=UTC {extra}"
    )
}

fn campanile(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_campanile"))
        .args(args)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("USER", "alice")
        .env_remove("CAMPANILE_SERVER")
        .env_remove("CAMPANILE_DATA_DIR")
        .env_remove("CAMPANILE_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn socket(dir: &Path) -> PathBuf {
    dir.join("run/campanile/engine.sock")
}

fn get(dir: &Path, path: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = campanile::client::Target::Socket(socket(dir));
    let (status, body) = rt.block_on(campanile::client::request(&target, "GET", path, &[], vec![])).unwrap();
    assert!(status.is_success(), "{path}: {status}");
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn a_matrix_cell_toggled_and_saved_is_still_toggled_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_line(dir.path(), "");
    let tmux = Tmux::start("prefs-matrix", &env);
    tmux.wait_for("Welcome to Campanile");
    campanile(dir.path(), &["send", "--type", "build.failed", "--title", "Build failed on main"]);
    tmux.wait_for("Build failed on main");

    tmux.keys(&["p", "2"]);
    tmux.wait_for("event type");
    tmux.select("build.failed");
    let row = |s: &str| s.lines().find(|l| l.contains("  build.failed")).unwrap_or_default().to_string();
    assert!(row(&tmux.screen()).contains("(x)"), "inherited before:\n{}", tmux.screen());
    tmux.keys(&["Space"]);
    tmux.wait_for("unsaved");
    assert!(row(&tmux.screen()).contains("[ ]"), "{}", tmux.screen());
    tmux.keys(&["C-s"]);
    tmux.wait_for("Preferences saved (version 1)");
    let settings = get(dir.path(), "/api/v1/settings");
    assert_eq!(settings["prefs"]["events"]["build.failed"]["desktop"], false, "{settings}");
    tmux.leave_editor();
    tmux.quit(dir.path());
    drop(tmux);

    let tmux = Tmux::start("prefs-matrix-again", &env);
    tmux.wait_for("Build failed on main");
    tmux.keys(&["p", "2"]);
    tmux.wait_for("event type");
    let screen = tmux.wait_until("the build.failed row", |s| row(s).contains("build.failed"));
    let line = row(&screen);
    let cells = line.split("build.failed").nth(1).unwrap().trim_start();
    assert!(cells.starts_with("[ ]"), "desktop still off after the restart: {line}");
    assert_eq!(cells.matches("(x)").count(), 4, "only that cell: {line}");
    tmux.leave_editor();
    tmux.quit(dir.path());
}

#[derive(Debug)]
struct Popup {
    summary: String,
}

struct Recorder {
    calls: mpsc::Sender<Popup>,
    next: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments, reason = "the freedesktop signature")]
    fn notify(
        &mut self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        _body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        self.next += 1;
        let _ = self.calls.send(Popup { summary });
        self.next
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("recorder".into(), "campanile-tests".into(), "1".into(), "1.2".into())
    }
}

#[test]
fn inside_quiet_hours_set_in_the_editor_only_the_urgent_item_pops_up() {
    let bus = private_bus();
    let (tx, rx) = mpsc::channel();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _server = rt
        .block_on(
            zbus::connection::Builder::address(bus.address.as_str())
                .name("org.freedesktop.Notifications")
                .serve_at("/org/freedesktop/Notifications", Recorder { calls: tx, next: 0 })
                .build(),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(
        "prefs-quiet",
        &env_line(dir.path(), &format!("'DBUS_SESSION_BUS_ADDRESS={}'", bus.address)),
    );
    tmux.wait_for("Welcome to Campanile");

    // Desktop pops up for anything from low (one step on from urgent), so the normal item
    // would pop up but for quiet hours.
    tmux.keys(&["p"]);
    tmux.wait_for("Desktop popups");
    tmux.select("at least");
    tmux.keys(&["Space"]);
    tmux.wait_until("desktop at least low", |s| {
        s.lines().find(|l| l.contains('▸')).is_some_and(|l| l.contains("low"))
    });
    // Quiet from an hour ago to two hours from now, in UTC.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let hm = |z: jiff::Zoned| z.strftime("%H:%M").to_string();
    let (start, end) = (
        hm(now.saturating_sub(jiff::SignedDuration::from_hours(1))),
        hm(now.saturating_add(jiff::SignedDuration::from_hours(2))),
    );
    tmux.keys(&["3"]);
    tmux.wait_for("weekends muted");
    tmux.keys(&["Space"]);
    tmux.wait_until("quiet hours on", |s| {
        s.lines().any(|l| l.contains("▸ quiet hours") && l.contains(" on"))
    });
    tmux.select("start");
    tmux.set_field(&start);
    tmux.select("end");
    tmux.set_field(&end);
    tmux.wait_for(&format!("end                                {end}"));
    let screen = tmux.wait_for(": quiet until");
    // Near midnight the end is tomorrow, and the preview names the day.
    let preview = screen.lines().find(|l| l.contains(": quiet until")).unwrap();
    assert!(preview.contains(&format!("{end} (")), "the preview: {preview}");
    tmux.keys(&["w"]);
    tmux.wait_for("Preferences saved (version 1)");
    tmux.leave_editor();
    tmux.wait_for(&format!("quiet until {end}"));

    campanile(dir.path(), &["send", "--title", "Normal while quiet", "--urgency", "normal"]);
    campanile(dir.path(), &["send", "--title", "Urgent while quiet", "--urgency", "urgent"]);
    tmux.wait_for("Urgent while quiet");
    let popup = rx.recv_timeout(Duration::from_secs(15)).expect("a popup within 15 s");
    assert_eq!(popup.summary, "Urgent while quiet", "the normal item must not pop up first");
    // The engine records the delivery once the popup is up.
    let status = |title: &str| {
        let page = get(dir.path(), "/api/v1/notifications?limit=10");
        let item = page["items"].as_array().unwrap().iter().find(|n| n["title"] == title).unwrap().clone();
        item["deliveries"]["desktop"]["status"].as_str().unwrap_or_default().to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while status("Urgent while quiet") != "delivered" {
        assert!(Instant::now() < deadline, "the urgent popup is never recorded as delivered");
        std::thread::yield_now();
    }
    assert_eq!(status("Normal while quiet"), "held");
    assert!(rx.try_recv().is_err(), "only the urgent item popped up");
    tmux.quit(dir.path());
}

#[test]
fn a_save_in_one_tui_redraws_the_other_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_line(dir.path(), "");
    let first = Tmux::start("prefs-first", &env);
    first.wait_for("Welcome to Campanile");
    // The second finds the first's engine on the local socket.
    let second = Tmux::start("prefs-second", &env);
    second.wait_for("connected to local engine");
    for t in [&first, &second] {
        t.keys(&["p", "3"]);
        t.wait_for("weekends muted");
    }
    let weekends = |s: &str| s.lines().find(|l| l.contains("weekends muted")).unwrap_or_default().to_string();
    assert!(weekends(&second.screen()).contains("off"));
    first.select("weekends muted");
    first.keys(&["Space", "w"]);
    first.wait_for("Preferences saved (version 1)");
    let screen = second.wait_until("weekends on in the second TUI", |s| weekends(s).contains(" on"));
    assert!(screen.contains("now showing version 1"), "{screen}");
    second.leave_editor();
    second.keys(&["q"]);
    first.leave_editor();
    first.quit(dir.path());
}
