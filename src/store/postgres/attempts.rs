//! What a delivery attempt did, written in the caller's transaction: the outbox row, the
//! per-channel state of every notification it carried (with a change for their clients)
//! and an audit record, as SQLite's `attempts` writes them.

use jiff::Timestamp;

use super::audit;
use super::changes::{log_notification, next_seq};
use super::db::Db;
use super::rows::notification_in;
use crate::model::{Channel, DeliveryState};
use crate::store::{Attempt, AttemptStatus, Change, Result, StoreError, from_micros, micros};

/// An outbox row as the recorders need it.
pub(super) struct Row {
    pub ids: Vec<String>,
    pub channel: Channel,
    pub attempts: i64,
    pub status: String,
}

/// The row, locked until commit (a provider callback and a worker's record take turns).
pub(super) fn row_in(db: &mut Db, id: &str) -> Result<Row> {
    let row = db.opt(
        "SELECT notification, channel, attempts, items, status FROM outbox WHERE id = $1 FOR UPDATE",
        &[&id],
    )?;
    let Some(r) = row else {
        return Err(StoreError::NotFound(format!("delivery {id}")));
    };
    let (notification, channel, items): (String, String, Option<String>) =
        (r.try_get(0)?, r.try_get(1)?, r.try_get(3)?);
    Ok(Row {
        ids: item_ids(items.as_deref(), &notification)?,
        channel: channel.parse().map_err(StoreError::Corrupt)?,
        attempts: r.try_get(2)?,
        status: r.try_get(4)?,
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
pub(super) fn record_in(db: &mut Db, id: &str, attempt: &Attempt, now: Timestamp) -> Result<Vec<Change>> {
    let t = micros(now);
    if let AttemptStatus::Deferred { until } = attempt.status {
        db.exec(
            "UPDATE outbox SET claimed_at = NULL, next_attempt_at = $2, last_error = $3, updated_at = $4 WHERE id = $1",
            &[&id, &micros(until), &attempt.error, &t],
        )?;
        return Ok(Vec::new());
    }
    let Row { ids, channel, attempts, status: status_before } = row_in(db, id)?;
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
    db.exec(
        "UPDATE outbox SET status = $2, attempts = $3, last_error = $4, next_attempt_at = $5,
           claimed_at = NULL, updated_at = $6 WHERE id = $1",
        &[&id, &status, &attempts, &attempt.error, &next, &t],
    )?;
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    let mut changes = Vec::new();
    for nid in &ids {
        changes.extend(set_state(db, nid, channel, status, Some((attempts, attempt.error.clone())), now)?);
    }
    audit::append(
        db,
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
    db: &mut Db,
    notification: &str,
    channel: Channel,
    status: &str,
    attempt: Option<(u32, Option<String>)>,
    now: Timestamp,
) -> Result<Vec<Change>> {
    let mut n = match notification_in(db, notification) {
        Ok(n) => n,
        Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let before = n.deliveries.get(&channel).map_or(0, |d| d.attempts);
    let (attempts, last_error) = attempt.unwrap_or((before, None));
    n.deliveries.insert(channel, DeliveryState { status: status.into(), attempts, last_error });
    let deliveries = serde_json::to_string(&n.deliveries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let seq = next_seq(db, &n.user)?;
    db.exec(
        "UPDATE notifications SET deliveries = $2, updated_at = $3, seq = $4 WHERE id = $1",
        &[&notification, &deliveries, &micros(now), &seq],
    )?;
    Ok(vec![log_notification(db, &n, seq, "notification_updated", now)?])
}

/// One desktop popup's attempt: the engine's desktop worker raised it (or could not).
pub(super) fn record_desktop(
    db: &mut Db,
    notification: &str,
    channel: Channel,
    outcome: std::result::Result<(), String>,
    now: Timestamp,
) -> Result<Vec<Change>> {
    let t = micros(now);
    let row = db.opt(
        "SELECT id, attempts FROM outbox WHERE notification = $1 AND channel = $2 AND status IN ('pending', 'failed')
         ORDER BY id LIMIT 1 FOR UPDATE",
        &[&notification, &channel.as_str()],
    )?;
    let Some(r) = row else {
        return Err(StoreError::NotFound(format!("pending {channel} delivery of {notification}")));
    };
    let (delivery, attempts): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
    let (status, error) = match &outcome {
        Ok(()) => ("delivered", None),
        Err(e) => ("failed", Some(e.as_str())),
    };
    db.exec(
        "UPDATE outbox SET status = $2, attempts = attempts + 1, last_error = $3, updated_at = $4 WHERE id = $1",
        &[&delivery, &status, &error, &t],
    )?;
    let mut n = notification_in(db, notification)?;
    let attempts = u32::try_from(attempts + 1).unwrap_or(u32::MAX);
    n.deliveries.insert(
        channel,
        DeliveryState { status: status.into(), attempts, last_error: error.map(String::from) },
    );
    let deliveries = serde_json::to_string(&n.deliveries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let seq = next_seq(db, &n.user)?;
    db.exec(
        "UPDATE notifications SET deliveries = $2, updated_at = $3, seq = $4 WHERE id = $1",
        &[&notification, &deliveries, &t, &seq],
    )?;
    let change = log_notification(db, &n, seq, "notification_updated", now)?;
    audit::append(
        db,
        now,
        &serde_json::json!({"kind": "delivery.attempted", "delivery": delivery, "notification": notification,
                             "channel": channel, "status": status, "attempt": attempts, "error": error}),
    )?;
    Ok(vec![change])
}
