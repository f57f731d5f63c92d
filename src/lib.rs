//! Campanile: a notification centre for people who live in a terminal. The library holds
//! everything; `main.rs` only picks the mode.

mod bench;
mod bench_delivery;
mod bench_users;
pub mod channels;
pub mod cli;
pub mod client;
pub mod config;
mod delivery;
pub mod dispatch;
pub mod engine;
pub mod hooks;
pub mod local;
mod logging;
pub mod model;
/// Preferences are part of the model; `crate::prefs` stays their short path.
pub use model::prefs;
mod server;
pub mod store;
pub mod sync;
mod template;
pub mod tls;
pub mod tui;
mod workflows;
