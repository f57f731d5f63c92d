//! The terminal UI, in The Elm Architecture (DESIGN §2, §11): [`app::App`] is the whole state
//! (a replica of the user's inbox plus what the screen shows), [`action::Action`] is
//! everything that can happen to it (keys, sync frames, timers, answers of effects),
//! [`update::update`] turns one action into a new state and a list of [`effect::Effect`]s, and
//! [`view::view`] draws a state. All of that is pure: no terminal, network or clock. The
//! [`shell`] owns those: its run loop (generic over the ratatui backend, so tests drive it on
//! `TestBackend`) turns their events into actions and carries out the effects.
//!
//! The layers, as `tests/architecture.rs` here checks them: no file imports one that imports
//! it back; [`state`] (modes, tabs, presets), `words`, `layout` and `row` are leaves; `update`
//! never reaches into `view`; and nothing here names the store, the server, the dispatcher or
//! the local engine: the TUI reaches them through the sync protocol, and the binary hands the
//! shell the function that starts an embedded engine.

pub mod action;
pub mod app;
mod detail_lines;
mod details;
pub mod effect;
pub(crate) mod groups;
mod index;
pub mod keymap;
mod layout;
mod palette;
pub mod prefs;
mod presets;
mod replica;
mod row;
pub mod shell;
pub mod state;
pub mod theme;
pub mod update;
pub mod view;
mod words;

#[cfg(test)]
mod tests;
