//! Generic hooks: any JSON body, mapped by a template set in the daemon's config
//! (`[hooks.templates.<name>]`), rendered with minijinja under the same bounds as
//! workflows (a fixed amount of work per render, at most 64 KiB of output). The payload's
//! fields are the variables (`{{ repository.name }}`), and `payload` is the whole body.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{HookError, Mapped, Outcome, Settings, clip, event, key_of, object};
use crate::model::{FieldError, Urgency};

/// How a generic hook's JSON becomes an event; every field is a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// The event type, e.g. `deploy.finished` (a template too).
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub thread: String,
    #[serde(default)]
    pub collapse_key: String,
    /// Renders to low, normal, high or urgent; empty: normal.
    #[serde(default)]
    pub urgency: String,
    #[serde(default)]
    pub category: String,
    /// The idempotency key, e.g. `{{ delivery_id }}`; empty: none (every delivery records).
    #[serde(default)]
    pub id: String,
}

fn default_type() -> String {
    "webhook.received".into()
}

impl Template {
    fn fields(&self) -> [(&'static str, &str); 9] {
        [
            ("type", &self.kind),
            ("title", &self.title),
            ("body", &self.body),
            ("url", &self.url),
            ("thread", &self.thread),
            ("collapse_key", &self.collapse_key),
            ("urgency", &self.urgency),
            ("category", &self.category),
            ("id", &self.id),
        ]
    }

    /// Compiles every template, so a mistake is reported when the config loads.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.title.trim().is_empty() {
            return Err(FieldError::new("title", "a hook template needs a title"));
        }
        let env = crate::template::environment();
        for (field, src) in self.fields() {
            env.template_from_str(src).map_err(|e| FieldError::new(field, e.to_string()))?;
        }
        Ok(())
    }
}

/// Checks every template of the `[hooks.templates]` table.
pub fn validate(templates: &BTreeMap<String, Template>) -> Result<(), FieldError> {
    for (name, t) in templates {
        t.validate()
            .map_err(|f| FieldError::new(format!("hooks.templates.{name}.{}", f.field), f.message))?;
    }
    Ok(())
}

pub(super) fn map(template: Option<&str>, body: &[u8], settings: &Settings) -> Result<Outcome, HookError> {
    let name = template.ok_or_else(|| HookError::Malformed("this generic hook names no template".into()))?;
    let t = settings.templates.get(name).ok_or_else(|| {
        HookError::Malformed(format!("no [hooks.templates.{name}] in the daemon's config: ask its operator"))
    })?;
    let payload = object(body, "generic")?;
    let mut ctx = payload.as_object().cloned().unwrap_or_default();
    ctx.insert("payload".into(), payload.clone());
    let ctx = Value::Object(ctx);
    let env = crate::template::environment();
    let render = |field: &str, src: &str| -> Result<String, HookError> {
        let out = crate::template::render_str(&env, src, &ctx, field)
            .map_err(|e| HookError::Malformed(format!("template {name}.{e}")))?;
        Ok(out.trim().to_string())
    };
    let kind = render("type", &t.kind)?;
    let title = render("title", &t.title)?;
    if title.is_empty() {
        return Err(HookError::Malformed(format!("template {name}.title renders empty for this payload")));
    }
    let urgency = match render("urgency", &t.urgency)?.as_str() {
        "" => Urgency::Normal,
        u => u.parse().map_err(|e: String| HookError::Malformed(format!("template {name}.urgency: {e}")))?,
    };
    let some = |s: String| (!s.is_empty()).then_some(s);
    let url = some(render("url", &t.url)?);
    let mut e = event(
        &kind,
        "x",
        urgency,
        &title,
        some(render("body", &t.body)?),
        url.as_deref(),
        some(render("thread", &t.thread)?),
        None,
    );
    e.category = some(render("category", &t.category)?);
    e.collapse_key = some(render("collapse_key", &t.collapse_key)?).map(|k| clip(&k, super::KEY));
    e.data = payload;
    e.validate().map_err(|f| {
        HookError::Malformed(format!("template {name} renders a bad {}: {}", f.field, f.message))
    })?;
    let key = some(render("id", &t.id)?).map(|k| key_of(&["generic", &k]));
    let reasons = vec![format!("rendered by [hooks.templates.{name}]")];
    Ok(Outcome::Events(vec![Mapped { key, event: e, reasons }]))
}
