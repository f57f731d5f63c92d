//! The client side of the sync protocol: one actor owns the websocket (over TCP to a
//! dispatcher, or over the local engine socket), forwards frames both ways, and reconnects
//! with backoff. It keeps no resume cursor: on every connection it tells its owner
//! `Connected` and waits for the owner's `hello`, which carries the owner's cursor (what the
//! owner has applied is the one truth of where to resume, and the owner knows when a snapshot
//! is complete); the actor adds the token and sends it, then whatever else the owner queued
//! meanwhile (commands are idempotent). The owner can also ask for a new connection at once
//! ([`ClientHandle::reconnect`]), to refetch its inbox after `snapshot_required`.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use tokio::net::UnixStream;

use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;

use super::protocol::{ClientFrame, ServerFrame};

/// Where the stream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `host:port` of a dispatcher and a token; `tls` for wss.
    Tcp { authority: String, token: String, tls: Option<crate::tls::Tls> },
    /// The local engine socket (the local user is implicit).
    Unix(PathBuf),
}

impl Transport {
    pub fn describe(&self) -> String {
        match self {
            Transport::Tcp { authority, .. } => authority.clone(),
            Transport::Unix(p) => p.display().to_string(),
        }
    }
}

/// What the actor tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    Connected,
    Frame(ServerFrame),
    Disconnected {
        retry_in: Duration,
    },
    /// The server refused the credentials (HTTP 401/403 at the upgrade, or an
    /// `unauthorized`/`forbidden` error before `welcome`). Retrying cannot help, so the actor
    /// waits until the owner asks again ([`ClientHandle::reconnect`]). `reason` is one line
    /// saying what is wrong and how to fix it, the words `send` prints.
    Refused {
        reason: String,
    },
}

/// Sends frames to the server through the actor. Cheap to clone.
#[derive(Clone)]
pub struct ClientHandle {
    tx: mpsc::Sender<ClientFrame>,
    /// Not a queued frame: a request that must not be lost to a full queue.
    reconnect: Arc<Notify>,
}

impl ClientHandle {
    /// Queues a frame; false when the actor is gone (or its queue is full). After each
    /// `Connected`, the first frame it sends is the owner's `hello`.
    pub fn send(&self, frame: ClientFrame) -> bool {
        self.tx.try_send(frame).is_ok()
    }

    /// Drops the connection and connects again at once (answered by `Connected`).
    pub fn reconnect(&self) {
        self.reconnect.notify_one();
    }
}

/// How a connection ended.
enum End {
    /// The owner went away: the actor stops.
    OwnerGone,
    /// The owner asked for a new connection.
    Reconnect,
    /// It failed or closed, after being established (or not).
    Dropped { connected: bool },
    /// The server refused the token: say why and wait for the owner.
    Refused(String),
}

const CLIENT: &str = concat!("campanile-tui/", env!("CARGO_PKG_VERSION"));

/// The wait before the next try: 0.5 s doubling up to 8 s. Someone is usually watching the
/// header count down, so the wait stays short (and ctrl-r cuts it); one try every 8 s per
/// client is nothing to a server.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(6))).min(MAX_BACKOFF)
}

const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Starts the actor; it runs until `events`' receiver is dropped.
pub fn spawn(transport: Transport, events: mpsc::Sender<ClientEvent>) -> ClientHandle {
    let (tx, mut rx) = mpsc::channel::<ClientFrame>(256);
    let reconnect = Arc::new(Notify::new());
    let asked = Arc::clone(&reconnect);
    tokio::spawn(async move {
        let mut attempt = 0u32;
        loop {
            let mut owner = Owner { rx: &mut rx, reconnect: &asked };
            match session(&transport, &events, &mut owner).await {
                End::OwnerGone => return,
                End::Reconnect => attempt = 0,
                End::Refused(reason) => {
                    if events.send(ClientEvent::Refused { reason }).await.is_err() {
                        return;
                    }
                    // No retry loop against a wrong token: only the owner's "try again" (or
                    // its going away) ends the wait. Frames queued meanwhile are dropped:
                    // the owner resends its pending commands after the next `Connected`.
                    loop {
                        tokio::select! {
                            () = asked.notified() => break,
                            frame = rx.recv() => if frame.is_none() { return },
                        }
                    }
                    attempt = 0;
                }
                End::Dropped { connected } => {
                    if connected {
                        attempt = 0;
                    }
                    let retry_in = backoff(attempt);
                    attempt += 1;
                    if events.send(ClientEvent::Disconnected { retry_in }).await.is_err() {
                        return;
                    }
                    // "Try now" (the owner's reconnect) cuts the wait short.
                    tokio::select! {
                        () = tokio::time::sleep(retry_in) => {}
                        () = asked.notified() => attempt = 0,
                    }
                }
            }
        }
    });
    ClientHandle { tx, reconnect }
}

/// What the owner sends the actor: frames, and requests to reconnect.
struct Owner<'a> {
    rx: &'a mut mpsc::Receiver<ClientFrame>,
    reconnect: &'a Notify,
}

type Ws<S> = tokio_tungstenite::WebSocketStream<S>;

/// One connection.
async fn session(transport: &Transport, events: &mpsc::Sender<ClientEvent>, owner: &mut Owner<'_>) -> End {
    let failed = End::Dropped { connected: false };
    match transport {
        Transport::Tcp { authority, token, tls } => {
            let stream = match crate::tls::connect(authority, tls.as_ref()).await {
                Ok(s) => s,
                Err(e @ crate::tls::ConnectError::Handshake { .. }) => {
                    // Retried like any dropped connection (a proxy may be restarting with a
                    // new certificate), but logged with its reason.
                    tracing::warn!(error = %e, "websocket connection");
                    return failed;
                }
                Err(_) => return failed,
            };
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            let url = format!("{scheme}://{authority}/api/v1/stream");
            match tokio_tungstenite::client_async(url, stream).await {
                Ok((ws, _)) => run(ws, authority.clone(), Some(token.clone()), events, owner).await,
                Err(tokio_tungstenite::tungstenite::Error::Http(resp))
                    if matches!(resp.status().as_u16(), 401 | 403) =>
                {
                    End::Refused(crate::client::token_refused(authority, &resp.status().to_string()))
                }
                Err(_) => failed,
            }
        }
        Transport::Unix(path) => {
            let Ok(unix) = UnixStream::connect(path).await else { return failed };
            let Ok((ws, _)) = tokio_tungstenite::client_async("ws://localhost/api/v1/stream", unix).await
            else {
                return failed;
            };
            run(ws, path.display().to_string(), None, events, owner).await
        }
    }
}

async fn send<S>(ws: &mut Ws<S>, frame: &ClientFrame) -> Result<(), End>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let text = serde_json::to_string(frame).map_err(|_| End::Dropped { connected: true })?;
    ws.send(Message::text(text)).await.map_err(|_| End::Dropped { connected: true })
}

/// Waits for the owner's `hello` (queuing what comes before it), sends it with the token
/// and then the rest. `Err` when the connection ends first.
async fn greet<S>(ws: &mut Ws<S>, token: Option<String>, owner: &mut Owner<'_>) -> Result<(), End>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut early = Vec::new();
    let hello = loop {
        tokio::select! {
            outgoing = owner.rx.recv() => match outgoing {
                None => return Err(End::OwnerGone),
                Some(ClientFrame::Hello { last_seq, stream, client, features, .. }) => {
                    let client = client.or_else(|| Some(CLIENT.into()));
                    break ClientFrame::Hello { token, last_seq, stream, client, features };
                }
                Some(frame) => early.push(frame),
            },
            () = owner.reconnect.notified() => return Err(End::Reconnect),
            // Nothing comes before our hello but a close.
            incoming = ws.next() => {
                if !matches!(incoming, Some(Ok(Message::Ping(_) | Message::Pong(_)))) {
                    return Err(End::Dropped { connected: true });
                }
            }
        }
    };
    send(ws, &hello).await?;
    for frame in &early {
        send(ws, frame).await?;
    }
    Ok(())
}

async fn run<S>(
    mut ws: Ws<S>,
    where_: String,
    token: Option<String>,
    events: &mpsc::Sender<ClientEvent>,
    owner: &mut Owner<'_>,
) -> End
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if events.send(ClientEvent::Connected).await.is_err() {
        return End::OwnerGone;
    }
    if let Err(end) = greet(&mut ws, token, owner).await {
        return end;
    }
    let mut ping = tokio::time::interval(Duration::from_secs(30));
    ping.tick().await;
    // An `unauthorized` error before the welcome is the token refused, not a dropped line.
    let mut welcomed = false;
    loop {
        tokio::select! {
            outgoing = owner.rx.recv() => match outgoing {
                None => return End::OwnerGone,
                // A hello answering an earlier `Connected`: this connection has had its own.
                Some(ClientFrame::Hello { .. }) => {}
                Some(frame) => {
                    if let Err(end) = send(&mut ws, &frame).await {
                        return end;
                    }
                }
            },
            () = owner.reconnect.notified() => return End::Reconnect,
            incoming = ws.next() => {
                let Some(Ok(msg)) = incoming else { return End::Dropped { connected: true } };
                let Message::Text(t) = msg else {
                    if matches!(msg, Message::Close(_)) {
                        return End::Dropped { connected: true };
                    }
                    continue;
                };
                let frame = match serde_json::from_str::<ServerFrame>(&t) {
                    Ok(frame) => frame,
                    Err(e) => {
                        // Not silently: a frame this client cannot read is a bug to report.
                        tracing::warn!(error = %e, "an unreadable frame from the server was skipped");
                        continue;
                    }
                };
                if let ServerFrame::Error { error } = &frame
                    && matches!(error.code.as_str(), "unauthorized" | "forbidden")
                    && !welcomed
                {
                    // As REST says it, so `send` and the TUI read alike.
                    let status = if error.code == "forbidden" { "403 Forbidden" } else { "401 Unauthorized" };
                    tracing::warn!(server = %where_, message = %error.message, "token refused");
                    return End::Refused(crate::client::token_refused(&where_, status));
                }
                welcomed |= matches!(frame, ServerFrame::Welcome { .. });
                if events.send(ClientEvent::Frame(frame)).await.is_err() {
                    return End::OwnerGone;
                }
            }
            _ = ping.tick() => {
                if let Err(end) = send(&mut ws, &ClientFrame::Ping).await {
                    return end;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_between_tries_doubles_from_half_a_second_and_stops_at_eight() {
        let waits: Vec<u64> = (0..10).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000, 8_000, 8_000]);
    }
}
