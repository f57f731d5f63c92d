//! Running the engine on this machine: the headless daemon and the embedded engine share
//! this start-up. It opens the store, starts the dispatcher, serves the API on TCP (daemon)
//! and/or on the local engine socket (`$XDG_RUNTIME_DIR/campanile/engine.sock`, mode 0600,
//! the local user implicit), and shuts down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::net::{TcpListener, UnixListener, UnixStream};

use crate::config::{Config, Paths};
use crate::dispatch::{Dispatch, WriterGuard};
use crate::model::FieldError;
use crate::server::{AppState, serve};
use crate::store::{Location, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("another campanile engine already serves {0}")]
    AlreadyRunning(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Binds the engine socket: a leftover file from a crashed run is replaced; a live one means
/// another engine runs, and that is an error, not a takeover.
pub async fn bind_socket(path: &Path) -> Result<UnixListener, StartError> {
    let io = |e| StartError::Io(path.display().to_string(), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(StartError::AlreadyRunning(path.display().to_string()));
        }
        tracing::info!(socket = %path.display(), "replacing a stale engine socket");
        std::fs::remove_file(path).map_err(io)?;
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

/// The local user: the config's `user`, else `$USER`, else `me`.
/// Where the engine's store is: `daemon.store` (which `--store` and `CAMPANILE_STORE` set),
/// else the data directory's SQLite file.
pub fn store_location(paths: &Paths, config: &Config) -> Result<Location, FieldError> {
    if config.daemon.store.trim().is_empty() {
        return Ok(Location::Sqlite(paths.store()));
    }
    Location::parse(&config.daemon.store).map_err(|m| FieldError::new("daemon.store", m))
}

pub fn local_user(config: &Config) -> String {
    config
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "me".to_string())
}

/// Makes sure the local user exists in the store; on a fresh store, greets them with one
/// notification that explains the keys.
pub fn ensure_local_user(paths: &Paths, config: &Config) -> Result<String, StoreError> {
    let user = local_user(config);
    let mut store =
        store_location(paths, config).map_err(StoreError::from)?.open(config.daemon.synchronous)?;
    if !store.users()?.iter().any(|(n, _)| *n == user) {
        let now = jiff::Timestamp::now();
        store.upsert_user(&user, None, now)?;
        let policy = crate::dispatch::policy(config);
        let away = |_: &str| crate::engine::Presence::default();
        let ctx =
            crate::store::AcceptContext { policy: &policy, defaults: &config.defaults, presence: &away, now };
        let welcome = crate::store::Submission {
            producer: "campanile".into(),
            idempotency_key: Some("welcome".into()),
            default_user: Some(user.clone()),
            event: welcome_event(),
        };
        store.accept(&welcome, &ctx)?;
    }
    Ok(user)
}

fn welcome_event() -> crate::model::Event {
    crate::model::Event {
        id: None,
        kind: "campanile.welcome".into(),
        category: Some("system".into()),
        urgency: Some(crate::model::Urgency::Low),
        to: None,
        thread: None,
        collapse_key: None,
        actor: Some("campanile".into()),
        title: "Welcome to Campanile".into(),
        body: Some(
            "Your notifications land here. **j/k** move, **Enter** opens, **r** marks read, **a** archives, \
             **u** undoes, **s** snoozes, **/** searches, **f** filters, **m** mutes a thread, **D** is \
             do-not-disturb, **?** lists every key, **q** quits.\n\nPublish from scripts with \
             `campanile send --title \"Backup done\"`, or try `campanile demo` for a populated inbox."
                .into(),
        ),
        url: None,
        data: serde_json::Value::Null,
        occurred_at: None,
    }
}

/// What to serve.
pub struct Serve {
    pub tcp: Option<SocketAddr>,
    pub socket: bool,
}

/// Runs the dispatcher until `shutdown` resolves; `ready` is called once listeners are bound.
pub async fn run(
    paths: &Paths,
    config: Config,
    what: Serve,
    ready: impl FnOnce(Option<SocketAddr>),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    // Opening and migrating the store is blocking work: off the async threads.
    let user = if what.socket {
        let (p, c) = (paths.clone(), config.clone());
        Some(blocking(move || ensure_local_user(&p, &c)).await??)
    } else {
        None
    };
    let tcp = match what.tcp {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| StartError::Io(addr.to_string(), e))?),
        None => None,
    };
    let unix = match what.socket {
        true => Some(bind_socket(&paths.socket()).await?),
        false => None,
    };
    let store = store_location(paths, &config).map_err(StoreError::from)?;
    let (dispatch, writer): (Dispatch, WriterGuard) =
        blocking(move || Dispatch::start(config, store)).await??;
    let bound = tcp.as_ref().and_then(|l| l.local_addr().ok());
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = Vec::new();
    if let Some(l) = tcp {
        // Small frames must not wait for the peer's delayed ACK (Nagle): 40 ms stalls.
        let l = axum::serve::ListenerExt::tap_io(l, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let state = AppState::new(dispatch.clone(), None);
        let s = stop.clone();
        tasks.push(tokio::spawn(async move { serve(l, state, async move { s.cancelled().await }).await }));
    }
    let scheduler = tokio::spawn(crate::dispatch::scheduler(dispatch.clone(), stop.clone()));
    let token_watch = tokio::spawn(crate::dispatch::watch_tokens(dispatch.clone(), stop.clone()));
    let delivery = tokio::spawn(crate::delivery::run(dispatch.clone(), stop.clone()));
    // This process is the local user's engine: it raises their desktop popups.
    let desktop = user.clone().map(|u| {
        let (d, s) = (dispatch.clone(), stop.clone());
        tokio::spawn(crate::delivery::desktop::run(d, u, s))
    });
    if let Some(l) = unix {
        let state = AppState::new(dispatch.clone(), user);
        let s = stop.clone();
        tasks.push(tokio::spawn(async move { serve(l, state, async move { s.cancelled().await }).await }));
    }
    drop(dispatch);
    ready(bound);
    shutdown.await;
    tracing::info!("shutting down: no new connections, finishing what is in flight");
    if what.socket {
        // Unlinked while this engine still listens, so the path is surely still ours: a
        // successor that binds it after this line must keep its socket (removing the path
        // later, after the successor replaced it, would leave that one unreachable).
        let _ = std::fs::remove_file(paths.socket());
    }
    stop.cancel();
    if let Some(d) = desktop {
        let _ = d.await;
    }
    let _ = scheduler.await;
    let _ = token_watch.await;
    let _ = delivery.await;
    for t in tasks {
        match t.await {
            Ok(Err(e)) => tracing::error!(error = %e, "server stopped with an error"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
            Ok(Ok(())) => {}
        }
    }
    tokio::task::spawn_blocking(move || writer.join()).await.ok();
    tracing::info!("stopped");
    Ok(())
}

/// Runs blocking start-up work on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, StartError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StartError::Io("start-up".into(), std::io::Error::other(e.to_string())))
}

/// Tells systemd the service is ready (`Type=notify`), when started by it.
pub fn notify_ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let sock = match std::os::unix::net::UnixDatagram::unbound() {
        Ok(s) => s,
        Err(_) => return,
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|a| sock.send_to_addr(b"READY=1", &a))
    } else {
        sock.send_to(b"READY=1", Path::new(&path))
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

    use super::*;

    #[test]
    fn the_store_is_the_data_directory_s_file_unless_named() {
        let paths = Paths::resolve(None, &Config::default(), Some("/data".into()));
        let store = |text: &str| {
            let mut config = Config::default();
            config.daemon.store = text.into();
            store_location(&paths, &config)
        };
        assert_eq!(store("").unwrap(), Location::Sqlite("/data/campanile.db".into()));
        assert_eq!(store("sqlite:/elsewhere/c.db").unwrap(), Location::Sqlite("/elsewhere/c.db".into()));
        assert!(matches!(store("postgres://postgres@127.0.0.1/c").unwrap(), Location::Postgres(_)));
        assert_eq!(store("postgres://u@h:port/c").unwrap_err().field, "daemon.store");
    }
}
