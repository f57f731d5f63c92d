//! `store copy` (issue 14): a store with something in every table goes SQLite → PostgreSQL →
//! SQLite (SQLite → SQLite → SQLite when no PostgreSQL is configured) and everything the
//! seam can read back is the same at each step: users, tokens (which still authenticate),
//! preferences, every notification with its change log, schedule and deliveries, counts,
//! hooks, topics, devices, the stream identity and the audit chain, which verifies. A copy
//! into a store that holds anything is refused; the command line does the same.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use campanile::engine::{Policy, Presence};
use campanile::model::{Channel, Event, HookSource, HookTarget, InboxFilter, View};
use campanile::prefs::Preferences;
use campanile::store::prelude::*;
use campanile::store::transfer::copy;
use campanile::store::{
    AcceptContext, Attempt, AttemptStatus, InboxOp, ListFilter, Location, NewHook, Scope, StoreError,
    Submission, Synchronous, Verdict,
};
use jiff::{SignedDuration, Timestamp};

fn t0() -> Timestamp {
    "2027-03-15T10:00:00Z".parse().unwrap()
}

fn prefs() -> Preferences {
    Preferences::parse(
        "[channels.webhook]\nenabled = true\nurl = \"https://hooks.example/x\"\n\
         [channels.email]\nenabled = true\naddress = \"alice@example.com\"\nfrequency = \"daily\"\n\
         [channels.push]\nenabled = true\n",
    )
    .unwrap()
}

/// Something in every table: returns a token that must still work on the copies.
fn fill(s: &mut dyn Store) -> String {
    let now = t0();
    s.upsert_user("alice", Some("alice@example.com"), now).unwrap();
    s.upsert_user("bob", None, now).unwrap();
    s.set_profile("alice", Some("Alice Liddell"), Some("+44 1"), None).unwrap();
    let token = s.create_token("alice", Scope::User, Some("laptop"), now).unwrap();
    s.create_token_until("bob", Scope::Publisher, None, Some(now + SignedDuration::from_hours(48)), now)
        .unwrap();
    let prefs = prefs();
    s.put_prefs("alice", &prefs, Some(0), &Preferences::default(), now).unwrap();
    s.add_device_token("alice", "ntfy", "alice-phone", now).unwrap();
    s.subscribe("builds", "alice", now).unwrap();
    s.subscribe("builds", "bob", now).unwrap();
    let hook = NewHook {
        source: HookSource::Github,
        target: HookTarget::Users(vec!["alice".into()]),
        label: Some("repo".into()),
        template: None,
    };
    s.create_hook(&hook, now).unwrap();
    let gone = s.create_hook(&hook, now).unwrap();
    s.revoke_hook(&gone.id, now).unwrap();

    let policy = Policy::default();
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext { policy: &policy, defaults: &prefs, presence: &away, now };
    let events = [
        r#"{"id":"k1","type":"ci.build","title":"one","thread":"repo#1","to":{"topic":"builds"}}"#,
        r#"{"type":"ci.build","title":"two","collapse_key":"c","to":{"users":["alice"]}}"#,
        r#"{"type":"ci.build","title":"three","collapse_key":"c","to":{"users":["alice"]},"body":"Grüße"}"#,
        r#"{"type":"billing.invoice","title":"urgent","urgency":"urgent","to":{"users":["alice"]},"data":{"n":1}}"#,
        r#"{"type":"ci.build","title":"for bob","to":{"users":["bob"]}}"#,
        r#"{"type":"ci.build","title":"archived","thread":"repo#2","to":{"users":["alice"]}}"#,
    ];
    let subs: Vec<Submission> = events
        .iter()
        .map(|json| Submission {
            producer: "ci".into(),
            idempotency_key: None,
            default_user: None,
            event: Event::from_json(json).unwrap(),
        })
        .collect();
    let ids: Vec<String> = s
        .accept_batch(&subs, &ctx)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().notifications[0].clone())
        .collect();
    s.apply("alice", std::slice::from_ref(&ids[5]), InboxOp::Archive, now).unwrap();
    s.apply(
        "alice",
        std::slice::from_ref(&ids[1]),
        InboxOp::Snooze(now + SignedDuration::from_hours(2)),
        now,
    )
    .unwrap();
    s.bulk("bob", InboxOp::MarkRead, &InboxFilter::default(), None, now).unwrap();
    // Deliveries: one attempt failed and waits for its retry; a digest is gathered.
    let (jobs, _) = s.claim_deliveries(now, 10, &prefs).unwrap();
    assert!(!jobs.is_empty());
    let failed = Attempt {
        status: AttemptStatus::Failed { retry_at: now + SignedDuration::from_mins(5) },
        error: Some("HTTP 503".into()),
        target: "https://hooks.example/x".into(),
        content_hash: None,
    };
    s.record_attempts(&[(jobs[0].id.clone(), failed)], now).unwrap();
    s.run_due(now + SignedDuration::from_hours(30)).unwrap();
    s.record_audit_head().unwrap();
    token
}

/// Everything the seam reads back, as text.
fn snapshot(s: &dyn Store) -> String {
    let now = t0();
    let mut out = Vec::new();
    out.push(format!("stream {}", s.stream()));
    out.push(format!("users {:?}", s.users().unwrap()));
    out.push(format!("tokens {:?} epoch {}", s.tokens(None).unwrap(), s.token_epoch().unwrap()));
    out.push(format!("hooks {:?}", s.hooks().unwrap()));
    out.push(format!("topics {:?}", s.topics("alice", false).unwrap()));
    out.push(format!("counts {:?}", s.table_counts().unwrap()));
    out.push(format!(
        "due {:?} {:?} depth {}",
        s.next_due().unwrap(),
        s.next_delivery_due().unwrap(),
        s.outbox_depth().unwrap()
    ));
    out.push(format!(
        "audit {:?} {:?} {:?}",
        s.verify_audit().unwrap(),
        s.audit_head().unwrap(),
        s.audit_tail(1000).unwrap()
    ));
    let to = campanile::model::Recipients::Topic("builds".into());
    out.push(format!("subscribers {:?}", s.subscribers(&to, &Preferences::default()).unwrap()));
    for user in ["alice", "bob"] {
        out.push(format!("{user} prefs {:?}", s.prefs(user, &Preferences::default()).unwrap()));
        out.push(format!("{user} devices {:?}", s.device_tokens(user).unwrap()));
        out.push(format!("{user} seq {} total {}", s.last_seq(user).unwrap(), s.total(user).unwrap()));
        out.push(format!("{user} unread {:?}", s.unread_by_category(user, now).unwrap()));
        out.push(format!("{user} desktop {:?}", s.pending_deliveries(user, Channel::Desktop).unwrap()));
        out.push(format!("{user} changes {:?}", s.changes_since(user, 0, 10_000).unwrap()));
        let all = ListFilter {
            filter: InboxFilter { view: View::All, ..Default::default() },
            before: None,
            limit: 1000,
        };
        for n in s.list(user, &all, now).unwrap() {
            out.push(format!("{:?}", s.schedule_of(&n.id).unwrap()));
            out.push(format!("{:?}", s.outbox_of(&n.id).unwrap()));
            out.push(format!("{:?}", s.deliveries_of(&n.id).unwrap()));
            out.push(format!("{n:?}"));
        }
    }
    out.join("\n")
}

/// A fresh store of the other kind when there is one (PostgreSQL), else SQLite again.
fn middle() -> (Location, Box<dyn std::any::Any>) {
    match stores::FreshDatabase::create() {
        Some(db) => (Location::Postgres(db.url.clone()), Box::new(db)),
        None => stores::another(&Location::Sqlite("unused".into())),
    }
}

#[test]
fn a_store_goes_to_postgresql_and_back_with_every_row_and_its_audit_chain() {
    let (first, _a) = stores::another(&Location::Sqlite("unused".into()));
    let (second, _b) = middle();
    let (third, _c) = stores::another(&Location::Sqlite("unused".into()));
    let mut original = first.open(Synchronous::Normal).unwrap();
    let token = fill(original.as_mut());
    let expected = snapshot(original.as_ref());
    let Verdict::Ok { records } = original.verify_audit().unwrap() else { panic!("the original verifies") };
    assert!(records > 20, "{records}");

    for (from, to) in [(&first, &second), (&second, &third)] {
        let source = from.open(Synchronous::Normal).unwrap();
        let mut target = to.open(Synchronous::Normal).unwrap();
        let mut tables = Vec::new();
        let rows = copy(source.as_ref(), target.as_mut(), &mut |t, _, done| {
            if done {
                tables.push(t.to_string());
            }
        })
        .unwrap();
        assert!(rows > 50, "{rows}");
        assert!(tables.contains(&"audit".to_string()) && tables.contains(&"hooks".to_string()), "{tables:?}");
        drop(target);
        let mut copied = to.open(Synchronous::Normal).unwrap();
        // The copy passes `store check`: its counters and counts agree with its rows.
        let integrity = copied.check(std::time::Duration::from_secs(30)).unwrap();
        assert!(matches!(integrity, campanile::store::Integrity::Ok), "{to}: {integrity:?}");
        let got = snapshot(copied.as_ref());
        if got != expected {
            let first_difference = expected.lines().zip(got.lines()).find(|(a, b)| a != b);
            panic!("{from} → {to} differs; first difference:\n{first_difference:#?}");
        }
        assert_eq!(copied.authenticate(&token, t0()).unwrap().unwrap().user, "alice");

        // A copy goes only into an empty store.
        let mut again = to.open(Synchronous::Normal).unwrap();
        let e = copy(source.as_ref(), again.as_mut(), &mut |_, _, _| {}).unwrap_err();
        assert!(matches!(&e, StoreError::Taken(m) if m.contains("not empty")), "{e}");
    }

    // The copy goes on where the original stopped: the next change takes the next seq.
    let mut copy_back = third.open(Synchronous::Normal).unwrap();
    let before = copy_back.last_seq("alice").unwrap();
    copy_back.put_prefs("alice", &prefs(), Some(1), &Preferences::default(), t0()).unwrap();
    assert_eq!(copy_back.last_seq("alice").unwrap(), before + 1);
    assert!(matches!(copy_back.verify_audit().unwrap(), Verdict::Ok { .. }));
}

#[test]
fn the_command_copies_reports_and_refuses_a_store_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from.db");
    let mut original = Location::Sqlite(from.clone()).open(Synchronous::Normal).unwrap();
    fill(original.as_mut());
    drop(original);
    let (to, _kept) = middle();
    let run = |to: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
            .args(["--config", "/dev/null", "--data"])
            .arg(dir.path())
            .args(["store", "copy", "--from"])
            .arg(&from)
            .args(["--to", to])
            .env_remove("CAMPANILE_STORE")
            .output()
            .unwrap()
    };
    let target = match &to {
        Location::Postgres(url) => url.expose().to_string(),
        Location::Sqlite(path) => path.display().to_string(),
    };
    let out = run(&target);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("the copy's audit chain verifies"), "{stdout}");
    assert!(stderr.contains("notifications") && stderr.contains("audit"), "progress per table: {stderr}");
    let again = run(&target);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let bad = run("mysql://db/c");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--to: unknown store"));
}
