//! The real binary in a real terminal: a tmux server on its own socket, temporary XDG dirs
//! for `alice`, and waits that poll the screen with a deadline (never a fixed sleep).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

/// The environment of a TUI (and of the CLI beside it) living in `dir`.
pub fn env_vars(dir: &Path) -> Vec<(String, String)> {
    let d = dir.display();
    vec![
        ("HOME".into(), d.to_string()),
        ("XDG_DATA_HOME".into(), format!("{d}/data")),
        ("XDG_RUNTIME_DIR".into(), format!("{d}/run")),
        ("XDG_CONFIG_HOME".into(), format!("{d}/config")),
        ("XDG_STATE_HOME".into(), format!("{d}/state")),
        ("USER".into(), "alice".into()),
        ("TZ".into(), "UTC".into()),
    ]
}

impl Tmux {
    /// Starts `campanile args…` in a `width`×`height` terminal with `dir`'s environment and
    /// `extra` variables (`NO_COLOR=1`).
    pub fn start(name: &str, dir: &Path, size: (u16, u16), extra: &[&str], args: &[&str]) -> Tmux {
        let tmux = Tmux { socket: format!("campanile-{name}-{}", std::process::id()) };
        tmux.spawn("tui", dir, size, extra, args);
        tmux
    }

    /// Another window (`target` names it) on the same tmux server.
    pub fn spawn(&self, target: &str, dir: &Path, size: (u16, u16), extra: &[&str], args: &[&str]) {
        let vars: Vec<String> = env_vars(dir).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        let line = format!(
            "env {} TERM=xterm-256color {} {} {}",
            vars.join(" "),
            extra.join(" "),
            env!("CARGO_BIN_EXE_campanile"),
            args.join(" ")
        );
        let (w, h) = (size.0.to_string(), size.1.to_string());
        let started = if target == "tui" {
            self.cmd(&["new-session", "-d", "-s", "tui", "-x", &w, "-y", &h, &line])
        } else {
            self.cmd(&["new-session", "-d", "-s", target, "-x", &w, "-y", &h, &line])
        };
        assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux (Debian package tmux)")
    }

    pub fn screen_of(&self, target: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", target]).stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.screen_of("tui")
    }

    /// The screen with its attributes as escape sequences (`capture-pane -e`).
    pub fn styled_screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-e", "-p", "-t", "tui"]).stdout).into_owned()
    }

    pub fn wait_until_in(&self, target: &str, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen_of(target);
            if done(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "{what} never showed; the screen:\n{screen}");
            std::thread::yield_now();
        }
    }

    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.wait_until_in("tui", what, done)
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("`{text}`"), |s| s.contains(text))
    }

    pub fn keys(&self, keys: &[&str]) {
        self.keys_to("tui", keys);
    }

    pub fn keys_to(&self, target: &str, keys: &[&str]) {
        for k in keys {
            assert!(self.cmd(&["send-keys", "-t", target, k]).status.success());
        }
    }

    /// Whether the pane's program is still running (tmux closes a session whose program
    /// ended).
    pub fn alive(&self, target: &str) -> bool {
        self.cmd(&["has-session", "-t", target]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// Runs the CLI with `dir`'s environment.
pub fn campanile(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_campanile"));
    cmd.args(args)
        .env_remove("CAMPANILE_SERVER")
        .env_remove("CAMPANILE_TOKEN")
        .env_remove("CAMPANILE_DATA_DIR")
        .env_remove("CAMPANILE_CONFIG")
        .env_remove("NO_COLOR");
    for (k, v) in env_vars(dir) {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}
