//! Tests of the pure TUI core on plain values: `update` action by action, the replica against
//! a fake server across a disconnect, the keymap, and every screen through ratatui's
//! `TestBackend` with insta snapshots (a fixed `now`, so ages never change).

mod architecture;
mod fixtures;
mod grouping;
mod index;
mod keymap;
mod keys;
mod palette;
mod pipe;
mod prefs_devices;
mod prefs_edit;
mod prefs_required;
mod prefs_rules;
mod prefs_save;
mod prefs_secret;
mod prefs_view;
mod purity;
mod replica;
mod rust_paths;
mod select;
mod series;
mod shell_loop;
mod threads;
mod update_commands;
mod update_effects;
mod update_nav;
mod update_sync;
mod view;
mod view_small;
