//! Inbox operations and tokens on a real SQLite file: ownership, idempotency, changes,
//! acknowledgement cancelling what is pending, archived threads coming back, hashed tokens.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use campanile::engine::{Policy, Presence};
use campanile::model::Event;
use campanile::prefs::Preferences;
use campanile::store::InboxOp;
use campanile::store::ListFilter;
use campanile::store::Scope;
use campanile::store::prelude::*;
use campanile::store::{AcceptContext, StoreError, Submission, Synchronous};
use jiff::{SignedDuration, Timestamp};

fn now() -> Timestamp {
    "2027-03-14T12:00:00Z".parse().unwrap()
}

fn setup(s: &mut dyn Store) {
    s.upsert_user("alice", None, now()).unwrap();
    s.upsert_user("bob", None, now()).unwrap();
}

fn publish(store: &mut dyn Store, user: &str, json: &str, at: Timestamp) -> String {
    let policy = Policy::default();
    let defaults = Preferences::default();
    let away = |_: &str| Presence::default();
    let ctx = AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now: at };
    let sub = Submission {
        producer: "test".into(),
        idempotency_key: None,
        default_user: Some(user.into()),
        event: Event::from_json(json).unwrap(),
    };
    store.accept(&sub, &ctx).unwrap().notifications.remove(0)
}

#[test]
fn mark_read_acknowledges_and_cancels_what_is_pending() {
    stores::each(|store| {
        setup(store);
        let id =
            publish(store, "alice", r#"{"type":"deploy.failed","title":"down","urgency":"urgent"}"#, now());
        assert_eq!(store.schedule_of(&id).unwrap().len(), 1, "an urgent desktop delivery repeats");
        assert_eq!(store.unread_count("alice", now()).unwrap(), 1);

        let changes = store.apply("alice", std::slice::from_ref(&id), InboxOp::MarkRead, now()).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, "notification_updated");
        assert_eq!(changes[0].seq, 2);
        assert!(changes[0].payload_value()["notification"]["read_at"].is_string());
        assert!(store.schedule_of(&id).unwrap().is_empty(), "the repeat is cancelled");
        assert_eq!(store.unread_count("alice", now()).unwrap(), 0);

        // Idempotent: again changes nothing and adds no change row.
        assert!(
            store.apply("alice", std::slice::from_ref(&id), InboxOp::MarkRead, now()).unwrap().is_empty()
        );
        assert_eq!(store.last_seq("alice").unwrap(), 2);

        let changes = store.apply("alice", std::slice::from_ref(&id), InboxOp::MarkUnread, now()).unwrap();
        assert!(changes[0].payload_value()["notification"]["read_at"].is_null());
    });
}

#[test]
fn nobody_touches_another_users_notifications() {
    stores::each(|store| {
        setup(store);
        let mine = publish(store, "alice", r#"{"type":"a.b","title":"mine"}"#, now());
        let theirs = publish(store, "bob", r#"{"type":"a.b","title":"theirs"}"#, now());
        for op in
            [InboxOp::MarkRead, InboxOp::Archive, InboxOp::Snooze(now() + SignedDuration::from_hours(1))]
        {
            let err = store.apply("alice", &[mine.clone(), theirs.clone()], op, now()).unwrap_err();
            assert!(matches!(err, StoreError::NotFound(_)), "{err}");
        }
        // All or nothing: alice's own item was not changed either.
        assert!(store.notification(&mine).unwrap().read_at.is_none());
        assert!(store.notification(&theirs).unwrap().read_at.is_none());
        assert_eq!(store.last_seq("alice").unwrap(), 1);
        assert_eq!(store.last_seq("bob").unwrap(), 1);
    });
}

#[test]
fn archived_items_come_back_when_their_thread_moves() {
    stores::each(|store| {
        setup(store);
        let first =
            publish(store, "alice", r##"{"type":"issue.commented","title":"c1","thread":"repo#5"}"##, now());
        store.apply("alice", std::slice::from_ref(&first), InboxOp::Archive, now()).unwrap();
        let listed = |s: &dyn Store| -> Vec<String> {
            s.list("alice", &ListFilter { limit: 50, ..Default::default() }, now())
                .unwrap()
                .into_iter()
                .map(|n| n.title)
                .collect()
        };
        assert!(listed(&*store).is_empty());
        publish(store, "alice", r##"{"type":"issue.assigned","title":"assigned","thread":"repo#5"}"##, now());
        assert_eq!(listed(&*store), vec!["assigned", "c1"]);
    });
}

#[test]
fn snooze_and_mark_all_read() {
    stores::each(|store| {
        setup(store);
        let a = publish(store, "alice", r#"{"type":"billing.invoice","title":"invoice"}"#, now());
        publish(store, "alice", r#"{"type":"issue.assigned","title":"issue"}"#, now());
        let until = now() + SignedDuration::from_hours(2);
        store.apply("alice", std::slice::from_ref(&a), InboxOp::Snooze(until), now()).unwrap();
        assert_eq!(store.notification(&a).unwrap().snoozed_until, Some(until));
        let sched = store.schedule_of(&a).unwrap();
        assert_eq!((sched[0].kind.as_str(), sched[0].due), ("snooze", Some(until)));
        let err = store.apply("alice", std::slice::from_ref(&a), InboxOp::Snooze(now()), now()).unwrap_err();
        assert!(err.to_string().contains("future"), "{err}");

        // The snoozed invoice is out of sight: not unread, and "mark all read" leaves it alone.
        assert_eq!(store.unread_count("alice", now()).unwrap(), 1);
        assert_eq!(store.mark_all_read("alice", Some("billing"), now()).unwrap().count, 0);
        assert_eq!(store.mark_all_read("alice", None, now()).unwrap().count, 1);
        assert_eq!(store.mark_all_read("alice", None, now()).unwrap().count, 0);
        assert_eq!(store.unread_count("alice", now()).unwrap(), 0);
        assert!(store.notification(&a).unwrap().read_at.is_none(), "the snoozed item is untouched");
    });
}

#[test]
fn tokens_are_hashed_scoped_and_checked() {
    stores::each_location(|location| {
        let mut store = location.open(Synchronous::Normal).unwrap();
        setup(store.as_mut());
        let token = store.create_token("alice", Scope::User, Some("laptop"), now()).unwrap();
        assert!(token.starts_with("cmp_") && token.len() == 68, "{token}");
        let p = store.authenticate(&token, now()).unwrap().unwrap();
        assert_eq!((p.user.as_str(), p.scope, p.expires_at), ("alice", Scope::User, None));
        assert_eq!(p.token.as_deref().map(str::len), Some(12), "tokens are named by a short id");
        let other = store.create_token("bob", Scope::Publisher, None, now()).unwrap();
        assert_ne!(token, other);
        assert_eq!(store.authenticate(&other, now()).unwrap().unwrap().scope, Scope::Publisher);
        let mut wrong = token.clone();
        wrong.replace_range(10..11, if &token[10..11] == "a" { "b" } else { "a" });
        assert_eq!(store.authenticate(&wrong, now()).unwrap(), None);
        assert_eq!(store.authenticate("Bearer nonsense", now()).unwrap(), None);
        assert!(store.create_token("carol", Scope::User, None, now()).is_err());

        // Only the hash is kept.
        let mut raw = stores::Raw::open(location);
        let stored = raw.texts("SELECT hash FROM tokens");
        assert_eq!(stored.len(), 2);
        assert!(!stored.iter().any(|h| h.contains(&token[4..])));
        let audit = raw.texts("SELECT record FROM audit").join("\n");
        assert!(!audit.contains(&token[4..]), "no token in the audit trail");
    });
}

#[test]
fn a_device_belongs_to_one_user_until_removed() {
    stores::each(|store| {
        setup(store);
        let token = "ExponentPushToken[abc123]";
        store.add_device_token("bob", "expo", token, now()).unwrap();
        store.add_device_token("bob", "expo", token, now()).unwrap(); // idempotent for its owner
        let err = store.add_device_token("alice", "expo", token, now()).unwrap_err();
        assert!(matches!(err, StoreError::Taken(_)), "{err}");
        assert_eq!(store.device_tokens("bob").unwrap().len(), 1);
        assert!(!store.remove_device_token("alice", "expo", token, now()).unwrap());
        assert!(store.remove_device_token("bob", "expo", token, now()).unwrap());
        store.add_device_token("alice", "expo", token, now()).unwrap();
        assert_eq!(store.device_tokens("alice").unwrap().len(), 1);
        let err = store.add_device_token("alice", "expo", "not-a-token", now()).unwrap_err();
        assert!(err.to_string().contains("ExponentPushToken"), "{err}");
    });
}
