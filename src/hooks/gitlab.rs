//! GitLab (project and group webhooks): `X-Gitlab-Token` carries the secret, `X-Gitlab-Event`
//! the kind, and `Idempotency-Key` (or `X-Gitlab-Event-UUID`) the idempotency key. Pipelines,
//! merge requests, notes and issues map like GitHub's: the same event types, a thread per
//! merge request (`gitlab:{project}!{iid}`) and issue (`gitlab:{project}#{iid}`), pipelines
//! collapsed per project and ref.

use serde_json::Value;

use super::{
    Headers, HookError, Mapped, Outcome, Settings, clip, event, key_of, need, need_u64, object, text,
};
use crate::model::Urgency;

pub(super) fn map(headers: &Headers, body: &[u8], settings: &Settings) -> Result<Outcome, HookError> {
    let kind = headers
        .get("x-gitlab-event")
        .ok_or_else(|| HookError::Malformed("missing X-Gitlab-Event: is this a GitLab webhook?".into()))?;
    let p = object(body, "GitLab")?;
    let key = headers
        .get("idempotency-key")
        .or_else(|| headers.get("x-gitlab-event-uuid"))
        .map(|k| key_of(&["gitlab", k]));
    let project = || need(&p, "/project/path_with_namespace", kind);
    let mapped = match kind {
        "Pipeline Hook" => pipeline(&p, project()?, settings)?,
        "Merge Request Hook" => merge_request(&p, project()?)?,
        "Note Hook" => note(&p, project()?)?,
        "Issue Hook" => issue(&p, project()?)?,
        other => return Ok(Outcome::Ignored(format!("GitLab event `{other}` is not one this hook maps"))),
    };
    Ok(match mapped {
        Ok(mut m) => {
            m.key = key;
            Outcome::Events(vec![m])
        }
        Err(why) => Outcome::Ignored(why),
    })
}

type Mapping = Result<Result<Mapped, String>, HookError>;

fn actor(p: &Value) -> Option<&str> {
    text(p, "/user/username")
}

fn pipeline(p: &Value, project: &str, settings: &Settings) -> Mapping {
    let status = need(p, "/object_attributes/status", "Pipeline Hook")?;
    let failed = status == "failed";
    if !failed && status != "success" {
        return Ok(Err(format!("pipeline {status}: only failed and passed pipelines notify")));
    }
    let id = need_u64(p, "/object_attributes/id", "Pipeline Hook")?;
    let git_ref = text(p, "/object_attributes/ref").unwrap_or("(no ref)");
    let main =
        text(p, "/project/default_branch") == Some(git_ref) || settings.branches.iter().any(|b| b == git_ref);
    let mut reasons = vec![format!("pipeline #{id} {status} on `{git_ref}`")];
    let urgency = match (failed, main) {
        (true, true) => {
            reasons.push("failed on the default (or a listed) branch: high".into());
            Urgency::High
        }
        (true, false) => Urgency::Normal,
        (false, _) => {
            reasons.push("passed: low, and it updates an unread failure of the same ref".into());
            Urgency::Low
        }
    };
    let url = text(p, "/object_attributes/url")
        .map(String::from)
        .or_else(|| text(p, "/project/web_url").map(|w| format!("{w}/-/pipelines/{id}")));
    let thread = format!("gitlab:{project}/ci@{git_ref}");
    reasons.push(format!("collapsed per project and ref: `{thread}`"));
    let mut e = event(
        if failed { "ci.failed" } else { "ci.passed" },
        "ci",
        urgency,
        &format!("Pipeline {} on {git_ref} ({project})", if failed { "failed" } else { "passed" }),
        text(p, "/commit/message").map(|m| super::first_line(m).to_string()),
        url.as_deref(),
        Some(thread.clone()),
        actor(p),
    );
    e.collapse_key = Some(clip(&thread, super::KEY));
    e.data = serde_json::json!({"source": "gitlab", "event": "pipeline", "project": project, "ref": git_ref, "status": status, "pipeline": id});
    Ok(Ok(Mapped { key: None, event: e, reasons }))
}

fn merge_request(p: &Value, project: &str) -> Mapping {
    let what = "Merge Request Hook";
    let iid = need_u64(p, "/object_attributes/iid", what)?;
    let title = need(p, "/object_attributes/title", what)?;
    let action = text(p, "/object_attributes/action").unwrap_or("");
    let who = actor(p).unwrap_or("someone");
    let reviewers_changed = p.pointer("/changes/reviewers").is_some();
    let (kind, urgency, headline) = match action {
        "open" | "reopen" => ("pull_request.opened", Urgency::Normal, format!("{who} {}ed !{iid}", action)),
        "merge" => ("pull_request.merged", Urgency::Normal, format!("{who} merged !{iid}")),
        "close" => ("pull_request.closed", Urgency::Low, format!("{who} closed !{iid} without merging")),
        "approved" => ("pull_request.reviewed", Urgency::Normal, format!("{who} approved !{iid}")),
        "update" if reviewers_changed => {
            let names: Vec<&str> = p
                .pointer("/changes/reviewers/current")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|r| r.get("username").and_then(Value::as_str)).collect())
                .unwrap_or_default();
            let to = if names.is_empty() { "reviewers".to_string() } else { names.join(", ") };
            (
                "pull_request.review_requested",
                Urgency::Normal,
                format!("{who} requested a review from {to} on !{iid}"),
            )
        }
        other => {
            return Ok(Err(format!(
                "merge request `{other}`: not one of open, reopen, merge, close, approved, a reviewer change"
            )));
        }
    };
    let thread = format!("gitlab:{project}!{iid}");
    let mut e = event(
        kind,
        "reviews",
        urgency,
        &format!("{headline}: {title}"),
        text(p, "/object_attributes/description").map(String::from),
        text(p, "/object_attributes/url"),
        Some(thread.clone()),
        actor(p),
    );
    e.data = serde_json::json!({"source": "gitlab", "event": "merge_request", "action": action, "project": project, "iid": iid});
    Ok(Ok(Mapped {
        key: None,
        event: e,
        reasons: vec![format!("merge request {action}"), format!("thread `{thread}`")],
    }))
}

fn note(p: &Value, project: &str) -> Mapping {
    let what = "Note Hook";
    let on = need(p, "/object_attributes/noteable_type", what)?;
    let (thread, number, title, category) = match on {
        "MergeRequest" => {
            let iid = need_u64(p, "/merge_request/iid", what)?;
            (
                format!("gitlab:{project}!{iid}"),
                format!("!{iid}"),
                need(p, "/merge_request/title", what)?,
                "reviews",
            )
        }
        "Issue" => {
            let iid = need_u64(p, "/issue/iid", what)?;
            (format!("gitlab:{project}#{iid}"), format!("#{iid}"), need(p, "/issue/title", what)?, "issues")
        }
        other => {
            return Ok(Err(format!("a comment on a {other}: only merge request and issue comments notify")));
        }
    };
    let who = actor(p).unwrap_or("someone");
    let mut e = event(
        "comment.created",
        category,
        Urgency::Normal,
        &format!("{who} commented on {number}: {title}"),
        text(p, "/object_attributes/note").map(String::from),
        text(p, "/object_attributes/url"),
        Some(thread.clone()),
        actor(p),
    );
    e.data = serde_json::json!({"source": "gitlab", "event": "note", "project": project, "on": on});
    Ok(Ok(Mapped {
        key: None,
        event: e,
        reasons: vec![format!("a new comment on {number}"), format!("thread `{thread}`")],
    }))
}

fn issue(p: &Value, project: &str) -> Mapping {
    let what = "Issue Hook";
    let iid = need_u64(p, "/object_attributes/iid", what)?;
    let title = need(p, "/object_attributes/title", what)?;
    let action = text(p, "/object_attributes/action").unwrap_or("");
    let who = actor(p).unwrap_or("someone");
    let (kind, headline) = match action {
        "open" => ("issue.opened", format!("{who} opened #{iid}")),
        "update" if p.pointer("/changes/assignees").is_some() => {
            let names: Vec<&str> = p
                .pointer("/changes/assignees/current")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|r| r.get("username").and_then(Value::as_str)).collect())
                .unwrap_or_default();
            let to = if names.is_empty() { "nobody".to_string() } else { names.join(", ") };
            ("issue.assigned", format!("{who} assigned #{iid} to {to}"))
        }
        other => return Ok(Err(format!("issue `{other}`: only opened and assigned notify"))),
    };
    let thread = format!("gitlab:{project}#{iid}");
    let mut e = event(
        kind,
        "issues",
        Urgency::Normal,
        &format!("{headline}: {title}"),
        text(p, "/object_attributes/description").map(String::from),
        text(p, "/object_attributes/url"),
        Some(thread.clone()),
        actor(p),
    );
    e.data = serde_json::json!({"source": "gitlab", "event": "issue", "action": action, "project": project, "iid": iid});
    Ok(Ok(Mapped {
        key: None,
        event: e,
        reasons: vec![format!("issue {action}"), format!("thread `{thread}`")],
    }))
}
