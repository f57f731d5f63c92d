//! The TUI's impure shell: it owns the terminal, the runtime, the sync client and the clock.
//! [`run`] sets the terminal up (raw mode, the alternate screen, mouse and focus events, a
//! panic hook that restores it) and always restores it, picks the transport, starts the
//! embedded engine through the starter the binary hands it (the TUI names no server), and
//! runs the loop ([`event_loop`], generic over the backend so tests drive it on
//! `TestBackend`) with the live inputs and effects ([`live`]). Its REST calls live in
//! [`rest`], the desktop popups it raises in [`popups`]. Logs go to a file, never to the
//! screen.

pub(crate) mod event_loop;
mod live;
mod popups;
mod rest;

pub use rest::answer;

use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;

use crossterm::event::{DisableFocusChange, DisableMouseCapture, EnableFocusChange, EnableMouseCapture};
use crossterm::execute;
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::Paths;
use crate::sync::client::{Transport, spawn};
use crate::tui::app::App;
use event_loop::run_loop;
use live::{Live, World};
use popups::Desk;

/// How the TUI reaches its inbox.
pub enum Target {
    /// A dispatcher on another machine (`--server`).
    Remote { authority: String, token: String },
    /// The local engine: its socket if one answers, else started in this process.
    Local,
}

/// What the shell hands the engine it starts in this process.
pub struct EngineHooks {
    /// Call once the engine's socket listens.
    pub ready: Box<dyn FnOnce() + Send>,
    /// Resolves when the TUI quits: the engine stops then.
    pub stop: Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// Sets up logging to a file in the state dir.
fn log_to_file(paths: &Paths) {
    let _ = std::fs::create_dir_all(&paths.state_dir);
    let Ok(file) = std::fs::OpenOptions::new().create(true).append(true).open(paths.log_file()) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// Runs the TUI until the user quits (or SIGTERM). The terminal is restored in every case.
/// With [`Target::Local`] and no engine answering on the local socket, `start_engine` runs
/// one in this process: it serves the socket, calls `ready` once it listens, and returns when
/// `stop` resolves (or at once, with the reason, when it cannot start).
pub fn run<S, F>(paths: Paths, target: Target, start_engine: S) -> Result<(), String>
where
    S: FnOnce(EngineHooks) -> F,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    if !std::io::stdout().is_terminal() {
        return Err("the inbox needs a terminal (try `campanile list` in scripts)".into());
    }
    log_to_file(&paths);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let remote = matches!(target, Target::Remote { .. });
        let (transport, host, engine) = connect_target(&paths, target, start_engine).await?;
        // Raw mode, the alternate screen and a panic hook that restores the terminal first.
        let mut terminal = ratatui::init();
        let _ = execute!(std::io::stdout(), EnableMouseCapture, EnableFocusChange);
        let result = live_loop(&mut terminal, transport, host, remote).await;
        let _ = execute!(std::io::stdout(), DisableMouseCapture, DisableFocusChange);
        ratatui::restore();
        if let Some((stop, task)) = engine {
            stop.cancel();
            let _ = task.await;
        }
        result
    })
}

type EngineTask = (CancellationToken, tokio::task::JoinHandle<()>);

/// Picks the transport; starts the embedded engine when no local one answers.
async fn connect_target<S, F>(
    paths: &Paths,
    target: Target,
    start_engine: S,
) -> Result<(Transport, Option<String>, Option<EngineTask>), String>
where
    S: FnOnce(EngineHooks) -> F,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    match target {
        Target::Remote { authority, token } => {
            Ok((Transport::Tcp { authority: authority.clone(), token }, Some(authority), None))
        }
        Target::Local => {
            let socket = paths.socket();
            if tokio::net::UnixStream::connect(&socket).await.is_ok() {
                return Ok((Transport::Unix(socket), Some("local engine".into()), None));
            }
            let stop = CancellationToken::new();
            let (tx, rx) = oneshot::channel::<()>();
            let hooks = EngineHooks {
                ready: Box::new(move || {
                    let _ = tx.send(());
                }),
                stop: Box::pin(stop.clone().cancelled_owned()),
            };
            let engine = start_engine(hooks);
            let task = tokio::spawn(async move {
                if let Err(e) = engine.await {
                    tracing::error!(error = %e, "embedded engine stopped");
                }
            });
            match rx.await {
                Ok(()) => Ok((Transport::Unix(socket), None, Some((stop, task)))),
                _ => {
                    let _ = task.await;
                    Err(format!("the embedded engine did not start; see {}", paths.log_file().display()))
                }
            }
        }
    }
}

/// The loop on the real terminal, with the live inputs and effects.
async fn live_loop(
    terminal: &mut ratatui::DefaultTerminal,
    transport: Transport,
    host: Option<String>,
    remote: bool,
) -> Result<(), String> {
    // Bounded in frames: a snapshot page is 500 items, so this holds a large inbox at most
    // once more while the loop applies it (the actor waits when it is full).
    let (events_tx, events) = mpsc::channel(256);
    let (answers_tx, answers) = mpsc::channel(16);
    let client = spawn(transport.clone(), events_tx);
    let mut world = World { client, transport, answers: answers_tx, popups: Desk::default() };
    let mut inputs = Live::new(events, answers)?;
    let mut app = App::new(Timestamp::now());
    app.system_zone = jiff::tz::TimeZone::system().iana_name().map(str::to_string);
    app.popups.remote = remote;
    app.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    run_loop(terminal, &mut app, &mut inputs, &mut world, &host).await
}
