//! The websocket stream `/api/v1/stream` (DESIGN §6): hello → welcome, in-order replay of
//! every change after `last_seq`, then live changes; commands answered with `result`;
//! presence feeding the engine; ping/pong. Live changes come through a bounded queue; a
//! connection that falls behind catches up from the store by seq, so it never sees a gap
//! or a duplicate and the server never buffers without bound.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use jiff::Timestamp;

use super::AppState;
use super::auth::{bearer, principal};
use super::error::{ApiError, ErrorResponse};
use super::rest::required_policy;
use crate::dispatch::commands::{Command, CommandError, Outcome};
use crate::dispatch::hub::{Live, Published, frame_text};
use crate::dispatch::queries::WelcomeState;
use crate::engine::Presence;
use crate::model::{InboxFilter, View};
use crate::store::Change;
use crate::store::ListFilter;
use crate::store::{Principal, Scope};
use crate::sync::protocol::{ClientFrame, ErrorBody, FEATURE_BULK, FEATURE_SNAPSHOT, Op, ServerFrame};

/// Most changes one replay query reads.
const PAGE: u32 = 1000;
/// Fewest changes one replay query reads, however large they are.
const MIN_PAGE: u32 = 16;
/// Changes a connection's first replay query reads, before it knows their size.
const FIRST_PAGE: u32 = 128;
/// How many items one `snapshot` frame carries.
const SNAPSHOT_PAGE: u32 = 500;
/// How long a client has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Runs a write to the socket, which may wait `stall` for the peer to read: a peer that
/// stopped reading loses its session instead of holding it (and shutdown) forever.
async fn timed<E>(
    stall: Duration,
    write: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), Halt> {
    match tokio::time::timeout(stall, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Halt::Socket),
        Err(_) => Err(Halt::Stalled(stall)),
    }
}

/// Upgrade handler; the token may come as `Authorization: Bearer` here or in `hello`.
#[utoipa::path(get, path = "/stream", tag = "stream",
    responses((status = 101, description = "websocket: DESIGN §6 frames"),
        (status = 400, description = "not a websocket upgrade request", body = ErrorResponse),
        (status = 401, body = ErrorResponse),
        (status = 426, description = "the connection cannot be upgraded", body = ErrorResponse)))]
pub async fn upgrade(
    State(state): State<AppState>,
    parts: Parts,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|r| ApiError::new(r.status(), "malformed", r.body_text()))?;
    let early = match bearer(&parts)? {
        Some(t) => Some(principal(&state, t).await?),
        None => state.local_user.clone().map(Principal::local),
    };
    let tracker = state.sessions.clone();
    // Frames are small; nothing larger than a request body is read, even before hello.
    let limit = usize::try_from(state.dispatch.config().daemon.max_body_bytes).unwrap_or(1 << 20);
    // Buffers sized for notification frames, not the library's 128 KiB defaults (kept, and
    // zeroed on each read, for every connection): an idle session costs a few KiB. Writes go
    // out a frame batch at a time; what a slow reader leaves unsent is bounded.
    let ws = ws
        .max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + 2 * limit);
    Ok(ws.on_upgrade(move |socket| tracker.track_future(session(socket, state, early))))
}

/// A websocket's read buffer: client frames are small (commands, heartbeats).
const READ_BUFFER: usize = 4 * 1024;
/// Frames batched before they go to the socket.
const WRITE_BUFFER: usize = 16 * 1024;

fn text(frame: &ServerFrame) -> Message {
    Message::Text(Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default()))
}

/// Why a session stops early.
enum Halt {
    /// The peer's socket failed.
    Socket,
    /// The peer took nothing for this long.
    Stalled(Duration),
    /// Reading the store failed.
    Store(crate::dispatch::DispatchError),
}

fn error_frame(code: &str, message: impl Into<String>) -> ServerFrame {
    ServerFrame::Error { error: ErrorBody { code: code.into(), message: message.into(), field: None } }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    // A peer that stopped reading must not hold the session (or shutdown) forever.
    let frame = Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from(reason) }));
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.send(frame)).await;
}

/// Whether a read failed on a message or frame over the size limit.
fn too_large(e: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    let inner: &(dyn std::error::Error + 'static) = e;
    std::iter::successors(Some(inner), |e| e.source())
        .any(|e| matches!(e.downcast_ref::<Error>(), Some(Error::Capacity(_))))
}

/// Closes with 1009 (message too big, RFC 6455 §7.4.1), saying what the limit is.
async fn close_too_large(socket: &mut WebSocket, state: &AppState) {
    let limit = state.dispatch.config().daemon.max_body_bytes;
    tracing::info!(limit, "a websocket client sent a frame over the size limit; its session ends");
    close(socket, 1009, &format!("a frame is larger than {limit} bytes (daemon.max_body_bytes)")).await;
}

struct Conn {
    state: AppState,
    user: String,
    /// What the session's token may do.
    scope: Scope,
    id: u64,
    live: Live,
    last_sent: i64,
    /// How long a write may wait for the peer to read (`daemon.stream_stall_secs`).
    stall: Duration,
    /// Changes one catch-up query reads: sized from the last page so that a page holds
    /// about `daemon.stream_queue_bytes`.
    page: u32,
    /// The client understands `notifications_updated` (said so in `hello`).
    bulk: bool,
}

async fn session(mut socket: WebSocket, state: AppState, early: Option<Principal>) {
    let stall = Duration::from_secs(state.dispatch.config().daemon.stream_stall_secs);
    // 1. hello.
    let hello = tokio::time::timeout(HELLO_TIMEOUT, socket.next()).await;
    let t = match hello {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Err(e))) if too_large(&e) => {
            close_too_large(&mut socket, &state).await;
            return;
        }
        _ => {
            close(&mut socket, 1008, "expected a hello frame").await;
            return;
        }
    };
    let (token, last_seq, stream, features) = match serde_json::from_str::<ClientFrame>(&t) {
        Ok(ClientFrame::Hello { token, last_seq, stream, features, .. }) => {
            (token, last_seq, stream, features)
        }
        _ => {
            let _ =
                timed(stall, socket.send(text(&error_frame("malformed", "the first frame must be a hello"))))
                    .await;
            close(&mut socket, 1008, "expected a hello frame").await;
            return;
        }
    };
    let who = match (token, early) {
        (Some(t), _) => principal(&state, &t).await.ok(),
        (None, p) => p,
    };
    let Some(who) = who else {
        let _ =
            timed(stall, socket.send(text(&error_frame("unauthorized", "unknown or missing token")))).await;
        close(&mut socket, 1008, "unauthorized").await;
        return;
    };

    // 2. Subscribe before reading the current seq: nothing committed after it can be missed.
    let (id, live) = state.dispatch.hub().subscribe(&who.user);
    let user = who.user.clone();
    let Ok(WelcomeState { seq, unread, prefs, prefs_version }) = state.dispatch.welcome_state(&user).await
    else {
        state.dispatch.hub().unsubscribe(&user, id);
        close(&mut socket, 1011, "the store failed").await;
        return;
    };
    let welcome = ServerFrame::Welcome {
        user: user.clone(),
        stream: state.dispatch.stream().to_string(),
        seq,
        unread,
        prefs: prefs.outward(),
        prefs_version,
        required: Some(required_policy(&state)),
    };
    let has = |f: &str| features.iter().any(|x| x == f);
    let mut conn = Conn {
        state: state.clone(),
        user,
        scope: who.scope,
        id,
        live,
        last_sent: last_seq,
        stall,
        page: FIRST_PAGE,
        bulk: has(FEATURE_BULK),
    };
    if timed(stall, socket.send(text(&welcome))).await.is_err() {
        conn.finish();
        return;
    }
    let foreign = stream.as_deref().is_some_and(|s| s != state.dispatch.stream());
    let fresh = last_seq == 0 || foreign;
    let started = if fresh && has(FEATURE_SNAPSHOT) {
        // A client with no history gets the inbox itself, newest first, not the log of how
        // it came to be; then it follows from the welcome's seq.
        conn.last_sent = seq;
        conn.snapshot(&mut socket).await
    } else if foreign || last_seq > seq || last_seq < 0 {
        // The client's history is not this store's: it must refetch, then follow from here.
        conn.last_sent = seq;
        timed(stall, socket.send(text(&ServerFrame::SnapshotRequired { seq: None }))).await
    } else {
        conn.catch_up(&mut socket).await
    };
    if let Err(why) = started {
        conn.halt(&mut socket, why).await;
        conn.finish();
        return;
    }

    // 3. Live, for as long as the token that opened the session is good.
    let shutdown = state.shutdown.clone();
    let mut revocations = state.dispatch.token_changes();
    let expiry = async {
        match who.expires_at {
            Some(at) => {
                let left = at.duration_since(jiff::Timestamp::now()).unsigned_abs();
                tokio::time::sleep(left).await;
            }
            None => std::future::pending().await,
        }
    };
    let mut expiry = std::pin::pin!(expiry);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                close(&mut socket, 1001, "the server is shutting down").await;
                break;
            }
            () = &mut expiry => {
                token_ended(&mut socket, "the token expired").await;
                break;
            }
            Ok(()) = revocations.changed(), if who.token.is_some() => {
                if !conn.token_still_valid(who.token.as_deref()).await {
                    token_ended(&mut socket, "the token was revoked").await;
                    break;
                }
            }
            incoming = socket.next() => {
                let msg = match incoming {
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) if too_large(&e) => {
                        close_too_large(&mut socket, &state).await;
                        break;
                    }
                    _ => break,
                };
                match msg {
                    Message::Text(t) => {
                        let reply = conn.handle(&t).await;
                        if let Some(r) = reply
                            && let Err(why) = timed(stall, socket.send(text(&r))).await
                        {
                            conn.halt(&mut socket, why).await;
                            break;
                        }
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            change = conn.live.recv() => {
                let sent = match change {
                    Some(c) => conn.forward(&mut socket, c).await,
                    // Dropped from the hub for falling behind: resubscribe and catch up.
                    None => {
                        let (id, live) = conn.state.dispatch.hub().subscribe(&conn.user);
                        conn.state.dispatch.presence().rekey(&conn.user, conn.id, id);
                        conn.id = id;
                        conn.live = live;
                        conn.catch_up(&mut socket).await
                    }
                };
                if let Err(why) = sent {
                    conn.halt(&mut socket, why).await;
                    break;
                }
            }
        }
    }
    conn.finish();
}

/// Tells the client its token no longer works and closes (policy violation).
async fn token_ended(socket: &mut WebSocket, why: &str) {
    let _ = timed(Duration::from_secs(2), socket.send(text(&error_frame("unauthorized", why)))).await;
    close(socket, 1008, why).await;
}

impl Conn {
    /// Whether the token with this id is still in the store (a read error keeps the session:
    /// the next change re-checks).
    async fn token_still_valid(&self, id: Option<&str>) -> bool {
        let Some(id) = id else { return true };
        match self.state.dispatch.tokens(Some(self.user.clone())).await {
            Ok(tokens) => tokens.iter().any(|t| t.id == id),
            Err(_) => true,
        }
    }

    fn finish(&self) {
        self.state.dispatch.hub().unsubscribe(&self.user, self.id);
        self.state.dispatch.presence().remove(&self.user, self.id);
    }

    /// The frame for a change: its `change` frame, or `snapshot_required` in place of a
    /// bulk change for a client that does not understand those (it refetches).
    fn frame(&self, c: &Change, published: Option<&Published>) -> Message {
        if c.kind == "notifications_updated" && !self.bulk {
            return text(&ServerFrame::SnapshotRequired { seq: Some(c.seq) });
        }
        match published {
            Some(p) => Message::Text(Utf8Bytes::from(p.text())),
            None => Message::Text(Utf8Bytes::from(frame_text(c))),
        }
    }

    /// Sends the whole inbox (archived and snoozed items too), newest first, a page a
    /// frame. Items come without their plan: `get` fetches one in full.
    async fn snapshot(&mut self, socket: &mut WebSocket) -> Result<(), Halt> {
        let total = self.state.dispatch.total(&self.user).await.map_err(Halt::Store)?;
        let mut loaded = 0u64;
        let mut before: Option<String> = None;
        loop {
            let filter = ListFilter {
                filter: InboxFilter { view: View::All, ..InboxFilter::default() },
                before: before.clone(),
                limit: SNAPSHOT_PAGE,
            };
            let mut items = self.state.dispatch.list(&self.user, filter).await.map_err(Halt::Store)?;
            for n in &mut items {
                n.plan = None;
            }
            let done = items.len() < SNAPSHOT_PAGE as usize;
            loaded += items.len() as u64;
            before = items.last().map(|n| n.id.clone());
            let frame = ServerFrame::Snapshot { items, loaded, total: total.max(loaded), done };
            timed(self.stall, socket.send(text(&frame))).await?;
            if done {
                return Ok(());
            }
        }
    }

    /// Sends every stored change after `last_sent`, page by page. A page is sized to hold
    /// about the connection's queue budget, so a client that reads slowly holds no more of
    /// the store in memory than a live queue would.
    async fn catch_up(&mut self, socket: &mut WebSocket) -> Result<(), Halt> {
        loop {
            let asked = self.page;
            let page = self
                .state
                .dispatch
                .changes_since(&self.user, self.last_sent, asked)
                .await
                .map_err(Halt::Store)?;
            let n = page.len();
            let mut bytes = 0;
            for c in &page {
                bytes += c.payload.len() + 64;
                timed(self.stall, socket.feed(self.frame(c, None))).await?;
                self.last_sent = c.seq;
            }
            timed(self.stall, socket.flush()).await?;
            if let Some(each) = bytes.checked_div(n) {
                let budget = self.state.dispatch.config().daemon.stream_queue_bytes as usize;
                let fits = budget / each.max(1);
                self.page = u32::try_from(fits).unwrap_or(PAGE).clamp(MIN_PAGE, PAGE);
            }
            if n < asked as usize {
                return Ok(());
            }
        }
    }

    /// Sends a live change and everything queued behind it, then flushes once.
    async fn forward(&mut self, socket: &mut WebSocket, first: Arc<Published>) -> Result<(), Halt> {
        let mut next = Some(first);
        while let Some(p) = next {
            let c = &p.change;
            if c.seq > self.last_sent {
                if c.seq != self.last_sent + 1 {
                    // A gap means something was committed before we subscribed and after the
                    // replay read: fill it from the store first.
                    self.catch_up(socket).await?;
                }
                if c.seq > self.last_sent {
                    timed(self.stall, socket.feed(self.frame(c, Some(&p)))).await?;
                    self.last_sent = c.seq;
                }
            }
            next = self.live.try_recv();
        }
        timed(self.stall, socket.flush()).await
    }

    /// Ends a session that cannot go on: a socket that failed just ends; a store that failed
    /// is logged and the client told why (an error frame, then close code 1011).
    async fn halt(&self, socket: &mut WebSocket, why: Halt) {
        match why {
            Halt::Socket => {}
            Halt::Stalled(after) => {
                let secs = after.as_secs();
                tracing::info!(user = %self.user, secs, "closing a websocket: the client stopped reading");
                // Best effort: the peer is not reading, so this may not reach it either.
                let why = format!(
                    "the client read nothing for {secs} s (daemon.stream_stall_secs); resume from your last seq"
                );
                close(socket, 1008, &why).await;
            }
            Halt::Store(e) => {
                tracing::error!(user = %self.user, error = %e, "closing a websocket: reading the store failed");
                let body = ApiError::from(e).body;
                let _ = timed(self.stall, socket.send(text(&ServerFrame::Error { error: body }))).await;
                close(socket, 1011, "the store failed; see the server log").await;
            }
        }
    }

    /// Handles one client frame; returns the answer to send, if any.
    async fn handle(&mut self, t: &str) -> Option<ServerFrame> {
        let frame = match serde_json::from_str::<ClientFrame>(t) {
            Ok(f) => f,
            Err(e) => return Some(error_frame("malformed", format!("not a frame of the protocol: {e}"))),
        };
        match frame {
            ClientFrame::Ping => Some(ServerFrame::Pong),
            ClientFrame::Hello { .. } => Some(error_frame("malformed", "hello was already said")),
            ClientFrame::Presence { state, viewing } => {
                self.state.dispatch.presence().set(
                    &self.user,
                    self.id,
                    Presence { state, viewing },
                    Timestamp::now(),
                );
                None
            }
            ClientFrame::Command { req, op } => Some(self.command(req, op).await),
        }
    }

    async fn command(&mut self, req: String, op: Op) -> ServerFrame {
        let mut command = match Command::from_op(op) {
            Ok(c) => c,
            Err(e) => return ServerFrame::failed(req, ApiError::invalid(e).body),
        };
        if let Command::SavePrefs { own_address_only, .. } = &mut command {
            *own_address_only = self.scope == Scope::User;
            if self.scope == Scope::User
                && let Err(retry) = self.state.limiter.take(&self.user)
            {
                return ServerFrame::failed(req, ApiError::too_many(retry).body);
            }
        }
        match self.state.dispatch.execute(&self.user, command).await {
            Ok(outcome) => {
                let mut frame = ServerFrame::ok(req);
                if let ServerFrame::Result { bulk, count, notifications, .. } = &mut frame {
                    match outcome {
                        Outcome::Bulk { bulk: b, count: c } => (*bulk, *count) = (b, Some(c)),
                        Outcome::Notifications(items) => *notifications = Some(items),
                        Outcome::Changed(_) | Outcome::Prefs { .. } | Outcome::Devices(_) => {}
                    }
                }
                frame
            }
            Err(CommandError::Conflict { expected, current, version }) => {
                let error = ErrorBody {
                    code: "conflict".into(),
                    message: format!("you edited version {expected}; the server has a newer one"),
                    field: None,
                };
                let mut frame = ServerFrame::failed(req, error);
                if let ServerFrame::Result { prefs, prefs_version, .. } = &mut frame {
                    (*prefs, *prefs_version) = (Some(current.outward()), Some(version));
                }
                frame
            }
            Err(e) => ServerFrame::failed(req, ApiError::from(e).body),
        }
    }
}
