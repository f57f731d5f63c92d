//! Bulk actions on a real SQLite file at a real size: one transaction for 20,000 items,
//! undone in one, filters and "up to what the user saw" honoured, every count agreeing.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use campanile::engine::{Policy, Presence};
use campanile::model::{Event, InboxFilter, Urgency, View};
use campanile::prefs::Preferences;
use campanile::store::ListFilter;
use campanile::store::prelude::*;
use campanile::store::{AcceptContext, Submission};
use campanile::store::{BULK_CHUNK, InboxOp};
use jiff::{SignedDuration, Timestamp};

fn now() -> Timestamp {
    "2027-03-14T12:00:00Z".parse().unwrap()
}

fn store(s: &mut dyn Store) {
    s.upsert_user("alice", None, now()).unwrap();
    s.upsert_user("bob", None, now()).unwrap();
}

/// Publishes `n` events to `user` in one transaction; returns their ids.
fn fill(store: &mut dyn Store, user: &str, n: usize, json: impl Fn(usize) -> String) -> Vec<String> {
    let policy = Policy::default();
    let defaults = Preferences::default();
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now: now() };
    let subs: Vec<Submission> = (0..n)
        .map(|i| Submission {
            producer: "test".into(),
            idempotency_key: None,
            default_user: Some(user.into()),
            event: Event::from_json(&json(i)).unwrap(),
        })
        .collect();
    store
        .accept_batch(&subs, &ctx)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().notifications[0].clone())
        .collect()
}

fn count(store: &dyn Store, user: &str, view: View) -> usize {
    let f = ListFilter { filter: InboxFilter { view, ..Default::default() }, limit: 1_000_000, before: None };
    store.list(user, &f, now()).unwrap().len()
}

#[test]
fn marking_twenty_thousand_items_read_is_one_action_and_one_undo() {
    stores::each(|s| {
        store(s);
        fill(s, "alice", 20_000, |i| format!(r#"{{"type":"ci.build","title":"build {i}"}}"#));
        fill(s, "bob", 3, |i| format!(r#"{{"type":"ci.build","title":"bob {i}"}}"#));
        assert_eq!(s.unread_count("alice", now()).unwrap(), 20_000);

        let done = s.bulk("alice", InboxOp::MarkRead, &InboxFilter::default(), None, now()).unwrap();
        assert_eq!(done.count, 20_000);
        assert_eq!(s.unread_count("alice", now()).unwrap(), 0);
        assert_eq!(count(&*s, "alice", View::Unread), 0);
        assert_eq!(s.unread_count("bob", now()).unwrap(), 3, "another user's items are untouched");
        // Compact changes: a thousand ids each, not one frame per item.
        assert_eq!(done.changes.len(), 20_000 / BULK_CHUNK);
        let first = done.changes[0].payload_value();
        assert_eq!(first["ids"].as_array().unwrap().len(), BULK_CHUNK);
        assert!(first["set"]["read_at"].is_string());
        let seqs: Vec<i64> = done.changes.iter().map(|c| c.seq).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "contiguous seqs: {seqs:?}");
        // The log replays them as they were logged.
        let replay = s.changes_since("alice", seqs[0] - 1, 100).unwrap();
        assert_eq!(
            replay.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
            vec!["notifications_updated"; 20]
        );

        let undone = s.undo_bulk("alice", done.bulk.as_deref().unwrap(), now()).unwrap();
        assert_eq!(undone.count, 20_000);
        assert_eq!(s.unread_count("alice", now()).unwrap(), 20_000);
        assert_eq!(count(&*s, "alice", View::Unread), 20_000);
        assert!(undone.changes[0].payload_value()["set"]["read_at"].is_null());
        // Undoing twice changes nothing more; bob cannot undo alice's action.
        assert_eq!(s.undo_bulk("alice", done.bulk.as_deref().unwrap(), now()).unwrap().count, 0);
        assert!(s.undo_bulk("bob", done.bulk.as_deref().unwrap(), now()).is_err());
    });
}

#[test]
fn a_bulk_action_reaches_what_the_filter_shows_and_the_user_had_seen() {
    stores::each(|s| {
        store(s);
        fill(s, "alice", 30, |i| {
            let (kind, urgency) = if i % 3 == 0 { ("billing.invoice", "high") } else { ("ci.build", "low") };
            format!(r#"{{"type":"{kind}","title":"item {i}","urgency":"{urgency}","body":"Grüße {i}"}}"#)
        });
        let seen = s.last_seq("alice").unwrap();
        fill(s, "alice", 5, |i| {
            format!(r#"{{"type":"billing.invoice","title":"late {i}","urgency":"high"}}"#)
        });

        let billing = InboxFilter { category: Some("billing".into()), ..Default::default() };
        let done = s.bulk("alice", InboxOp::Archive, &billing, Some(seen), now()).unwrap();
        assert_eq!(done.count, 10, "the five that came after what the user saw stay");
        assert_eq!(count(&*s, "alice", View::Archived), 10);

        let urgent = InboxFilter { urgency_at_least: Some(Urgency::High), ..Default::default() };
        assert_eq!(s.bulk("alice", InboxOp::MarkRead, &urgent, None, now()).unwrap().count, 5);
        let text = InboxFilter { q: Some("GRÜßE 2".into()), ..Default::default() };
        // "Grüße 2", "Grüße 20".."29" in the inbox, minus the archived (multiples of 3).
        let n = s.bulk("alice", InboxOp::MarkRead, &text, None, now()).unwrap().count;
        assert_eq!(n, [2, 20, 22, 23, 25, 26, 28, 29].len() as u64);
    });
}

#[test]
fn a_bulk_snooze_hides_items_until_they_wake_and_undo_brings_them_back() {
    stores::each(|s| {
        store(s);
        fill(s, "alice", 50, |i| format!(r#"{{"type":"ci.build","title":"b{i}"}}"#));
        let until = now() + SignedDuration::from_hours(3);
        let done = s.bulk("alice", InboxOp::Snooze(until), &InboxFilter::default(), None, now()).unwrap();
        assert_eq!(done.count, 50);
        assert_eq!((count(&*s, "alice", View::Inbox), count(&*s, "alice", View::Snoozed)), (0, 50));
        assert_eq!(s.unread_count("alice", now()).unwrap(), 0, "snoozed items are not unread");
        // At their time, before the wake-up runs, they count again; the wake-up clears them.
        let later = until + SignedDuration::from_secs(1);
        assert_eq!(s.unread_count("alice", later).unwrap(), 50);
        let undone = s.undo_bulk("alice", done.bulk.as_deref().unwrap(), now()).unwrap();
        assert_eq!(undone.count, 50);
        assert_eq!(count(&*s, "alice", View::Inbox), 50);
        assert_eq!(s.unread_count("alice", now()).unwrap(), 50);
        assert!(s.next_due().unwrap().is_none(), "the bulk's wake-ups were cancelled: {:?}", s.next_due());
    });
}
