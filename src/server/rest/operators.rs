//! What operators and probes ask: the audit trail (admin), health and metrics.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::AppState;
use super::super::auth::Auth;
use super::super::error::{ApiError, ErrorResponse};
use super::query;
use crate::store::Scope;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many of the newest records, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
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
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn audit(
    State(state): State<AppState>,
    auth: Auth,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    auth.require(Scope::Admin)?;
    let limit = query(q)?.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::malformed("limit must be 1 to 1000").field("limit"));
    }
    let rows = state.dispatch.audit_tail(limit).await?;
    Ok(Json(AuditPage {
        items: rows.into_iter().map(|(seq, at, record)| AuditRecord { seq, at, record }).collect(),
    }))
}

/// A token as an operator sees it (never the token itself).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenEntry {
    /// The first 12 characters of the token's SHA-256: names it, cannot be used.
    pub id: String,
    pub user: String,
    /// `user`, `publisher` or `admin`.
    pub scope: String,
    pub label: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

impl From<crate::store::TokenInfo> for TokenEntry {
    fn from(t: crate::store::TokenInfo) -> Self {
        TokenEntry {
            id: t.id,
            user: t.user,
            scope: t.scope.as_str().to_string(),
            label: t.label,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenEntry>,
}

/// Every API token, oldest first (admin).
#[utoipa::path(get, path = "/tokens", tag = "operators",
    responses((status = 200, body = TokenList), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse)))]
pub async fn list_tokens(State(state): State<AppState>, auth: Auth) -> Result<Json<TokenList>, ApiError> {
    auth.require(Scope::Admin)?;
    let items = state.dispatch.tokens(None).await?.into_iter().map(TokenEntry::from).collect();
    Ok(Json(TokenList { items }))
}

/// Revokes a token (admin): refused at once on every route, and the websockets it opened
/// are closed with an error frame and close code 1008.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "operators",
    params(("id" = String, Path, description = "the token's id, from GET /tokens")),
    responses((status = 200, body = TokenEntry), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<TokenEntry>, ApiError> {
    auth.require(Scope::Admin)?;
    // By id only here: a label could name several tokens.
    if !state.dispatch.tokens(None).await?.iter().any(|t| t.id == id) {
        return Err(ApiError::not_found(format!("no token with the id `{id}`")));
    }
    let gone = state.dispatch.revoke_token(id).await?;
    gone.into_iter().next().map(|t| Json(t.into())).ok_or_else(|| ApiError::not_found("no such token"))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UserEntry {
    pub name: String,
    pub email: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserEntry>,
}

/// Every user, by name (admin).
#[utoipa::path(get, path = "/users", tag = "operators",
    responses((status = 200, body = UserList), (status = 403, body = ErrorResponse)))]
pub async fn list_users(State(state): State<AppState>, auth: Auth) -> Result<Json<UserList>, ApiError> {
    auth.require(Scope::Admin)?;
    let items =
        state.dispatch.users().await?.into_iter().map(|(name, email)| UserEntry { name, email }).collect();
    Ok(Json(UserList { items }))
}

/// Users to add or update at once, and whether each gets a token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserImport {
    #[schema(value_type = Vec<Object>)]
    pub users: Vec<crate::store::NewUser>,
    /// Make a token of this scope for each user (`user` or `publisher`).
    #[serde(default)]
    pub tokens: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ImportedUser {
    pub name: String,
    /// The new token, shown this once (when tokens were asked for).
    pub token: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ImportAnswer {
    pub imported: usize,
    pub users: Vec<ImportedUser>,
}

/// Adds or updates many users in one transaction (admin): all or none.
#[utoipa::path(post, path = "/users", tag = "operators", request_body = UserImport,
    responses((status = 201, body = ImportAnswer), (status = 400, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 409, body = ErrorResponse),
        (status = 413, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn import_users(
    State(state): State<AppState>,
    auth: Auth,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<ImportAnswer>), ApiError> {
    auth.require(Scope::Admin)?;
    let bytes = super::read_body(&state, body).await?;
    let import: UserImport = super::super::error::parse_json(&bytes)?;
    let scope = match import.tokens.as_deref() {
        None => None,
        Some("user") => Some(Scope::User),
        Some("publisher") => Some(Scope::Publisher),
        Some(other) => {
            return Err(ApiError::invalid(crate::model::FieldError::new(
                "tokens",
                format!("expected `user` or `publisher`, found `{other}`"),
            )));
        }
    };
    let done = state.dispatch.import_users(import.users, scope).await?;
    let users: Vec<ImportedUser> =
        done.into_iter().map(|i| ImportedUser { name: i.name, token: i.token }).collect();
    Ok((StatusCode::CREATED, Json(ImportAnswer { imported: users.len(), users })))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UserDeleted {
    pub deleted: String,
}

/// Removes a user and everything that is theirs (admin); their tokens stop at once and
/// their websockets close. The audit trail keeps its records and stays valid.
#[utoipa::path(delete, path = "/users/{name}", tag = "operators",
    params(("name" = String, Path, description = "the user's name")),
    responses((status = 200, body = UserDeleted), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn delete_user(
    State(state): State<AppState>,
    auth: Auth,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Json<UserDeleted>, ApiError> {
    auth.require(Scope::Admin)?;
    if !state.dispatch.delete_user(name.clone()).await? {
        return Err(ApiError::not_found(format!("no user named `{name}`")));
    }
    Ok(Json(UserDeleted { deleted: name }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` (503) with the `reason`.
    pub status: String,
    pub stream: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// This dispatcher's node id, when several share a PostgreSQL store (DESIGN §5a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// Health: 200 while the dispatcher can work; 503 with the reason when its writer stopped or
/// its store failed on the last write.
#[utoipa::path(get, path = "/healthz", tag = "operators",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let stream = state.dispatch.stream().to_string();
    let node = state.dispatch.node().map(str::to_string);
    match state.dispatch.health() {
        Ok(()) => Json(Health { status: "ok".into(), stream, reason: None, node }).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            Json(Health { status: "unavailable".into(), stream, reason: Some(reason), node }),
        )
            .into_response(),
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operators", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let depth = state.dispatch.outbox_depth().await?;
    let text = state.dispatch.metrics().render(
        state.dispatch.hub().connections(),
        depth,
        state.dispatch.readers_pooled(),
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
