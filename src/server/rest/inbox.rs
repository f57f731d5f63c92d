//! The caller's inbox over REST: listing by view and filter, one item, read and unread,
//! mark all read, bulk actions and their undo, the unread count.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::AppState;
use super::super::auth::Auth;
use super::super::error::{ApiError, ErrorResponse, parse_json};
use super::{query, read_body};
use crate::dispatch::commands::{Command, Outcome, bulk_op};
use crate::model::{InboxFilter, Notification, Urgency, View};
use crate::store::InboxOp;
use crate::store::ListFilter;
use crate::sync::protocol::BulkAction;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
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
    #[param(minimum = 1, maximum = 200)]
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
    responses((status = 200, body = Updated), (status = 400, body = ErrorResponse),
        (status = 422, description = "not an object, or an unknown field", body = ErrorResponse)))]
pub async fn mark_all_read(
    State(state): State<AppState>,
    auth: Auth,
    body: Body,
) -> Result<Json<Updated>, ApiError> {
    let bytes = read_body(&state, body).await?;
    // No body is no filter; anything else must be the JSON object the document declares.
    let b: MarkAllBody = if bytes.is_empty() { MarkAllBody::default() } else { parse_json(&bytes)? };
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
