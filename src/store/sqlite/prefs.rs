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

/// Parsed preferences by user, kept while their stored JSON stays the same: an event reads
/// every recipient's, and parsing them was a fifth of a broadcast's cost to the writer.
#[derive(Default)]
pub(crate) struct PrefsCache {
    by_user: std::collections::HashMap<String, (u64, std::sync::Arc<Preferences>)>,
    hasher: std::hash::RandomState,
    /// The defaults, for users who never saved theirs (one copy, not one per recipient).
    defaults: Option<std::sync::Arc<Preferences>>,
}

/// Users whose parsed preferences are kept (past it the cache starts again).
const PREFS_CACHED: usize = 50_000;

/// What [`PrefsCache::get`] gives: the preferences and a hash of the JSON they were read from
/// (0 for the defaults). Equal preferences read from the same text have the same hash, so
/// it sorts recipients into groups whose decisions may be shared (checked by equality).
pub(crate) type Keyed = (u64, std::sync::Arc<Preferences>);

impl PrefsCache {
    /// `user`'s preferences as stored now (the defaults when never saved).
    pub(crate) fn get(&mut self, conn: &Connection, user: &str, defaults: &Preferences) -> Result<Keyed> {
        use std::hash::BuildHasher;
        let json: Option<String> = conn
            .prepare_cached("SELECT json FROM preferences WHERE user = ?1")?
            .query_row([user], |r| r.get(0))
            .optional()?;
        let Some(json) = json else {
            let shared = match &self.defaults {
                Some(d) if **d == *defaults => std::sync::Arc::clone(d),
                _ => {
                    let d = std::sync::Arc::new(defaults.clone());
                    self.defaults = Some(std::sync::Arc::clone(&d));
                    d
                }
            };
            return Ok((0, shared));
        };
        let hash = self.hasher.hash_one(&json).max(1);
        if let Some((h, prefs)) = self.by_user.get(user)
            && *h == hash
        {
            return Ok((hash, std::sync::Arc::clone(prefs)));
        }
        let prefs = std::sync::Arc::new(serde_json::from_str::<Preferences>(&json).map_err(corrupt)?);
        if self.by_user.len() >= PREFS_CACHED {
            self.by_user.clear();
        }
        self.by_user.insert(user.to_string(), (hash, std::sync::Arc::clone(&prefs)));
        Ok((hash, prefs))
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
