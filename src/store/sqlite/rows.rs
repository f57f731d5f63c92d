//! Notification rows: the columns read back and how a row becomes a [`Notification`], and
//! the SQL that selects a view's rows. A leaf: the other store modules build on it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::{Connection, Row};

use crate::model::{Channel, DeliveryState, Notification, RawJson, Urgency, View};
use crate::store::{Result, StoreError, from_micros};

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The columns of a notification, for a query that names the table `n`. The plan is the
/// shared one its `plan_ref` names, or (rows from before plans were shared) its own.
pub(crate) const NOTIFICATION_COLUMNS: &str = "n.id, n.user, n.event_id, n.type, n.category, n.urgency, n.title, \
     n.body, n.url, n.thread, n.data, n.created_at, n.read_at, n.archived_at, n.snoozed_until, n.count, \
     n.deliveries, COALESCE((SELECT p.json FROM plans p WHERE p.hash = n.plan_ref), n.plan)";

/// Reads a row selected with [`NOTIFICATION_COLUMNS`] (from column `at` on).
pub(crate) fn notification_from_row(r: &Row<'_>, at: usize) -> Result<Notification> {
    let opt_time = |i: usize| -> Result<Option<Timestamp>> {
        r.get::<_, Option<i64>>(at + i)?.map(from_micros).transpose()
    };
    let urgency: String = r.get(at + 5)?;
    let data: String = r.get(at + 10)?;
    let deliveries: String = r.get(at + 16)?;
    let plan: String = r.get(at + 17)?;
    Ok(Notification {
        id: r.get(at)?,
        user: r.get(at + 1)?,
        event_id: r.get(at + 2)?,
        kind: r.get(at + 3)?,
        category: r.get(at + 4)?,
        urgency: urgency.parse::<Urgency>().map_err(corrupt)?,
        title: r.get(at + 6)?,
        body: r.get(at + 7)?,
        url: r.get(at + 8)?,
        thread: r.get(at + 9)?,
        data: serde_json::from_str(&data).map_err(corrupt)?,
        created_at: from_micros(r.get(at + 11)?)?,
        read_at: opt_time(12)?,
        archived_at: opt_time(13)?,
        snoozed_until: opt_time(14)?,
        count: r.get(at + 15)?,
        deliveries: serde_json::from_str::<BTreeMap<Channel, DeliveryState>>(&deliveries).map_err(corrupt)?,
        plan: RawJson::from_string(plan).ok(),
    })
}

pub(crate) fn notification_in(conn: &Connection, id: &str) -> Result<Notification> {
    let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(r) => notification_from_row(r, 0),
        None => Err(StoreError::NotFound(format!("notification {id}"))),
    }
}

/// The condition on a `notifications` row (alias `n`) that a view admits, given `now` as
/// parameter `?now`. Written so each view's partial index applies (DESIGN §10: a listing
/// walks only the rows of its view).
pub(crate) fn view_condition(view: View) -> &'static str {
    match view {
        View::Inbox => {
            "n.archived_at IS NULL AND n.in_inbox = 1 AND (n.snoozed_until IS NULL OR n.snoozed_until <= :now)"
        }
        View::Unread => {
            "n.read_at IS NULL AND n.archived_at IS NULL AND n.in_inbox = 1
             AND (n.snoozed_until IS NULL OR n.snoozed_until <= :now)"
        }
        View::Snoozed => {
            "n.snoozed_until IS NOT NULL AND n.in_inbox = 1 AND n.archived_at IS NULL AND n.snoozed_until > :now"
        }
        View::Archived => "n.archived_at IS NOT NULL AND n.in_inbox = 1",
        View::All => "n.in_inbox = 1",
    }
}

/// The index a view's listing walks (newest first, by id).
pub(crate) fn view_index(view: View) -> &'static str {
    match view {
        View::Inbox => "notifications_inbox",
        View::Unread => "notifications_unread",
        View::Snoozed => "notifications_snoozed",
        View::Archived => "notifications_archived",
        View::All => "notifications_user",
    }
}

/// The rest of an [`crate::model::InboxFilter`] as SQL over `n`: category `:category`,
/// lowest urgency rank `:urgency` and text `:q` (each NULL when not set).
pub(crate) const FILTER_CONDITION: &str = "(:category IS NULL OR n.category = :category)
    AND (:urgency IS NULL OR (CASE n.urgency WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 ELSE 3 END) >= :urgency)
    AND (:q IS NULL OR campanile_matches(:q, n.title, n.body, n.type, n.category, n.thread))";

/// The rank `FILTER_CONDITION` compares urgencies by.
pub(crate) fn urgency_rank(u: Urgency) -> i64 {
    match u {
        Urgency::Low => 0,
        Urgency::Normal => 1,
        Urgency::High => 2,
        Urgency::Urgent => 3,
    }
}

/// Binds the named parameters the statement has (a view's SQL names only some of them).
pub(crate) fn bind(
    stmt: &mut rusqlite::Statement<'_>,
    params: &[(&str, &dyn rusqlite::ToSql)],
) -> Result<()> {
    for (name, value) in params {
        if let Some(i) = stmt.parameter_index(name)? {
            stmt.raw_bind_parameter(i, value)?;
        }
    }
    Ok(())
}

/// Registers `campanile_matches(q, title, body, type, category, thread)`: the search of
/// [`crate::model::text_matches`], so SQL and the TUI agree on what a text matches.
pub(crate) fn register_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "campanile_matches",
        6,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let q: String = ctx.get(0)?;
            let title: String = ctx.get(1)?;
            let body: Option<String> = ctx.get(2)?;
            let kind: String = ctx.get(3)?;
            let category: String = ctx.get(4)?;
            let thread: Option<String> = ctx.get(5)?;
            Ok(crate::model::text_matches(
                &q.to_lowercase(),
                crate::model::ItemText {
                    title: &title,
                    body: body.as_deref(),
                    kind: &kind,
                    category: &category,
                    thread: thread.as_deref(),
                },
            ))
        },
    )?;
    Ok(())
}
