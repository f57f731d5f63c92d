//! Alertmanager (webhook payload version 4) and Grafana (unified alerting's webhook contact
//! point, which sends the same shape with a few extra fields): one event per alert. An
//! alert's fingerprint is its thread and collapse key, so its `resolved` update folds into
//! the unread `firing` item instead of adding one. The `severity` label gives the urgency
//! (configurable); a resolved alert is `low`, since it needs no action.

use serde_json::Value;

use super::{HookError, Mapped, Outcome, Settings, clip, content_tag, event, key_of, object, text};
use crate::model::{Recipients, Urgency};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sender {
    Alertmanager,
    Grafana,
}

impl Sender {
    fn name(self) -> &'static str {
        match self {
            Sender::Alertmanager => "alertmanager",
            Sender::Grafana => "grafana",
        }
    }
}

pub(super) fn map(sender: Sender, body: &[u8], settings: &Settings) -> Result<Outcome, HookError> {
    let what = sender.name();
    let p = object(body, what)?;
    let alerts = p
        .get("alerts")
        .and_then(Value::as_array)
        .ok_or_else(|| HookError::Malformed(format!("{what}: missing `alerts` (an array)")))?;
    if alerts.is_empty() {
        return Ok(Outcome::Ignored(format!("{what}: the notification carries no alerts")));
    }
    let mut out = Vec::with_capacity(alerts.len());
    for (i, a) in alerts.iter().enumerate() {
        out.push(alert(sender, &p, a, i, settings)?);
    }
    Ok(Outcome::Events(out))
}

fn alert(sender: Sender, p: &Value, a: &Value, i: usize, settings: &Settings) -> Result<Mapped, HookError> {
    let what = sender.name();
    let field = |f: &str| format!("{what}: alerts[{i}]: missing `{f}`");
    let status = text(a, "/status").ok_or_else(|| HookError::Malformed(field("status")))?;
    let firing = match status {
        "firing" => true,
        "resolved" => false,
        other => {
            return Err(HookError::Malformed(format!(
                "{what}: alerts[{i}].status is `{other}`, expected firing or resolved"
            )));
        }
    };
    let labels =
        a.get("labels").and_then(Value::as_object).ok_or_else(|| HookError::Malformed(field("labels")))?;
    let label = |k: &str| labels.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let annotation = |k: &str| text(a, &format!("/annotations/{k}"));
    let name = label("alertname").unwrap_or("alert");
    // Version 4 always sends a fingerprint; without one, the sorted labels identify the alert.
    let fingerprint = match text(a, "/fingerprint") {
        Some(f) => f.to_string(),
        None => {
            let mut pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.sort();
            super::hex(&<sha2::Sha256 as sha2::Digest>::digest(pairs.join(",").as_bytes()))[..16].to_string()
        }
    };
    let mut reasons = vec![format!("{what} alert `{name}` is {status}")];
    let severity = label("severity");
    let urgency = if firing {
        let u = severity.and_then(|s| settings.severity_urgency.get(s).copied()).unwrap_or(Urgency::Normal);
        reasons.push(match severity {
            Some(s) => format!("severity `{s}` → {u}"),
            None => format!("no severity label → {u}"),
        });
        u
    } else {
        reasons.push("resolved: low, and it updates the unread firing item".into());
        Urgency::Low
    };
    let summary = annotation("summary").or_else(|| annotation("title"));
    let title = match summary {
        Some(s) => format!("{} {name}: {s}", if firing { "[FIRING]" } else { "[RESOLVED]" }),
        None => format!("{} {name}", if firing { "[FIRING]" } else { "[RESOLVED]" }),
    };
    let mut body = Vec::new();
    if let Some(d) = annotation("description").or_else(|| annotation("message")) {
        body.push(d.to_string());
    }
    if let Some(v) = text(a, "/valueString") {
        body.push(format!("values: {v}"));
    }
    let shown: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "__alert_rule_uid__"))
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect();
    if !shown.is_empty() {
        body.push(shown.join(" "));
    }
    let url = text(a, "/generatorURL")
        .or_else(|| text(a, "/panelURL"))
        .or_else(|| text(a, "/dashboardURL"))
        .or_else(|| text(p, "/externalURL"));
    let thread = format!("{what}:{fingerprint}");
    reasons.push(format!("thread and collapse key `{thread}` (the alert's fingerprint)"));
    let mut e = event(
        if firing { "alert.firing" } else { "alert.resolved" },
        "alerts",
        urgency,
        &title,
        Some(body.join("\n")),
        url,
        Some(thread.clone()),
        Some(what),
    );
    e.collapse_key = Some(clip(&thread, super::KEY));
    let at = if firing { text(a, "/startsAt") } else { text(a, "/endsAt") };
    e.occurred_at = at.and_then(|t| t.parse().ok());
    if !settings.recipient_label.is_empty()
        && let Some(users) = label(&settings.recipient_label)
    {
        let users: Vec<String> =
            users.split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from).collect();
        reasons.push(format!(
            "label `{}` names the recipients: {}",
            settings.recipient_label,
            users.join(", ")
        ));
        e.to = Some(Recipients::Users(users));
    }
    e.data = serde_json::json!({"source": what, "status": status, "fingerprint": fingerprint,
        "labels": a.get("labels"), "annotations": a.get("annotations"), "receiver": p.get("receiver")});
    // No delivery id: the alert, its state and its content make the key, so a retried
    // notification is a replay and a changed one (new annotations) a new update.
    let key = key_of(&[what, &fingerprint, status, text(a, "/startsAt").unwrap_or(""), &content_tag(&e)]);
    Ok(Mapped { key: Some(key), event: e, reasons })
}
