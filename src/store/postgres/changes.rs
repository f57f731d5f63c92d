//! The change log of DESIGN §6 with a per-user `seq` that is contiguous and gap-free across
//! connections and nodes (DESIGN §5a): a counter row per user (`user_seqs`), locked by the
//! first look at it in a transaction and moved once, at commit, to the last change the
//! transaction logged (see `db::TxState` for why not per change). Two
//! transactions writing for one user take turns on that row; writers for different users
//! never wait for each other. A SEQUENCE would be lock-free but leaves gaps on rollback.
//!
//! As in SQLite, [`next_seq`] only looks: the caller may take the seq for a notification's
//! row and then log nothing (an op that changed nothing), and the next look gives the same
//! number. A change to a notification is logged as a reference to its row, not a copy.

use jiff::Timestamp;
use serde::Serialize;

use super::db::Db;
use super::rows::corrupt;
use crate::model::Notification;
use crate::store::{Change, Result, micros};

/// The seq the user's next change takes. The first look in a transaction locks the user's
/// counter row and reads where the log is; later ones are answered from memory, which
/// nobody else can change while the lock is held.
pub(crate) fn next_seq(db: &mut Db, user: &str) -> Result<i64> {
    if let Some((_, last)) = db.tx.seqs.get(user) {
        return Ok(last + 1);
    }
    const LOCK: &str = "SELECT seq FROM user_seqs WHERE username = $1 FOR UPDATE";
    let counter: i64 = match db.opt(LOCK, &[&user])? {
        Some(r) => r.try_get(0)?,
        None => {
            // The user's first change: make the row (waiting for a concurrent maker to
            // commit), then lock it like any other.
            db.exec(
                "INSERT INTO user_seqs (username, seq) VALUES ($1, 0) ON CONFLICT (username) DO NOTHING",
                &[&user],
            )?;
            db.one(LOCK, &[&user])?.try_get(0)?
        }
    };
    // Read after the lock was granted (a statement of its own, so a fresh snapshot): what
    // the writer before us logged is seen.
    let logged: i64 =
        db.one("SELECT COALESCE(MAX(seq), 0) FROM changes WHERE username = $1", &[&user])?.try_get(0)?;
    let last = counter.max(logged);
    db.tx.seqs.insert(user.to_string(), (counter, last));
    Ok(last + 1)
}

/// The user's last seq, without locking (0 when none).
pub(crate) fn last_seq(db: &mut Db, user: &str) -> Result<i64> {
    Ok(match db.opt("SELECT seq FROM user_seqs WHERE username = $1", &[&user])? {
        Some(r) => r.try_get(0)?,
        None => 0,
    })
}

/// Appends a change with its payload stored (preferences, bulk actions).
pub(crate) fn push_change(
    db: &mut Db,
    user: &str,
    kind: &str,
    payload: String,
    now: Timestamp,
) -> Result<Change> {
    let seq = next_seq(db, user)?;
    log(db, user, seq, kind, &payload, None, now)?;
    Ok(Change { user: user.to_string(), seq, kind: kind.to_string(), payload })
}

/// Logs `kind` for notification `n` at `seq` (which the caller wrote into the row's `seq`
/// column): the log keeps a reference, the returned change the payload for the fan-out.
pub(crate) fn log_notification(
    db: &mut Db,
    n: &Notification,
    seq: i64,
    kind: &str,
    now: Timestamp,
) -> Result<Change> {
    log(db, &n.user, seq, kind, "", Some(&n.id), now)?;
    Ok(Change { user: n.user.clone(), seq, kind: kind.to_string(), payload: notification_payload(n)? })
}

fn log(
    db: &mut Db,
    user: &str,
    seq: i64,
    kind: &str,
    payload: &str,
    reference: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    // The counter moves with the log in memory and is written at commit; `changes`' primary
    // key would refuse a seq taken twice rather than let it through.
    db.exec(
        "INSERT INTO changes (username, seq, kind, payload, at, ref_id) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&user, &seq, &kind, &payload, &micros(now), &reference],
    )?;
    match db.tx.seqs.get_mut(user) {
        Some(entry) => entry.1 = entry.1.max(seq),
        None => {
            return Err(crate::store::StoreError::Internal(format!(
                "a change of {user} logged without its lock"
            )));
        }
    }
    Ok(())
}

pub(crate) fn notification_payload(n: &Notification) -> Result<String> {
    #[derive(Serialize)]
    struct Payload<'a> {
        notification: &'a Notification,
    }
    serde_json::to_string(&Payload { notification: n }).map_err(corrupt)
}
