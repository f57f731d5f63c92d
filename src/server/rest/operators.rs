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
