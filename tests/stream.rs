//! The sync protocol end to end, through real sockets: a real HTTP client publishes, a real
//! websocket client (tokio-tungstenite) follows the stream of a daemon on 127.0.0.1.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use serde_json::json;
use support::{Ws, start};

#[tokio::test]
async fn publish_arrives_live() {
    let d = start().await;
    let (mut ws, welcome) = Ws::connect(&d, "alice", 0, None).await;
    assert_eq!(welcome["user"], "alice");
    assert_eq!(welcome["seq"], 0);
    assert_eq!(welcome["unread"], 0);
    assert_eq!(welcome["prefs_version"], 0);
    assert!(welcome["prefs"]["channels"]["desktop"]["enabled"].is_boolean());
    let (status, body) = d
        .publish("alice", json!({"type": "build.failed", "title": "Build failed", "thread": "repo#1"}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["duplicate"], false);
    let f = ws.next().await;
    assert_eq!(f["type"], "change");
    assert_eq!(f["seq"], 1);
    assert_eq!(f["kind"], "notification_created");
    assert_eq!(f["notification"]["id"], body["notifications"][0]);
    assert_eq!(f["notification"]["title"], "Build failed");
    assert_eq!(f["notification"]["category"], "system");
    // The engine's plan travels with the item, with its reasons (explain's shape).
    let desktop = &f["notification"]["plan"]["channels"]["desktop"];
    assert_eq!(desktop["plan"], "suppress");
    assert_eq!(desktop["reason"], "urgency");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await["type"], "pong");
    d.stop().await;
}

#[tokio::test]
async fn reconnect_with_last_seq_gets_exactly_the_missed_changes() {
    let d = start().await;
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    d.publish("alice", json!({"type": "a.b", "title": "first"})).await;
    let first = ws.next().await;
    let last_seq = first["seq"].as_i64().unwrap();
    let stream = ws_stream(&d).await;
    drop(ws);

    let mut ids = Vec::new();
    for i in 0..1000 {
        let (status, body) = d
            .publish(
                "svc",
                json!({"type": "a.b", "title": format!("missed {i}"), "to": {"users": ["alice"]}}),
            )
            .await;
        assert_eq!(status, 201);
        ids.push(body["notifications"][0].as_str().unwrap().to_string());
    }
    let (mut ws, welcome) = Ws::connect(&d, "alice", last_seq, Some(&stream)).await;
    assert_eq!(welcome["seq"], last_seq + 1000);
    for (i, id) in ids.iter().enumerate() {
        let f = ws.next().await;
        assert_eq!(f["seq"], last_seq + 1 + i as i64, "in order, no gap, no duplicate");
        assert_eq!(f["notification"]["id"], id.as_str());
    }
    // Then live again, and nothing replayed twice.
    d.publish("alice", json!({"type": "a.b", "title": "live"})).await;
    let f = ws.next().await;
    assert_eq!(f["seq"], last_seq + 1001);
    assert_eq!(f["notification"]["title"], "live");
    d.stop().await;
}

async fn ws_stream(d: &support::Daemon) -> String {
    let (_, health) = d.get("alice", "/healthz").await;
    health["stream"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_foreign_or_future_history_requires_a_snapshot() {
    let d = start().await;
    d.publish("alice", json!({"type": "a.b", "title": "one"})).await;
    let (mut ws, welcome) = Ws::connect(&d, "alice", 0, Some("01OTHERSTREAM0000000000000")).await;
    assert_eq!(welcome["seq"], 1);
    assert_eq!(ws.next().await["type"], "snapshot_required");
    // Then live changes continue from the current seq.
    d.publish("alice", json!({"type": "a.b", "title": "two"})).await;
    assert_eq!(ws.next().await["seq"], 2);
    let (mut ws, _) = Ws::connect(&d, "alice", 99, None).await;
    assert_eq!(ws.next().await["type"], "snapshot_required");
    d.stop().await;
}

#[tokio::test]
async fn two_connections_of_one_user_converge() {
    let d = start().await;
    let (mut a, _) = Ws::connect(&d, "alice", 0, None).await;
    let (mut b, _) = Ws::connect(&d, "alice", 0, None).await;
    let (_, body) = d.publish("alice", json!({"type": "a.b", "title": "shared"})).await;
    let id = body["notifications"][0].as_str().unwrap().to_string();
    assert_eq!(a.next().await["seq"], 1);
    assert_eq!(b.next().await["seq"], 1);

    a.send(json!({"type": "command", "req": "7", "op": "mark_read", "ids": [id]})).await;
    let mut saw_result = false;
    let mut saw_change = false;
    while !(saw_result && saw_change) {
        let f = a.next().await;
        match f["type"].as_str().unwrap() {
            "result" => {
                assert_eq!(f, json!({"type": "result", "req": "7", "ok": true}));
                saw_result = true;
            }
            "change" => {
                assert_eq!(f["seq"], 2);
                saw_change = true;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let f = b.next().await;
    assert_eq!(f["seq"], 2);
    assert_eq!(f["kind"], "notification_updated");
    assert!(f["notification"]["read_at"].is_string(), "{f}");
    // Idempotent: the same command again changes nothing and says ok.
    a.send(json!({"type": "command", "req": "8", "op": "mark_read", "ids": [id]})).await;
    assert_eq!(a.next().await, json!({"type": "result", "req": "8", "ok": true}));
    let (_, count) = d.get("alice", "/notifications/unread_count").await;
    assert_eq!(count, json!({"unread": 0}));
    // Unknown ids are refused.
    a.send(json!({"type": "command", "req": "9", "op": "archive", "ids": ["01NOPE"]})).await;
    let f = a.next().await;
    assert_eq!(f["ok"], false);
    assert_eq!(f["error"]["code"], "not_found");
    d.stop().await;
}

#[tokio::test]
async fn prefs_update_is_versioned_and_reaches_every_client() {
    let d = start().await;
    let (mut a, welcome) = Ws::connect(&d, "alice", 0, None).await;
    let (mut b, _) = Ws::connect(&d, "alice", 0, None).await;
    let mut prefs = welcome["prefs"].clone();
    prefs["quiet_hours"]["enabled"] = json!(true);
    prefs["quiet_hours"]["timezone"] = json!("Europe/Berlin");
    a.send(json!({"type": "command", "req": "1", "op": "prefs_update", "version": 0, "prefs": prefs})).await;
    assert_eq!(a.next_of("result").await["ok"], true);
    let f = b.next().await;
    assert_eq!(f["kind"], "prefs_updated");
    assert_eq!(f["prefs_version"], 1);
    assert_eq!(f["prefs"]["quiet_hours"]["timezone"], "Europe/Berlin");

    // A stale version is refused with the server's current preferences.
    prefs["quiet_hours"]["timezone"] = json!("Asia/Tokyo");
    b.send(json!({"type": "command", "req": "2", "op": "prefs_update", "version": 0, "prefs": prefs})).await;
    let r = b.next_of("result").await;
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"]["code"], "conflict");
    assert_eq!(r["prefs_version"], 1);
    assert_eq!(r["prefs"]["quiet_hours"]["timezone"], "Europe/Berlin");

    // Invalid values are refused naming the field, as over REST.
    prefs["quiet_hours"]["timezone"] = json!("Mars/Olympus");
    b.send(json!({"type": "command", "req": "3", "op": "prefs_update", "version": 1, "prefs": prefs})).await;
    let r = b.next_of("result").await;
    assert_eq!(r["error"]["field"], "quiet_hours.timezone");
    let (_, settings) = d.get("alice", "/settings").await;
    assert_eq!(settings["prefs_version"], 1);
    d.stop().await;
}

#[tokio::test]
async fn presence_suppresses_pings_for_the_thread_being_read() {
    let d = start().await;
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    ws.send(json!({"type": "presence", "state": "active", "viewing": "repo#42"})).await;
    // The presence frame is applied before the ping is answered (frames are handled in order).
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await["type"], "pong");
    d.publish(
        "alice",
        json!({"type": "issue.commented", "title": "reply", "thread": "repo#42", "urgency": "urgent"}),
    )
    .await;
    let f = ws.next().await;
    assert!(f["notification"]["read_at"].is_string(), "arrives read while viewed: {f}");
    assert!(f["notification"]["deliveries"].get("desktop").is_none(), "no popup: {f}");
    d.publish(
        "alice",
        json!({"type": "issue.commented", "title": "elsewhere", "thread": "repo#7", "urgency": "urgent"}),
    )
    .await;
    let f = ws.next().await;
    assert!(f["notification"]["read_at"].is_null());
    assert_eq!(f["notification"]["deliveries"]["desktop"]["status"], "pending");
    d.stop().await;
}

#[tokio::test]
async fn shutdown_closes_websockets_with_a_close_frame() {
    let d = start().await;
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    let stop = tokio::spawn(d.stop());
    let f = ws.next().await;
    assert_eq!(f["type"], "__close", "{f}");
    assert!(f["frame"].as_str().unwrap().contains("Away"), "close code 1001 (going away): {f}");
    stop.await.unwrap();
}

#[tokio::test]
async fn a_slow_reader_catches_up_without_loss() {
    let d = start().await;
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    // Publish far more than a connection's queue holds while the client reads nothing.
    let total = campanile::dispatch::hub::QUEUE as i64 * 3;
    let mut tasks = Vec::new();
    for chunk in 0..8 {
        let http = d.http.clone();
        let url = d.url("/events");
        let token = d.token("svc").to_string();
        tasks.push(tokio::spawn(async move {
            for i in 0..total / 8 {
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"type": "load.tick", "title": format!("{chunk}-{i}"), "to": {"users": ["alice"]}}))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for seq in 1..=total {
        let f = ws.next().await;
        assert_eq!(f["seq"], seq, "every change once, in order");
    }
    d.stop().await;
}

#[tokio::test]
async fn a_replayed_change_is_the_live_change() {
    let d = start().await;
    let (mut ws, _) = Ws::connect(&d, "alice", 0, None).await;
    d.publish(
        "alice",
        json!({"type": "deploy.failed", "title": "down", "body": "**api** is down", "urgency": "urgent",
               "thread": "ops#1", "url": "https://status.example/1", "data": {"region": "eu"}}),
    )
    .await;
    let live = ws.next().await;
    let (mut again, _) = Ws::connect(&d, "alice", 0, None).await;
    assert_eq!(again.next().await, live, "the same frame whether live or replayed");
    d.stop().await;
}
