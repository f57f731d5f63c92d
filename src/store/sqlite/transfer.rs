//! `store copy` on SQLite: rows read as text in their table's order, and written back with
//! each column's declared type (the tables are STRICT). A notification's plan goes out
//! inline, whether this store shares it by hash or not, and comes in inline; the unread
//! counts are rebuilt once the rows are in; a user's seq is their change log's last.

use rusqlite::TransactionBehavior;
use rusqlite::types::{Value, ValueRef};

use super::SqliteStore;
use crate::store::transfer::{Row, Table, Transfer};
use crate::store::{Result, StoreError};

impl Transfer for SqliteStore {
    fn export(&self, table: &Table, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<u64> {
        let columns: Vec<&str> = table
            .columns
            .iter()
            .map(|&c| match (table.name, c) {
                // Shared plans are stored once, by hash (see `accept`); the copy carries each.
                ("notifications", "plan") => {
                    "COALESCE((SELECT p.json FROM plans p WHERE p.hash = notifications.plan_ref), plan)"
                }
                _ => c,
            })
            .collect();
        let sql = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), table.name, table.order);
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(table.columns.len());
            for i in 0..table.columns.len() {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => None,
                    ValueRef::Integer(v) => Some(v.to_string()),
                    ValueRef::Real(v) => Some(v.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
                });
            }
            each(row)?;
            n += 1;
        }
        Ok(n)
    }

    fn import(&mut self, table: &Table, rows: &[Row]) -> Result<()> {
        let integer = integer_columns(&self.conn, table)?;
        let verb = if table.name == "meta" { "INSERT OR REPLACE" } else { "INSERT" };
        let slots: Vec<String> = (1..=table.columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "{verb} INTO {} ({}) VALUES ({})",
            table.name,
            table.columns.join(", "),
            slots.join(", ")
        );
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare(&sql)?;
            for row in rows {
                let values: Vec<Value> = row
                    .iter()
                    .zip(&integer)
                    .map(|(v, int)| match (v, int) {
                        (None, _) => Ok(Value::Null),
                        (Some(text), true) => text.parse::<i64>().map(Value::Integer).map_err(|_| {
                            StoreError::Corrupt(format!("{}: `{text}` is not an integer", table.name))
                        }),
                        (Some(text), false) => Ok(Value::Text(text.clone())),
                    })
                    .collect::<Result<_>>()?;
                stmt.execute(rusqlite::params_from_iter(values))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn import_done(&mut self) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM unread_counts;
             INSERT INTO unread_counts (user, category, unread)
                 SELECT user, category, COUNT(*) FROM notifications
                 WHERE read_at IS NULL AND archived_at IS NULL AND snoozed_until IS NULL AND in_inbox = 1
                 GROUP BY user, category;",
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// Which of `table`'s columns are declared INTEGER, in its columns' order.
fn integer_columns(conn: &rusqlite::Connection, table: &Table) -> Result<Vec<bool>> {
    let mut stmt = conn.prepare(&format!("SELECT name, type FROM pragma_table_info('{}')", table.name))?;
    let declared: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    table
        .columns
        .iter()
        .map(|c| {
            declared
                .iter()
                .find(|(name, _)| name == c)
                .map(|(_, t)| t.eq_ignore_ascii_case("INTEGER"))
                .ok_or_else(|| StoreError::Corrupt(format!("{} has no column {c}", table.name)))
        })
        .collect()
}
