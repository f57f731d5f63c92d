//! Copying to the clipboard the way that works over SSH and inside tmux: the OSC 52 escape
//! sequence, written to the terminal between frames. The terminal (or tmux with
//! `set-clipboard on`) puts the text on its clipboard; one that does not know the sequence
//! ignores it.

use std::io::Write;

use base64::Engine;

/// The escape sequence that asks the terminal to put `text` on the clipboard.
pub(crate) fn osc52(text: &str) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{data}\x07")
}

pub(super) fn copy(text: &str) {
    let mut out = std::io::stdout();
    if let Err(e) = out.write_all(osc52(text).as_bytes()).and_then(|()| out.flush()) {
        tracing::warn!(error = %e, "could not write the clipboard sequence");
    }
}
