//! Topic subscriptions (an event to a topic reaches its subscribers) and push device tokens.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, audit, from_micros, micros};
use crate::model::FieldError;

/// A topic as one user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopicInfo {
    pub topic: String,
    pub subscribers: i64,
    pub subscribed: bool,
}

/// A registered push device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceToken {
    pub provider: String,
    pub token: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

pub const PUSH_PROVIDERS: [&str; 2] = ["expo", "ntfy"];

fn check_topic(topic: &str) -> Result<()> {
    if topic.is_empty()
        || topic.len() > 128
        || !topic.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        return Err(FieldError::new(
            "topic",
            format!("`{topic}` is not a topic name (letters, digits, . _ - /)"),
        )
        .into());
    }
    Ok(())
}

impl Store {
    fn user_exists(&self, user: &str) -> Result<bool> {
        Ok(self.conn.prepare_cached("SELECT 1 FROM users WHERE name = ?1")?.exists([user])?)
    }

    /// Subscribes a user to a topic; true when it was new.
    pub fn subscribe(&mut self, topic: &str, user: &str, now: Timestamp) -> Result<bool> {
        check_topic(topic)?;
        if !self.user_exists(user)? {
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
    pub fn unsubscribe(&mut self, topic: &str, user: &str, now: Timestamp) -> Result<bool> {
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
    pub fn topics(&self, user: &str, only_mine: bool) -> Result<Vec<TopicInfo>> {
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
    pub fn add_device_token(
        &mut self,
        user: &str,
        provider: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<()> {
        if !PUSH_PROVIDERS.contains(&provider) {
            return Err(FieldError::new(
                "provider",
                format!("`{provider}` is not a push provider (expo or ntfy)"),
            )
            .into());
        }
        let valid = match provider {
            "expo" => {
                (token.starts_with("ExponentPushToken[") || token.starts_with("ExpoPushToken["))
                    && token.ends_with(']')
            }
            _ => {
                !token.is_empty()
                    && token.len() <= 64
                    && token.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            }
        };
        if !valid {
            let expected = if provider == "expo" { "ExponentPushToken[...]" } else { "an ntfy topic name" };
            return Err(FieldError::new(
                "token",
                format!("not a valid {provider} token: expected {expected}"),
            )
            .into());
        }
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
    pub fn remove_device_token(
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

    pub fn device_tokens(&self, user: &str) -> Result<Vec<DeviceToken>> {
        devices_in(&self.conn, user)
    }
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
