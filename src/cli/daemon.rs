//! `campanile daemon`: the headless dispatcher. Logs go to stderr (structured, `RUST_LOG`
//! filters); SIGINT or SIGTERM drains and stops; systemd is told when it is ready.

use std::net::SocketAddr;

use clap::Args;

use super::{Env, Failure};
use crate::local::{Serve, notify_ready, run as run_engine};

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Address for the REST API and websocket stream [default: the config's daemon.listen]
    #[arg(long, env = "CAMPANILE_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Do not serve the local engine socket (by default it is served in a user session,
    /// that is when $XDG_RUNTIME_DIR is set)
    #[arg(long)]
    no_socket: bool,
}

pub fn run(env: Env, args: &DaemonArgs) -> Result<(), Failure> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = super::colour(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
    let listen = match args.listen {
        Some(a) => a,
        None => {
            env.config.daemon.listen.parse().map_err(|_| Failure::input("daemon.listen: not an address"))?
        }
    };
    let socket = !args.no_socket && std::env::var_os("XDG_RUNTIME_DIR").is_some();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::check(format!("cannot start the runtime: {e}")))?;
    let paths = env.paths.clone();
    let socket_path = paths.socket();
    runtime.block_on(async move {
        run_engine(
            &paths,
            env.config,
            Serve { tcp: Some(listen), socket },
            |addr| {
                let addr = addr.map(|a| a.to_string()).unwrap_or_default();
                if socket {
                    tracing::info!(listen = %addr, socket = %socket_path.display(), store = %paths.store().display(), "campanile daemon ready");
                } else {
                    tracing::info!(listen = %addr, store = %paths.store().display(), "campanile daemon ready");
                }
                notify_ready();
            },
            shutdown_signal(),
        )
        .await
        .map_err(|e| Failure::input(e.to_string()))
    })
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
