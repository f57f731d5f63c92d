//! DESIGN §10: "a test keeps every statement on the accept and fan-out paths on an index".
//! The hot paths run against a real file with the connection traced; every statement they
//! ran is then explained, and none may scan a table (nor, by SQLite's own counter, have
//! stepped through one), nor have been re-prepared (plans must not depend on bindings).
//! A plan can search an index and still walk a user's whole inbox (the collapse lookup once
//! did), so the same fixed-size work also runs on a small and a large inbox and no
//! statement may take more VM steps per run on the large one.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use rusqlite::StatementStatus;
use rusqlite::trace::{TraceEvent, TraceEventCodes};

use super::SqliteStore;
use crate::engine::{Policy, Presence};
use crate::model::prefs::Preferences;
use crate::model::{Event, InboxFilter, View};
use crate::store::prelude::*;
use crate::store::{AcceptContext, InboxOp, ListFilter, Submission, Synchronous};

/// Per statement text: full-scan steps, re-prepares, runs and VM steps (all cumulative:
/// the statements are cached, so their counters count every run).
type Seen = Arc<Mutex<BTreeMap<String, Counters>>>;

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    scans: i32,
    reprepared: i32,
    runs: i32,
    steps: i32,
}

/// Traces every statement the store runs from now on into the returned map.
fn trace(store: &mut SqliteStore) -> Seen {
    // Fresh statements, and a cache big enough that none of these paths' is evicted: the
    // counters count exactly the traced runs.
    store.conn.flush_prepared_statement_cache();
    store.conn.set_prepared_statement_cache_capacity(512);
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    store
        .conn
        .trace_v2(
            TraceEventCodes::SQLITE_TRACE_PROFILE,
            Some(move |e: TraceEvent<'_>| {
                if let TraceEvent::Profile(stmt, _) = e {
                    let mut seen = sink.lock().unwrap();
                    let c = seen.entry(stmt.sql().into_owned()).or_default();
                    c.scans = stmt.get_status(StatementStatus::FullscanStep);
                    c.reprepared = stmt.get_status(StatementStatus::RePrepare);
                    c.steps = stmt.get_status(StatementStatus::VmStep);
                    c.runs += 1;
                }
            }),
        )
        .unwrap();
    seen
}

fn untrace(store: &mut SqliteStore, seen: &Seen) -> BTreeMap<String, Counters> {
    store.conn.trace_v2(TraceEventCodes::empty(), None::<fn(TraceEvent<'_>)>).unwrap();
    seen.lock().unwrap().clone()
}

/// A store whose user `alice` already has `n` items, half of them in threads.
fn inbox(dir: &tempfile::TempDir, name: &str, n: usize) -> SqliteStore {
    let mut store = SqliteStore::open(&dir.path().join(name), Synchronous::Normal).unwrap();
    store.upsert_user("alice", None, now()).unwrap();
    let policy = Policy::default();
    let defaults = Preferences::default();
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now: now() };
    let subs: Vec<Submission> = (0..n)
        .map(|i| {
            let thread = if i % 2 == 0 { format!(r#","thread":"old/{i}""#) } else { String::new() };
            Submission {
                producer: "ci".into(),
                idempotency_key: None,
                default_user: Some("alice".into()),
                event: Event::from_json(&format!(r#"{{"type":"ci.build","title":"old {i}"{thread}}}"#))
                    .unwrap(),
            }
        })
        .collect();
    for r in store.accept_batch(&subs, &ctx).unwrap() {
        r.unwrap();
    }
    store
}

/// Work whose size does not depend on the inbox's: publishing (new, collapsed, keyed and
/// replayed, urgent, reviving an archived thread), acting by id, the first page of each
/// view, the counts and the replay a reconnecting client reads.
fn fixed_work(store: &mut SqliteStore) {
    let t = now();
    for i in 0..20 {
        publish(store, &format!(r#"{{"type":"ci.build","title":"new {i}","thread":"new/{i}"}}"#), t);
        publish(store, &format!(r#"{{"type":"ci.build","title":"plain {i}"}}"#), t);
    }
    publish(store, r#"{"type":"ci.build","title":"again","thread":"new/2"}"#, t);
    publish(store, r#"{"id":"k-1","type":"deploy.failed","title":"down","urgency":"urgent"}"#, t);
    publish(store, r#"{"id":"k-1","type":"deploy.failed","title":"down","urgency":"urgent"}"#, t);
    let archived = publish(store, r#"{"type":"issue.commented","title":"c1","thread":"new/900"}"#, t);
    store.apply("alice", &archived, InboxOp::Archive, t).unwrap();
    publish(store, r#"{"type":"issue.commented","title":"c2","thread":"new/900"}"#, t);
    store.apply("alice", &archived, InboxOp::MarkRead, t).unwrap();
    store.apply("alice", &archived, InboxOp::Snooze(t + SignedDuration::from_hours(1)), t).unwrap();
    for view in [View::Inbox, View::Unread, View::All] {
        let page =
            ListFilter { filter: InboxFilter { view, ..InboxFilter::default() }, before: None, limit: 50 };
        store.list("alice", &page, t).unwrap();
    }
    store.unread_count("alice", t).unwrap();
    store.prefs("alice", &Preferences::default()).unwrap();
    let seq = store.last_seq("alice").unwrap();
    store.changes_since("alice", seq - 20, 1000).unwrap();
}

fn now() -> Timestamp {
    "2027-03-14T12:00:00Z".parse().unwrap()
}

fn publish(store: &mut SqliteStore, json: &str, at: Timestamp) -> Vec<String> {
    let policy = Policy::default();
    let defaults = Preferences::default();
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now: at };
    let sub = Submission {
        producer: "ci".into(),
        idempotency_key: None,
        default_user: Some("alice".into()),
        event: Event::from_json(json).unwrap(),
    };
    store.accept_batch(&[sub], &ctx).unwrap().remove(0).unwrap().notifications
}

/// The paths whose cost is the size of what they change: bulk actions and their undo,
/// filtered listings, a full replay.
fn sized_work(store: &mut SqliteStore) {
    let t = now();
    let seq = store.last_seq("alice").unwrap();
    for view in View::ALL {
        let filter = InboxFilter { view, category: Some("system".into()), ..InboxFilter::default() };
        let page = ListFilter { filter, before: None, limit: 50 };
        store.list("alice", &page, t).unwrap();
    }
    let read = store.bulk("alice", InboxOp::MarkRead, &InboxFilter::default(), Some(seq), t).unwrap();
    store.undo_bulk("alice", read.bulk.as_deref().unwrap(), t).unwrap();
    let q = InboxFilter { q: Some("old 1".into()), ..InboxFilter::default() };
    let snooze =
        store.bulk("alice", InboxOp::Snooze(t + SignedDuration::from_hours(2)), &q, None, t).unwrap();
    store.undo_bulk("alice", snooze.bulk.as_deref().unwrap(), t).unwrap();
    store.mark_all_read("alice", Some("ci"), t).unwrap();
    store.changes_since("alice", 0, 1000).unwrap();
    store.total("alice").unwrap();
}

/// The lines of `sql`'s plan.
fn plan(store: &SqliteStore, sql: &str) -> Vec<String> {
    let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let mut rows = stmt.raw_query();
    let mut plan = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        plan.push(r.get::<_, String>(3).unwrap());
    }
    plan
}

fn is_control(sql: &str) -> bool {
    let upper = sql.trim_start().to_uppercase();
    ["SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "PRAGMA"].iter().any(|w| upper.starts_with(w))
}

#[test]
fn every_statement_on_the_accept_fan_out_and_bulk_paths_uses_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = inbox(&dir, "plans.db", 300);
    let seen = trace(&mut store);
    fixed_work(&mut store);
    sized_work(&mut store);
    let seen = untrace(&mut store, &seen);
    assert!(seen.len() > 25, "the paths ran: {} statements", seen.len());
    let mut problems = Vec::new();
    for (sql, c) in seen.iter().filter(|(sql, _)| !is_control(sql)) {
        // A virtual table (json_each) and a constant row are not tables of ours.
        for line in plan(&store, sql) {
            if line.starts_with("SCAN ") && !line.contains("VIRTUAL TABLE") && !line.contains("CONSTANT ROW")
            {
                problems.push(format!("{line}\n    in: {sql}"));
            }
        }
        if c.scans > 0 {
            problems.push(format!("{} full-scan steps\n    in: {sql}", c.scans));
        }
        if c.reprepared > 0 {
            problems.push(format!("re-prepared {} times\n    in: {sql}", c.reprepared));
        }
    }
    assert!(problems.is_empty(), "statements off an index:\n{}", problems.join("\n"));
}

#[test]
fn no_statement_of_fixed_size_work_costs_more_in_a_large_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let per_run = |n: usize, name: &str| {
        let mut store = inbox(&dir, name, n);
        let seen = trace(&mut store);
        fixed_work(&mut store);
        let seen = untrace(&mut store, &seen);
        seen.into_iter()
            .filter(|(sql, c)| !is_control(sql) && c.runs > 0)
            .map(|(sql, c)| (sql, c.steps / c.runs))
    };
    let small: BTreeMap<String, i32> = per_run(200, "small.db").collect();
    let large: BTreeMap<String, i32> = per_run(5_000, "large.db").collect();
    assert_eq!(small.keys().collect::<Vec<_>>(), large.keys().collect::<Vec<_>>(), "the same statements ran");
    let grown: Vec<String> = large
        .iter()
        .filter(|(sql, steps)| **steps > small[*sql] * 2 + 100)
        .map(|(sql, steps)| format!("{} → {steps} steps a run\n    in: {sql}", small[sql]))
        .collect();
    assert!(grown.is_empty(), "statements that walk the inbox (200 → 5,000 items):\n{}", grown.join("\n"));
}
