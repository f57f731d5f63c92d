//! Preferences (DESIGN §3): stored as their JSON with a version; a save names the version
//! it edits and a stale one is refused, never merged.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use super::audit;
use super::changes::push_change;
use super::rows::corrupt;
use crate::model::prefs::Preferences;
use crate::store::{Change, Result, Settings, StoreError, micros};

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

impl Settings for SqliteStore {
    fn prefs(&self, user: &str, defaults: &Preferences) -> Result<(Preferences, i64)> {
        prefs_in(&self.conn, user, defaults)
    }

    /// Saves preferences if `expected` is the current version; returns the new version and
    /// the `prefs_updated` change.
    fn put_prefs(
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
        if prefs.dnd.until != Some(crate::model::prefs::DndUntil::Forever) {
            // Deliveries held "until do-not-disturb is turned off" go now.
            tx.prepare_cached(
                "UPDATE schedule SET due_at = ?2 WHERE user = ?1 AND kind = 'hold' AND due_at IS NULL AND done_at IS NULL",
            )?
            .execute(rusqlite::params![user, micros(now)])?;
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
}
