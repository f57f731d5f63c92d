//! Tokens that can be listed, revoked and expire (hardening issue, finding 6): a revoked
//! token is refused at once on every route, by this daemon or another process, and the
//! websockets it opened are closed with an error frame and 1008.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;
mod support;

use std::time::Duration;

use campanile::store::prelude::*;
use campanile::store::{Scope, SqliteStore, StoreError, Synchronous};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use support::{Daemon, Ws};

#[test]
fn tokens_are_listed_without_their_secret_and_revoked_by_id_or_label() {
    stores::each(|s| {
        let now = Timestamp::now();
        s.upsert_user("alice", Some("alice@example.com"), now).unwrap();
        s.upsert_user("bob", Some("bob@example.com"), now).unwrap();
        let laptop = s.create_token("alice", Scope::User, Some("laptop"), now).unwrap();
        let ci = s
            .create_token_until(
                "alice",
                Scope::Publisher,
                Some("ci"),
                Some(now + SignedDuration::from_hours(1)),
                now,
            )
            .unwrap();
        s.create_token("bob", Scope::User, Some("ci"), now).unwrap();

        let all = s.tokens(None).unwrap();
        assert_eq!(all.len(), 3);
        let text = format!("{all:?}");
        assert!(!text.contains(&laptop) && !text.contains(&ci), "a listing shows a token");
        let mine = s.tokens(Some("alice")).unwrap();
        assert_eq!(mine.iter().map(|t| t.label.as_deref().unwrap()).collect::<Vec<_>>(), ["laptop", "ci"]);
        assert!(mine[1].expires_at.is_some() && mine[0].expires_at.is_none());

        // Last used, when the caller says so.
        let p = s.authenticate(&laptop, now).unwrap().unwrap();
        assert_eq!(p.token.as_deref(), Some(mine[0].id.as_str()));
        s.touch_tokens(std::slice::from_ref(&mine[0].id), now).unwrap();
        assert_eq!(
            s.tokens(Some("alice")).unwrap()[0].last_used_at,
            Some(Timestamp::from_microsecond(now.as_microsecond()).unwrap())
        );

        // A label two users share is refused; an id is exact.
        let epoch = s.token_epoch().unwrap();
        let e = s.revoke_token("ci", now).unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)) && e.to_string().contains("by id"), "{e}");
        let gone = s.revoke_token(&mine[1].id, now).unwrap();
        assert_eq!(gone.len(), 1);
        assert_eq!(s.authenticate(&ci, now).unwrap(), None);
        assert!(s.token_epoch().unwrap() > epoch, "a revocation is visible to daemons");
        // Now `ci` names bob's token only.
        assert_eq!(s.revoke_token("ci", now).unwrap()[0].user, "bob");
        assert!(matches!(s.revoke_token("nope", now), Err(StoreError::NotFound(_))));
        assert!(s.authenticate(&laptop, now).unwrap().is_some());
    });
}

#[test]
fn an_expired_token_is_refused() {
    stores::each(|s| {
        let now = Timestamp::now();
        s.upsert_user("alice", None, now).unwrap();
        let t = s
            .create_token_until("alice", Scope::User, None, Some(now + SignedDuration::from_secs(60)), now)
            .unwrap();
        assert!(s.authenticate(&t, now).unwrap().is_some());
        assert_eq!(s.authenticate(&t, now + SignedDuration::from_secs(61)).unwrap(), None);
    });
}

async fn status(d: &Daemon, who: &str, path: &str) -> u16 {
    d.get(who, path).await.0
}

/// The next frames until the close: (the error frame's message, the close frame).
async fn ended(ws: &mut Ws) -> (Value, String) {
    let mut error = Value::Null;
    loop {
        let f = ws.next().await;
        if f["type"] == "error" {
            error = f;
        } else if f["type"] == "__close" {
            return (error, f["frame"].as_str().unwrap().to_string());
        }
    }
}

fn alice_token_id(d: &Daemon) -> String {
    let s = SqliteStore::open(&support::paths(d.dir.path()).store(), Synchronous::Normal).unwrap();
    let now = Timestamp::now();
    s.authenticate(d.token("alice"), now).unwrap().unwrap().token.unwrap()
}

#[tokio::test]
async fn an_admin_revokes_a_token_and_it_stops_at_once_everywhere() {
    let d = support::start().await;
    assert_eq!(status(&d, "alice", "/notifications").await, 200); // cached from here on
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    let id = alice_token_id(&d);

    // Only an admin may list or revoke.
    let r = d.http.delete(d.url(&format!("/tokens/{id}"))).bearer_auth(d.token("bob")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let list: Value =
        d.http.get(d.url("/tokens")).bearer_auth(d.token("root")).send().await.unwrap().json().await.unwrap();
    assert!(list["items"].as_array().unwrap().iter().any(|t| t["id"] == id.as_str() && t["user"] == "alice"));
    assert!(!list.to_string().contains(d.token("alice")), "the listing shows a token");

    let r = d.http.delete(d.url(&format!("/tokens/{id}"))).bearer_auth(d.token("root")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(status(&d, "alice", "/notifications").await, 401, "refused at once, cache or not");
    let (error, close) = ended(&mut ws).await;
    assert_eq!(error["error"]["message"], "the token was revoked", "{error}");
    assert!(close.contains("1008") || close.contains("Policy"), "{close}");
    assert_eq!(status(&d, "bob", "/notifications").await, 200, "other tokens keep working");
    let r = d.http.delete(d.url(&format!("/tokens/{id}"))).bearer_auth(d.token("root")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    d.stop().await;
}

#[tokio::test]
async fn a_token_revoked_by_another_process_stops_within_seconds() {
    let d = support::start().await;
    assert_eq!(status(&d, "alice", "/notifications").await, 200);
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    let id = alice_token_id(&d);
    // `campanile token revoke` writes to the store from its own process.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
        .arg("--data")
        .arg(support::paths(d.dir.path()).data_dir)
        .args(["token", "revoke", &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("revoked {id}")));
    let (error, _) = tokio::time::timeout(Duration::from_secs(5), ended(&mut ws)).await.unwrap();
    assert_eq!(error["error"]["message"], "the token was revoked");
    assert_eq!(status(&d, "alice", "/notifications").await, 401);
    d.stop().await;
}

#[tokio::test]
async fn an_expiring_token_works_until_it_expires_and_its_websocket_then_closes() {
    let d = support::start().await;
    let token = {
        let mut s = SqliteStore::open(&support::paths(d.dir.path()).store(), Synchronous::Normal).unwrap();
        let now = Timestamp::now();
        s.create_token_until(
            "alice",
            Scope::User,
            Some("short"),
            Some(now + SignedDuration::from_secs(2)),
            now,
        )
        .unwrap()
    };
    let get = || d.http.get(d.url("/notifications")).bearer_auth(&token).send();
    assert_eq!(get().await.unwrap().status(), 200);
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/stream", d.addr)).await.unwrap();
    let mut ws = Ws { stream: ws };
    ws.send(serde_json::json!({"type": "hello", "token": token, "last_seq": 0})).await;
    assert_eq!(ws.next().await["type"], "welcome");
    let (error, _) = tokio::time::timeout(Duration::from_secs(5), ended(&mut ws)).await.unwrap();
    assert_eq!(error["error"]["message"], "the token expired");
    assert_eq!(get().await.unwrap().status(), 401);
    d.stop().await;
}

#[test]
fn the_cli_lists_and_creates_expiring_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
            .arg("--data")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["user", "add", "alice"]).status.success());
    let out = run(&["token", "list"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no tokens");
    let out = run(&["token", "create", "--user", "alice", "--label", "laptop", "--expires", "30d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(String::from_utf8_lossy(&out.stderr).contains("until"));
    let list = String::from_utf8_lossy(&run(&["token", "list"]).stdout).to_string();
    assert!(list.contains("laptop") && list.contains("alice") && !list.contains(&token), "{list}");
    let bad = run(&["token", "create", "--user", "alice", "--expires", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected a duration like 30d"));
    let out = run(&["token", "revoke", "laptop"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&run(&["token", "list"]).stdout).trim(), "no tokens");
}
