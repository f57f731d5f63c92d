//! The change log of DESIGN §6: per user, a contiguous `seq`, each change a
//! `notification_created`, `notification_updated`, `notifications_updated` (a bulk action)
//! or `prefs_updated`. A change to a notification is logged as a reference to its row, not
//! a copy: a replay builds the frame from the row as it is then (a newer state than the one
//! the change made is one the client converges to anyway), so accepting an event writes the
//! notification once. Live changes carry their payload in memory for the fan-out.

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::rows::{NOTIFICATION_COLUMNS, corrupt, notification_from_row};
use super::{Result, Store, micros};
use crate::model::Notification;

/// One change, as it is fanned out to clients after commit and replayed from the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub user: String,
    pub seq: i64,
    pub kind: String,
    /// The change's fields as a JSON object text (`{"notification":{…}}`,
    /// `{"prefs":{…},"prefs_version":N}` or `{"ids":[…],"set":{…}}`), serialised once and
    /// spliced into frames.
    pub payload: String,
}

impl Change {
    /// The payload as a JSON value (for callers that inspect it).
    pub fn payload_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// The seq the user's next change takes.
pub(crate) fn next_seq(tx: &Connection, user: &str) -> Result<i64> {
    Ok(tx
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM changes WHERE user = ?1")?
        .query_row([user], |r| r.get(0))?)
}

/// Appends a change with its payload stored (preferences, bulk actions).
pub(crate) fn push_change(
    tx: &Connection,
    user: &str,
    kind: &str,
    payload: String,
    now: Timestamp,
) -> Result<Change> {
    let seq = next_seq(tx, user)?;
    log(tx, user, seq, kind, &payload, None, now)?;
    Ok(Change { user: user.to_string(), seq, kind: kind.to_string(), payload })
}

/// Logs `kind` for notification `n` at `seq` (which the caller wrote into the row's `seq`
/// column with the change itself): the log keeps a reference, the returned change the
/// payload for the live fan-out.
pub(crate) fn log_notification(
    tx: &Connection,
    n: &Notification,
    seq: i64,
    kind: &str,
    now: Timestamp,
) -> Result<Change> {
    log(tx, &n.user, seq, kind, "", Some(&n.id), now)?;
    Ok(Change { user: n.user.clone(), seq, kind: kind.to_string(), payload: notification_payload(n)? })
}

fn log(
    tx: &Connection,
    user: &str,
    seq: i64,
    kind: &str,
    payload: &str,
    reference: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO changes (user, seq, kind, payload, at, ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![user, seq, kind, payload, micros(now), reference])?;
    Ok(())
}

pub(crate) fn notification_payload(n: &Notification) -> Result<String> {
    #[derive(Serialize)]
    struct Payload<'a> {
        notification: &'a Notification,
    }
    serde_json::to_string(&Payload { notification: n }).map_err(corrupt)
}

impl Store {
    /// The user's last change seq (0 when none).
    pub fn last_seq(&self, user: &str) -> Result<i64> {
        Ok(next_seq(&self.conn, user)? - 1)
    }

    /// Changes after `seq`, in order, at most `limit`. A change to a notification carries
    /// the row as it is now; one whose row is gone (its user was removed) is left out.
    pub fn changes_since(&self, user: &str, seq: i64, limit: u32) -> Result<Vec<Change>> {
        let sql = format!(
            "SELECT c.seq, c.kind, c.payload, c.ref, {NOTIFICATION_COLUMNS} FROM changes c
             LEFT JOIN notifications n ON n.id = c.ref
             WHERE c.user = ?1 AND c.seq > ?2 ORDER BY c.seq LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![user, seq, limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let (seq, kind): (i64, String) = (r.get(0)?, r.get(1)?);
            let payload = match r.get::<_, Option<String>>(3)? {
                None => r.get(2)?,
                Some(_) if r.get::<_, Option<String>>(4)?.is_none() => continue,
                Some(_) => notification_payload(&notification_from_row(r, 4)?)?,
            };
            out.push(Change { user: user.to_string(), seq, kind, payload });
        }
        Ok(out)
    }
}
