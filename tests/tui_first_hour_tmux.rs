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

/// Every SGR parameter on a line of `capture-pane -e` output.
fn sgr(line: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in line.split("\x1b[").skip(1) {
        if let Some(end) = part.find('m') {
            out.extend(part[..end].split(';').filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

fn is_colour(p: u32) -> bool {
    matches!(p, 30..=38 | 40..=48 | 90..=97 | 100..=107)
}

#[test]
fn without_colour_the_cursor_unread_items_and_the_focus_still_show() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("nocolor", dir.path(), (100, 20), &["NO_COLOR=1"], &[]);
    tmux.wait_for("Welcome to Campanile");
    for title in ["Disk almost full", "Deploy finished"] {
        let out = campanile(dir.path(), &["send", "--title", title]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    tmux.wait_for("Deploy finished");
    tmux.keys(&["g"]);
    let cursor_on = |s: &str, title: &str| s.lines().any(|l| l.contains('▸') && l.contains(title));
    tmux.wait_until("the cursor on the newest item", |s| cursor_on(s, "Deploy finished"));
    tmux.keys(&["j"]);
    tmux.wait_until("`j` moving the cursor", |s| cursor_on(s, "Disk almost full"));
    tmux.keys(&["r"]);
    tmux.wait_for("2 unread");

    let styled = tmux.styled_screen();
    let line = |title: &str| styled.lines().find(|l| l.contains(title)).unwrap().to_string();
    assert!(sgr(&line("Disk almost full")).contains(&7), "the cursor's row is reverse video:\n{styled}");
    assert!(!sgr(&line("Deploy finished")).contains(&7), "{styled}");
    // The title's own attributes: the SGR just before it.
    let title_bold = |title: &str| {
        let l = line(title);
        let before = &l[..l.find(title).unwrap()];
        before.rsplit("\x1b[").next().is_some_and(|last| sgr(&format!("\x1b[{last}")).contains(&1))
    };
    assert!(title_bold("Deploy finished"), "an unread title is bold:\n{styled}");
    assert!(!title_bold("Disk almost full"), "a read one is not:\n{styled}");
    let colours: Vec<u32> = styled.lines().flat_map(sgr).filter(|p| is_colour(*p)).collect();
    assert!(colours.is_empty(), "NO_COLOR draws no colour: {colours:?}\n{styled}");

    // The focused pane has the thick border; Tab moves it.
    let plain = tmux.screen();
    let top = plain.lines().nth(1).unwrap();
    assert!(top.contains("┌Categories") && top.contains("┏"), "{plain}");
    tmux.keys(&["Tab"]);
    let screen = tmux.wait_until("the focus on the categories", |s| s.contains("┏Categories"));
    assert!(screen.contains("┌Inbox 3"), "{screen}");
    assert!(cursor_on(&screen, "Disk almost full"), "the cursor stays visible without the focus:\n{screen}");
}

#[test]
fn undo_takes_back_every_kind_of_action_last_first_with_the_cursor_on_the_restored_item() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("undo", dir.path(), (100, 20), &[], &[]);
    tmux.wait_for("Welcome to Campanile");
    for title in ["Disk almost full", "Deploy finished"] {
        assert!(campanile(dir.path(), &["send", "--title", title]).status.success());
    }
    tmux.wait_for("3 unread");
    let cursor_on = |s: &str, title: &str| s.lines().any(|l| l.contains('▸') && l.contains(title));
    tmux.keys(&["g"]);
    tmux.wait_until("the cursor on the newest", |s| cursor_on(s, "Deploy finished"));
    // Read it, move down, snooze that one, then mark the rest read (one bulk action).
    tmux.keys(&["r"]);
    tmux.wait_for("2 unread");
    tmux.keys(&["j"]);
    tmux.wait_until("the cursor on the second", |s| cursor_on(s, "Disk almost full"));
    tmux.keys(&["s", "1"]);
    tmux.wait_until("the snoozed item gone", |s| {
        s.contains("Snoozed until") && !s.contains("Disk almost full")
    });
    tmux.keys(&["R", "y"]);
    tmux.wait_for("no unread");

    tmux.keys(&["u"]);
    tmux.wait_until("the bulk read undone first", |s| {
        s.contains("Undone: marked all read") && s.contains("1 unread")
    });
    tmux.keys(&["u"]);
    let screen = tmux.wait_until("the snooze undone next", |s| s.contains("Undone: snoozed"));
    let screen = if cursor_on(&screen, "Disk almost full") {
        screen
    } else {
        tmux.wait_until("the cursor on the item back from its snooze", |s| cursor_on(s, "Disk almost full"))
    };
    assert!(screen.contains("2 unread"), "it is back, unread; the read item stays read:\n{screen}");
    assert!(screen.lines().any(|l| l.contains("Deploy finished") && !l.contains('●')), "{screen}");
    tmux.keys(&["u"]);
    let screen = tmux
        .wait_until("the read undone last", |s| s.contains("Undone: marked read") && s.contains("3 unread"));
    assert!(cursor_on(&screen, "Deploy finished"), "{screen}");
    tmux.keys(&["u"]);
    tmux.wait_for("Nothing to undo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_goes_where_send_goes_and_a_pipe_gets_the_whole_inbox() {
    let daemon = support::start().await;
    for n in 0..3 {
        let (status, body) =
            daemon.publish("svc", serde_json::json!({"type": "build.done", "title": format!("Remote {n}"), "to": {"users": ["alice"]}})).await;
        assert_eq!(status, 201, "{body}");
    }
    let dir = tempfile::tempdir().unwrap();
    let server = format!("http://{}", daemon.addr);
    let out = campanile(dir.path(), &["--server", &server, "--token", daemon.token("alice"), "list"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with(&format!("{}: 3 unread", daemon.addr)), "{text}");
    for n in 0..3 {
        assert!(text.contains(&format!("Remote {n}")), "{text}");
    }
    assert!(!text.contains("Welcome to Campanile"), "not a fresh local store:\n{text}");
    assert!(!dir.path().join("data/campanile").exists(), "no local store was made");
    let out = campanile(dir.path(), &["--server", &server, "--token", "wrong", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the token (401 Unauthorized"));
    daemon.stop().await;

    // Piped, the inbox is every item (more than a screenful), from the store or the engine.
    for n in 0..30 {
        assert!(campanile(dir.path(), &["send", "--title", &format!("Local {n}")]).status.success());
    }
    let out = campanile(dir.path(), &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("alice: 31 unread"), "{text}");
    assert_eq!(text.lines().count(), 32, "the header and all 31 items:\n{text}");
    assert!(text.contains("Local 0") && text.contains("Welcome to Campanile"), "{text}");
}

#[test]
fn a_long_detail_scrolls_to_its_end_without_tab_and_says_how_far() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("detail", dir.path(), (120, 30), &[], &[]);
    tmux.wait_for("Welcome to Campanile");
    let body: String = (1..=60).map(|i| format!("line {i} of the log\n")).collect();
    let url = format!("https://ci.example/{}", "segment/".repeat(20));
    let out = campanile(dir.path(), &["send", "--title", "Long report", "--body", &body, "--url", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tmux.wait_for("Long report");
    tmux.keys(&["g", "Enter"]);
    let screen = tmux
        .wait_until("the detail with its indicator", |s| s.contains("line 1 of the log") && s.contains("/"));
    assert!(!screen.contains("line 60 of the log"), "{screen}");
    // The list keeps the focus; J and ctrl-d scroll the detail anyway.
    for _ in 0..4 {
        tmux.keys(&["C-d"]);
    }
    for _ in 0..40 {
        tmux.keys(&["J"]);
    }
    // The keys may still be on their way: wait until the indicator reaches the end.
    let at_end = |s: &str| {
        s.lines()
            .find(|l| l.contains("Detail"))
            .and_then(|h| h.trim_end().rsplit_once('/'))
            .is_some_and(|(shown, total)| shown.ends_with(&format!("–{}", total.trim())))
    };
    let screen = tmux
        .wait_until("the end of the detail, the per-channel reasons, the indicator at the end", |s| {
            s.contains("Why") && at_end(s)
        });
    let last_why = screen.lines().rev().find(|l| l.contains("desktop")).unwrap_or_default();
    assert!(!last_why.is_empty(), "the last channel's reason shows:\n{screen}");
}

#[test]
fn a_second_tui_takes_over_the_engine_when_the_first_quits_and_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("takeover", dir.path(), (100, 20), &[], &[]);
    tmux.wait_for("embedded");
    tmux.spawn("second", dir.path(), (100, 20), &[], &[]);
    tmux.wait_until_in("second", "the second TUI on the first's engine", |s| {
        s.contains("connected to local engine") && s.contains("Welcome to Campanile")
    });

    tmux.keys(&["q"]);
    eventually("the first TUI gone", || tmux.alive("tui"), |alive| !alive);
    // Sent while the engine changes hands: into the store directly, or to the successor.
    let out = campanile(dir.path(), &["send", "--title", "Sent during the handover"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let started = Instant::now();
    let screen = tmux.wait_until_in("second", "the item sent during the handover", |s| {
        s.contains("Sent during the handover") && !s.contains("reconnecting")
    });
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}:\n{screen}", started.elapsed());
    assert!(screen.contains("2 unread"), "{screen}");
    // It serves the socket now: a send reaches it live.
    let out = campanile(dir.path(), &["send", "--title", "After the handover"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tmux.wait_until_in("second", "a live item", |s| {
        s.contains("After the handover") && s.contains("3 unread")
    });
}

#[test]
fn a_new_webhook_secret_is_asked_for_on_its_row_shown_until_closed_and_copied_with_y() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("secret", dir.path(), (120, 30), &[], &[]);
    // OSC 52 from the program becomes a tmux paste buffer.
    assert!(tmux.cmd(&["set-option", "-g", "set-clipboard", "on"]).status.success());
    tmux.wait_for("Welcome to Campanile");
    tmux.keys(&["p"]);
    tmux.wait_for("Channels");
    // `g` on another row makes nothing (it used to make a secret from any row).
    tmux.keys(&["g"]);
    for _ in 0..12 {
        tmux.keys(&["j"]);
    }
    let on_row = |s: &str| s.lines().any(|l| l.contains('▸') && l.contains("secret"));
    let screen = tmux.wait_until("the cursor on the secret row", |s| on_row(s) && s.contains("n new secret"));
    assert!(screen.contains("(none) · n makes one"), "{screen}");
    tmux.keys(&["n"]);
    tmux.wait_for("Make a new webhook secret?");
    tmux.keys(&["y"]);
    let whole = |s: &str| {
        s.split(|c: char| c.is_whitespace() || c == '│')
            .find(|w| w.starts_with("whsec_") && !w.contains('*'))
            .map(str::to_string)
    };
    // The secret whole on one line at 120 columns, with the dialog's keys under it.
    let screen = tmux.wait_until("the new secret", |s| whole(s).is_some() && s.contains("copy it"));
    let secret = whole(&screen).unwrap();
    assert!(secret.len() > 40, "{secret}");
    tmux.keys(&["y"]);
    tmux.wait_for("Copied the new webhook secret");
    let buffer = eventually(
        "the secret on the clipboard (tmux's paste buffer)",
        || String::from_utf8_lossy(&tmux.cmd(&["show-buffer"]).stdout).into_owned(),
        |b| *b == secret,
    );
    assert_eq!(buffer, secret);
    // Other keys and the status message leave it up.
    tmux.keys(&["j", "w"]);
    let screen = tmux.wait_for("Copied the new webhook secret");
    assert!(screen.contains(&secret) && screen.contains("shown this once"), "{screen}");
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("w saves it (the old one works until then)");
    assert!(!screen.contains(&secret), "never shown again:\n{screen}");
    assert!(screen.contains("whsec_******** · n makes a new one"), "{screen}");
}

#[test]
fn a_save_that_meets_another_clients_save_keeps_both_changes_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("merge", dir.path(), (100, 24), &[], &[]);
    tmux.wait_for("Welcome to Campanile");
    tmux.spawn("second", dir.path(), (100, 24), &[], &[]);
    tmux.wait_until_in("second", "the second TUI", |s| s.contains("connected to local engine"));
    let row = |s: &str, label: &str| s.lines().find(|l| l.contains(label)).unwrap_or_default().to_string();
    // The first switches weekends on and does not save yet.
    tmux.keys(&["p", "3", "j", "j", "j", "j"]);
    tmux.wait_until("the cursor on weekends", |s| row(s, "weekends muted").contains('▸'));
    tmux.keys(&["Space"]);
    tmux.wait_until("weekends on, unsaved", |s| {
        row(s, "weekends muted").contains(" on") && s.contains("unsaved")
    });
    // The second switches quiet hours on and saves.
    tmux.keys_to("second", &["p", "3"]);
    tmux.wait_until_in("second", "the quiet hours tab", |s| row(s, "quiet hours").contains('▸'));
    tmux.keys_to("second", &["Space", "w"]);
    tmux.wait_until_in("second", "the second's save", |s| s.contains("Preferences saved (version 1)"));
    tmux.wait_for("saving merges them with yours");
    // The first saves: its change and the other's both stay, nothing asked.
    tmux.keys(&["w"]);
    let screen = tmux.wait_for("Preferences saved (version 2)");
    assert!(!screen.contains("Version conflict"), "{screen}");
    assert!(row(&screen, "weekends muted").contains(" on"), "mine:\n{screen}");
    assert!(row(&screen, "quiet hours ").contains(" on"), "theirs, kept:\n{screen}");
    let screen = tmux.wait_until_in("second", "the merge in the other TUI", |s| {
        row(s, "weekends muted").contains(" on") && s.contains("version 2")
    });
    assert!(row(&screen, "quiet hours ").contains(" on"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_remote_inbox_says_so_instead_of_a_blank_pane() {
    let daemon = support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = format!("http://{}", daemon.addr);
    let tmux = Tmux::start(
        "empty",
        dir.path(),
        (100, 20),
        &[],
        &["--server", &server, "--token", daemon.token("alice")],
    );
    let screen = tmux.wait_for("Inbox zero");
    assert!(screen.contains("no unread") && !screen.contains("Loading"), "{screen}");
    daemon.stop().await;
    // The key that cuts the wait short is named where the loss is said.
    tmux.wait_until("the lost server", |s| s.contains("ctrl-r retries now") && s.contains("reconnecting in"));
}

#[test]
fn n_jumps_to_the_next_unread_bang_to_urgent_and_y_copies_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("jumps", dir.path(), (120, 24), &[], &[]);
    assert!(tmux.cmd(&["set-option", "-g", "set-clipboard", "on"]).status.success());
    tmux.wait_for("Welcome to Campanile");
    let url = "https://ci.example/run/4711";
    for (title, extra) in [
        ("Pager went off", vec!["--urgency", "urgent", "--url", url]),
        ("Quiet note", vec![]),
        ("Newest item", vec![]),
    ] {
        let mut args = vec!["send", "--title", title];
        args.extend(extra);
        let out = campanile(dir.path(), &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    tmux.wait_for("Newest item");
    let cursor_on = |s: &str, title: &str| s.lines().any(|l| l.contains('▸') && l.contains(title));
    tmux.keys(&["g"]);
    let screen = tmux.wait_until("the cursor on the newest", |s| cursor_on(s, "Newest item"));
    assert!(screen.contains(" 1/4 "), "the position in the list:\n{screen}");
    // Read the next one, then n skips it.
    tmux.keys(&["j", "r"]);
    tmux.wait_for("3 unread");
    tmux.keys(&["g", "n"]);
    let screen = tmux.wait_until("n on the next unread", |s| cursor_on(s, "Pager went off"));
    assert!(screen.contains(" 3/4 "), "{screen}");
    tmux.keys(&["g", "!"]);
    tmux.wait_until("! on the urgent item", |s| cursor_on(s, "Pager went off"));
    tmux.keys(&["y"]);
    tmux.wait_for("Copied the link");
    let buffer = eventually(
        "the link on the clipboard",
        || String::from_utf8_lossy(&tmux.cmd(&["show-buffer"]).stdout).into_owned(),
        |b| b == url,
    );
    assert_eq!(buffer, url);
}

#[test]
fn e_suspends_the_tui_for_the_pager_and_comes_back_with_every_key_working() {
    let dir = tempfile::tempdir().unwrap();
    // A pager that keeps what it was given, says it is up, and waits for a line on the tty.
    let paged = dir.path().join("paged.txt");
    let script = dir.path().join("pager.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat > '{}'\necho PAGER-IS-UP\nread line < /dev/tty\n", paged.display()),
    )
    .unwrap();
    let pager = format!("PAGER='sh {}'", script.display());
    let tmux = Tmux::start("pager", dir.path(), (100, 20), &[&pager], &[]);
    tmux.wait_for("Welcome to Campanile");
    let out = campanile(
        dir.path(),
        &["send", "--title", "Paged item", "--body", "the body to read", "--url", "https://ci.example/9"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cursor_on = |s: &str, title: &str| s.lines().any(|l| l.contains('▸') && l.contains(title));
    tmux.wait_for("Paged item");
    tmux.keys(&["g"]);
    tmux.wait_until("the cursor on the new item", |s| cursor_on(s, "Paged item"));
    tmux.keys(&["Enter"]);
    // Once its delivery and reasons are in, the detail is longer than the pane.
    let total = |s: &str| {
        s.lines()
            .find(|l| l.starts_with('│') && l.contains("Detail"))
            .and_then(|h| h.trim_end().rsplit_once('/'))
            .and_then(|(_, t)| t.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    tmux.wait_until("the detail with its delivery and reasons", |s| total(s) > 12);
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("PAGER-IS-UP");
    assert!(!screen.contains("campanile │"), "the TUI gave the terminal up:\n{screen}");
    let text = std::fs::read_to_string(&paged).unwrap();
    for part in ["Paged item", "the body to read", "https://ci.example/9", "Why"] {
        assert!(text.contains(part), "{part}:\n{text}");
    }
    // The pager gets the keys typed while it runs, not the TUI.
    tmux.keys(&["j", "Enter"]);
    let screen = tmux.wait_until("the TUI back", |s| s.contains("campanile │") && s.contains("Paged item"));
    assert!(cursor_on(&screen, "Paged item"), "the pager's j did not move the list:\n{screen}");
    tmux.keys(&["Escape", "j"]);
    tmux.wait_until("keys work again", |s| cursor_on(s, "Welcome to Campanile"));
}

#[test]
fn the_command_palette_finds_an_action_by_typing_and_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("palette", dir.path(), (100, 24), &[], &[]);
    tmux.wait_for("Welcome to Campanile");
    tmux.keys(&[":"]);
    tmux.wait_for("Actions");
    tmux.keys(&["a", "r", "c", "h"]);
    let screen = tmux.wait_until("the match highlighted", |s| {
        s.contains(":arch") && s.lines().any(|l| l.contains('▸') && l.contains("archive or unarchive"))
    });
    assert!(screen.contains("archive"), "{screen}");
    tmux.keys(&["Enter"]);
    // Waits for the whole frame: the list, the status line and the list's footer again.
    tmux.wait_until("the item archived", |s| {
        !s.contains("Actions")
            && s.contains("Inbox zero")
            && s.contains("Archived")
            && s.contains("enter open")
    });
}
