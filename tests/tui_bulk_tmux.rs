//! The big inbox through the real binary in a real terminal (tmux, its own server socket),
//! with the embedded engine and temporary XDG dirs. The store is filled before the TUI
//! starts (one transaction, as a CI bot's month would have done). `R` on more items than one
//! command may name leaves none unread in the store and says so on screen; after a snooze
//! the badge is the store's unread count. Waits poll the screen or the store with a deadline.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use campanile::engine::{Policy, Presence};
use campanile::model::Event;
use campanile::prefs::Preferences;
use campanile::store::prelude::*;
use campanile::store::{AcceptContext, SqliteStore, Submission, Synchronous};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, dir: &Path) -> Tmux {
        let tmux = Tmux { socket: format!("campanile-{name}-{}", std::process::id()) };
        let d = dir.display();
        let line = format!(
            "env HOME={d} XDG_DATA_HOME={d}/data XDG_RUNTIME_DIR={d}/run XDG_CONFIG_HOME={d}/config \
             XDG_STATE_HOME={d}/state USER=alice TERM=xterm-256color TZ=UTC {}",
            env!("CARGO_BIN_EXE_campanile")
        );
        let started = tmux.cmd(&["new-session", "-d", "-s", "tui", "-x", "120", "-y", "40", &line]);
        assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
        tmux
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
        let deadline = Instant::now() + Duration::from_secs(30);
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

    fn quit(&self, dir: &Path) {
        self.keys(&["q"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while socket(dir).exists() {
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

fn socket(dir: &Path) -> PathBuf {
    dir.join("run/campanile/engine.sock")
}

/// Where the embedded engine keeps its store under these XDG dirs.
fn store_file(dir: &Path) -> PathBuf {
    dir.join("data/campanile/campanile.db")
}

/// Publishes `n` events to alice in one transaction, before any engine runs.
fn seed(dir: &Path, n: usize) {
    std::fs::create_dir_all(store_file(dir).parent().unwrap()).unwrap();
    let mut store = SqliteStore::open(&store_file(dir), Synchronous::Normal).unwrap();
    let now = jiff::Timestamp::now();
    store.upsert_user("alice", None, now).unwrap();
    let (policy, defaults) = (Policy::default(), Preferences::default());
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now };
    let subs: Vec<Submission> = (0..n)
        .map(|i| Submission {
            producer: "ci".into(),
            idempotency_key: None,
            default_user: Some("alice".into()),
            event: Event::from_json(&format!(r#"{{"type":"ci.build","title":"Build {i} passed"}}"#)).unwrap(),
        })
        .collect();
    for r in store.accept_batch(&subs, &ctx).unwrap() {
        r.unwrap();
    }
}

/// The store's unread count, through the running engine.
fn store_unread(dir: &Path) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = campanile::client::Target::Socket(socket(dir));
    let path = "/api/v1/notifications/unread_count";
    let (status, body) = rt.block_on(campanile::client::request(&target, "GET", path, &[], vec![])).unwrap();
    assert!(status.is_success(), "{path}: {status}");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["unread"].as_i64().unwrap()
}

/// Waits until the store's count is `want`.
fn wait_store(dir: &Path, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = store_unread(dir);
        if now == want {
            return;
        }
        assert!(Instant::now() < deadline, "the store has {now} unread, not {want}");
        std::thread::yield_now();
    }
}

/// The badge as people read it: `1,500`.
fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first line of the screen: the header with the badge.
fn header(screen: &str) -> String {
    screen.lines().next().unwrap_or_default().to_string()
}

#[test]
fn mark_all_read_on_more_than_a_thousand_items_leaves_none_unread() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), 1_500);
    let tmux = Tmux::start("bulk", dir.path());
    tmux.wait_until("the inbox loaded", |s| header(s).contains("unread") && !header(s).contains("loading"));
    let unread = store_unread(dir.path());
    assert!(unread >= 1_500, "{unread}");
    let badge = format!("● {} unread", thousands(unread));
    tmux.wait_until(&badge, |s| header(s).contains(&badge) && !header(s).contains("loading"));

    tmux.keys(&["R"]);
    tmux.wait_for(&format!("Mark {} unread items read?", thousands(unread)));
    tmux.keys(&["y"]);
    let marked = format!("Marked {} read", thousands(unread));
    let all_read = |s: &str| header(s).contains("no unread") && s.contains(&marked) && !s.contains('●');
    tmux.wait_until("every row read at once", all_read);
    wait_store(dir.path(), 0);
    // The server's changes come back after its answer; the screen still agrees.
    tmux.wait_until("every row still read", all_read);

    // Undo takes the one bulk action back.
    tmux.keys(&["u"]);
    tmux.wait_until(&badge, |s| header(s).contains(&badge));
    wait_store(dir.path(), unread);
    tmux.quit(dir.path());
}

#[test]
fn after_a_snooze_the_badge_is_the_stores_unread_count() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), 5);
    let tmux = Tmux::start("snooze", dir.path());
    tmux.wait_until("the inbox loaded", |s| header(s).contains("unread") && !header(s).contains("loading"));
    let before = store_unread(dir.path());
    tmux.wait_for(&format!("● {before} unread"));

    // Snooze the top item for an hour: not unread any more, anywhere.
    tmux.keys(&["g", "s"]);
    tmux.wait_for("1 hour");
    tmux.keys(&["1"]);
    tmux.wait_for(&format!("● {} unread", before - 1));
    wait_store(dir.path(), before - 1);
    let screen = tmux.wait_for("Snoozed until");
    assert!(header(&screen).contains(&format!("● {} unread", before - 1)), "{screen}");

    // The Snoozed view lists it with when it comes back; the badge does not move.
    tmux.keys(&["V"]);
    tmux.wait_for("Archived");
    tmux.keys(&["3"]);
    let screen = tmux.wait_for("Snoozed 1");
    assert!(screen.contains("passed") && screen.contains("until"), "{screen}");
    assert!(header(&screen).contains(&format!("● {} unread", before - 1)), "{screen}");

    // Unsnoozed now: unread again, in the store too.
    tmux.keys(&["s"]);
    tmux.wait_for("unsnooze now");
    tmux.keys(&["u"]);
    tmux.wait_for(&format!("● {before} unread"));
    wait_store(dir.path(), before);
    tmux.quit(dir.path());
}

#[test]
fn space_and_star_select_r_and_a_act_on_the_selection_and_u_restores_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), 1_500);
    let tmux = Tmux::start("select", dir.path());
    tmux.wait_until("the inbox loaded", |s| header(s).contains("unread") && !header(s).contains("loading"));
    let unread = store_unread(dir.path());
    let badge = format!("● {} unread", thousands(unread));
    tmux.wait_until(&badge, |s| header(s).contains(&badge) && !header(s).contains("loading"));

    // Two items picked by hand: marked on screen, counted in the header and the footer.
    tmux.keys(&["g", "Space", "Space"]);
    let screen =
        tmux.wait_until("2 selected", |s| header(s).contains("2 selected") && s.contains("2 selected:"));
    let checked: Vec<&str> = screen.lines().filter(|l| l.contains('✓')).collect();
    assert_eq!(checked.len(), 2, "{screen}");
    tmux.keys(&["r"]);
    tmux.wait_until("2 read", |s| s.contains("Marked read 2") && !header(s).contains("selected"));
    wait_store(dir.path(), unread - 2);
    tmux.keys(&["u"]);
    tmux.wait_for(&badge);
    wait_store(dir.path(), unread);

    // Everything listed, more than one command may name: one bulk action, one undo.
    tmux.keys(&["*"]);
    tmux.wait_until("all selected", |s| header(s).contains(&format!("{} selected", thousands(unread))));
    tmux.keys(&["a"]);
    tmux.wait_until("all archived", |s| {
        s.contains(&format!("Archived {}", thousands(unread))) && header(s).contains("no unread")
    });
    wait_store(dir.path(), 0);
    tmux.keys(&["u"]);
    tmux.wait_for(&badge);
    wait_store(dir.path(), unread);

    // Esc drops a selection without touching anything.
    tmux.keys(&["Space", "Escape"]);
    tmux.wait_for("Selection cleared");
    assert_eq!(store_unread(dir.path()), unread);
    tmux.quit(dir.path());
}

#[test]
fn a_key_rebound_in_tui_keys_runs_its_action_and_the_footer_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config/campanile");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[tui.keys]\narchive = \"x\"\n\n[tui.theme]\nname = \"light\"\n",
    )
    .unwrap();
    seed(dir.path(), 3);
    let tmux = Tmux::start("keys", dir.path());
    tmux.wait_until("the inbox loaded", |s| header(s).contains("3 unread") && !header(s).contains("loading"));
    let screen = tmux.wait_for("x archive");
    assert!(!screen.contains(" a archive"), "{screen}");
    // `a` does nothing now; `x` archives.
    tmux.keys(&["a", "x", "?"]);
    // Help open means both keys before it were taken: one item archived, not two.
    let screen =
        tmux.wait_until("help after both keys", |s| s.contains("Keys") && s.contains("x          archive"));
    assert!(header(&screen).contains("● 2 unread"), "{screen}");
    wait_store(dir.path(), 2);
    tmux.keys(&["Escape"]);
    tmux.wait_until("help closed", |s| !s.contains("Keys"));
    tmux.quit(dir.path());
}
