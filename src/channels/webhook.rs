//! Webhooks, signed by the Standard Webhooks specification so a receiver verifies them with
//! an off-the-shelf library: `webhook-id` is the delivery id (the same on every retry: the
//! receiver's idempotency key), `webhook-timestamp` the attempt's unix seconds, and
//! `webhook-signature` is `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
//! keyed with the base64-decoded part of the user's `whsec_...` secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use serde_json::json;

use super::{Deliver, Failure, Report, post_json};
use crate::store::{DeliveryJob, DeliveryKind};

pub struct Webhook {
    pub http: super::Http,
}

/// The body: `{event_type, timestamp, user_id, data}`; `data` is the notification (or, for
/// a summary, `{items: [...]}`).
pub fn payload(job: &DeliveryJob) -> serde_json::Value {
    let first = job.notifications.first();
    let (event_type, data) = match (job.kind, first) {
        (DeliveryKind::Single, Some(n)) => (n.kind.clone(), notification_json(n)),
        _ => (
            "notifications.summary".to_string(),
            json!({"items": job.notifications.iter().map(notification_json).collect::<Vec<_>>()}),
        ),
    };
    json!({
        "event_type": event_type,
        "timestamp": first.map_or(job.created_at, |n| n.created_at),
        "user_id": job.user,
        "data": data,
    })
}

fn notification_json(n: &crate::model::Notification) -> serde_json::Value {
    json!({
        "id": n.id, "type": n.kind, "category": n.category, "urgency": n.urgency, "title": n.title,
        "body": n.body, "url": n.url, "thread": n.thread, "count": n.count, "data": n.data,
        "created_at": n.created_at,
    })
}

/// `v1,<base64 signature>` of `body` for delivery `id` at `timestamp` (unix seconds).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = secret
        .strip_prefix("whsec_")
        .ok_or_else(|| "the webhook secret must start with `whsec_`".to_string())
        .and_then(|k| {
            B64.decode(k).map_err(|e| format!("the webhook secret is not base64 after `whsec_`: {e}"))
        })?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// A fresh secret in the `whsec_` form (32 random bytes, base64).
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)?;
    Ok(format!("whsec_{}", B64.encode(key)))
}

impl Deliver for Webhook {
    fn target(&self, job: &DeliveryJob) -> Result<String, String> {
        let url = &job.prefs.channels.webhook.url;
        if url.is_empty() {
            return Err("no webhook URL set (channels.webhook.url)".into());
        }
        Ok(url.clone())
    }

    async fn deliver(&self, job: &DeliveryJob, now: Timestamp) -> Report {
        let url = match self.target(job) {
            Ok(u) => u,
            Err(error) => return Report::new("webhook", Err(Failure::Final { error })),
        };
        let secret = &job.prefs.channels.webhook.secret;
        if secret.is_empty() {
            let error = "no webhook secret set (channels.webhook.secret, `whsec_...`): unsigned webhooks are not sent";
            return Report::new(url, Err(Failure::Final { error: error.into() }));
        }
        let body = payload(job).to_string().into_bytes();
        let ts = now.as_second();
        let signature = match sign(secret, &job.id, ts, &body) {
            Ok(s) => s,
            Err(error) => return Report::new(url, Err(Failure::Final { error })),
        };
        let headers = [
            ("webhook-id", job.id.clone()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", signature),
        ];
        post_json(&self.http, &url, body, &headers, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_specification_example() {
        // The test vector of the Standard Webhooks reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(secret, id, 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_secret_without_the_prefix_or_base64_is_refused() {
        assert!(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, b"{}").unwrap_err().contains("whsec_"));
        assert!(sign("whsec_!!!", "m", 1, b"{}").unwrap_err().contains("base64"));
        let fresh = new_secret().unwrap();
        assert!(fresh.starts_with("whsec_"));
        assert!(sign(&fresh, "m", 1, b"{}").is_ok());
        assert!(crate::model::prefs::check_secret("s", &fresh).is_ok());
        assert_ne!(fresh, new_secret().unwrap());
    }
}
