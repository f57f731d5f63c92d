//! The real TUI in a real terminal: `campanile` runs in tmux (its own server socket), an
//! event sent with `campanile send` appears on screen, keys mark it read, and the unread
//! count agrees on screen and in the store. Waits poll the screen with a deadline.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
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

    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return screen;
            }
            assert!(Instant::now() < deadline, "`{what}` never showed; the screen:\n{screen}");
            std::thread::yield_now();
        }
    }

    fn keys(&self, keys: &str) {
        assert!(self.cmd(&["send-keys", "-t", "tui", keys]).status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn env_line(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "env HOME={d} XDG_DATA_HOME={d}/data XDG_RUNTIME_DIR={d}/run XDG_CONFIG_HOME={d}/config \
         XDG_STATE_HOME={d}/state USER=alice TERM=xterm-256color"
    )
}

fn campanile(dir: &Path, args: &[&str]) -> std::process::Output {
    let d = dir;
    Command::new(env!("CARGO_BIN_EXE_campanile"))
        .args(args)
        .env("HOME", d)
        .env("XDG_DATA_HOME", d.join("data"))
        .env("XDG_RUNTIME_DIR", d.join("run"))
        .env("XDG_CONFIG_HOME", d.join("config"))
        .env("XDG_STATE_HOME", d.join("state"))
        .env("USER", "alice")
        .env_remove("CAMPANILE_SERVER")
        .env_remove("CAMPANILE_DATA_DIR")
        .env_remove("CAMPANILE_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn send_shows_up_live_and_reading_it_counts() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux { socket: format!("campanile-test-{}", std::process::id()) };
    let line = format!("{} {}", env_line(dir.path()), env!("CARGO_BIN_EXE_campanile"));
    let started = tmux.cmd(&["new-session", "-d", "-s", "tui", "-x", "110", "-y", "30", &line]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));

    // First run: the embedded engine starts and greets.
    let screen = tmux.wait_for("Welcome to Campanile");
    assert!(screen.contains("embedded"), "{screen}");
    assert!(screen.contains("1 unread"), "{screen}");

    // A second terminal publishes; it arrives live.
    let out = campanile(dir.path(), &["send", "--title", "Backup finished on nas-01", "--body", "42 GB"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let screen = tmux.wait_for("Backup finished on nas-01");
    assert!(screen.contains("2 unread"), "{screen}");

    // To the top (the new item) and mark it read.
    tmux.keys("g");
    tmux.keys("r");
    let screen = tmux.wait_for("1 unread");
    assert!(screen.contains("Backup finished on nas-01"));

    // The store agrees (through the running engine's socket) once the command the screen
    // showed at once has been committed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = campanile(dir.path(), &["list"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.starts_with("alice: 1 unread") {
            break;
        }
        assert!(Instant::now() < deadline, "the store never saw the read: {text}");
        std::thread::yield_now();
    }

    // q quits and takes the embedded engine (and its socket) with it.
    tmux.keys("q");
    let deadline = Instant::now() + Duration::from_secs(20);
    while dir.path().join("run/campanile/engine.sock").exists() {
        assert!(Instant::now() < deadline, "the engine socket is still there after quitting");
        std::thread::yield_now();
    }
}
