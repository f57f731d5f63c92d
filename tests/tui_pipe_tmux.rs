//! `|` through the real binary in a real terminal (tmux, its own server socket, temporary
//! XDG dirs, the embedded engine): the item's JSON goes to the typed command, whose stdout,
//! stderr and exit status show in the pane; a command that keeps running does not hold the
//! TUI up, and `esc` stops it. Waits poll the screen with a deadline.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::time::{Duration, Instant};

use support::tmux::{Tmux, campanile};

#[test]
fn bar_pipes_the_items_json_to_a_command_and_shows_what_it_printed() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("pipe", dir.path(), (120, 30), &[], &[]);
    tmux.wait_for("Inbox");
    let sent = campanile(dir.path(), &["send", "--title", "Deploy failed", "--thread", "deploys/api"]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    let id = String::from_utf8_lossy(&sent.stdout).trim().to_string();
    tmux.wait_for("Deploy failed");
    tmux.keys(&["g"]);
    tmux.wait_until("the cursor on it", |s| s.contains("▸●    now Deploy failed"));

    tmux.keys(&["|"]);
    tmux.wait_for("Pipe to a command");
    tmux.keys(&["grep -E 'thread|\"id\"'; echo on-stderr >&2; exit 4", "Enter"]);
    // The pane's title says how it ended (the prompt has the words too, without the spaces).
    let screen = tmux.wait_for(" exit 4 ");
    assert!(screen.contains("\"thread\": \"deploys/api\""), "{screen}");
    assert!(screen.contains(&format!("\"id\": \"{id}\"")), "the item's own JSON: {screen}");
    assert!(screen.contains("on-stderr"), "stderr shows too: {screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_until("the pane to close", |s| !s.contains(" exit 4 "));

    // A command that runs on: the TUI answers keys meanwhile, and esc stops it at once.
    tmux.keys(&["|"]);
    tmux.wait_for("Pipe to a command");
    for _ in 0..60 {
        tmux.keys(&["BSpace"]);
    }
    tmux.keys(&["sleep 30; echo never", "Enter"]);
    tmux.wait_for("running…");
    let asked = Instant::now();
    tmux.keys(&["Escape"]);
    tmux.wait_until("the pane to close while the command runs", |s| !s.contains("running…"));
    assert!(asked.elapsed() < Duration::from_secs(10), "esc waited for the command: {:?}", asked.elapsed());
    tmux.keys(&["?"]);
    tmux.wait_for("pipe JSON to a command");
}
