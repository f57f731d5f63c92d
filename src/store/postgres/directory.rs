//! Who is in the store: users and their profiles, API tokens (random, shown once, stored only
//! as their SHA-256, scoped: DESIGN §9), topic subscriptions and push devices, as SQLite's
//! `directory` keeps them. The checks on names and tokens are `model`'s, shared by both.

use jiff::Timestamp;

use super::audit;
use super::db::Db;
use super::{PgStore, in_tx, is_unique_violation, with};
use crate::model::{DeviceToken, FieldError, TopicInfo, check_device_token, check_topic, check_user_name};
use crate::store::{
    Directory, Imported, NewUser, Principal, Result, Scope, StoreError, TokenInfo, from_micros, micros,
    sha256_hex,
};

const PREFIX: &str = "cmp_";

const UPSERT_USER: &str = "INSERT INTO users (name, email, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET email = COALESCE(excluded.email, users.email)";

const TOKEN_COLUMNS: &str = "id, username, scope, label, created_at, last_used_at, expires_at";

const BUMP_TOKEN_EPOCH: &str = "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'token_epoch'";

impl Directory for PgStore {
    fn upsert_user(&mut self, name: &str, email: Option<&str>, now: Timestamp) -> Result<()> {
        check_user_name(name)?;
        if let Some(e) = email
            && !crate::model::looks_like_email(e)
        {
            return Err(FieldError::new("email", format!("`{e}` is not an e-mail address")).into());
        }
        in_tx(self, |db| {
            db.exec(UPSERT_USER, &[&name, &email, &micros(now)])?;
            audit::append(db, now, &serde_json::json!({"kind": "user.upserted", "user": name}))
        })
    }

    fn import_users(
        &mut self,
        users: &[NewUser],
        token: Option<Scope>,
        now: Timestamp,
    ) -> Result<Vec<Imported>> {
        crate::store::sql::check_import(users)?;
        in_tx(self, |db| {
            let mut out = Vec::with_capacity(users.len());
            for u in users {
                db.exec(UPSERT_USER, &[&u.name, &u.email, &micros(now)]).map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Taken(format!(
                            "the e-mail address of `{}` belongs to another user",
                            u.name
                        ))
                    } else {
                        e
                    }
                })?;
                if let Some(d) = &u.display_name {
                    db.exec("UPDATE users SET display_name = $2 WHERE name = $1", &[&u.name, d])?;
                }
                let token = match token {
                    Some(scope) => {
                        let (token, hash) = new_token()?;
                        db.exec(
                            "INSERT INTO tokens (hash, username, scope, label, created_at, id)
                             VALUES ($1, $2, $3, 'import', $4, substr($1, 1, 12))",
                            &[&hash, &u.name, &scope.as_str(), &micros(now)],
                        )?;
                        Some(token)
                    }
                    None => None,
                };
                out.push(Imported { name: u.name.clone(), token });
            }
            let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
            audit::append(
                db,
                now,
                &serde_json::json!({"kind": "users.imported", "count": users.len(),
                    "names_hash": sha256_hex(names.join("\n").as_bytes()), "tokens": token.map(Scope::as_str)}),
            )?;
            Ok(out)
        })
    }

    fn delete_user(&mut self, name: &str, now: Timestamp) -> Result<bool> {
        in_tx(self, |db| {
            if !user_exists(db, name)? {
                return Ok(false);
            }
            for sql in [
                "DELETE FROM bulk_items WHERE bulk IN (SELECT id FROM bulks WHERE username = $1)",
                "DELETE FROM bulks WHERE username = $1",
                "DELETE FROM schedule WHERE username = $1",
                "DELETE FROM outbox WHERE username = $1",
                "DELETE FROM changes WHERE username = $1",
                // Its log is gone, so its counter goes too (SQLite's seq is the log's maximum).
                "DELETE FROM user_seqs WHERE username = $1",
                "DELETE FROM notifications WHERE username = $1",
                "DELETE FROM unread_counts WHERE username = $1",
                // What deleting the rows just counted down must not be folded into counts
                // that are gone.
                "DELETE FROM unread_deltas WHERE username = $1",
                "DELETE FROM device_tokens WHERE username = $1",
                "DELETE FROM topic_subscribers WHERE username = $1",
                "DELETE FROM tokens WHERE username = $1",
                "DELETE FROM preferences WHERE username = $1",
                "DELETE FROM users WHERE name = $1",
            ] {
                db.exec(sql, &[&name])?;
            }
            db.exec(BUMP_TOKEN_EPOCH, &[])?;
            audit::append(db, now, &serde_json::json!({"kind": "user.deleted", "user": name}))?;
            Ok(true)
        })
    }

    fn set_profile(
        &mut self,
        user: &str,
        display_name: Option<&str>,
        phone: Option<&str>,
        avatar: Option<&str>,
    ) -> Result<()> {
        let n = with(self, |db| {
            db.exec(
                "UPDATE users SET display_name = COALESCE($2, display_name), phone = COALESCE($3, phone),
                   avatar = COALESCE($4, avatar) WHERE name = $1",
                &[&user, &display_name, &phone, &avatar],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        Ok(())
    }

    fn users(&self) -> Result<Vec<(String, Option<String>)>> {
        with(self, |db| {
            db.query("SELECT name, email FROM users ORDER BY name", &[])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }

    fn create_token_until(
        &mut self,
        user: &str,
        scope: Scope,
        label: Option<&str>,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<String> {
        if !with(self, |db| user_exists(db, user))? {
            return Err(FieldError::new(
                "user",
                format!("no user named `{user}` (add one with `campanile user add`)"),
            )
            .into());
        }
        let (token, hash) = new_token()?;
        in_tx(self, |db| {
            db.exec(
                "INSERT INTO tokens (hash, username, scope, label, created_at, id, expires_at)
                 VALUES ($1, $2, $3, $4, $5, substr($1, 1, 12), $6)",
                &[&hash, &user, &scope.as_str(), &label, &micros(now), &expires_at.map(micros)],
            )?;
            // The record names the hash's first characters, never the token.
            audit::append(
                db,
                now,
                &serde_json::json!({"kind": "token.created", "user": user, "scope": scope, "hash_prefix": &hash[..12]}),
            )
        })?;
        Ok(token)
    }

    /// Who a token belongs to; `None` for an unknown, malformed or expired token. The lookup
    /// is by the token's hash, so timing reveals nothing about stored tokens.
    fn authenticate(&self, token: &str, now: Timestamp) -> Result<Option<Principal>> {
        if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 64 {
            return Ok(None);
        }
        let hash = sha256_hex(token.as_bytes());
        let row = with(self, |db| {
            db.opt("SELECT username, scope, id, expires_at FROM tokens WHERE hash = $1", &[&hash])
        })?;
        let Some(r) = row else { return Ok(None) };
        let (user, scope, id, expires): (String, String, String, Option<i64>) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        let expires_at = expires.map(from_micros).transpose()?;
        if expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        Ok(Some(Principal { user, scope: scope_named(&scope)?, token: Some(id), expires_at }))
    }

    fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>> {
        with(self, |db| {
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE $1::text IS NULL OR username = $1 ORDER BY created_at, ord"
            );
            db.query(&sql, &[&user])?.iter().map(token_row).collect()
        })
    }

    fn revoke_token(&mut self, id_or_label: &str, now: Timestamp) -> Result<Vec<TokenInfo>> {
        in_tx(self, |db| {
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1 OR label = $1 ORDER BY created_at, ord"
            );
            let found: Vec<TokenInfo> =
                db.query(&sql, &[&id_or_label])?.iter().map(token_row).collect::<Result<_>>()?;
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
                db.exec("DELETE FROM tokens WHERE id = $1", &[&t.id])?;
                audit::append(
                    db,
                    now,
                    &serde_json::json!({"kind": "token.revoked", "user": t.user, "scope": t.scope, "hash_prefix": t.id}),
                )?;
            }
            db.exec(BUMP_TOKEN_EPOCH, &[])?;
            Ok(found)
        })
    }

    fn token_epoch(&self) -> Result<i64> {
        let v = with(self, |db| db.opt("SELECT value FROM meta WHERE key = 'token_epoch'", &[]))?;
        let v: Option<String> = v.map(|r| r.try_get(0)).transpose()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn touch_tokens(&mut self, ids: &[String], now: Timestamp) -> Result<()> {
        with(self, |db| {
            db.exec("UPDATE tokens SET last_used_at = $2 WHERE id = ANY($1)", &[&ids, &micros(now)])
        })?;
        Ok(())
    }

    fn subscribe(&mut self, topic: &str, user: &str, now: Timestamp) -> Result<bool> {
        check_topic(topic)?;
        if !with(self, |db| user_exists(db, user))? {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        in_tx(self, |db| {
            let n = db.exec(
                "INSERT INTO topic_subscribers (topic, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&topic, &user],
            )?;
            if n > 0 {
                audit::append(
                    db,
                    now,
                    &serde_json::json!({"kind": "topic.subscribed", "topic": topic, "user": user}),
                )?;
            }
            Ok(n > 0)
        })
    }

    fn unsubscribe(&mut self, topic: &str, user: &str, now: Timestamp) -> Result<bool> {
        check_topic(topic)?;
        in_tx(self, |db| {
            let n = db
                .exec("DELETE FROM topic_subscribers WHERE topic = $1 AND username = $2", &[&topic, &user])?;
            if n > 0 {
                audit::append(
                    db,
                    now,
                    &serde_json::json!({"kind": "topic.unsubscribed", "topic": topic, "user": user}),
                )?;
            }
            Ok(n > 0)
        })
    }

    fn topics(&self, user: &str, only_mine: bool) -> Result<Vec<TopicInfo>> {
        with(self, |db| {
            db.query(
                "SELECT topic, COUNT(*), bool_or(username = $1) FROM topic_subscribers GROUP BY topic
                 HAVING NOT $2::boolean OR bool_or(username = $1) ORDER BY topic",
                &[&user, &only_mine],
            )?
            .iter()
            .map(|r| {
                let subscribers: i64 = r.try_get(1)?;
                Ok(TopicInfo { topic: r.try_get(0)?, subscribers, subscribed: r.try_get(2)? })
            })
            .collect()
        })
    }

    fn add_device_token(&mut self, user: &str, provider: &str, token: &str, now: Timestamp) -> Result<()> {
        check_device_token(provider, token)?;
        in_tx(self, |db| {
            let owner = db.opt(
                "SELECT username FROM device_tokens WHERE provider = $1 AND token = $2 FOR UPDATE",
                &[&provider, &token],
            )?;
            let owner: Option<String> = owner.map(|r| r.try_get(0)).transpose()?;
            if owner.as_deref().is_some_and(|o| o != user) {
                // A device moves between accounts only after its old owner removes it.
                return Err(StoreError::Taken(format!(
                    "this {provider} device is registered to another user; it must be removed there first"
                )));
            }
            db.exec(
                "INSERT INTO device_tokens (username, provider, token, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (provider, token) DO NOTHING",
                &[&user, &provider, &token, &micros(now)],
            )?;
            audit::append(
                db,
                now,
                &serde_json::json!({"kind": "device.registered", "user": user, "provider": provider}),
            )
        })
    }

    fn remove_device_token(
        &mut self,
        user: &str,
        provider: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<bool> {
        in_tx(self, |db| {
            let n = db.exec(
                "DELETE FROM device_tokens WHERE username = $1 AND provider = $2 AND token = $3",
                &[&user, &provider, &token],
            )?;
            if n > 0 {
                audit::append(
                    db,
                    now,
                    &serde_json::json!({"kind": "device.removed", "user": user, "provider": provider}),
                )?;
            }
            Ok(n > 0)
        })
    }

    fn device_tokens(&self, user: &str) -> Result<Vec<DeviceToken>> {
        with(self, |db| devices_in(db, user))
    }
}

fn user_exists(db: &mut Db, user: &str) -> Result<bool> {
    Ok(db.opt("SELECT 1 FROM users WHERE name = $1", &[&user])?.is_some())
}

/// A user's push devices, oldest first (also read inside a delivery claim).
pub(crate) fn devices_in(db: &mut Db, user: &str) -> Result<Vec<DeviceToken>> {
    db.query(
        "SELECT provider, token, created_at FROM device_tokens WHERE username = $1 ORDER BY created_at, ord",
        &[&user],
    )?
    .iter()
    .map(|r| {
        Ok(DeviceToken {
            provider: r.try_get(0)?,
            token: r.try_get(1)?,
            created_at: from_micros(r.try_get(2)?)?,
        })
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

fn token_row(r: &postgres::Row) -> Result<TokenInfo> {
    let scope: String = r.try_get(2)?;
    let (created, used, expires): (i64, Option<i64>, Option<i64>) =
        (r.try_get(4)?, r.try_get(5)?, r.try_get(6)?);
    Ok(TokenInfo {
        id: r.try_get(0)?,
        user: r.try_get(1)?,
        scope: scope_named(&scope)?,
        label: r.try_get(3)?,
        created_at: from_micros(created)?,
        last_used_at: used.map(from_micros).transpose()?,
        expires_at: expires.map(from_micros).transpose()?,
    })
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
