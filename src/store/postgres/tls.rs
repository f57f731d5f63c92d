//! TLS to the database, with libpq's settings read from the store URL so the URL that works
//! with `psql` works here and means the same: `sslmode` (`disable`, `prefer` — the
//! default —, `require`, `verify-ca`, `verify-full`), `sslrootcert` (a PEM file, or
//! `system` for the machine's roots), and `sslcert` + `sslkey` for a client certificate.
//!
//! As in libpq, `prefer` and `require` encrypt without checking who answers (unless
//! `sslrootcert` is given, which makes `require` check the chain as `verify-ca` does);
//! `verify-ca` checks the chain and `verify-full` the host name too. Where libpq looks for
//! `~/.postgresql/root.crt`, an unset `sslrootcert` means the system's roots here. The
//! driver only knows `disable`/`prefer`/`require`: the verifying modes are taken off the URL
//! before it reads it and checked by the certificate verifier below (rustls with ring, as
//! the clients' TLS). Unix sockets never use TLS (the server refuses it).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::Socket;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much to trust the server, libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(v: &str) -> Result<Mode, String> {
        Ok(match v {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            "allow" => {
                return Err("sslmode=allow is not supported (it tries without TLS first): use prefer".into());
            }
            other => {
                return Err(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    /// What the driver is told: whether to ask for TLS and whether to insist.
    pub(crate) fn driver(self) -> postgres::config::SslMode {
        match self {
            Mode::Disable => postgres::config::SslMode::Disable,
            Mode::Prefer => postgres::config::SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => postgres::config::SslMode::Require,
        }
    }
}

/// The TLS settings of a store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) mode: Mode,
    /// `None`: the system's roots.
    root_cert: Option<PathBuf>,
    client: Option<(PathBuf, PathBuf)>,
}

/// The URL without the TLS parameters the driver cannot read, and those settings.
pub(crate) fn split(url: &str) -> Result<(String, Settings), String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut mode = Mode::Prefer;
    let (mut root_cert, mut cert, mut key) = (None, None, None);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| format!("{k}: not UTF-8 once decoded"))
        };
        match k {
            "sslmode" => mode = Mode::parse(&value()?)?,
            "sslrootcert" => root_cert = Some(value()?),
            "sslcert" => cert = Some(PathBuf::from(value()?)),
            "sslkey" => key = Some(PathBuf::from(value()?)),
            _ => kept.push(pair),
        }
    }
    let client = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("sslcert and sslkey go together: give both or neither".into()),
    };
    let root_cert = root_cert.filter(|r| r != "system").map(PathBuf::from);
    if root_cert.is_some() && mode == Mode::Disable {
        return Err("sslrootcert is set but sslmode=disable turns TLS off".into());
    }
    let driver_url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    Ok((driver_url, Settings { mode, root_cert, client }))
}

impl Settings {
    /// The connector for these settings: certificates are read here, so a missing file is
    /// an error naming it.
    pub(crate) fn connector(&self) -> Result<MakeRustls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let checks_chain = matches!(self.mode, Mode::VerifyCa | Mode::VerifyFull) || self.root_cert.is_some();
        let verifier: Arc<dyn ServerCertVerifier> = if !checks_chain || self.mode == Mode::Disable {
            Arc::new(Unverified(Arc::clone(&provider)))
        } else {
            let roots = self.roots()?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(|e| format!("TLS to the database: {e}"))?;
            Arc::new(Verified { webpki, check_name: self.mode == Mode::VerifyFull })
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS to the database: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &self.client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = pem_certs(cert, "sslcert")?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("sslkey {}: {e}", key.display()))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| format!("sslcert/sslkey: {e}"))?
            }
        };
        Ok(MakeRustls { config: Arc::new(config) })
    }

    fn roots(&self) -> Result<rustls::RootCertStore, String> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                for c in pem_certs(path, "sslrootcert")? {
                    roots.add(c).map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                }
            }
            None => {
                let (added, _) =
                    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                if added == 0 {
                    return Err(format!(
                        "sslmode={} needs trusted roots and this system has none: set sslrootcert=FILE in the store URL",
                        if self.mode == Mode::VerifyFull { "verify-full" } else { "verify-ca" }
                    ));
                }
            }
        }
        Ok(roots)
    }
}

fn pem_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{what} {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what} {}: not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{what} {}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

/// `prefer` and `require` without `sslrootcert`: encrypted, the server unchecked (libpq's
/// meaning of those modes). The handshake's signatures are still checked.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca` (the chain) and `verify-full` (the chain and the name).
#[derive(Debug)]
struct Verified {
    webpki: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for Verified {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is checked last, once the chain is known good: a name error means the
        // chain passed.
        match self.webpki.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The driver's connector factory: one per store URL, cloned for each connection.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> io::Result<RustlsConnect> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("`{host}`: {e}")))?;
        Ok(RustlsConnect { config: Arc::clone(&self.config), name })
    }
}

pub(crate) struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await
                .map_err(|e| io::Error::new(e.kind(), reason(&e)))?;
            Ok(RustlsStream(Box::new(stream)))
        })
    }
}

/// A handshake failure in words an operator can act on.
fn reason(e: &io::Error) -> String {
    use CertificateError as C;
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return format!("the TLS handshake failed: {e}");
    };
    match tls {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the database's certificate is not signed by a trusted authority (name its CA with sslrootcert=FILE in the store URL)".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the database's certificate is not valid for the host name in the store URL (sslmode=verify-full checks it; verify-ca does not)".into()
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the database's certificate has expired".into()
        }
        rustls::Error::InvalidCertificate(other) => format!("the database's certificate is refused: {other:?}"),
        other => format!("the TLS handshake failed: {other}"),
    }
}

/// An encrypted connection to the database.
pub(crate) struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl TlsStream for RustlsStream {
    /// None offered: SCRAM then authenticates without binding to the TLS channel (as libpq
    /// with `channel_binding=prefer` against a server that offers no `-PLUS` mechanism).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifying_modes_and_files_are_taken_off_the_url() {
        let (url, s) =
            split("postgres://u@db/c?connect_timeout=3&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem")
                .unwrap();
        assert_eq!(url, "postgres://u@db/c?connect_timeout=3");
        assert_eq!(s.mode, Mode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(s.mode.driver(), postgres::config::SslMode::Require);

        let (url, s) = split("postgres://u@db/c").unwrap();
        assert_eq!((url.as_str(), s.mode), ("postgres://u@db/c", Mode::Prefer));
        let (_, s) = split("postgres://u@db/c?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!((s.mode, s.root_cert), (Mode::Require, None));
    }

    #[test]
    fn bad_tls_settings_are_refused_by_name() {
        let err = |u: &str| split(u).unwrap_err();
        assert!(err("postgres://u@db/c?sslmode=strict").contains("sslmode=strict is not one of"));
        assert!(err("postgres://u@db/c?sslmode=allow").contains("use prefer"));
        assert!(err("postgres://u@db/c?sslcert=/a.pem").contains("sslcert and sslkey go together"));
        assert!(err("postgres://u@db/c?sslmode=disable&sslrootcert=/ca.pem").contains("sslmode=disable"));
        let missing = split("postgres://u@db/c?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
            .unwrap()
            .1
            .connector()
            .err()
            .unwrap();
        assert!(missing.starts_with("sslrootcert /nonexistent/ca.pem:"), "{missing}");
    }
}
