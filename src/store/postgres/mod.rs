//! The PostgreSQL backend of the store (DESIGN §5a): the same seam as SQLite, the same
//! semantics, on a server that several machines can reach, so any number of dispatchers
//! (nodes) can share one database: see [`node`] for what they share and how.
//!
//! The driver is the synchronous `postgres` crate, the blocking wrapper around
//! `tokio-postgres` by the same author. The seam is synchronous (`&mut self`) and is called
//! from the dispatcher's dedicated writer thread and from blocking reads
//! (`spawn_blocking`); a blocking client fits that without a second runtime or a
//! `block_on` in every method, while an async driver (sqlx, tokio-postgres with a pool)
//! would have to be driven from those threads anyway. TLS to the database takes libpq's
//! settings from the URL (`sslmode`, `sslrootcert`, `sslcert`/`sslkey`): see [`tls`].
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
mod tls;
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

    /// PostgreSQL checks its own pages (checksums, if the cluster has them); what is checked
    /// from here, within `budget` (as a statement timeout): every table answers, and what
    /// the store derives agrees with what it derives from (see `INVARIANTS`).
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
        if problems.is_empty() && !unfinished {
            for (what, sql) in INVARIANTS {
                match db.query(sql, &[]) {
                    Ok(rows) => {
                        for r in rows {
                            let (user, detail): (String, String) = (r.try_get(0)?, r.try_get(1)?);
                            problems.push(format!("{what}: user {user}: {detail}"));
                        }
                    }
                    Err(StoreError::Db(m)) if m.starts_with(SqlState::QUERY_CANCELED.code()) => {
                        unfinished = true
                    }
                    Err(e) => problems.push(format!("{what}: {e}")),
                }
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

/// What `check` compares, each a query naming the user it fails for (at most 20 each):
/// - a user's change counter is never behind the last change logged for them (the next
///   change would reuse a `seq`, and clients would skip it as seen);
/// - the unread counts (badges, `welcome.unread`) are what the notifications say.
const INVARIANTS: [(&str, &str); 2] = [
    (
        "change counter behind the log",
        "SELECT c.username, 'counter ' || COALESCE(s.seq, 0) || ', last logged seq ' || c.last
         FROM (SELECT username, MAX(seq) AS last FROM changes GROUP BY username) c
         LEFT JOIN user_seqs s USING (username)
         WHERE COALESCE(s.seq, 0) < c.last ORDER BY 1 LIMIT 20",
    ),
    (
        "unread count wrong",
        "WITH actual AS (
             SELECT username, category, COUNT(*) AS unread FROM notifications
             WHERE read_at IS NULL AND archived_at IS NULL AND snoozed_until IS NULL AND in_inbox
             GROUP BY username, category)
         SELECT COALESCE(a.username, k.username),
                'category ' || COALESCE(a.category, k.category) || ': counted '
                    || COALESCE(k.unread, 0) || ', actually ' || COALESCE(a.unread, 0)
         FROM actual a FULL JOIN unread_counts k USING (username, category)
         WHERE COALESCE(a.unread, 0) <> COALESCE(k.unread, 0) ORDER BY 1, 2 LIMIT 20",
    ),
];

/// Whether a dispatcher (a node) runs on the database at `url` now (false when it cannot
/// be reached: nothing runs on it that this process could be told about).
pub fn nodes_running(url: &PgUrl) -> bool {
    Node::live(url, jiff::Timestamp::now()).is_ok_and(|nodes| !nodes.is_empty())
}

/// The recorded stream identity, where it was recorded, and where this database's history
/// lives now: the cluster (its system identifier), the timeline it writes on (a
/// point-in-time recovery or a promoted replica starts a new one), the database and its
/// `meta` table (a dump restored into a new database, or over this one, makes new ones). A
/// stream identity recorded with another home belongs to a history this database no
/// longer continues: clients that saw it must refetch (DESIGN §5a, §6).
const STREAM: &str = "SELECT (SELECT value FROM meta WHERE key = 'stream'),
    (SELECT value FROM meta WHERE key = 'stream_home'),
    (SELECT system_identifier FROM pg_control_system())::text
    || '/' || CASE WHEN pg_is_in_recovery()
                   THEN lpad(upper(to_hex((SELECT timeline_id FROM pg_control_checkpoint()))), 8, '0')
                   ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END
    || '/' || (SELECT oid FROM pg_database WHERE datname = current_database())::text
    || '/' || 'meta'::regclass::oid::text";

/// The advisory lock under which the stream identity is made or changed ("campstrm").
const STREAM_LOCK: i64 = 0x6361_6d70_7374_726d;

/// The stream identity: made by the first connection that finds none, and made anew by
/// the first that finds the database restored (its home changed). Readers open
/// connections all the time: when all is as recorded they ask once and write nothing.
fn stream_id(db: &mut Db) -> Result<String> {
    let read = |db: &mut Db| -> Result<(Option<String>, Option<String>, String)> {
        let r = db.one(STREAM, &[])?;
        Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
    };
    if let (Some(stream), Some(known), home) = read(db)?
        && known == home
    {
        return Ok(stream);
    }
    db.transaction(|db| {
        db.exec("SELECT pg_advisory_xact_lock($1)", &[&STREAM_LOCK])?;
        const SET: &str = "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        let (recorded, known, home) = read(db)?;
        let stream = match recorded {
            // Its home (another process just recorded it), or none recorded: from before
            // homes were, or copied here by `store copy`, which moves a history as it is.
            Some(stream) if known.as_ref().is_none_or(|k| *k == home) => stream,
            old => {
                let stream = new_id();
                if let Some(old) = old {
                    tracing::warn!(
                        old = %old, new = %stream,
                        "this database was restored from a backup (or a replica was promoted): a new stream identity, so clients refetch their inbox instead of trusting what they saw"
                    );
                }
                db.exec(SET, &[&"stream", &stream])?;
                stream
            }
        };
        db.exec(SET, &[&"stream_home", &home])?;
        Ok(stream)
    })
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
