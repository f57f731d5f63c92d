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

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::{Result, StoreError, Synchronous, new_id};

/// One connection to the store file. The writer owns one; readers may open more.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    stream: String,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store file and brings its schema up to date.
    pub fn open(path: &Path, sync: Synchronous) -> Result<SqliteStore> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", dir.display())))?;
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
        rows::register_functions(&conn)?;
        // Checkpoints happen when the writer is idle (see `checkpoint_if_large`); this is
        // only the backstop for a writer that is never idle.
        conn.pragma_update(None, "wal_autocheckpoint", 8_000)?;
        migrate(&mut conn)?;
        let stream = stream_id(&mut conn)?;
        Ok(SqliteStore { conn, path: path.to_path_buf(), stream })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl super::Store for SqliteStore {
    fn stream(&self) -> &str {
        &self.stream
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
