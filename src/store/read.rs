//! Reading back what was stored: notifications, the change log, preferences and users.
//! Also the preference write, which is versioned (a stale version is refused, never merged).

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, named_params, params};

use super::changes::{Change, push_change};
use super::rows::{
    FILTER_CONDITION, NOTIFICATION_COLUMNS, bind, corrupt, notification_from_row, notification_in,
    urgency_rank, view_condition, view_index,
};
use super::{Result, Store, StoreError, audit, from_micros, micros};
use crate::model::{InboxFilter, Notification};
use crate::prefs::Preferences;

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

/// Which notifications a listing shows: a filter, and a page of it.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub filter: InboxFilter,
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

    /// A page of the user's items under `f`, newest first. Each view walks its own index.
    pub fn list(&self, user: &str, f: &ListFilter, now: Timestamp) -> Result<Vec<Notification>> {
        let view = f.filter.view;
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications n INDEXED BY {}
             WHERE n.user = :user AND {} AND {FILTER_CONDITION} AND (:before IS NULL OR n.id < :before)
             ORDER BY n.id DESC LIMIT :limit",
            view_index(view),
            view_condition(view)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        bind(
            &mut stmt,
            named_params! {
                ":user": user,
                ":now": micros(now),
                ":category": f.filter.category,
                ":urgency": f.filter.urgency_at_least.map(urgency_rank),
                ":q": f.filter.q,
                ":before": f.before,
                ":limit": f.limit.max(1),
            },
        )?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(notification_from_row(r, 0)?);
        }
        Ok(out)
    }

    /// Unread items (DESIGN §11: not read, not archived, not snoozed into the future), by
    /// category: the counts the triggers keep, plus the snoozed items whose time has come
    /// but whose wake-up has not run yet. No walk over the inbox.
    pub fn unread_by_category(&self, user: &str, now: Timestamp) -> Result<BTreeMap<String, i64>> {
        let mut out = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT category, unread FROM unread_counts WHERE user = ?1 AND unread > 0")?;
        for row in stmt.query_map([user], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (category, n) = row?;
            out.insert(category, n);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT n.category, COUNT(*) FROM notifications n INDEXED BY notifications_snoozed
             WHERE n.user = ?1 AND n.snoozed_until IS NOT NULL AND n.in_inbox = 1 AND n.snoozed_until <= ?2
               AND n.read_at IS NULL AND n.archived_at IS NULL
             GROUP BY n.category",
        )?;
        for row in
            stmt.query_map(params![user, micros(now)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        {
            let (category, n) = row?;
            *out.entry(category).or_default() += n;
        }
        Ok(out)
    }

    /// How many items the user has in all (archived and snoozed included).
    pub fn total(&self, user: &str) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM notifications WHERE user = ?1 AND in_inbox = 1")?
            .query_row([user], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many items are unread (see [`Store::unread_by_category`]).
    pub fn unread_count(&self, user: &str, now: Timestamp) -> Result<i64> {
        Ok(self.unread_by_category(user, now)?.values().sum())
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
