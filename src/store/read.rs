//! Reading back what was stored: notifications, the change log, preferences and users.
//! Also the preference write, which is versioned (a stale version is refused, never merged).

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::accept::{Change, push_change};
use super::{Result, Store, StoreError, audit, from_micros};
use crate::model::{Channel, DeliveryState, Notification, Urgency};
use crate::prefs::Preferences;

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

const NOTIFICATION_COLUMNS: &str =
    "id, user, event_id, type, category, urgency, title, body, url, thread, data,
    created_at, read_at, archived_at, snoozed_until, count, deliveries, plan";

fn notification_from_row(r: &Row<'_>) -> Result<Notification> {
    let opt_time =
        |i: usize| -> Result<Option<Timestamp>> { r.get::<_, Option<i64>>(i)?.map(from_micros).transpose() };
    let urgency: String = r.get(5)?;
    let data: String = r.get(10)?;
    let deliveries: String = r.get(16)?;
    Ok(Notification {
        id: r.get(0)?,
        user: r.get(1)?,
        event_id: r.get(2)?,
        kind: r.get(3)?,
        category: r.get(4)?,
        urgency: urgency.parse::<Urgency>().map_err(corrupt)?,
        title: r.get(6)?,
        body: r.get(7)?,
        url: r.get(8)?,
        thread: r.get(9)?,
        data: serde_json::from_str(&data).map_err(corrupt)?,
        created_at: from_micros(r.get(11)?)?,
        read_at: opt_time(12)?,
        archived_at: opt_time(13)?,
        snoozed_until: opt_time(14)?,
        count: r.get(15)?,
        deliveries: serde_json::from_str::<BTreeMap<Channel, DeliveryState>>(&deliveries).map_err(corrupt)?,
        plan: serde_json::from_str(&r.get::<_, String>(17)?).ok(),
    })
}

pub(crate) fn notification_in(conn: &Connection, id: &str) -> Result<Notification> {
    let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(r) => notification_from_row(r),
        None => Err(StoreError::NotFound(format!("notification {id}"))),
    }
}

/// A user's preferences and their version (0 when never saved: the defaults).
pub(crate) fn prefs_in(conn: &Connection, user: &str, defaults: &Preferences) -> Result<(Preferences, i64)> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT json, version FROM preferences WHERE user = ?1")?
        .query_row([user], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((json, version)) => Ok((serde_json::from_str(&json).map_err(corrupt)?, version)),
        None => Ok((defaults.clone(), 0)),
    }
}

/// Which notifications a listing shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub unread_only: bool,
    pub category: Option<String>,
    pub include_archived: bool,
    /// Case-insensitive text in the title or body.
    pub q: Option<String>,
    /// Only ids below this one (the cursor: listings are newest first).
    pub before: Option<String>,
    pub limit: u32,
}

/// A pending schedule row: a hold, digest, escalation, repeat or snooze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub kind: String,
    pub channel: Option<String>,
    /// `None`: held until do-not-disturb is turned off.
    pub due: Option<Timestamp>,
}

impl Store {
    pub fn notification(&self, id: &str) -> Result<Notification> {
        notification_in(&self.conn, id)
    }

    /// A user's inbox, newest first.
    pub fn list(&self, user: &str, f: &ListFilter) -> Result<Vec<Notification>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications
             WHERE user = ?1 AND in_inbox = 1
               AND (?2 = 0 OR read_at IS NULL)
               AND (?3 IS NULL OR category = ?3)
               AND (?4 = 1 OR archived_at IS NULL)
               AND (?5 IS NULL OR id < ?5)
               AND (?7 IS NULL OR instr(lower(title || ' ' || coalesce(body, '')), lower(?7)) > 0)
             ORDER BY id DESC LIMIT ?6"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![
            user,
            f.unread_only,
            f.category,
            f.include_archived,
            f.before,
            f.limit.max(1),
            f.q
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(notification_from_row(r)?);
        }
        Ok(out)
    }

    pub fn unread_count(&self, user: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM notifications WHERE user = ?1 AND in_inbox = 1 AND read_at IS NULL AND archived_at IS NULL",
            [user],
            |r| r.get(0),
        )?)
    }

    /// The user's last change seq (0 when none).
    pub fn last_seq(&self, user: &str) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes WHERE user = ?1", [user], |r| r.get(0))?)
    }

    /// Changes after `seq`, in order, at most `limit`.
    pub fn changes_since(&self, user: &str, seq: i64, limit: u32) -> Result<Vec<Change>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, kind, payload FROM changes WHERE user = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![user, seq, limit], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        rows.map(|r| {
            let (seq, kind, payload) = r?;
            Ok(Change { user: user.to_string(), seq, kind, payload })
        })
        .collect()
    }

    pub fn prefs(&self, user: &str, defaults: &Preferences) -> Result<(Preferences, i64)> {
        prefs_in(&self.conn, user, defaults)
    }

    /// Saves preferences if `expected` is the current version; returns the new version and
    /// the `prefs_updated` change.
    pub fn put_prefs(
        &mut self,
        user: &str,
        prefs: &Preferences,
        expected: Option<i64>,
        defaults: &Preferences,
        now: Timestamp,
    ) -> Result<(i64, Change)> {
        prefs.validate()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (_, current) = prefs_in(&tx, user, defaults)?;
        if let Some(expected) = expected
            && expected != current
        {
            return Err(StoreError::VersionConflict { expected, current });
        }
        let version = current + 1;
        let json = serde_json::to_string(prefs).map_err(corrupt)?;
        tx.execute(
            "INSERT INTO preferences (user, json, version) VALUES (?1, ?2, ?3)
             ON CONFLICT (user) DO UPDATE SET json = excluded.json, version = excluded.version",
            params![user, json, version],
        )?;
        let payload = serde_json::json!({"prefs": prefs.outward(), "prefs_version": version}).to_string();
        if prefs.dnd.until != Some(crate::prefs::DndUntil::Forever) {
            // Deliveries held "until do-not-disturb is turned off" go now.
            tx.prepare_cached(
                "UPDATE schedule SET due_at = ?2 WHERE user = ?1 AND kind = 'hold' AND due_at IS NULL AND done_at IS NULL",
            )?
            .execute(rusqlite::params![user, super::micros(now)])?;
        }
        let change = push_change(&tx, user, "prefs_updated", payload, now)?;
        audit::append(
            &tx,
            now,
            &serde_json::json!({"kind": "prefs.updated", "user": user, "version": version}),
        )?;
        tx.commit()?;
        Ok((version, change))
    }

    /// Deliveries not yet done: pending or failed (to be retried).
    pub fn outbox_depth(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'failed')",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn users(&self) -> Result<Vec<(String, Option<String>)>> {
        let mut stmt = self.conn.prepare("SELECT name, email FROM users ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Counts rows of the tables an accept writes, for tests and operators.
    pub fn table_counts(&self) -> Result<BTreeMap<&'static str, i64>> {
        let mut out = BTreeMap::new();
        for table in ["events", "notifications", "changes", "outbox", "schedule", "audit"] {
            let n: i64 = self.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
            out.insert(table, n);
        }
        Ok(out)
    }

    /// Pending schedule rows of a notification.
    pub fn schedule_of(&self, notification: &str) -> Result<Vec<Scheduled>> {
        let mut stmt = self.conn.prepare(
            "SELECT kind, channel, due_at FROM schedule WHERE notification = ?1 AND done_at IS NULL ORDER BY kind, channel",
        )?;
        let rows = stmt.query_map([notification], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<i64>>(2)?))
        })?;
        rows.map(|r| {
            let (kind, channel, due) = r?;
            Ok(Scheduled { kind, channel, due: due.map(from_micros).transpose()? })
        })
        .collect()
    }

    /// Outbox rows of a notification as (channel, status).
    pub fn outbox_of(&self, notification: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT channel, status FROM outbox WHERE notification = ?1 ORDER BY channel")?;
        let rows = stmt.query_map([notification], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
