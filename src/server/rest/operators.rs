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
