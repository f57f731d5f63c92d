//! The terminal UI's pure core, in The Elm Architecture (DESIGN §2, §11): [`app::App`] is the
//! whole state (a replica of the user's inbox plus what the screen shows), [`action::Action`]
//! is everything that can happen to it (keys, sync frames, timers), [`update::update`] turns
//! one action into a new state and a list of [`effect::Effect`]s, and [`view::view`] draws a
//! state. Nothing here touches the terminal, the network or the clock: the shell (a later
//! module) owns those, converts their events into actions and runs the effects. That keeps
//! every behaviour testable on plain values and every screen testable on ratatui's
//! `TestBackend`.

pub mod action;
pub mod app;
pub mod detail_lines;
pub mod details;
pub mod effect;
pub mod index;
pub mod layout;
pub mod prefs;
pub mod presets;
pub mod replica;
pub mod row;
pub mod shell;
pub mod state;
pub mod update;
pub mod view;
pub mod words;

#[cfg(test)]
mod tests;
