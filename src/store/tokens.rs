//! API tokens (DESIGN §9): random, shown once, stored only as their SHA-256, scoped.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, audit, micros, sha256_hex};
use crate::model::FieldError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read and change one's own inbox and preferences; publish to oneself.
    User,
    /// A service: publish to any user, address or topic.
    Publisher,
    /// Everything: broadcast, audit, users and tokens.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Publisher => "publisher",
            Scope::Admin => "admin",
        }
    }
}

/// Who a presented token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub scope: Scope,
}

const PREFIX: &str = "cmp_";

impl Store {
    /// Creates a token for an existing user and returns it; only its hash is kept.
    pub fn create_token(
        &mut self,
        user: &str,
        scope: Scope,
        label: Option<&str>,
        now: Timestamp,
    ) -> Result<String> {
        let exists = self
            .conn
            .query_row("SELECT 1 FROM users WHERE name = ?1", [user], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Err(FieldError::new(
                "user",
                format!("no user named `{user}` (add one with `campanile user add`)"),
            )
            .into());
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for a token: {e}")))?;
        let token: String =
            std::iter::once(PREFIX.to_string()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect();
        let hash = sha256_hex(token.as_bytes());
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO tokens (hash, user, scope, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![hash, user, scope.as_str(), label, micros(now)],
        )?;
        // The record names the hash's first characters, never the token.
        audit::append(
            &tx,
            now,
            &serde_json::json!({"kind": "token.created", "user": user, "scope": scope, "hash_prefix": &hash[..12]}),
        )?;
        tx.commit()?;
        Ok(token)
    }

    /// Who a token belongs to; `None` for an unknown or malformed token. The lookup is by the
    /// token's hash, so timing reveals nothing about stored tokens.
    pub fn authenticate(&self, token: &str) -> Result<Option<Principal>> {
        if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 64 {
            return Ok(None);
        }
        let hash = sha256_hex(token.as_bytes());
        let row: Option<(String, String)> = self
            .conn
            .prepare_cached("SELECT user, scope FROM tokens WHERE hash = ?1")?
            .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(user, scope)| {
            let scope = match scope.as_str() {
                "user" => Scope::User,
                "publisher" => Scope::Publisher,
                "admin" => Scope::Admin,
                other => return Err(StoreError::Corrupt(format!("token scope `{other}`"))),
            };
            Ok(Principal { user, scope })
        })
        .transpose()
    }
}
