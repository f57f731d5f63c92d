//! The front door: accepting connections within the limits of `[daemon]` (DESIGN §9). A
//! connection must send complete request headers within `header_timeout_secs` of being
//! ready for them, which closes both a peer that trickles its headers and a keep-alive
//! connection left idle; at most `max_connections` are open at once (websockets included,
//! for as long as they live), and one over the cap gets a `503` at once, not a hang.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use futures_util::FutureExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many connections may be open and how long a request's headers may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

impl Limits {
    /// The configured limits, with the connection cap kept under the process's file
    /// descriptor limit (raised to its hard maximum first) so that `accept` never fails
    /// for want of a descriptor.
    pub fn from_config(c: &crate::config::DaemonConfig) -> Limits {
        let fds = raise_fd_limit();
        let room = fds.saturating_sub(FDS_KEPT).max(16) as usize;
        let wanted = c.max_connections as usize;
        if wanted > room {
            tracing::warn!(
                configured = wanted,
                allowed = room,
                fd_limit = fds,
                "daemon.max_connections is above what the file descriptor limit allows; using the lower figure"
            );
        }
        Limits {
            max_connections: wanted.min(room),
            header_timeout: Duration::from_secs(c.header_timeout_secs),
        }
    }
}

/// Descriptors kept for the store, outgoing deliveries and refusals.
const FDS_KEPT: u64 = 128;

/// Raises the soft limit on open files to the hard one, and returns the limit in force.
pub(crate) fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    let current = lim.current.unwrap_or(u64::MAX);
    match lim.maximum {
        Some(max) if max > current => {
            match setrlimit(Resource::Nofile, Rlimit { current: Some(max), maximum: Some(max) }) {
                Ok(()) => max,
                Err(_) => current,
            }
        }
        None if lim.current.is_some() => {
            let unlimited = Rlimit { current: None, maximum: None };
            if setrlimit(Resource::Nofile, unlimited).is_ok() { u64::MAX } else { current }
        }
        _ => current,
    }
}

/// Serves `app` on `listener` until `cancel`, then lets the requests in flight finish.
pub async fn serve<L>(mut listener: L, app: Router, limits: Limits, cancel: CancellationToken)
where
    L: axum::serve::Listener,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Refusals read what the peer sent before closing (so it sees the 503, not a reset),
    // briefly and only so many at once.
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let connections = TaskTracker::new();
    loop {
        let (io, _) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = cancel.cancelled() => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse(io, &refusals, limits.max_connections);
            continue;
        };
        let io = TokioIo::new(Counted { io, _slot: slot });
        let conn = http.serve_connection(io, TowerToHyperService::new(app.clone())).with_upgrades();
        let cancel = cancel.clone();
        connections.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = cancel.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    connections.close();
    connections.wait().await;
}

const REFUSALS_AT_ONCE: usize = 64;

const BUSY: &str =
    r#"{"error":{"code":"busy","message":"the server is at its connection limit; retry shortly"}}"#;

/// Answers a connection over the cap with `503` and closes it, without waiting on the peer.
fn refuse<Io>(mut io: Io, refusals: &Arc<Semaphore>, cap: usize)
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tracing::warn!(max_connections = cap, "refusing a connection: at the connection limit");
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{BUSY}",
        BUSY.len()
    );
    // A fresh socket's send buffer is empty: the answer goes out now or not at all.
    if io.write_all(answer.as_bytes()).now_or_never().is_none() {
        return;
    }
    if let Ok(permit) = refusals.clone().try_acquire_owned() {
        tokio::spawn(async move {
            let _permit = permit;
            let _ = io.shutdown().await;
            let mut sink = [0u8; 4096];
            let drain = async { while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
        });
    }
}

/// A connection that holds its slot under the cap for as long as it is open, through an
/// upgrade to a websocket included.
struct Counted<Io> {
    io: Io,
    _slot: OwnedSemaphorePermit,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Counted<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Counted<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
