//! Delivery results: what a channel worker did with an outbox row. The row, the
//! notification's per-channel state, a change for its user and an audit record are written
//! in one transaction, so clients see delivery state move and the trail has every attempt.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::changes::{Change, log_notification, next_seq};
use super::{Result, Store, StoreError, audit, micros};
use crate::model::{Channel, DeliveryState};

impl Store {
    /// Notifications with a delivery still pending on `channel` for `user`, oldest first.
    pub fn pending_deliveries(&self, user: &str, channel: Channel) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT notification FROM outbox WHERE user = ?1 AND channel = ?2 AND status = 'pending' ORDER BY id",
        )?;
        let rows = stmt.query_map(params![user, channel.as_str()], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records one delivery attempt of `notification` on `channel`: delivered, or failed with
    /// the error. Returns the change that carries the new state to the user's clients.
    pub fn record_delivery(
        &mut self,
        notification: &str,
        channel: Channel,
        outcome: std::result::Result<(), String>,
        now: Timestamp,
    ) -> Result<Vec<Change>> {
        let t = micros(now);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
        let mut n = super::rows::notification_in(&tx, notification)?;
        let attempts = u32::try_from(attempts + 1).unwrap_or(u32::MAX);
        n.deliveries.insert(
            channel,
            DeliveryState { status: status.into(), attempts, last_error: error.map(String::from) },
        );
        let deliveries =
            serde_json::to_string(&n.deliveries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let seq = next_seq(&tx, &n.user)?;
        tx.prepare_cached(
            "UPDATE notifications SET deliveries = ?2, updated_at = ?3, seq = ?4 WHERE id = ?1",
        )?
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
}
