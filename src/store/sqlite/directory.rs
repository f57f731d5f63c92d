//! Who is in the store: users and their profiles, API tokens (random, shown once, stored only
//! as their SHA-256, scoped: DESIGN §9), topic subscriptions and push devices. The checks on
//! names and device tokens are `model`'s, shared by every backend.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use super::audit;
use crate::model::{DeviceToken, FieldError, TopicInfo, check_device_token, check_topic, check_user_name};
use crate::store::{
    Directory, Imported, NewUser, Principal, Result, Scope, StoreError, TokenInfo, from_micros, micros,
    sha256_hex,
};

const PREFIX: &str = "cmp_";

impl Directory for SqliteStore {
    /// Adds a user, or updates the e-mail of an existing one.
    fn upsert_user(&mut self, name: &str, email: Option<&str>, now: Timestamp) -> Result<()> {
        check_user_name(name)?;
        if let Some(e) = email
            && !crate::model::looks_like_email(e)
        {
            return Err(FieldError::new("email", format!("`{e}` is not an e-mail address")).into());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO users (name, email, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET email = COALESCE(excluded.email, users.email)",
            params![name, email, micros(now)],
        )?;
        audit::append(&tx, now, &serde_json::json!({"kind": "user.upserted", "user": name}))?;
        tx.commit()?;
        Ok(())
    }
    fn import_users(
        &mut self,
        users: &[NewUser],
        token: Option<Scope>,
        now: Timestamp,
    ) -> Result<Vec<Imported>> {
        crate::store::sql::check_import(users)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(users.len());
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO users (name, email, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET email = COALESCE(excluded.email, users.email)",
            )?;
            let mut profile = tx.prepare_cached("UPDATE users SET display_name = ?2 WHERE name = ?1")?;
            let mut insert_token = tx.prepare_cached(
                "INSERT INTO tokens (hash, user, scope, label, created_at, id) VALUES (?1, ?2, ?3, 'import', ?4, substr(?1, 1, 12))",
            )?;
            for u in users {
                upsert.execute(params![u.name, u.email, micros(now)]).map_err(
                    |e| match StoreError::from(e) {
                        StoreError::Db(m) if m.contains("UNIQUE") => StoreError::Taken(format!(
                            "the e-mail address of `{}` belongs to another user",
                            u.name
                        )),
                        other => other,
                    },
                )?;
                if let Some(d) = &u.display_name {
                    profile.execute(params![u.name, d])?;
                }
                let token = match token {
                    Some(scope) => {
                        let (token, hash) = new_token()?;
                        insert_token.execute(params![hash, u.name, scope.as_str(), micros(now)])?;
                        Some(token)
                    }
                    None => None,
                };
                out.push(Imported { name: u.name.clone(), token });
            }
        }
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        audit::append(
            &tx,
            now,
            &serde_json::json!({"kind": "users.imported", "count": users.len(),
                "names_hash": sha256_hex(names.join("\n").as_bytes()), "tokens": token.map(Scope::as_str)}),
        )?;
        tx.commit()?;
        Ok(out)
    }

    fn delete_user(&mut self, name: &str, now: Timestamp) -> Result<bool> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !user_exists(&tx, name)? {
            return Ok(false);
        }
        // The plans their items used, to remove those no one else's items share.
        tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS leaving_plans (hash TEXT PRIMARY KEY) WITHOUT ROWID",
            [],
        )?;
        tx.execute("DELETE FROM leaving_plans", [])?;
        tx.execute(
            "INSERT OR IGNORE INTO leaving_plans SELECT plan_ref FROM notifications
             WHERE user = ?1 AND plan_ref IS NOT NULL",
            [name],
        )?;
        for sql in [
            "DELETE FROM bulk_items WHERE bulk IN (SELECT id FROM bulks WHERE user = ?1)",
            "DELETE FROM bulks WHERE user = ?1",
            "DELETE FROM schedule WHERE user = ?1",
            "DELETE FROM outbox WHERE user = ?1",
            "DELETE FROM changes WHERE user = ?1",
            "DELETE FROM notifications WHERE user = ?1",
            "DELETE FROM unread_counts WHERE user = ?1",
            "DELETE FROM device_tokens WHERE user = ?1",
            "DELETE FROM topic_subscribers WHERE user = ?1",
            "DELETE FROM tokens WHERE user = ?1",
            "DELETE FROM preferences WHERE user = ?1",
            "DELETE FROM users WHERE name = ?1",
        ] {
            tx.execute(sql, [name])?;
        }
        tx.execute(
            "DELETE FROM plans WHERE hash IN (SELECT hash FROM leaving_plans)
               AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.plan_ref = plans.hash)",
            [],
        )?;
        tx.execute("DELETE FROM leaving_plans", [])?;
        tx.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'token_epoch'",
            [],
        )?;
        audit::append(&tx, now, &serde_json::json!({"kind": "user.deleted", "user": name}))?;
        tx.commit()?;
        Ok(true)
    }

    /// Sets the profile fields workflow templates use (`name`, `phone`, `avatar`).
    fn set_profile(
        &mut self,
        user: &str,
        display_name: Option<&str>,
        phone: Option<&str>,
        avatar: Option<&str>,
    ) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE users SET display_name = COALESCE(?2, display_name), phone = COALESCE(?3, phone),
               avatar = COALESCE(?4, avatar) WHERE name = ?1",
            params![user, display_name, phone, avatar],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        Ok(())
    }

    fn users(&self) -> Result<Vec<(String, Option<String>)>> {
        let mut stmt = self.conn.prepare("SELECT name, email FROM users ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn create_token_until(
        &mut self,
        user: &str,
        scope: Scope,
        label: Option<&str>,
        expires_at: Option<Timestamp>,
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
        let (token, hash) = new_token()?;
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO tokens (hash, user, scope, label, created_at, id, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, substr(?1, 1, 12), ?6)",
            params![hash, user, scope.as_str(), label, micros(now), expires_at.map(micros)],
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

    /// Who a token belongs to; `None` for an unknown, malformed or expired token. The lookup
    /// is by the token's hash, so timing reveals nothing about stored tokens.
    fn authenticate(&self, token: &str, now: Timestamp) -> Result<Option<Principal>> {
        if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 64 {
            return Ok(None);
        }
        let hash = sha256_hex(token.as_bytes());
        let row: Option<(String, String, String, Option<i64>)> = self
            .conn
            .prepare_cached("SELECT user, scope, id, expires_at FROM tokens WHERE hash = ?1")?
            .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let Some((user, scope, id, expires)) = row else { return Ok(None) };
        let expires_at = expires.map(from_micros).transpose()?;
        if expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        Ok(Some(Principal { user, scope: scope_named(&scope)?, token: Some(id), expires_at }))
    }

    fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, user, scope, label, created_at, last_used_at, expires_at FROM tokens
             WHERE ?1 IS NULL OR user = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([user], token_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().collect()
    }

    fn revoke_token(&mut self, id_or_label: &str, now: Timestamp) -> Result<Vec<TokenInfo>> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found: Vec<TokenInfo> = {
            let mut stmt = tx.prepare_cached(
                "SELECT id, user, scope, label, created_at, last_used_at, expires_at FROM tokens
                 WHERE id = ?1 OR label = ?1 ORDER BY created_at, rowid",
            )?;
            let rows = stmt.query_map([id_or_label], token_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().collect::<Result<_>>()?
        };
        if found.is_empty() {
            return Err(StoreError::NotFound(format!("token with the id or label `{id_or_label}`")));
        }
        let by_id = found.iter().any(|t| t.id == id_or_label);
        let found: Vec<TokenInfo> =
            if by_id { found.into_iter().filter(|t| t.id == id_or_label).collect() } else { found };
        if found.iter().any(|t| t.user != found[0].user) {
            return Err(FieldError::new(
                "token",
                format!("the label `{id_or_label}` names tokens of several users; revoke them by id (campanile token list)"),
            )
            .into());
        }
        for t in &found {
            tx.execute("DELETE FROM tokens WHERE id = ?1", [&t.id])?;
            audit::append(
                &tx,
                now,
                &serde_json::json!({"kind": "token.revoked", "user": t.user, "scope": t.scope, "hash_prefix": t.id}),
            )?;
        }
        tx.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'token_epoch'",
            [],
        )?;
        tx.commit()?;
        Ok(found)
    }

    fn token_epoch(&self) -> Result<i64> {
        let v: Option<String> = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = 'token_epoch'")?
            .query_row([], |r| r.get(0))
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn touch_tokens(&mut self, ids: &[String], now: Timestamp) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for id in ids {
            tx.prepare_cached("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id, micros(now)])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Subscribes a user to a topic; true when it was new.
    fn subscribe(&mut self, topic: &str, user: &str, now: Timestamp) -> Result<bool> {
        check_topic(topic)?;
        if !user_exists(&self.conn, user)? {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "INSERT OR IGNORE INTO topic_subscribers (topic, user) VALUES (?1, ?2)",
            params![topic, user],
        )?;
        if n > 0 {
            audit::append(
                &tx,
                now,
                &serde_json::json!({"kind": "topic.subscribed", "topic": topic, "user": user}),
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Unsubscribes; true when there was a subscription.
    fn unsubscribe(&mut self, topic: &str, user: &str, now: Timestamp) -> Result<bool> {
        check_topic(topic)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n =
            tx.execute("DELETE FROM topic_subscribers WHERE topic = ?1 AND user = ?2", params![topic, user])?;
        if n > 0 {
            audit::append(
                &tx,
                now,
                &serde_json::json!({"kind": "topic.unsubscribed", "topic": topic, "user": user}),
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Topics with their subscriber counts; `only_for` limits to one user's subscriptions.
    fn topics(&self, user: &str, only_mine: bool) -> Result<Vec<TopicInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT topic, COUNT(*), MAX(user = ?1) FROM topic_subscribers GROUP BY topic
             HAVING ?2 = 0 OR MAX(user = ?1) = 1 ORDER BY topic",
        )?;
        let rows = stmt.query_map(params![user, only_mine], |r| {
            Ok(TopicInfo { topic: r.get(0)?, subscribers: r.get(1)?, subscribed: r.get::<_, i64>(2)? == 1 })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Registers a push device for a user (re-registering moves the token to this user).
    fn add_device_token(&mut self, user: &str, provider: &str, token: &str, now: Timestamp) -> Result<()> {
        check_device_token(provider, token)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let owner: Option<String> = tx
            .query_row(
                "SELECT user FROM device_tokens WHERE provider = ?1 AND token = ?2",
                params![provider, token],
                |r| r.get(0),
            )
            .optional()?;
        if owner.as_deref().is_some_and(|o| o != user) {
            // A device moves between accounts only after its old owner removes it.
            return Err(StoreError::Taken(format!(
                "this {provider} device is registered to another user; it must be removed there first"
            )));
        }
        tx.execute(
            "INSERT INTO device_tokens (user, provider, token, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (provider, token) DO NOTHING",
            params![user, provider, token, micros(now)],
        )?;
        audit::append(
            &tx,
            now,
            &serde_json::json!({"kind": "device.registered", "user": user, "provider": provider}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Removes one of the user's devices; true when it was there.
    fn remove_device_token(
        &mut self,
        user: &str,
        provider: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "DELETE FROM device_tokens WHERE user = ?1 AND provider = ?2 AND token = ?3",
            params![user, provider, token],
        )?;
        if n > 0 {
            audit::append(
                &tx,
                now,
                &serde_json::json!({"kind": "device.removed", "user": user, "provider": provider}),
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn device_tokens(&self, user: &str) -> Result<Vec<DeviceToken>> {
        devices_in(&self.conn, user)
    }
}

fn user_exists(conn: &rusqlite::Connection, user: &str) -> Result<bool> {
    Ok(conn.prepare_cached("SELECT 1 FROM users WHERE name = ?1")?.exists([user])?)
}

/// A user's push devices, oldest first (also read inside a delivery claim).
pub(crate) fn devices_in(conn: &rusqlite::Connection, user: &str) -> Result<Vec<DeviceToken>> {
    let mut stmt = conn.prepare_cached(
        "SELECT provider, token, created_at FROM device_tokens WHERE user = ?1 ORDER BY created_at",
    )?;
    let rows = stmt.query_map([user], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?)))?;
    rows.map(|r| {
        let (provider, token, at) = r?;
        Ok(DeviceToken { provider, token, created_at: from_micros(at)? })
    })
    .collect()
}

fn scope_named(scope: &str) -> Result<Scope> {
    match scope {
        "user" => Ok(Scope::User),
        "publisher" => Ok(Scope::Publisher),
        "admin" => Ok(Scope::Admin),
        other => Err(StoreError::Corrupt(format!("token scope `{other}`"))),
    }
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<TokenInfo>> {
    let (id, user, scope, label): (String, String, String, Option<String>) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    let (created, used, expires): (i64, Option<i64>, Option<i64>) = (r.get(4)?, r.get(5)?, r.get(6)?);
    Ok((|| {
        Ok(TokenInfo {
            id,
            user,
            scope: scope_named(&scope)?,
            label,
            created_at: from_micros(created)?,
            last_used_at: used.map(from_micros).transpose()?,
            expires_at: expires.map(from_micros).transpose()?,
        })
    })())
}

/// A new random token and its hash.
fn new_token() -> Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Io(format!("no randomness for a token: {e}")))?;
    let token: String =
        std::iter::once(PREFIX.to_string()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect();
    let hash = sha256_hex(token.as_bytes());
    Ok((token, hash))
}
