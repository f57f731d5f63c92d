//! The real binary, as a user runs it: explain, config check/path, send/list, audit verify,
//! completions. Every run gets its own XDG directories so nothing touches the real home.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().unwrap() }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_campanile"));
        let root = self.dir.path();
        c.args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", root)
            .env("USER", "alice")
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_STATE_HOME", root.join("state"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .env("NO_COLOR", "1")
            .env("TZ", "UTC");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn explain_json(sb: &Sandbox, event: &str, at: &str) -> serde_json::Value {
    let o =
        sb.run(&["explain", "--prefs", "assets/examples/prefs.toml", "--event", event, "--at", at, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn explain_the_shipped_examples() {
    let sb = Sandbox::new();
    // 06:30Z is 07:30 in Berlin: inside 22:00-08:00. The rule makes the main-branch failure
    // urgent, so it bypasses quiet hours and repeats on the desktop.
    let plan = explain_json(&sb, "assets/examples/build-failed.json", "2027-03-14T06:30:00Z");
    assert_eq!(
        plan["inbox"],
        serde_json::json!({"record": true, "read": false, "reasons": ["rules matched: CI failures on main are urgent"]})
    );
    assert_eq!(plan["channels"]["desktop"]["plan"], "deliver");
    assert_eq!(plan["channels"]["desktop"]["repeat"]["every_minutes"], 10);
    assert_eq!(
        plan["channels"]["slack"],
        serde_json::json!({"plan": "suppress", "reason": "disabled", "reasons": ["channel off"]})
    );

    // A normal comment in the same minute waits for the end of the window, in UTC.
    let plan = explain_json(&sb, "assets/examples/comment.json", "2027-03-14T06:30:00Z");
    assert_eq!(plan["channels"]["email"]["plan"], "hold");
    assert_eq!(plan["channels"]["email"]["until"], "2027-03-14T07:00:00Z");
    assert_eq!(plan["channels"]["desktop"]["reason"], "urgency");

    // Midday: e-mail goes at once.
    let plan = explain_json(&sb, "assets/examples/payment-failed.json", "2027-03-14T12:30:00Z");
    assert_eq!(plan["channels"]["email"]["plan"], "deliver");

    // Human output: one line per channel.
    let o = sb.run(&[
        "explain",
        "--prefs",
        "assets/examples/prefs.toml",
        "--event",
        "assets/examples/comment.json",
        "--at",
        "2027-03-14T06:30:00Z",
    ]);
    let text = stdout(&o);
    // Local time (TZ=UTC here) and how far from `--at`: no RFC 3339 in the human form.
    assert!(text.contains("at Sun 14 Mar 2027 06:30:00 UTC"), "{text}");
    assert!(text.contains("hold until 07:00 (in 30 min)"), "{text}");
    assert!(text.contains("quiet hours 22:00-08:00 Europe/Berlin"), "{text}");
}

#[test]
fn explain_reads_the_event_from_stdin_and_presence() {
    let sb = Sandbox::new();
    let ev = r#"{"type":"issue.commented","title":"Bob commented","thread":"repo#9","urgency":"urgent"}"#;
    let o = sb.run_with_stdin(
        &["explain", "--event", "-", "--at", "2027-03-14T12:00:00Z", "--presence", "active:repo#9", "--json"],
        ev,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["inbox"]["read"], true);
    assert_eq!(plan["channels"]["desktop"]["reason"], "viewing");
}

#[test]
fn explain_bad_input_exits_2_naming_the_field() {
    let sb = Sandbox::new();
    let cases: &[(&[&str], &str)] = &[
        (&["explain", "--event", "assets/examples/comment.json", "--at", "tomorrow"], "--at"),
        (&["explain", "--event", "assets/examples/comment.json", "--presence", "busy"], "--presence"),
        (&["explain", "--event", "no-such-file.json"], "no-such-file.json"),
    ];
    for (args, needle) in cases {
        let o = sb.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    let bad_event = sb.path("bad.json");
    std::fs::write(&bad_event, r#"{"type":"a.b","title":"t","urgency":"asap"}"#).unwrap();
    let o = sb.run(&["explain", "--event", bad_event.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("urgency"), "{}", stderr(&o));

    let bad_prefs = sb.path("prefs.toml");
    std::fs::write(&bad_prefs, "[quiet_hours]\nenabled = true\ntimezone = \"Europe/Berln\"\n").unwrap();
    let o = sb.run(&[
        "explain",
        "--prefs",
        bad_prefs.to_str().unwrap(),
        "--event",
        "assets/examples/comment.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("quiet_hours.timezone") && err.contains("Europe/Berln"), "{err}");

    std::fs::write(&bad_prefs, "[quiet_hours]\nstart = \"25:00\"\n").unwrap();
    let o = sb.run(&[
        "explain",
        "--prefs",
        bad_prefs.to_str().unwrap(),
        "--event",
        "assets/examples/comment.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("quiet_hours.start"), "{}", stderr(&o));
}

#[test]
fn config_check_reports_the_first_error_with_its_key() {
    let sb = Sandbox::new();
    let o = sb.run(&["config", "check", "config.example.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("ok"));

    let file = sb.path("c.toml");
    for (text, needles) in [
        ("[daemon]\nlisten = \"localhost\"\n", vec!["daemon.listen", "127.0.0.1:7878"]),
        ("[engine]\n\npresence_ttl = 5\n", vec!["engine", ":3", "presence_ttl"]),
        ("[daemon]\nsynchronous = \"sometimes\"\n", vec!["daemon.synchronous", "sometimes"]),
        (
            "[defaults.channels.email]\naddress = \"not-an-address\"\n",
            vec!["defaults.channels.email.address"],
        ),
        ("[required.events]\n\"payment.failed\" = [\"fax\"]\n", vec!["required.events", "fax"]),
        ("data_dir = [1, 2\n", vec!["c.toml:"]),
    ] {
        std::fs::write(&file, text).unwrap();
        let o = sb.run(&["config", "check", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        let err = stderr(&o);
        for n in needles {
            assert!(err.contains(n), "{text:?} → {err}");
        }
    }
    // The file in use is checked too, and a broken one stops every command.
    std::fs::write(&file, "colour = true\n").unwrap();
    let o = sb.run(&["--config", file.to_str().unwrap(), "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("colour"));
}

#[test]
fn config_check_names_the_line_of_a_bad_tui_key_or_colour() {
    let sb = Sandbox::new();
    let file = sb.path("tui.toml");
    for (text, needles) in [
        ("[tui.keys]\narchive = \"x\"\nfly = \"z\"\n", vec!["tui.toml:3", "tui.keys.fly", "no action `fly`"]),
        (
            "[tui.keys]\n\narchive = \"ctrl-\"\n",
            vec!["tui.toml:3", "tui.keys.archive", "`ctrl-` is not a key"],
        ),
        (
            "[tui.keys]\nnext_unread = \"j\"\n",
            vec!["tui.toml:2", "`j` is bound twice: to next_unread and to move_down"],
        ),
        (
            "[tui.keys]\narchive = [\"x\", \"ctrl-a\"]\nsnooze = \"x\"\n",
            vec!["tui.toml:3", "`x` is bound twice"],
        ),
        ("[tui.theme]\nname = \"light\"\naccent = \"sky\"\n", vec!["tui.toml:3", "tui.theme.accent", "sky"]),
        ("[tui.theme]\nname = \"sepia\"\n", vec!["tui.theme.name", "sepia"]),
    ] {
        std::fs::write(&file, text).unwrap();
        let o = sb.run(&["config", "check", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        let err = stderr(&o);
        for n in needles {
            assert!(err.contains(n), "{text:?} → {err}");
        }
    }
    let good = "[tui.keys]\narchive = \"x\"\nmove_down = [\"j\", \"down\", \"ctrl-n\"]\n\
                [tui.theme]\nname = \"light\"\naccent = \"#ff8800\"\n";
    std::fs::write(&file, good).unwrap();
    let o = sb.run(&["config", "check", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn config_path_follows_xdg_and_flags() {
    let sb = Sandbox::new();
    let o = sb.run(&["config", "path"]);
    let text = stdout(&o);
    assert!(text.contains(&sb.path("data/campanile/campanile.db").display().to_string()), "{text}");
    assert!(text.contains(&sb.path("config/campanile/config.toml").display().to_string()), "{text}");
    assert!(text.contains(&sb.path("run/campanile/engine.sock").display().to_string()), "{text}");
    let o = sb.run(&["--data", "/tmp/elsewhere", "config", "path"]);
    assert!(stdout(&o).contains("/tmp/elsewhere/campanile.db"));
    let o = sb.cmd(&["config", "path"]).env("CAMPANILE_DATA_DIR", "/tmp/by-env").output().unwrap();
    assert!(stdout(&o).contains("/tmp/by-env/campanile.db"));
}

#[test]
fn send_list_and_audit_verify() {
    let sb = Sandbox::new();
    let o =
        sb.run(&["send", "--title", "Backup done", "--body", "42 GB in 3 min", "--type", "backup.completed"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let id = stdout(&o).trim().to_string();
    assert_eq!(id.len(), 26, "a ULID: {id}");
    let o = sb
        .run_with_stdin(&["send"], r#"{"type":"deploy.failed","title":"Deploy failed","urgency":"urgent"}"#);
    assert!(o.status.success(), "{}", stderr(&o));

    let o = sb.run(&["list"]);
    let text = stdout(&o);
    assert!(text.starts_with("alice: 3 unread"), "the two sent and the welcome: {text}");
    assert!(text.contains("Welcome to Campanile"), "{text}");
    let deploy = text.find("Deploy failed").unwrap();
    let backup = text.find("Backup done").unwrap();
    assert!(deploy < backup, "newest first: {text}");
    assert!(text.contains("!!"), "urgent mark: {text}");

    let o = sb.run(&["send", "--title", "x", "--to", "nobody"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nobody"));

    let o = sb.run(&["audit", "verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("ok ") && stdout(&o).trim_end().ends_with(" records"), "{}", stdout(&o));

    let db = sb.path("data/campanile/campanile.db");
    let seq = tamper(&db);
    let o = sb.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("record {seq} ")), "{}", stderr(&o));
}

/// Changes one byte of the audit record of the backup event; returns its seq.
fn tamper(db: &Path) -> i64 {
    let raw = rusqlite::Connection::open(db).unwrap();
    let seq: i64 = raw
        .query_row(
            "SELECT seq FROM audit WHERE record LIKE '%event.accepted%' AND record LIKE '%backup.completed%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let n = raw
        .execute("UPDATE audit SET record = replace(record, 'backup', 'bakup') WHERE seq = ?1", [seq])
        .unwrap();
    assert_eq!(n, 1);
    seq
}

#[test]
fn users_and_tokens() {
    let sb = Sandbox::new();
    let o = sb.run(&["user", "add", "bob", "--email", "bob@example.com"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sb.run(&["user", "add", "eve", "--email", "not-an-address"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("email"), "{}", stderr(&o));
    let o = sb.run(&["token", "create", "--user", "bob", "--scope", "publisher"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let token = stdout(&o).trim().to_string();
    assert!(token.starts_with("cmp_") && token.len() == 68, "{token}");
    let o = sb.run(&["token", "create", "--user", "nobody"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nobody"));
    let o = sb.run(&["token", "create", "--user", "bob", "--scope", "root"]);
    assert_eq!(o.status.code(), Some(2));
    let o = sb.run(&["user", "list"]);
    assert!(stdout(&o).contains("bob\tbob@example.com"), "{}", stdout(&o));
}

#[test]
fn completions_are_printed() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let o = sb.run(&["completions", shell]);
        assert!(o.status.success());
        assert!(stdout(&o).contains("explain"), "{shell}");
    }
}

#[test]
fn send_and_user_list_explain_themselves_and_help_keeps_global_options_apart() {
    let sb = Sandbox::new();
    let out = sb.run_with_stdin(&["send"], "");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("nothing on stdin: give --title"), "{err}");
    let out = sb.run_with_stdin(&["send"], r#"{"type":"a.b","title":1}"#);
    let err = stderr(&out);
    assert!(err.starts_with("error: title: invalid type"), "one prefix, the field named: {err}");
    assert!(!err.contains("event: event:"), "{err}");

    let out = sb.run(&["user", "list"]);
    assert!(stdout(&out).starts_with("no users"), "{}", stdout(&out));

    let help = stdout(&sb.run(&["send", "--help"]));
    let (event, global) = help.split_once("Global options:").unwrap();
    assert!(global.contains("--data <DIR>") && !event.contains("--data"), "{help}");
    assert!(event.contains("[possible values: low, normal, high, urgent]"), "{help}");
    for flag in ["--body", "--url", "--category", "--thread"] {
        let line = event.lines().find(|l| l.trim_start().starts_with(flag)).unwrap();
        assert!(line.split_once('>').is_some_and(|(_, h)| !h.trim().is_empty()), "no help: {line}");
    }
    let bash = stdout(&sb.run(&["completions", "bash"]));
    assert!(bash.contains("low normal high urgent"), "completions offer the urgencies");
}

#[test]
fn bench_writes_its_report_to_the_state_directory_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
        .current_dir(&cwd)
        .env("HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CAMPANILE_SERVER")
        .args(["--data", dir.path().join("data").to_str().unwrap()])
        .args(["bench", "--seconds", "1", "--publishers", "1", "--subscribers", "0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = dir.path().join("state/campanile/bench-report.json");
    assert!(report.exists(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&report.display().to_string()));
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0, "nothing written where it ran");
}

#[test]
fn bench_users_measures_a_daemon_in_another_process_and_every_connection_gets_every_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("users.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
        .env("HOME", dir.path())
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CAMPANILE_SERVER")
        .args(["--data", dir.path().join("data").to_str().unwrap()])
        .args(["bench", "--users", "40", "--broadcasts", "3", "--synchronous", "normal", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("40 users, one connection each, 3 broadcasts"), "{text}");
    assert!(text.contains("missing   0 frames"), "{text}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["frames_missing"], 0);
    let pid = r["target"].as_str().unwrap().split("pid ").nth(1).unwrap().split(')').next().unwrap();
    assert_ne!(pid, std::process::id().to_string(), "the daemon ran in a process of its own");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "and it was stopped");
    assert!(r["server_cpu_ms_per_broadcast"].as_f64().unwrap() >= 0.0);
    assert!(r["reach_ms"]["max"].as_f64().unwrap() >= r["reach_ms"]["p50"].as_f64().unwrap());
    assert!(r["rss_idle_kib"].as_u64().unwrap() > 0);
}
