//! Incoming webhooks (issue 15): created with a random id and secret, looked up by id on
//! every delivery, revoked but never deleted. The checks are SQLite's; creating and
//! revoking are audited, naming the hook and never its secret.

use jiff::Timestamp;

use super::audit;
use super::{PgStore, in_tx, with};
use crate::model::{FieldError, Hook, HookSource, HookTarget};
use crate::store::{Hooks, NewHook, Result, StoreError, from_micros, micros};

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Io(format!("no randomness for a hook: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

const COLUMNS: &str = "id, source, target, label, template, secret, created_at, revoked_at";

fn hook_of(r: &postgres::Row) -> Result<Hook> {
    let id: String = r.try_get(0)?;
    let source: String = r.try_get(1)?;
    let target: String = r.try_get(2)?;
    let revoked: Option<i64> = r.try_get(7)?;
    Ok(Hook {
        source: source.parse().map_err(StoreError::Corrupt)?,
        target: serde_json::from_str(&target)
            .map_err(|e| StoreError::Corrupt(format!("hook {id} target: {e}")))?,
        label: r.try_get(3)?,
        template: r.try_get(4)?,
        secret: r.try_get(5)?,
        created_at: from_micros(r.try_get(6)?)?,
        revoked_at: revoked.map(from_micros).transpose()?,
        id,
    })
}

impl Hooks for PgStore {
    fn create_hook(&mut self, new: &NewHook, now: Timestamp) -> Result<Hook> {
        new.target.check()?;
        if let HookTarget::Users(users) = &new.target {
            for u in users {
                if with(self, |db| db.opt("SELECT 1 FROM users WHERE name = $1", &[u]))?.is_none() {
                    return Err(FieldError::new(
                        "user",
                        format!("no user named `{u}` (add one with `campanile user add`)"),
                    )
                    .into());
                }
            }
        }
        match (new.source, &new.template) {
            (HookSource::Generic, None) => {
                return Err(FieldError::new("template", "a generic hook needs a template name").into());
            }
            (HookSource::Generic, Some(t)) if t.is_empty() || t.len() > 64 => {
                return Err(FieldError::new("template", "a template name is 1 to 64 characters").into());
            }
            (HookSource::Generic, Some(_)) | (_, None) => {}
            (other, Some(_)) => {
                return Err(FieldError::new(
                    "template",
                    format!(
                        "only generic hooks take a template; a {} hook maps its sender's payload itself",
                        other.as_str()
                    ),
                )
                .into());
            }
        }
        if new.label.as_ref().is_some_and(|l| l.len() > 200) {
            return Err(FieldError::new("label", "longer than 200 bytes").into());
        }
        let hook = Hook {
            id: format!("hk_{}", random_hex(16)?),
            source: new.source,
            target: new.target.clone(),
            label: new.label.clone(),
            template: new.template.clone(),
            secret: random_hex(32)?,
            created_at: now,
            revoked_at: None,
        };
        let target = serde_json::to_string(&hook.target).map_err(|e| StoreError::Internal(e.to_string()))?;
        in_tx(self, |db| {
            db.exec(
                "INSERT INTO hooks (id, source, target, label, template, secret, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &hook.id,
                    &hook.source.as_str(),
                    &target,
                    &hook.label,
                    &hook.template,
                    &hook.secret,
                    &micros(now),
                ],
            )?;
            audit::append(
                db,
                now,
                &serde_json::json!({"kind": "hook.created", "hook": hook.id, "source": hook.source,
                    "target": hook.target}),
            )
        })?;
        Ok(hook)
    }

    fn hook(&self, id: &str) -> Result<Option<Hook>> {
        let sql = format!("SELECT {COLUMNS} FROM hooks WHERE id = $1 AND revoked_at IS NULL");
        with(self, |db| db.opt(&sql, &[&id])?.as_ref().map(hook_of).transpose())
    }

    fn hooks(&self) -> Result<Vec<Hook>> {
        let sql = format!("SELECT {COLUMNS} FROM hooks ORDER BY created_at, ord");
        with(self, |db| db.query(&sql, &[])?.iter().map(hook_of).collect())
    }

    fn revoke_hook(&mut self, id: &str, now: Timestamp) -> Result<bool> {
        in_tx(self, |db| {
            let n = db.exec(
                "UPDATE hooks SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &micros(now)],
            )?;
            if n > 0 {
                audit::append(db, now, &serde_json::json!({"kind": "hook.revoked", "hook": id}))?;
            }
            Ok(n > 0)
        })
    }
}
