//! Delivery channels (DESIGN §8), one module each: desktop popups (raised by the engine for
//! its local user, see `desktop`), and the outbox channels the delivery workers drive:
//! webhook, Slack, e-mail and push. Each outbox channel implements [`Deliver`]: given a
//! claimed delivery it sends once and reports what happened; retries, backoff, the circuit
//! breaker and the record belong to the worker (`crate::delivery`).

pub mod desktop;
pub mod email;
pub mod guard;
pub mod push;
pub mod slack;
pub mod webhook;

use std::future::Future;
use std::time::Duration;

use jiff::Timestamp;

pub use guard::is_public;
use guard::{PrivateTarget, PublicOnly};

use crate::store::DeliveryJob;

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Worth another attempt: after `after` when the receiver said so (`Retry-After`), else
    /// after the worker's backoff.
    Retry { error: String, after: Option<Duration> },
    /// Trying again cannot help (a 4xx other than 408/429, no address, a rejected token).
    Final { error: String },
}

impl Failure {
    pub fn error(&self) -> &str {
        match self {
            Failure::Retry { error, .. } | Failure::Final { error } => error,
        }
    }
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub outcome: Result<(), Failure>,
    /// Where it went, for the audit trail and the circuit breaker.
    pub target: String,
    /// SHA-256 (hex) of the body sent.
    pub content_hash: Option<String>,
    /// Push devices the provider said are gone: `(provider, token)`, removed by the worker.
    pub remove_devices: Vec<(String, String)>,
}

impl Report {
    pub fn new(target: impl Into<String>, outcome: Result<(), Failure>) -> Report {
        Report { outcome, target: target.into(), content_hash: None, remove_devices: Vec::new() }
    }

    pub fn sent(mut self, body: &[u8]) -> Report {
        self.content_hash = Some(crate::store::sha256_hex(body));
        self
    }
}

/// One outbox channel.
pub trait Deliver: Send + Sync {
    /// The endpoint a delivery goes to, the key of its circuit breaker; `Err` when the
    /// user has not configured one (a final failure).
    fn target(&self, job: &DeliveryJob) -> Result<String, String>;

    /// Sends `job` once.
    fn deliver(&self, job: &DeliveryJob, now: Timestamp) -> impl Future<Output = Report> + Send;
}

/// Classifies an HTTP answer: 2xx delivered; 408, 429 and 5xx worth a retry (honouring
/// `Retry-After` in seconds or as an HTTP date); any other status final.
pub fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    now: Timestamp,
) -> Result<(), Failure> {
    if status.is_success() {
        return Ok(());
    }
    let error = format!("HTTP {}", status.as_u16());
    let code = status.as_u16();
    if code == 408 || code == 429 || status.is_server_error() {
        let after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now));
        return Err(Failure::Retry { error, after });
    }
    Err(Failure::Final { error })
}

/// Parses `Retry-After`: delay seconds or an HTTP date (RFC 9110).
pub fn retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(now.duration_until(at).unsigned_abs()).filter(|_| at > now).or(Some(Duration::ZERO))
}

/// A request that did not get an answer: worth a retry.
pub fn transport_error(e: &reqwest::Error) -> Failure {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(p) = err.downcast_ref::<PrivateTarget>() {
            return Failure::Final { error: p.0.clone() };
        }
        cur = err.source();
    }
    let error = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        format!("cannot connect: {}", root_cause(e))
    } else {
        root_cause(e)
    };
    Failure::Retry { error, after: None }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The one HTTP client of the outbound channels: rustls, a per-request timeout, no redirects
/// (a receiver that moves must be reconfigured, not followed blindly). With
/// `allow_private` false, names that resolve only to private, loopback or link-local
/// addresses are refused (see [`check_target`] for addresses written in the URL).
pub fn http_client(timeout: Duration, allow_private: bool) -> reqwest::Client {
    install_crypto();
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("campanile/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        b = b.dns_resolver(std::sync::Arc::new(PublicOnly));
    }
    b.build().unwrap_or_else(|_| reqwest::Client::new())
}

/// With `allow_private` false, refuses a URL whose host is a non-public address literal
/// (names are checked when they resolve).
pub fn check_target(url: &str, allow_private: bool) -> Result<(), Failure> {
    if allow_private {
        return Ok(());
    }
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()));
    match host.and_then(|h| h.parse::<std::net::IpAddr>().ok()) {
        Some(ip) if !is_public(ip) => Err(Failure::Final {
            error: format!(
                "{ip} is a private address, which this dispatcher does not deliver to (delivery.allow_private_targets)"
            ),
        }),
        _ => Ok(()),
    }
}

/// rustls needs one process-wide crypto provider: ring.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client user-configured URLs (webhook, Slack) are posted with, and whether they may
/// point into private networks.
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub allow_private: bool,
}

/// Posts a JSON body and classifies the answer.
pub async fn post_json(
    http: &Http,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
    now: Timestamp,
) -> Report {
    if let Err(f) = check_target(url, http.allow_private) {
        return Report::new(url, Err(f));
    }
    let mut req = http.client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let outcome = match req.body(body.clone()).send().await {
        Ok(resp) => classify(resp.status(), resp.headers(), now),
        Err(e) => Err(transport_error(&e)),
    };
    Report::new(url, outcome).sent(&body)
}

/// Light markdown to plain text (what non-HTML channels show).
pub fn plain(text: &str) -> String {
    text.replace("**", "").replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Mon, 23 Nov 2026 10:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Mon, 23 Nov 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn private_targets_are_refused_only_when_configured() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(check_target("http://127.0.0.1:9000/hook", true).is_ok());
        let e = check_target("http://169.254.169.254/latest", false).unwrap_err();
        assert!(e.error().contains("private address"), "{e:?}");
        assert!(matches!(check_target("http://[::1]:80/", false), Err(Failure::Final { .. })));
        // IPv4 carried in IPv6, and IPv4 spelled as one number, are judged by what they mean.
        for url in [
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/latest",
            "http://[64:ff9b::a9fe:a9fe]/latest",
            "http://[2002:7f00:1::1]/",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(matches!(check_target(url, false), Err(Failure::Final { .. })), "{url}");
        }
        assert!(check_target("https://hooks.slack.com/services/x", false).is_ok());
    }

    #[test]
    fn statuses_are_classified_per_design() {
        let now = Timestamp::UNIX_EPOCH;
        let h = reqwest::header::HeaderMap::new();
        let c = |s: u16| classify(reqwest::StatusCode::from_u16(s).unwrap(), &h, now);
        assert_eq!(c(204), Ok(()));
        for s in [408, 429, 500, 502, 503] {
            assert!(matches!(c(s), Err(Failure::Retry { .. })), "{s}");
        }
        for s in [400, 401, 404, 410, 413] {
            assert!(matches!(c(s), Err(Failure::Final { .. })), "{s}");
        }
    }
}
