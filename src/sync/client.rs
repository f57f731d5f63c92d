//! The client side of the sync protocol: one actor owns the websocket (over TCP to a
//! dispatcher, or over the local engine socket), says hello with the last seq it passed on,
//! forwards frames both ways, and reconnects with backoff. It keeps the resume cursor itself
//! so no change is missed or repeated across reconnects. A `snapshot_required` is passed on
//! (the owner refetches) and the cursor moves to the server's head, where the stream goes on.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::protocol::{ClientFrame, ServerFrame};

/// Where the stream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `host:port` of a dispatcher and a token.
    Tcp { authority: String, token: String },
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
    Disconnected { retry_in: Duration },
}

/// Sends frames to the server through the actor. Cheap to clone.
#[derive(Clone)]
pub struct ClientHandle {
    tx: mpsc::Sender<ClientFrame>,
}

impl ClientHandle {
    /// Queues a frame; false when the actor is gone.
    pub fn send(&self, frame: ClientFrame) -> bool {
        self.tx.try_send(frame).is_ok()
    }
}

const CLIENT: &str = concat!("campanile-tui/", env!("CARGO_PKG_VERSION"));

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(6))).min(Duration::from_secs(30))
}

/// Starts the actor; it runs until `events`' receiver is dropped.
pub fn spawn(transport: Transport, events: mpsc::Sender<ClientEvent>) -> ClientHandle {
    let (tx, mut rx) = mpsc::channel::<ClientFrame>(256);
    tokio::spawn(async move {
        let mut last_seq = 0i64;
        let mut stream: Option<String> = None;
        let mut attempt = 0u32;
        loop {
            match session(&transport, &mut last_seq, &mut stream, &events, &mut rx).await {
                Ok(()) => return, // the owner is gone
                Err(connected) => {
                    if connected {
                        attempt = 0;
                    }
                    let retry_in = backoff(attempt);
                    attempt += 1;
                    if events.send(ClientEvent::Disconnected { retry_in }).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(retry_in).await;
                }
            }
        }
    });
    ClientHandle { tx }
}

type Ws<S> = tokio_tungstenite::WebSocketStream<S>;

/// One connection. `Ok` means the owner went away; `Err(connected)` means the connection
/// ended (after being established, or not).
async fn session(
    transport: &Transport,
    last_seq: &mut i64,
    stream: &mut Option<String>,
    events: &mpsc::Sender<ClientEvent>,
    rx: &mut mpsc::Receiver<ClientFrame>,
) -> Result<(), bool> {
    match transport {
        Transport::Tcp { authority, token } => {
            let tcp = TcpStream::connect(authority).await.map_err(|_| false)?;
            let url = format!("ws://{authority}/api/v1/stream");
            let (ws, _) = tokio_tungstenite::client_async(url, tcp).await.map_err(|_| false)?;
            run(ws, Some(token.clone()), last_seq, stream, events, rx).await
        }
        Transport::Unix(path) => {
            let unix = UnixStream::connect(path).await.map_err(|_| false)?;
            let (ws, _) = tokio_tungstenite::client_async("ws://localhost/api/v1/stream", unix)
                .await
                .map_err(|_| false)?;
            run(ws, None, last_seq, stream, events, rx).await
        }
    }
}

async fn run<S>(
    mut ws: Ws<S>,
    token: Option<String>,
    last_seq: &mut i64,
    stream: &mut Option<String>,
    events: &mpsc::Sender<ClientEvent>,
    rx: &mut mpsc::Receiver<ClientFrame>,
) -> Result<(), bool>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let hello = ClientFrame::Hello {
        token,
        last_seq: *last_seq,
        stream: stream.clone(),
        client: Some(CLIENT.into()),
        features: Vec::new(),
    };
    let text = serde_json::to_string(&hello).map_err(|_| false)?;
    ws.send(Message::text(text)).await.map_err(|_| false)?;
    if events.send(ClientEvent::Connected).await.is_err() {
        return Ok(());
    }
    let mut head = *last_seq;
    let mut new_stream: Option<String> = None;
    let mut ping = tokio::time::interval(Duration::from_secs(30));
    ping.tick().await;
    loop {
        tokio::select! {
            outgoing = rx.recv() => {
                let Some(frame) = outgoing else { return Ok(()) };
                let text = serde_json::to_string(&frame).map_err(|_| true)?;
                ws.send(Message::text(text)).await.map_err(|_| true)?;
            }
            incoming = ws.next() => {
                let Some(Ok(msg)) = incoming else { return Err(true) };
                let Message::Text(t) = msg else {
                    if matches!(msg, Message::Close(_)) {
                        return Err(true);
                    }
                    continue;
                };
                let Ok(frame) = serde_json::from_str::<ServerFrame>(&t) else { continue };
                match &frame {
                    ServerFrame::Welcome { stream: s, seq, .. } => {
                        // A new stream is adopted only with the snapshot that follows it: a
                        // drop in between must not resume the old seq on the new history.
                        if stream.is_none() {
                            *stream = Some(s.clone());
                        } else if stream.as_deref() != Some(s.as_str()) {
                            new_stream = Some(s.clone());
                        }
                        head = *seq;
                    }
                    ServerFrame::Change { seq, .. } => *last_seq = (*last_seq).max(*seq),
                    // The history before the head comes by refetching; the stream goes on from it.
                    ServerFrame::SnapshotRequired { seq } => {
                        *last_seq = seq.unwrap_or(head).max(*last_seq);
                        if let Some(s) = new_stream.take() {
                            *stream = Some(s);
                        }
                    }
                    _ => {}
                }
                if events.send(ClientEvent::Frame(frame)).await.is_err() {
                    return Ok(());
                }
            }
            _ = ping.tick() => {
                ws.send(Message::text(r#"{"type":"ping"}"#)).await.map_err(|_| true)?;
            }
        }
    }
}
