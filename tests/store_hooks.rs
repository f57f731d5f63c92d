//! Hooks in the store, on every backend: created with a random id and secret for users that
//! exist, looked up only while active, listed with revoked ones, revoked once, audited.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use campanile::model::{HookSource, HookTarget};
use campanile::store::{NewHook, StoreError, Verdict};
use jiff::Timestamp;

fn new(source: HookSource, target: HookTarget) -> NewHook {
    NewHook { source, target, label: Some("ci".into()), template: None }
}

#[test]
fn a_hook_is_created_found_listed_and_revoked() {
    stores::each(|store| {
        let now: Timestamp = "2027-03-14T06:30:00Z".parse().unwrap();
        store.upsert_user("alice", None, now).unwrap();
        let a = store
            .create_hook(&new(HookSource::Github, HookTarget::Users(vec!["alice".into()])), now)
            .unwrap();
        let b =
            store.create_hook(&new(HookSource::Alertmanager, HookTarget::Topic("ops".into())), now).unwrap();
        assert!(a.id.starts_with("hk_") && a.id.len() > 20, "{}", a.id);
        assert_ne!(a.id, b.id);
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.len() >= 32);
        assert_eq!(a.path(), format!("/api/v1/hooks/{}", a.id));
        assert_eq!(store.hook(&a.id).unwrap(), Some(a.clone()));
        assert_eq!(store.hook("hk_nope").unwrap(), None);
        assert_eq!(store.hooks().unwrap(), vec![a.clone(), b.clone()]);

        let later: Timestamp = "2027-03-14T07:00:00Z".parse().unwrap();
        assert!(store.revoke_hook(&a.id, later).unwrap());
        assert!(!store.revoke_hook(&a.id, later).unwrap(), "revoked once");
        assert_eq!(store.hook(&a.id).unwrap(), None);
        let listed = store.hooks().unwrap();
        assert_eq!(listed[0].revoked_at, Some(later));
        assert_eq!(listed[1], b);
        // Both changes are in the audit trail, which names no secret.
        let tail = store.audit_tail(10).unwrap();
        let kinds: Vec<&str> = tail.iter().filter_map(|(_, _, r)| r["kind"].as_str()).collect();
        assert!(kinds.contains(&"hook.created") && kinds.contains(&"hook.revoked"), "{kinds:?}");
        assert!(tail.iter().all(|(_, _, r)| !r.to_string().contains(&a.secret)));
        assert!(matches!(store.verify_audit().unwrap(), Verdict::Ok { .. }));
    });
}

#[test]
fn a_hook_for_an_unknown_user_or_a_bad_topic_is_refused() {
    stores::each(|store| {
        let now = Timestamp::UNIX_EPOCH;
        let e = store
            .create_hook(&new(HookSource::Github, HookTarget::Users(vec!["ghost".into()])), now)
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(f) if f.field == "user" && f.message.contains("ghost")),
            "{e}"
        );
        let e = store.create_hook(&new(HookSource::Github, HookTarget::Users(vec![])), now).unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        let e = store
            .create_hook(&new(HookSource::Gitlab, HookTarget::Topic("no spaces".into())), now)
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        // A generic hook names its template; the others take none.
        store.upsert_user("alice", None, now).unwrap();
        let alice = HookTarget::Users(vec!["alice".into()]);
        let e = store.create_hook(&new(HookSource::Generic, alice.clone()), now).unwrap_err();
        assert!(matches!(&e, StoreError::Invalid(f) if f.field == "template"), "{e}");
        let with = |source| NewHook { template: Some("deploys".into()), ..new(source, alice.clone()) };
        let e = store.create_hook(&with(HookSource::Github), now).unwrap_err();
        assert!(matches!(&e, StoreError::Invalid(f) if f.field == "template"), "{e}");
        assert!(store.hooks().unwrap().is_empty());
        let g = store.create_hook(&with(HookSource::Generic), now).unwrap();
        assert_eq!(store.hook(&g.id).unwrap().unwrap().template.as_deref(), Some("deploys"));
    });
}
