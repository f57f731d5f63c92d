//! Configuration: one TOML file, every key optional with the default documented in
//! `config.example.toml`, unknown keys refused. Paths follow XDG through `directories` and
//! may be overridden by flags and `CAMPANILE_*` variables (flags win, then the environment,
//! then the file, then the default).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod paths;
mod tui;

pub use paths::{Paths, default_config_file};
pub use tui::{KeyList, ThemeConfig, ThemeName, TuiConfig};

use crate::model::FieldError;
use crate::model::prefs::{Preferences, Required};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the store lives; default: the XDG data dir.
    pub data_dir: Option<PathBuf>,
    /// Where the engine socket lives; default: `$XDG_RUNTIME_DIR/campanile`.
    pub runtime_dir: Option<PathBuf>,
    /// The local user of the embedded engine; default: `$USER`.
    pub user: Option<String>,
    pub server: ServerConfig,
    pub daemon: DaemonConfig,
    pub engine: EngineConfig,
    /// The organisation's default preferences (DESIGN §13 shape) for users who saved none.
    pub defaults: Preferences,
    /// Event x channel cells users cannot turn off.
    pub required: Required,
    /// Retries, timeouts and concurrency of the outbox workers.
    pub delivery: DeliveryConfig,
    /// The SMTP server e-mail goes through.
    pub email: EmailConfig,
    /// Where push notifications go (Expo-compatible API and ntfy).
    pub push: PushConfig,
    /// Workflows by id, on top of the built-in ones (`assets/workflows.toml`).
    pub workflows: std::collections::BTreeMap<String, crate::workflows::Workflow>,
    /// How incoming webhooks map senders' payloads (`campanile hook create`).
    pub hooks: crate::hooks::Settings,
    /// The inbox's keys and colours.
    pub tui: TuiConfig,
}

/// How the outbox workers deliver (DESIGN §5, §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts before a delivery is `dead`.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each next one up to twice as long.
    pub backoff_base_ms: u64,
    /// No retry waits longer than this.
    pub backoff_max_ms: u64,
    /// Full jitter (a random wait up to the backoff); off, waits are exactly the backoff.
    pub jitter: bool,
    /// One attempt's time limit (connect, send and answer).
    pub timeout_ms: u64,
    /// Attempts in flight at once, per channel.
    pub concurrency: usize,
    /// Attempts in flight at once to one target (URL, SMTP server), so a receiver that
    /// hangs holds only this many of its channel's slots.
    pub per_target_concurrency: usize,
    /// Consecutive failures of one target that open its circuit.
    pub breaker_failures: u32,
    /// How long an open circuit holds that target's deliveries back.
    pub breaker_cooldown_ms: u64,
    /// Whether users' webhook and Slack URLs may point at loopback, private or link-local
    /// addresses. Turn off on a dispatcher shared by people who should not reach its
    /// network through it.
    pub allow_private_targets: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        // 8 attempts: retries wait up to 15 s, 30 s, 1, 2, 4, 8 and 10 min: about 26 minutes.
        DeliveryConfig {
            max_attempts: 8,
            backoff_base_ms: 15_000,
            backoff_max_ms: 600_000,
            jitter: true,
            timeout_ms: 10_000,
            concurrency: 32,
            per_target_concurrency: 8,
            breaker_failures: 5,
            breaker_cooldown_ms: 60_000,
            allow_private_targets: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (a local relay or a test sink).
    None,
    /// STARTTLS on the submission port (587).
    #[default]
    Starttls,
    /// Implicit TLS (465).
    Tls,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// SMTP host; empty: e-mail is not configured and its deliveries fail with that reason.
    pub host: String,
    /// Default: 25 without TLS, 587 with STARTTLS, 465 with TLS.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: String,
    pub from: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            host: String::new(),
            port: None,
            security: SmtpSecurity::default(),
            username: String::new(),
            password: String::new(),
            from: "Campanile <campanile@localhost>".into(),
        }
    }
}

impl EmailConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// Base URL of the Expo push API (requests go to `{expo_url}/--/api/v2/push/send`).
    pub expo_url: String,
    /// Expo access token, when the project requires one.
    pub expo_access_token: String,
    /// Base URL of the ntfy server (JSON publish to the base URL).
    pub ntfy_url: String,
    /// ntfy access token, for protected topics.
    pub ntfy_token: String,
    /// The topics users may register as ntfy devices start with this (`{user}` stands for
    /// the user's name). With an `ntfy_token` it must be set: the operator's token is sent
    /// with every publish, so users may only claim topics in the operator's namespace.
    pub ntfy_topic_prefix: String,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            expo_url: "https://exp.host".into(),
            expo_access_token: String::new(),
            ntfy_url: "https://ntfy.sh".into(),
            ntfy_token: String::new(),
            ntfy_topic_prefix: String::new(),
        }
    }
}

impl PushConfig {
    /// Whether `user` may have pushes published to the ntfy `topic` (with the operator's
    /// token, when there is one): `Err` naming the rule when not.
    pub fn check_ntfy_topic(&self, user: &str, topic: &str) -> Result<(), FieldError> {
        let prefix = self.ntfy_topic_prefix.replace("{user}", user);
        if prefix.is_empty() && !self.ntfy_token.is_empty() {
            return Err(FieldError::new(
                "token",
                "this dispatcher publishes to ntfy with its operator's access token, so users may only \
                 claim topics under push.ntfy_topic_prefix, which is not set: ask the operator to set it",
            ));
        }
        if !topic.starts_with(&prefix) {
            return Err(FieldError::new(
                "token",
                format!("ntfy topics on this dispatcher must start with `{prefix}` (push.ntfy_topic_prefix)"),
            ));
        }
        Ok(())
    }
}

/// A remote dispatcher for the TUI and `send` to use instead of the local engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub url: String,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    pub listen: String,
    pub synchronous: Synchronous,
    pub max_body_bytes: u64,
    /// Connections open at once (websockets included); one more gets `503` at once.
    pub max_connections: u32,
    /// Seconds a connection has to send a request's headers once it is ready for one: a
    /// peer that trickles them, and a keep-alive connection left idle, are closed after it.
    pub header_timeout_secs: u64,
    /// Seconds a request's body may take to arrive (then `408`).
    pub body_timeout_secs: u64,
    /// Bytes of live changes one websocket connection may have waiting for it; past this
    /// it stops getting live frames and catches up from the store once it reads again.
    pub stream_queue_bytes: u64,
    /// Seconds a websocket client may leave a frame unread before its session is closed
    /// (1008, saying why); it resumes from its last seq when it reconnects.
    pub stream_stall_secs: u64,
    /// Seconds the start-up check of the store may read for (0: no check).
    pub start_check_secs: u64,
    /// A file outside the store where the daemon keeps the audit chain's head (`SEQ HASH`),
    /// for `campanile audit verify --anchor`; empty: none.
    pub audit_anchor: String,
    /// The engine's store: empty for `campanile.db` in the data directory, a path or
    /// `sqlite:PATH` for another SQLite file, `postgres://user@host/db` for PostgreSQL
    /// (DESIGN §5a). `--store` and `CAMPANILE_STORE` override it.
    pub store: String,
    pub rate_limit: RateLimit,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            listen: "127.0.0.1:7878".into(),
            synchronous: Synchronous::Full,
            max_body_bytes: 1024 * 1024,
            max_connections: 10_000,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            stream_queue_bytes: 256 * 1024,
            stream_stall_secs: 30,
            start_check_secs: 3,
            audit_anchor: String::new(),
            store: String::new(),
            rate_limit: RateLimit::default(),
        }
    }
}

/// Token-bucket limit for `user` tokens (DESIGN §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { per_second: 50, burst: 200 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Repeats within this many minutes fold into one unread row.
    pub collapse_window_minutes: u32,
    /// A client's presence counts for this long after its last heartbeat.
    pub presence_ttl_seconds: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { collapse_window_minutes: 60, presence_ttl_seconds: 90 }
    }
}

/// A config problem: where (file, line, key path) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{line}: {key}: {message}", line = line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl Config {
    /// Parses config text strictly; the error names the key path and, when known, the line.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let err =
            |line, key: String, message: String| ConfigError { file: file.to_string(), line, key, message };
        let line_of = |span: Option<std::ops::Range<usize>>| {
            span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        };
        let de = toml::Deserializer::parse(text)
            .map_err(|e| err(line_of(e.span()), "(syntax)".into(), e.message().to_string()))?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            err(
                line_of(inner.span()),
                if key == "." { "(top level)".into() } else { key },
                inner.message().replace('\n', " "),
            )
        })?;
        config.validate().map_err(|f| err(line_of_key(text, &f.field), f.field, f.message))?;
        Ok(config)
    }

    /// Reads a config file; a missing file at the default location means all defaults.
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Ok(Config::default()),
            Err(e) => Err(ConfigError {
                file: path.display().to_string(),
                line: None,
                key: "(file)".into(),
                message: e.to_string(),
            }),
        }
    }

    /// A warning when the file at `path` holds a password or token and others (or the
    /// group) may read it.
    pub fn exposed_secrets(&self, path: &Path) -> Option<String> {
        use std::os::unix::fs::PermissionsExt;
        let secrets: Vec<&str> = [
            ("email.password", &self.email.password),
            ("push.expo_access_token", &self.push.expo_access_token),
            ("push.ntfy_token", &self.push.ntfy_token),
            ("server.token", &self.server.token),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k)
        .collect();
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (!secrets.is_empty() && mode & 0o044 != 0).then(|| {
            format!(
                "{} holds {} and is readable by other users (mode {mode:o}): chmod 600 {}",
                path.display(),
                secrets.join(", "),
                path.display()
            )
        })
    }

    fn validate(&self) -> Result<(), FieldError> {
        // Only the kind here (the config names no store); `local::store_location` reads the
        // rest, naming this key too.
        if let Some((scheme, _)) = self.daemon.store.trim().split_once("://")
            && !matches!(scheme, "postgres" | "postgresql" | "sqlite")
        {
            return Err(FieldError::new(
                "daemon.store",
                format!(
                    "unknown store `{scheme}://`: use a file path, sqlite:PATH or postgres://user@host/db"
                ),
            ));
        }
        self.daemon.listen.parse::<SocketAddr>().map_err(|_| {
            FieldError::new(
                "daemon.listen",
                format!("expected an address and port like 127.0.0.1:7878, found `{}`", self.daemon.listen),
            )
        })?;
        if self.daemon.max_body_bytes < 1024 {
            return Err(FieldError::new("daemon.max_body_bytes", "expected at least 1024"));
        }
        if self.daemon.stream_queue_bytes < 16 * 1024 {
            return Err(FieldError::new("daemon.stream_queue_bytes", "expected at least 16384"));
        }
        if self.daemon.max_connections < 4 {
            return Err(FieldError::new("daemon.max_connections", "expected at least 4"));
        }
        for (key, secs) in [
            ("daemon.header_timeout_secs", self.daemon.header_timeout_secs),
            ("daemon.body_timeout_secs", self.daemon.body_timeout_secs),
            ("daemon.stream_stall_secs", self.daemon.stream_stall_secs),
        ] {
            if !(1..=3600).contains(&secs) {
                return Err(FieldError::new(key, format!("expected 1 to 3600 seconds, found {secs}")));
            }
        }
        if self.daemon.rate_limit.per_second == 0 || self.daemon.rate_limit.burst == 0 {
            return Err(FieldError::new("daemon.rate_limit", "expected per_second and burst above 0"));
        }
        if !self.server.url.is_empty()
            && !["http://", "https://", "ws://", "wss://"].iter().any(|p| self.server.url.starts_with(p))
        {
            return Err(FieldError::new(
                "server.url",
                format!("expected an http(s):// or ws(s):// URL, found `{}`", self.server.url),
            ));
        }
        if let Some(user) = &self.user
            && user.is_empty()
        {
            return Err(FieldError::new("user", "expected a user name, found an empty string"));
        }
        let d = &self.delivery;
        if d.max_attempts == 0
            || d.concurrency == 0
            || d.per_target_concurrency == 0
            || d.timeout_ms == 0
            || d.breaker_failures == 0
        {
            return Err(FieldError::new(
                "delivery",
                "max_attempts, concurrency, per_target_concurrency, timeout_ms and breaker_failures must be above 0",
            ));
        }
        if d.backoff_base_ms > d.backoff_max_ms {
            return Err(FieldError::new("delivery.backoff_base_ms", "must not exceed backoff_max_ms"));
        }
        if !self.email.from.is_empty() && self.email.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(FieldError::new(
                "email.from",
                format!(
                    "expected an address like `Campanile <bell@example.com>`, found `{}`",
                    self.email.from
                ),
            ));
        }
        for (key, url) in [("push.expo_url", &self.push.expo_url), ("push.ntfy_url", &self.push.ntfy_url)] {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                return Err(FieldError::new(key, format!("expected an http(s):// URL, found `{url}`")));
            }
        }
        crate::hooks::validate_templates(&self.hooks.templates)?;
        self.tui.validate()?;
        for (id, w) in &self.workflows {
            w.validate().map_err(|f| FieldError::new(format!("workflows.{id}.{}", f.field), f.message))?;
        }
        self.defaults
            .validate()
            .and_then(|()| self.defaults.check_required(&self.required))
            .map_err(|f| FieldError::new(format!("defaults.{}", f.field), f.message))
    }
}

/// The line that sets a dotted key, found by following `[table]` headers and `key =` lines
/// (good enough for the hand-written files it reports on; `None` when the key is implied).
pub fn line_of_key(text: &str, path: &str) -> Option<usize> {
    let mut table = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            table = header.trim_start_matches('[').trim().replace('"', "");
            if table == path {
                return Some(i + 1);
            }
        } else if let Some((key, _)) = line.split_once('=') {
            let key = key.trim().replace('"', "");
            let full = if table.is_empty() { key } else { format!("{table}.{key}") };
            if full == path || path.starts_with(&format!("{full}.")) || path.starts_with(&format!("{full}["))
            {
                return Some(i + 1);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Channel;

    #[test]
    fn empty_config_is_all_defaults() {
        assert_eq!(Config::parse("", "c.toml").unwrap(), Config::default());
    }

    #[test]
    fn errors_name_key_line_and_expectation() {
        let e = Config::parse("[daemon]\nlisten = \"nowhere\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "daemon.listen");
        let e = Config::parse("[daemon]\nheader_timeout_secs = 0\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "daemon.header_timeout_secs");
        let e = Config::parse("[daemon]\nmax_connections = 1\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "daemon.max_connections");
        let e = Config::parse("[daemon]\nstream_queue_bytes = 100\n", "c.toml").unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.message.as_str()),
            ("daemon.stream_queue_bytes", "expected at least 16384")
        );
        let e = Config::parse("[daemon]\nstream_stall_secs = 0\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "daemon.stream_stall_secs");
        let e = Config::parse("[daemon]\nlisten = \"nowhere\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "daemon.listen");
        assert!(e.message.contains("127.0.0.1:7878"), "{e}");

        let e = Config::parse("[daemon]\n\nlistn = \"x\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "daemon.listn");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("listn"), "{e}");

        let e = Config::parse("[defaults.quiet_hours]\ntimezone = \"Mars/Olympus\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "defaults.quiet_hours.timezone");
        assert_eq!(e.line, Some(2));

        let e = Config::parse("[engine]\ncollapse_window_minutes = \"soon\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "engine.collapse_window_minutes");
        assert_eq!(e.line, Some(2));

        let e = Config::parse("[daemon]\nstore = \"mysql://db/c\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "daemon.store");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("postgres://"), "{e}");
    }

    #[test]
    fn the_example_config_is_valid_and_says_the_defaults() {
        let text = include_str!("../../config.example.toml");
        let parsed = Config::parse(text, "config.example.toml").expect("example parses");
        // Every key the example sets is at its default (an example documents, never changes).
        assert_eq!(parsed.daemon, DaemonConfig::default());
        assert_eq!(parsed.engine, EngineConfig::default());
        assert_eq!(parsed.defaults, Preferences::default());
        // The channel sections show a configured setup, and the workflow compiles.
        assert_eq!(parsed.email.host, "smtp.example.com");
        assert_eq!(parsed.email.port(), 587);
        assert_eq!(parsed.delivery, DeliveryConfig::default());
        assert_eq!(parsed.hooks, crate::hooks::Settings::default());
        assert!(parsed.workflows.contains_key("deploy-finished"));
        let prefs = Preferences::parse(include_str!("../../assets/examples/prefs-all-channels.toml"))
            .expect("parses");
        assert!(Channel::ALL.iter().all(|c| prefs.channels.switch(*c).0), "every channel on");
    }

    #[test]
    fn a_workflow_template_error_is_reported_at_load() {
        let text = "[workflows.x]\ntype = \"a.b\"\ntitle = \"{{ oops \"\n";
        let e = Config::parse(text, "c.toml").unwrap_err();
        assert_eq!(e.key, "workflows.x.title");
        assert!(e.message.contains("template error"), "{e}");
        let e = Config::parse("[delivery]\nmax_attempts = 0\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "delivery");
        let e = Config::parse("[push]\nntfy_url = \"ntfy.sh\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "push.ntfy_url");
    }
}

/// How hard the store works to make a commit durable before it returns (SQLite's
/// `synchronous`; PostgreSQL's `synchronous_commit`, `normal` being `off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Synchronous {
    /// Every commit survives power loss (the daemon's default).
    #[default]
    Full,
    /// Commits survive a process crash; the last ones may be lost on power loss.
    Normal,
}

#[cfg(test)]
mod secrets {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_config_holding_a_password_warns_when_others_can_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[email]\nhost = \"smtp.example.com\"\npassword = \"hunter2\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let c = Config::load(&path, true).unwrap();
        let w = c.exposed_secrets(&path).expect("a warning");
        assert!(w.contains("email.password") && w.contains("chmod 600"), "{w}");
        assert!(!w.contains("hunter2"), "{w}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(c.exposed_secrets(&path), None);
        // No secret, no warning.
        assert_eq!(Config::default().exposed_secrets(&path), None);
    }
}
