//! The store on every backend (a real SQLite file, and PostgreSQL when the harness has one):
//! the single-transaction accept, idempotency, contiguous per-user seq under concurrent
//! writers, group commit, collapse, and the audit chain catching a changed byte.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use campanile::engine::{Policy, Presence};
use campanile::model::Event;
use campanile::prefs::Preferences;
use campanile::store::ListFilter;
use campanile::store::Verdict;
use campanile::store::prelude::*;
use campanile::store::{AcceptContext, Location, StoreError, Submission, Synchronous};
use jiff::Timestamp;
use stores::Raw;

fn now() -> Timestamp {
    "2027-03-14T12:00:00Z".parse().unwrap()
}

fn users(s: &mut dyn Store) {
    for (name, email) in [("alice", "alice@example.com"), ("bob", "bob@example.com")] {
        s.upsert_user(name, Some(email), now()).unwrap();
    }
}

/// A store with the users, for the tests that reopen it or reach behind it.
fn open(location: &Location) -> Box<dyn Store> {
    let mut s = location.open(Synchronous::Normal).unwrap();
    users(s.as_mut());
    s
}

fn event(json: &str) -> Event {
    Event::from_json(json).unwrap()
}

fn sub(producer: &str, e: Event) -> Submission {
    Submission {
        producer: producer.into(),
        idempotency_key: None,
        default_user: Some("alice".into()),
        event: e,
    }
}

struct Ctx {
    policy: Policy,
    defaults: Preferences,
}

impl Ctx {
    fn new() -> Ctx {
        Ctx { policy: Policy::default(), defaults: Preferences::default() }
    }
    fn at(&self, now: Timestamp) -> AcceptContext<'_> {
        AcceptContext {
            policy: &self.policy,
            defaults: &self.defaults,
            presence: &|_| Presence::default(),
            now,
        }
    }
}

#[test]
fn accept_writes_everything_in_one_transaction() {
    stores::each(|store| {
        users(store);
        let ctx = Ctx::new();
        let before = store.table_counts().unwrap();
        let e = event(
            r#"{"type":"deploy.failed","title":"Deploy failed","urgency":"urgent","to":{"users":["alice","bob"]}}"#,
        );
        let ok = store.accept(&sub("ci", e), &ctx.at(now())).unwrap();
        assert_eq!(ok.notifications.len(), 2);
        assert!(!ok.duplicate);
        let after = store.table_counts().unwrap();
        // No idempotency key: nothing can replay it, so no `events` row is kept.
        assert_eq!(after["events"] - before["events"], 0);
        assert_eq!(after["notifications"] - before["notifications"], 2);
        assert_eq!(after["changes"] - before["changes"], 2);
        // Desktop delivers an urgent item by default: one outbox row and one repeat each.
        assert_eq!(after["outbox"] - before["outbox"], 2);
        assert_eq!(after["schedule"] - before["schedule"], 2);
        // One audit row for the event and both its recipients.
        assert_eq!(after["audit"] - before["audit"], 1);
        let n = store.notification(&ok.notifications[0]).unwrap();
        assert_eq!(n.title, "Deploy failed");
        assert_eq!(n.deliveries[&campanile::model::Channel::Desktop].status.as_str(), "pending");
    });
}

#[test]
fn a_failure_in_the_middle_leaves_nothing_behind() {
    stores::each_location(|location| {
        let mut store = open(location);
        let ctx = Ctx::new();
        // Make the last write of an accept (the event's audit row) fail, from outside.
        let mut raw = Raw::open(location);
        if raw.is_postgres() {
            raw.exec(
                "CREATE FUNCTION fail_event_audit() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     IF NEW.record LIKE '%event.accepted%' THEN RAISE EXCEPTION 'injected failure'; END IF;
                     RETURN NEW;
                 END $$;
                 CREATE TRIGGER fail_event_audit BEFORE INSERT ON audit
                     FOR EACH ROW EXECUTE FUNCTION fail_event_audit();",
            );
        } else {
            raw.exec(
                "CREATE TRIGGER fail_event_audit BEFORE INSERT ON audit
                 WHEN NEW.record LIKE '%event.accepted%' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            );
        }
        let before = store.table_counts().unwrap();
        let e = event(r#"{"type":"a.b","title":"t","to":{"users":["alice","bob"]},"urgency":"urgent"}"#);
        let err = store.accept(&sub("ci", e.clone()), &ctx.at(now())).unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
        assert_eq!(store.table_counts().unwrap(), before, "a failed accept must leave no row");
        assert_eq!(store.last_seq("alice").unwrap(), 0);

        raw.exec(if raw.is_postgres() {
            "DROP TRIGGER fail_event_audit ON audit"
        } else {
            "DROP TRIGGER fail_event_audit"
        });
        store.accept(&sub("ci", e), &ctx.at(now())).unwrap();
        assert_eq!(store.last_seq("alice").unwrap(), 1, "seq continues without a hole");
    });
}

#[test]
fn idempotency_returns_the_first_result_and_writes_nothing() {
    stores::each(|store| {
        users(store);
        let ctx = Ctx::new();
        let e = event(r#"{"id":"build-1","type":"build.failed","title":"Build failed"}"#);
        let first = store.accept(&sub("ci", e.clone()), &ctx.at(now())).unwrap();
        let counts = store.table_counts().unwrap();
        let again = store.accept(&sub("ci", e.clone()), &ctx.at(now())).unwrap();
        assert!(again.duplicate);
        assert_eq!(again.event, first.event);
        assert_eq!(again.notifications, first.notifications);
        assert_eq!(store.table_counts().unwrap(), counts);

        // Same id, different body: refused, never merged.
        let mut changed = e.clone();
        changed.title = "Build fixed".into();
        let err = store.accept(&sub("ci", changed), &ctx.at(now())).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(ref k) if k == "build-1"), "{err}");

        // Another producer may use the same id.
        assert!(!store.accept(&sub("other", e.clone()), &ctx.at(now())).unwrap().duplicate);

        // After 24 hours the key is free again.
        let later = now().checked_add(jiff::SignedDuration::from_hours(25)).unwrap();
        let fresh = store.accept(&sub("ci", e), &ctx.at(later)).unwrap();
        assert!(!fresh.duplicate);
        assert_ne!(fresh.event, first.event);
    });
}

#[test]
fn idempotency_key_header_wins_over_event_id() {
    stores::each(|store| {
        users(store);
        let ctx = Ctx::new();
        let mut s = sub("ci", event(r#"{"type":"a.b","title":"t"}"#));
        s.idempotency_key = Some("k1".into());
        let first = store.accept(&s, &ctx.at(now())).unwrap();
        let second = store.accept(&s, &ctx.at(now())).unwrap();
        assert!(second.duplicate);
        assert_eq!(first.notifications, second.notifications);
    });
}

#[test]
fn seq_is_contiguous_per_user_under_concurrent_writers() {
    stores::each_location(|location| {
        drop(open(location));
        let writers = 4;
        let per_writer = 50;
        std::thread::scope(|scope| {
            for w in 0..writers {
                scope.spawn(move || {
                    let mut store = location.open(Synchronous::Normal).unwrap();
                    let ctx = Ctx::new();
                    for i in 0..per_writer {
                        let e = event(&format!(
                            r#"{{"type":"load.tick","title":"w{w} #{i}","to":{{"users":["alice","bob"]}}}}"#
                        ));
                        store.accept(&sub(&format!("w{w}"), e), &ctx.at(Timestamp::now())).unwrap();
                    }
                });
            }
        });
        let store = location.open(Synchronous::Normal).unwrap();
        for user in ["alice", "bob"] {
            let changes = store.changes_since(user, 0, 10_000).unwrap();
            let seqs: Vec<i64> = changes.iter().map(|c| c.seq).collect();
            let expected: Vec<i64> = (1..=(writers * per_writer) as i64).collect();
            assert_eq!(seqs, expected, "{user}'s seq must be 1..N without gaps");
            assert_eq!(store.last_seq(user).unwrap(), (writers * per_writer) as i64);
        }
        // One audit record per event, whoever it reached.
        assert_eq!(store.verify_audit().unwrap(), Verdict::Ok { records: 2 + (writers * per_writer) as u64 });
    });
}

#[test]
fn batch_commits_good_events_and_refuses_bad_ones_alone() {
    stores::each(|store| {
        users(store);
        let ctx = Ctx::new();
        let subs = vec![
            sub("ci", event(r#"{"type":"a.one","title":"one"}"#)),
            sub("ci", event(r#"{"type":"a.two","title":"two","to":{"users":["nobody"]}}"#)),
            sub("ci", event(r#"{"type":"a.three","title":"three"}"#)),
        ];
        let results = store.accept_batch(&subs, &ctx.at(now())).unwrap();
        assert!(results[0].is_ok());
        let err = results[1].as_ref().unwrap_err();
        assert!(err.to_string().contains("nobody"), "{err}");
        assert!(results[2].is_ok());
        let titles: Vec<String> = store
            .list("alice", &ListFilter { limit: 10, ..Default::default() }, jiff::Timestamp::now())
            .unwrap()
            .into_iter()
            .map(|n| n.title)
            .collect();
        assert_eq!(titles, vec!["three", "one"], "newest first, the refused one absent");
        let seqs: Vec<i64> = store.changes_since("alice", 0, 10).unwrap().iter().map(|c| c.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
    });
}

#[test]
fn repeats_collapse_into_the_unread_item() {
    stores::each(|store| {
        users(store);
        let ctx = Ctx::new();
        let e1 = event(r#"{"type":"build.failed","title":"Build failed (1)","thread":"repo#1"}"#);
        let e2 = event(r#"{"type":"build.failed","title":"Build failed (2)","thread":"repo#1"}"#);
        let a = store.accept(&sub("ci", e1), &ctx.at(now())).unwrap();
        let b = store.accept(&sub("ci", e2), &ctx.at(now())).unwrap();
        assert_eq!(a.notifications, b.notifications, "same row");
        let n = store.notification(&a.notifications[0]).unwrap();
        assert_eq!((n.count, n.title.as_str()), (2, "Build failed (2)"));
        assert_eq!(b.changes[0].kind, "notification_updated");
        // Past the window, a new row.
        let later = now().checked_add(jiff::SignedDuration::from_hours(2)).unwrap();
        let e3 = event(r#"{"type":"build.failed","title":"Build failed (3)","thread":"repo#1"}"#);
        let c = store.accept(&sub("ci", e3), &ctx.at(later)).unwrap();
        assert_ne!(c.notifications, a.notifications);
    });
}

#[test]
fn unknown_recipients_are_refused_by_name() {
    stores::each(|store| {
        users(store);
        let ctx = Ctx::new();
        let err = store
            .accept(
                &sub("ci", event(r#"{"type":"a.b","title":"t","to":{"emails":["carol@example.com"]}}"#)),
                &ctx.at(now()),
            )
            .unwrap_err();
        assert!(err.to_string().contains("carol@example.com"), "{err}");
        let ok = store
            .accept(
                &sub("ci", event(r#"{"type":"a.b","title":"t","to":{"emails":["bob@example.com"]}}"#)),
                &ctx.at(now()),
            )
            .unwrap();
        assert_eq!(store.notification(&ok.notifications[0]).unwrap().user, "bob");
        let all = store
            .accept(
                &sub("ci", event(r#"{"type":"a.b","title":"t","to":{"broadcast":true}}"#)),
                &ctx.at(now()),
            )
            .unwrap();
        assert_eq!(all.notifications.len(), 2);
    });
}

#[test]
fn held_items_get_a_schedule_row_at_the_window_end() {
    stores::each(|store| {
        users(store);
        let mut ctx = Ctx::new();
        ctx.defaults = Preferences::parse(
            "[channels.desktop]\nmin_urgency = \"low\"\n[quiet_hours]\nenabled = true\nstart = \"11:00\"\nend = \"14:30\"\ntimezone = \"UTC\"\n",
        )
        .unwrap();
        let ok = store.accept(&sub("ci", event(r#"{"type":"a.b","title":"t"}"#)), &ctx.at(now())).unwrap();
        let sched = store.schedule_of(&ok.notifications[0]).unwrap();
        assert_eq!(sched.len(), 1);
        assert_eq!(sched[0].kind, "hold");
        assert_eq!(sched[0].due, Some("2027-03-14T14:30:00Z".parse().unwrap()));
        assert!(store.outbox_of(&ok.notifications[0]).unwrap().is_empty(), "nothing delivered now");
    });
}

#[test]
fn audit_verify_catches_a_changed_byte() {
    stores::each_location(|location| {
        let mut store = open(location);
        let ctx = Ctx::new();
        for i in 0..5 {
            store
                .accept(&sub("ci", event(&format!(r#"{{"type":"a.b","title":"t{i}"}}"#))), &ctx.at(now()))
                .unwrap();
        }
        assert_eq!(store.verify_audit().unwrap(), Verdict::Ok { records: 2 + 5 });
        let mut raw = Raw::open(location);
        raw.exec(r#"UPDATE audit SET record = replace(record, '"alice"', '"alicf"') WHERE seq = 5"#);
        match store.verify_audit().unwrap() {
            Verdict::Broken { seq, problem } => {
                assert_eq!(seq, 5);
                assert!(problem.contains("content"), "{problem}");
            }
            v => panic!("tampering not caught: {v:?}"),
        }
    });
}

#[test]
fn audit_verify_catches_a_removed_or_rehashed_record() {
    stores::each_location(|location| {
        let mut store = open(location);
        let ctx = Ctx::new();
        for i in 0..3 {
            store
                .accept(&sub("ci", event(&format!(r#"{{"type":"a.b","title":"t{i}"}}"#))), &ctx.at(now()))
                .unwrap();
        }
        let mut raw = Raw::open(location);
        // A forger who recomputes the content hash still breaks the chain.
        let record = raw.texts("SELECT record FROM audit WHERE seq = 4").remove(0);
        let forged = record.replace("a.b", "a.c");
        assert_ne!(forged, record);
        let hash: String = sha_hex(forged.as_bytes());
        raw.exec(&format!(
            "UPDATE audit SET record = {}, content_hash = {} WHERE seq = 4",
            stores::literal(&forged),
            stores::literal(&hash)
        ));
        assert!(matches!(store.verify_audit().unwrap(), Verdict::Broken { seq: 4, .. }));
        raw.exec("DELETE FROM audit WHERE seq = 4");
        assert!(matches!(store.verify_audit().unwrap(), Verdict::Broken { seq: 5, .. }));
    });
}

#[test]
fn audit_verify_catches_a_chain_that_lost_its_end() {
    stores::each_location(|location| {
        let mut store = open(location);
        let ctx = Ctx::new();
        for i in 0..4 {
            store
                .accept(&sub("ci", event(&format!(r#"{{"type":"a.b","title":"t{i}"}}"#))), &ctx.at(now()))
                .unwrap();
        }
        // The writer records the head when idle; an operator keeps a copy elsewhere.
        let head = store.record_audit_head().unwrap().unwrap();
        assert_eq!(head.seq, 2 + 4);
        assert_eq!(store.verify_audit().unwrap(), Verdict::Ok { records: 6 });
        let mut raw = Raw::open(location);
        raw.exec("DELETE FROM audit WHERE seq >= 5");
        match store.verify_audit().unwrap() {
            Verdict::Broken { seq, problem } => {
                assert_eq!(seq, 5);
                assert!(problem.contains("ends at record 4") && problem.contains("missing"), "{problem}");
            }
            v => panic!("a lost tail not caught: {v:?}"),
        }
        // Someone who also rewrites the recorded head is caught by the anchor kept outside.
        raw.exec("DELETE FROM meta WHERE key = 'audit_head'");
        assert_eq!(store.verify_audit().unwrap(), Verdict::Ok { records: 4 });
        match store.verify_audit_against(Some(&head)).unwrap() {
            Verdict::Broken { problem, .. } => {
                assert!(problem.contains("the anchor is record 6"), "{problem}")
            }
            v => panic!("the anchor was not checked: {v:?}"),
        }
        // An anchor whose hash the chain does not have is caught too.
        let forged = campanile::store::AuditHead { seq: 3, hash: "0".repeat(64) };
        assert!(matches!(store.verify_audit_against(Some(&forged)).unwrap(), Verdict::Broken { seq: 3, .. }));
    });
}

fn sha_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn preferences_are_versioned() {
    stores::each(|store| {
        users(store);
        let defaults = Preferences::default();
        let (p, v) = store.prefs("alice", &defaults).unwrap();
        assert_eq!(v, 0);
        let mut p2 = p.clone();
        p2.channels.slack.enabled = true;
        let (v1, change) = store.put_prefs("alice", &p2, Some(0), &defaults, now()).unwrap();
        assert_eq!((v1, change.kind.as_str()), (1, "prefs_updated"));
        let err = store.put_prefs("alice", &p, Some(0), &defaults, now()).unwrap_err();
        assert!(matches!(err, StoreError::VersionConflict { expected: 0, current: 1 }), "{err}");
        assert!(
            store.prefs("alice", &defaults).unwrap().0.channels.slack.enabled,
            "the stale write changed nothing"
        );
        // A webhook secret is kept, but its change (sent to clients) carries only a mask.
        let mut secret = p2.clone();
        secret.channels.webhook.secret = "whsec_c2VjcmV0IHNlY3JldCBzZWNyZXQ=".into();
        let (_, change) = store.put_prefs("alice", &secret, Some(1), &defaults, now()).unwrap();
        assert!(!change.payload.contains("c2VjcmV0"), "{}", change.payload);
        assert!(change.payload.contains("whsec_********"));
        assert_eq!(
            store.prefs("alice", &defaults).unwrap().0.channels.webhook.secret,
            secret.channels.webhook.secret
        );
        let mut bad = p2.clone();
        bad.quiet_hours.timezone = "Mars/Olympus".into();
        let err = store.put_prefs("alice", &bad, Some(2), &defaults, now()).unwrap_err();
        assert!(err.to_string().contains("quiet_hours.timezone"), "{err}");
    });
}

#[test]
fn reopening_keeps_data_and_stream() {
    stores::each_location(|location| {
        let mut store = open(location);
        let stream = store.stream().to_string();
        let ctx = Ctx::new();
        let ok = store.accept(&sub("ci", event(r#"{"type":"a.b","title":"kept"}"#)), &ctx.at(now())).unwrap();
        drop(store);
        let store = location.open(Synchronous::Full).unwrap();
        assert_eq!(store.stream(), stream);
        assert_eq!(store.notification(&ok.notifications[0]).unwrap().title, "kept");
        let (other, _kept) = stores::another(location);
        assert_ne!(open(&other).stream(), stream, "a new database is a new stream");
    });
}

#[test]
fn a_broadcast_stores_its_plan_once_and_removing_a_user_takes_only_the_plans_they_alone_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let mut s = open(&Location::Sqlite(path.clone()));
    s.upsert_user("carol", None, now()).unwrap();
    let ctx = Ctx::new();
    let everyone = r#"{"type":"ops.notice","title":"Maintenance tonight","to":{"broadcast":true}}"#;
    s.accept(&sub("ops", event(everyone)), &ctx.at(now())).unwrap();
    let alone = r#"{"type":"ops.notice","title":"Your disk","urgency":"urgent","to":{"users":["alice"]}}"#;
    s.accept(&sub("ops", event(alone)), &ctx.at(now())).unwrap();
    let count = |sql: &str| -> i64 {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    assert_eq!(count("SELECT COUNT(*) FROM notifications"), 4);
    assert_eq!(count("SELECT COUNT(*) FROM plans"), 2, "three recipients, one plan; the urgent item its own");
    assert_eq!(count("SELECT COUNT(*) FROM notifications WHERE length(plan) > 0"), 0, "no row keeps a copy");
    let plan_of = |s: &dyn Store, user: &str| {
        let items = s.list(user, &ListFilter { limit: 10, ..Default::default() }, now()).unwrap();
        items.iter().map(|n| n.plan.as_ref().map(|p| p.get().to_string()).unwrap()).collect::<Vec<_>>()
    };
    let bob_before = plan_of(s.as_ref(), "bob");
    assert!(bob_before[0].contains("\"inbox\""), "the item reads its plan back: {bob_before:?}");
    assert_ne!(
        plan_of(s.as_ref(), "alice")[0],
        plan_of(s.as_ref(), "alice")[1],
        "alice's urgent item has its own plan"
    );

    assert!(s.delete_user("alice", now()).unwrap());
    assert_eq!(count("SELECT COUNT(*) FROM plans"), 1, "the plan only alice used went with her");
    assert_eq!(plan_of(s.as_ref(), "bob"), bob_before, "the shared one stays for the others");
    assert_eq!(
        s.verify_audit().unwrap(),
        Verdict::Ok { records: s.audit_head().unwrap().unwrap().seq as u64 }
    );
}

#[test]
fn a_broadcasts_live_changes_are_what_a_replay_gives_each_recipient() {
    stores::each(|store| {
        users(store);
        let defaults = Preferences::default();
        let mut quiet = Preferences::default();
        quiet.channels.desktop.enabled = false;
        for name in ["carol", "dave"] {
            store.upsert_user(name, None, now()).unwrap();
            store.put_prefs(name, &quiet, Some(0), &defaults, now()).unwrap();
        }
        let ctx = Ctx::new();
        let e = event(
            r#"{"type":"ops.outage","title":"Database down","urgency":"urgent","data":{"dc":"fra1"},"to":{"broadcast":true}}"#,
        );
        let ok = store.accept(&sub("ops", e), &ctx.at(now())).unwrap();
        assert_eq!(ok.changes.len(), 4);
        let mut plans = std::collections::BTreeMap::new();
        for live in &ok.changes {
            let replayed = store.changes_since(&live.user, 0, 100).unwrap();
            let replayed = replayed.iter().find(|c| c.kind == "notification_created").unwrap();
            assert_eq!(replayed.seq, live.seq);
            let live_json: serde_json::Value = serde_json::from_str(&live.payload).unwrap();
            let replay_json: serde_json::Value = serde_json::from_str(&replayed.payload).unwrap();
            assert_eq!(live_json, replay_json, "{}'s live change is the stored one", live.user);
            let n = &live_json["notification"];
            assert_eq!(n["user"], live.user.as_str());
            assert!(ok.notifications.iter().any(|id| n["id"] == id.as_str()));
            assert_eq!(n["data"]["dc"], "fra1");
            plans.insert(live.user.clone(), n["plan"]["channels"]["desktop"].clone());
        }
        assert_eq!(plans["alice"], plans["bob"]);
        assert_eq!(plans["carol"], plans["dave"]);
        assert_ne!(plans["alice"], plans["carol"], "desktop off in carol's preferences: {plans:?}");
    });
}
