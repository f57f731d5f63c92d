//! REST handlers of DESIGN §7. Each checks scope and ownership: a user reaches only their
//! own notifications, settings, topics and devices. Shapes follow DESIGN §13.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Auth;
use super::error::{ApiError, ErrorResponse, parse_json};
use crate::model::{Event, FieldError, Notification, Recipients, Urgency};
use crate::prefs::Preferences;
use crate::store::inbox::InboxOp;
use crate::store::read::ListFilter;
use crate::store::subscriptions::{DeviceToken, TopicInfo};
use crate::store::tokens::Scope;
use crate::store::{Change, StoreError, Submission};

pub use crate::prefs::MASKED_SECRET;

pub async fn read_body(state: &AppState, body: Body) -> Result<Bytes, ApiError> {
    let limit = state.dispatch.config().daemon.max_body_bytes as usize;
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {limit} bytes"),
        )
    })
}

fn query<T: serde::de::DeserializeOwned>(
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

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only unread items.
    unread: Option<bool>,
    category: Option<String>,
    /// Text in the title or body.
    q: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub next_cursor: Option<String>,
}

/// The caller's notifications, newest first, a page at a time.
#[utoipa::path(get, path = "/notifications", tag = "inbox", params(ListQuery),
    responses((status = 200, body = NotificationPage), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub async fn list_notifications(
    State(state): State<AppState>,
    auth: Auth,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<NotificationPage>, ApiError> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::malformed("limit must be 1 to 200").field("limit"));
    }
    if let Some(c) = &q.cursor
        && ulid::Ulid::from_string(c).is_err()
    {
        return Err(ApiError::malformed("cursor is not one this server gave out").field("cursor"));
    }
    let filter = ListFilter {
        unread_only: q.unread.unwrap_or(false),
        category: q.category,
        q: q.q,
        include_archived: false,
        before: q.cursor,
        limit,
    };
    let user = auth.0.user;
    let items = state.dispatch.read(move |s| s.list(&user, &filter)).await?;
    let next_cursor = (items.len() == limit as usize).then(|| items.last().map(|n| n.id.clone())).flatten();
    Ok(Json(NotificationPage { items, next_cursor }))
}

async fn inbox_op(
    state: &AppState,
    user: String,
    ids: Vec<String>,
    op: InboxOp,
) -> Result<Vec<Change>, ApiError> {
    Ok(state.dispatch.write(move |s, now| s.apply(&user, &ids, op, now).map(|c| (c.clone(), c))).await?)
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct NotificationBody {
    pub notification: Notification,
}

async fn mark(
    state: AppState,
    auth: Auth,
    id: String,
    op: InboxOp,
) -> Result<Json<NotificationBody>, ApiError> {
    let user = auth.0.user;
    inbox_op(&state, user.clone(), vec![id.clone()], op).await?;
    let notification = state.dispatch.read(move |s| s.notification(&id)).await?;
    Ok(Json(NotificationBody { notification }))
}

/// Mark one notification read (its acknowledgement: pending holds and repeats are cancelled).
#[utoipa::path(patch, path = "/notifications/{id}/read", tag = "inbox", params(("id" = String, Path)),
    responses((status = 200, body = NotificationBody), (status = 404, body = ErrorResponse)))]
pub async fn mark_read(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<NotificationBody>, ApiError> {
    mark(state, auth, id, InboxOp::MarkRead).await
}

/// Mark one notification unread.
#[utoipa::path(patch, path = "/notifications/{id}/unread", tag = "inbox", params(("id" = String, Path)),
    responses((status = 200, body = NotificationBody), (status = 404, body = ErrorResponse)))]
pub async fn mark_unread(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<NotificationBody>, ApiError> {
    mark(state, auth, id, InboxOp::MarkUnread).await
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MarkAllBody {
    category: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Updated {
    pub updated: usize,
}

/// Mark every unread notification read, optionally in one category.
#[utoipa::path(post, path = "/notifications/mark_all_read", tag = "inbox", request_body(content = Option<MarkAllBody>),
    responses((status = 200, body = Updated), (status = 400, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn mark_all_read(
    State(state): State<AppState>,
    auth: Auth,
    body: Body,
) -> Result<Json<Updated>, ApiError> {
    let bytes = read_body(&state, body).await?;
    let b: MarkAllBody =
        if bytes.iter().all(u8::is_ascii_whitespace) { MarkAllBody::default() } else { parse_json(&bytes)? };
    let user = auth.0.user;
    let changes = state
        .dispatch
        .write(move |s, now| s.mark_all_read(&user, b.category.as_deref(), now).map(|c| (c.len(), c)))
        .await?;
    Ok(Json(Updated { updated: changes }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

/// How many unread notifications the caller has.
#[utoipa::path(get, path = "/notifications/unread_count", tag = "inbox", responses((status = 200, body = UnreadCount)))]
pub async fn unread_count(State(state): State<AppState>, auth: Auth) -> Result<Json<UnreadCount>, ApiError> {
    let user = auth.0.user;
    Ok(Json(UnreadCount { unread: state.dispatch.read(move |s| s.unread_count(&user)).await? }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Settings {
    /// DESIGN §13 preferences.
    #[schema(value_type = Object)]
    pub prefs: serde_json::Value,
    pub prefs_version: i64,
    /// The organisation's required event × channel cells, which a save may not turn off
    /// (`{"events": {type: [channel]}, "categories": {category: [channel]}}`; empty maps
    /// when there are none). Always sent by this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub required: Option<serde_json::Value>,
}

/// The daemon config's `required` policy as clients receive it (settings and welcome).
pub fn required_policy(state: &AppState) -> serde_json::Value {
    serde_json::to_value(&state.dispatch.config().required).unwrap_or_default()
}

/// Validates and saves a preference change for `user`: `full` replaces, else merges.
/// `expected` makes it conditional. The same validation serves REST and the websocket.
pub async fn save_prefs(
    state: &AppState,
    user: String,
    mut patch: serde_json::Value,
    expected: Option<i64>,
    full: bool,
) -> Result<(Preferences, i64), DispatchOrConflict> {
    if patch.pointer("/channels/webhook/secret").and_then(|s| s.as_str()) == Some(MASKED_SECRET)
        && let Some(w) = patch.pointer_mut("/channels/webhook").and_then(|w| w.as_object_mut())
    {
        w.remove("secret");
    }
    let defaults = state.dispatch.defaults().clone();
    let required = state.dispatch.config().required.clone();
    let r = state
        .dispatch
        .write(move |s, now| {
            let (current, version) = s.prefs(&user, &defaults)?;
            if let Some(e) = expected
                && e != version
            {
                return Err(StoreError::VersionConflict { expected: e, current: version });
            }
            let base = if full {
                let mut keep = Preferences::default();
                keep.channels.webhook.secret = current.channels.webhook.secret.clone();
                keep
            } else {
                current
            };
            let merged = base.merged(&patch)?;
            merged.check_required(&required)?;
            let (v, change) = s.put_prefs(&user, &merged, Some(version), &defaults, now)?;
            Ok(((merged, v), vec![change]))
        })
        .await;
    match r {
        Ok(v) => Ok(v),
        Err(crate::dispatch::DispatchError::Store(StoreError::VersionConflict { .. })) => {
            Err(DispatchOrConflict::Conflict)
        }
        Err(e) => Err(DispatchOrConflict::Other(e.into())),
    }
}

pub enum DispatchOrConflict {
    Conflict,
    Other(ApiError),
}

/// The caller's preferences and their version.
#[utoipa::path(get, path = "/settings", tag = "settings", responses((status = 200, body = Settings)))]
pub async fn get_settings(State(state): State<AppState>, auth: Auth) -> Result<Json<Settings>, ApiError> {
    let user = auth.0.user;
    let defaults = state.dispatch.defaults().clone();
    let (prefs, prefs_version) = state.dispatch.read(move |s| s.prefs(&user, &defaults)).await?;
    Ok(Json(Settings { prefs: prefs.outward(), prefs_version, required: Some(required_policy(&state)) }))
}

/// Merge a partial preferences object; `If-Match: N` makes it conditional.
#[utoipa::path(put, path = "/settings", tag = "settings", request_body(content = Object),
    params(("If-Match" = Option<String>, Header, description = "the version edited; stale → 409")),
    responses((status = 200, body = Settings), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn put_settings(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Settings>, ApiError> {
    let expected = header_str(&headers, header::IF_MATCH.as_str())?
        .map(|v| {
            v.trim()
                .trim_matches('"')
                .parse::<i64>()
                .map_err(|_| ApiError::malformed("If-Match must be a version number"))
        })
        .transpose()?;
    let bytes = read_body(&state, body).await?;
    let patch: serde_json::Value = parse_json(&bytes)?;
    if !patch.is_object() {
        return Err(ApiError::invalid(FieldError::new("body", "expected a preferences object")));
    }
    match save_prefs(&state, auth.0.user, patch, expected, false).await {
        Ok((prefs, prefs_version)) => Ok(Json(Settings {
            prefs: prefs.outward(),
            prefs_version,
            required: Some(required_policy(&state)),
        })),
        Err(DispatchOrConflict::Conflict) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the preferences changed since the version you edited; fetch them and try again",
        )),
        Err(DispatchOrConflict::Other(e)) => Err(e),
    }
}

fn self_or_admin(auth: &Auth, user: &str) -> Result<(), ApiError> {
    if auth.0.user == user || auth.0.scope == Scope::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("you can only change your own subscriptions"))
    }
}

/// Subscribe a user to a topic (oneself, or anyone for an admin).
#[utoipa::path(put, path = "/topics/{topic}/subscribers/{user}", tag = "topics",
    params(("topic" = String, Path), ("user" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn subscribe(
    State(state): State<AppState>,
    auth: Auth,
    Path((topic, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    self_or_admin(&auth, &user)?;
    state.dispatch.write(move |s, now| s.subscribe(&topic, &user, now).map(|v| (v, vec![]))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unsubscribe a user from a topic.
#[utoipa::path(delete, path = "/topics/{topic}/subscribers/{user}", tag = "topics",
    params(("topic" = String, Path), ("user" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    auth: Auth,
    Path((topic, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    self_or_admin(&auth, &user)?;
    let t = topic.clone();
    let removed =
        state.dispatch.write(move |s, now| s.unsubscribe(&t, &user, now).map(|v| (v, vec![]))).await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no such subscription to {topic}")))
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Topics {
    pub topics: Vec<TopicInfo>,
}

/// Topics: the caller's subscriptions (an admin sees all).
#[utoipa::path(get, path = "/topics", tag = "topics", responses((status = 200, body = Topics)))]
pub async fn list_topics(State(state): State<AppState>, auth: Auth) -> Result<Json<Topics>, ApiError> {
    let only_mine = auth.0.scope != Scope::Admin;
    let user = auth.0.user;
    Ok(Json(Topics { topics: state.dispatch.read(move |s| s.topics(&user, only_mine)).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// `expo` or `ntfy`.
    provider: String,
    token: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Devices {
    pub devices: Vec<DeviceToken>,
}

/// Register a push device for the caller.
#[utoipa::path(post, path = "/device-tokens", tag = "devices", request_body = NewDevice,
    responses((status = 201, body = Devices), (status = 422, body = ErrorResponse)))]
pub async fn add_device(
    State(state): State<AppState>,
    auth: Auth,
    body: Body,
) -> Result<(StatusCode, Json<Devices>), ApiError> {
    let bytes = read_body(&state, body).await?;
    let d: NewDevice = parse_json(&bytes)?;
    let user = auth.0.user;
    let devices = state
        .dispatch
        .write(move |s, now| {
            s.add_device_token(&user, &d.provider, &d.token, now)?;
            Ok((s.device_tokens(&user)?, vec![]))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(Devices { devices })))
}

/// The caller's push devices, oldest first.
#[utoipa::path(get, path = "/device-tokens", tag = "devices", responses((status = 200, body = Devices)))]
pub async fn list_devices(State(state): State<AppState>, auth: Auth) -> Result<Json<Devices>, ApiError> {
    let user = auth.0.user;
    Ok(Json(Devices { devices: state.dispatch.read(move |s| s.device_tokens(&user)).await? }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProviderQuery {
    provider: String,
}

/// Remove one of the caller's push devices.
#[utoipa::path(delete, path = "/device-tokens/{token}", tag = "devices", params(("token" = String, Path), ProviderQuery),
    responses((status = 204), (status = 404, body = ErrorResponse)))]
pub async fn remove_device(
    State(state): State<AppState>,
    auth: Auth,
    Path(token): Path<String>,
    q: Result<Query<ProviderQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let q = query(q)?;
    let user = auth.0.user;
    let removed = state
        .dispatch
        .write(move |s, now| s.remove_device_token(&user, &q.provider, &token, now).map(|v| (v, vec![])))
        .await?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("no such device")) }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// How many of the newest records (default 100, at most 1000).
    limit: Option<u32>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
}

/// The newest audit records (admin).
#[utoipa::path(get, path = "/audit", tag = "operators", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorResponse)))]
pub async fn audit(
    State(state): State<AppState>,
    auth: Auth,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    auth.require(Scope::Admin)?;
    let limit = query(q)?.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state.dispatch.read(move |s| s.audit_tail(limit)).await?;
    Ok(Json(AuditPage {
        items: rows.into_iter().map(|(seq, at, record)| AuditRecord { seq, at, record }).collect(),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub stream: String,
}

/// Liveness: answers while the dispatcher runs.
#[utoipa::path(get, path = "/healthz", tag = "operators", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok".into(), stream: state.dispatch.stream().to_string() })
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operators", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let depth = state.dispatch.read(|s| s.outbox_depth()).await?;
    let text = state.dispatch.metrics().render(state.dispatch.hub().connections(), depth);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
