//! The caller's preferences, topic subscriptions and push devices over REST.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::AppState;
use super::super::auth::Auth;
use super::super::error::{ApiError, ErrorResponse, parse_json};
use super::{header_str, query, read_body};
use crate::dispatch::commands::{Command, Outcome};
use crate::model::FieldError;
use crate::model::TopicInfo;
use crate::store::Scope;
use crate::sync::protocol::Devices;

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
    responses((status = 200, body = Settings), (status = 400, description = "If-Match is not a version number, or the body is not JSON", body = ErrorResponse),
        (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
pub async fn put_settings(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Settings>, ApiError> {
    // Saves cost a write and a change-log entry: user tokens share the events' budget.
    if auth.0.scope == Scope::User {
        state.limiter.take(&auth.0.user).map_err(ApiError::too_many)?;
    }
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
    let own_address_only = auth.0.scope == Scope::User;
    let command = Command::SavePrefs { patch, expected, full: false, own_address_only };
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
    responses((status = 204), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 422, description = "not a topic name", body = ErrorResponse)))]
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
    responses((status = 204), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 422, description = "not a topic name", body = ErrorResponse)))]
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
#[into_params(parameter_in = Query)]
pub struct ProviderQuery {
    provider: String,
}

/// Remove one of the caller's push devices.
#[utoipa::path(delete, path = "/device-tokens/{token}", tag = "devices", params(("token" = String, Path), ProviderQuery),
    responses((status = 204), (status = 400, description = "no provider", body = ErrorResponse), (status = 404, body = ErrorResponse)))]
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
