//! The outbox as the delivery workers see it (DESIGN §5): claim due rows, record what each
//! attempt did, and hand back what a channel needs to send (the notifications, the user's
//! preferences and devices, the subscriber's profile).
//!
//! A claim is a mark on the row, not a lock: one engine owns the store (see
//! `dispatch::engine_lock`), so at start-up every claim left by a crash is released and the
//! row goes out again with the same delivery id (at-least-once).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::changes::{Change, log_notification, next_seq};
use super::subscriptions::{DeviceToken, devices_in};
use super::{Result, Store, StoreError, audit, from_micros, micros, read};
use crate::model::{Channel, DeliveryState, Notification};
use crate::prefs::Preferences;

/// What one outbox row asks a channel to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// One notification.
    Single,
    /// Several held notifications released together at the end of quiet hours.
    Summary,
    /// An e-mail digest.
    Digest,
}

impl DeliveryKind {
    fn parse(s: &str) -> Result<DeliveryKind> {
        match s {
            "single" => Ok(DeliveryKind::Single),
            "summary" => Ok(DeliveryKind::Summary),
            "digest" => Ok(DeliveryKind::Digest),
            other => Err(StoreError::Corrupt(format!("outbox kind `{other}`"))),
        }
    }
}

/// The recipient as templates and channels know them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Subscriber {
    pub id: String,
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub phone: String,
    pub avatar: String,
}

/// One claimed outbox row with everything needed to send it.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    /// The delivery id: stable across retries, receivers dedupe on it.
    pub id: String,
    pub channel: Channel,
    pub kind: DeliveryKind,
    pub user: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: Timestamp,
    /// The notifications it carries, oldest first (one for `Single`). Items read since they
    /// were scheduled are left out of summaries and digests.
    pub notifications: Vec<Notification>,
    pub prefs: Preferences,
    pub subscriber: Subscriber,
    pub devices: Vec<DeviceToken>,
}

/// What became of one attempt, as the worker resolved it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptStatus {
    Delivered,
    /// Failed; tried again at `retry_at`.
    Failed {
        retry_at: Timestamp,
    },
    /// Failed for good (a final answer, or out of attempts).
    Dead,
    /// Not tried (its target's circuit is open): back in the queue until `until`, no
    /// attempt counted.
    Deferred {
        until: Timestamp,
    },
}

/// One attempt, for the outbox row, the notifications' delivery state and the audit trail.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: AttemptStatus,
    pub error: Option<String>,
    /// Where it went (URL, SMTP host, provider), for the audit trail.
    pub target: String,
    /// SHA-256 of the body sent (hex), for the audit trail.
    pub content_hash: Option<String>,
}

const CLAIMABLE: &str = "status IN ('pending', 'failed') AND claimed_at IS NULL AND channel != 'desktop'";

impl Store {
    /// Releases every claim: called once by the engine that owns the store, at start-up.
    /// Rows a crashed engine had in flight go out again with the same delivery id.
    pub fn release_claims(&mut self) -> Result<usize> {
        Ok(self.conn.execute("UPDATE outbox SET claimed_at = NULL WHERE claimed_at IS NOT NULL", [])?)
    }

    /// When the next unclaimed delivery falls due, if any (desktop has its own worker).
    pub fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        let sql = format!("SELECT MIN(next_attempt_at) FROM outbox WHERE {CLAIMABLE}");
        let due: Option<i64> = self.conn.query_row(&sql, [], |r| r.get(0))?;
        due.map(from_micros).transpose()
    }

    /// Claims up to `limit` deliveries due at `now` and loads what sending them needs.
    /// A row whose notifications were all read before a summary or digest went out is
    /// finished here without sending (nothing to say).
    pub fn claim_deliveries(
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

    /// The subscribers `to` names (workflow triggers render per subscriber).
    pub fn subscribers(
        &self,
        to: &crate::model::Recipients,
        defaults: &Preferences,
    ) -> Result<Vec<Subscriber>> {
        let users = super::accept::resolve_to(&self.conn, Some(to), None)?;
        users
            .iter()
            .map(|u| {
                let prefs = read::prefs_in(&self.conn, u, defaults)?.0;
                subscriber_in(&self.conn, u, &prefs)
            })
            .collect()
    }

    /// Sets the profile fields workflow templates use (`name`, `phone`, `avatar`).
    pub fn set_profile(
        &mut self,
        user: &str,
        display_name: Option<&str>,
        phone: Option<&str>,
        avatar: Option<&str>,
    ) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE users SET display_name = COALESCE(?2, display_name), phone = COALESCE(?3, phone),
               avatar = COALESCE(?4, avatar) WHERE name = ?1",
            params![user, display_name, phone, avatar],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        Ok(())
    }

    /// Puts a claimed row back untried until `until` (its target's circuit is open).
    pub fn defer_delivery(&mut self, id: &str, until: Timestamp, reason: &str, now: Timestamp) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET claimed_at = NULL, next_attempt_at = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, micros(until), reason, micros(now)],
        )?;
        Ok(())
    }

    /// Records one attempt of a claimed delivery: the outbox row, the delivery state of
    /// every notification it carried (with a change for their clients) and an audit record.
    pub fn record_attempt(&mut self, id: &str, attempt: &Attempt, now: Timestamp) -> Result<Vec<Change>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changes = record_in(&tx, id, attempt, now)?;
        tx.commit()?;
        Ok(changes)
    }

    /// Records many attempts in one transaction (one fsync for the lot). A delivery that is
    /// gone is skipped, not an error for the others.
    pub fn record_attempts(&mut self, attempts: &[(String, Attempt)], now: Timestamp) -> Result<Vec<Change>> {
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
    pub fn provider_status(
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
    pub fn deliveries_of(&self, notification: &str) -> Result<Vec<OutboxRow>> {
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
}

/// One outbox row, as tests and operators look at it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub id: String,
    pub channel: String,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// An outbox row as the recorders need it: the notifications it carries, its channel,
/// attempts so far and status.
struct Row {
    ids: Vec<String>,
    channel: Channel,
    attempts: i64,
    status: String,
}

fn row_in(tx: &rusqlite::Connection, id: &str) -> Result<Row> {
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
fn item_ids(items: Option<&str>, notification: &str) -> Result<Vec<String>> {
    match items {
        Some(json) => serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(vec![notification.to_string()]),
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
        match super::rows::notification_in(tx, nid) {
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
    let prefs = read::prefs_in(tx, user, defaults)?.0;
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

/// One attempt's record inside the caller's transaction.
fn record_in(tx: &rusqlite::Connection, id: &str, attempt: &Attempt, now: Timestamp) -> Result<Vec<Change>> {
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
fn set_state(
    tx: &rusqlite::Connection,
    notification: &str,
    channel: Channel,
    status: &str,
    attempt: Option<(u32, Option<String>)>,
    now: Timestamp,
) -> Result<Vec<Change>> {
    let mut n = match super::rows::notification_in(tx, notification) {
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

fn subscriber_in(tx: &rusqlite::Connection, user: &str, prefs: &Preferences) -> Result<Subscriber> {
    type Profile = (Option<String>, Option<String>, Option<String>, Option<String>);
    let row: Option<Profile> = tx
        .query_row("SELECT email, display_name, phone, avatar FROM users WHERE name = ?1", [user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let (email, display, phone, avatar) = row.unwrap_or_default();
    let name = display.filter(|d| !d.is_empty()).unwrap_or_else(|| user.to_string());
    let first_name = name.split_whitespace().next().unwrap_or_default().to_string();
    // The address the user set for e-mail wins over the one on their account.
    let email =
        Some(prefs.channels.email.address.clone()).filter(|a| !a.is_empty()).or(email).unwrap_or_default();
    Ok(Subscriber {
        id: user.to_string(),
        name,
        first_name,
        email,
        phone: phone.unwrap_or_default(),
        avatar: avatar.unwrap_or_default(),
    })
}
