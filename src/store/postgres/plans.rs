//! DESIGN §10's "every statement on the accept and fan-out paths on an index", on
//! PostgreSQL: the hot paths run against a fresh database (when `CAMPANILE_TEST_POSTGRES`
//! names a server), then every statement they prepared is explained as a generic plan (the
//! one a prepared statement settles on, whatever its values) with sequential scans priced
//! out, and none may still scan a table: a statement with no index to use would.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use jiff::{SignedDuration, Timestamp};

use super::PgStore;
use super::db::{Db, PgUrl};
use crate::engine::{Policy, Presence};
use crate::model::prefs::Preferences;
use crate::model::{Event, InboxFilter, View};
use crate::store::prelude::*;
use crate::store::{AcceptContext, Attempt, AttemptStatus, InboxOp, ListFilter, Submission, Synchronous};

/// Statements allowed to read a whole table, with why.
const SCANS_ALLOWED: &[(&str, &str)] = &[
    // Holds only the open transaction's own rows: emptied at every commit.
    ("unread_deltas", "folded and emptied at every commit"),
    // One row, read when a connection opens.
    ("schema_version", "one row"),
];

/// A database made for this test and dropped after it.
struct Fresh {
    admin: String,
    name: String,
    url: PgUrl,
}

impl Fresh {
    fn create() -> Option<Fresh> {
        let admin = std::env::var("CAMPANILE_TEST_POSTGRES").ok()?;
        let name = format!("campanile_plans_{}", std::process::id());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (scheme, rest) = admin.split_once("://").unwrap();
        let authority = rest.split(['/', '?']).next().unwrap();
        let url = PgUrl::parse(&format!("{scheme}://{authority}/{name}")).unwrap();
        Some(Fresh { admin, name, url })
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

fn now() -> Timestamp {
    "2027-03-15T12:00:00Z".parse().unwrap()
}

/// Every path the dispatcher runs per event or per client, once or twice.
fn run_hot_paths(s: &mut PgStore) {
    for u in ["alice", "bob"] {
        s.upsert_user(u, Some(&format!("{u}@example.com")), now()).unwrap();
    }
    let token = s.create_token("alice", crate::store::Scope::User, None, now()).unwrap();
    s.authenticate(&token, now()).unwrap();
    let defaults = Preferences::parse(
        "[channels.webhook]\nenabled = true\nurl = \"https://hooks.example/x\"\n\
         [channels.email]\nenabled = true\naddress = \"a@example.com\"\nfrequency = \"daily\"\n\
         [quiet_hours]\nenabled = true\nstart = \"00:00\"\nend = \"23:59\"\ntimezone = \"UTC\"\n",
    )
    .unwrap();
    let policy = Policy::default();
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now: now() };
    let events = [
        r#"{"type":"ci.build","title":"one","thread":"repo#1","to":{"users":["alice","bob"]},"id":"k1"}"#,
        r#"{"type":"ci.build","title":"two","thread":"repo#1","collapse_key":"c","to":{"users":["alice"]}}"#,
        r#"{"type":"ci.build","title":"three","collapse_key":"c","urgency":"urgent","to":{"users":["alice"]}}"#,
        r#"{"type":"ci.build","title":"mail","to":{"emails":["bob@example.com"]}}"#,
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
    let accepted: Vec<_> = s.accept_batch(&subs, &ctx).unwrap().into_iter().map(Result::unwrap).collect();
    s.accept(&subs[0], &ctx).unwrap(); // a replayed key
    let first = accepted[0].notifications[0].clone();
    for view in [View::Inbox, View::Unread, View::Snoozed, View::Archived, View::All] {
        let filter =
            InboxFilter { view, category: Some("ci".into()), q: Some("on".into()), ..Default::default() };
        s.list("alice", &ListFilter { filter, before: Some(first.clone()), limit: 50 }, now()).unwrap();
    }
    s.unread_by_category("alice", now()).unwrap();
    s.changes_since("alice", 0, 100).unwrap();
    s.last_seq("alice").unwrap();
    s.apply("alice", std::slice::from_ref(&first), InboxOp::Archive, now()).unwrap();
    s.apply(
        "alice",
        std::slice::from_ref(&first),
        InboxOp::Snooze(now() + SignedDuration::from_hours(1)),
        now(),
    )
    .unwrap();
    s.apply("alice", std::slice::from_ref(&first), InboxOp::MarkRead, now()).unwrap();
    let bulk = s.bulk("bob", InboxOp::MarkRead, &InboxFilter::default(), None, now()).unwrap();
    s.undo_bulk("bob", bulk.bulk.as_deref().unwrap(), now()).unwrap();
    s.put_prefs("alice", &defaults, None, &defaults, now()).unwrap();
    let later = now() + SignedDuration::from_hours(30);
    s.next_due().unwrap();
    s.run_due(later).unwrap();
    s.next_delivery_due().unwrap();
    let (jobs, _) = s.claim_deliveries(later, 10, &defaults).unwrap();
    let attempts: Vec<_> = jobs
        .iter()
        .map(|j| {
            let a = Attempt {
                status: AttemptStatus::Delivered,
                error: None,
                target: "x".into(),
                content_hash: None,
            };
            (j.id.clone(), a)
        })
        .collect();
    s.record_attempts(&attempts, later).unwrap();
    s.pending_deliveries("alice", crate::model::Channel::Desktop).unwrap();
    s.record_audit_head().unwrap();
}

#[test]
fn the_hot_paths_find_their_rows_through_indexes() {
    let Some(fresh) = Fresh::create() else {
        eprintln!("CAMPANILE_TEST_POSTGRES is not set: the PostgreSQL plan check was skipped");
        return;
    };
    let mut store = PgStore::open(&fresh.url, Synchronous::Normal).unwrap();
    run_hot_paths(&mut store);
    let statements = store.db.borrow().statements();
    drop(store);
    assert!(statements.len() > 40, "the hot paths ran: {}", statements.len());

    let mut db = Db::connect(&fresh.url, Synchronous::Normal).unwrap();
    db.batch("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan").unwrap();
    let mut scanning = Vec::new();
    for (i, sql) in statements.iter().enumerate() {
        let params = (1..=64).take_while(|n| sql.contains(&format!("${n}"))).count();
        db.batch(&format!("PREPARE p{i} AS {sql}")).unwrap();
        let args = if params == 0 { String::new() } else { format!("({})", vec!["NULL"; params].join(", ")) };
        let plan: Vec<String> = db
            .query(&format!("EXPLAIN EXECUTE p{i}{args}"), &[])
            .unwrap()
            .iter()
            .map(|r| r.try_get::<_, String>(0).unwrap())
            .collect();
        let scans: Vec<&String> = plan
            .iter()
            .filter(|l| {
                l.contains("Seq Scan on") && !SCANS_ALLOWED.iter().any(|(t, _)| l.contains(&format!(" {t}")))
            })
            .collect();
        if !scans.is_empty() {
            scanning.push(format!("{sql}\n  {}", plan.join("\n  ")));
        }
    }
    assert!(scanning.is_empty(), "statements that scan a table:\n{}", scanning.join("\n\n"));
}
