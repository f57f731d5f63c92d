//! `e`: the item in the user's `$PAGER` (`less` when unset), run through `sh -c` as git
//! does, with the TUI's terminal handed over (raw mode, the alternate screen and mouse
//! capture off) and taken back after. The loop stops reading keys meanwhile.

use std::io::Write;
use std::process::{Command, Stdio};

use crossterm::event::{DisableFocusChange, DisableMouseCapture, EnableFocusChange, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};

/// Shows `text` in the pager and waits for it; the terminal is the TUI's again after, even
/// when the pager could not run.
pub(super) fn page(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout();
    let _ = execute!(out, DisableMouseCapture, DisableFocusChange, LeaveAlternateScreen);
    let _ = disable_raw_mode();
    let result = run(text);
    let _ = enable_raw_mode();
    let _ = execute!(out, EnterAlternateScreen, EnableMouseCapture, EnableFocusChange);
    result
}

fn run(text: &str) -> Result<(), String> {
    let pager = std::env::var("PAGER").ok().filter(|p| !p.trim().is_empty()).unwrap_or_else(|| "less".into());
    let mut child = Command::new("sh")
        .args(["-c", &pager])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{pager}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A pager that quits early closes its end: not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    let status = child.wait().map_err(|e| format!("{pager}: {e}"))?;
    // `sh` says 127 when the command is not there.
    if status.code() == Some(127) {
        return Err(format!("{pager}: not found (set PAGER)"));
    }
    Ok(())
}
