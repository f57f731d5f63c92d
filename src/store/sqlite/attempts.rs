//! What a delivery attempt did, written in the caller's transaction: the outbox row, the
//! per-channel state of every notification it carried (with a change for their clients)
//! and an audit record, so clients see delivery state move and the trail has every attempt.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::audit;
use super::changes::{log_notification, next_seq};
use super::rows::notification_in;
use crate::model::{Channel, DeliveryState};
use crate::store::{Attempt, AttemptStatus, Change, Result, StoreError, from_micros, micros};

/// An outbox row as the recorders need it: the notifications it carries, its channel,
/// attempts so far and status.
pub(super) struct Row {
    pub ids: Vec<String>,
    pub channel: Channel,
    pub attempts: i64,
    pub status: String,
}

pub(super) fn row_in(tx: &rusqlite::Connection, id: &str) -> Result<Row> {
    let row: Option<(String, String, i64, Option<String>, String)> = tx
        .prepare_cached("SELECT notification, channel, attempts, items, status FROM outbox WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .optional()?;
    let Some((notification, channel, attempts, items, status)) = row else {
        return Err(StoreError::NotFound(format!("delivery {id}")));
    };
    Ok(Row {
        ids: item_ids(items.as_deref(), &notification)?,
        channel: channel.parse().map_err(StoreError::Corrupt)?,
        attempts,
        status,
    })
}

/// The notifications a row carries: its `items` list, or its one notification.
pub(super) fn item_ids(items: Option<&str>, notification: &str) -> Result<Vec<String>> {
    match items {
        Some(json) => serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(vec![notification.to_string()]),
    }
}

/// One attempt's record inside the caller's transaction.
pub(super) fn record_in(
    tx: &rusqlite::Connection,
    id: &str,
    attempt: &Attempt,
    now: Timestamp,
) -> Result<Vec<Change>> {
    let t = micros(now);
    if let AttemptStatus::Deferred { until } = attempt.status {
        tx.prepare_cached(
            "UPDATE outbox SET claimed_at = NULL, next_attempt_at = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
        )?
        .execute(params![id, micros(until), attempt.error, t])?;
        return Ok(Vec::new());
    }
    let Row { ids, channel, attempts, status: status_before } = row_in(tx, id)?;
    if status_before == "delivered" || status_before == "dead" {
        // A provider callback already settled it; keep the first final word.
        return Ok(Vec::new());
    }
    let attempts = attempts + 1;
    let (status, next) = match attempt.status {
        AttemptStatus::Delivered => ("delivered", t),
        AttemptStatus::Failed { retry_at } => ("failed", micros(retry_at)),
        AttemptStatus::Dead | AttemptStatus::Deferred { .. } => ("dead", t),
    };
    tx.execute(
        "UPDATE outbox SET status = ?2, attempts = ?3, last_error = ?4, next_attempt_at = ?5,
           claimed_at = NULL, updated_at = ?6 WHERE id = ?1",
        params![id, status, attempts, attempt.error, next, t],
    )?;
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    let mut changes = Vec::new();
    for nid in &ids {
        changes.extend(set_state(tx, nid, channel, status, Some((attempts, attempt.error.clone())), now)?);
    }
    audit::append(
        tx,
        now,
        &serde_json::json!({"kind": "delivery.attempted", "delivery": id, "notifications": ids,
                             "channel": channel, "status": status, "attempt": attempts,
                             "error": attempt.error, "target": attempt.target,
                             "content_hash": attempt.content_hash,
                             "retry_at": matches!(attempt.status, AttemptStatus::Failed { .. }).then(|| from_micros(next).ok()).flatten()}),
    )?;
    Ok(changes)
}

/// Sets one notification's state on `channel` and returns the change for its clients.
/// `attempts` is kept as it was when `None`.
pub(super) fn set_state(
    tx: &rusqlite::Connection,
    notification: &str,
    channel: Channel,
    status: &str,
    attempt: Option<(u32, Option<String>)>,
    now: Timestamp,
) -> Result<Vec<Change>> {
    let mut n = match notification_in(tx, notification) {
        Ok(n) => n,
        Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let before = n.deliveries.get(&channel).map_or(0, |d| d.attempts);
    let (attempts, last_error) = attempt.unwrap_or((before, None));
    n.deliveries.insert(channel, DeliveryState { status: status.into(), attempts, last_error });
    let deliveries = serde_json::to_string(&n.deliveries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let seq = next_seq(tx, &n.user)?;
    tx.prepare_cached("UPDATE notifications SET deliveries = ?2, updated_at = ?3, seq = ?4 WHERE id = ?1")?
        .execute(params![notification, deliveries, micros(now), seq])?;
    Ok(vec![log_notification(tx, &n, seq, "notification_updated", now)?])
}

/// One desktop popup's attempt: the engine's desktop worker raised it (or could not).
pub(super) fn record_desktop(
    conn: &mut rusqlite::Connection,
    notification: &str,
    channel: Channel,
    outcome: std::result::Result<(), String>,
    now: Timestamp,
) -> Result<Vec<Change>> {
    let t = micros(now);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let row: Option<(String, i64)> = tx
            .prepare_cached(
                "SELECT id, attempts FROM outbox WHERE notification = ?1 AND channel = ?2 AND status IN ('pending', 'failed')
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![notification, channel.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
    let Some((delivery, attempts)) = row else {
        return Err(StoreError::NotFound(format!("pending {channel} delivery of {notification}")));
    };
    let (status, error) = match &outcome {
        Ok(()) => ("delivered", None),
        Err(e) => ("failed", Some(e.as_str())),
    };
    tx.prepare_cached(
            "UPDATE outbox SET status = ?2, attempts = attempts + 1, last_error = ?3, updated_at = ?4 WHERE id = ?1",
        )?
        .execute(params![delivery, status, error, t])?;
    let mut n = notification_in(&tx, notification)?;
    let attempts = u32::try_from(attempts + 1).unwrap_or(u32::MAX);
    n.deliveries.insert(
        channel,
        DeliveryState { status: status.into(), attempts, last_error: error.map(String::from) },
    );
    let deliveries = serde_json::to_string(&n.deliveries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let seq = next_seq(&tx, &n.user)?;
    tx.prepare_cached("UPDATE notifications SET deliveries = ?2, updated_at = ?3, seq = ?4 WHERE id = ?1")?
        .execute(params![notification, deliveries, t, seq])?;
    let change = log_notification(&tx, &n, seq, "notification_updated", now)?;
    audit::append(
        &tx,
        now,
        &serde_json::json!({"kind": "delivery.attempted", "delivery": delivery, "notification": notification,
                                 "channel": channel, "status": status, "attempt": attempts, "error": error}),
    )?;
    tx.commit()?;
    Ok(vec![change])
}
