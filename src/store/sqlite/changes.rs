//! The change log of DESIGN §6: per user, a contiguous `seq`, each change a
//! `notification_created`, `notification_updated`, `notifications_updated` (a bulk action)
//! or `prefs_updated`. A change to a notification is logged as a reference to its row, not
//! a copy: a replay builds the frame from the row as it is then (a newer state than the one
//! the change made is one the client converges to anyway), so accepting an event writes the
//! notification once. Live changes carry their payload in memory for the fan-out.

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde::Serialize;

use super::rows::corrupt;
use crate::model::Notification;
use crate::store::{Change, Result, micros};

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

/// Logs the creation of notification `id` at `seq` whose change payload the caller has made
/// (see `accept`): as [`log_notification`] does.
pub(crate) fn log_created(
    tx: &Connection,
    user: &str,
    id: &str,
    seq: i64,
    payload: String,
    now: Timestamp,
) -> Result<Change> {
    let kind = "notification_created";
    log(tx, user, seq, kind, "", Some(id), now)?;
    Ok(Change { user: user.to_string(), seq, kind: kind.to_string(), payload })
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
