//! One engine per SQLite store: a running engine holds an advisory lock on a file beside
//! it, so a second one (which would fan out only its own commits) is refused, and writers
//! that would bypass the engine can tell it runs. A PostgreSQL store takes any number of
//! engines (nodes, DESIGN §5a): they register in the database instead (see
//! `store::postgres::node`), which is how a writer tells one runs.

use std::path::PathBuf;

use crate::store::{Location, StoreError, nodes_running};

/// The engine's hold on its store, released when dropped.
pub enum EngineGuard {
    File(#[allow(dead_code, reason = "held for its lock")] std::fs::File),
    /// A store shared by nodes: nothing to hold.
    Shared,
}

/// Takes the engine lock of the store at `location`.
pub(super) fn engine_lock(location: &Location) -> Result<EngineGuard, StoreError> {
    match location {
        Location::Sqlite(path) => file_lock(path).map(EngineGuard::File),
        Location::Postgres(_) => Ok(EngineGuard::Shared),
    }
}

/// Whether an engine runs on the store at `location`.
pub fn engine_running_at(location: &Location) -> bool {
    match location {
        Location::Sqlite(path) => engine_running(path),
        Location::Postgres(url) => nodes_running(url),
    }
}

/// The lock file beside a store that an engine holds while it runs.
pub fn lock_path(store_path: &std::path::Path) -> PathBuf {
    store_path.with_extension("lock")
}

/// Takes the store's engine lock (an advisory `flock`): a second engine on the same store
/// would fan out only its own commits, so it is refused.
fn file_lock(store_path: &std::path::Path) -> Result<std::fs::File, StoreError> {
    if let Some(dir) = store_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let path = lock_path(store_path);
    let file = std::os::unix::fs::OpenOptionsExt::mode(&mut std::fs::OpenOptions::new(), 0o600)
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
    // A process asking whether an engine runs (`engine_running`) holds the lock for an
    // instant; an engine holds it for good. So a refusal is believed only after a few
    // milliseconds of it (a daemon starting beside such a question refused itself).
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(20);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::yield_now();
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Taken(format!(
                    "another campanile engine already runs on {}",
                    store_path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Io(format!("{}: {e}", path.display())));
            }
        }
    }
}

/// Whether an engine holds the store (for writers that would bypass it).
pub fn engine_running(store_path: &std::path::Path) -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open(lock_path(store_path))
        .is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}
