//! The SQLite backend of the store (DESIGN §5): one file in WAL mode, one writer connection
//! and pooled readers, migrations in code. Each module implements one of the seam's traits
//! (`accept` [`Ingest`], `inbox` [`Inbox`], `read` [`Reads`], `prefs` [`Settings`],
//! `directory` [`Directory`], `hooks` [`Hooks`], `delivery` [`Outbox`], `schedule` [`Scheduler`], `audit`
//! [`AuditTrail`]) on top of the leaves `rows` (row mapping, view SQL) and `changes` (the
//! change log). SQLite is the default for one machine and for the embedded engine.
//!
//! [`Ingest`]: super::Ingest
//! [`Inbox`]: super::Inbox
//! [`Reads`]: super::Reads
//! [`Settings`]: super::Settings
//! [`Directory`]: super::Directory
//! [`Hooks`]: super::Hooks
//! [`Outbox`]: super::Outbox
//! [`Scheduler`]: super::Scheduler
//! [`AuditTrail`]: super::AuditTrail

mod accept;
mod attempts;
mod audit;
mod changes;
mod delivery;
mod directory;
mod hooks;
mod inbox;
#[cfg(test)]
mod plans;
mod prefs;
mod read;
mod rows;
mod schedule;
mod schema;
mod transfer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::{Integrity, Result, StorageFault, StoreError, Synchronous, new_id};

/// The writer's page cache. Every index is keyed by user, so a broadcast dirties about a
/// page per recipient in each: 5,000 recipients are some 60 MB of pages, and a smaller cache
/// (the default is 2 MiB; 16 MiB was tried) spills them mid-transaction and reads them
/// back. It fills only as far as the writes reach: one user's writes touch a few pages.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// One connection to the store file. The writer owns one; readers may open more.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    stream: String,
    prefs: prefs::PrefsCache,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let fault = match e.sqlite_error_code() {
            Some(C::DiskFull) => Some(StorageFault::DiskFull),
            Some(C::ReadOnly) => Some(StorageFault::ReadOnly),
            Some(C::PermissionDenied | C::CannotOpen) => Some(StorageFault::PermissionDenied),
            Some(C::DatabaseCorrupt | C::NotADatabase) => Some(StorageFault::Damaged),
            _ => None,
        };
        match fault {
            Some(f) => StoreError::Storage(f, e.to_string()),
            None => StoreError::Db(e.to_string()),
        }
    }
}

/// Gives `path` the private `mode` if others (or the group) may read it: the store holds
/// webhook secrets, addresses and what every notification said. Says so when it changes.
pub(crate) fn private(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
    let old = meta.permissions().mode() & 0o777;
    if old & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            StoreError::Storage(
                StorageFault::PermissionDenied,
                format!("cannot make {} private: {e}", path.display()),
            )
        })?;
        tracing::info!(path = %path.display(), from = format!("{old:o}"), to = format!("{mode:o}"), "made private");
    }
    Ok(())
}

/// Makes a new, migrated store at `path` whole or not at all: built under another name, then
/// linked into place (which fails if another process got there first, and then its store is
/// the one). A process killed half-way leaves no empty file at `path` to be refused later.
/// Created private: SQLite gives the WAL and shared-memory files the database's mode.
fn create(path: &Path) -> Result<()> {
    let io = |e: std::io::Error| StoreError::Io(format!("cannot create {}: {e}", path.display()));
    let building = PathBuf::from(format!("{}.new-{}", path.display(), std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
    }
    std::os::unix::fs::OpenOptionsExt::mode(&mut std::fs::OpenOptions::new(), 0o600)
        .write(true)
        .create_new(true)
        .open(&building)
        .map_err(io)?;
    {
        let mut conn = Connection::open(&building)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        rows::register_functions(&conn)?;
        migrate(&mut conn)?;
        stream_id(&mut conn)?;
        conn.pragma_update(None, "journal_mode", "DELETE")?;
    }
    let linked = std::fs::hard_link(&building, path);
    let _ = std::fs::remove_file(&building);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// The first bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Refuses a file that exists but is not a store: re-creating it would lose whatever it was
/// (an emptied store included) without a word.
fn refuse_foreign(path: &Path) -> Result<()> {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(()); // absent (a new store), or unreadable: opening it says which
    };
    let mut head = [0u8; 16];
    let n = file.read(&mut head).unwrap_or(0);
    let why = if n == 0 {
        "is empty"
    } else if n < 16 || &head != SQLITE_HEADER {
        "is not an SQLite database"
    } else {
        return Ok(());
    };
    Err(StoreError::Storage(
        StorageFault::Damaged,
        format!(
            "{} {why}, so it is not a Campanile store; move it away, or start the daemon with \
             --new-store to set it aside and begin a new, empty store",
            path.display()
        ),
    ))
}

impl SqliteStore {
    /// Opens (creating if needed) the store file and brings its schema up to date.
    pub fn open(path: &Path, sync: Synchronous) -> Result<SqliteStore> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", dir.display())))?;
            private(dir, 0o700)?;
        }
        refuse_foreign(path)?;
        if !path.exists() {
            create(path)?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                private(&file, 0o600)?;
            }
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Plans must not depend on bound values: otherwise SQLite re-prepares a cached
        // statement whenever its bindings change (a quarter of the accept path's CPU went
        // there), and a plan checked in a test could differ from the one that runs.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            match sync {
                Synchronous::Full => "FULL",
                Synchronous::Normal => "NORMAL",
            },
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Savepoints (one per event in a group commit) journal the pages they change; in
        // memory, not in a temporary file (that file's writes were a quarter of the writer's
        // time on a broadcast).
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        rows::register_functions(&conn)?;
        // Checkpoints happen on a connection of their own when writes pause (the dispatcher's
        // checkpointer); this is only the backstop, on the commit path, for a WAL that grew
        // past 80 MB regardless (a few broadcasts to 10,000 in a row fill 40).
        conn.pragma_update(None, "wal_autocheckpoint", 20_000)?;
        migrate(&mut conn)?;
        let stream = stream_id(&mut conn)?;
        Ok(SqliteStore { conn, path: path.to_path_buf(), stream, prefs: prefs::PrefsCache::default() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file at `path` (with its WAL and shared-memory files) out of the way if
    /// it is not a usable store: empty, not an SQLite database, or damaged. Returns the new
    /// name; a sound store, or no file, is left alone.
    pub fn set_aside_unusable(path: &Path) -> Result<Option<PathBuf>> {
        use super::Store;
        if !path.exists() {
            return Ok(None);
        }
        let unusable = refuse_foreign(path).is_err()
            || match SqliteStore::open(path, Synchronous::Normal) {
                Err(StoreError::Storage(StorageFault::Damaged, _)) => true,
                Err(e) => return Err(e),
                Ok(mut s) => matches!(s.check(Duration::from_secs(3600))?, Integrity::Damaged(_)),
            };
        if !unusable {
            return Ok(None);
        }
        let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
        let aside = PathBuf::from(format!("{}.set-aside-{stamp}", path.display()));
        for suffix in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", path.display()));
            if from.exists() {
                let to = PathBuf::from(format!("{}{suffix}", aside.display()));
                std::fs::rename(&from, &to).map_err(|e| {
                    StoreError::Io(format!("cannot set {} aside as {}: {e}", from.display(), to.display()))
                })?;
            }
        }
        Ok(Some(aside))
    }
}

impl super::Store for SqliteStore {
    fn stream(&self) -> &str {
        &self.stream
    }

    /// `PRAGMA quick_check` (every page of every table and index read, their structure
    /// checked), interrupted when `budget` runs out.
    fn check(&mut self, budget: Duration) -> Result<Integrity> {
        let handle = self.conn.get_interrupt_handle();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(budget) {
                handle.interrupt();
            }
        });
        let found: std::result::Result<Vec<String>, rusqlite::Error> = (|| {
            let mut stmt = self.conn.prepare("PRAGMA quick_check(20)")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })();
        drop(done);
        let _ = watchdog.join();
        match found {
            Ok(rows) if rows.len() == 1 && rows[0] == "ok" => Ok(Integrity::Ok),
            Ok(rows) => Ok(Integrity::Damaged(rows)),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) => {
                Ok(Integrity::Unfinished)
            }
            Err(e) => match StoreError::from(e) {
                StoreError::Storage(StorageFault::Damaged, m) => Ok(Integrity::Damaged(vec![m])),
                other => Err(other),
            },
        }
    }

    fn become_writer(&mut self) {
        if let Err(e) = self.conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB) {
            tracing::warn!(error = %e, "could not size the writer's page cache");
        }
    }

    /// Copies the WAL back into the database (the writer calls it when idle).
    fn checkpoint(&mut self) {
        let pages: i64 = self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1)).unwrap_or(0);
        if pages > 0 {
            tracing::debug!(pages, "checkpointed the WAL");
        }
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    // Readers open while the writer holds the lock: when the schema is current, take none.
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if usize::try_from(current).is_ok_and(|v| v == schema::MIGRATIONS.len()) {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: usize =
        tx.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0);
    if version > schema::MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the store is at schema version {version}, newer than this campanile knows ({}); upgrade campanile",
            schema::MIGRATIONS.len()
        )));
    }
    for sql in &schema::MIGRATIONS[version..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", schema::MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

fn stream_id(conn: &mut Connection) -> Result<String> {
    let known: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'stream'", [], |r| r.get(0)).optional()?;
    if let Some(s) = known {
        return Ok(s);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<String> =
        tx.query_row("SELECT value FROM meta WHERE key = 'stream'", [], |r| r.get(0)).optional()?;
    let stream = match existing {
        Some(s) => s,
        None => {
            let s = new_id();
            tx.execute("INSERT INTO meta (key, value) VALUES ('stream', ?1)", [&s])?;
            s
        }
    };
    tx.commit()?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_store_is_private_to_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let path = data.join("c.db");
        let mut s = SqliteStore::open(&path, Synchronous::Normal).unwrap();
        s.upsert_user("alice", Some("alice@example.com"), jiff::Timestamp::now()).unwrap();
        assert_eq!(mode(&data), 0o700);
        for suffix in ["", "-wal", "-shm"] {
            let f = PathBuf::from(format!("{}{suffix}", path.display()));
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
        drop(s);
        // A store made by an older version, readable by all, is made private on open.
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _s = SqliteStore::open(&path, Synchronous::Normal).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_full_disk_is_reported_as_a_full_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("c.db"), Synchronous::Normal).unwrap();
        // SQLite answers a store that reached its page limit as it answers a full disk.
        let pages: i64 = s.conn.pragma_query_value(None, "page_count", |r| r.get(0)).unwrap();
        s.conn.pragma_update(None, "max_page_count", pages + 2).unwrap();
        let now = jiff::Timestamp::now();
        let e = (0..10_000)
            .find_map(|i| {
                s.upsert_user(&format!("user{i}"), Some(&format!("{}{i}@example.com", "u".repeat(200))), now)
                    .err()
            })
            .expect("the store fills up");
        assert!(matches!(e, StoreError::Storage(StorageFault::DiskFull, _)), "{e:?}");
        assert!(e.to_string().starts_with("disk full: "), "{e}");
    }
}
