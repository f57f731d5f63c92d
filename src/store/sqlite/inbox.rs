//! What a user does to their own inbox: read, unread, archive, unarchive, snooze, by id or
//! in bulk. Each operation checks ownership, is idempotent (doing it twice changes nothing
//! the second time), logs a change per item it changed (a bulk action one compact change
//! per thousand items) and is audited. Reading an item is its acknowledgement: its pending
//! holds, escalations, repeats and digest entries are cancelled (DESIGN §4).

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, named_params, params};

use super::SqliteStore;
use super::audit;
use super::changes::{log_notification, next_seq, push_change};
use super::rows::{
    FILTER_CONDITION, bind, corrupt, notification_in, urgency_rank, view_condition, view_index,
};
use crate::model::{DeliveryStatus, FieldError, InboxFilter, View};
use crate::store::sql::{OpSql, bulk_action_text};
use crate::store::{
    BULK_CHUNK, BulkOutcome, Change, Inbox, InboxOp, MAX_IDS, Result, StoreError, UNDO_WINDOW, from_micros,
    micros, new_id, sha256_hex,
};

impl Inbox for SqliteStore {
    /// Applies `op` to the user's notifications `ids`. An id that is not the user's is
    /// refused as not found (whether it exists for someone else is not revealed), and then
    /// nothing at all changes.
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
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changes = Vec::new();
        let set = format!(
            "UPDATE notifications SET {col} = ?2, updated_at = ?3, seq = ?4 WHERE id = ?1 AND {guard}",
            col = op.column(),
            guard = op.guard("", "?2")
        );
        for id in ids {
            let owner: Option<String> = tx
                .prepare_cached("SELECT user FROM notifications WHERE id = ?1 AND in_inbox = 1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            if owner.as_deref() != Some(user) {
                return Err(StoreError::NotFound(format!("notification {id}")));
            }
            let seq = next_seq(&tx, user)?;
            let changed = tx.prepare_cached(&set)?.execute(params![id, op.value(t), t, seq])?;
            if changed == 0 {
                continue;
            }
            match op {
                InboxOp::MarkRead => acknowledge(&tx, user, id, t)?,
                InboxOp::Snooze(until) => schedule_wake(&tx, user, id, micros(until), t)?,
                InboxOp::Unsnooze => cancel_wake(&tx, id, t)?,
                _ => {}
            }
            let n = notification_in(&tx, id)?;
            changes.push(log_notification(&tx, &n, seq, "notification_updated", now)?);
        }
        if !changes.is_empty() {
            audit::append(
                &tx,
                now,
                &serde_json::json!({"kind": format!("notification.{}", op.name()), "user": user, "ids": ids}),
            )?;
        }
        tx.commit()?;
        Ok(changes)
    }

    /// Applies `op` to every item of the user's that `filter` shows and `op` would change,
    /// up to the user's change `up_to` (what the user had seen when they asked; `None`:
    /// everything now). One transaction whatever the count; the changes are compact
    /// `notifications_updated` ones (the ids and the field set), plus a full change for
    /// each item whose pending deliveries a read cancelled.
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
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        prune_bulks(&tx, user, now)?;
        let bulk = new_id();
        // Read or archive everything an inbox shows: the unread and inbox indexes hold
        // exactly those rows.
        let view = match (op, filter.view) {
            (InboxOp::MarkRead, View::Inbox) => View::Unread,
            (_, v) => v,
        };
        let sql = format!(
            "INSERT INTO bulk_items (bulk, notification, prev)
             SELECT :bulk, n.id, n.{col} FROM notifications n INDEXED BY {index}
             WHERE n.user = :user AND {view} AND {FILTER_CONDITION}
               AND (:up_to IS NULL OR n.seq <= :up_to) AND {guard}",
            col = op.column(),
            index = view_index(view),
            view = view_condition(view),
            guard = op.guard("n.", ":value"),
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        bind(
            &mut stmt,
            named_params! {
                ":bulk": bulk,
                ":user": user,
                ":now": t,
                ":category": filter.category,
                ":urgency": filter.urgency_at_least.map(urgency_rank),
                ":q": filter.q,
                ":up_to": up_to,
                ":value": op.value(t),
            },
        )?;
        let count = stmt.raw_execute()?;
        drop(stmt);
        if count == 0 {
            return Ok(BulkOutcome { bulk: None, count: 0, changes: Vec::new() });
        }
        let ids = bulk_ids(&tx, &bulk)?;
        let first = next_seq(&tx, user)?;
        let last = first + (ids.len().div_ceil(BULK_CHUNK) as i64) - 1;
        tx.prepare_cached(&format!(
            "UPDATE notifications SET {col} = ?2, updated_at = ?3, seq = ?4
             WHERE id IN (SELECT notification FROM bulk_items WHERE bulk = ?1)",
            col = op.column()
        ))?
        .execute(params![bulk, op.value(t), t, last])?;
        let mut changes = compact_changes(&tx, user, &ids, op.column(), op.value(t), now)?;
        match op {
            InboxOp::MarkRead => changes.extend(acknowledge_bulk(&tx, user, &bulk, now)?),
            InboxOp::Snooze(until) => {
                cancel_bulk_wakes(&tx, user, &bulk, t)?;
                tx.prepare_cached(
                    "INSERT INTO schedule (id, kind, notification, user, due_at)
                     SELECT ?1 || '-' || notification, 'snooze', notification, ?2, ?3 FROM bulk_items WHERE bulk = ?1",
                )?
                .execute(params![bulk, user, micros(until)])?;
            }
            InboxOp::Unsnooze => cancel_bulk_wakes(&tx, user, &bulk, t)?,
            _ => {}
        }
        tx.prepare_cached("INSERT INTO bulks (id, user, action, at, count) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![bulk, user, bulk_action_text(op), t, count as i64])?;
        audit::append(
            &tx,
            now,
            &serde_json::json!({"kind": format!("notifications.bulk_{}", op.name()), "user": user, "bulk": bulk,
                                 "count": count, "filter": filter, "up_to": up_to,
                                 "ids_hash": sha256_hex(ids.join("\n").as_bytes())}),
        )?;
        tx.commit()?;
        Ok(BulkOutcome { bulk: Some(bulk), count: count as u64, changes })
    }

    /// Takes back a bulk action of the user's: the items it changed that are still as it
    /// left them go back (a read or archive is undone, a snooze restored to what it was).
    /// Cancelled deliveries of items it read stay cancelled.
    fn undo_bulk(&mut self, user: &str, bulk: &str, now: Timestamp) -> Result<BulkOutcome> {
        let t = micros(now);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, String, i64, Option<i64>)> = tx
            .prepare_cached("SELECT user, action, at, undone_at FROM bulks WHERE id = ?1")?
            .query_row([bulk], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
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
        // The new value per item: a snooze goes back to what it was; read and archive
        // times are the undo's (the state is what matters).
        let restore = match op {
            InboxOp::MarkRead | InboxOp::Archive => "NULL",
            InboxOp::MarkUnread | InboxOp::Unarchive => ":now",
            InboxOp::Snooze(_) | InboxOp::Unsnooze => "b.prev",
        };
        let rows: Vec<(String, Option<i64>)> = {
            let sql = format!(
                "SELECT b.notification, {restore} FROM bulk_items b JOIN notifications n ON n.id = b.notification
                 WHERE b.bulk = :bulk AND n.{col} IS :left ORDER BY 2, 1"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            bind(&mut stmt, named_params! {":bulk": bulk, ":left": left, ":now": t})?;
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push((r.get(0)?, r.get(1)?));
            }
            out
        };
        let mut changes = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let value = rows[start].1;
            let end = start + rows[start..].iter().take_while(|r| r.1 == value).count();
            let ids: Vec<String> = rows[start..end].iter().map(|r| r.0.clone()).collect();
            let group = compact_changes(&tx, user, &ids, col, value, now)?;
            let seq = group.last().map_or(0, |c| c.seq);
            let set = tx.prepare_cached(&format!(
                "UPDATE notifications SET {col} = ?2, updated_at = ?3, seq = ?4
                 WHERE id IN (SELECT value FROM json_each(?1))"
            ));
            set?.execute(params![serde_json::to_string(&ids).map_err(corrupt)?, value, t, seq])?;
            changes.extend(group);
            start = end;
        }
        if matches!(op, InboxOp::Snooze(_) | InboxOp::Unsnooze) {
            cancel_bulk_wakes(&tx, user, bulk, t)?;
            tx.prepare_cached(
                "INSERT INTO schedule (id, kind, notification, user, due_at)
                 SELECT ?1 || '-undo-' || b.notification, 'snooze', b.notification, ?2, n.snoozed_until
                 FROM bulk_items b JOIN notifications n ON n.id = b.notification
                 WHERE b.bulk = ?1 AND n.snoozed_until > ?3",
            )?
            .execute(params![bulk, user, t])?;
        }
        tx.prepare_cached("UPDATE bulks SET undone_at = ?2 WHERE id = ?1")?.execute(params![bulk, t])?;
        audit::append(
            &tx,
            now,
            &serde_json::json!({"kind": "notifications.bulk_undone", "user": user, "bulk": bulk,
                                 "count": rows.len()}),
        )?;
        tx.commit()?;
        Ok(BulkOutcome { bulk: Some(bulk.to_string()), count: rows.len() as u64, changes })
    }
}

/// Bulk actions older than the undo window are forgotten (the user's own, when they make a
/// new one: the table stays as small as what can still be undone).
fn prune_bulks(tx: &Connection, user: &str, now: Timestamp) -> Result<()> {
    let horizon = micros(now) - UNDO_WINDOW.as_micros() as i64;
    let old: Vec<String> = {
        let mut stmt = tx.prepare_cached("SELECT id FROM bulks WHERE user = ?1 AND at < ?2")?;
        stmt.query_map(params![user, horizon], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
    };
    for id in old {
        tx.prepare_cached("DELETE FROM bulk_items WHERE bulk = ?1")?.execute([&id])?;
        tx.prepare_cached("DELETE FROM bulks WHERE id = ?1")?.execute([&id])?;
    }
    Ok(())
}

fn bulk_ids(tx: &Connection, bulk: &str) -> Result<Vec<String>> {
    let mut stmt =
        tx.prepare_cached("SELECT notification FROM bulk_items WHERE bulk = ?1 ORDER BY notification")?;
    let rows = stmt.query_map([bulk], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Logs `notifications_updated` changes for `ids`, a chunk each: `{"ids":[…],"set":{col:…}}`.
fn compact_changes(
    tx: &Connection,
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
            push_change(tx, user, "notifications_updated", payload, now)
        })
        .collect()
}

/// Reading an item acknowledges it: what waited for its time will not go.
fn acknowledge(tx: &Connection, user: &str, id: &str, t: i64) -> Result<()> {
    tx.prepare_cached(
        "UPDATE schedule SET done_at = ?2 WHERE notification = ?1 AND done_at IS NULL AND kind != 'snooze'",
    )?
    .execute(params![id, t])?;
    skip_waiting(tx, user, id, t)?;
    Ok(())
}

/// [`acknowledge`] for a bulk read: the user's pending schedule rows are few, so they are
/// walked and matched against the bulk's items. Returns a full change for every item whose
/// delivery state moved to `skipped`.
fn acknowledge_bulk(tx: &Connection, user: &str, bulk: &str, now: Timestamp) -> Result<Vec<Change>> {
    let t = micros(now);
    let cancelled: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "UPDATE schedule SET done_at = ?3 WHERE user = ?1 AND done_at IS NULL AND kind != 'snooze'
               AND notification IN (SELECT notification FROM bulk_items WHERE bulk = ?2)
             RETURNING notification",
        )?;
        let rows = stmt.query_map(params![user, bulk, t], |r| r.get(0))?;
        let mut ids: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
        ids.sort();
        ids.dedup();
        ids
    };
    let mut changes = Vec::new();
    for id in cancelled {
        if skip_waiting(tx, user, &id, t)? {
            let seq = next_seq(tx, user)?;
            tx.prepare_cached("UPDATE notifications SET seq = ?2 WHERE id = ?1")?
                .execute(params![id, seq])?;
            let n = notification_in(tx, &id)?;
            changes.push(log_notification(tx, &n, seq, "notification_updated", now)?);
        }
    }
    Ok(changes)
}

fn schedule_wake(tx: &Connection, user: &str, id: &str, until: i64, t: i64) -> Result<()> {
    cancel_wake(tx, id, t)?;
    tx.prepare_cached(
        "INSERT INTO schedule (id, kind, notification, user, due_at) VALUES (?1, 'snooze', ?2, ?3, ?4)",
    )?
    .execute(params![new_id(), id, user, until])?;
    Ok(())
}

fn cancel_wake(tx: &Connection, id: &str, t: i64) -> Result<()> {
    tx.prepare_cached(
        "UPDATE schedule SET done_at = ?2 WHERE notification = ?1 AND kind = 'snooze' AND done_at IS NULL",
    )?
    .execute(params![id, t])?;
    Ok(())
}

fn cancel_bulk_wakes(tx: &Connection, user: &str, bulk: &str, t: i64) -> Result<()> {
    tx.prepare_cached(
        "UPDATE schedule SET done_at = ?3 WHERE user = ?1 AND done_at IS NULL AND kind = 'snooze'
           AND notification IN (SELECT notification FROM bulk_items WHERE bulk = ?2)",
    )?
    .execute(params![user, bulk, t])?;
    Ok(())
}

/// Marks the item's deliveries that were waiting for their time `skipped`: reading it
/// cancelled them (DESIGN §4). True when any was.
fn skip_waiting(tx: &Connection, user: &str, id: &str, t: i64) -> Result<bool> {
    let n = notification_in(tx, id)?;
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
        tx.prepare_cached("UPDATE notifications SET deliveries = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id, json, t])?;
    }
    Ok(changed)
}
