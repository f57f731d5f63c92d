//! Notification rows: the columns read back and how a row becomes a [`Notification`], and
//! the SQL that selects a view's rows (each written so its partial index applies). A leaf:
//! the other modules build on it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use postgres::Row;

use super::db::Db;
use crate::model::{Channel, DeliveryState, Notification, RawJson, Urgency, View};
use crate::store::{Result, StoreError, from_micros};

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The columns of a notification, for a query that names the table `n`.
pub(crate) const NOTIFICATION_COLUMNS: &str = "n.id, n.username, n.event_id, n.type, n.category, n.urgency, \
     n.title, n.body, n.url, n.thread, n.data, n.created_at, n.read_at, n.archived_at, n.snoozed_until, \
     n.count, n.deliveries, n.plan";

/// Reads a row selected with [`NOTIFICATION_COLUMNS`] (from column `at` on).
pub(crate) fn notification_from_row(r: &Row, at: usize) -> Result<Notification> {
    let opt_time = |i: usize| -> Result<Option<Timestamp>> {
        r.try_get::<_, Option<i64>>(at + i)?.map(from_micros).transpose()
    };
    let urgency: String = r.try_get(at + 5)?;
    let data: String = r.try_get(at + 10)?;
    let deliveries: String = r.try_get(at + 16)?;
    let plan: String = r.try_get(at + 17)?;
    let count: i64 = r.try_get(at + 15)?;
    Ok(Notification {
        id: r.try_get(at)?,
        user: r.try_get(at + 1)?,
        event_id: r.try_get(at + 2)?,
        kind: r.try_get(at + 3)?,
        category: r.try_get(at + 4)?,
        urgency: urgency.parse::<Urgency>().map_err(corrupt)?,
        title: r.try_get(at + 6)?,
        body: r.try_get(at + 7)?,
        url: r.try_get(at + 8)?,
        thread: r.try_get(at + 9)?,
        data: serde_json::from_str(&data).map_err(corrupt)?,
        created_at: from_micros(r.try_get(at + 11)?)?,
        read_at: opt_time(12)?,
        archived_at: opt_time(13)?,
        snoozed_until: opt_time(14)?,
        count: u32::try_from(count).unwrap_or(u32::MAX),
        deliveries: serde_json::from_str::<BTreeMap<Channel, DeliveryState>>(&deliveries).map_err(corrupt)?,
        plan: RawJson::from_string(plan).ok(),
    })
}

pub(crate) fn notification_in(db: &mut Db, id: &str) -> Result<Notification> {
    let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id = $1");
    match db.opt(&sql, &[&id])? {
        Some(r) => notification_from_row(&r, 0),
        None => Err(StoreError::NotFound(format!("notification {id}"))),
    }
}

/// The condition on a `notifications` row (alias `n`) that a view admits, given `now` as
/// `:now`. Each matches the predicate of the view's partial index.
pub(crate) fn view_condition(view: View) -> &'static str {
    match view {
        View::Inbox => {
            "n.archived_at IS NULL AND n.in_inbox AND (n.snoozed_until IS NULL OR n.snoozed_until <= :now::bigint)"
        }
        View::Unread => {
            "n.read_at IS NULL AND n.archived_at IS NULL AND n.in_inbox
             AND (n.snoozed_until IS NULL OR n.snoozed_until <= :now::bigint)"
        }
        View::Snoozed => {
            "n.snoozed_until IS NOT NULL AND n.in_inbox AND n.archived_at IS NULL AND n.snoozed_until > :now::bigint"
        }
        View::Archived => "n.archived_at IS NOT NULL AND n.in_inbox",
        View::All => "n.in_inbox",
    }
}

/// The rest of an [`crate::model::InboxFilter`] as SQL over `n`: category `:category`,
/// lowest urgency rank `:urgency` and text `:q` (each NULL when not set).
pub(crate) const FILTER_CONDITION: &str = "(:category::text IS NULL OR n.category = :category::text)
    AND (:urgency::bigint IS NULL OR (CASE n.urgency WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 ELSE 3 END) >= :urgency::bigint)
    AND (:q::text IS NULL OR campanile_matches(:q::text, n.title, n.body, n.type, n.category, n.thread))";

/// The rank `FILTER_CONDITION` compares urgencies by.
pub(crate) fn urgency_rank(u: Urgency) -> i64 {
    match u {
        Urgency::Low => 0,
        Urgency::Normal => 1,
        Urgency::High => 2,
        Urgency::Urgent => 3,
    }
}
