//! E-mail over SMTP (lettre): plain, STARTTLS or implicit TLS by config, a multipart
//! message with a text and an HTML part rendered from templates (`assets/templates/`), for
//! one notification (immediate), a summary of held ones, or a digest. The Message-ID is
//! derived from the delivery id, so a retried delivery is the same message.

use std::time::Duration;

use jiff::Timestamp;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use super::{Deliver, Failure, Report, plain};
use crate::config::{EmailConfig, SmtpSecurity};
use crate::model::prefs::EmailFrequency;
use crate::store::{DeliveryJob, DeliveryKind};

pub struct Email {
    config: EmailConfig,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// Why the SMTP transport could not be built (a fix and a restart heal it).
    setup_error: Option<String>,
    templates: minijinja::Environment<'static>,
    /// Workflows with their own e-mail, by the event type they produce.
    workflows: std::collections::BTreeMap<String, crate::workflows::Workflow>,
}

/// The built-in message templates (auto-escaped in HTML).
pub fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
    });
    // Both are compiled into the binary; a syntax error fails the unit test below.
    let _ = env.add_template("email.txt", include_str!("../../assets/templates/email.txt.j2"));
    let _ = env.add_template("email.html", include_str!("../../assets/templates/email.html.j2"));
    env
}

impl Email {
    pub fn new(
        config: EmailConfig,
        timeout: Duration,
        workflows: &std::collections::BTreeMap<String, crate::workflows::Workflow>,
    ) -> Email {
        super::install_crypto();
        let mut by_type = std::collections::BTreeMap::new();
        for w in workflows.values().filter(|w| w.has_email()) {
            by_type.entry(w.kind.clone()).or_insert_with(|| w.clone());
        }
        let (transport, setup_error) = match Email::transport(&config, timeout) {
            Ok(t) => (t, None),
            Err(e) => {
                tracing::error!(error = %e, "e-mail cannot be set up; e-mail deliveries will retry");
                (None, Some(e))
            }
        };
        Email { config, transport, setup_error, templates: templates(), workflows: by_type }
    }

    fn transport(
        config: &EmailConfig,
        timeout: Duration,
    ) -> Result<Option<AsyncSmtpTransport<Tokio1Executor>>, String> {
        Ok(if config.host.is_empty() {
            None
        } else {
            let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str());
            let tls = |host: &str| TlsParameters::new(host.into()).map_err(|e| format!("[email] TLS: {e}"));
            b = match config.security {
                SmtpSecurity::None => b.tls(Tls::None),
                SmtpSecurity::Starttls => b.tls(Tls::Required(tls(&config.host)?)),
                SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls(&config.host)?)),
            };
            b = b.port(config.port()).timeout(Some(timeout));
            if !config.username.is_empty() {
                b = b.credentials(Credentials::new(config.username.clone(), config.password.clone()));
            }
            Some(b.build())
        })
    }

    /// Subject, text and HTML of a delivery.
    pub fn render(&self, job: &DeliveryJob) -> Result<(String, String, String), String> {
        let items: Vec<serde_json::Value> = job
            .notifications
            .iter()
            .map(|n| {
                json!({"id": n.id, "title": n.title, "body": n.body.as_deref().map(plain), "url": n.url,
                       "type": n.kind, "category": n.category, "urgency": n.urgency, "count": n.count,
                       "created_at": n.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string(), "data": n.data})
            })
            .collect();
        let count = items.len();
        let (kind, subject) = match (job.kind, job.notifications.first()) {
            (DeliveryKind::Single, Some(n)) => ("single", n.title.clone()),
            (DeliveryKind::Summary, _) => ("summary", format!("{count} notifications while you were away")),
            _ => {
                let every = match job.prefs.channels.email.frequency {
                    EmailFrequency::Hourly => "Hourly",
                    EmailFrequency::Weekly => "Weekly",
                    _ => "Daily",
                };
                (
                    "digest",
                    format!("{every} digest: {count} notification{}", if count == 1 { "" } else { "s" }),
                )
            }
        };
        let ctx = json!({"kind": kind, "heading": subject, "items": items, "subscriber": job.subscriber});
        let render = |name: &str| {
            self.templates
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| format!("template {name}: {e}"))
        };
        let (mut subject, mut text, mut html) = (subject, None, None);
        if let (DeliveryKind::Single, Some(n)) = (job.kind, job.notifications.first())
            && let Some(w) = self.workflows.get(&n.kind)
        {
            let mail = w.render_email(&n.data, &job.subscriber)?;
            subject = mail.subject.unwrap_or(subject);
            (text, html) = (mail.text, mail.html);
        }
        let text = match text {
            Some(t) => t,
            None => render("email.txt")?,
        };
        let html = match html {
            Some(h) => h,
            None => render("email.html")?,
        };
        Ok((subject, text, html))
    }

    pub fn message(&self, job: &DeliveryJob) -> Result<Message, String> {
        let to = &job.subscriber.email;
        if to.is_empty() {
            return Err("no e-mail address (channels.email.address or the user's account)".into());
        }
        let to: Mailbox = to.parse().map_err(|e| format!("`{to}` is not an address: {e}"))?;
        let from: Mailbox =
            self.config.from.parse().map_err(|e| format!("[email] from `{}`: {e}", self.config.from))?;
        let (subject, text, html) = self.render(job)?;
        Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}@campanile>", job.id)))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| e.to_string())
    }
}

impl Deliver for Email {
    fn target(&self, _job: &DeliveryJob) -> Result<String, String> {
        if self.transport.is_none() {
            return Err(NOT_CONFIGURED.into());
        }
        Ok(format!("smtp://{}:{}", self.config.host, self.config.port()))
    }

    async fn deliver(&self, job: &DeliveryJob, _now: Timestamp) -> Report {
        if let Some(error) = &self.setup_error {
            return Report::new("email", Err(Failure::Retry { error: error.clone(), after: None }));
        }
        let Some(transport) = &self.transport else {
            return Report::new("email", Err(Failure::Final { error: NOT_CONFIGURED.into() }));
        };
        let target = format!("smtp://{}:{}", self.config.host, self.config.port());
        let message = match self.message(job) {
            Ok(m) => m,
            Err(error) => return Report::new(target, Err(Failure::Final { error })),
        };
        let body = message.formatted();
        let outcome = match transport.send(message).await {
            Ok(_) => Ok(()),
            // Only an answer about this recipient or message is final (550-553: no such
            // mailbox, not allowed, too big, bad address); a permanent answer about the
            // server or our login (530, 535, 554) is a setup problem that a fix can heal.
            Err(e) if e.status().map(u16::from).is_some_and(|c| (550..=553).contains(&c)) => {
                Err(Failure::Final { error: format!("SMTP: {e}") })
            }
            Err(e) => Err(Failure::Retry { error: format!("SMTP: {e}"), after: None }),
        };
        Report::new(target, outcome).sent(&body)
    }
}

const NOT_CONFIGURED: &str = "no SMTP server configured ([email] host)";

#[cfg(test)]
mod tests {
    #[test]
    fn the_templates_compile() {
        let env = super::templates();
        assert!(env.get_template("email.txt").is_ok());
        assert!(env.get_template("email.html").is_ok());
    }
}
