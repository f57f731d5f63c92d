//! Moving a whole store between backends (`campanile store copy`, DESIGN §5a): every table's
//! rows, in a stable order, as text (NULL as `None`), named by SQLite's column names; each
//! backend maps them to its own columns and types. What a backend derives (unread counts,
//! PostgreSQL's per-user counters) is rebuilt by the target, not copied. The audit chain is
//! copied row for row, so it verifies on the copy; the stream identity goes with it, so
//! clients resume against the copy as against the original.

use super::{Result, Store, StoreError};

/// One row: its columns' values as text, in [`Table::columns`]' order.
pub type Row = Vec<Option<String>>;

/// A table that `store copy` moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    /// The order rows are read in (and so inserted in): keys, or insertion order where the
    /// store lists by it (`rowid` stands for it on every backend).
    pub order: &'static str,
}

/// Every table with data of its own, parents before children.
pub const TABLES: &[Table] = &[
    Table { name: "meta", columns: &["key", "value"], order: "key" },
    Table {
        name: "users",
        columns: &["name", "email", "created_at", "display_name", "phone", "avatar"],
        order: "name",
    },
    Table {
        name: "tokens",
        columns: &["hash", "user", "scope", "label", "created_at", "id", "expires_at", "last_used_at"],
        order: "rowid",
    },
    Table { name: "preferences", columns: &["user", "json", "version"], order: "user" },
    Table {
        name: "events",
        columns: &["id", "producer", "key", "body_hash", "result", "created_at"],
        order: "id",
    },
    Table {
        name: "notifications",
        columns: &[
            "id",
            "user",
            "event_id",
            "type",
            "category",
            "urgency",
            "title",
            "body",
            "url",
            "thread",
            "collapse_id",
            "data",
            "created_at",
            "updated_at",
            "read_at",
            "archived_at",
            "snoozed_until",
            "count",
            "in_inbox",
            "tags",
            "plan",
            "deliveries",
            "seq",
        ],
        order: "id",
    },
    Table { name: "changes", columns: &["user", "seq", "kind", "payload", "at", "ref"], order: "user, seq" },
    Table {
        name: "outbox",
        columns: &[
            "id",
            "notification",
            "user",
            "channel",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "updated_at",
            "claimed_at",
            "kind",
            "items",
        ],
        order: "id",
    },
    Table {
        name: "schedule",
        columns: &["id", "kind", "notification", "user", "channel", "due_at", "payload", "done_at"],
        order: "id",
    },
    Table {
        name: "audit",
        columns: &["seq", "at", "record", "content_hash", "prev_hash", "hash"],
        order: "seq",
    },
    Table { name: "device_tokens", columns: &["user", "provider", "token", "created_at"], order: "rowid" },
    Table { name: "topic_subscribers", columns: &["topic", "user"], order: "topic, user" },
    Table { name: "bulks", columns: &["id", "user", "action", "at", "count", "undone_at"], order: "id" },
    Table { name: "bulk_items", columns: &["bulk", "notification", "prev"], order: "bulk, notification" },
    Table {
        name: "hooks",
        columns: &["id", "source", "target", "label", "template", "secret", "created_at", "revoked_at"],
        order: "rowid",
    },
];

/// What a backend does for `store copy`.
pub trait Transfer {
    /// Calls `each` with every row of `table`, in its order.
    fn export(&self, table: &Table, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<u64>;
    /// Inserts `rows` into `table` in one transaction (`meta` rows replace what is there).
    fn import(&mut self, table: &Table, rows: &[Row]) -> Result<()>;
    /// Rebuilds what the backend derives from the imported rows.
    fn import_done(&mut self) -> Result<()>;
}

/// Rows moved per transaction.
const PAGE: usize = 2_000;

/// Copies every row of `from` into `to`, which must hold nothing yet (a store just opened
/// has only its identity). `progress` hears each table's rows so far after every page, and
/// its total when it is done (`true`).
pub fn copy(from: &dyn Store, to: &mut dyn Store, progress: &mut dyn FnMut(&str, u64, bool)) -> Result<u64> {
    refuse_non_empty(to)?;
    let mut total = 0;
    for table in TABLES {
        let mut page: Vec<Row> = Vec::with_capacity(PAGE);
        let mut moved = 0;
        let count = from.export(table, &mut |row| {
            page.push(row);
            if page.len() == PAGE {
                to.import(table, &page)?;
                moved += page.len() as u64;
                page.clear();
                progress(table.name, moved, false);
            }
            Ok(())
        })?;
        if !page.is_empty() {
            to.import(table, &page)?;
        }
        progress(table.name, count, true);
        total += count;
    }
    to.import_done()?;
    Ok(total)
}

fn refuse_non_empty(to: &dyn Store) -> Result<()> {
    let users = to.users()?.len();
    let rows: i64 = to.table_counts()?.values().sum();
    let hooks = to.hooks()?.len();
    if users > 0 || rows > 0 || hooks > 0 {
        return Err(StoreError::Taken(format!(
            "the target store is not empty ({users} users, {rows} rows of events, notifications, changes, \
             outbox, schedule and audit, {hooks} hooks): copy into a new, empty store"
        )));
    }
    Ok(())
}
