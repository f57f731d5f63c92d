//! CloudEvents 1.0 over HTTP, in structured mode (`application/cloudevents+json`: the event
//! is the body) and binary mode (attributes in `ce-*` headers, the body is `data`), and
//! batches (`application/cloudevents-batch+json`). `type` becomes the event type (lower
//! case, other characters turned into `-`), `subject` the thread, `time` when it occurred,
//! `data` the data; `source` + `id` is the idempotency key, as the spec makes them unique.
//! `data.title`, `data.body` (or `message`), `data.url` and `data.urgency` are used when
//! present.

use serde_json::{Map, Value};

use super::{Headers, HookError, Mapped, Outcome, event, key_of};
use crate::model::Urgency;

pub(super) fn map(headers: &Headers, body: &[u8]) -> Result<Outcome, HookError> {
    let content_type = headers.get("content-type").unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("application/cloudevents-batch+json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| HookError::Malformed(format!("the CloudEvents batch is not JSON: {e}")))?;
        let items = v
            .as_array()
            .ok_or_else(|| HookError::Malformed("a CloudEvents batch is a JSON array of events".into()))?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let attrs = item
                .as_object()
                .ok_or_else(|| HookError::Malformed(format!("batch[{i}] is not a JSON object")))?;
            out.push(one(attrs, attrs.get("data").cloned(), &format!("batch[{i}]."))?);
        }
        return Ok(if out.is_empty() {
            Outcome::Ignored("an empty CloudEvents batch".into())
        } else {
            Outcome::Events(out)
        });
    }
    if content_type.starts_with("application/cloudevents+json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| HookError::Malformed(format!("the CloudEvent is not JSON: {e}")))?;
        let attrs =
            v.as_object().ok_or_else(|| HookError::Malformed("a CloudEvent is a JSON object".into()))?;
        return Ok(Outcome::Events(vec![one(attrs, attrs.get("data").cloned(), "")?]));
    }
    // Binary mode: attributes in headers; the body is the data.
    if headers.get("ce-specversion").is_none() {
        return Err(HookError::Malformed(
            "not a CloudEvent: expected Content-Type application/cloudevents+json (structured mode) or ce-specversion, ce-type, ce-source and ce-id headers (binary mode)".into(),
        ));
    }
    let mut attrs = Map::new();
    for name in ["specversion", "type", "source", "id", "subject", "time"] {
        if let Some(v) = headers.get(&format!("ce-{name}")) {
            attrs.insert(name.to_string(), Value::String(v.to_string()));
        }
    }
    let data = if body.is_empty() {
        None
    } else if content_type.contains("json") || content_type.is_empty() {
        Some(
            serde_json::from_slice(body)
                .map_err(|e| HookError::Malformed(format!("the event's data is not JSON: {e}")))?,
        )
    } else {
        Some(Value::String(String::from_utf8_lossy(body).into_owned()))
    };
    Ok(Outcome::Events(vec![one(&attrs, data, "ce-")?]))
}

fn one(attrs: &Map<String, Value>, data: Option<Value>, prefix: &str) -> Result<Mapped, HookError> {
    let get = |k: &str| attrs.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let need = |k: &str| {
        get(k).ok_or_else(|| HookError::Malformed(format!("missing CloudEvents attribute `{prefix}{k}`")))
    };
    let version = need("specversion")?;
    if !version.starts_with("1.") {
        return Err(HookError::Malformed(format!("specversion `{version}`: only CloudEvents 1.x is read")));
    }
    let ce_type = need("type")?;
    let source = need("source")?;
    let id = need("id")?;
    let kind = our_type(ce_type);
    let mut reasons = vec![format!("CloudEvents type `{ce_type}` → event type `{kind}`")];
    let data = data.unwrap_or(Value::Null);
    let d = |k: &str| data.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let subject = get("subject");
    let title = match d("title") {
        Some(t) => t.to_string(),
        None => {
            reasons.push("no `data.title`: the title names the type and source".into());
            match subject {
                Some(s) => format!("{ce_type}: {s} ({source})"),
                None => format!("{ce_type} from {source}"),
            }
        }
    };
    let urgency = match d("urgency").map(str::parse::<Urgency>) {
        Some(Ok(u)) => {
            reasons.push(format!("`data.urgency` says {u}"));
            u
        }
        Some(Err(e)) => return Err(HookError::Malformed(format!("data.urgency: {e}"))),
        None => Urgency::Normal,
    };
    let thread = subject.map(|s| format!("{source}/{s}"));
    if let Some(t) = &thread {
        reasons.push(format!("thread `{t}` (source and subject)"));
    }
    let mut e = event(
        &kind,
        "events",
        urgency,
        &title,
        d("body").or_else(|| d("message")).map(String::from),
        d("url"),
        thread,
        Some(source),
    );
    e.category = None;
    e.occurred_at = get("time").and_then(|t| t.parse().ok());
    e.data = serde_json::json!({"source": "cloudevents", "ce_source": source, "ce_id": id, "ce_type": ce_type, "data": data});
    reasons.push("idempotency key: source and id".into());
    Ok(Mapped { key: Some(key_of(&["ce", source, id])), event: e, reasons })
}

/// A CloudEvents type as one of ours: dotted lower case, other characters as `-`.
fn our_type(t: &str) -> String {
    let s: String = t
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') { c } else { '-' }
        })
        .collect();
    let s: String = s.trim_matches('.').chars().take(200).collect();
    let s = s.trim_end_matches('.');
    if s.is_empty() { "cloudevent".to_string() } else { s.to_string() }
}
