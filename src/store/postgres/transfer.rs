//! `store copy` on PostgreSQL: SQLite's column names mapped to this schema's (`user` is
//! `username`, `ref` is `ref_id`, insertion order is `ord`), values moved as text and cast to
//! each column's type on the way in. The unread counts are rebuilt by their trigger as
//! notifications arrive; the per-user counters from the change log at the end.

use super::db::{Db, P};
use super::{PgStore, in_tx, with};
use crate::store::transfer::{Row, Table, Transfer};
use crate::store::{Result, StoreError};

/// This schema's name for one of SQLite's columns.
fn physical(column: &str) -> &str {
    match column {
        "user" => "username",
        "ref" => "ref_id",
        "rowid" => "ord",
        other => other,
    }
}

/// The type of each of `table`'s columns, in its columns' order.
fn types(db: &mut Db, table: &Table) -> Result<Vec<String>> {
    let declared: Vec<(String, String)> = db
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
            &[&table.name],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_>>()?;
    table
        .columns
        .iter()
        .map(|c| {
            declared
                .iter()
                .find(|(name, _)| name == physical(c))
                .map(|(_, t)| t.clone())
                .ok_or_else(|| StoreError::Corrupt(format!("{} has no column {c}", table.name)))
        })
        .collect()
}

impl Transfer for PgStore {
    fn export(&self, table: &Table, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<u64> {
        with(self, |db| {
            let types = types(db, table)?;
            let columns: Vec<String> = table
                .columns
                .iter()
                .zip(&types)
                .map(|(c, t)| match t.as_str() {
                    // SQLite keeps flags as 0 and 1.
                    "boolean" => format!("CASE WHEN {0} THEN '1' WHEN NOT {0} THEN '0' END", physical(c)),
                    _ => format!("{}::text", physical(c)),
                })
                .collect();
            let order: Vec<&str> = table.order.split(", ").map(physical).collect();
            // Where this database's history lives is the database's own (see `stream_id`):
            // a copy records its own.
            let only = if table.name == "meta" { " WHERE key <> 'stream_home'" } else { "" };
            let sql = format!(
                "SELECT {} FROM {}{only} ORDER BY {}",
                columns.join(", "),
                table.name,
                order.join(", ")
            );
            let mut n = 0;
            for r in db.query(&sql, &[])? {
                let row =
                    (0..table.columns.len()).map(|i| r.try_get(i)).collect::<std::result::Result<_, _>>()?;
                each(row)?;
                n += 1;
            }
            Ok(n)
        })
    }

    fn import(&mut self, table: &Table, rows: &[Row]) -> Result<()> {
        in_tx(self, |db| {
            let types = types(db, table)?;
            let names: Vec<&str> = table.columns.iter().map(|c| physical(c)).collect();
            let values: Vec<String> =
                types.iter().enumerate().map(|(i, t)| format!("${}::text::{t}", i + 1)).collect();
            let conflict = match table.name {
                "meta" => " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                _ => "",
            };
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({}){conflict}",
                table.name,
                names.join(", "),
                values.join(", ")
            );
            for row in rows {
                let params: Vec<P<'_>> = row.iter().map(|v| v as P<'_>).collect();
                db.exec(&sql, &params)?;
            }
            Ok(())
        })
    }

    fn import_done(&mut self) -> Result<()> {
        in_tx(self, |db| {
            db.exec(
                "INSERT INTO user_seqs (username, seq) SELECT username, MAX(seq) FROM changes GROUP BY username
                 ON CONFLICT (username) DO UPDATE SET seq = GREATEST(user_seqs.seq, excluded.seq)",
                &[],
            )?;
            Ok(())
        })
    }
}
