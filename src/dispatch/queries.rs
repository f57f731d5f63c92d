//! What the transports and the workers read and write through the dispatcher, as typed
//! calls: no handler or worker touches a store itself. Reads run on a pooled reader off the
//! async threads; writes go through the one writer (group commit), and their changes fan out
//! after commit.

use std::sync::{Arc, PoisonError};

use jiff::Timestamp;

use super::{Dispatch, DispatchError};
use crate::model::prefs::Preferences;
use crate::model::{Channel, DeviceToken, Notification, Recipients, Subscriber, TopicInfo};
use crate::store::{
    Attempt, Change, DeliveryJob, Imported, ListFilter, NewUser, Principal, Scope, TokenInfo,
};

type Result<T> = std::result::Result<T, DispatchError>;

/// What a connecting client is told in `welcome`.
#[derive(Debug, Clone)]
pub struct WelcomeState {
    pub seq: i64,
    pub unread: i64,
    pub prefs: Preferences,
    pub prefs_version: i64,
}

impl Dispatch {
    /// Who a token belongs to (`None`: unknown).
    pub async fn authenticate(&self, token: String) -> Result<Option<Principal>> {
        self.read(move |s| s.authenticate(&token, Timestamp::now())).await
    }

    /// Every token (of `user`, if given); never the tokens themselves.
    pub async fn tokens(&self, user: Option<String>) -> Result<Vec<TokenInfo>> {
        self.read(move |s| s.tokens(user.as_deref())).await
    }

    /// Revokes a token by id or label (see the store's `revoke_token`); sessions that it
    /// authenticated end at once.
    pub async fn revoke_token(&self, id_or_label: String) -> Result<Vec<TokenInfo>> {
        let gone = self.write(move |s, now| Ok((s.revoke_token(&id_or_label, now)?, Vec::new()))).await?;
        self.tokens_changed();
        Ok(gone)
    }

    /// Users and their e-mail addresses, by name.
    pub async fn users(&self) -> Result<Vec<(String, Option<String>)>> {
        self.read(|s| s.users()).await
    }

    /// Adds or updates many users at once (see the store's `import_users`).
    pub async fn import_users(&self, users: Vec<NewUser>, token: Option<Scope>) -> Result<Vec<Imported>> {
        self.write(move |s, now| Ok((s.import_users(&users, token, now)?, Vec::new()))).await
    }

    /// Removes a user and their data; their sessions end (their tokens are gone).
    pub async fn delete_user(&self, name: String) -> Result<bool> {
        let gone = self.write(move |s, now| Ok((s.delete_user(&name, now)?, Vec::new()))).await?;
        self.tokens_changed();
        Ok(gone)
    }

    /// Records, in the background, that a token was used. Tokens used while a record waits
    /// for the writer join it: thousands of sessions opening at once (a daemon restarting
    /// under a team) are a few commits, not a commit each queued ahead of the next event.
    pub fn touch_token(&self, id: String) {
        let touched = Arc::clone(&self.shared.touched);
        {
            let mut waiting = touched.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            let queued = !waiting.is_empty();
            waiting.insert(id);
            if queued {
                return;
            }
        }
        let d = self.clone();
        tokio::spawn(async move {
            let _ = d
                .write(move |s, now| {
                    let waiting = &mut *touched.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                    let ids: Vec<String> = std::mem::take(waiting).into_iter().collect();
                    touched.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Ok((s.touch_tokens(&ids, now)?, Vec::new()))
                })
                .await;
        });
    }

    /// The store's revocation counter (another process may revoke a token).
    pub async fn token_epoch(&self) -> Result<i64> {
        self.read(|s| s.token_epoch()).await
    }

    /// A page of the user's items, newest first.
    pub async fn list(&self, user: &str, filter: ListFilter) -> Result<Vec<Notification>> {
        let user = user.to_string();
        self.read(move |s| s.list(&user, &filter, Timestamp::now())).await
    }

    /// One item, whoever's it is (the caller checks ownership).
    pub async fn notification(&self, id: &str) -> Result<Notification> {
        let id = id.to_string();
        self.read(move |s| s.notification(&id)).await
    }

    pub async fn unread_count(&self, user: &str) -> Result<i64> {
        let user = user.to_string();
        self.read(move |s| s.unread_count(&user, Timestamp::now())).await
    }

    /// How many items the user has in all.
    pub async fn total(&self, user: &str) -> Result<u64> {
        let user = user.to_string();
        self.read(move |s| s.total(&user)).await
    }

    /// The user's preferences (the organisation's defaults when never saved) and version.
    pub async fn settings(&self, user: &str) -> Result<(Preferences, i64)> {
        let (user, defaults) = (user.to_string(), self.defaults().clone());
        self.read(move |s| s.prefs(&user, &defaults)).await
    }

    /// The head of the user's change log, their unread count and preferences, read together.
    pub async fn welcome_state(&self, user: &str) -> Result<WelcomeState> {
        let (user, defaults) = (user.to_string(), self.defaults().clone());
        self.read(move |s| {
            let (prefs, prefs_version) = s.prefs(&user, &defaults)?;
            Ok(WelcomeState {
                seq: s.last_seq(&user)?,
                unread: s.unread_count(&user, Timestamp::now())?,
                prefs,
                prefs_version,
            })
        })
        .await
    }

    /// Changes after `seq`, in order, at most `limit`.
    pub async fn changes_since(&self, user: &str, seq: i64, limit: u32) -> Result<Vec<Change>> {
        let user = user.to_string();
        self.read(move |s| s.changes_since(&user, seq, limit)).await
    }

    pub async fn topics(&self, user: &str, only_mine: bool) -> Result<Vec<TopicInfo>> {
        let user = user.to_string();
        self.read(move |s| s.topics(&user, only_mine)).await
    }

    pub async fn devices(&self, user: &str) -> Result<Vec<DeviceToken>> {
        let user = user.to_string();
        self.read(move |s| s.device_tokens(&user)).await
    }

    /// The newest audit records, newest first.
    pub async fn audit_tail(&self, limit: u32) -> Result<Vec<(i64, Timestamp, serde_json::Value)>> {
        self.read(move |s| s.audit_tail(limit)).await
    }

    /// Deliveries not yet done.
    pub async fn outbox_depth(&self) -> Result<i64> {
        self.read(|s| s.outbox_depth()).await
    }

    /// The subscribers `to` names, with their profiles (workflow triggers).
    pub async fn subscribers(&self, to: Recipients) -> Result<Vec<Subscriber>> {
        let defaults = self.defaults().clone();
        self.read(move |s| s.subscribers(&to, &defaults)).await
    }

    /// A provider's callback about a delivery that was sent.
    pub async fn provider_status(&self, id: String, delivered: bool, error: Option<String>) -> Result<()> {
        self.write(move |s, now| s.provider_status(&id, delivered, error.as_deref(), now).map(|c| ((), c)))
            .await
    }

    // The delivery workers' side of the outbox.

    /// Releases claims a previous run left (at start-up); how many.
    pub async fn release_claims(&self) -> Result<usize> {
        self.write(|s, _| s.release_claims().map(|n| (n, Vec::new()))).await
    }

    pub async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        self.read(|s| s.next_delivery_due()).await
    }

    /// Claims up to `limit` due deliveries with what sending them needs.
    pub async fn claim_deliveries(&self, limit: u32) -> Result<Vec<DeliveryJob>> {
        let defaults = self.defaults().clone();
        self.write(move |s, now| s.claim_deliveries(now, limit, &defaults)).await
    }

    /// Records attempts in one transaction.
    pub async fn record_attempts(&self, attempts: std::sync::Arc<Vec<(String, Attempt)>>) -> Result<()> {
        self.write(move |s, now| s.record_attempts(&attempts, now).map(|c| ((), c))).await
    }

    /// The user's notifications with a delivery still pending on `channel`.
    pub async fn pending_deliveries(&self, user: &str, channel: Channel) -> Result<Vec<String>> {
        let user = user.to_string();
        self.read(move |s| s.pending_deliveries(&user, channel)).await
    }

    /// Records one desktop delivery attempt.
    pub async fn record_delivery(
        &self,
        id: String,
        channel: Channel,
        outcome: std::result::Result<(), String>,
    ) -> Result<()> {
        self.write(move |s, now| s.record_delivery(&id, channel, outcome, now).map(|c| ((), c))).await
    }
}
