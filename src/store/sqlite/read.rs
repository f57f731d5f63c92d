//! Reading back what was stored: notifications, the change log, preferences and users.
//! Also the preference write, which is versioned (a stale version is refused, never merged).

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::{named_params, params};

use super::SqliteStore;
use super::changes::{next_seq, notification_payload};
use super::rows::{
    FILTER_CONDITION, NOTIFICATION_COLUMNS, bind, notification_from_row, notification_in, urgency_rank,
    view_condition, view_index,
};
use crate::model::Notification;
use crate::store::{Change, ListFilter, Reads, Result, Scheduled, from_micros, micros};

impl Reads for SqliteStore {
    /// The user's last change seq (0 when none).
    fn last_seq(&self, user: &str) -> Result<i64> {
        Ok(next_seq(&self.conn, user)? - 1)
    }

    /// Changes after `seq`, in order, at most `limit`. A change to a notification carries
    /// the row as it is now; one whose row is gone (its user was removed) is left out.
    fn changes_since(&self, user: &str, seq: i64, limit: u32) -> Result<Vec<Change>> {
        let sql = format!(
            "SELECT c.seq, c.kind, c.payload, c.ref, {NOTIFICATION_COLUMNS} FROM changes c
             LEFT JOIN notifications n ON n.id = c.ref
             WHERE c.user = ?1 AND c.seq > ?2 ORDER BY c.seq LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![user, seq, limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let (seq, kind): (i64, String) = (r.get(0)?, r.get(1)?);
            let payload = match r.get::<_, Option<String>>(3)? {
                None => r.get(2)?,
                Some(_) if r.get::<_, Option<String>>(4)?.is_none() => continue,
                Some(_) => notification_payload(&notification_from_row(r, 4)?)?,
            };
            out.push(Change { user: user.to_string(), seq, kind, payload });
        }
        Ok(out)
    }

    fn notification(&self, id: &str) -> Result<Notification> {
        notification_in(&self.conn, id)
    }

    /// A page of the user's items under `f`, newest first. Each view walks its own index.
    fn list(&self, user: &str, f: &ListFilter, now: Timestamp) -> Result<Vec<Notification>> {
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
    fn unread_by_category(&self, user: &str, now: Timestamp) -> Result<BTreeMap<String, i64>> {
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
    fn total(&self, user: &str) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM notifications WHERE user = ?1 AND in_inbox = 1")?
            .query_row([user], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Counts rows of the tables an accept writes, for tests and operators.
    fn table_counts(&self) -> Result<BTreeMap<&'static str, i64>> {
        let mut out = BTreeMap::new();
        for table in ["events", "notifications", "changes", "outbox", "schedule", "audit"] {
            let n: i64 = self.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
            out.insert(table, n);
        }
        Ok(out)
    }

    /// Pending schedule rows of a notification.
    fn schedule_of(&self, notification: &str) -> Result<Vec<Scheduled>> {
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
    fn outbox_of(&self, notification: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT channel, status FROM outbox WHERE notification = ?1 ORDER BY channel")?;
        let rows = stmt.query_map([notification], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
