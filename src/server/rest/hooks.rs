//! `POST /hooks/{hook}`: a sender (GitHub, GitLab, Alertmanager, Grafana, a CloudEvents
//! producer) posts its own payload to a hook made with `campanile hook create`. This only
//! translates: HTTP in, the hook's verification and mapping (`crate::hooks`), the
//! dispatcher's publish, HTTP out. Nothing is stored unless the sender proved it knows the
//! hook's secret and the payload maps to at least one event.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::AppState;
use super::super::error::{ApiError, ErrorResponse};
use super::read_body;
use crate::hooks::{self, HookError, Outcome};

/// What a hook delivery became.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HookAnswer {
    /// The events recorded (or, for a replayed delivery, recorded the first time).
    pub events: Vec<String>,
    pub notifications: Vec<String>,
    /// How many of the events were replays of ones already recorded.
    pub duplicates: usize,
    /// Why nothing was recorded: a ping, or a kind this hook does not map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

fn headers_of(map: &HeaderMap) -> hooks::Headers {
    let mut h = hooks::Headers::new();
    for (name, value) in map {
        if let Ok(v) = value.to_str() {
            h.insert(name.as_str(), v);
        }
    }
    h
}

/// Receive a webhook from GitHub, GitLab, Alertmanager, Grafana or a CloudEvents producer.
///
/// The hook's source decides how the sender proves it knows the secret: GitHub signs the
/// body (`X-Hub-Signature-256`), GitLab sends `X-Gitlab-Token`, the others
/// `Authorization: Bearer <secret>`.
#[utoipa::path(post, path = "/hooks/{hook}", tag = "hooks",
    params(("hook" = String, Path, description = "the hook's id, as `campanile hook create` printed it")),
    request_body(content = Object, description = "the sender's own payload"),
    responses(
        (status = 201, description = "recorded", body = HookAnswer),
        (status = 200, description = "a ping, or a replay of a delivery already recorded", body = HookAnswer),
        (status = 202, description = "a kind or action this hook does not map: nothing recorded", body = HookAnswer),
        (status = 400, description = "the payload or a header is not what the sender documents", body = ErrorResponse),
        (status = 401, description = "bad or missing signature, token or bearer credential: nothing recorded", body = ErrorResponse),
        (status = 404, description = "no such hook, or it was revoked", body = ErrorResponse),
        (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse),
        (status = 422, description = "an event it maps to is refused (e.g. an unknown recipient)", body = ErrorResponse),
        (status = 429, body = ErrorResponse), (status = 500, body = ErrorResponse),
        (status = 503, body = ErrorResponse)))]
pub async fn receive_hook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&state, body).await?;
    let hook = state
        .dispatch
        .hook(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no hook `{id}` (revoked, or never created)")))?;
    let headers = headers_of(&headers);
    let refuse = |e: HookError| match e {
        HookError::Unauthorized(m) => {
            tracing::info!(hook = %hook.id, source = hook.source.as_str(), reason = %m, "hook delivery refused");
            ApiError::unauthorized(m)
        }
        HookError::Malformed(m) => ApiError::malformed(m),
    };
    hooks::verify(hook.source, &hook.secret, &headers, &bytes).map_err(refuse)?;
    // Limited like a user token publishing, per hook, once the sender is known.
    state.limiter.take(&hook.producer()).map_err(ApiError::too_many)?;
    let mapped = match hooks::map(
        hook.source,
        hook.template.as_deref(),
        &headers,
        &bytes,
        &state.dispatch.config().hooks,
    )
    .map_err(refuse)?
    {
        Outcome::Events(m) => m,
        Outcome::Ping(why) => return Ok(answer(StatusCode::OK, Some(why))),
        Outcome::Ignored(why) => {
            tracing::debug!(hook = %hook.id, source = hook.source.as_str(), reason = %why, "hook delivery ignored");
            return Ok(answer(StatusCode::ACCEPTED, Some(why)));
        }
    };
    let accepted = state.dispatch.publish_hook(&hook, mapped).await?;
    let duplicates = accepted.iter().filter(|a| a.duplicate).count();
    let status = if duplicates == accepted.len() { StatusCode::OK } else { StatusCode::CREATED };
    let body = HookAnswer {
        events: accepted.iter().map(|a| a.event.clone()).collect(),
        notifications: accepted.iter().flat_map(|a| a.notifications.iter().cloned()).collect(),
        duplicates,
        ignored: None,
    };
    Ok((status, Json(body)).into_response())
}

fn answer(status: StatusCode, ignored: Option<String>) -> Response {
    let body = HookAnswer { events: vec![], notifications: vec![], duplicates: 0, ignored };
    (status, Json(body)).into_response()
}
