//! The PostgreSQL backend of the store (DESIGN §5a): the same seam as SQLite, the same
//! semantics, on a server that several machines can reach, so any number of dispatchers
//! (nodes) can share one database: see [`node`] for what they share and how.
//!
//! The driver is the synchronous `postgres` crate, the blocking wrapper around
//! `tokio-postgres` by the same author. The seam is synchronous (`&mut self`) and is called
//! from the dispatcher's dedicated writer thread and from blocking reads
//! (`spawn_blocking`); a blocking client fits that without a second runtime or a
//! `block_on` in every method, while an async driver (sqlx, tokio-postgres with a pool)
//! would have to be driven from those threads anyway. No TLS yet (`NoTls`): reach the
//! database over a trusted network or a Unix socket.
//!
//! Each module mirrors its SQLite sibling and implements one trait; `db` is the connection
//! with its statement cache, `schema` the versioned migrations, `rows` row mapping and view
//! SQL, `changes` the change log with its per-user counter.

mod accept;
mod announce;
mod attempts;
mod audit;
mod changes;
mod db;
mod delivery;
mod directory;
mod hooks;
mod inbox;
pub mod node;
#[cfg(test)]
mod plans;
mod prefs;
mod read;
mod rows;
mod schedule;
mod schema;
mod transfer;

use std::cell::RefCell;
use std::time::Duration;

use postgres::error::SqlState;

use super::{Integrity, Result, StorageFault, StoreError, Synchronous, new_id};
pub use announce::Wakeup;
use db::Db;
pub use db::PgUrl;
pub use node::{Beat, Listener, Node, NodeInfo, PresenceOp, RemotePresence};

/// One connection to the database. The writer owns one; readers open more.
///
/// `RefCell`: the seam's reads take `&self`, and a PostgreSQL client needs `&mut` for every
/// statement. A store is used by one thread at a time (`Send`, not `Sync`).
pub struct PgStore {
    db: RefCell<Db>,
    stream: String,
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        let fault = match e.code() {
            Some(c) if *c == SqlState::DISK_FULL => Some(StorageFault::DiskFull),
            Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => Some(StorageFault::ReadOnly),
            Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE || *c == SqlState::INVALID_PASSWORD => {
                Some(StorageFault::PermissionDenied)
            }
            Some(c) if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => {
                Some(StorageFault::Damaged)
            }
            _ => None,
        };
        // A database error's own message is the useful part ("duplicate key value ...").
        let text = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        };
        match fault {
            Some(f) => StoreError::Storage(f, text),
            None => StoreError::Db(text),
        }
    }
}

/// Whether `e` is PostgreSQL refusing a duplicate in a unique index.
pub(crate) fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(m) if m.starts_with(SqlState::UNIQUE_VIOLATION.code()))
}

impl PgStore {
    /// Connects, brings the schema up to date (one node at a time: see `schema::migrate`)
    /// and reads the stream identity.
    pub fn open(url: &PgUrl, sync: Synchronous) -> Result<PgStore> {
        let mut db = Db::connect(url, sync)?;
        schema::migrate(&mut db)?;
        let stream = stream_id(&mut db)?;
        Ok(PgStore { db: RefCell::new(db), stream })
    }

    /// The connection, reconnected first if the server closed it (a restart, a network
    /// cut): the next statement then works instead of failing for the process's life.
    fn db(&self) -> Result<std::cell::RefMut<'_, Db>> {
        let mut db = self.db.try_borrow_mut().map_err(|_| StoreError::Internal("store re-entered".into()))?;
        db.reconnect_if_closed()?;
        Ok(db)
    }
}

impl super::Store for PgStore {
    fn stream(&self) -> &str {
        &self.stream
    }

    /// PostgreSQL checks its own pages (checksums, if the cluster has them); what can be
    /// checked from here is that the schema is the one this binary knows and every table
    /// answers, within `budget` (as a statement timeout).
    fn check(&mut self, budget: Duration) -> Result<Integrity> {
        let mut db = self.db()?;
        let ms = budget.as_millis().clamp(1, i32::MAX as u128);
        db.batch(&format!("SET statement_timeout = {ms}"))?;
        let mut problems = Vec::new();
        let mut unfinished = false;
        for table in schema::TABLES {
            match db.opt(&format!("SELECT 1 FROM {table} LIMIT 1"), &[]) {
                Ok(_) => {}
                Err(StoreError::Db(m)) if m.starts_with(SqlState::QUERY_CANCELED.code()) => unfinished = true,
                Err(StoreError::Storage(StorageFault::Damaged, m)) => problems.push(format!("{table}: {m}")),
                Err(e) => problems.push(format!("{table}: {e}")),
            }
        }
        db.batch("SET statement_timeout = 0")?;
        Ok(if !problems.is_empty() {
            Integrity::Damaged(problems)
        } else if unfinished {
            Integrity::Unfinished
        } else {
            Integrity::Ok
        })
    }

    /// Nothing to do: PostgreSQL's checkpointer and autovacuum keep the files.
    fn checkpoint(&mut self) {}

    fn join_node(&mut self, node: &str) {
        if let Ok(mut db) = self.db.try_borrow_mut() {
            db.node = node.to_string();
        }
    }
}

/// Whether a dispatcher (a node) runs on the database at `url` now (false when it cannot
/// be reached: nothing runs on it that this process could be told about).
pub fn nodes_running(url: &PgUrl) -> bool {
    Node::live(url, jiff::Timestamp::now()).is_ok_and(|nodes| !nodes.is_empty())
}

/// The stream identity, made by the first connection that finds none (readers open
/// connections all the time: they only read it).
fn stream_id(db: &mut Db) -> Result<String> {
    const READ: &str = "SELECT value FROM meta WHERE key = 'stream'";
    if let Some(r) = db.opt(READ, &[])? {
        return Ok(r.try_get(0)?);
    }
    db.exec(
        "INSERT INTO meta (key, value) VALUES ('stream', $1) ON CONFLICT (key) DO NOTHING",
        &[&new_id()],
    )?;
    Ok(db.one(READ, &[])?.try_get(0)?)
}

/// Runs `f` with the store's connection.
fn with<T>(store: &PgStore, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
    let mut db = store.db()?;
    f(&mut db)
}

/// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
///
/// It holds the audit chain's lock from its first statement: a write locks users' counter
/// rows and then appends to the one chain, so two nodes whose transactions took the same
/// users in another order would each wait for the other (a deadlock PostgreSQL breaks
/// after a second by failing one). Taken first, the chain's lock orders writers instead.
/// They took turns on it before already, from their first audit record on.
fn in_tx<T>(store: &PgStore, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
    let mut db = store.db()?;
    db.transaction(|db| {
        audit::lock_chain(db)?;
        f(db)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_violation_is_recognised() {
        assert!(is_unique_violation(&StoreError::Db("23505: duplicate key value".into())));
        assert!(!is_unique_violation(&StoreError::Db("40001: could not serialize".into())));
    }
}
