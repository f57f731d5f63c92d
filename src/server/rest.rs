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
use crate::dispatch::commands::{Command, Outcome, bulk_op};
use crate::model::TopicInfo;
use crate::model::{Event, FieldError, InboxFilter, Notification, Recipients, Urgency, View};
use crate::store::InboxOp;
use crate::store::ListFilter;
use crate::store::Scope;
use crate::store::Submission;
use crate::sync::protocol::{BulkAction, Devices};

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
    /// Which items: `inbox` (the default: not archived, not snoozed into the future),
    /// `unread`, `snoozed`, `archived` or `all`.
    view: Option<View>,
    /// Only unread items (the same as `view=unread`).
    unread: Option<bool>,
    category: Option<String>,
    /// Only items at least this urgent.
    urgency_at_least: Option<Urgency>,
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
    let view = match (q.view, q.unread) {
        (Some(v), Some(true)) if v != View::Unread => {
            return Err(ApiError::malformed("unread=true and view name two different views").field("view"));
        }
        (_, Some(true)) => View::Unread,
        (v, _) => v.unwrap_or_default(),
    };
    let filter = ListFilter {
        filter: InboxFilter { view, category: q.category, urgency_at_least: q.urgency_at_least, q: q.q },
        before: q.cursor,
        limit,
    };
    let user = auth.0.user;
    let items = state.dispatch.list(&user, filter).await?;
    let next_cursor = (items.len() == limit as usize).then(|| items.last().map(|n| n.id.clone())).flatten();
    Ok(Json(NotificationPage { items, next_cursor }))
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
    state.dispatch.execute(&user, Command::Inbox { ids: vec![id.clone()], op }).await?;
    let notification = state.dispatch.notification(&id).await?;
    Ok(Json(NotificationBody { notification }))
}

/// One notification of the caller's, in full (with the engine's plan).
#[utoipa::path(get, path = "/notifications/{id}", tag = "inbox", params(("id" = String, Path)),
    responses((status = 200, body = NotificationBody), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn get_notification(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<NotificationBody>, ApiError> {
    let outcome = state.dispatch.execute(&auth.0.user, Command::Get { ids: vec![id] }).await?;
    match outcome {
        Outcome::Notifications(mut items) if items.len() == 1 => {
            Ok(Json(NotificationBody { notification: items.remove(0) }))
        }
        _ => Err(ApiError::not_found("no such notification")),
    }
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
    let filter = InboxFilter { category: b.category, ..InboxFilter::default() };
    let command = Command::Bulk { op: InboxOp::MarkRead, filter, up_to: None };
    match state.dispatch.execute(&auth.0.user, command).await? {
        Outcome::Bulk { count, .. } => Ok(Json(Updated { updated: count as usize })),
        _ => Ok(Json(Updated { updated: 0 })),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    action: BulkAction,
    /// What the action reaches: a view (default `inbox`), a category, a lowest urgency, a text.
    #[serde(default)]
    filter: InboxFilter,
    /// Only items whose last change is at or before this seq of the caller's change log
    /// (what the caller had seen); absent: everything now.
    up_to: Option<i64>,
    /// For `snooze`: until when.
    #[schema(value_type = Option<String>, format = DateTime)]
    until: Option<Timestamp>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BulkDone {
    /// The action's id, to undo it by (`null` when it changed nothing).
    pub bulk: Option<String>,
    pub updated: u64,
}

/// Act on everything a filter shows (mark read or unread, archive or unarchive, snooze or
/// unsnooze) in one transaction, whatever the count.
#[utoipa::path(post, path = "/notifications/bulk", tag = "inbox", request_body = BulkBody,
    responses((status = 200, body = BulkDone), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 422, body = ErrorResponse)))]
pub async fn bulk(State(state): State<AppState>, auth: Auth, body: Body) -> Result<Json<BulkDone>, ApiError> {
    let bytes = read_body(&state, body).await?;
    let b: BulkBody = parse_json(&bytes)?;
    let op = bulk_op(b.action, b.until).map_err(ApiError::invalid)?;
    let command = Command::Bulk { op, filter: b.filter, up_to: b.up_to };
    match state.dispatch.execute(&auth.0.user, command).await? {
        Outcome::Bulk { bulk, count } => Ok(Json(BulkDone { bulk, updated: count })),
        _ => Ok(Json(BulkDone { bulk: None, updated: 0 })),
    }
}

/// Take a bulk action back (within 24 hours): the items it changed that are still as it
/// left them go back.
#[utoipa::path(post, path = "/notifications/bulk/{id}/undo", tag = "inbox", params(("id" = String, Path)),
    responses((status = 200, body = BulkDone), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn undo_bulk(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<BulkDone>, ApiError> {
    match state.dispatch.execute(&auth.0.user, Command::UndoBulk { bulk: id }).await? {
        Outcome::Bulk { bulk, count } => Ok(Json(BulkDone { bulk, updated: count })),
        _ => Ok(Json(BulkDone { bulk: None, updated: 0 })),
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

/// How many unread notifications the caller has.
#[utoipa::path(get, path = "/notifications/unread_count", tag = "inbox", responses((status = 200, body = UnreadCount)))]
pub async fn unread_count(State(state): State<AppState>, auth: Auth) -> Result<Json<UnreadCount>, ApiError> {
    let user = auth.0.user;
    Ok(Json(UnreadCount { unread: state.dispatch.unread_count(&user).await? }))
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

/// The caller's preferences and their version.
#[utoipa::path(get, path = "/settings", tag = "settings", responses((status = 200, body = Settings)))]
pub async fn get_settings(State(state): State<AppState>, auth: Auth) -> Result<Json<Settings>, ApiError> {
    let user = auth.0.user;
    let (prefs, prefs_version) = state.dispatch.settings(&user).await?;
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
    let command = Command::SavePrefs { patch, expected, full: false };
    match state.dispatch.execute(&auth.0.user, command).await? {
        Outcome::Prefs { prefs, version } => Ok(Json(Settings {
            prefs: prefs.outward(),
            prefs_version: version,
            required: Some(required_policy(&state)),
        })),
        _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "unexpected answer")),
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
    state.dispatch.execute(&auth.0.user, Command::Subscribe { topic, user }).await?;
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
    let command = Command::Unsubscribe { topic: topic.clone(), user };
    if state.dispatch.execute(&auth.0.user, command).await? == Outcome::Changed(1) {
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
    Ok(Json(Topics { topics: state.dispatch.topics(&user, only_mine).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// `expo` or `ntfy`.
    provider: String,
    token: String,
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
    let command = Command::AddDevice { provider: d.provider, token: d.token };
    match state.dispatch.execute(&auth.0.user, command).await? {
        Outcome::Devices(devices) => Ok((StatusCode::CREATED, Json(Devices { devices }))),
        _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "unexpected answer")),
    }
}

/// The caller's push devices, oldest first.
#[utoipa::path(get, path = "/device-tokens", tag = "devices", responses((status = 200, body = Devices)))]
pub async fn list_devices(State(state): State<AppState>, auth: Auth) -> Result<Json<Devices>, ApiError> {
    let user = auth.0.user;
    Ok(Json(Devices { devices: state.dispatch.devices(&user).await? }))
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
    let command = Command::RemoveDevice { provider: q.provider, token };
    if state.dispatch.execute(&auth.0.user, command).await? == Outcome::Changed(1) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such device"))
    }
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
    let rows = state.dispatch.audit_tail(limit).await?;
    Ok(Json(AuditPage {
        items: rows.into_iter().map(|(seq, at, record)| AuditRecord { seq, at, record }).collect(),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` (503) with the `reason`.
    pub status: String,
    pub stream: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Health: 200 while the dispatcher can work; 503 with the reason when its writer stopped or
/// its store failed on the last write.
#[utoipa::path(get, path = "/healthz", tag = "operators",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let stream = state.dispatch.stream().to_string();
    match state.dispatch.health() {
        Ok(()) => Json(Health { status: "ok".into(), stream, reason: None }).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            Json(Health { status: "unavailable".into(), stream, reason: Some(reason) }),
        )
            .into_response(),
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operators", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let depth = state.dispatch.outbox_depth().await?;
    let text = state.dispatch.metrics().render(state.dispatch.hub().connections(), depth);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
