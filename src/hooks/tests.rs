//! The mapping of each sender's payload, on fixtures written from the senders' documented
//! schemas (`tests/fixtures/hooks/`).

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use super::*;
use crate::model::Recipients;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/hooks/", $name))
    };
}

fn github(kind: &str, body: &[u8]) -> Outcome {
    let h = Headers::new()
        .with("X-GitHub-Event", kind)
        .with("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    map(HookSource::Github, None, &h, body, &Settings::default()).unwrap()
}

fn only(outcome: Outcome) -> Mapped {
    match outcome {
        Outcome::Events(mut v) if v.len() == 1 => v.remove(0),
        other => panic!("expected one event, got {other:?}"),
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

#[test]
fn github_signatures_are_checked_against_the_body() {
    let body = fixture!("github_push.json");
    let good = Headers::new().with("X-Hub-Signature-256", &sign("topsecret", body));
    assert_eq!(verify(HookSource::Github, "topsecret", &good, body), Ok(()));
    // Another secret, a changed body, a missing or mangled header: all refused.
    assert!(matches!(verify(HookSource::Github, "other", &good, body), Err(HookError::Unauthorized(_))));
    let mut changed = body.to_vec();
    changed[10] ^= 1;
    assert!(matches!(
        verify(HookSource::Github, "topsecret", &good, &changed),
        Err(HookError::Unauthorized(_))
    ));
    let e = verify(HookSource::Github, "topsecret", &Headers::new(), body).unwrap_err();
    assert!(e.to_string().contains("X-Hub-Signature-256"), "{e}");
    let sha1 = Headers::new().with("X-Hub-Signature-256", "sha1=abcd");
    assert!(matches!(verify(HookSource::Github, "topsecret", &sha1, body), Err(HookError::Unauthorized(_))));
    let odd = Headers::new().with("X-Hub-Signature-256", "sha256=abc");
    assert!(matches!(verify(HookSource::Github, "topsecret", &odd, body), Err(HookError::Unauthorized(_))));
}

#[test]
fn a_failed_run_on_the_default_branch_is_high_and_collapses_per_workflow_and_branch() {
    let m = only(github("workflow_run", fixture!("github_workflow_run_failure.json")));
    assert_eq!(m.event.kind, "ci.failed");
    assert_eq!(m.event.category.as_deref(), Some("ci"));
    assert_eq!(m.event.urgency, Some(Urgency::High));
    assert_eq!(m.event.title, "Build and test failed on main (acme/bellows)");
    assert_eq!(m.event.url.as_deref(), Some("https://github.com/acme/bellows/actions/runs/90210"));
    assert_eq!(m.event.collapse_key.as_deref(), Some("github:acme/bellows/ci/Build and test@main"));
    assert_eq!(m.event.thread, m.event.collapse_key);
    assert_eq!(m.event.actor.as_deref(), Some("marta"));
    assert_eq!(m.key.as_deref(), Some("github:72d3162e-cc78-11e3-81ab-4c9367dc0958"));
    assert!(m.reasons.iter().any(|r| r.contains("default")), "{:?}", m.reasons);
    m.event.validate().unwrap();

    let fixed = only(github("workflow_run", fixture!("github_workflow_run_success.json")));
    assert_eq!(fixed.event.kind, "ci.passed");
    assert_eq!(fixed.event.urgency, Some(Urgency::Low));
    assert_eq!(fixed.event.collapse_key, m.event.collapse_key, "a fix folds into the failure");
}

#[test]
fn a_failure_elsewhere_is_normal_unless_the_branch_is_listed() {
    let text = String::from_utf8(fixture!("github_workflow_run_failure.json").to_vec()).unwrap();
    let body = text.replace("\"head_branch\": \"main\"", "\"head_branch\": \"release-2\"");
    let m = only(github("workflow_run", body.as_bytes()));
    assert_eq!(m.event.urgency, Some(Urgency::Normal));
    let settings = Settings { branches: vec!["release-2".into()], ..Settings::default() };
    let h = Headers::new().with("X-GitHub-Event", "workflow_run");
    let m = only(map(HookSource::Github, None, &h, body.as_bytes(), &settings).unwrap());
    assert_eq!(m.event.urgency, Some(Urgency::High));
}

#[test]
fn runs_in_progress_and_cancelled_runs_are_ignored() {
    let text = String::from_utf8(fixture!("github_workflow_run_failure.json").to_vec()).unwrap();
    let requested = text.replace("\"action\": \"completed\"", "\"action\": \"requested\"");
    assert!(matches!(github("workflow_run", requested.as_bytes()), Outcome::Ignored(_)));
    let cancelled = text.replace("\"conclusion\": \"failure\"", "\"conclusion\": \"cancelled\"");
    assert!(matches!(github("workflow_run", cancelled.as_bytes()), Outcome::Ignored(_)));
}

#[test]
fn check_suites_and_check_runs_map_like_workflow_runs() {
    let suite = serde_json::json!({"action": "completed", "check_suite": {"head_branch": "main", "conclusion": "timed_out",
        "app": {"name": "Buildkite"}, "details_url": "https://ci.example/1"},
        "repository": {"full_name": "acme/bellows", "default_branch": "main"}, "sender": {"login": "bot"}});
    let m = only(github("check_suite", suite.to_string().as_bytes()));
    assert_eq!((m.event.kind.as_str(), m.event.urgency), ("ci.failed", Some(Urgency::High)));
    assert_eq!(m.event.title, "Buildkite failed on main (acme/bellows)");
    let run = serde_json::json!({"action": "completed", "check_run": {"name": "lint", "conclusion": "success",
        "html_url": "https://github.com/acme/bellows/runs/5", "check_suite": {"head_branch": "topic"}},
        "repository": {"full_name": "acme/bellows", "default_branch": "main"}});
    let m = only(github("check_run", run.to_string().as_bytes()));
    assert_eq!(m.event.kind, "ci.passed");
    assert_eq!(m.event.thread.as_deref(), Some("github:acme/bellows/ci/lint@topic"));
}

#[test]
fn pull_requests_have_one_thread_each() {
    let opened = only(github("pull_request", fixture!("github_pull_request_opened.json")));
    assert_eq!(opened.event.kind, "pull_request.opened");
    assert_eq!(opened.event.title, "ivo opened #77: Retry webhooks with jitter");
    assert_eq!(opened.event.thread.as_deref(), Some("github:acme/bellows#77"));
    assert_eq!(opened.event.category.as_deref(), Some("reviews"));
    let merged = only(github("pull_request", fixture!("github_pull_request_merged.json")));
    assert_eq!(merged.event.kind, "pull_request.merged");
    assert_eq!(merged.event.title, "marta merged #77: Retry webhooks with jitter");
    let asked = only(github("pull_request", fixture!("github_pull_request_review_requested.json")));
    assert_eq!(asked.event.kind, "pull_request.review_requested");
    assert!(asked.event.title.contains("from lena"), "{}", asked.event.title);
    let review = only(github("pull_request_review", fixture!("github_pull_request_review.json")));
    assert_eq!(review.event.kind, "pull_request.reviewed");
    assert_eq!(review.event.urgency, Some(Urgency::High), "changes requested");
    for m in [&opened, &merged, &asked, &review] {
        assert_eq!(m.event.thread, opened.event.thread);
        m.event.validate().unwrap();
    }
    assert!(matches!(
        github("pull_request", fixture!("github_pull_request_synchronize.json")),
        Outcome::Ignored(_)
    ));
}

#[test]
fn comments_issues_pushes_and_releases() {
    let c = only(github("issue_comment", fixture!("github_issue_comment.json")));
    assert_eq!(c.event.kind, "comment.created");
    assert_eq!(c.event.category.as_deref(), Some("issues"));
    assert_eq!(c.event.thread.as_deref(), Some("github:acme/bellows#812"));
    assert!(c.event.body.as_deref().unwrap().starts_with("I can reproduce"));
    let a = only(github("issues", fixture!("github_issues_assigned.json")));
    assert_eq!(a.event.kind, "issue.assigned");
    assert_eq!(a.event.title, "marta assigned #812 to alice: Digest arrives twice on DST change");
    assert_eq!(a.event.thread, c.event.thread, "an issue and its comments share a thread");
    let p = only(github("push", fixture!("github_push.json")));
    assert_eq!(p.event.title, "marta pushed 2 commits to main (acme/bellows)");
    assert_eq!(p.event.body.as_deref(), Some("- Fold held items into one summary\n- Document the summary"));
    assert_eq!(p.event.urgency, Some(Urgency::Normal));
    let r = only(github("release", fixture!("github_release.json")));
    assert_eq!(r.event.title, "acme/bellows v2.3.0 released: Quiet evenings");
    for m in [&c, &a, &p, &r] {
        m.event.validate().unwrap();
    }
}

#[test]
fn pushes_elsewhere_are_ignored_and_force_pushes_are_high() {
    let text = String::from_utf8(fixture!("github_push.json").to_vec()).unwrap();
    let topic = text.replace("refs/heads/main", "refs/heads/topic");
    assert!(matches!(github("push", topic.as_bytes()), Outcome::Ignored(w) if w.contains("topic")));
    let tag = text.replace("refs/heads/main", "refs/tags/v1");
    assert!(matches!(github("push", tag.as_bytes()), Outcome::Ignored(_)));
    let forced = text.replace("\"forced\": false", "\"forced\": true");
    assert_eq!(only(github("push", forced.as_bytes())).event.urgency, Some(Urgency::High));
}

#[test]
fn ping_and_unknown_kinds_store_nothing() {
    assert!(matches!(github("ping", fixture!("github_ping.json")), Outcome::Ping(_)));
    assert!(
        matches!(github("star", fixture!("github_push.json")), Outcome::Ignored(w) if w.contains("star"))
    );
}

#[test]
fn malformed_github_payloads_say_what_is_wrong() {
    let h = Headers::new().with("X-GitHub-Event", "pull_request");
    let e = map(HookSource::Github, None, &h, b"{not json", &Settings::default()).unwrap_err();
    assert!(matches!(&e, HookError::Malformed(m) if m.contains("not JSON")), "{e}");
    let e = map(
        HookSource::Github,
        None,
        &h,
        br#"{"action":"opened","repository":{"full_name":"a/b"},"pull_request":{"title":"x"}}"#,
        &Settings::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "pull_request: missing `pull_request.number` (a number)");
    let e = map(HookSource::Github, None, &Headers::new(), b"{}", &Settings::default()).unwrap_err();
    assert!(e.to_string().contains("X-GitHub-Event"), "{e}");
}

fn alerts(source: HookSource, body: &[u8], settings: &Settings) -> Vec<Mapped> {
    match map(source, None, &Headers::new(), body, settings).unwrap() {
        Outcome::Events(v) => v,
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn alertmanager_makes_one_event_per_alert_with_urgency_from_severity() {
    let v = alerts(HookSource::Alertmanager, fixture!("alertmanager_firing.json"), &Settings::default());
    assert_eq!(v.len(), 2);
    let (db1, db2) = (&v[0], &v[1]);
    assert_eq!(db1.event.kind, "alert.firing");
    assert_eq!(db1.event.urgency, Some(Urgency::Urgent), "critical");
    assert_eq!(db2.event.urgency, Some(Urgency::High), "warning");
    assert_eq!(db1.event.title, "[FIRING] DiskFilling: Disk on db-1 will be full within 4 hours");
    assert_eq!(db1.event.collapse_key.as_deref(), Some("alertmanager:c0ffee0011223344"));
    assert_eq!(db1.event.url.as_deref(), Some("http://prometheus.example:9090/graph?g0.expr=disk_free"));
    assert_eq!(db1.event.occurred_at, Some("2027-03-14T06:00:00Z".parse().unwrap()));
    assert_ne!(db1.key, db2.key);
    // Severities are configurable.
    let s =
        Settings { severity_urgency: [("warning".to_string(), Urgency::Low)].into(), ..Settings::default() };
    let v = alerts(HookSource::Alertmanager, fixture!("alertmanager_firing.json"), &s);
    assert_eq!((v[0].event.urgency, v[1].event.urgency), (Some(Urgency::Normal), Some(Urgency::Low)));
}

#[test]
fn a_resolved_alert_shares_the_firing_collapse_key_and_is_low() {
    let firing = alerts(HookSource::Alertmanager, fixture!("alertmanager_firing.json"), &Settings::default());
    let resolved =
        alerts(HookSource::Alertmanager, fixture!("alertmanager_resolved.json"), &Settings::default());
    assert_eq!(resolved[0].event.kind, "alert.resolved");
    assert_eq!(resolved[0].event.urgency, Some(Urgency::Low));
    assert!(resolved[0].event.title.starts_with("[RESOLVED] DiskFilling"));
    assert_eq!(resolved[0].event.collapse_key, firing[0].event.collapse_key);
    assert_ne!(resolved[0].key, firing[0].key);
    // The same notification again is the same key (a replay), a changed one is not.
    let again = alerts(HookSource::Alertmanager, fixture!("alertmanager_firing.json"), &Settings::default());
    assert_eq!(again[0].key, firing[0].key);
    let text = String::from_utf8(fixture!("alertmanager_firing.json").to_vec()).unwrap();
    let changed = text.replace("91% full", "93% full");
    let changed = alerts(HookSource::Alertmanager, changed.as_bytes(), &Settings::default());
    assert_ne!(changed[0].key, firing[0].key);
}

#[test]
fn a_recipient_label_routes_an_alert() {
    let text = String::from_utf8(fixture!("alertmanager_firing.json").to_vec()).unwrap();
    let body = text.replacen("\"job\": \"node\"", "\"job\": \"node\", \"oncall\": \"alice, bob\"", 1);
    let s = Settings { recipient_label: "oncall".into(), ..Settings::default() };
    let v = alerts(HookSource::Alertmanager, body.as_bytes(), &s);
    assert_eq!(v[0].event.to, Some(Recipients::Users(vec!["alice".into(), "bob".into()])));
    assert_eq!(v[1].event.to, None, "no label: the hook's target");
}

#[test]
fn malformed_alerts_name_the_field() {
    let e = map(HookSource::Alertmanager, None, &Headers::new(), br#"{"version":"4"}"#, &Settings::default())
        .unwrap_err();
    assert_eq!(e.to_string(), "alertmanager: missing `alerts` (an array)");
    let body = br#"{"alerts":[{"status":"pending","labels":{}}]}"#;
    let e = map(HookSource::Alertmanager, None, &Headers::new(), body, &Settings::default()).unwrap_err();
    assert!(e.to_string().contains("alerts[0].status is `pending`"), "{e}");
    let body = br#"{"alerts":[{"status":"firing"}]}"#;
    let e = map(HookSource::Grafana, None, &Headers::new(), body, &Settings::default()).unwrap_err();
    assert_eq!(e.to_string(), "grafana: alerts[0]: missing `labels`");
}

#[test]
fn grafana_alerts_map_like_alertmanagers() {
    let v = alerts(HookSource::Grafana, fixture!("grafana_firing.json"), &Settings::default());
    let m = &v[0];
    assert_eq!(m.event.kind, "alert.firing");
    assert_eq!(m.event.urgency, Some(Urgency::High));
    assert_eq!(m.event.title, "[FIRING] HighLatency: p99 latency above 800 ms");
    assert_eq!(m.event.collapse_key.as_deref(), Some("grafana:57a1b2c3d4e5f607"));
    assert!(m.event.body.as_deref().unwrap().contains("value=912.5"));
    m.event.validate().unwrap();
}

fn gitlab(kind: &str, body: &[u8]) -> Outcome {
    let h = Headers::new().with("X-Gitlab-Event", kind).with("X-Gitlab-Event-UUID", "e1f2");
    map(HookSource::Gitlab, None, &h, body, &Settings::default()).unwrap()
}

#[test]
fn gitlab_events_map_like_githubs() {
    let p = only(gitlab("Pipeline Hook", fixture!("gitlab_pipeline_failed.json")));
    assert_eq!((p.event.kind.as_str(), p.event.urgency), ("ci.failed", Some(Urgency::High)));
    assert_eq!(p.event.collapse_key.as_deref(), Some("gitlab:acme/ledger/ci@main"));
    assert_eq!(p.key.as_deref(), Some("gitlab:e1f2"));
    let mr = only(gitlab("Merge Request Hook", fixture!("gitlab_merge_request_open.json")));
    assert_eq!(mr.event.kind, "pull_request.opened");
    assert_eq!(mr.event.title, "nora opened !41: Invoices in CHF");
    let note = only(gitlab("Note Hook", fixture!("gitlab_note.json")));
    assert_eq!(note.event.kind, "comment.created");
    assert_eq!(note.event.thread, mr.event.thread);
    let issue = only(gitlab("Issue Hook", fixture!("gitlab_issue_open.json")));
    assert_eq!(issue.event.thread.as_deref(), Some("gitlab:acme/ledger#9"));
    for m in [&p, &mr, &note, &issue] {
        m.event.validate().unwrap();
    }
    assert!(matches!(gitlab("Wiki Page Hook", b"{}"), Outcome::Ignored(_)));
    let h = Headers::new().with("X-Gitlab-Event", "Pipeline Hook").with("Idempotency-Key", "k1");
    let p = only(
        map(HookSource::Gitlab, None, &h, fixture!("gitlab_pipeline_failed.json"), &Settings::default())
            .unwrap(),
    );
    assert_eq!(p.key.as_deref(), Some("gitlab:k1"), "Idempotency-Key comes first");
}

#[test]
fn cloudevents_in_structured_and_binary_mode() {
    let h = Headers::new().with("Content-Type", "application/cloudevents+json; charset=utf-8");
    let m = only(
        map(HookSource::Cloudevents, None, &h, fixture!("cloudevent_structured.json"), &Settings::default())
            .unwrap(),
    );
    assert_eq!(m.event.kind, "com.example.backup.completed");
    assert_eq!(m.event.title, "Backup of db-1 done");
    assert_eq!(m.event.body.as_deref(), Some("42 GB in 3 minutes"));
    assert_eq!(m.event.urgency, Some(Urgency::Low));
    assert_eq!(m.event.thread.as_deref(), Some("/backups/nightly/db-1"));
    assert_eq!(m.key.as_deref(), Some("ce:/backups/nightly:run-2027-03-14"));
    m.event.validate().unwrap();

    let h = Headers::new()
        .with("ce-specversion", "1.0")
        .with("ce-type", "Order Shipped!")
        .with("ce-source", "shop")
        .with("ce-id", "42")
        .with("content-type", "application/json");
    let m = only(map(HookSource::Cloudevents, None, &h, br#"{"order": 42}"#, &Settings::default()).unwrap());
    assert_eq!(m.event.kind, "order-shipped-");
    assert_eq!(m.event.title, "Order Shipped! from shop");
    assert_eq!(m.event.data["data"]["order"], 42);

    let e = map(
        HookSource::Cloudevents,
        None,
        &Headers::new().with("ce-specversion", "1.0"),
        b"",
        &Settings::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "missing CloudEvents attribute `ce-type`");
    let e = map(HookSource::Cloudevents, None, &Headers::new(), b"{}", &Settings::default()).unwrap_err();
    assert!(e.to_string().contains("not a CloudEvent"), "{e}");
}

fn templated() -> Settings {
    let t: Template = toml::from_str(
        r#"
type = "deploy.{{ status }}"
title = "{{ service }} {{ version }} {{ status }}"
body = "by {{ payload.actor.name }}"
url = "{{ links.dashboard }}"
thread = "deploy/{{ service }}"
urgency = "{% if status == 'failed' %}high{% else %}low{% endif %}"
category = "deploys"
id = "{{ run_id }}"
"#,
    )
    .unwrap();
    Settings { templates: [("deploys".to_string(), t)].into(), ..Settings::default() }
}

#[test]
fn a_generic_hook_renders_its_template() {
    let s = templated();
    validate_templates(&s.templates).unwrap();
    let body = br#"{"service":"api","version":"1.4.2","status":"failed","run_id":"r-9",
        "actor":{"name":"ci-bot"},"links":{"dashboard":"https://deploy.example/r-9"}}"#;
    let m = only(map(HookSource::Generic, Some("deploys"), &Headers::new(), body, &s).unwrap());
    assert_eq!(m.event.kind, "deploy.failed");
    assert_eq!(m.event.title, "api 1.4.2 failed");
    assert_eq!(m.event.body.as_deref(), Some("by ci-bot"));
    assert_eq!(m.event.url.as_deref(), Some("https://deploy.example/r-9"));
    assert_eq!(m.event.urgency, Some(Urgency::High));
    assert_eq!(m.event.category.as_deref(), Some("deploys"));
    assert_eq!(m.key.as_deref(), Some("generic:r-9"));
    assert_eq!(m.event.data["service"], "api");
}

#[test]
fn a_generic_hook_says_what_its_template_cannot_do() {
    let s = templated();
    let e = map(HookSource::Generic, Some("nope"), &Headers::new(), b"{}", &s).unwrap_err();
    assert!(e.to_string().contains("[hooks.templates.nope]"), "{e}");
    // A title that renders empty, and a type that is not one.
    let e = map(HookSource::Generic, Some("deploys"), &Headers::new(), b"{}", &s).unwrap_err();
    assert!(e.to_string().contains("deploys"), "{e}");
    let body = br#"{"service":"api","status":"NOT OK"}"#;
    let e = map(HookSource::Generic, Some("deploys"), &Headers::new(), body, &s).unwrap_err();
    assert!(e.to_string().contains("type"), "{e}");
    // A loop bomb runs out of fuel.
    let mut bomb = templated();
    bomb.templates.get_mut("deploys").unwrap().body =
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}".into();
    let body = br#"{"service":"api","version":"1","status":"ok"}"#;
    let e = map(HookSource::Generic, Some("deploys"), &Headers::new(), body, &bomb).unwrap_err();
    assert!(e.to_string().contains("deploys.body"), "{e}");
    // A template that does not compile is refused when the config loads, by its key.
    let mut broken = templated();
    broken.templates.get_mut("deploys").unwrap().title = "{{ oops ".into();
    let e = validate_templates(&broken.templates).unwrap_err();
    assert_eq!(e.field, "hooks.templates.deploys.title");
}
