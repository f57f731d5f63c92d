//! The OpenAPI document is exact (issue 12, finding 13): every status a route answers is
//! documented for that route, query parameters are declared in the query, limits are
//! enforced as declared, `null` is allowed where it is sent, and a body of the wrong JSON
//! type is refused. Each case drives the real daemon and reads the document it serves.
//! `.ci/run` also runs schemathesis against the binary; these tests keep the findings fixed
//! without it.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Daemon, start};

async fn doc(d: &Daemon) -> Value {
    d.http.get(d.url("/openapi.json")).send().await.unwrap().json().await.unwrap()
}

/// The documented operation `method path` (the path as the document spells it).
fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

/// Resolves a `$ref` within the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
        None => schema,
    }
}

struct Case {
    who: Option<&'static str>,
    method: Method,
    /// As documented, e.g. `/notifications`.
    path: &'static str,
    /// What is sent: the path with its parameters filled in and a query.
    concrete: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Option<&'static str>,
    status: u16,
}

const fn case(
    method: Method,
    path: &'static str,
    concrete: &'static str,
    body: Option<&'static str>,
    status: u16,
) -> Case {
    Case { who: Some("alice"), method, path, concrete, headers: &[], body, status }
}

fn cases() -> Vec<Case> {
    use Method as M;
    vec![
        // Queries that do not parse, and limits past the declared maximum.
        case(M::GET, "/notifications", "/notifications?unread=maybe", None, 400),
        case(M::GET, "/notifications", "/notifications?limit=201", None, 400),
        case(M::GET, "/notifications", "/notifications?limit=0", None, 400),
        case(M::GET, "/notifications", "/notifications?view=nowhere", None, 400),
        Case { who: Some("root"), ..case(M::GET, "/audit", "/audit?limit=1001", None, 400) },
        Case { who: Some("root"), ..case(M::GET, "/audit", "/audit?limit=0", None, 400) },
        Case { who: Some("root"), ..case(M::GET, "/audit", "/audit?limit=x", None, 400) },
        case(M::DELETE, "/device-tokens/{token}", "/device-tokens/phone", None, 400),
        // Bodies that are not JSON, or JSON of the wrong type.
        case(M::POST, "/device-tokens", "/device-tokens", Some("\0"), 400),
        Case {
            who: Some("svc"),
            ..case(M::POST, "/webhooks/delivery-status", "/webhooks/delivery-status", Some("{"), 400)
        },
        case(M::POST, "/notifications/mark_all_read", "/notifications/mark_all_read", Some("[]"), 422),
        case(M::POST, "/notifications/mark_all_read", "/notifications/mark_all_read", Some("[\"x\"]"), 422),
        case(M::POST, "/notifications/bulk", "/notifications/bulk", Some("[\"mark_read\"]"), 422),
        case(M::POST, "/device-tokens", "/device-tokens", Some("[\"ntfy\", \"t\"]"), 422),
        case(M::POST, "/notifications/mark_all_read", "/notifications/mark_all_read", Some("{"), 400),
        case(M::POST, "/notifications/mark_all_read", "/notifications/mark_all_read", Some("\r"), 400),
        case(M::POST, "/workflows/{id}/trigger", "/workflows/welcome/trigger", Some("{"), 400),
        // A bad `If-Match`.
        Case { headers: &[("if-match", "soon")], ..case(M::PUT, "/settings", "/settings", Some("{}"), 400) },
        // A topic name the store refuses.
        case(M::PUT, "/topics/{topic}/subscribers/{user}", "/topics/%20/subscribers/alice", None, 422),
        case(M::DELETE, "/topics/{topic}/subscribers/{user}", "/topics/%20/subscribers/alice", None, 422),
        // A plain GET of the websocket route.
        Case { who: None, ..case(M::GET, "/stream", "/stream", None, 400) },
        // No token, on every kind of route.
        Case { who: None, ..case(M::GET, "/settings", "/settings", None, 401) },
        Case { who: None, ..case(M::GET, "/topics", "/topics", None, 401) },
        Case { who: None, ..case(M::POST, "/device-tokens", "/device-tokens", Some("{}"), 401) },
        Case { who: None, ..case(M::GET, "/workflows", "/workflows", None, 401) },
        Case { who: None, ..case(M::PATCH, "/notifications/{id}/read", "/notifications/x/read", None, 401) },
    ]
}

#[tokio::test]
async fn every_status_a_route_answers_is_documented_for_it() {
    let d = start().await;
    let doc = doc(&d).await;
    let mut wrong = Vec::new();
    for c in cases() {
        let mut rb = d.http.request(c.method.clone(), d.url(c.concrete));
        if let Some(who) = c.who {
            rb = rb.bearer_auth(d.token(who));
        }
        for (k, v) in c.headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = c.body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let label = format!("{} {} {:?}", c.method, c.concrete, c.body);
        if status != c.status {
            wrong.push(format!("{label}: answered {status}, expected {}: {text}", c.status));
        }
        let method = c.method.as_str().to_lowercase();
        let responses = &operation(&doc, &method, c.path)["responses"];
        if responses.get(status.to_string()).is_none() {
            wrong.push(format!("{label}: {status} is not documented for {method} {}", c.path));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    d.stop().await;
}

#[tokio::test]
async fn query_parameters_are_in_the_query_with_their_limits() {
    let d = start().await;
    let doc = doc(&d).await;
    for (path, name, min, max) in [("/notifications", "limit", 1, 200), ("/audit", "limit", 1, 1000)] {
        let params = operation(&doc, "get", path)["parameters"].as_array().unwrap();
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(p["in"], "query", "{path} {name}: {p}");
        assert_eq!(p["schema"]["minimum"], min, "{path} {name}: {p}");
        assert_eq!(p["schema"]["maximum"], max, "{path} {name}: {p}");
    }
    for (path, op) in doc["paths"].as_object().unwrap() {
        for (method, op) in op.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: {name} is not in the path"
                    );
                }
            }
        }
    }
    d.stop().await;
}

#[tokio::test]
async fn every_route_but_the_probes_declares_its_bearer_token() {
    let d = start().await;
    let doc = doc(&d).await;
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let security = op.get("security").unwrap_or(&doc["security"]);
            let public = matches!(path.as_str(), "/healthz" | "/metrics");
            let needs_token =
                security.as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            assert_eq!(needs_token, !public, "{method} {path}: security {security}");
            if !public {
                assert!(op["responses"].get("401").is_some(), "{method} {path}: 401 not documented");
            }
            for status in ["500", "503"] {
                assert!(op["responses"].get(status).is_some(), "{method} {path}: {status} not documented");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413"] {
                    assert!(
                        op["responses"].get(status).is_some(),
                        "{method} {path}: {status} not documented"
                    );
                }
            }
        }
    }
    d.stop().await;
}

#[tokio::test]
async fn data_is_null_where_the_document_allows_null() {
    let d = start().await;
    let doc = doc(&d).await;
    // A plain-text event has no data; its notification says `"data": null`.
    let r = d
        .http
        .post(d.url("/events"))
        .bearer_auth(d.token("alice"))
        .header("content-type", "text/plain")
        .body("Hello\nthere")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (status, page) = d.get("alice", "/notifications").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["data"], Value::Null, "{page}");
    let schema = &doc["components"]["schemas"]["Notification"]["properties"]["data"];
    let types: Vec<&str> =
        resolve(&doc, schema)["type"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(types, ["object", "null"], "{schema}");
    // What the document declares for an event's `data` is what is accepted.
    let (status, body) = d.publish("alice", json!({"type": "a.b", "title": "t", "data": [1, 2]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "data", "{body}");
    let (status, body) = d.publish("alice", json!({"type": "a.b", "title": "t", "data": null})).await;
    assert_eq!(status, 201, "{body}");
    d.stop().await;
}
