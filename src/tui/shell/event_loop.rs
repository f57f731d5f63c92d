//! The TUI's run loop, generic over the ratatui [`Backend`], where its input comes from
//! ([`Inputs`]) and what carries out its effects ([`Perform`]), so a test drives this very
//! loop on `TestBackend` with a scripted input (gitui's pattern). It draws when something
//! changed (never on a timer while nothing did), waits for one input, takes what else is
//! already waiting up to a burst, and turns each input into actions for `update` in order,
//! a key through the keymap of the mode it arrives in. `Redraw` and `Quit` are its own
//! effects; every other goes to the performer, whose immediate answers go back into
//! `update` before the next input. It sets up no terminal, starts no runtime and reads no
//! clock: [`super::run`] does those.

use std::collections::VecDeque;
use std::future::Future;

use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, MouseEventKind};
use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::sync::client::ClientEvent;
use crate::tui::action::{Action, Key};
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::state::Mode;
use crate::tui::update::update;
use crate::tui::view::view;

/// At most this many waiting inputs are handled before a frame is drawn.
const BURST: usize = 256;

/// Something that happened outside the loop.
#[derive(Debug)]
pub enum Input {
    /// A key, a mouse event, a resize or a focus change.
    Terminal(Event),
    /// The sync client connected, brought a frame, or lost the connection.
    Client(ClientEvent),
    /// An effect's answer that came later (REST, a popup), already an action.
    Answer(Action),
    /// The clock, about once a second.
    Tick(Timestamp),
    /// SIGTERM: leave as `q` does.
    Terminate,
}

/// Where the loop's inputs come from.
pub trait Inputs {
    /// The next input, waiting for one; `None` once no more can come (the loop ends).
    fn next(&mut self) -> impl Future<Output = Option<Input>>;

    /// An input that is already waiting, without waiting: taken into the same burst, drawn
    /// once with it.
    fn ready(&mut self) -> Option<Input>;

    /// Stops reading the terminal while another program (the pager) has it, so no key meant
    /// for that program is taken here.
    fn pause_terminal(&mut self) {}

    /// Reads the terminal again.
    fn resume_terminal(&mut self) {}
}

/// What carries out the effects `update` asks for.
pub trait Perform {
    /// Carries out one effect (never `Redraw` or `Quit`, which are the loop's); returns the
    /// actions that answer it at once.
    fn perform(&mut self, effect: Effect) -> Vec<Action>;
}

/// Runs the TUI on `terminal` until the user quits, SIGTERM arrives or the inputs end.
/// `host` names the server in the header (`None`: the engine in this process).
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    inputs: &mut impl Inputs,
    world: &mut impl Perform,
    host: &Option<String>,
) -> Result<(), String> {
    let size = terminal.size().map_err(|e| e.to_string())?;
    let mut state = Flow { dirty: true, quit: false, page: None };
    state.apply(app, world, Action::Resize { width: size.width, height: size.height });
    while !state.quit {
        if state.dirty {
            terminal.draw(|f| view(app, f)).map_err(|e| e.to_string())?;
            state.dirty = false;
        }
        let Some(first) = inputs.next().await else { break };
        let mut burst = vec![first];
        while burst.len() < BURST
            && let Some(more) = inputs.ready()
        {
            burst.push(more);
        }
        for input in burst {
            match input {
                Input::Terminate => state.quit = true,
                Input::Terminal(ev) => {
                    if let Some(a) = terminal_action(ev, app.mode, &app.keys) {
                        state.apply(app, world, a);
                    }
                }
                Input::Client(ev) => state.apply(app, world, client_action(ev, host)),
                Input::Answer(a) => state.apply(app, world, a),
                Input::Tick(now) => state.apply(app, world, Action::Tick(now)),
            }
        }
        // The terminal goes to the pager and comes back; everything is drawn anew.
        if let Some(text) = state.page.take() {
            inputs.pause_terminal();
            let answers = world.perform(Effect::Page(text));
            inputs.resume_terminal();
            // Blank screen, and a blank last frame to diff against, so the next draw writes
            // every cell. (`Terminal::clear` would ask the terminal where its cursor is.)
            terminal.backend_mut().clear().map_err(|e| e.to_string())?;
            terminal
                .draw(|f| f.render_widget(ratatui::widgets::Clear, f.area()))
                .map_err(|e| e.to_string())?;
            state.dirty = true;
            for a in answers {
                state.apply(app, world, a);
            }
        }
    }
    Ok(())
}

/// Whether to draw, whether to stop, and what to show in the pager after this burst.
struct Flow {
    dirty: bool,
    quit: bool,
    page: Option<String>,
}

impl Flow {
    /// Runs one action through `update`, then the effects, then their answers, in order.
    fn apply(&mut self, app: &mut App, world: &mut impl Perform, action: Action) {
        let mut queue = VecDeque::from([action]);
        while let Some(a) = queue.pop_front() {
            for effect in update(app, a) {
                match effect {
                    Effect::Redraw => self.dirty = true,
                    Effect::Quit => self.quit = true,
                    Effect::Page(text) => self.page = Some(text),
                    other => queue.extend(world.perform(other)),
                }
            }
        }
    }
}

/// What a terminal event asks of `update` in `mode`, if anything.
fn terminal_action(ev: Event, mode: Mode, keys: &crate::tui::keymap::Keymap) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => {
            key_of(k.code, k.modifiers).and_then(|key| keys.action(mode, key))
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => Some(Action::MoveDown),
            MouseEventKind::ScrollUp => Some(Action::MoveUp),
            MouseEventKind::Down(_) => Some(Action::Click { column: m.column, row: m.row }),
            _ => None,
        },
        Event::Resize(width, height) => Some(Action::Resize { width, height }),
        Event::FocusGained => Some(Action::FocusGained),
        Event::FocusLost => Some(Action::FocusLost),
        _ => None,
    }
}

/// A crossterm key as the keymap knows it (Ctrl-C is `q`).
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

fn client_action(ev: ClientEvent, host: &Option<String>) -> Action {
    match ev {
        ClientEvent::Connected => Action::Connected { host: host.clone() },
        ClientEvent::Frame(f) => Action::Frame(f),
        ClientEvent::Refused { reason } => {
            tracing::error!(%reason, "the server refused the token; not retrying");
            Action::Refused { reason }
        }
        ClientEvent::Disconnected { retry_in } => {
            Action::Disconnected { retry_in_secs: Some(retry_in.as_secs().max(1)) }
        }
    }
}
