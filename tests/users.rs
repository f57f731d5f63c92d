//! Provisioning for teams (many-users issue, item 4): users imported in one transaction with
//! their tokens, listed and removed by an admin over REST, a removed user's data and sessions
//! gone while the audit chain stays valid.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;
mod support;

use std::os::unix::fs::PermissionsExt;

use campanile::store::prelude::*;
use campanile::store::{NewUser, Scope, SqliteStore, StoreError, Synchronous, Verdict};
use jiff::Timestamp;
use serde_json::{Value, json};

fn user(name: &str, email: Option<&str>) -> NewUser {
    NewUser { name: name.into(), email: email.map(str::to_string), display_name: None }
}

#[test]
fn an_import_is_all_or_nothing_and_makes_working_tokens() {
    stores::each(|s| {
        let now = Timestamp::now();
        let bad = [user("ann", Some("ann@example.com")), user("ben", Some("not an address"))];
        let e = s.import_users(&bad, Some(Scope::User), now).unwrap_err();
        assert!(matches!(&e, StoreError::Invalid(f) if f.field == "users[1].email"), "{e:?}");
        assert!(s.users().unwrap().is_empty(), "nothing of a refused import is kept");

        let team: Vec<NewUser> =
            (0..50).map(|i| user(&format!("u{i}"), Some(&format!("u{i}@example.com")))).collect();
        let done = s.import_users(&team, Some(Scope::User), now).unwrap();
        assert_eq!(done.len(), 50);
        let p = s.authenticate(done[7].token.as_deref().unwrap(), now).unwrap().unwrap();
        assert_eq!((p.user.as_str(), p.scope), ("u7", Scope::User));
        // Again, without tokens: an update, no new tokens.
        let again = s.import_users(&team, None, now).unwrap();
        assert!(again.iter().all(|i| i.token.is_none()));
        assert_eq!(s.users().unwrap().len(), 50);
        assert_eq!(s.tokens(None).unwrap().len(), 50);
        assert_eq!(
            s.verify_audit().unwrap(),
            Verdict::Ok { records: s.audit_head().unwrap().unwrap().seq as u64 }
        );
    });
}

#[test]
fn removing_a_user_takes_everything_of_theirs_and_the_audit_chain_stays_whole() {
    use campanile::engine::{Policy, Presence};
    use campanile::model::{Event, InboxFilter};
    use campanile::prefs::Preferences;
    use campanile::store::{AcceptContext, InboxOp, Submission};
    stores::each(|s| {
        let now: Timestamp = "2027-03-14T12:00:00Z".parse().unwrap();
        let publish = |s: &mut dyn Store, to: &str| {
            let (policy, defaults) = (Policy::default(), Preferences::default());
            let away = |_: &str| Presence::default();
            let ctx = AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now };
            let event = Event::from_json(&format!(
                r#"{{"type":"a.b","title":"for {to}","to":{{"users":["{to}"]}}}}"#
            ));
            let sub = Submission {
                producer: "t".into(),
                idempotency_key: None,
                default_user: None,
                event: event.unwrap(),
            };
            s.accept(&sub, &ctx).unwrap()
        };
        s.upsert_user("alice", Some("alice@example.com"), now).unwrap();
        s.upsert_user("bob", Some("bob@example.com"), now).unwrap();
        let token = s.create_token("alice", Scope::User, None, now).unwrap();
        s.add_device_token("alice", "ntfy", "alice-phone", now).unwrap();
        s.subscribe("builds", "alice", now).unwrap();
        s.subscribe("builds", "bob", now).unwrap();
        s.put_prefs("alice", &Preferences::default(), Some(0), &Preferences::default(), now).unwrap();
        publish(s, "alice");
        publish(s, "alice");
        publish(s, "bob");
        s.bulk("alice", InboxOp::Archive, &InboxFilter::default(), None, now).unwrap();
        let epoch = s.token_epoch().unwrap();
        let head = s.audit_head().unwrap().unwrap().seq;

        assert!(s.delete_user("alice", now).unwrap());
        assert!(!s.delete_user("alice", now).unwrap(), "a second removal finds no one");
        assert_eq!(s.users().unwrap(), vec![("bob".to_string(), Some("bob@example.com".to_string()))]);
        assert_eq!(s.authenticate(&token, now).unwrap(), None);
        assert!(s.tokens(Some("alice")).unwrap().is_empty() && s.device_tokens("alice").unwrap().is_empty());
        assert_eq!(s.topics("bob", false).unwrap()[0].subscribers, 1);
        assert_eq!((s.total("alice").unwrap(), s.last_seq("alice").unwrap()), (0, 0));
        assert!(s.changes_since("alice", 0, 100).unwrap().is_empty());
        assert!(s.unread_by_category("alice", now).unwrap().is_empty());
        assert_eq!((s.total("bob").unwrap(), s.last_seq("bob").unwrap()), (1, 1), "bob keeps his");
        assert_eq!(s.unread_count("bob", now).unwrap(), 1);
        assert!(s.token_epoch().unwrap() > epoch, "daemons hear of the removed tokens");
        assert_eq!(s.verify_audit().unwrap(), Verdict::Ok { records: head as u64 + 1 });
        assert_eq!(s.audit_tail(1).unwrap()[0].2["kind"], "user.deleted");

        // A new alice starts afresh; an address another user has is refused, naming who.
        s.upsert_user("alice", None, now).unwrap();
        assert_eq!(publish(s, "alice").changes[0].seq, 1);
        assert_eq!(s.unread_count("alice", now).unwrap(), 1);
        let e = s.import_users(&[user("carol", Some("bob@example.com"))], None, now).unwrap_err();
        assert!(matches!(&e, StoreError::Taken(m) if m.contains("`carol`")), "{e:?}");
        assert_eq!(s.users().unwrap().len(), 2, "nothing of the refused import is kept");
    });
}

#[tokio::test]
async fn an_admin_imports_lists_and_removes_users_and_a_removed_users_sessions_end() {
    let d = support::start().await;
    let post = |who: &'static str, body: Value| {
        d.http.post(d.url("/users")).bearer_auth(d.token(who)).json(&body).send()
    };
    let r = post("alice", json!({"users": [{"name": "carol"}]})).await.unwrap();
    assert_eq!(r.status(), 403);
    let r = post("root", json!({"users": [{"name": "carol", "email": "carol@example.com", "display_name": "Carol C"}], "tokens": "user"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let carol = body["users"][0]["token"].as_str().unwrap().to_string();
    let r = d.http.get(d.url("/notifications")).bearer_auth(&carol).send().await.unwrap();
    assert_eq!(r.status(), 200, "an imported user's token works at once");
    let list: Value =
        d.http.get(d.url("/users")).bearer_auth(d.token("root")).send().await.unwrap().json().await.unwrap();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "carol" && u["email"] == "carol@example.com")
    );

    // bob has items and a session; removing him ends both.
    assert_eq!(
        d.publish("svc", json!({"type": "a.b", "title": "hi", "to": {"users": ["bob"]}})).await.0,
        201
    );
    let (mut ws, _) = support::Ws::connect(&d, "bob", 0, None).await;
    let r = d.http.delete(d.url("/users/bob")).bearer_auth(d.token("root")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    loop {
        let f = ws.next().await;
        if f["type"] == "__close" {
            break;
        }
    }
    assert_eq!(d.get("bob", "/notifications").await.0, 401);
    let r = d.http.delete(d.url("/users/bob")).bearer_auth(d.token("root")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let dir = d.stop_keeping_store().await;
    let s = SqliteStore::open(&support::paths(dir.path()).store(), Synchronous::Normal).unwrap();
    assert!(!s.users().unwrap().iter().any(|(n, _)| n == "bob"));
    assert_eq!(s.total("bob").unwrap(), 0, "bob's items are gone");
    assert!(matches!(s.verify_audit().unwrap(), Verdict::Ok { .. }), "the audit chain stays valid");
}

#[test]
fn the_cli_imports_csv_and_json_lines_and_writes_tokens_privately() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("team.csv");
    std::fs::write(&file, "name,email,display name\nann,ann@example.com,Ann A\n{\"name\":\"ben\",\"email\":\"ben@example.com\"}\ncid,,\n").unwrap();
    let out = dir.path().join("tokens.tsv");
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
            .arg("--data")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let r = run(&[
        "user".as_ref(),
        "import".as_ref(),
        file.as_os_str(),
        "--tokens".as_ref(),
        "user".as_ref(),
        "--tokens-out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("imported 3 users"));
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let tokens = std::fs::read_to_string(&out).unwrap();
    assert_eq!(tokens.lines().count(), 3);
    assert!(tokens.lines().all(|l| l.split('\t').nth(1).is_some_and(|t| t.starts_with("cmp_"))), "{tokens}");
    let list = String::from_utf8_lossy(&run(&["user".as_ref(), "list".as_ref()]).stdout).to_string();
    assert!(list.contains("ann\tann@example.com") && list.contains("cid"), "{list}");
    // A bad line is named, and nothing is imported.
    std::fs::write(&file, "dan,dan@example.com\n{\"name\": 3}\n").unwrap();
    let r = run(&["user".as_ref(), "import".as_ref(), file.as_os_str()]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("team.csv:2"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(!String::from_utf8_lossy(&run(&["user".as_ref(), "list".as_ref()]).stdout).contains("dan"));
}
