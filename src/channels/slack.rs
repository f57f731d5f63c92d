//! Slack incoming webhooks: Block Kit (header, section, context, a button to the link) with a
//! plain `text` fallback for notifications and clients that do not show blocks.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Deliver, Failure, Report, plain, post_json};
use crate::model::{Notification, Urgency};
use crate::store::{DeliveryJob, DeliveryKind};

pub struct Slack {
    pub http: super::Http,
}

/// Slack's limits: header text 150 characters, section text 3,000.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn mark(u: Urgency) -> &'static str {
    match u {
        Urgency::Urgent => ":rotating_light: urgent",
        Urgency::High => ":warning: high",
        Urgency::Normal => "normal",
        Urgency::Low => "low",
    }
}

fn one(n: &Notification) -> Vec<Value> {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": clip(&n.title, 150), "emoji": true}}),
    ];
    if let Some(body) = n.body.as_deref().filter(|b| !b.is_empty()) {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&body.replace("**", "*"), 3000)}}));
    }
    let mut context = format!("{} · {} · {}", n.category, n.kind, mark(n.urgency));
    if n.count > 1 {
        context.push_str(&format!(" · ×{}", n.count));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    if let Some(url) = n.url.as_deref().filter(|u| u.starts_with("http")) {
        blocks.push(json!({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": url, "action_id": "open"}]}));
    }
    blocks
}

/// The message for a delivery: blocks and the fallback text.
pub fn message(job: &DeliveryJob) -> Value {
    match (job.kind, job.notifications.as_slice()) {
        (DeliveryKind::Single, [n, ..]) => {
            let mut text = plain(&n.title);
            if let Some(body) = n.body.as_deref().filter(|b| !b.is_empty()) {
                text.push_str(": ");
                text.push_str(&plain(body));
            }
            json!({"text": clip(&text, 3000), "blocks": one(n)})
        }
        (_, items) => {
            let title = format!("{} notifications while you were away", items.len());
            let lines: Vec<String> = items
                .iter()
                .map(|n| match n.url.as_deref().filter(|u| u.starts_with("http")) {
                    Some(u) => format!("• <{u}|{}>", n.title.replace(['<', '>', '|'], " ")),
                    None => format!("• {}", n.title),
                })
                .collect();
            let text =
                format!("{title}: {}", items.iter().map(|n| n.title.as_str()).collect::<Vec<_>>().join("; "));
            json!({"text": clip(&text, 3000), "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title}},
                {"type": "section", "text": {"type": "mrkdwn", "text": clip(&lines.join("\n"), 3000)}},
            ]})
        }
    }
}

impl Deliver for Slack {
    fn target(&self, job: &DeliveryJob) -> Result<String, String> {
        let url = &job.prefs.channels.slack.url;
        if url.is_empty() {
            return Err("no Slack webhook URL set (channels.slack.url)".into());
        }
        Ok(url.clone())
    }

    async fn deliver(&self, job: &DeliveryJob, now: Timestamp) -> Report {
        match self.target(job) {
            Ok(url) => post_json(&self.http, &url, message(job).to_string().into_bytes(), &[], now).await,
            Err(error) => Report::new("slack", Err(Failure::Final { error })),
        }
    }
}
