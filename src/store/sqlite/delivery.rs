//! The outbox as the delivery workers see it (DESIGN §5): claim due rows, record what each
//! attempt did, and hand back what a channel needs to send (the notifications, the user's
//! preferences and devices, the subscriber's profile).
//!
//! A claim is a mark on the row, not a lock: one engine owns the store (see
//! `dispatch::engine_lock`), so at start-up every claim left by a crash is released and the
//! row goes out again with the same delivery id (at-least-once).

use jiff::Timestamp;
use rusqlite::{TransactionBehavior, params};

use super::SqliteStore;
use super::accept::subscriber_in;
use super::attempts::{self, Row, item_ids, record_in, row_in, set_state};
use super::audit;
use super::directory::devices_in;
use super::prefs::prefs_in;
use super::rows::notification_in;
use crate::model::Channel;
use crate::model::prefs::Preferences;
use crate::store::{
    Attempt, Change, DeliveryJob, DeliveryKind, Outbox, OutboxRow, Result, StoreError, from_micros, micros,
};

const CLAIMABLE: &str = "status IN ('pending', 'failed') AND claimed_at IS NULL AND channel != 'desktop'";

impl Outbox for SqliteStore {
    /// Releases every claim: called once by the engine that owns the store, at start-up.
    /// Rows a crashed engine had in flight go out again with the same delivery id.
    fn release_claims(&mut self) -> Result<usize> {
        Ok(self.conn.execute("UPDATE outbox SET claimed_at = NULL WHERE claimed_at IS NOT NULL", [])?)
    }

    /// When the next unclaimed delivery falls due, if any (desktop has its own worker).
    fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        let sql = format!("SELECT MIN(next_attempt_at) FROM outbox WHERE {CLAIMABLE}");
        let due: Option<i64> = self.conn.query_row(&sql, [], |r| r.get(0))?;
        due.map(from_micros).transpose()
    }

    /// Claims up to `limit` deliveries due at `now` and loads what sending them needs.
    /// A row whose notifications were all read before a summary or digest went out is
    /// finished here without sending (nothing to say).
    fn claim_deliveries(
        &mut self,
        now: Timestamp,
        limit: u32,
        defaults: &Preferences,
    ) -> Result<(Vec<DeliveryJob>, Vec<Change>)> {
        let t = micros(now);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let sql = format!(
            "SELECT id, notification, user, channel, attempts, kind, items, created_at FROM outbox
             WHERE {CLAIMABLE} AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2"
        );
        type Row = (String, String, String, String, i64, String, Option<String>, i64);
        let rows: Vec<Row> = {
            let mut stmt = tx.prepare_cached(&sql)?;
            stmt.query_map(params![t, limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let mut jobs = Vec::with_capacity(rows.len());
        let mut changes = Vec::new();
        for (id, notification, user, channel, attempts, kind, items, created) in rows {
            match claim_one(&tx, &id, &notification, &user, &channel, &kind, items.as_deref(), defaults, now)
            {
                Ok(Some((mut job, more))) => {
                    job.attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
                    job.created_at = from_micros(created).unwrap_or(now);
                    changes.extend(more);
                    jobs.push(job);
                }
                Ok(None) => {}
                // One unreadable row must not stop every delivery behind it: it is dead,
                // with the reason, and the others go on.
                Err(StoreError::Corrupt(e)) => {
                    tracing::error!(delivery = %id, error = %e, "an outbox row cannot be read; marked dead");
                    tx.execute(
                        "UPDATE outbox SET status = 'dead', last_error = ?2, updated_at = ?3 WHERE id = ?1",
                        params![id, format!("unreadable: {e}"), t],
                    )?;
                    audit::append(
                        &tx,
                        now,
                        &serde_json::json!({"kind": "delivery.unreadable", "delivery": id, "error": e}),
                    )?;
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit()?;
        Ok((jobs, changes))
    }

    /// Records many attempts in one transaction (one fsync for the lot). A delivery that is
    /// gone is skipped, not an error for the others.
    fn record_attempts(&mut self, attempts: &[(String, Attempt)], now: Timestamp) -> Result<Vec<Change>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changes = Vec::new();
        for (id, attempt) in attempts {
            match record_in(&tx, id, attempt, now) {
                Ok(c) => changes.extend(c),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        tx.commit()?;
        Ok(changes)
    }
    /// A provider's callback about a delivery (`POST /webhooks/delivery-status`): moves it
    /// to `delivered` or `failed`/`dead` and says which user's it was.
    fn provider_status(
        &mut self,
        id: &str,
        delivered: bool,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Change>> {
        let t = micros(now);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Row { ids, channel, attempts, status: current } = row_in(&tx, id)?;
        // A provider reports on what it was handed: only a delivery we sent (`delivered`)
        // can be confirmed or bounced. A pending one cannot be settled from outside, so a
        // callback cannot stop a delivery that has not happened.
        if current != "delivered" {
            return Err(StoreError::Conflict(format!(
                "delivery {id} is {current}: a provider can only report on a delivery that was sent"
            )));
        }
        let status = if delivered { "delivered" } else { "dead" };
        tx.execute(
            "UPDATE outbox SET status = ?2, last_error = ?3, claimed_at = NULL, updated_at = ?4 WHERE id = ?1",
            params![id, status, error, t],
        )?;
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        let mut changes = Vec::new();
        for nid in &ids {
            changes.extend(set_state(
                &tx,
                nid,
                channel,
                status,
                Some((attempts, error.map(String::from))),
                now,
            )?);
        }
        audit::append(
            &tx,
            now,
            &serde_json::json!({"kind": "delivery.provider_status", "delivery": id, "channel": channel,
                                 "status": status, "error": error}),
        )?;
        tx.commit()?;
        Ok(changes)
    }

    /// The outbox rows that carry a notification (alone, in a summary or in a digest).
    fn deliveries_of(&self, notification: &str) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, channel, kind, status, attempts, last_error FROM outbox
             WHERE notification = ?1 OR (items IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(items) WHERE value = ?1))
             ORDER BY id",
        )?;
        let rows = stmt.query_map([notification], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                channel: r.get(1)?,
                kind: r.get(2)?,
                status: r.get(3)?,
                attempts: r.get::<_, i64>(4)?.try_into().unwrap_or(u32::MAX),
                last_error: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deliveries not yet done: pending or failed (to be retried).
    fn outbox_depth(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'failed')",
            [],
            |r| r.get(0),
        )?)
    }

    /// Notifications with a delivery still pending on `channel` for `user`, oldest first.
    fn pending_deliveries(&self, user: &str, channel: Channel) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT notification FROM outbox WHERE user = ?1 AND channel = ?2 AND status = 'pending' ORDER BY id",
        )?;
        let rows = stmt.query_map(params![user, channel.as_str()], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn record_delivery(
        &mut self,
        notification: &str,
        channel: Channel,
        outcome: std::result::Result<(), String>,
        now: Timestamp,
    ) -> Result<Vec<Change>> {
        attempts::record_desktop(&mut self.conn, notification, channel, outcome, now)
    }
}

/// Claims one outbox row: `None` when nothing is left to send (everything in it was read
/// or is gone; the row is finished here). Items read since a summary or digest was
/// scheduled are left out of it and marked `skipped`.
#[allow(clippy::too_many_arguments, reason = "one outbox row's columns")]
fn claim_one(
    tx: &rusqlite::Connection,
    id: &str,
    notification: &str,
    user: &str,
    channel: &str,
    kind: &str,
    items: Option<&str>,
    defaults: &Preferences,
    now: Timestamp,
) -> Result<Option<(DeliveryJob, Vec<Change>)>> {
    let t = micros(now);
    let channel: Channel = channel.parse().map_err(StoreError::Corrupt)?;
    let kind = DeliveryKind::parse(kind)?;
    let ids = item_ids(items, notification)?;
    let mut changes = Vec::new();
    let mut notifications = Vec::with_capacity(ids.len());
    let mut left_out = Vec::new();
    for nid in &ids {
        match notification_in(tx, nid) {
            // Reading an item cancels what is still pending for it (DESIGN §4), but a
            // webhook feeds another system and goes regardless.
            Ok(n) if n.read_at.is_none() || channel == Channel::Webhook => notifications.push(n),
            Ok(_) => left_out.push(nid.clone()),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for nid in &left_out {
        changes.extend(set_state(tx, nid, channel, "skipped", None, now)?);
    }
    if notifications.is_empty() {
        tx.execute(
            "UPDATE outbox SET status = 'delivered', last_error = 'not sent: read before it went out',
               updated_at = ?2 WHERE id = ?1",
            params![id, t],
        )?;
        audit::append(
            tx,
            now,
            &serde_json::json!({"kind": "delivery.skipped", "delivery": id, "channel": channel,
                                 "notifications": ids, "reason": "all read"}),
        )?;
        return Ok(None);
    }
    if !left_out.is_empty() && items.is_some() {
        // The row now carries only what is sent, so its result lands on those alone.
        let sent: Vec<&str> = notifications.iter().map(|n| n.id.as_str()).collect();
        let list = serde_json::to_string(&sent).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute("UPDATE outbox SET items = ?2 WHERE id = ?1", params![id, list])?;
    }
    tx.execute("UPDATE outbox SET claimed_at = ?2 WHERE id = ?1", params![id, t])?;
    let prefs = prefs_in(tx, user, defaults)?.0;
    let subscriber = subscriber_in(tx, user, &prefs)?;
    let devices = if channel == Channel::Push { devices_in(tx, user)? } else { Vec::new() };
    let job = DeliveryJob {
        id: id.to_string(),
        channel,
        kind,
        user: user.to_string(),
        attempts: 0,
        created_at: now,
        notifications,
        prefs,
        subscriber,
        devices,
    };
    Ok(Some((job, changes)))
}
