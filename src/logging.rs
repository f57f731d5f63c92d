//! The tracing filter every entry point uses: `RUST_LOG` (default `info`), with the websocket
//! library held at `debug` whatever `RUST_LOG` says. At `trace` tungstenite logs each frame's
//! payload, and the first frame, `hello`, carries the client's token (DESIGN §9: no secret is
//! logged). This module only builds the filter; each binary installs its own subscriber.

use tracing_subscriber::EnvFilter;

/// Targets whose `trace` output holds frame payloads, so tokens.
const FRAME_LOGGERS: [&str; 2] = ["tungstenite", "tokio_tungstenite"];

/// `RUST_LOG` or `info`, with [`FRAME_LOGGERS`] capped at `debug`.
pub fn filter() -> EnvFilter {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    for target in FRAME_LOGGERS {
        if let Ok(d) = format!("{target}=debug").parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}
