//! Running what the engine scheduled (DESIGN §4 at run time), as SQLite's `schedule` runs
//! it: urgent repeats re-alert until acknowledged or expired, snoozed items come back, held
//! deliveries go out when quiet hours end (several on one channel folded into one summary),
//! escalations go out if the item is still unread, digests gather the unread items due on
//! the same e-mail. Each batch of due rows is one transaction with the changes it causes.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::changes::{log_notification, next_seq};
use super::db::Db;
use super::rows::notification_in;
use super::{PgStore, in_tx, with};
use crate::model::{Channel, DeliveryState, DeliveryStatus, Notification};
use crate::store::{Change, DeliveryKind, Result, Scheduler, StoreError, from_micros, micros, new_id};

/// The kinds this module runs.
const RUNNABLE: &str = "('repeat', 'snooze', 'hold', 'escalation', 'digest')";

impl Scheduler for PgStore {
    fn next_due(&self) -> Result<Option<Timestamp>> {
        let sql = format!("SELECT MIN(due_at) FROM schedule WHERE done_at IS NULL AND kind IN {RUNNABLE}");
        let due: Option<i64> = with(self, |db| Ok(db.one(&sql, &[])?.try_get(0)?))?;
        due.map(from_micros).transpose()
    }

    fn run_due(&mut self, now: Timestamp) -> Result<Vec<Change>> {
        let t = micros(now);
        let sql = format!(
            "SELECT id, kind, notification, channel, payload FROM schedule
             WHERE done_at IS NULL AND kind IN {RUNNABLE} AND due_at <= $1 ORDER BY due_at, id LIMIT 500 FOR UPDATE SKIP LOCKED"
        );
        in_tx(self, |db| {
            let rows: Vec<(String, String, String, Option<String>, String)> = db
                .query(&sql, &[&t])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?)))
                .collect::<Result<_>>()?;
            let mut changes = Vec::new();
            let mut grouped: BTreeMap<(String, Channel, String), (DeliveryKind, Vec<Notification>)> =
                BTreeMap::new();
            for (id, kind, notification, channel, payload) in rows {
                db.exec("UPDATE schedule SET done_at = $2 WHERE id = $1", &[&id, &t])?;
                let mut n = match notification_in(db, &notification) {
                    Ok(n) => n,
                    Err(StoreError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                let unread = n.read_at.is_none();
                let channel: Option<Channel> = channel.as_deref().and_then(|c| c.parse().ok());
                // Desktop popups stay one per item (the desktop worker follows items).
                if let (Some(ch), "hold" | "digest") =
                    (channel.filter(|c| *c != Channel::Desktop), kind.as_str())
                {
                    let dk = if kind == "hold" { DeliveryKind::Summary } else { DeliveryKind::Digest };
                    grouped
                        .entry((n.user.clone(), ch, kind.clone()))
                        .or_insert_with(|| (dk, Vec::new()))
                        .1
                        .push(n);
                    continue;
                }
                let deliver = match (kind.as_str(), channel) {
                    ("snooze", _) => {
                        let seq = next_seq(db, &n.user)?;
                        db.exec(
                            "UPDATE notifications SET snoozed_until = NULL, updated_at = $2, seq = $3 WHERE id = $1",
                            &[&notification, &t, &seq],
                        )?;
                        n.snoozed_until = None;
                        changes.push(log_notification(db, &n, seq, "notification_updated", now)?);
                        None
                    }
                    ("repeat", Some(ch)) if unread => {
                        let p: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
                        let every = p["every_minutes"].as_i64().unwrap_or(0);
                        let until = p["until"].as_str().and_then(|u| u.parse::<Timestamp>().ok());
                        let next = t + every * 60_000_000;
                        if every > 0 && until.is_some_and(|u| micros(u) > next) {
                            db.exec(
                                "INSERT INTO schedule (id, kind, notification, username, channel, due_at, payload)
                                 VALUES ($1, 'repeat', $2, $3, $4, $5, $6)",
                                &[&new_id(), &notification, &n.user, &ch.as_str(), &next, &payload],
                            )?;
                        }
                        Some(ch)
                    }
                    ("hold", Some(ch)) => Some(ch),
                    ("escalation", Some(ch)) if unread => Some(ch),
                    _ => None,
                };
                if let Some(ch) = deliver {
                    enqueue(db, &mut [&mut n], ch, DeliveryKind::Single, now, &mut changes)?;
                }
                super::audit::append(
                    db,
                    now,
                    &serde_json::json!({"kind": format!("schedule.{kind}"), "notification": notification,
                                         "channel": channel, "delivered": deliver.is_some()}),
                )?;
            }
            for ((user, ch, kind), (dk, mut items)) in grouped {
                // Items read since they were scheduled had their rows marked done; an unread
                // archived item still counts (the user has not seen it).
                items.retain(|n| n.read_at.is_none());
                if items.is_empty() {
                    continue;
                }
                let ids: Vec<String> = items.iter().map(|n| n.id.clone()).collect();
                let dk =
                    if dk == DeliveryKind::Summary && items.len() == 1 { DeliveryKind::Single } else { dk };
                let mut refs: Vec<&mut Notification> = items.iter_mut().collect();
                enqueue(db, &mut refs, ch, dk, now, &mut changes)?;
                super::audit::append(
                    db,
                    now,
                    &serde_json::json!({"kind": format!("schedule.{kind}"), "user": user, "channel": ch,
                                         "notifications": ids}),
                )?;
            }
            Ok(changes)
        })
    }
}

/// Puts one delivery of `items` on `ch` into the outbox (a summary or digest carries their
/// ids) and marks them pending there.
fn enqueue(
    db: &mut Db,
    items: &mut [&mut Notification],
    ch: Channel,
    kind: DeliveryKind,
    now: Timestamp,
    changes: &mut Vec<Change>,
) -> Result<()> {
    let t = micros(now);
    let Some(first) = items.first() else { return Ok(()) };
    let list = match kind {
        DeliveryKind::Single => None,
        _ => Some(
            serde_json::to_string(&items.iter().map(|n| n.id.as_str()).collect::<Vec<_>>())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
    };
    let kind_str = match kind {
        DeliveryKind::Single => "single",
        DeliveryKind::Summary => "summary",
        DeliveryKind::Digest => "digest",
    };
    db.exec(
        "INSERT INTO outbox (id, notification, username, channel, status, next_attempt_at, created_at, updated_at, kind, items)
         VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5, $6, $7)",
        &[&new_id(), &first.id, &first.user, &ch.as_str(), &t, &kind_str, &list],
    )?;
    for n in items.iter_mut() {
        let attempts = n.deliveries.get(&ch).map_or(0, |d| d.attempts);
        n.deliveries
            .insert(ch, DeliveryState { status: DeliveryStatus::Pending, attempts, last_error: None });
        let deliveries =
            serde_json::to_string(&n.deliveries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let seq = next_seq(db, &n.user)?;
        db.exec(
            "UPDATE notifications SET deliveries = $2, updated_at = $3, seq = $4 WHERE id = $1",
            &[&n.id, &deliveries, &t, &seq],
        )?;
        changes.push(log_notification(db, n, seq, "notification_updated", now)?);
    }
    Ok(())
}
