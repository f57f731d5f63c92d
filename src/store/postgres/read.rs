//! Reading back what was stored: notifications, the change log, counts, schedule and
//! outbox rows. Each listing walks its view's partial index, newest first.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::changes::{last_seq, notification_payload};
use super::db::named;
use super::rows::{
    FILTER_CONDITION, NOTIFICATION_COLUMNS, notification_from_row, notification_in, urgency_rank,
    view_condition,
};
use super::{PgStore, with};
use crate::model::Notification;
use crate::store::{Change, ListFilter, Reads, Result, Scheduled, from_micros, micros};

impl Reads for PgStore {
    /// The user's last change seq (0 when none): their counter row.
    fn last_seq(&self, user: &str) -> Result<i64> {
        with(self, |db| last_seq(db, user))
    }

    /// Changes after `seq`, in order, at most `limit`. A change to a notification carries
    /// the row as it is now; one whose row is gone (its user was removed) is left out.
    fn changes_since(&self, user: &str, seq: i64, limit: u32) -> Result<Vec<Change>> {
        let sql = format!(
            "SELECT c.seq, c.kind, c.payload, c.ref_id, {NOTIFICATION_COLUMNS} FROM changes c
             LEFT JOIN notifications n ON n.id = c.ref_id
             WHERE c.username = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3"
        );
        with(self, |db| {
            let rows = db.query(&sql, &[&user, &seq, &i64::from(limit)])?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let (seq, kind): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
                let payload = match r.try_get::<_, Option<String>>(3)? {
                    None => r.try_get(2)?,
                    Some(_) if r.try_get::<_, Option<String>>(4)?.is_none() => continue,
                    Some(_) => notification_payload(&notification_from_row(&r, 4)?)?,
                };
                out.push(Change { user: user.to_string(), seq, kind, payload });
            }
            Ok(out)
        })
    }

    fn notification(&self, id: &str) -> Result<Notification> {
        with(self, |db| notification_in(db, id))
    }

    /// A page of the user's items under `f`, newest first.
    fn list(&self, user: &str, f: &ListFilter, now: Timestamp) -> Result<Vec<Notification>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications n
             WHERE n.username = :user AND {} AND {FILTER_CONDITION}
               AND (:before::text IS NULL OR n.id < :before::text)
             ORDER BY n.id DESC LIMIT :limit",
            view_condition(f.filter.view)
        );
        let (t, urgency, q) =
            (micros(now), f.filter.urgency_at_least.map(urgency_rank), lowered(&f.filter.q));
        let limit = i64::from(f.limit.max(1));
        let (sql, params) = named(
            &sql,
            &[
                (":user", &user),
                (":now", &t),
                (":category", &f.filter.category),
                (":urgency", &urgency),
                (":q", &q),
                (":before", &f.before),
                (":limit", &limit),
            ],
        )?;
        with(self, |db| db.query(&sql, &params)?.iter().map(|r| notification_from_row(r, 0)).collect())
    }

    /// Unread items by category: the counts the trigger keeps, plus the snoozed items whose
    /// time has come but whose wake-up has not run yet. No walk over the inbox.
    fn unread_by_category(&self, user: &str, now: Timestamp) -> Result<BTreeMap<String, i64>> {
        with(self, |db| {
            let mut out = BTreeMap::new();
            for r in db.query(
                "SELECT category, unread FROM unread_counts WHERE username = $1 AND unread > 0",
                &[&user],
            )? {
                out.insert(r.try_get(0)?, r.try_get(1)?);
            }
            for r in db.query(
                "SELECT n.category, COUNT(*) FROM notifications n
                 WHERE n.username = $1 AND n.snoozed_until IS NOT NULL AND n.in_inbox AND n.snoozed_until <= $2
                   AND n.read_at IS NULL AND n.archived_at IS NULL
                 GROUP BY n.category",
                &[&user, &micros(now)],
            )? {
                let n: i64 = r.try_get(1)?;
                *out.entry(r.try_get(0)?).or_default() += n;
            }
            Ok(out)
        })
    }

    /// How many items the user has in all (archived and snoozed included).
    fn total(&self, user: &str) -> Result<u64> {
        with(self, |db| {
            let n: i64 = db
                .one("SELECT COUNT(*) FROM notifications WHERE username = $1 AND in_inbox", &[&user])?
                .try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Counts rows of the tables an accept writes, for tests and operators.
    fn table_counts(&self) -> Result<BTreeMap<&'static str, i64>> {
        with(self, |db| {
            let mut out = BTreeMap::new();
            for table in ["events", "notifications", "changes", "outbox", "schedule", "audit"] {
                let n: i64 = db.one(&format!("SELECT COUNT(*) FROM {table}"), &[])?.try_get(0)?;
                out.insert(table, n);
            }
            Ok(out)
        })
    }

    /// Pending schedule rows of a notification.
    fn schedule_of(&self, notification: &str) -> Result<Vec<Scheduled>> {
        with(self, |db| {
            db.query(
                "SELECT kind, channel, due_at FROM schedule WHERE notification = $1 AND done_at IS NULL
                 ORDER BY kind COLLATE \"C\", channel COLLATE \"C\" NULLS FIRST",
                &[&notification],
            )?
            .iter()
            .map(|r| {
                let due: Option<i64> = r.try_get(2)?;
                Ok(Scheduled {
                    kind: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    due: due.map(from_micros).transpose()?,
                })
            })
            .collect()
        })
    }

    /// Outbox rows of a notification as (channel, status).
    fn outbox_of(&self, notification: &str) -> Result<Vec<(String, String)>> {
        with(self, |db| {
            db.query(
                "SELECT channel, status FROM outbox WHERE notification = $1 ORDER BY channel COLLATE \"C\"",
                &[&notification],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
    }
}

/// The search text as `campanile_matches` takes it: lower-cased here, as SQLite's function
/// lower-cases it.
pub(crate) fn lowered(q: &Option<String>) -> Option<String> {
    q.as_ref().map(|q| q.to_lowercase())
}
