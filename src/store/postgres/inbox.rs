//! What a user does to their own inbox: read, unread, archive, unarchive, snooze, by id or
//! in bulk, with SQLite's semantics: ownership checked, idempotent, a change per item (a
//! bulk action one compact change per thousand items), audited; reading an item cancels
//! its pending holds, escalations, repeats and digest entries (DESIGN §4).

use jiff::Timestamp;

use super::audit;
use super::changes::{log_notification, next_seq, push_change};
use super::db::{Db, named};
use super::read::lowered;
use super::rows::{FILTER_CONDITION, corrupt, notification_in, urgency_rank, view_condition};
use super::{PgStore, in_tx};
use crate::model::{DeliveryStatus, FieldError, InboxFilter, View};
use crate::store::sql::{OpSql, bulk_action_text};
use crate::store::{
    BULK_CHUNK, BulkOutcome, Change, Inbox, InboxOp, MAX_IDS, Result, StoreError, UNDO_WINDOW, from_micros,
    micros, new_id, sha256_hex,
};

impl Inbox for PgStore {
    fn apply(&mut self, user: &str, ids: &[String], op: InboxOp, now: Timestamp) -> Result<Vec<Change>> {
        if ids.is_empty() {
            return Err(FieldError::new("ids", "name at least one notification").into());
        }
        if ids.len() > MAX_IDS {
            return Err(FieldError::new(
                "ids",
                format!("at most {MAX_IDS} at a time; act on a filter (a bulk action) for more"),
            )
            .into());
        }
        op.check(now)?;
        let t = micros(now);
        let set = format!(
            "UPDATE notifications SET {col} = $2, updated_at = $3, seq = $4 WHERE id = $1 AND {guard}",
            col = op.column(),
            guard = op.guard("", "$2")
        );
        in_tx(self, |db| {
            let mut changes = Vec::new();
            for id in ids {
                let owner = db.opt("SELECT username FROM notifications WHERE id = $1 AND in_inbox", &[id])?;
                let owner: Option<String> = owner.map(|r| r.try_get(0)).transpose()?;
                if owner.as_deref() != Some(user) {
                    return Err(StoreError::NotFound(format!("notification {id}")));
                }
                let seq = next_seq(db, user)?;
                if db.exec(&set, &[id, &op.value(t), &t, &seq])? == 0 {
                    continue;
                }
                match op {
                    InboxOp::MarkRead => acknowledge(db, user, id, t)?,
                    InboxOp::Snooze(until) => schedule_wake(db, user, id, micros(until), t)?,
                    InboxOp::Unsnooze => cancel_wake(db, id, t)?,
                    _ => {}
                }
                let n = notification_in(db, id)?;
                changes.push(log_notification(db, &n, seq, "notification_updated", now)?);
            }
            if !changes.is_empty() {
                audit::append(
                    db,
                    now,
                    &serde_json::json!({"kind": format!("notification.{}", op.name()), "user": user, "ids": ids}),
                )?;
            }
            Ok(changes)
        })
    }

    fn bulk(
        &mut self,
        user: &str,
        op: InboxOp,
        filter: &InboxFilter,
        up_to: Option<i64>,
        now: Timestamp,
    ) -> Result<BulkOutcome> {
        op.check(now)?;
        let t = micros(now);
        let bulk = new_id();
        let view = match (op, filter.view) {
            (InboxOp::MarkRead, View::Inbox) => View::Unread,
            (_, v) => v,
        };
        let sql = format!(
            "INSERT INTO bulk_items (bulk, notification, prev)
             SELECT :bulk::text, n.id, n.{col} FROM notifications n
             WHERE n.username = :user AND {view} AND {FILTER_CONDITION}
               AND (:up_to::bigint IS NULL OR n.seq <= :up_to::bigint) AND {guard}",
            col = op.column(),
            view = view_condition(view),
            guard = op.guard("n.", ":value::bigint"),
        );
        let (urgency, q, value) =
            (filter.urgency_at_least.map(urgency_rank), lowered(&filter.q), op.value(t));
        let (sql, params) = named(
            &sql,
            &[
                (":bulk", &bulk),
                (":user", &user),
                (":now", &t),
                (":category", &filter.category),
                (":urgency", &urgency),
                (":q", &q),
                (":up_to", &up_to),
                (":value", &value),
            ],
        )?;
        in_tx(self, |db| {
            prune_bulks(db, user, now)?;
            // The user's counter row first: this user's writers take turns from here on.
            next_seq(db, user)?;
            let count = db.exec(&sql, &params)?;
            if count == 0 {
                return Ok(BulkOutcome { bulk: None, count: 0, changes: Vec::new() });
            }
            let ids = bulk_ids(db, &bulk)?;
            let first = next_seq(db, user)?;
            let last = first + (ids.len().div_ceil(BULK_CHUNK) as i64) - 1;
            db.exec(
                &format!(
                    "UPDATE notifications SET {col} = $2, updated_at = $3, seq = $4
                     WHERE id IN (SELECT notification FROM bulk_items WHERE bulk = $1)",
                    col = op.column()
                ),
                &[&bulk, &value, &t, &last],
            )?;
            let mut changes = compact_changes(db, user, &ids, op.column(), value, now)?;
            match op {
                InboxOp::MarkRead => changes.extend(acknowledge_bulk(db, user, &bulk, now)?),
                InboxOp::Snooze(until) => {
                    cancel_bulk_wakes(db, user, &bulk, t)?;
                    db.exec(
                        "INSERT INTO schedule (id, kind, notification, username, due_at)
                         SELECT $1 || '-' || notification, 'snooze', notification, $2, $3
                         FROM bulk_items WHERE bulk = $1",
                        &[&bulk, &user, &micros(until)],
                    )?;
                }
                InboxOp::Unsnooze => cancel_bulk_wakes(db, user, &bulk, t)?,
                _ => {}
            }
            db.exec(
                "INSERT INTO bulks (id, username, action, at, count) VALUES ($1, $2, $3, $4, $5)",
                &[&bulk, &user, &bulk_action_text(op), &t, &(count as i64)],
            )?;
            audit::append(
                db,
                now,
                &serde_json::json!({"kind": format!("notifications.bulk_{}", op.name()), "user": user, "bulk": bulk,
                                     "count": count, "filter": filter, "up_to": up_to,
                                     "ids_hash": sha256_hex(ids.join("\n").as_bytes())}),
            )?;
            Ok(BulkOutcome { bulk: Some(bulk.clone()), count, changes })
        })
    }

    fn undo_bulk(&mut self, user: &str, bulk: &str, now: Timestamp) -> Result<BulkOutcome> {
        let t = micros(now);
        in_tx(self, |db| {
            next_seq(db, user)?;
            let row = db.opt("SELECT username, action, at, undone_at FROM bulks WHERE id = $1", &[&bulk])?;
            let row: Option<(String, String, i64, Option<i64>)> = match row {
                Some(r) => Some((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)),
                None => None,
            };
            let Some((_, action, at, undone)) = row.filter(|r| r.0 == user) else {
                return Err(StoreError::NotFound(format!(
                    "bulk action {bulk} (they can be undone for 24 hours)"
                )));
            };
            if undone.is_some() {
                return Ok(BulkOutcome { bulk: Some(bulk.to_string()), count: 0, changes: Vec::new() });
            }
            let (name, until) = match action.split_once(':') {
                Some((n, u)) => (n, u.parse::<i64>().ok()),
                None => (action.as_str(), None),
            };
            let op = InboxOp::parse(name, until)?;
            let col = op.column();
            let left = op.value(at);
            let restore = match op {
                InboxOp::MarkRead | InboxOp::Archive => "NULL::bigint",
                InboxOp::MarkUnread | InboxOp::Unarchive => "$3::bigint",
                InboxOp::Snooze(_) | InboxOp::Unsnooze => "b.prev",
            };
            let sql = format!(
                "SELECT b.notification, {restore} FROM bulk_items b JOIN notifications n ON n.id = b.notification
                 WHERE b.bulk = $1 AND n.{col} IS NOT DISTINCT FROM $2::bigint AND $3::bigint IS NOT NULL
                 ORDER BY 2 NULLS FIRST, 1"
            );
            let rows: Vec<(String, Option<i64>)> = db
                .query(&sql, &[&bulk, &left, &t])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_>>()?;
            let mut changes = Vec::new();
            let mut start = 0;
            while start < rows.len() {
                let value = rows[start].1;
                let end = start + rows[start..].iter().take_while(|r| r.1 == value).count();
                let ids: Vec<String> = rows[start..end].iter().map(|r| r.0.clone()).collect();
                let group = compact_changes(db, user, &ids, col, value, now)?;
                let seq = group.last().map_or(0, |c| c.seq);
                db.exec(
                    &format!(
                        "UPDATE notifications SET {col} = $2, updated_at = $3, seq = $4 WHERE id = ANY($1)"
                    ),
                    &[&ids, &value, &t, &seq],
                )?;
                changes.extend(group);
                start = end;
            }
            if matches!(op, InboxOp::Snooze(_) | InboxOp::Unsnooze) {
                cancel_bulk_wakes(db, user, bulk, t)?;
                db.exec(
                    "INSERT INTO schedule (id, kind, notification, username, due_at)
                     SELECT $1 || '-undo-' || b.notification, 'snooze', b.notification, $2, n.snoozed_until
                     FROM bulk_items b JOIN notifications n ON n.id = b.notification
                     WHERE b.bulk = $1 AND n.snoozed_until > $3",
                    &[&bulk, &user, &t],
                )?;
            }
            db.exec("UPDATE bulks SET undone_at = $2 WHERE id = $1", &[&bulk, &t])?;
            audit::append(
                db,
                now,
                &serde_json::json!({"kind": "notifications.bulk_undone", "user": user, "bulk": bulk,
                                     "count": rows.len()}),
            )?;
            Ok(BulkOutcome { bulk: Some(bulk.to_string()), count: rows.len() as u64, changes })
        })
    }
}

/// Bulk actions older than the undo window are forgotten (the user's own, when they make a
/// new one).
fn prune_bulks(db: &mut Db, user: &str, now: Timestamp) -> Result<()> {
    let horizon = micros(now) - UNDO_WINDOW.as_micros() as i64;
    db.exec(
        "DELETE FROM bulk_items WHERE bulk IN (SELECT id FROM bulks WHERE username = $1 AND at < $2)",
        &[&user, &horizon],
    )?;
    db.exec("DELETE FROM bulks WHERE username = $1 AND at < $2", &[&user, &horizon])?;
    Ok(())
}

fn bulk_ids(db: &mut Db, bulk: &str) -> Result<Vec<String>> {
    db.query("SELECT notification FROM bulk_items WHERE bulk = $1 ORDER BY notification", &[&bulk])?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Logs `notifications_updated` changes for `ids`, a chunk each: `{"ids":[…],"set":{col:…}}`.
fn compact_changes(
    db: &mut Db,
    user: &str,
    ids: &[String],
    col: &str,
    value: Option<i64>,
    now: Timestamp,
) -> Result<Vec<Change>> {
    let value = value.map(from_micros).transpose()?;
    ids.chunks(BULK_CHUNK)
        .map(|chunk| {
            let payload = serde_json::json!({"ids": chunk, "set": {col: value}}).to_string();
            push_change(db, user, "notifications_updated", payload, now)
        })
        .collect()
}

/// Reading an item acknowledges it: what waited for its time will not go.
fn acknowledge(db: &mut Db, user: &str, id: &str, t: i64) -> Result<()> {
    db.exec(
        "UPDATE schedule SET done_at = $2 WHERE notification = $1 AND done_at IS NULL AND kind <> 'snooze'",
        &[&id, &t],
    )?;
    skip_waiting(db, user, id, t)?;
    Ok(())
}

/// [`acknowledge`] for a bulk read. Returns a full change for every item whose delivery
/// state moved to `skipped`.
fn acknowledge_bulk(db: &mut Db, user: &str, bulk: &str, now: Timestamp) -> Result<Vec<Change>> {
    let t = micros(now);
    let mut cancelled: Vec<String> = db
        .query(
            "UPDATE schedule SET done_at = $3 WHERE username = $1 AND done_at IS NULL AND kind <> 'snooze'
               AND notification IN (SELECT notification FROM bulk_items WHERE bulk = $2)
             RETURNING notification",
            &[&user, &bulk, &t],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    cancelled.sort();
    cancelled.dedup();
    let mut changes = Vec::new();
    for id in cancelled {
        if skip_waiting(db, user, &id, t)? {
            let seq = next_seq(db, user)?;
            db.exec("UPDATE notifications SET seq = $2 WHERE id = $1", &[&id, &seq])?;
            let n = notification_in(db, &id)?;
            changes.push(log_notification(db, &n, seq, "notification_updated", now)?);
        }
    }
    Ok(changes)
}

fn schedule_wake(db: &mut Db, user: &str, id: &str, until: i64, t: i64) -> Result<()> {
    cancel_wake(db, id, t)?;
    db.exec(
        "INSERT INTO schedule (id, kind, notification, username, due_at) VALUES ($1, 'snooze', $2, $3, $4)",
        &[&new_id(), &id, &user, &until],
    )?;
    Ok(())
}

fn cancel_wake(db: &mut Db, id: &str, t: i64) -> Result<()> {
    db.exec(
        "UPDATE schedule SET done_at = $2 WHERE notification = $1 AND kind = 'snooze' AND done_at IS NULL",
        &[&id, &t],
    )?;
    Ok(())
}

fn cancel_bulk_wakes(db: &mut Db, user: &str, bulk: &str, t: i64) -> Result<()> {
    db.exec(
        "UPDATE schedule SET done_at = $3 WHERE username = $1 AND done_at IS NULL AND kind = 'snooze'
           AND notification IN (SELECT notification FROM bulk_items WHERE bulk = $2)",
        &[&user, &bulk, &t],
    )?;
    Ok(())
}

/// Marks the item's deliveries that were waiting for their time `skipped`: reading it
/// cancelled them (DESIGN §4). True when any was.
fn skip_waiting(db: &mut Db, user: &str, id: &str, t: i64) -> Result<bool> {
    let n = notification_in(db, id)?;
    debug_assert_eq!(n.user, user);
    let mut deliveries = n.deliveries;
    let mut changed = false;
    for state in deliveries.values_mut() {
        if state.status.is_waiting() {
            state.status = DeliveryStatus::Skipped;
            changed = true;
        }
    }
    if changed {
        let json = serde_json::to_string(&deliveries).map_err(corrupt)?;
        db.exec(
            "UPDATE notifications SET deliveries = $2, updated_at = $3 WHERE id = $1",
            &[&id, &json, &t],
        )?;
    }
    Ok(changed)
}
