//! GitHub (repository and organisation webhooks, content type `application/json`): the
//! body is signed with the hook's secret (`X-Hub-Signature-256: sha256=<hex HMAC>`), the
//! kind is `X-GitHub-Event`, and `X-GitHub-Delivery` (stable across redeliveries) is the
//! idempotency key. Pull requests and issues share one number space per repository, so
//! their thread is `github:{repo}#{number}`; CI runs collapse per workflow and branch.

use serde_json::Value;

use super::{
    HookError, Mapped, Outcome, Settings, clip, event, first_line, hmac_matches, key_of, need, need_u64,
    object, text,
};
use crate::model::Urgency;

pub(super) fn verify(secret: &str, headers: &super::Headers, body: &[u8]) -> Result<(), HookError> {
    let given = headers.get("x-hub-signature-256").ok_or_else(|| {
        HookError::Unauthorized(
            "missing X-Hub-Signature-256: set the hook's secret as the webhook's secret in GitHub".into(),
        )
    })?;
    let hex = given
        .strip_prefix("sha256=")
        .ok_or_else(|| HookError::Unauthorized("X-Hub-Signature-256 is not `sha256=<hex>`".into()))?;
    let expected = decode_hex(hex)
        .ok_or_else(|| HookError::Unauthorized("X-Hub-Signature-256 is not hexadecimal".into()))?;
    if hmac_matches(secret.as_bytes(), body, &expected) {
        Ok(())
    } else {
        Err(HookError::Unauthorized(
            "X-Hub-Signature-256 does not match the body signed with the hook's secret".into(),
        ))
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The repository, the actor and the delivery every GitHub event carries.
struct Common<'a> {
    repo: &'a str,
    default_branch: Option<&'a str>,
    actor: Option<&'a str>,
    key: Option<String>,
}

pub(super) fn map(headers: &super::Headers, body: &[u8], settings: &Settings) -> Result<Outcome, HookError> {
    let kind = headers
        .get("x-github-event")
        .ok_or_else(|| HookError::Malformed("missing X-GitHub-Event: is this a GitHub webhook?".into()))?;
    let p = object(body, "GitHub")?;
    if kind == "ping" {
        let zen = text(&p, "/zen").unwrap_or("pong");
        return Ok(Outcome::Ping(format!("ping: the hook is reachable and its secret is right ({zen})")));
    }
    let c = Common {
        repo: need(&p, "/repository/full_name", kind)?,
        default_branch: text(&p, "/repository/default_branch"),
        actor: text(&p, "/sender/login"),
        key: headers.get("x-github-delivery").map(|d| key_of(&["github", d])),
    };
    let action = text(&p, "/action").unwrap_or("");
    let one =
        |m: Option<Mapped>, why: String| Ok(m.map_or(Outcome::Ignored(why), |m| Outcome::Events(vec![m])));
    match kind {
        "workflow_run" => one(
            ci(&c, &p, "workflow_run", settings)?,
            format!("workflow_run {action}: only completed runs that failed or passed notify"),
        ),
        "check_suite" => one(
            ci(&c, &p, "check_suite", settings)?,
            format!("check_suite {action}: only completed suites that failed or passed notify"),
        ),
        "check_run" => one(
            ci(&c, &p, "check_run", settings)?,
            format!("check_run {action}: only completed runs that failed or passed notify"),
        ),
        "pull_request" => one(
            pull_request(&c, &p, action)?,
            format!(
                "pull_request {action}: not one of opened, reopened, ready_for_review, review_requested, closed"
            ),
        ),
        "pull_request_review" => one(
            review(&c, &p, action)?,
            format!("pull_request_review {action}: only submitted reviews notify"),
        ),
        "issue_comment" => {
            one(comment(&c, &p, action)?, format!("issue_comment {action}: only new comments notify"))
        }
        "issues" => one(issue(&c, &p, action)?, format!("issues {action}: only opened and assigned notify")),
        "push" => push(&c, &p, settings),
        "release" => {
            one(release(&c, &p, action)?, format!("release {action}: only published releases notify"))
        }
        other => Ok(Outcome::Ignored(format!("GitHub event `{other}` is not one this hook maps"))),
    }
}

fn finish(c: &Common<'_>, mut m: Mapped, data: Value) -> Mapped {
    m.key = c.key.clone();
    m.event.data = data;
    m
}

/// A completed CI run: failed → `ci.failed` (`high` on the default or a listed branch),
/// passed → `ci.passed` (`low`: it collapses into an unread failure as its fix).
fn ci(c: &Common<'_>, p: &Value, kind: &str, settings: &Settings) -> Result<Option<Mapped>, HookError> {
    let ptr = |f: &str| format!("/{kind}/{f}");
    if text(p, "/action") != Some("completed") {
        return Ok(None);
    }
    let (name, branch) = match kind {
        "workflow_run" => (need(p, &ptr("name"), kind)?, text(p, &ptr("head_branch"))),
        "check_suite" => (text(p, "/check_suite/app/name").unwrap_or("checks"), text(p, &ptr("head_branch"))),
        _ => (need(p, &ptr("name"), kind)?, text(p, "/check_run/check_suite/head_branch")),
    };
    let conclusion = need(p, &ptr("conclusion"), kind)?;
    let failed = matches!(conclusion, "failure" | "timed_out" | "startup_failure" | "action_required");
    if !failed && conclusion != "success" {
        return Ok(None);
    }
    let branch = branch.unwrap_or("(no branch)");
    let main = c.default_branch == Some(branch) || settings.branches.iter().any(|b| b == branch);
    let mut reasons = vec![format!("{kind} completed with conclusion `{conclusion}`")];
    let urgency = match (failed, main) {
        (true, true) => {
            reasons.push(format!("failed on `{branch}`, the default (or a listed) branch: high"));
            Urgency::High
        }
        (true, false) => {
            reasons.push(format!("failed on `{branch}`, not the default branch: normal"));
            Urgency::Normal
        }
        (false, _) => {
            reasons
                .push("passed: low, and it updates an unread failure of the same workflow and branch".into());
            Urgency::Low
        }
    };
    let verb = if failed { "failed" } else { "passed" };
    let url = text(p, &ptr("html_url")).or_else(|| text(p, &ptr("details_url")));
    let thread = format!("github:{}/ci/{name}@{branch}", c.repo);
    reasons.push(format!("collapsed per workflow and branch: `{thread}`"));
    let mut e = event(
        if failed { "ci.failed" } else { "ci.passed" },
        "ci",
        urgency,
        &format!("{name} {verb} on {branch} ({})", c.repo),
        text(p, &ptr("display_title"))
            .or_else(|| text(p, &ptr("head_commit/message")))
            .map(|m| first_line(m).to_string()),
        url,
        Some(thread.clone()),
        c.actor,
    );
    e.collapse_key = Some(clip(&thread, super::KEY));
    let data = serde_json::json!({"source": "github", "event": kind, "repository": c.repo, "branch": branch,
        "workflow": name, "conclusion": conclusion, "run": p.pointer(&ptr("run_number")).or(p.pointer(&ptr("id")))});
    Ok(Some(finish(c, Mapped { key: None, event: e, reasons }, data)))
}

fn pull_request(c: &Common<'_>, p: &Value, action: &str) -> Result<Option<Mapped>, HookError> {
    let n = need_u64(p, "/pull_request/number", "pull_request")?;
    let title = need(p, "/pull_request/title", "pull_request")?;
    let who = c.actor.unwrap_or("someone");
    let (kind, urgency, headline, reason) = match action {
        "opened" | "reopened" | "ready_for_review" => {
            let verb = if action == "ready_for_review" { "marked ready for review" } else { action };
            (
                "pull_request.opened",
                Urgency::Normal,
                format!("{who} {verb} #{n}"),
                "a pull request to look at",
            )
        }
        "review_requested" => {
            let reviewer = text(p, "/requested_reviewer/login")
                .or_else(|| text(p, "/requested_team/name"))
                .unwrap_or("a reviewer");
            (
                "pull_request.review_requested",
                Urgency::Normal,
                format!("{who} requested a review from {reviewer} on #{n}"),
                "a review is asked for",
            )
        }
        "closed" if p.pointer("/pull_request/merged").and_then(Value::as_bool) == Some(true) => {
            ("pull_request.merged", Urgency::Normal, format!("{who} merged #{n}"), "merged")
        }
        "closed" => (
            "pull_request.closed",
            Urgency::Low,
            format!("{who} closed #{n} without merging"),
            "closed unmerged: low",
        ),
        _ => return Ok(None),
    };
    let thread = format!("github:{}#{n}", c.repo);
    let e = event(
        kind,
        "reviews",
        urgency,
        &format!("{headline}: {title}"),
        text(p, "/pull_request/body").map(String::from),
        text(p, "/pull_request/html_url"),
        Some(thread.clone()),
        c.actor,
    );
    let reasons =
        vec![format!("pull_request {action}: {reason}"), format!("thread `{thread}` (one per pull request)")];
    let data = serde_json::json!({"source": "github", "event": "pull_request", "action": action, "repository": c.repo, "number": n});
    Ok(Some(finish(c, Mapped { key: None, event: e, reasons }, data)))
}

fn review(c: &Common<'_>, p: &Value, action: &str) -> Result<Option<Mapped>, HookError> {
    if action != "submitted" {
        return Ok(None);
    }
    let n = need_u64(p, "/pull_request/number", "pull_request_review")?;
    let title = need(p, "/pull_request/title", "pull_request_review")?;
    let state = need(p, "/review/state", "pull_request_review")?.to_ascii_lowercase();
    let who = text(p, "/review/user/login").or(c.actor).unwrap_or("someone");
    let (verb, urgency) = match state.as_str() {
        "approved" => ("approved", Urgency::Normal),
        "changes_requested" => ("requested changes on", Urgency::High),
        _ => ("reviewed", Urgency::Normal),
    };
    let thread = format!("github:{}#{n}", c.repo);
    let e = event(
        "pull_request.reviewed",
        "reviews",
        urgency,
        &format!("{who} {verb} #{n}: {title}"),
        text(p, "/review/body").map(String::from),
        text(p, "/review/html_url"),
        Some(thread.clone()),
        Some(who),
    );
    let mut reasons = vec![format!("review submitted, state `{state}`")];
    if urgency == Urgency::High {
        reasons.push("changes requested: high".into());
    }
    reasons.push(format!("thread `{thread}`"));
    let data = serde_json::json!({"source": "github", "event": "pull_request_review", "state": state, "repository": c.repo, "number": n});
    Ok(Some(finish(c, Mapped { key: None, event: e, reasons }, data)))
}

fn comment(c: &Common<'_>, p: &Value, action: &str) -> Result<Option<Mapped>, HookError> {
    if action != "created" {
        return Ok(None);
    }
    let n = need_u64(p, "/issue/number", "issue_comment")?;
    let title = need(p, "/issue/title", "issue_comment")?;
    let on_pr = p.pointer("/issue/pull_request").is_some_and(|v| !v.is_null());
    let who = text(p, "/comment/user/login").or(c.actor).unwrap_or("someone");
    let thread = format!("github:{}#{n}", c.repo);
    let e = event(
        "comment.created",
        if on_pr { "reviews" } else { "issues" },
        Urgency::Normal,
        &format!("{who} commented on #{n}: {title}"),
        text(p, "/comment/body").map(String::from),
        text(p, "/comment/html_url"),
        Some(thread.clone()),
        Some(who),
    );
    let reasons = vec![
        format!("a new comment on {} #{n}", if on_pr { "pull request" } else { "issue" }),
        format!("thread `{thread}`: reading it in the TUI keeps further comments quiet"),
    ];
    let data =
        serde_json::json!({"source": "github", "event": "issue_comment", "repository": c.repo, "number": n});
    Ok(Some(finish(c, Mapped { key: None, event: e, reasons }, data)))
}

fn issue(c: &Common<'_>, p: &Value, action: &str) -> Result<Option<Mapped>, HookError> {
    let n = need_u64(p, "/issue/number", "issues")?;
    let title = need(p, "/issue/title", "issues")?;
    let who = c.actor.unwrap_or("someone");
    let (kind, headline) = match action {
        "opened" => ("issue.opened", format!("{who} opened #{n}")),
        "assigned" => {
            let to = text(p, "/assignee/login").unwrap_or("someone");
            ("issue.assigned", format!("{who} assigned #{n} to {to}"))
        }
        _ => return Ok(None),
    };
    let thread = format!("github:{}#{n}", c.repo);
    let e = event(
        kind,
        "issues",
        Urgency::Normal,
        &format!("{headline}: {title}"),
        text(p, "/issue/body").map(String::from),
        text(p, "/issue/html_url"),
        Some(thread.clone()),
        c.actor,
    );
    let reasons = vec![format!("issues {action}"), format!("thread `{thread}`")];
    let data = serde_json::json!({"source": "github", "event": "issues", "action": action, "repository": c.repo, "number": n});
    Ok(Some(finish(c, Mapped { key: None, event: e, reasons }, data)))
}

/// Pushes to the default branch (or a listed one) notify; a force push is `high`.
fn push(c: &Common<'_>, p: &Value, settings: &Settings) -> Result<Outcome, HookError> {
    let git_ref = need(p, "/ref", "push")?;
    let Some(branch) = git_ref.strip_prefix("refs/heads/") else {
        return Ok(Outcome::Ignored(format!("push to `{git_ref}`: only branch pushes notify")));
    };
    let main = c.default_branch == Some(branch) || settings.branches.iter().any(|b| b == branch);
    if !main {
        return Ok(Outcome::Ignored(format!(
            "push to `{branch}`: not the default branch nor one in hooks.branches"
        )));
    }
    if p.pointer("/deleted").and_then(Value::as_bool) == Some(true) {
        return Ok(Outcome::Ignored(format!("push deleted `{branch}`")));
    }
    let forced = p.pointer("/forced").and_then(Value::as_bool) == Some(true);
    let commits = p.pointer("/commits").and_then(Value::as_array).cloned().unwrap_or_default();
    let who = text(p, "/pusher/name").or(c.actor).unwrap_or("someone");
    let count = commits.len();
    let headline = if forced {
        format!("{who} force-pushed {branch} ({})", c.repo)
    } else {
        format!("{who} pushed {count} commit{} to {branch} ({})", if count == 1 { "" } else { "s" }, c.repo)
    };
    let body: Vec<String> = commits
        .iter()
        .take(10)
        .filter_map(|cm| cm.get("message").and_then(Value::as_str).map(|m| format!("- {}", first_line(m))))
        .collect();
    let thread = format!("github:{}@{branch}", c.repo);
    let e = event(
        "push",
        "code",
        if forced { Urgency::High } else { Urgency::Normal },
        &headline,
        Some(body.join("\n")),
        text(p, "/compare"),
        Some(thread.clone()),
        Some(who),
    );
    let mut reasons = vec![format!("push to `{branch}`, the default (or a listed) branch")];
    if forced {
        reasons.push("a force push rewrites history: high".into());
    }
    reasons.push(format!("thread `{thread}`"));
    let data = serde_json::json!({"source": "github", "event": "push", "repository": c.repo, "branch": branch, "commits": count, "forced": forced});
    Ok(Outcome::Events(vec![finish(c, Mapped { key: None, event: e, reasons }, data)]))
}

fn release(c: &Common<'_>, p: &Value, action: &str) -> Result<Option<Mapped>, HookError> {
    if action != "published" {
        return Ok(None);
    }
    let tag = need(p, "/release/tag_name", "release")?;
    let name = text(p, "/release/name").filter(|n| *n != tag);
    let title = match name {
        Some(n) => format!("{} {tag} released: {n}", c.repo),
        None => format!("{} {tag} released", c.repo),
    };
    let e = event(
        "release.published",
        "releases",
        Urgency::Normal,
        &title,
        text(p, "/release/body").map(String::from),
        text(p, "/release/html_url"),
        Some(format!("github:{}/releases", c.repo)),
        c.actor,
    );
    let reasons = vec![format!("release {tag} published")];
    let data = serde_json::json!({"source": "github", "event": "release", "repository": c.repo, "tag": tag});
    Ok(Some(finish(c, Mapped { key: None, event: e, reasons }, data)))
}
