//! REST handlers of DESIGN §7. Each checks scope and ownership: a user reaches only their
//! own notifications, settings, topics and devices; shapes follow DESIGN §13. Handlers parse,
//! authorise and translate; the dispatcher's command layer does the work. Publishing lives
//! here; the inbox, settings and operators' routes in the submodules.

mod hooks;
mod inbox;
mod operators;
mod settings;

pub use hooks::*;
pub use inbox::*;
pub use operators::*;
pub use settings::*;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::Auth;
use super::error::{ApiError, ErrorResponse, parse_json};
use crate::model::{Event, FieldError, Recipients, Urgency};
use crate::store::Scope;
use crate::store::Submission;

pub async fn read_body(state: &AppState, body: Body) -> Result<Bytes, ApiError> {
    let daemon = &state.dispatch.config().daemon;
    let (limit, secs) = (daemon.max_body_bytes as usize, daemon.body_timeout_secs);
    match tokio::time::timeout(std::time::Duration::from_secs(secs), axum::body::to_bytes(body, limit)).await
    {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {limit} bytes"),
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the body did not arrive within {secs} s"),
        )),
    }
}

pub(super) fn query<T: serde::de::DeserializeOwned>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|Query(v)| v).map_err(|e| ApiError::malformed(format!("bad query: {}", e.body_text())))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventAccepted {
    pub event: String,
    pub notifications: Vec<String>,
    pub duplicate: bool,
}

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| ApiError::malformed(format!("header {name} is not text"))))
        .transpose()
}

/// An event from a plain-text body: the body is the message, metadata in headers.
fn event_from_text(headers: &HeaderMap, body: &[u8]) -> Result<Event, ApiError> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::malformed("the body is not UTF-8 text"))?.trim();
    let title_header = header_str(headers, "title")?;
    let (title, body) = match title_header {
        Some(t) => (t.to_string(), (!text.is_empty()).then(|| text.to_string())),
        None => {
            let mut lines = text.splitn(2, '\n');
            let first = lines.next().unwrap_or_default().trim().to_string();
            let rest = lines.next().map(str::trim).filter(|r| !r.is_empty()).map(String::from);
            (first, rest)
        }
    };
    let urgency = header_str(headers, "urgency")?
        .map(|u| u.parse::<Urgency>().map_err(|m| ApiError::invalid(FieldError::new("Urgency", m))))
        .transpose()?;
    let to = header_str(headers, "to")?.map(|t| {
        Recipients::Users(t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
    });
    let event = Event {
        id: None,
        kind: header_str(headers, "type")?.unwrap_or("message").to_string(),
        category: header_str(headers, "category")?.map(String::from),
        urgency,
        to,
        thread: header_str(headers, "thread")?.map(String::from),
        collapse_key: None,
        actor: None,
        title,
        body,
        url: header_str(headers, "url")?.map(String::from),
        data: serde_json::Value::Null,
        occurred_at: None,
    };
    event.validate().map_err(ApiError::invalid)?;
    Ok(event)
}

/// Publish an event (JSON, or a plain-text body with `Title`, `Type`, `Urgency`, `Url`,
/// `Thread`, `To`, `Category` headers).
#[utoipa::path(post, path = "/events", tag = "events",
    request_body(content = Event, description = "DESIGN §13 event; or text/plain with headers"),
    params(("Idempotency-Key" = Option<String>, Header, description = "kept 24 h; a replay answers 200 with the first result")),
    responses(
        (status = 201, body = EventAccepted), (status = 200, description = "replay", body = EventAccepted),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse), (status = 422, body = ErrorResponse),
        (status = 429, body = ErrorResponse)))]
pub async fn post_event(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = &auth.0;
    if p.scope == Scope::User {
        state.limiter.take(&p.user).map_err(ApiError::too_many)?;
    }
    let bytes = read_body(&state, body).await?;
    let content_type = header_str(&headers, header::CONTENT_TYPE.as_str())?.unwrap_or("");
    let json = content_type.starts_with("application/json")
        || (content_type.is_empty() && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
    let event: Event = if json {
        let e: Event = parse_json(&bytes)?;
        e.validate().map_err(ApiError::invalid)?;
        e
    } else {
        event_from_text(&headers, &bytes)?
    };
    match (&p.scope, &event.to) {
        (Scope::User, None) => {}
        (Scope::User, Some(Recipients::Users(u))) if u.iter().all(|x| *x == p.user) => {}
        (Scope::User, _) => return Err(ApiError::forbidden("a user token publishes only to its own user")),
        (Scope::Publisher, Some(Recipients::Broadcast(_))) => {
            return Err(ApiError::forbidden("a broadcast needs an admin token"));
        }
        _ => {}
    }
    let key = header_str(&headers, "idempotency-key")?.map(String::from);
    if let Some(k) = &key
        && (k.is_empty() || k.len() > 256)
    {
        return Err(ApiError::invalid(FieldError::new("Idempotency-Key", "must be 1 to 256 characters")));
    }
    let sub = Submission {
        producer: p.user.clone(),
        idempotency_key: key,
        default_user: Some(p.user.clone()),
        event,
    };
    let accepted = state.dispatch.publish(sub).await?;
    let status = if accepted.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    let body = EventAccepted {
        event: accepted.event,
        notifications: accepted.notifications,
        duplicate: accepted.duplicate,
    };
    Ok((status, Json(body)).into_response())
}
