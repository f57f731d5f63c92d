//! The command line: one clap tree for every mode of the binary, and the small commands that
//! need no server. `main.rs` only calls [`run`]. Exit codes: 0 done, 1 a check failed
//! (e.g. a broken audit chain), 2 bad input or configuration.

mod daemon;
mod explain;
mod hooks;
mod local;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::config::{Config, Paths, default_config_file};

#[derive(Debug, Parser)]
#[command(name = "campanile", version, about = "A notification centre for people who live in a terminal")]
pub struct Cli {
    /// Config file [default: ~/.config/campanile/config.toml]
    #[arg(
        long,
        global = true,
        env = "CAMPANILE_CONFIG",
        value_name = "FILE",
        help_heading = "Global options"
    )]
    config: Option<PathBuf>,
    /// Data directory holding the store [default: ~/.local/share/campanile]
    #[arg(
        long = "data",
        global = true,
        env = "CAMPANILE_DATA_DIR",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    data_dir: Option<PathBuf>,
    /// The store: a SQLite file (PATH or sqlite:PATH) or postgres://user@host/db
    /// [default: the config's daemon.store, else campanile.db in the data directory]
    #[arg(
        long,
        global = true,
        env = "CAMPANILE_STORE",
        value_name = "PATH_OR_URL",
        hide_env_values = true,
        help_heading = "Global options"
    )]
    store: Option<String>,
    /// A dispatcher to use instead of the local engine: https://host[:port] or http://host:port
    #[arg(
        long,
        global = true,
        env = "CAMPANILE_SERVER",
        value_name = "URL",
        help_heading = "Global options"
    )]
    server: Option<String>,
    /// A PEM file of the CA that signed an https --server's certificate, trusted besides the
    /// system's roots (SSL_CERT_FILE replaces those)
    #[arg(long, global = true, env = "CAMPANILE_CA_CERT", value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// API token for --server
    #[arg(
        long,
        global = true,
        env = "CAMPANILE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help_heading = "Global options"
    )]
    token: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the dispatcher headless: REST API and websocket stream (and the local socket)
    Daemon(daemon::DaemonArgs),
    /// Load-test a temporary daemon (or --server): events/s, latency, the no-op bound
    Bench(daemon::BenchArgs),
    /// Publish an event and print the notification id(s)
    Send(local::SendArgs),
    /// Seed the inbox with a realistic mix of events, to look around
    Demo,
    /// List the local inbox, newest first
    List(local::ListArgs),
    /// Run the engine on preferences, an event and a time; print each channel's plan and why
    Explain(explain::ExplainArgs),
    /// Check the configuration or show where things live
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Operate on the tamper-evident audit trail
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage users of the store
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the store for damage
    #[command(subcommand)]
    Store(StoreCommand),
    /// Manage incoming webhooks (GitHub, GitLab, Alertmanager, Grafana, CloudEvents)
    #[command(subcommand)]
    Hook(hooks::HookCommand),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Read all of the store's structure (every table and index page) and report damage
    Check,
    /// Copy a whole store into a new, empty one, between SQLite and PostgreSQL either way:
    /// users, tokens, preferences, notifications, change log, outbox, schedule, hooks and the
    /// audit chain (verified on the copy). Stop the engines on both first.
    Copy {
        /// The store to copy: a SQLite file (PATH or sqlite:PATH) or postgres://user@host/db
        #[arg(long, value_name = "PATH_OR_URL")]
        from: String,
        /// The new store: it must hold nothing yet (a new file, or an empty database)
        #[arg(long, value_name = "PATH_OR_URL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a config file [default: the one in use]; report the first error
    Check { file: Option<PathBuf> },
    /// Print where the config, store, socket and logs live
    Path,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and report `ok N records` or the first broken record (a chain
    /// that ends before the head the store, or the anchor, recorded included)
    Verify {
        /// A file with the head the daemon kept outside the store (`daemon.audit_anchor`)
        #[arg(long, value_name = "FILE")]
        anchor: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user (or update their e-mail address)
    Add(UserAddArgs),
    /// List users
    List,
    /// Add or update many users at once from a file: CSV lines `name,email,display name` (a
    /// first line starting `name` is a header) or JSON lines `{"name","email","display_name"}`
    Import {
        /// The file; `-` reads stdin
        file: PathBuf,
        /// Make a token of this scope for each user, written to --tokens-out (mode 0600)
        #[arg(long, value_enum, requires = "tokens_out")]
        tokens: Option<crate::store::Scope>,
        /// Where the new tokens go, one `name<TAB>token` line each
        #[arg(long, value_name = "FILE")]
        tokens_out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once (only its hash is stored)
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, value_enum, default_value = "user")]
        scope: crate::store::Scope,
        /// A note on what the token is for (and a name to revoke it by)
        #[arg(long)]
        label: Option<String>,
        /// Stop working after this long: 30d, 12h, 90m
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List tokens: id, user, scope, label, created, last used, expiry (never the token)
    List {
        /// Only this user's tokens
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id (from `token list`) or label; a running daemon refuses it
    /// within a second and closes the websockets it opened
    Revoke {
        #[arg(value_name = "ID|LABEL")]
        token: String,
    },
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    pub name: String,
    #[arg(long)]
    pub email: Option<String>,
    /// Display name for workflow templates (`name`, `first_name`)
    #[arg(long)]
    pub display_name: Option<String>,
    /// Phone number for workflow templates (`phone`)
    #[arg(long)]
    pub phone: Option<String>,
    /// Avatar URL for workflow templates (`avatar`)
    #[arg(long)]
    pub avatar: Option<String>,
}

/// A failure to report on one line, with the exit code that goes with it.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn input(message: impl Into<String>) -> Failure {
        Failure { code: 2, message: message.into() }
    }
    pub fn check(message: impl Into<String>) -> Failure {
        Failure { code: 1, message: message.into() }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError as E;
        match e {
            E::Invalid(_) | E::Conflict(_) | E::Taken(_) | E::VersionConflict { .. } | E::NotFound(_) => {
                Failure::input(e.to_string())
            }
            E::Db(_) | E::Corrupt(_) | E::Io(_) | E::Internal(_) | E::Storage(..) => {
                Failure::check(e.to_string())
            }
        }
    }
}

/// Whether to colour output on stderr/stdout (NO_COLOR and non-terminals turn it off).
pub(crate) fn colour(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Everything a command needs from the environment, resolved once.
pub(crate) struct Env {
    pub config: Config,
    pub paths: Paths,
    /// From --server / CAMPANILE_SERVER, else the config's `server.url`.
    pub server: Option<String>,
    pub token: Option<String>,
    /// From --ca-cert / CAMPANILE_CA_CERT.
    pub ca_cert: Option<PathBuf>,
}

impl Env {
    /// Where the store is (`--store`, `CAMPANILE_STORE`, `daemon.store`, the data directory).
    pub(crate) fn location(&self) -> Result<crate::store::Location, Failure> {
        crate::local::store_location(&self.paths, &self.config)
            .map_err(|e| Failure::input(format!("{}: {}", e.field, e.message)))
    }
}

impl Cli {
    fn env(&self) -> Result<Env, Failure> {
        let explicit = self.config.is_some();
        let file = self.config.clone().unwrap_or_else(default_config_file);
        let mut config = Config::load(&file, explicit).map_err(|e| Failure::input(format!("config: {e}")))?;
        if let Some(store) = &self.store {
            // Checked here, so a typo names the flag rather than the config key.
            crate::store::Location::parse(store).map_err(|m| Failure::input(format!("--store: {m}")))?;
            config.daemon.store = store.clone();
        }
        let paths = Paths::resolve(Some(file), &config, self.data_dir.clone());
        let server =
            self.server.clone().or_else(|| Some(config.server.url.clone())).filter(|s| !s.is_empty());
        let token =
            self.token.clone().or_else(|| Some(config.server.token.clone())).filter(|s| !s.is_empty());
        Ok(Env { config, paths, server, token, ca_cert: self.ca_cert.clone() })
    }
}

/// Runs the command line; returns the process exit code.
pub fn run() -> u8 {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => 0,
        Err(f) => {
            let prefix =
                if colour(std::io::stderr().is_terminal()) { "\x1b[1;31merror\x1b[0m" } else { "error" };
            eprintln!("{prefix}: {}", f.message.replace('\n', " "));
            f.code
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(*shell, &mut Cli::command(), "campanile", &mut std::io::stdout());
            Ok(())
        }
        Some(Command::Config(ConfigCommand::Check { file })) => config_check(&cli, file.as_ref()),
        Some(Command::Config(ConfigCommand::Path)) => config_path(&cli),
        Some(Command::Explain(args)) => explain::run(&cli.env()?, args),
        Some(Command::Audit(AuditCommand::Verify { anchor })) => audit_verify(&cli.env()?, anchor.as_deref()),
        Some(Command::Store(StoreCommand::Check)) => store_check(&cli.env()?),
        Some(Command::Store(StoreCommand::Copy { from, to })) => store_copy(&cli.env()?, from, to),
        Some(Command::User(UserCommand::Add(a))) => local::user_add(&cli.env()?, a),
        Some(Command::User(UserCommand::List)) => local::user_list(&cli.env()?),
        Some(Command::User(UserCommand::Import { file, tokens, tokens_out })) => {
            local::user_import(&cli.env()?, file, *tokens, tokens_out.as_deref())
        }
        Some(Command::Token(TokenCommand::List { user })) => local::token_list(&cli.env()?, user.as_deref()),
        Some(Command::Token(TokenCommand::Revoke { token })) => local::token_revoke(&cli.env()?, token),
        Some(Command::Token(TokenCommand::Create { user, scope, label, expires })) => {
            local::token_create(&cli.env()?, user, *scope, label.as_deref(), expires.as_deref())
        }
        Some(Command::Hook(command)) => hooks::run(&cli.env()?, command),
        Some(Command::Send(args)) => local::send(&cli.env()?, args),
        Some(Command::Daemon(args)) => daemon::run(cli.env()?, args),
        Some(Command::Bench(args)) => daemon::bench(&cli.env()?, args),
        Some(Command::List(args)) => local::list(&cli.env()?, args),
        Some(Command::Demo) => local::demo(&cli.env()?),
        None => tui(cli.env()?),
    }
}

/// The inbox: the TUI on a terminal; the plain list otherwise (pipes, scripts).
fn tui(env: Env) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() {
        return local::list(&env, &local::ListArgs::default());
    }
    let target = match &env.server {
        Some(url) => match crate::client::Target::from_url(url, env.token.clone(), env.ca_cert.as_deref())
            .map_err(|e| Failure::input(e.to_string()))?
        {
            crate::client::Target::Tcp { authority, token: Some(token), tls } => {
                // A certificate that is not trusted will not heal by retrying: say so once.
                if let Some(tls) = &tls {
                    check_tls(&authority, tls)?;
                }
                crate::tui::shell::Target::Remote { authority, token, tls }
            }
            _ => {
                return Err(Failure::input(
                    "--server needs --token (or CAMPANILE_TOKEN, or server.token in the config)",
                ));
            }
        },
        None => crate::tui::shell::Target::Local,
    };
    let ui = crate::tui::shell::Ui {
        keys: tui_keys(&env.config, &env.paths.config_file)
            .map_err(|e| Failure::input(format!("config: {e}")))?,
        theme: crate::tui::theme::Theme::from_config(&env.config.tui.theme),
    };
    // The TUI names no server: it is handed this starter for the engine it may run in-process.
    let (paths, config) = (env.paths.clone(), env.config);
    // Called again when this TUI takes over from another process's engine that quit.
    let start_engine = move |hooks: crate::tui::shell::EngineHooks| {
        let (paths, config) = (paths.clone(), config.clone());
        async move {
            let serve = crate::local::Serve { tcp: None, socket: true };
            crate::local::run(&paths, config, serve, move |_| (hooks.ready)(), hooks.stop)
                .await
                .map_err(|e| e.to_string())
        }
    };
    crate::tui::shell::run(env.paths, target, ui, start_engine).map_err(Failure::check)
}

/// One TLS handshake with the server before the TUI takes the screen: a certificate error
/// is one line naming the host and the reason, not a reconnect loop.
fn check_tls(authority: &str, tls: &crate::tls::Tls) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::check(format!("cannot start the runtime: {e}")))?;
    match runtime.block_on(crate::tls::connect(authority, Some(tls))) {
        Ok(_) => Ok(()),
        Err(e @ crate::tls::ConnectError::Handshake { .. }) => Err(Failure::check(e.to_string())),
        // Unreachable now: the TUI starts and shows it reconnecting.
        Err(crate::tls::ConnectError::Unreachable(..)) => Ok(()),
    }
}

fn config_check(cli: &Cli, file: Option<&PathBuf>) -> Result<(), Failure> {
    let (path, explicit) = match file.or(cli.config.as_ref()) {
        Some(f) => (f.clone(), true),
        None => (default_config_file(), false),
    };
    if !explicit && !path.exists() {
        println!("ok: no config file at {} (all defaults)", path.display());
        return Ok(());
    }
    let config = Config::load(&path, true).map_err(|e| Failure::input(e.to_string()))?;
    tui_keys(&config, &path).map_err(|e| Failure::input(e.to_string()))?;
    if let Some(warning) = config.exposed_secrets(&path) {
        eprintln!("warning: {warning}");
    }
    println!("ok: {}", path.display());
    Ok(())
}

/// The TUI's keymap from `[tui.keys]`; a mistake names the config file's line.
fn tui_keys(
    config: &Config,
    path: &std::path::Path,
) -> Result<crate::tui::keymap::Keymap, crate::config::ConfigError> {
    crate::tui::keymap::Keymap::from_config(&config.tui.keys).map_err(|e| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        crate::config::ConfigError {
            file: path.display().to_string(),
            line: crate::config::line_of_key(&text, &e.field),
            key: e.field,
            message: e.message,
        }
    })
}

fn config_path(cli: &Cli) -> Result<(), Failure> {
    let env = cli.env()?;
    let p = &env.paths;
    let exists = |path: &std::path::Path| if path.exists() { "" } else { "  (not there yet)" };
    println!("config   {}{}", p.config_file.display(), exists(&p.config_file));
    println!("data     {}{}", p.data_dir.display(), exists(&p.data_dir));
    match env.location()? {
        crate::store::Location::Sqlite(path) => println!("store    {}{}", path.display(), exists(&path)),
        pg => println!("store    {pg}"),
    }
    println!("runtime  {}{}", p.runtime_dir.display(), exists(&p.runtime_dir));
    println!("socket   {}{}", p.socket().display(), exists(&p.socket()));
    println!("logs     {}{}", p.log_file().display(), exists(&p.log_file()));
    Ok(())
}

/// The store to read, refused when it is a SQLite file that does not exist (opening it
/// would create an empty one and report on that).
fn existing_store(env: &Env) -> Result<crate::store::Location, Failure> {
    let location = env.location()?;
    if let Some(path) = location.sqlite_path()
        && !path.exists()
    {
        return Err(Failure::input(format!("no store at {}", path.display())));
    }
    Ok(location)
}

fn store_check(env: &Env) -> Result<(), Failure> {
    let location = existing_store(env)?;
    let mut store = location.open(env.config.daemon.synchronous)?;
    match store.check(std::time::Duration::from_secs(24 * 3600))? {
        crate::store::Integrity::Ok | crate::store::Integrity::Unfinished => {
            println!("ok {location}");
            Ok(())
        }
        crate::store::Integrity::Damaged(problems) => {
            Err(Failure::check(format!("{location} is damaged:\n  {}", problems.join("\n  "))))
        }
    }
}

fn store_copy(env: &Env, from: &str, to: &str) -> Result<(), Failure> {
    use crate::store::Location;
    let from = Location::parse(from).map_err(|m| Failure::input(format!("--from: {m}")))?;
    let to = Location::parse(to).map_err(|m| Failure::input(format!("--to: {m}")))?;
    if let Some(path) = from.sqlite_path()
        && !path.exists()
    {
        return Err(Failure::input(format!("--from: no store at {}", path.display())));
    }
    for (flag, at) in [("--from", &from), ("--to", &to)] {
        // A running engine would write on while the copy reads (or be written behind).
        if crate::dispatch::engine_running_at(at) {
            return Err(Failure::input(format!("{flag}: an engine runs on {at}; stop it before copying")));
        }
    }
    let source = from.open(env.config.daemon.synchronous)?;
    let verdict = source.verify_audit()?;
    let crate::store::Verdict::Ok { records } = verdict else {
        return Err(Failure::check(format!(
            "{from}: its audit chain does not verify ({verdict:?}); not copied"
        )));
    };
    let mut target = to.open(env.config.daemon.synchronous)?;
    let began = std::time::Instant::now();
    let rows = crate::store::transfer::copy(source.as_ref(), target.as_mut(), &mut |table, n, done| {
        // Every table when done, and the big ones as they go.
        if done || n % 50_000 == 0 {
            eprintln!("  {table:<18} {n}{}", if done { "" } else { " ..." });
        }
    })?;
    drop(target);
    let copy = to.open(env.config.daemon.synchronous)?;
    let counts = (source.table_counts()?, copy.table_counts()?);
    if counts.0 != counts.1 {
        return Err(Failure::check(format!(
            "the copy's rows differ: {:?} there, {:?} here",
            counts.0, counts.1
        )));
    }
    match copy.verify_audit()? {
        crate::store::Verdict::Ok { records: copied } if copied == records => {
            println!(
                "copied {rows} rows from {from} to {to} in {:.1} s; the copy's audit chain verifies ({records} records)",
                began.elapsed().as_secs_f64()
            );
            Ok(())
        }
        other => Err(Failure::check(format!("the copy's audit chain does not verify: {other:?}"))),
    }
}

fn audit_verify(env: &Env, anchor: Option<&std::path::Path>) -> Result<(), Failure> {
    let location = existing_store(env)?;
    let anchor = match anchor {
        None => None,
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?;
            Some(crate::store::AuditHead::parse(&text).ok_or_else(|| {
                Failure::input(format!("{}: expected `SEQ HASH` (an audit anchor)", file.display()))
            })?)
        }
    };
    let store = location.open(env.config.daemon.synchronous)?;
    match store.verify_audit_against(anchor.as_ref())? {
        crate::store::Verdict::Ok { records } => {
            println!("ok {records} records");
            Ok(())
        }
        crate::store::Verdict::Broken { seq, problem } => {
            Err(Failure::check(format!("audit record {seq} is broken: {problem}")))
        }
    }
}
