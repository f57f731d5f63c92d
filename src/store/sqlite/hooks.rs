//! Incoming webhooks (issue 15): created with a random id and secret, looked up by id on
//! every delivery, revoked but never deleted (the audit trail names them). Creating and
//! revoking are audited; the record names the hook, never its secret.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use super::audit;
use crate::model::{FieldError, Hook, HookSource, HookTarget};
use crate::store::{Hooks, NewHook, Result, StoreError, from_micros, micros};

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Io(format!("no randomness for a hook: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

type Row = (String, String, String, Option<String>, Option<String>, String, i64, Option<i64>);

fn hook_of(row: Row) -> Result<Hook> {
    let (id, source, target, label, template, secret, created, revoked) = row;
    Ok(Hook {
        source: source.parse().map_err(StoreError::Corrupt)?,
        target: serde_json::from_str(&target)
            .map_err(|e| StoreError::Corrupt(format!("hook {id} target: {e}")))?,
        id,
        label,
        template,
        secret,
        created_at: from_micros(created)?,
        revoked_at: revoked.map(from_micros).transpose()?,
    })
}

const COLUMNS: &str = "id, source, target, label, template, secret, created_at, revoked_at";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

impl Hooks for SqliteStore {
    fn create_hook(&mut self, new: &NewHook, now: Timestamp) -> Result<Hook> {
        new.target.check()?;
        if let HookTarget::Users(users) = &new.target {
            for u in users {
                let known = self
                    .conn
                    .query_row("SELECT 1 FROM users WHERE name = ?1", [u], |_| Ok(()))
                    .optional()?
                    .is_some();
                if !known {
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
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO hooks (id, source, target, label, template, secret, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                hook.id,
                hook.source.as_str(),
                target,
                hook.label,
                hook.template,
                hook.secret,
                micros(now)
            ],
        )?;
        audit::append(
            &tx,
            now,
            &serde_json::json!({"kind": "hook.created", "hook": hook.id, "source": hook.source,
                "target": hook.target}),
        )?;
        tx.commit()?;
        Ok(hook)
    }

    fn hook(&self, id: &str) -> Result<Option<Hook>> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM hooks WHERE id = ?1 AND revoked_at IS NULL"))?
            .query_row([id], read_row)
            .optional()?;
        row.map(hook_of).transpose()
    }

    fn hooks(&self) -> Result<Vec<Hook>> {
        let mut stmt =
            self.conn.prepare(&format!("SELECT {COLUMNS} FROM hooks ORDER BY created_at, rowid"))?;
        let rows = stmt.query_map([], read_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(hook_of).collect()
    }

    fn revoke_hook(&mut self, id: &str, now: Timestamp) -> Result<bool> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE hooks SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, micros(now)],
        )?;
        if n > 0 {
            audit::append(&tx, now, &serde_json::json!({"kind": "hook.revoked", "hook": id}))?;
        }
        tx.commit()?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::HookSource;

    /// The `source` column has no CHECK: every source must read back as itself.
    #[test]
    fn every_source_reads_back() {
        for s in HookSource::ALL {
            assert_eq!(s.as_str().parse::<HookSource>(), Ok(s));
        }
    }
}
