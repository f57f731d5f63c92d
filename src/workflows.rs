//! Workflows (DESIGN §3): a named recipe that turns a producer's payload into a notification
//! for each subscriber, with minijinja templates for the title, body, link and thread. The
//! seven of the source documents ship built in (`assets/workflows.toml`); a daemon's config
//! adds or overrides them under `[workflows.<id>]`. Templates are compiled when the config
//! loads, so a syntax error is reported there, not when a trigger arrives.

use std::collections::{BTreeMap, BTreeSet};

use crate::template::MAX_OUTPUT;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::Subscriber;
use crate::model::{FieldError, Urgency};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    #[serde(default)]
    pub description: String,
    /// The event type its notifications carry (`task.completed`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Default: from the type's prefix (as for events).
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub urgency: Urgency,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub thread: String,
    /// E-mail of this workflow's notifications (immediate ones): subject, text and HTML
    /// templates, rendered when the mail goes out with the payload (the notification's
    /// `data`) and the subscriber. Empty: the built-in mail around the title and body.
    #[serde(default)]
    pub email_subject: String,
    #[serde(default)]
    pub email_text: String,
    #[serde(default)]
    pub email_html: String,
}

/// A workflow's own e-mail, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedEmail {
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// What a workflow rendered for one subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub title: String,
    pub body: Option<String>,
    pub url: Option<String>,
    pub thread: Option<String>,
    /// Variables the templates use that neither the payload nor the subscriber had.
    pub missing: Vec<String>,
}

use crate::template::environment as env;

fn capped(out: String, field: &str) -> Result<String, String> {
    if out.len() > MAX_OUTPUT {
        return Err(format!("{field}: renders to more than {MAX_OUTPUT} bytes"));
    }
    Ok(out)
}

impl Workflow {
    fn templates(&self) -> [(&'static str, &str); 4] {
        [("title", &self.title), ("body", &self.body), ("url", &self.url), ("thread", &self.thread)]
    }

    /// Checks the type and compiles every template.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.kind.is_empty() || !self.kind.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(FieldError::new(
                "type",
                format!("`{}` is not an event type (like task.completed)", self.kind),
            ));
        }
        if self.title.trim().is_empty() {
            return Err(FieldError::new("title", "a workflow needs a title template"));
        }
        let env = env();
        for (field, src) in self.templates().into_iter().chain(self.email_templates()) {
            env.template_from_str(src).map_err(|e| FieldError::new(field, format!("template error: {e}")))?;
        }
        Ok(())
    }

    fn email_templates(&self) -> [(&'static str, &str); 3] {
        [
            ("email_subject", &self.email_subject),
            ("email_text", &self.email_text),
            ("email_html", &self.email_html),
        ]
    }

    /// Renders the workflow's e-mail templates (those it has) for one notification's payload.
    pub fn render_email(&self, payload: &Value, subscriber: &Subscriber) -> Result<RenderedEmail, String> {
        let env = env();
        let empty = Map::new();
        let ctx = context(payload.as_object().unwrap_or(&empty), subscriber);
        let render = |name: &str, src: &str| -> Result<Option<String>, String> {
            if src.trim().is_empty() {
                return Ok(None);
            }
            // Named by what they produce, so the HTML one is auto-escaped.
            let file = if name == "email_html" { "email.html" } else { "email.txt" };
            let mut env = env.clone();
            env.add_template_owned(file.to_string(), src.to_string()).map_err(|e| format!("{name}: {e}"))?;
            let t = env.get_template(file).map_err(|e| format!("{name}: {e}"))?;
            let out = crate::template::render(&t, &ctx, name)?;
            Ok(Some(out.trim().to_string()).filter(|s| !s.is_empty()))
        };
        Ok(RenderedEmail {
            subject: render("email_subject", &self.email_subject)?,
            text: render("email_text", &self.email_text)?,
            html: render("email_html", &self.email_html)?,
        })
    }

    pub fn has_email(&self) -> bool {
        self.email_templates().iter().any(|(_, src)| !src.trim().is_empty())
    }

    /// Renders the templates for `subscriber` with `payload` (a JSON object).
    pub fn render(&self, payload: &Map<String, Value>, subscriber: &Subscriber) -> Result<Rendered, String> {
        let env = env();
        let ctx = context(payload, subscriber);
        let mut out: BTreeMap<&str, String> = BTreeMap::new();
        let mut missing = BTreeSet::new();
        for (field, src) in self.templates() {
            let t = env.template_from_str(src).map_err(|e| format!("{field}: {e}"))?;
            for var in t.undeclared_variables(true) {
                if !has_path(&ctx, &var) {
                    missing.insert(var);
                }
            }
            let text = crate::template::render(&t, &ctx, field)?;
            out.insert(field, text.trim().to_string());
        }
        let take = |k: &str, out: &mut BTreeMap<&str, String>| out.remove(k).filter(|s| !s.is_empty());
        let title = take("title", &mut out).ok_or("the title rendered empty")?;
        Ok(Rendered {
            title,
            body: take("body", &mut out),
            url: take("url", &mut out),
            thread: take("thread", &mut out),
            missing: missing.into_iter().collect(),
        })
    }
}

/// Payload fields, then the subscriber's fields (they win), and both as objects.
fn context(payload: &Map<String, Value>, s: &Subscriber) -> Value {
    let mut ctx = payload.clone();
    for (k, v) in [
        ("name", &s.name),
        ("first_name", &s.first_name),
        ("email", &s.email),
        ("phone", &s.phone),
        ("avatar", &s.avatar),
    ] {
        if !v.is_empty() || !ctx.contains_key(k) {
            ctx.insert(k.into(), Value::String(v.clone()));
        }
    }
    ctx.insert("payload".into(), Value::Object(payload.clone()));
    ctx.insert("subscriber".into(), serde_json::to_value(s).unwrap_or_default());
    Value::Object(ctx)
}

fn has_path(ctx: &Value, dotted: &str) -> bool {
    let mut cur = ctx;
    for part in dotted.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return false,
        }
    }
    !cur.is_null()
}

/// Who wrote a trigger's payload, which decides whether its strings are personalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFrom {
    /// A publisher or an admin: `{{ first_name }}` and the like name the recipient.
    Trusted,
    /// A user triggering for themselves: the strings are kept as written.
    User,
}

/// Personalises every string of a payload for `subscriber` (an admin's broadcast text may say
/// "Hi {{ first_name }}"). This is substitution, not a template language: a `{{ … }}` may
/// name only a subscriber field and `{% … %}` is refused, so what a render can allocate is
/// bounded by the text and the subscriber's fields (no loops, no string arithmetic; DESIGN
/// §3 keeps templates in the operator's workflows). A user's own payload is not touched.
pub fn personalise(
    payload: &Map<String, Value>,
    subscriber: &Subscriber,
    from: PayloadFrom,
) -> Result<Map<String, Value>, String> {
    let mut out = payload.clone();
    if from == PayloadFrom::User {
        return Ok(out);
    }
    for (k, v) in out.iter_mut() {
        if let Value::String(s) = v
            && (s.contains("{{") || s.contains("{%"))
        {
            *s = capped(substitute(s, subscriber).map_err(|e| format!("payload.{k}: {e}"))?, k)?;
        }
    }
    Ok(out)
}

/// A subscriber field a payload string may name, bare or as `subscriber.<field>`; `id` only
/// as `subscriber.id` (a bare `{{ id }}` is more likely meant as the payload's own).
fn field<'a>(s: &'a Subscriber, name: &str) -> Option<&'a str> {
    let (name, prefixed) = match name.strip_prefix("subscriber.") {
        Some(n) => (n, true),
        None => (name, false),
    };
    Some(match name {
        "id" if prefixed => &s.id,
        "name" => &s.name,
        "first_name" => &s.first_name,
        "email" => &s.email,
        "phone" => &s.phone,
        "avatar" => &s.avatar,
        _ => return None,
    })
}

fn substitute(text: &str, s: &Subscriber) -> Result<String, String> {
    if text.contains("{%") {
        return Err("`{% … %}` statements are not allowed in payload strings; \
            logic belongs in the workflow's templates"
            .into());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or("`{{` without a closing `}}`")?;
        let name = after[..close].trim();
        let value = field(s, name).ok_or_else(|| {
            format!(
                "`{{{{ {name} }}}}`: payload strings may name only subscriber fields \
                 (name, first_name, email, phone, avatar, subscriber.id); \
                 templates belong in the workflow"
            )
        })?;
        out.push_str(value);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    workflows: BTreeMap<String, Workflow>,
}

/// The built-in workflows.
pub fn builtin() -> BTreeMap<String, Workflow> {
    toml::from_str::<File>(include_str!("../assets/workflows.toml")).map(|f| f.workflows).unwrap_or_default()
}

/// The built-in workflows with the config's on top.
pub fn all(configured: &BTreeMap<String, Workflow>) -> BTreeMap<String, Workflow> {
    let mut all = builtin();
    all.extend(configured.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Subscriber {
        Subscriber {
            id: "alice".into(),
            name: "Alice Liddell".into(),
            first_name: "Alice".into(),
            email: "alice@example.com".into(),
            ..Subscriber::default()
        }
    }

    #[test]
    fn the_seven_built_in_workflows_load_and_compile() {
        let all = builtin();
        let ids: Vec<&str> = all.keys().map(String::as_str).collect();
        assert_eq!(
            ids,
            [
                "credits-low",
                "payment-failed",
                "payment-succeeded",
                "promotional",
                "task-completed",
                "task-failed",
                "welcome-email"
            ]
        );
        for (id, w) in &all {
            w.validate().unwrap_or_else(|e| panic!("{id}: {e}"));
        }
    }

    #[test]
    fn renders_payload_and_subscriber_and_lists_what_is_missing() {
        let w = &builtin()["task-failed"];
        let payload = serde_json::json!({"task_name": "nightly build", "task_url": "https://ci.example/1"});
        let r = w.render(payload.as_object().unwrap(), &alice()).unwrap();
        assert_eq!(r.title, "Task failed: nightly build");
        assert_eq!(r.body.as_deref(), Some("nightly build stopped: no reason given"));
        assert_eq!(r.url.as_deref(), Some("https://ci.example/1"));
        assert_eq!(r.thread, None);
        assert!(r.missing.contains(&"thread_id".to_string()), "{:?}", r.missing);

        let welcome = &builtin()["welcome-email"];
        let r = welcome.render(&Map::new(), &alice()).unwrap();
        assert_eq!(r.title, "Welcome to Campanile, Alice");
    }

    #[test]
    fn a_template_error_names_the_field() {
        let w = Workflow {
            description: String::new(),
            kind: "x.y".into(),
            category: None,
            urgency: Urgency::Normal,
            title: "ok".into(),
            body: "{% if %}".into(),
            url: String::new(),
            thread: String::new(),
            email_subject: String::new(),
            email_text: String::new(),
            email_html: String::new(),
        };
        let e = w.validate().unwrap_err();
        assert_eq!(e.field, "body");
        assert!(e.message.contains("template error"), "{e:?}");
    }

    #[test]
    fn a_workflow_email_renders_with_the_payload_and_escapes_html() {
        let w = &builtin()["welcome-email"];
        assert!(w.has_email());
        let payload = serde_json::json!({"getting_started_url": "https://app.example/start?a=1&b=2"});
        let mail = w.render_email(&payload, &alice()).unwrap();
        assert_eq!(mail.subject.as_deref(), Some("Welcome to Campanile, Alice"));
        let html = mail.html.unwrap();
        assert!(html.contains("start?a=1&amp;b=2"), "{html}");
        assert!(mail.text.unwrap().contains("https://app.example/start?a=1&b=2"));
    }

    #[test]
    fn payload_strings_are_substituted_not_evaluated() {
        // Each of these could build gigabytes in a template engine (a string doubled in a
        // loop, a 100 MB repeat): a payload string may only name subscriber fields.
        for bomb in [
            "{% set x = 'x' %}{% for i in range(40) %}{% set x = x ~ x %}{% endfor %}{{ x }}",
            "{{ 'x' * 100000000 }}",
            "{{ first_name * 1000 }}",
            "{{ range(10000) | join }}",
        ] {
            let p = serde_json::json!({ "t": bomb });
            let e = personalise(p.as_object().unwrap(), &alice(), PayloadFrom::Trusted).unwrap_err();
            assert!(e.starts_with("payload.t: "), "{e}");
            assert!(e.contains("subscriber fields") || e.contains("statements are not allowed"), "{e}");
        }
        let p = serde_json::json!({"t": "{{ first_name "});
        let e = personalise(p.as_object().unwrap(), &alice(), PayloadFrom::Trusted).unwrap_err();
        assert!(e.contains("without a closing"), "{e}");
    }

    #[test]
    fn a_users_own_payload_is_kept_as_written() {
        let p = serde_json::json!({"t": "{{ 'x' * 100000000 }} and {{ first_name }}"});
        let out = personalise(p.as_object().unwrap(), &alice(), PayloadFrom::User).unwrap();
        assert_eq!(out["t"], p["t"]);
    }

    #[test]
    fn payload_strings_are_personalised() {
        let p = serde_json::json!({"title": "Hi {{ first_name }}", "n": 3});
        let out = personalise(p.as_object().unwrap(), &alice(), PayloadFrom::Trusted).unwrap();
        assert_eq!(out["title"], "Hi Alice");
        assert_eq!(out["n"], 3);
        let p = serde_json::json!({"to": "{{email}} / {{ subscriber.id }} / {{ subscriber.name }}"});
        let out = personalise(p.as_object().unwrap(), &alice(), PayloadFrom::Trusted).unwrap();
        assert_eq!(out["to"], format!("{} / {} / {}", alice().email, alice().id, alice().name));
    }
}
