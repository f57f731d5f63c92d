//! Mobile push to the user's registered devices: the Expo push API
//! (`POST {expo_url}/--/api/v2/push/send`, one request for all Expo tokens; a ticket saying
//! `DeviceNotRegistered` removes that token) and ntfy topics (`POST {ntfy_url}` with a JSON
//! body per topic: title, message, priority from urgency, click URL). Both base URLs come
//! from the `[push]` config, so a self-hosted ntfy or an Expo-compatible gateway works.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Deliver, Failure, Report, classify, plain, transport_error};
use crate::config::PushConfig;
use crate::model::Urgency;
use crate::store::{DeliveryJob, DeliveryKind};

pub struct Push {
    pub http: reqwest::Client,
    pub config: PushConfig,
}

/// Title, body, link and urgency of what a push says.
fn content(job: &DeliveryJob) -> (String, String, Option<String>, Urgency) {
    match (job.kind, job.notifications.as_slice()) {
        (DeliveryKind::Single, [n, ..]) => {
            (n.title.clone(), plain(n.body.as_deref().unwrap_or_default()), n.url.clone(), n.urgency)
        }
        (_, items) => {
            let top = items.iter().map(|n| n.urgency).max().unwrap_or(Urgency::Normal);
            let body = items.iter().map(|n| n.title.as_str()).collect::<Vec<_>>().join("\n");
            (format!("{} notifications while you were away", items.len()), body, None, top)
        }
    }
}

/// ntfy's priorities: 1 (min) .. 5 (max).
fn ntfy_priority(u: Urgency) -> u8 {
    match u {
        Urgency::Low => 2,
        Urgency::Normal => 3,
        Urgency::High => 4,
        Urgency::Urgent => 5,
    }
}

/// The Expo request body: one message per token.
pub fn expo_messages(job: &DeliveryJob, tokens: &[&str]) -> Value {
    let (title, body, url, urgency) = content(job);
    let ids: Vec<&str> = job.notifications.iter().map(|n| n.id.as_str()).collect();
    Value::Array(
        tokens
            .iter()
            .map(|t| {
                let mut m = json!({"to": t, "title": title, "body": body, "priority": if urgency >= Urgency::High { "high" } else { "default" },
                    "data": {"delivery": job.id, "notifications": ids, "url": url}});
                if urgency == Urgency::Urgent {
                    m["sound"] = json!("default");
                }
                m
            })
            .collect(),
    )
}

/// The ntfy JSON publish body for `topic`.
pub fn ntfy_message(job: &DeliveryJob, topic: &str) -> Value {
    let (title, body, url, urgency) = content(job);
    let mut m = json!({"topic": topic, "title": title, "message": body, "priority": ntfy_priority(urgency)});
    if let Some(u) = url {
        m["click"] = json!(u);
    }
    if urgency == Urgency::Urgent {
        m["tags"] = json!(["rotating_light"]);
    }
    m
}

impl Push {
    async fn expo(
        &self,
        job: &DeliveryJob,
        tokens: &[&str],
        now: Timestamp,
        report: &mut Report,
        failures: &mut Vec<Failure>,
    ) -> usize {
        let url = format!("{}/--/api/v2/push/send", self.config.expo_url.trim_end_matches('/'));
        let body = expo_messages(job, tokens).to_string().into_bytes();
        let mut req = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json");
        if !self.config.expo_access_token.is_empty() {
            req = req.bearer_auth(&self.config.expo_access_token);
        }
        report.content_hash = Some(crate::store::sha256_hex(&body));
        let resp = match req.body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                failures.push(transport_error(&e));
                return 0;
            }
        };
        if let Err(f) = classify(resp.status(), resp.headers(), now) {
            failures.push(f);
            return 0;
        }
        let answer: Value = resp.json().await.unwrap_or_default();
        let tickets = answer["data"].as_array().cloned().unwrap_or_default();
        let mut ok = 0;
        for (token, ticket) in tokens.iter().zip(tickets.iter().chain(std::iter::repeat(&Value::Null))) {
            match ticket["status"].as_str() {
                Some("ok") => ok += 1,
                Some("error") => {
                    let code = ticket["details"]["error"].as_str().unwrap_or("error");
                    let message = ticket["message"].as_str().unwrap_or(code);
                    if code == "DeviceNotRegistered" {
                        report.remove_devices.push(("expo".into(), token.to_string()));
                        failures.push(Failure::Final {
                            error: format!("expo: {token}: device not registered (removed)"),
                        });
                    } else if code == "MessageRateExceeded" {
                        failures.push(Failure::Retry { error: format!("expo: {message}"), after: None });
                    } else {
                        failures.push(Failure::Final { error: format!("expo: {code}: {message}") });
                    }
                }
                _ => failures
                    .push(Failure::Retry { error: "expo: no ticket for the message".into(), after: None }),
            }
        }
        ok
    }

    async fn ntfy(
        &self,
        job: &DeliveryJob,
        topic: &str,
        now: Timestamp,
        report: &mut Report,
        failures: &mut Vec<Failure>,
    ) -> usize {
        // A topic registered before the operator set a prefix gets nothing with the token.
        if let Err(e) = self.config.check_ntfy_topic(&job.user, topic) {
            failures.push(Failure::Final { error: format!("ntfy {topic}: {}", e.message) });
            return 0;
        }
        let body = ntfy_message(job, topic).to_string().into_bytes();
        let mut req = self
            .http
            .post(self.config.ntfy_url.trim_end_matches('/'))
            .header("content-type", "application/json");
        if !self.config.ntfy_token.is_empty() {
            req = req.bearer_auth(&self.config.ntfy_token);
        }
        report.content_hash = Some(crate::store::sha256_hex(&body));
        match req.body(body).send().await {
            Ok(resp) => match classify(resp.status(), resp.headers(), now) {
                Ok(()) => 1,
                Err(f) => {
                    failures.push(match f {
                        Failure::Retry { error, after } => {
                            Failure::Retry { error: format!("ntfy {topic}: {error}"), after }
                        }
                        Failure::Final { error } => {
                            Failure::Final { error: format!("ntfy {topic}: {error}") }
                        }
                    });
                    0
                }
            },
            Err(e) => {
                failures.push(transport_error(&e));
                0
            }
        }
    }
}

impl Deliver for Push {
    fn target(&self, job: &DeliveryJob) -> Result<String, String> {
        if job.devices.is_empty() {
            return Err("no push devices registered (POST /api/v1/device-tokens)".into());
        }
        let mut providers: Vec<&str> = job.devices.iter().map(|d| d.provider.as_str()).collect();
        providers.dedup();
        Ok(providers
            .iter()
            .map(|p| if *p == "expo" { self.config.expo_url.as_str() } else { self.config.ntfy_url.as_str() })
            .collect::<Vec<_>>()
            .join(" "))
    }

    async fn deliver(&self, job: &DeliveryJob, now: Timestamp) -> Report {
        let target = match self.target(job) {
            Ok(t) => t,
            Err(error) => return Report::new("push", Err(Failure::Final { error })),
        };
        let mut report = Report::new(target, Ok(()));
        let mut failures = Vec::new();
        let expo: Vec<&str> =
            job.devices.iter().filter(|d| d.provider == "expo").map(|d| d.token.as_str()).collect();
        let mut delivered = 0;
        if !expo.is_empty() {
            delivered += self.expo(job, &expo, now, &mut report, &mut failures).await;
        }
        for d in job.devices.iter().filter(|d| d.provider == "ntfy") {
            delivered += self.ntfy(job, &d.token, now, &mut report, &mut failures).await;
        }
        // Delivered when any device got it; otherwise retry if any failure can heal.
        report.outcome = if delivered > 0 || failures.is_empty() {
            Ok(())
        } else {
            let error = failures.iter().map(Failure::error).collect::<Vec<_>>().join("; ");
            match failures.iter().find_map(|f| match f {
                Failure::Retry { after, .. } => Some(*after),
                Failure::Final { .. } => None,
            }) {
                Some(after) => Err(Failure::Retry { error, after }),
                None => Err(Failure::Final { error }),
            }
        };
        report
    }
}
