//! The TUI's impure shell: it owns the terminal, the runtime, the sync client and the clock.
//! [`run`] sets the terminal up (raw mode, the alternate screen, mouse and focus events, a
//! panic hook that restores it) and always restores it, picks the transport, starts the
//! embedded engine through the starter the binary hands it (the TUI names no server), and
//! runs the loop ([`event_loop`], generic over the backend so tests drive it on
//! `TestBackend`) with the live inputs and effects ([`live`]). Its REST calls live in
//! [`rest`], the desktop popups it raises in [`popups`]. Logs go to a file, never to the
//! screen.

mod clipboard;
pub(crate) mod event_loop;
mod live;
mod pager;
pub(crate) mod pipe;
mod popups;
mod rest;

pub use rest::answer;

use std::future::Future;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{DisableFocusChange, DisableMouseCapture, EnableFocusChange, EnableMouseCapture};
use crossterm::execute;
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::Paths;
use crate::sync::client::{ClientHandle, Transport, spawn};
use crate::tui::app::App;
use event_loop::run_loop;
use live::{Live, World};
use popups::Desk;

/// How the TUI reaches its inbox.
pub enum Target {
    /// A dispatcher on another machine (`--server`).
    Remote { authority: String, token: String, tls: Option<crate::tls::Tls> },
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
    let Ok(file) = std::os::unix::fs::OpenOptionsExt::mode(&mut std::fs::OpenOptions::new(), 0o600)
        .create(true)
        .append(true)
        .open(paths.log_file())
    else {
        return;
    };
    let filter = crate::logging::filter();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// How the user set up the screen: `[tui.keys]` and `[tui.theme]`.
#[derive(Debug, Clone, Default)]
pub struct Ui {
    pub keys: crate::tui::keymap::Keymap,
    pub theme: crate::tui::theme::Theme,
}

/// Runs the TUI until the user quits (or SIGTERM). The terminal is restored in every case.
/// With [`Target::Local`] and no engine answering on the local socket, `start_engine` runs
/// one in this process: it serves the socket, calls `ready` once it listens, and returns when
/// `stop` resolves (or at once, with the reason, when it cannot start).
pub fn run<S, F>(paths: Paths, target: Target, ui: Ui, start_engine: S) -> Result<(), String>
where
    S: Fn(EngineHooks) -> F + Send + Sync + 'static,
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
        let start_engine = Arc::new(start_engine);
        let (transport, host, engine) = connect_target(&paths, target, &*start_engine).await?;
        // A client of another process's engine takes it over when that process quits.
        let taken: Arc<Mutex<Option<EngineTask>>> = Arc::default();
        let successor = match (&transport, &engine) {
            (Transport::Unix(socket), None) => {
                Some(Successor { socket: socket.clone(), start: start_engine, taken: Arc::clone(&taken) })
            }
            _ => None,
        };
        // Raw mode, the alternate screen and a panic hook that restores the terminal first.
        let mut terminal = ratatui::init();
        let _ = execute!(std::io::stdout(), EnableMouseCapture, EnableFocusChange);
        let result = live_loop(&mut terminal, transport, host, (remote, ui), successor).await;
        let _ = execute!(std::io::stdout(), DisableMouseCapture, DisableFocusChange);
        ratatui::restore();
        let taken = taken.lock().ok().and_then(|mut t| t.take());
        for (stop, task) in engine.into_iter().chain(taken) {
            stop.cancel();
            let _ = task.await;
        }
        result
    })
}

/// What a TUI that uses another process's engine needs to become its successor: when the
/// connection drops and nothing answers on the socket any more (that process quit), it
/// starts the engine here (serving the socket), so it and every other client reconnect to
/// it within a few seconds. The store's engine lock makes sure only one successor wins; the
/// others find the socket answering again and stay clients.
pub(super) struct Successor<S> {
    socket: PathBuf,
    start: Arc<S>,
    taken: Arc<Mutex<Option<EngineTask>>>,
}

/// How long a successor keeps trying while the old engine lets go of the store.
const TAKEOVER_TRIES: u32 = 50;
const TAKEOVER_PAUSE: Duration = Duration::from_millis(200);

impl<S, F> Successor<S>
where
    S: Fn(EngineHooks) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    /// A closure for the live inputs to call on every disconnect: it starts at most one
    /// takeover at a time, and none once this process hosts the engine.
    pub(super) fn arm(self, client: ClientHandle) -> Box<dyn FnMut() + Send> {
        let busy = Arc::new(AtomicBool::new(false));
        Box::new(move || {
            let hosting = self.taken.lock().map(|t| t.is_some()).unwrap_or(true);
            if hosting || busy.swap(true, Ordering::SeqCst) {
                return;
            }
            let (socket, start, taken) =
                (self.socket.clone(), Arc::clone(&self.start), Arc::clone(&self.taken));
            let (busy, client) = (Arc::clone(&busy), client.clone());
            tokio::spawn(async move {
                for _ in 0..TAKEOVER_TRIES {
                    if tokio::net::UnixStream::connect(&socket).await.is_ok() {
                        // Someone serves it again (another successor, or a daemon).
                        break;
                    }
                    match start_embedded(&socket, &*start).await {
                        Ok(engine) => {
                            tracing::info!("the engine's process quit; this TUI runs the engine now");
                            if let Ok(mut t) = taken.lock() {
                                *t = Some(engine);
                            }
                            client.reconnect();
                            break;
                        }
                        // The old engine still holds the store: try again in a moment.
                        Err(e) => tracing::debug!(error = %e, "taking over the engine"),
                    }
                    tokio::time::sleep(TAKEOVER_PAUSE).await;
                }
                busy.store(false, Ordering::SeqCst);
            });
        })
    }
}

type EngineTask = (CancellationToken, tokio::task::JoinHandle<()>);

/// Picks the transport; starts the embedded engine when no local one answers.
async fn connect_target<S, F>(
    paths: &Paths,
    target: Target,
    start_engine: &S,
) -> Result<(Transport, Option<String>, Option<EngineTask>), String>
where
    S: Fn(EngineHooks) -> F,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    match target {
        Target::Remote { authority, token, tls } => {
            Ok((Transport::Tcp { authority: authority.clone(), token, tls }, Some(authority), None))
        }
        Target::Local => {
            let socket = paths.socket();
            if tokio::net::UnixStream::connect(&socket).await.is_ok() {
                return Ok((Transport::Unix(socket), Some("local engine".into()), None));
            }
            match start_embedded(&socket, start_engine).await {
                Ok(engine) => Ok((Transport::Unix(socket), None, Some(engine))),
                Err(_) => {
                    Err(format!("the embedded engine did not start; see {}", paths.log_file().display()))
                }
            }
        }
    }
}

/// Starts the engine in this process and waits until it serves the socket; `Err` with the
/// reason when it stopped first (e.g. another process's engine still holds the store).
async fn start_embedded<S, F>(socket: &std::path::Path, start_engine: &S) -> Result<EngineTask, String>
where
    S: Fn(EngineHooks) -> F,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    let stop = CancellationToken::new();
    let (tx, rx) = oneshot::channel::<()>();
    let hooks = EngineHooks {
        ready: Box::new(move || {
            let _ = tx.send(());
        }),
        stop: Box::pin(stop.clone().cancelled_owned()),
    };
    let engine = start_engine(hooks);
    let (done_tx, done_rx) = oneshot::channel::<String>();
    let task = tokio::spawn(async move {
        if let Err(e) = engine.await {
            tracing::error!(error = %e, "embedded engine stopped");
            let _ = done_tx.send(e);
        }
    });
    match rx.await {
        Ok(()) => Ok((stop, task)),
        Err(_) => {
            let _ = task.await;
            let why = done_rx.await.unwrap_or_else(|_| "it stopped".into());
            Err(format!("the engine did not start on {}: {why}", socket.display()))
        }
    }
}

/// The loop on the real terminal, with the live inputs and effects.
async fn live_loop<S, F>(
    terminal: &mut ratatui::DefaultTerminal,
    transport: Transport,
    host: Option<String>,
    (remote, ui): (bool, Ui),
    successor: Option<Successor<S>>,
) -> Result<(), String>
where
    S: Fn(EngineHooks) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    // Bounded in frames: a snapshot page is 500 items, so this holds a large inbox at most
    // once more while the loop applies it (the actor waits when it is full).
    let (events_tx, events) = mpsc::channel(256);
    let (answers_tx, answers) = mpsc::channel(16);
    let client = spawn(transport.clone(), events_tx);
    let takeover = successor.map(|s| s.arm(client.clone()));
    let mut world = World { client, transport, answers: answers_tx, popups: Desk::default(), pipe: None };
    let mut inputs = Live::new(events, answers, takeover)?;
    let mut app = App::new(Timestamp::now());
    app.system_zone = jiff::tz::TimeZone::system().iana_name().map(str::to_string);
    app.popups.remote = remote;
    app.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    (app.keys, app.theme) = (ui.keys, ui.theme);
    run_loop(terminal, &mut app, &mut inputs, &mut world, &host).await
}
