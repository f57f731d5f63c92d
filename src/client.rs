//! A small HTTP/1.1 client for the command line: the same requests over TCP to a dispatcher
//! (TLS with https) or over the local engine socket. (The TUI's websocket client lives in
//! `sync`.)

use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use crate::tls::{ConnectError, Tls};

/// Where the engine answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `http(s)://host:port` with a bearer token; `tls` for https.
    Tcp { authority: String, token: Option<String>, tls: Option<Tls> },
    /// The local engine socket; the local user is implicit.
    Socket(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("{0}")]
    Http(String),
    #[error("{0}")]
    Unsupported(String),
    /// The TLS handshake failed (an untrusted or wrong certificate): retrying will not help.
    #[error("{0}")]
    Tls(String),
}

impl From<ConnectError> for ClientError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Unreachable(who, io) => ClientError::Connect(who, io),
            e @ ConnectError::Handshake { .. } => ClientError::Tls(e.to_string()),
        }
    }
}

impl Target {
    /// Parses a server URL: `https://host[:port]` (or `wss://`) verified against the
    /// system's roots plus `ca_cert`, or plain `http://host:port` (or `ws://`).
    pub fn from_url(url: &str, token: Option<String>, ca_cert: Option<&Path>) -> Result<Target, ClientError> {
        let (authority, secure) = crate::tls::parse_server(url).map_err(ClientError::Unsupported)?;
        let tls = if secure { Some(Tls::new(ca_cert).map_err(ClientError::Tls)?) } else { None };
        Ok(Target::Tcp { authority, token, tls })
    }
}

/// Sends one request and returns the status and body.
pub async fn request(
    target: &Target,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(StatusCode, Bytes), ClientError> {
    let http = |e: hyper::Error| ClientError::Http(e.to_string());
    let (mut sender, host) = match target {
        Target::Tcp { authority, tls, .. } => {
            let stream = crate::tls::connect(authority, tls.as_ref()).await?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(http)?;
            tokio::spawn(conn);
            (sender, authority.clone())
        }
        Target::Socket(path) => {
            let stream = UnixStream::connect(path)
                .await
                .map_err(|e| ClientError::Connect(path.display().to_string(), e))?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(http)?;
            tokio::spawn(conn);
            (sender, "localhost".to_string())
        }
    };
    let mut req = Request::builder().method(method).uri(path).header("host", host);
    if let Target::Tcp { token: Some(t), .. } = target {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body))).map_err(|e| ClientError::Http(e.to_string()))?;
    let resp = sender.send_request(req).await.map_err(http)?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map_err(http)?.to_bytes();
    Ok((status, bytes))
}

/// The server's error message from a DESIGN §7 error body, or the raw text.
pub fn error_message(status: StatusCode, body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    match parsed.as_ref().and_then(|v| v.get("error")) {
        Some(e) => {
            let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
            match e.get("field").and_then(|f| f.as_str()) {
                Some(f) => format!("{status}: {f}: {msg}"),
                None => format!("{status}: {msg}"),
            }
        }
        None => format!("{status}: {}", String::from_utf8_lossy(body).trim()),
    }
}

/// One line for a token the server refused (HTTP 401/403, or the stream's `unauthorized`):
/// what is wrong and how to fix it (`what` is the status, e.g. `401 Unauthorized`). `send`, `list` and the TUI all say it in these words.
pub fn token_refused(server: &str, what: &str) -> String {
    format!("{server} refused the token ({what}): give a valid one with --token or CAMPANILE_TOKEN")
}
