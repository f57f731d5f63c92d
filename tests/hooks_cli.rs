//! `campanile hook create|list|revoke` and `campanile explain --hook` through the real
//! binary, each run in its own XDG directories.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::process::{Command, Output, Stdio};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().unwrap() }
    }

    fn run(&self, args: &[&str]) -> Output {
        let root = self.dir.path();
        Command::new(env!("CARGO_BIN_EXE_campanile"))
            .args(args)
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
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_hook_is_created_with_its_path_and_secret_listed_and_revoked() {
    let sb = Sandbox::new();
    assert!(sb.run(&["user", "add", "alice"]).status.success());
    let o = sb.run(&["hook", "create", "--source", "github", "--user", "alice", "--label", "bellows CI"]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let path = text.lines().find_map(|l| l.strip_prefix("path    ")).unwrap().to_string();
    let secret = text.lines().find_map(|l| l.strip_prefix("secret  ")).unwrap().to_string();
    assert!(path.starts_with("/api/v1/hooks/hk_"), "{text}");
    assert!(secret.len() >= 32, "{text}");
    assert!(err(&o).contains("shown once"), "{}", err(&o));
    let id = path.rsplit('/').next().unwrap();

    let o = sb.run(&["hook", "list"]);
    let listed = out(&o);
    assert!(listed.contains(id) && listed.contains("github") && listed.contains("bellows CI"), "{listed}");
    assert!(listed.contains("active"), "{listed}");
    assert!(!listed.contains(&secret), "a listing never shows the secret: {listed}");

    assert!(sb.run(&["hook", "revoke", id]).status.success());
    assert!(out(&sb.run(&["hook", "list"])).contains("revoked"));
    let o = sb.run(&["hook", "revoke", id]);
    assert_eq!(o.status.code(), Some(2), "revoked once");
    assert!(err(&o).contains("no active hook"), "{}", err(&o));
}

#[test]
fn a_hook_needs_a_target_that_exists() {
    let sb = Sandbox::new();
    let o = sb.run(&["hook", "create", "--source", "github"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--user") || err(&o).contains("--topic"), "{}", err(&o));
    let o = sb.run(&["hook", "create", "--source", "github", "--user", "ghost"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no user named `ghost`"), "{}", err(&o));
    let o = sb.run(&["hook", "create", "--source", "github", "--user", "alice", "--topic", "x"]);
    assert_eq!(o.status.code(), Some(2), "one target: {}", err(&o));
}

#[test]
fn explain_shows_what_a_hook_payload_becomes_and_why() {
    let sb = Sandbox::new();
    let file = "tests/fixtures/hooks/github_workflow_run_failure.json";
    let o = sb.run(&[
        "explain",
        "--hook",
        "github",
        "--event-kind",
        "workflow_run",
        file,
        "--at",
        "2027-03-14T06:30:00Z",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    assert!(text.starts_with("hook github payload → 1 event"), "{text}");
    assert!(text.contains("failed on `main`, the default (or a listed) branch: high"), "{text}");
    assert!(text.contains("\"type\": \"ci.failed\""), "{text}");
    assert!(text.contains("event ci.failed \"Build and test failed on main (acme/bellows)\""), "{text}");
    assert!(text.lines().any(|l| l.starts_with("desktop")), "the engine's plan follows: {text}");

    let o = sb.run(&[
        "explain",
        "--json",
        "--hook",
        "alertmanager",
        "tests/fixtures/hooks/alertmanager_firing.json",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["event"]["urgency"], "urgent");
    assert_eq!(events[0]["plan"]["channels"]["desktop"]["plan"], "deliver", "{}", events[0]["plan"]);
    assert!(
        events[0]["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("critical"))
    );

    let o = sb.run(&[
        "explain",
        "--hook",
        "github",
        "--event-kind",
        "ping",
        "tests/fixtures/hooks/github_ping.json",
    ]);
    assert!(out(&o).starts_with("nothing recorded: ping"), "{}", out(&o));
    let o = sb.run(&["explain", "--hook", "github", file]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--event-kind workflow_run"), "{}", err(&o));
    let o = sb.run(&["explain", "--hook", "github", "--event-kind", "issues", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not JSON"), "{}", err(&o));
}
