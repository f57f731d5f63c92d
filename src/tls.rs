//! TLS for the clients (`send`, `demo`, `bench`, the TUI's REST calls and its websocket):
//! rustls with ring, verifying the server against the system's roots (which
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` replace, as OpenSSL's do) plus any `--ca-cert` file. A
//! handshake that fails says so in one line naming the host and the reason, so callers can
//! stop instead of retrying something that cannot heal.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A connected byte stream, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How to verify servers. Cheap to clone.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl PartialEq for Tls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
    }
}

impl Eq for Tls {}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, std::io::Error),
    /// The TLS handshake failed: a retry will not help until something changes.
    #[error("TLS with {host}: {reason}")]
    Handshake { host: String, reason: String },
}

impl Tls {
    /// The system's roots (or `SSL_CERT_FILE`/`SSL_CERT_DIR`), plus the certificates of
    /// `ca_cert` (PEM) when given.
    pub fn new(ca_cert: Option<&Path>) -> Result<Tls, String> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if let Some(path) = ca_cert {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("--ca-cert {}: {e}", path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("--ca-cert {}: not PEM certificates: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("--ca-cert {}: no certificate in the file", path.display()));
            }
            for c in certs {
                roots.add(c).map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
            }
        } else if added == 0 {
            return Err(
                "no trusted root certificates found on this system: pass --ca-cert FILE or set SSL_CERT_FILE"
                    .into(),
            );
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls { config: Arc::new(config) })
    }
}

/// The host of `host:port` (or `[v6]:port`).
pub fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Connects to `authority`, through TLS when `tls` is given.
pub async fn connect(authority: &str, tls: Option<&Tls>) -> Result<Box<dyn Io>, ConnectError> {
    let tcp = TcpStream::connect(authority)
        .await
        .map_err(|e| ConnectError::Unreachable(authority.to_string(), e))?;
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else { return Ok(Box::new(tcp)) };
    let host = host_of(authority);
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| ConnectError::Handshake { host: host.to_string(), reason: e.to_string() })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls.config));
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| ConnectError::Handshake { host: authority.to_string(), reason: reason(&e, host) })?;
    Ok(Box::new(stream))
}

/// A handshake failure in words a user can act on.
fn reason(e: &std::io::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return format!("the handshake failed: {e}");
    };
    match tls {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => "the server's certificate is signed by an authority this machine does not trust (for a private CA: --ca-cert FILE or SSL_CERT_FILE)".into(),
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            format!("the server's certificate is not valid for the name `{host}`")
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => "the server's certificate has expired".into(),
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => "the server's certificate is not valid yet".into(),
        rustls::Error::InvalidCertificate(other) => format!("the server's certificate is refused: {other:?}"),
        other => format!("the handshake failed: {other}"),
    }
}

/// Whether a `--server` URL asks for TLS, and its authority with the default port filled in.
pub fn parse_server(url: &str) -> Result<(String, bool), String> {
    let (rest, tls, port) =
        if let Some(r) = url.strip_prefix("https://").or_else(|| url.strip_prefix("wss://")) {
            (r, true, 443)
        } else if let Some(r) = url.strip_prefix("http://").or_else(|| url.strip_prefix("ws://")) {
            (r, false, 80)
        } else {
            return Err(format!("`{url}`: expected a URL like https://host[:port] or http://host:port"));
        };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    let has_port = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').is_some_and(|(_, rest)| rest.starts_with(':')),
        None => authority.contains(':'),
    };
    Ok((if has_port { authority.to_string() } else { format!("{authority}:{port}") }, tls))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(parse_server("https://ops.example").unwrap(), ("ops.example:443".into(), true));
        assert_eq!(parse_server("wss://ops.example:8443/x").unwrap(), ("ops.example:8443".into(), true));
        assert_eq!(parse_server("http://127.0.0.1:7878").unwrap(), ("127.0.0.1:7878".into(), false));
        assert_eq!(parse_server("http://[::1]").unwrap(), ("[::1]:80".into(), false));
        assert!(parse_server("ftp://x").unwrap_err().contains("https://host"));
        assert!(parse_server("https://").unwrap_err().contains("no host"));
        assert_eq!(host_of("[::1]:443"), "::1");
        assert_eq!(host_of("localhost:8443"), "localhost");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = Tls::new(Some(&path)).unwrap_err();
        assert!(e.contains("empty.pem") && e.contains("no certificate"), "{e}");
        let e = Tls::new(Some(&dir.path().join("missing.pem"))).unwrap_err();
        assert!(e.contains("missing.pem"), "{e}");
    }
}
