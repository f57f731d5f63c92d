//! The sync protocol shared by the server and every client (DESIGN §6): frame types only,
//! so that the server, the TUI and outside clients agree on one definition.

pub mod client;
pub mod protocol;
