//! What a user does to their own inbox: read, unread, archive, unarchive, snooze. Each
//! operation checks ownership, is idempotent (doing it twice changes nothing the second
//! time), appends a `notification_updated` change per item it changed, and is audited.
//! Reading an item is its acknowledgement: its pending holds, escalations, repeats and
//! digest entries are cancelled (DESIGN §4).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::accept::{Change, notification_payload, push_change};
use super::{Result, Store, StoreError, audit, micros, read};
use crate::model::FieldError;

/// Most notifications one operation names (the writer is shared by everyone).
pub const MAX_IDS: usize = 1000;

/// An operation on notifications, as the sync protocol and REST carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxOp {
    MarkRead,
    MarkUnread,
    Archive,
    Unarchive,
    Snooze(Timestamp),
}

impl InboxOp {
    fn name(self) -> &'static str {
        match self {
            InboxOp::MarkRead => "mark_read",
            InboxOp::MarkUnread => "mark_unread",
            InboxOp::Archive => "archive",
            InboxOp::Unarchive => "unarchive",
            InboxOp::Snooze(_) => "snooze",
        }
    }
}

impl Store {
    /// Applies `op` to the user's notifications `ids`. An id that is not the user's is
    /// refused as not found (whether it exists for someone else is not revealed), and then
    /// nothing at all changes.
    pub fn apply(&mut self, user: &str, ids: &[String], op: InboxOp, now: Timestamp) -> Result<Vec<Change>> {
        if ids.is_empty() {
            return Err(FieldError::new("ids", "name at least one notification").into());
        }
        if ids.len() > MAX_IDS {
            return Err(FieldError::new("ids", format!("at most {MAX_IDS} at a time")).into());
        }
        if let InboxOp::Snooze(until) = op
            && until <= now
        {
            return Err(FieldError::new("until", "must be in the future").into());
        }
        let t = micros(now);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changes = Vec::new();
        for id in ids {
            let owner: Option<String> = tx
                .prepare_cached("SELECT user FROM notifications WHERE id = ?1 AND in_inbox = 1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            if owner.as_deref() != Some(user) {
                return Err(StoreError::NotFound(format!("notification {id}")));
            }
            let changed = match op {
                InboxOp::MarkRead => {
                    let n = tx
                        .prepare_cached("UPDATE notifications SET read_at = ?2, updated_at = ?2 WHERE id = ?1 AND read_at IS NULL")?
                        .execute(params![id, t])?;
                    if n > 0 {
                        tx.prepare_cached("UPDATE schedule SET done_at = ?2 WHERE notification = ?1 AND done_at IS NULL AND kind != 'snooze'")?
                            .execute(params![id, t])?;
                        // What waited for its time (held, digest, escalation) will not go.
                        skip_waiting(&tx, id, t)?;
                    }
                    n
                }
                InboxOp::MarkUnread => tx
                    .prepare_cached("UPDATE notifications SET read_at = NULL, updated_at = ?2 WHERE id = ?1 AND read_at IS NOT NULL")?
                    .execute(params![id, t])?,
                InboxOp::Archive => tx
                    .prepare_cached("UPDATE notifications SET archived_at = ?2, updated_at = ?2 WHERE id = ?1 AND archived_at IS NULL")?
                    .execute(params![id, t])?,
                InboxOp::Unarchive => tx
                    .prepare_cached("UPDATE notifications SET archived_at = NULL, updated_at = ?2 WHERE id = ?1 AND archived_at IS NOT NULL")?
                    .execute(params![id, t])?,
                InboxOp::Snooze(until) => {
                    let until = micros(until);
                    let n = tx
                        .prepare_cached("UPDATE notifications SET snoozed_until = ?2, updated_at = ?3 WHERE id = ?1 AND snoozed_until IS NOT ?2")?
                        .execute(params![id, until, t])?;
                    if n > 0 {
                        tx.prepare_cached("UPDATE schedule SET done_at = ?2 WHERE notification = ?1 AND kind = 'snooze' AND done_at IS NULL")?
                            .execute(params![id, t])?;
                        tx.prepare_cached("INSERT INTO schedule (id, kind, notification, user, due_at) VALUES (?1, 'snooze', ?2, ?3, ?4)")?
                            .execute(params![super::new_id(), id, user, until])?;
                    }
                    n
                }
            };
            if changed > 0 {
                let n = read::notification_in(&tx, id)?;
                changes.push(push_change(&tx, user, "notification_updated", notification_payload(&n), now)?);
            }
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

    /// Marks every unread, unarchived item read, optionally only in one category.
    pub fn mark_all_read(
        &mut self,
        user: &str,
        category: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Change>> {
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id FROM notifications WHERE user = ?1 AND in_inbox = 1 AND read_at IS NULL
                 AND archived_at IS NULL AND (?2 IS NULL OR category = ?2) ORDER BY id",
            )?;
            stmt.query_map(params![user, category], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.apply(user, &ids, InboxOp::MarkRead, now)
    }
}

/// Marks the item's deliveries that were waiting for their time `skipped`: reading it
/// cancelled them (DESIGN §4).
fn skip_waiting(tx: &rusqlite::Connection, id: &str, t: i64) -> Result<()> {
    let n = read::notification_in(tx, id)?;
    let mut deliveries = n.deliveries;
    let mut changed = false;
    for state in deliveries.values_mut() {
        if matches!(state.status.as_str(), "held" | "digest" | "scheduled") {
            state.status = "skipped".into();
            changed = true;
        }
    }
    if changed {
        let json = serde_json::to_string(&deliveries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.prepare_cached("UPDATE notifications SET deliveries = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id, json, t])?;
    }
    Ok(())
}
