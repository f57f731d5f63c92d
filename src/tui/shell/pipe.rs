//! `|`: runs the command the user typed with `sh -c`, the item's JSON on its stdin, while the
//! TUI goes on (the terminal stays the TUI's: the command has no tty, only pipes). Its stdout
//! and stderr are read together as they come, up to [`CAP`] bytes; it gets [`TIMEOUT`] to
//! finish. Past either, or when the user closes the pane, its whole process group is killed,
//! so a `sleep` it started does not linger. What it printed comes back with control
//! characters made visible (a command's escape sequences must not drive the terminal).

use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::tui::action::PipeOutcome;

/// How long a piped command may run.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of its output is kept.
pub(crate) const CAP: usize = 64 * 1024;

/// How the reading ended.
enum End {
    /// Both outputs closed.
    Closed,
    Cut,
    TimedOut,
    Stopped,
}

/// Runs `command` on `input` for at most `limit` ([`TIMEOUT`] in the TUI); the outcome is
/// for run `run`.
pub(crate) async fn run(
    run: u64,
    command: &str,
    input: String,
    stop: CancellationToken,
    limit: Duration,
) -> PipeOutcome {
    let outcome =
        |output: String, cut: bool, ended: String, ok: bool| PipeOutcome { run, output, cut, ended, ok };
    let mut child = match tokio::process::Command::new("sh")
        // One pipe for both streams, so the pane shows them in the order they were written.
        .args(["-c", &format!("exec 2>&1\n{command}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return outcome(String::new(), false, format!("could not start sh: {e}"), false),
    };
    let group = child.id().and_then(|id| Pid::from_raw(i32::try_from(id).ok()?));
    // Fed on its own, so a command that prints before it reads (or never reads) cannot
    // stall us; one that quits early closes the pipe, which is not an error.
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let _ = stdin.write_all(input.as_bytes()).await;
        });
    }
    let mut out = Vec::new();
    let end = match (child.stdout.take(), child.stderr.take()) {
        (Some(o), Some(e)) => tokio::select! {
            end = tokio::time::timeout(limit, collect(o, e, &mut out)) => end.unwrap_or(End::TimedOut),
            () = stop.cancelled() => End::Stopped,
        },
        _ => End::Closed,
    };
    if !matches!(end, End::Closed)
        && let Some(g) = group
    {
        let _ = kill_process_group(g, Signal::KILL);
    }
    // Both outputs are closed (or it was killed): `sh` is done or about to be.
    let status = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    let output = visible(&String::from_utf8_lossy(&out));
    let cut = matches!(end, End::Cut);
    match (end, status) {
        (End::TimedOut, _) => outcome(output, cut, format!("stopped after {} s", limit.as_secs()), false),
        (End::Stopped, _) => outcome(output, cut, "stopped".into(), false),
        (End::Cut, _) => {
            outcome(output, cut, format!("stopped: it printed more than {} KiB", CAP / 1024), false)
        }
        (End::Closed, Ok(Ok(s))) => match s.code() {
            Some(0) => outcome(output, cut, "exit 0".into(), true),
            Some(127) => outcome(output, cut, "exit 127: command not found".into(), false),
            Some(c) => outcome(output, cut, format!("exit {c}"), false),
            None => outcome(output, cut, "killed by a signal".into(), false),
        },
        (End::Closed, Ok(Err(e))) => outcome(output, cut, format!("could not wait for it: {e}"), false),
        (End::Closed, Err(_)) => {
            if let Some(g) = group {
                let _ = kill_process_group(g, Signal::KILL);
            }
            outcome(output, cut, "it closed its output but did not exit; stopped".into(), false)
        }
    }
}

/// Reads both outputs into `out` as the chunks come, until both close or the cap is passed.
async fn collect(mut a: impl AsyncRead + Unpin, mut b: impl AsyncRead + Unpin, out: &mut Vec<u8>) -> End {
    let (mut buf_a, mut buf_b) = ([0u8; 4096], [0u8; 4096]);
    let (mut a_open, mut b_open) = (true, true);
    while a_open || b_open {
        tokio::select! {
            r = a.read(&mut buf_a), if a_open => match r {
                Ok(n) if n > 0 => out.extend_from_slice(&buf_a[..n]),
                _ => a_open = false,
            },
            r = b.read(&mut buf_b), if b_open => match r {
                Ok(n) if n > 0 => out.extend_from_slice(&buf_b[..n]),
                _ => b_open = false,
            },
        }
        if out.len() > CAP {
            out.truncate(CAP);
            return End::Cut;
        }
    }
    End::Closed
}

/// Text with its control characters shown as symbols (ESC as `␛`), tabs as spaces and
/// carriage returns dropped; newlines stay.
pub(crate) fn visible(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '\r')
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            match c {
                '\n' => Box::new(std::iter::once('\n')),
                '\t' => Box::new(std::iter::repeat_n(' ', 4)),
                c if u32::from(c) < 0x20 => {
                    Box::new(std::iter::once(char::from_u32(0x2400 + u32::from(c)).unwrap_or('?')))
                }
                '\u{7f}' => Box::new(std::iter::once('␡')),
                c if c.is_control() => Box::new(std::iter::once('�')),
                c => Box::new(std::iter::once(c)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(command: &str, input: &str, limit: Duration) -> PipeOutcome {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(7, command, input.into(), CancellationToken::new(), limit))
    }

    #[test]
    fn the_json_goes_to_stdin_and_stdout_and_stderr_come_back_with_the_exit_status() {
        let o = outcome("tr a-z A-Z; echo oops >&2; exit 3", "{\"id\":\"x\"}\n", TIMEOUT);
        assert_eq!((o.run, o.ok, o.ended.as_str(), o.cut), (7, false, "exit 3", false));
        assert_eq!(o.output, "{\"ID\":\"X\"}\noops\n");
        let o = outcome("cat >/dev/null", "x", TIMEOUT);
        assert_eq!((o.ok, o.ended.as_str(), o.output.as_str()), (true, "exit 0", ""));
        let o = outcome("no-such-command-here", "", TIMEOUT);
        assert_eq!(o.ended, "exit 127: command not found");
        assert!(o.output.contains("not found"), "{}", o.output);
    }

    #[test]
    fn a_command_past_its_time_is_killed_with_what_it_started() {
        let started = std::time::Instant::now();
        // A duration no other process on the machine uses, to find what it left behind.
        let o = outcome("echo begun; sleep 30.4242 & sleep 30.4242", "", Duration::from_millis(300));
        assert_eq!((o.ok, o.ended.as_str(), o.output.as_str()), (false, "stopped after 0 s", "begun\n"));
        assert!(started.elapsed() < Duration::from_secs(5), "it did not wait: {:?}", started.elapsed());
        let left = std::process::Command::new("pgrep").args(["-f", "sleep 30.4242"]).output().unwrap();
        assert!(left.stdout.is_empty(), "the sleeps it started were killed: {:?}", left);
    }

    #[test]
    fn output_past_the_cap_is_cut_and_the_command_stopped() {
        let o = outcome("yes campanile", "", TIMEOUT);
        assert!(o.cut && !o.ok, "{}", o.ended);
        assert_eq!(o.output.len(), CAP);
        assert!(o.ended.starts_with("stopped: it printed more than 64 KiB"), "{}", o.ended);
    }

    #[test]
    fn escape_sequences_are_shown_not_sent() {
        assert_eq!(visible("\u{1b}[31mred\u{1b}[0m\tx\r\n"), "␛[31mred␛[0m    x\n");
    }
}
