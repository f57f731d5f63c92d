//! The store owns every byte on disk (DESIGN §5): one SQLite file in WAL mode, migrations
//! versioned in code, and the single-transaction accept of an event. It knows nothing of
//! HTTP or terminals; callers pass `now` so tests control time.

mod accept;
pub mod audit;
mod changes;
pub mod delivery;
pub mod inbox;
pub mod outbox;
#[cfg(test)]
mod plans;
pub mod read;
mod rows;
pub mod schedule;
mod schema;
pub mod subscriptions;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use accept::{AcceptContext, Accepted, Submission};
pub use changes::Change;

use crate::model::FieldError;

/// How hard SQLite works to make a commit durable before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Synchronous {
    /// Every commit survives power loss (the daemon's default).
    #[default]
    Full,
    /// Commits survive a process crash; the last ones may be lost on power loss.
    Normal,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input names something wrong; a client can fix it (422).
    #[error("{0}")]
    Invalid(#[from] FieldError),
    /// The same idempotency key came with a different body (409).
    #[error("id `{0}` was already used for a different event in the last 24 hours")]
    Conflict(String),
    /// Something belongs to someone else (409).
    #[error("{0}")]
    Taken(String),
    /// A write raced with another version (409 for preferences).
    #[error("preferences changed meanwhile: you edited version {expected}, the current one is {current}")]
    VersionConflict { expected: i64, current: i64 },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// One connection to the store file. The writer owns one; readers may open more.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    stream: String,
}

/// Microseconds since the epoch: how instants are stored.
pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn from_micros(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::Corrupt(format!("instant {us}: {e}")))
}

/// A new ULID. One generator for the process keeps ids strictly increasing even within a
/// millisecond, so "newest first" by id is the order of acceptance.
pub fn new_id() -> String {
    static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = IDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    generator.generate().unwrap_or_else(|_| ulid::Ulid::generate()).to_string()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

impl Store {
    /// Opens (creating if needed) the store file and brings its schema up to date.
    pub fn open(path: &Path, sync: Synchronous) -> Result<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", dir.display())))?;
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
        Ok(Store { conn, path: path.to_path_buf(), stream })
    }

    /// Copies the WAL back into the database (the writer calls it when idle).
    pub fn checkpoint(&mut self) {
        let pages: i64 = self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1)).unwrap_or(0);
        if pages > 0 {
            tracing::debug!(pages, "checkpointed the WAL");
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The identity of this database's change log; a restored or reset file has another, so
    /// clients know to refetch (DESIGN §6).
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Adds a user, or updates the e-mail of an existing one.
    pub fn upsert_user(&mut self, name: &str, email: Option<&str>, now: Timestamp) -> Result<()> {
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_alphanumeric() || "._-".contains(c))
        {
            return Err(FieldError::new(
                "name",
                format!("`{name}` is not a user name (letters, digits, . _ -)"),
            )
            .into());
        }
        if let Some(e) = email
            && !crate::model::looks_like_email(e)
        {
            return Err(FieldError::new("email", format!("`{e}` is not an e-mail address")).into());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO users (name, email, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET email = COALESCE(excluded.email, users.email)",
            params![name, email, micros(now)],
        )?;
        audit::append(&tx, now, &serde_json::json!({"kind": "user.upserted", "user": name}))?;
        tx.commit()?;
        Ok(())
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
