//! The outbox as the delivery workers see it (DESIGN §5): claim due rows, record what each
//! attempt did, and hand back what a channel needs to send. Several nodes share the outbox
//! (DESIGN §5a): a claim takes rows no other node is claiming (`FOR UPDATE SKIP LOCKED`) and
//! marks them with the node that holds them; the claim lasts while that node lives, and a
//! dead node's claims are released (see `node::Node::heartbeat`), so its deliveries go out
//! again from another node with the same delivery id.

use jiff::Timestamp;

use super::accept::subscriber_in;
use super::attempts::{self, Row, item_ids, record_in, row_in, set_state};
use super::audit;
use super::db::Db;
use super::directory::devices_in;
use super::prefs::prefs_in;
use super::rows::notification_in;
use super::{PgStore, in_tx, with};
use crate::model::Channel;
use crate::model::prefs::Preferences;
use crate::store::{
    Attempt, Change, DeliveryJob, DeliveryKind, Outbox, OutboxRow, Result, StoreError, from_micros, micros,
};

/// Matches the predicate of the `outbox_claim` index.
const CLAIMABLE: &str = "status IN ('pending', 'failed') AND claimed_at IS NULL AND channel <> 'desktop'";

impl Outbox for PgStore {
    fn release_claims(&mut self) -> Result<usize> {
        // Only what dead nodes held (or claims older than nodes): a live node is sending its own.
        let dead = micros(Timestamp::now() - super::node::NODE_TTL);
        let n = with(self, |db| {
            db.exec(
                "UPDATE outbox SET claimed_at = NULL, claimed_by = NULL
                 WHERE claimed_at IS NOT NULL
                   AND (claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM nodes WHERE heartbeat_at > $1))",
                &[&dead],
            )
        })?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        let sql = format!("SELECT MIN(next_attempt_at) FROM outbox WHERE {CLAIMABLE}");
        let due: Option<i64> = with(self, |db| Ok(db.one(&sql, &[])?.try_get(0)?))?;
        due.map(from_micros).transpose()
    }

    /// Claims up to `limit` deliveries due at `now` and loads what sending them needs. A row
    /// whose notifications were all read before a summary or digest went out is finished
    /// here without sending.
    fn claim_deliveries(
        &mut self,
        now: Timestamp,
        limit: u32,
        defaults: &Preferences,
    ) -> Result<(Vec<DeliveryJob>, Vec<Change>)> {
        let t = micros(now);
        let sql = format!(
            "SELECT id, notification, username, channel, attempts, kind, items, created_at FROM outbox
             WHERE {CLAIMABLE} AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED"
        );
        in_tx(self, |db| {
            let rows = db.query(&sql, &[&t, &i64::from(limit)])?;
            let mut jobs = Vec::with_capacity(rows.len());
            let mut changes = Vec::new();
            for r in rows {
                let id: String = r.try_get(0)?;
                let (notification, user, channel): (String, String, String) =
                    (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
                let (attempts, kind, items, created): (i64, String, Option<String>, i64) =
                    (r.try_get(4)?, r.try_get(5)?, r.try_get(6)?, r.try_get(7)?);
                let claimed = claim_one(
                    db,
                    &id,
                    &notification,
                    &user,
                    &channel,
                    &kind,
                    items.as_deref(),
                    defaults,
                    now,
                );
                match claimed {
                    Ok(Some((mut job, more))) => {
                        job.attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
                        job.created_at = from_micros(created).unwrap_or(now);
                        changes.extend(more);
                        jobs.push(job);
                    }
                    Ok(None) => {}
                    // One unreadable row must not stop every delivery behind it.
                    Err(StoreError::Corrupt(e)) => {
                        tracing::error!(delivery = %id, error = %e, "an outbox row cannot be read; marked dead");
                        db.exec(
                            "UPDATE outbox SET status = 'dead', last_error = $2, updated_at = $3 WHERE id = $1",
                            &[&id, &format!("unreadable: {e}"), &t],
                        )?;
                        audit::append(
                            db,
                            now,
                            &serde_json::json!({"kind": "delivery.unreadable", "delivery": id, "error": e}),
                        )?;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok((jobs, changes))
        })
    }

    fn record_attempts(&mut self, attempts: &[(String, Attempt)], now: Timestamp) -> Result<Vec<Change>> {
        in_tx(self, |db| {
            let mut changes = Vec::new();
            for (id, attempt) in attempts {
                match record_in(db, id, attempt, now) {
                    Ok(c) => changes.extend(c),
                    Err(StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(changes)
        })
    }

    fn provider_status(
        &mut self,
        id: &str,
        delivered: bool,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Change>> {
        let t = micros(now);
        in_tx(self, |db| {
            let Row { ids, channel, attempts, status: current } = row_in(db, id)?;
            // Only a delivery we sent can be confirmed or bounced by its provider.
            if current != "delivered" {
                return Err(StoreError::Conflict(format!(
                    "delivery {id} is {current}: a provider can only report on a delivery that was sent"
                )));
            }
            let status = if delivered { "delivered" } else { "dead" };
            db.exec(
                "UPDATE outbox SET status = $2, last_error = $3, claimed_at = NULL, updated_at = $4 WHERE id = $1",
                &[&id, &status, &error, &t],
            )?;
            let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
            let mut changes = Vec::new();
            for nid in &ids {
                changes.extend(set_state(
                    db,
                    nid,
                    channel,
                    status,
                    Some((attempts, error.map(String::from))),
                    now,
                )?);
            }
            audit::append(
                db,
                now,
                &serde_json::json!({"kind": "delivery.provider_status", "delivery": id, "channel": channel,
                                     "status": status, "error": error}),
            )?;
            Ok(changes)
        })
    }

    /// The outbox rows that carry a notification (alone, in a summary or in a digest). The
    /// list is searched as text (ids are ULIDs, never escaped in JSON), so one unreadable
    /// list cannot make the query fail for every row.
    fn deliveries_of(&self, notification: &str) -> Result<Vec<OutboxRow>> {
        with(self, |db| {
            db.query(
                "SELECT id, channel, kind, status, attempts, last_error FROM outbox
                 WHERE notification = $1
                    OR (items IS NOT NULL AND strpos(items, '\"' || $1 || '\"') > 0)
                 ORDER BY id",
                &[&notification],
            )?
            .iter()
            .map(|r| {
                let attempts: i64 = r.try_get(4)?;
                Ok(OutboxRow {
                    id: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    status: r.try_get(3)?,
                    attempts: attempts.try_into().unwrap_or(u32::MAX),
                    last_error: r.try_get(5)?,
                })
            })
            .collect()
        })
    }

    fn outbox_depth(&self) -> Result<i64> {
        with(self, |db| {
            Ok(db
                .one("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'failed')", &[])?
                .try_get(0)?)
        })
    }

    fn pending_deliveries(&self, user: &str, channel: Channel) -> Result<Vec<String>> {
        with(self, |db| {
            db.query(
                "SELECT notification FROM outbox WHERE username = $1 AND channel = $2 AND status = 'pending' ORDER BY id",
                &[&user, &channel.as_str()],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn record_delivery(
        &mut self,
        notification: &str,
        channel: Channel,
        outcome: std::result::Result<(), String>,
        now: Timestamp,
    ) -> Result<Vec<Change>> {
        in_tx(self, |db| attempts::record_desktop(db, notification, channel, outcome, now))
    }
}

/// Claims one outbox row: `None` when nothing is left to send (everything in it was read
/// or is gone; the row is finished here).
#[allow(clippy::too_many_arguments, reason = "one outbox row's columns")]
fn claim_one(
    db: &mut Db,
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
        match notification_in(db, nid) {
            // Reading an item cancels what is still pending for it (DESIGN §4), but a
            // webhook feeds another system and goes regardless.
            Ok(n) if n.read_at.is_none() || channel == Channel::Webhook => notifications.push(n),
            Ok(_) => left_out.push(nid.clone()),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for nid in &left_out {
        changes.extend(set_state(db, nid, channel, "skipped", None, now)?);
    }
    if notifications.is_empty() {
        db.exec(
            "UPDATE outbox SET status = 'delivered', last_error = 'not sent: read before it went out',
               updated_at = $2 WHERE id = $1",
            &[&id, &t],
        )?;
        audit::append(
            db,
            now,
            &serde_json::json!({"kind": "delivery.skipped", "delivery": id, "channel": channel,
                                 "notifications": ids, "reason": "all read"}),
        )?;
        return Ok(None);
    }
    if !left_out.is_empty() && items.is_some() {
        let sent: Vec<&str> = notifications.iter().map(|n| n.id.as_str()).collect();
        let list = serde_json::to_string(&sent).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        db.exec("UPDATE outbox SET items = $2 WHERE id = $1", &[&id, &list])?;
    }
    let by = (!db.node.is_empty()).then(|| db.node.clone());
    db.exec("UPDATE outbox SET claimed_at = $2, claimed_by = $3 WHERE id = $1", &[&id, &t, &by])?;
    let prefs = prefs_in(db, user, defaults)?.0;
    let subscriber = subscriber_in(db, user, &prefs)?;
    let devices = if channel == Channel::Push { devices_in(db, user)? } else { Vec::new() };
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
