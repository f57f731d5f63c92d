//! The TUI's impure shell: it owns the terminal, the sync client and the clock, turns their
//! events into [`Action`]s for the pure `update`, runs the [`Effect`]s it returns, and draws
//! once after each burst of messages (never on a timer while nothing changed). It also
//! reports presence (terminal focus, the thread open in the detail pane) so the engine does
//! not ping the user about what they are reading. Its REST calls live in [`rest`], the
//! desktop popups a remote client raises in [`popups`]. Logs go to a file, never to the
//! screen.

mod popups;
mod rest;

pub use rest::{answer, rest_target};

use std::io::IsTerminal;
use std::time::Duration;

use crossterm::event::{
    DisableFocusChange, DisableMouseCapture, EnableFocusChange, EnableMouseCapture, Event, EventStream,
    KeyCode, KeyEventKind, KeyModifiers, MouseEventKind,
};
use crossterm::execute;
use futures_util::StreamExt;
use jiff::Timestamp;
use tokio::sync::mpsc;

use super::action::{Action, Key, PrefsAction, key_to_action};
use super::app::App;
use super::effect::Effect;
use super::update::update;
use super::view::view;
use crate::config::{Config, Paths};
use crate::engine::PresenceState;
use crate::sync::client::{ClientEvent, ClientHandle, Transport, spawn};
use crate::sync::protocol::ClientFrame;
use popups::Popups;

/// How the TUI reaches its inbox.
pub enum Target {
    /// A dispatcher on another machine (`--server`).
    Remote { authority: String, token: String },
    /// The local engine: its socket if one answers, else started in this process.
    Local,
}

/// A presence heartbeat keeps the engine's view fresh within its TTL.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// At most this many queued messages are handled before a frame is drawn.
const BURST: usize = 256;

fn key_of(code: KeyCode, mods: KeyModifiers) -> Option<Key> {
    if mods.contains(KeyModifiers::CONTROL) && code == KeyCode::Char('c') {
        return Some(Key::Char('q'));
    }
    if mods.contains(KeyModifiers::CONTROL)
        && let KeyCode::Char(c) = code
    {
        return Some(Key::Ctrl(c.to_ascii_lowercase()));
    }
    Some(match code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Delete => Key::Delete,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        _ => return None,
    })
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
pub fn run(paths: Paths, config: Config, target: Target) -> Result<(), String> {
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
        let (transport, host, engine) = connect_target(&paths, config, target).await?;
        let mut terminal = ratatui::init();
        let _ = execute!(std::io::stdout(), EnableMouseCapture, EnableFocusChange);
        let result = event_loop(&mut terminal, transport, host, remote).await;
        let _ = execute!(std::io::stdout(), DisableMouseCapture, DisableFocusChange);
        ratatui::restore();
        if let Some((stop, task)) = engine {
            stop.cancel();
            let _ = task.await;
        }
        result
    })
}

type EngineTask = (tokio_util::sync::CancellationToken, tokio::task::JoinHandle<()>);

/// Picks the transport; starts the embedded engine when no local one answers.
async fn connect_target(
    paths: &Paths,
    config: Config,
    target: Target,
) -> Result<(Transport, Option<String>, Option<EngineTask>), String> {
    match target {
        Target::Remote { authority, token } => {
            Ok((Transport::Tcp { authority: authority.clone(), token }, Some(authority), None))
        }
        Target::Local => {
            let socket = paths.socket();
            if tokio::net::UnixStream::connect(&socket).await.is_ok() {
                return Ok((Transport::Unix(socket), Some("local engine".into()), None));
            }
            let stop = tokio_util::sync::CancellationToken::new();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let (p, s) = (paths.clone(), stop.clone());
            let task = tokio::spawn(async move {
                let serve = crate::local::Serve { tcp: None, socket: true };
                let ready = move |_| {
                    let _ = tx.send(());
                };
                if let Err(e) =
                    crate::local::run(&p, config, serve, ready, async move { s.cancelled().await }).await
                {
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

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    transport: Transport,
    host: Option<String>,
    remote: bool,
) -> Result<(), String> {
    // Bounded in frames: a snapshot page is 500 items, so this holds a large inbox at most
    // once more while the loop applies it (the actor waits when it is full).
    let (events_tx, mut events) = mpsc::channel(256);
    let (replies_tx, mut replies) = mpsc::channel(16);
    let client = spawn(transport.clone(), events_tx);
    let shell = Shell { client, transport, replies: replies_tx };
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    let mut app = App::new(Timestamp::now());
    app.system_zone = jiff::tz::TimeZone::system().iana_name().map(str::to_string);
    let size = terminal.size().map_err(|e| e.to_string())?;
    let mut presence = PresenceReporter::default();
    let (notes_tx, mut notes) = mpsc::channel::<String>(8);
    let mut popups = Popups::new(remote, notes_tx);
    let mut dirty = true;
    let mut quit = false;
    let first = update(&mut app, Action::Resize { width: size.width, height: size.height });
    run_effects(first, &shell, &mut dirty, &mut quit);
    while !quit {
        if dirty {
            terminal.draw(|f| view(&app, f)).map_err(|e| e.to_string())?;
            dirty = false;
        }
        let mut actions = Vec::new();
        tokio::select! {
            Some(Ok(ev)) = input.next() => {
                match ev {
                    Event::Key(k) if k.kind != KeyEventKind::Release => {
                        if let Some(a) = key_of(k.code, k.modifiers).and_then(|key| key_to_action(app.mode, key)) {
                            actions.push(a);
                        }
                    }
                    Event::Mouse(m) => match m.kind {
                        MouseEventKind::ScrollDown => actions.push(Action::MoveDown),
                        MouseEventKind::ScrollUp => actions.push(Action::MoveUp),
                        MouseEventKind::Down(_) => actions.push(Action::Click { column: m.column, row: m.row }),
                        _ => {}
                    },
                    Event::Resize(width, height) => actions.push(Action::Resize { width, height }),
                    Event::FocusGained => presence.focused = true,
                    Event::FocusLost => presence.focused = false,
                    _ => {}
                }
            }
            Some(ev) = events.recv() => {
                actions.push(client_action(ev, &host));
                // Take what else is queued, up to a burst, before drawing.
                while actions.len() < BURST {
                    match events.try_recv() {
                        Ok(ev) => actions.push(client_action(ev, &host)),
                        Err(_) => break,
                    }
                }
            }
            Some(a) = replies.recv() => actions.push(a),
            Some(note) = notes.recv() => {
                app.warn(note);
                dirty = true;
            }
            _ = tick.tick() => actions.push(Action::Tick(Timestamp::now())),
            _ = term.recv() => quit = true,
        }
        let mut queue = std::collections::VecDeque::from(actions);
        while let Some(a) = queue.pop_front() {
            if matches!(a, Action::Connected { .. }) {
                // A new connection knows nothing of our presence yet.
                presence.last = None;
            }
            popups.observe(&a, &shell.client);
            let effects = update(&mut app, a);
            queue.extend(run_effects(effects, &shell, &mut dirty, &mut quit));
        }
        presence.report(&app, &shell.client);
    }
    Ok(())
}

fn client_action(ev: ClientEvent, host: &Option<String>) -> Action {
    match ev {
        ClientEvent::Connected => Action::Connected { host: host.clone() },
        ClientEvent::Frame(f) => Action::Frame(f),
        ClientEvent::Disconnected { retry_in } => {
            Action::Disconnected { retry_in_secs: Some(retry_in.as_secs().max(1)) }
        }
    }
}

/// What running effects needs besides the client.
struct Shell {
    client: ClientHandle,
    transport: Transport,
    /// Answers of REST effects, back as actions.
    replies: mpsc::Sender<Action>,
}

fn run_effects(effects: Vec<Effect>, shell: &Shell, dirty: &mut bool, quit: &mut bool) -> Vec<Action> {
    let mut answers = Vec::new();
    for e in effects {
        match e {
            // `hello` included: the actor adds the token; the cursor is the replica's.
            Effect::Send(frame) => {
                if !shell.client.send(frame) {
                    tracing::warn!("the sync client is gone or busy; a frame was dropped");
                }
            }
            Effect::OpenUrl(url) => crate::channels::desktop::open_url(&url),
            Effect::Reconnect => shell.client.reconnect(),
            Effect::GenerateSecret => match crate::channels::webhook::new_secret() {
                Ok(secret) => answers.push(Action::Prefs(PrefsAction::SecretGenerated(secret))),
                Err(e) => tracing::error!(error = %e, "no randomness for a webhook secret"),
            },
            e @ (Effect::FetchDevices | Effect::RemoveDevice { .. }) => {
                let (transport, tx) = (shell.transport.clone(), shell.replies.clone());
                tokio::spawn(async move {
                    if let Some(a) = answer(&transport, e).await {
                        let _ = tx.send(a).await;
                    }
                });
            }
            Effect::Quit => *quit = true,
            Effect::Redraw => *dirty = true,
        }
    }
    answers
}

/// Sends `presence` when it changes, and as a heartbeat while active.
struct PresenceReporter {
    /// Terminals report focus changes only; one just started is in front of the user.
    focused: bool,
    last: Option<(PresenceState, Option<String>)>,
    sent_at: Option<std::time::Instant>,
}

impl Default for PresenceReporter {
    fn default() -> Self {
        PresenceReporter { focused: true, last: None, sent_at: None }
    }
}

impl PresenceReporter {
    fn report(&mut self, app: &App, client: &ClientHandle) {
        let state = if self.focused { PresenceState::Active } else { PresenceState::Idle };
        let viewing = if self.focused && app.detail_open {
            app.selected_item().and_then(|r| r.thread.as_deref().map(str::to_string))
        } else {
            None
        };
        let now = (state, viewing);
        let stale = self.sent_at.is_none_or(|t| t.elapsed() >= HEARTBEAT);
        if self.last.as_ref() != Some(&now) || (stale && now.0 == PresenceState::Active) {
            let frame = ClientFrame::Presence { state: now.0, viewing: now.1.clone() };
            if client.send(frame) {
                self.last = Some(now);
                self.sent_at = Some(std::time::Instant::now());
            }
        }
    }
}
