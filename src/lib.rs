//! Campanile: a notification centre for people who live in a terminal. The library holds
//! everything; `main.rs` only picks the mode.

pub mod cli;
pub mod config;
pub mod engine;
pub mod model;
pub mod prefs;
pub mod store;
