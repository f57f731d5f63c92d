//! The HTTP face of the dispatcher (DESIGN §7): `router(state)` builds every route with its
//! OpenAPI description, and `serve` runs it on a listener until a shutdown future fires,
//! then closes every websocket session with a close frame and waits for them.

pub mod auth;
pub mod error;
mod keepalive;
pub(crate) mod listen;
mod openapi;
pub mod rest;
pub mod workflows;
pub mod ws;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::dispatch::Dispatch;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub dispatch: Dispatch,
    /// On the local engine socket, the caller is this user without a token.
    pub local_user: Option<String>,
    /// Websocket sessions, tracked so shutdown can close and await them.
    pub sessions: TaskTracker,
    pub shutdown: CancellationToken,
    /// Tokens already looked up, with when.
    pub tokens: Arc<Mutex<HashMap<String, auth::Cached>>>,
    pub limiter: Arc<auth::RateLimiter>,
}

impl AppState {
    pub fn new(dispatch: Dispatch, local_user: Option<String>) -> AppState {
        let rl = &dispatch.config().daemon.rate_limit;
        let limiter = Arc::new(auth::RateLimiter::new(rl.per_second, rl.burst));
        AppState {
            dispatch,
            local_user,
            sessions: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            tokens: Arc::default(),
            limiter,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Campanile", description = "Notification centre: REST API and websocket stream (DESIGN §6, §7, §13)."),
    servers((url = "/api/v1"))
)]
struct ApiDoc;

/// The API routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(rest::post_event))
        .routes(routes!(rest::receive_hook))
        .routes(routes!(rest::list_notifications))
        .routes(routes!(rest::mark_read))
        .routes(routes!(rest::mark_unread))
        .routes(routes!(rest::mark_all_read))
        .routes(routes!(rest::bulk))
        .routes(routes!(rest::undo_bulk))
        .routes(routes!(rest::get_notification))
        .routes(routes!(rest::unread_count))
        .routes(routes!(rest::get_settings, rest::put_settings))
        .routes(routes!(rest::subscribe, rest::unsubscribe))
        .routes(routes!(rest::list_topics))
        .routes(routes!(rest::add_device, rest::list_devices))
        .routes(routes!(rest::remove_device))
        .routes(routes!(rest::audit))
        .routes(routes!(rest::list_tokens))
        .routes(routes!(rest::revoke_token))
        .routes(routes!(rest::list_users, rest::import_users))
        .routes(routes!(rest::delete_user))
        .routes(routes!(workflows::list))
        .routes(routes!(workflows::trigger))
        .routes(routes!(workflows::delivery_status))
        .routes(routes!(rest::healthz))
        .routes(routes!(rest::metrics))
        .routes(routes!(ws::upgrade))
        .split_for_parts();
    openapi::complete(&mut doc);
    (router, doc)
}

/// Every route under `/api/v1`, plus `/healthz` and `/metrics` at the root for probes.
pub fn router(state: AppState) -> Router {
    let (api, mut doc) = api();
    doc.openapi = utoipa::openapi::OpenApiVersion::Version31;
    let doc = Arc::new(doc);
    let api = api.route(
        "/openapi.json",
        get(move || {
            let doc = Arc::clone(&doc);
            async move { axum::Json((*doc).clone()) }
        }),
    );
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(rest::healthz))
        .route("/metrics", get(rest::metrics))
        .method_not_allowed_fallback(|| async {
            error::ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method; see /api/v1/openapi.json",
            )
        })
        .fallback(|| async { error::ApiError::not_found("no such route; see /api/v1/openapi.json") })
        .layer(axum::middleware::from_fn(keepalive::close_if_unread))
        .with_state(state)
}

/// Serves until `shutdown` resolves: stops accepting, lets requests in flight finish, closes
/// every websocket with a close frame and waits for the sessions to end.
pub async fn serve<L>(
    listener: L,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let cancel = state.shutdown.clone();
    let sessions = state.sessions.clone();
    let state_daemon = state.dispatch.config().daemon.clone();
    let app = router(state);
    let stop = cancel.clone();
    tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    let limits = listen::Limits::from_config(&state_daemon);
    listen::serve(listener, app, limits, cancel).await;
    sessions.close();
    // Sessions close themselves on the cancel; a peer that stopped reading gets a grace
    // period, not a veto over shutdown.
    if tokio::time::timeout(std::time::Duration::from_secs(5), sessions.wait()).await.is_err() {
        tracing::warn!("some websocket sessions did not close in time");
    }
    Ok(())
}
