//! What a power user hits in the first hour (issue 16), through the real binary in a real
//! terminal (tmux, its own server socket) with temporary XDG dirs: a refused token, the
//! screen without colour, undo, `list` against a server and in a pipe, a long detail, and a
//! second TUI outliving the first. Waits poll the screen, a file or the store with a
//! deadline.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use std::time::{Duration, Instant};

use support::tmux::{Tmux, campanile};

/// Waits for `done` on a value read again and again, for up to 30 s.
fn eventually<T: std::fmt::Debug>(what: &str, read: impl Fn() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = read();
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: still {v:?}");
        std::thread::yield_now();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_stops_retrying_and_says_how_to_fix_it_on_screen_and_in_the_log() {
    let daemon = support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = format!("http://{}", daemon.addr);
    let tmux = Tmux::start("token", dir.path(), (120, 30), &[], &["--server", &server, "--token", "wrong"]);

    let screen = tmux.wait_for("refused the token");
    // The words `send` prints for the same token.
    let sent = campanile(dir.path(), &["--server", &server, "--token", "wrong", "send", "--title", "x"]);
    let said = String::from_utf8_lossy(&sent.stderr).into_owned();
    assert!(said.contains("refused the token (401 Unauthorized"), "{said}");
    assert!(said.contains("give a valid one with --token or CAMPANILE_TOKEN"), "{said}");
    assert!(screen.contains("give a valid one with --token or CAMPANILE_TOKEN"), "{screen}");
    assert!(screen.contains("token refused"), "the header says why nothing loads:\n{screen}");
    assert!(!screen.contains("reconnecting"), "no retry loop against a wrong token:\n{screen}");
    // The reason is one line.
    let lines: Vec<&str> = screen.lines().filter(|l| l.contains("refused the token")).collect();
    assert!(lines.iter().any(|l| l.starts_with(" 127.0.0.1")), "one status line says it:\n{screen}");

    let log = dir.path().join("state/campanile/campanile.log");
    let text = eventually(
        "the log names the refusal",
        || std::fs::read_to_string(&log).unwrap_or_default(),
        |t| t.contains("refused the token"),
    );
    assert_eq!(
        text.matches("refused the token (401 Unauthorized)").count(),
        1,
        "logged once, not per retry:\n{text}"
    );
    // Still no retry a while later: the header never counts down.
    let again = tmux.screen();
    assert!(!again.contains("reconnecting"), "{again}");
    drop(tmux);
    daemon.stop().await;
}
