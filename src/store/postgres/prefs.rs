//! Preferences (DESIGN §3): stored as their JSON with a version; a save names the version
//! it edits and a stale one is refused, never merged. The save locks the user's row (or,
//! for a first save, the user's change counter) so two writers cannot both pass the check.

use jiff::Timestamp;

use super::audit;
use super::changes::{next_seq, push_change};
use super::db::Db;
use super::rows::corrupt;
use super::{PgStore, in_tx, with};
use crate::model::prefs::Preferences;
use crate::store::{Change, Result, Settings, StoreError, micros};

/// A user's preferences and their version (0 when never saved: the defaults).
pub(crate) fn prefs_in(db: &mut Db, user: &str, defaults: &Preferences) -> Result<(Preferences, i64)> {
    match db.opt("SELECT json, version FROM preferences WHERE username = $1", &[&user])? {
        Some(r) => {
            let json: String = r.try_get(0)?;
            Ok((serde_json::from_str(&json).map_err(corrupt)?, r.try_get(1)?))
        }
        None => Ok((defaults.clone(), 0)),
    }
}

impl Settings for PgStore {
    fn prefs(&self, user: &str, defaults: &Preferences) -> Result<(Preferences, i64)> {
        with(self, |db| prefs_in(db, user, defaults))
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
        in_tx(self, |db| {
            // The user's counter row serialises this save with every other write of theirs.
            next_seq(db, user)?;
            let (_, current) = prefs_in(db, user, defaults)?;
            if let Some(expected) = expected
                && expected != current
            {
                return Err(StoreError::VersionConflict { expected, current });
            }
            let version = current + 1;
            let json = serde_json::to_string(prefs).map_err(corrupt)?;
            db.exec(
                "INSERT INTO preferences (username, json, version) VALUES ($1, $2, $3)
                 ON CONFLICT (username) DO UPDATE SET json = excluded.json, version = excluded.version",
                &[&user, &json, &version],
            )?;
            let payload = serde_json::json!({"prefs": prefs.outward(), "prefs_version": version}).to_string();
            if prefs.dnd.until != Some(crate::model::prefs::DndUntil::Forever) {
                // Deliveries held "until do-not-disturb is turned off" go now.
                db.exec(
                    "UPDATE schedule SET due_at = $2 WHERE username = $1 AND kind = 'hold' AND due_at IS NULL
                       AND done_at IS NULL",
                    &[&user, &micros(now)],
                )?;
            }
            let change = push_change(db, user, "prefs_updated", payload, now)?;
            audit::append(
                db,
                now,
                &serde_json::json!({"kind": "prefs.updated", "user": user, "version": version}),
            )?;
            Ok((version, change))
        })
    }
}
