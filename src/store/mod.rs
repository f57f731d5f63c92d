//! The store's seam (DESIGN §5, §5a): what the dispatcher and the operator commands need from
//! a store, as a few traits that a backend implements, each with the module that implements
//! it for SQLite. A backend owns every byte it keeps; it knows no HTTP and no screen, and
//! takes `now` from its caller so tests control time. [`Store`] is all of them together, used
//! as `dyn Store` by the single writer and its readers.
//!
//! SQLite (`sqlite`) is the default: one file in WAL mode, migrations in code. PostgreSQL
//! (`postgres`) is the step past one machine (DESIGN §5a); see [`Location`] for how a store
//! is named.

pub mod postgres;
mod sql;
pub mod sqlite;
pub mod transfer;
mod types;

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::model::prefs::Preferences;
use crate::model::{
    DeviceToken, Hook, HookSource, HookTarget, InboxFilter, Notification, Recipients, Subscriber, TopicInfo,
};

pub use postgres::{
    Beat, Listener, Node, NodeInfo, PgStore, PgUrl, PresenceOp, RemotePresence, Wakeup, nodes_running,
};
pub use sqlite::SqliteStore;
pub use types::*;

/// Accepting events (DESIGN §5): each one committed with its notifications, changes,
/// outbox, schedule and audit rows in one transaction.
pub trait Ingest {
    /// Accepts one event in its own transaction.
    fn accept(&mut self, sub: &Submission, ctx: &AcceptContext<'_>) -> Result<Accepted>;
    /// Group commit: all submissions in one transaction, each on its own, so that one refused
    /// event does not refuse the others. Results are in the input's order.
    fn accept_batch(&mut self, subs: &[Submission], ctx: &AcceptContext<'_>)
    -> Result<Vec<Result<Accepted>>>;
    /// The subscribers `to` names (workflow triggers render per subscriber).
    fn subscribers(&self, to: &Recipients, defaults: &Preferences) -> Result<Vec<Subscriber>>;
}

/// What a user does to their own items (see [`InboxOp`]), by id or on a filter.
pub trait Inbox {
    /// Applies `op` to the user's items `ids` (at most [`MAX_IDS`]); an id that is not the
    /// user's is not found and nothing changes.
    fn apply(&mut self, user: &str, ids: &[String], op: InboxOp, now: Timestamp) -> Result<Vec<Change>>;
    /// Applies `op` to everything `filter` shows that `op` would change, up to the user's
    /// change `up_to`, in one transaction whatever the count.
    fn bulk(
        &mut self,
        user: &str,
        op: InboxOp,
        filter: &InboxFilter,
        up_to: Option<i64>,
        now: Timestamp,
    ) -> Result<BulkOutcome>;
    /// Takes a bulk action of the user's back (within [`UNDO_WINDOW`]).
    fn undo_bulk(&mut self, user: &str, bulk: &str, now: Timestamp) -> Result<BulkOutcome>;

    /// Marks every unread item read, optionally in one category: a bulk action on the inbox.
    fn mark_all_read(&mut self, user: &str, category: Option<&str>, now: Timestamp) -> Result<BulkOutcome> {
        let filter = InboxFilter { category: category.map(String::from), ..InboxFilter::default() };
        self.bulk(user, InboxOp::MarkRead, &filter, None, now)
    }
}

/// Reading items, counts and the change log back.
pub trait Reads {
    fn notification(&self, id: &str) -> Result<Notification>;
    /// A page of the user's items under the filter, newest first.
    fn list(&self, user: &str, f: &ListFilter, now: Timestamp) -> Result<Vec<Notification>>;
    /// Unread items by category (DESIGN §11's one "unread"), without walking the inbox.
    fn unread_by_category(&self, user: &str, now: Timestamp) -> Result<BTreeMap<String, i64>>;
    /// How many items the user has in all (archived and snoozed included).
    fn total(&self, user: &str) -> Result<u64>;
    /// The user's last change seq (0 when none).
    fn last_seq(&self, user: &str) -> Result<i64>;
    /// Changes after `seq`, in order, at most `limit`.
    fn changes_since(&self, user: &str, seq: i64, limit: u32) -> Result<Vec<Change>>;
    /// Rows of the tables an accept writes, for tests and operators.
    fn table_counts(&self) -> Result<BTreeMap<&'static str, i64>>;
    /// Pending schedule rows of a notification.
    fn schedule_of(&self, notification: &str) -> Result<Vec<Scheduled>>;
    /// Outbox rows of a notification as (channel, status).
    fn outbox_of(&self, notification: &str) -> Result<Vec<(String, String)>>;

    fn unread_count(&self, user: &str, now: Timestamp) -> Result<i64> {
        Ok(self.unread_by_category(user, now)?.values().sum())
    }
}

/// Preferences, versioned: a stale version is refused, never merged.
pub trait Settings {
    /// A user's preferences and their version (0 when never saved: the defaults).
    fn prefs(&self, user: &str, defaults: &Preferences) -> Result<(Preferences, i64)>;
    /// Saves preferences if `expected` is the current version; returns the new version and
    /// the `prefs_updated` change.
    fn put_prefs(
        &mut self,
        user: &str,
        prefs: &Preferences,
        expected: Option<i64>,
        defaults: &Preferences,
        now: Timestamp,
    ) -> Result<(i64, Change)>;
}

/// Users, their tokens, topic subscriptions and push devices.
pub trait Directory {
    /// Adds a user, or updates the e-mail of an existing one.
    fn upsert_user(&mut self, name: &str, email: Option<&str>, now: Timestamp) -> Result<()>;
    /// Sets the profile fields workflow templates use (`name`, `phone`, `avatar`).
    fn set_profile(
        &mut self,
        user: &str,
        display_name: Option<&str>,
        phone: Option<&str>,
        avatar: Option<&str>,
    ) -> Result<()>;
    /// Users and their e-mail addresses, by name.
    fn users(&self) -> Result<Vec<(String, Option<String>)>>;
    /// Adds or updates many users in one transaction (all or none), with a token of `token`'s
    /// scope for each when asked; one audit record names how many and a hash of the names.
    fn import_users(
        &mut self,
        users: &[NewUser],
        token: Option<Scope>,
        now: Timestamp,
    ) -> Result<Vec<Imported>>;
    /// Removes a user and everything that is theirs (items, change log, deliveries, tokens,
    /// devices, subscriptions, preferences); the audit trail keeps its records and gains
    /// one saying so. `false` when there was no such user.
    fn delete_user(&mut self, name: &str, now: Timestamp) -> Result<bool>;
    /// Creates a token for an existing user and returns it; only its hash is kept.
    fn create_token(
        &mut self,
        user: &str,
        scope: Scope,
        label: Option<&str>,
        now: Timestamp,
    ) -> Result<String> {
        self.create_token_until(user, scope, label, None, now)
    }
    /// Creates a token that stops working at `expires_at`.
    fn create_token_until(
        &mut self,
        user: &str,
        scope: Scope,
        label: Option<&str>,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<String>;
    /// Who a token belongs to; `None` for an unknown, malformed or expired token.
    fn authenticate(&self, token: &str, now: Timestamp) -> Result<Option<Principal>>;
    /// Every token (of `user`, if given), oldest first.
    fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>>;
    /// Revokes the token with this id, or the tokens with this label (all of one user's
    /// tokens with that label; a label two users share is refused). Returns what went.
    fn revoke_token(&mut self, id_or_label: &str, now: Timestamp) -> Result<Vec<TokenInfo>>;
    /// A number that changes whenever a token is revoked, for daemons to watch.
    fn token_epoch(&self) -> Result<i64>;
    /// Records that these tokens were used, in one transaction (callers gather them: a
    /// team's sessions reconnecting at once are one write, not one commit each).
    fn touch_tokens(&mut self, ids: &[String], now: Timestamp) -> Result<()>;
    /// Subscribes a user to a topic; true when it was new.
    fn subscribe(&mut self, topic: &str, user: &str, now: Timestamp) -> Result<bool>;
    /// Unsubscribes; true when there was a subscription.
    fn unsubscribe(&mut self, topic: &str, user: &str, now: Timestamp) -> Result<bool>;
    /// Topics with their subscriber counts; `only_mine` limits to the user's subscriptions.
    fn topics(&self, user: &str, only_mine: bool) -> Result<Vec<TopicInfo>>;
    /// Registers a push device (a device moves between users only once removed).
    fn add_device_token(&mut self, user: &str, provider: &str, token: &str, now: Timestamp) -> Result<()>;
    /// Removes one of the user's devices; true when it was there.
    fn remove_device_token(
        &mut self,
        user: &str,
        provider: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<bool>;
    /// A user's push devices, oldest first.
    fn device_tokens(&self, user: &str) -> Result<Vec<DeviceToken>>;
}

/// A hook to create: the store picks its id and secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHook {
    pub source: HookSource,
    pub target: HookTarget,
    pub label: Option<String>,
    /// Generic hooks: the `[hooks.templates.<name>]` they render with (required for them,
    /// refused for the others).
    pub template: Option<String>,
}

/// Incoming webhooks (issue 15): a sender posts its own payload to a hook's path.
pub trait Hooks {
    /// Creates a hook with a random id and secret; the users it names must exist.
    fn create_hook(&mut self, new: &NewHook, now: Timestamp) -> Result<Hook>;
    /// A hook that is not revoked.
    fn hook(&self, id: &str) -> Result<Option<Hook>>;
    /// Every hook, revoked ones included, oldest first.
    fn hooks(&self) -> Result<Vec<Hook>>;
    /// Revokes a hook; true when it was active.
    fn revoke_hook(&mut self, id: &str, now: Timestamp) -> Result<bool>;
}

/// The outbox as the delivery workers see it: claims, attempts, provider callbacks.
pub trait Outbox {
    /// Releases every claim (at start-up: what a crashed engine had in flight goes again).
    fn release_claims(&mut self) -> Result<usize>;
    /// When the next unclaimed delivery falls due (desktop has its own worker).
    fn next_delivery_due(&self) -> Result<Option<Timestamp>>;
    /// Claims up to `limit` deliveries due at `now` with what sending them needs.
    fn claim_deliveries(
        &mut self,
        now: Timestamp,
        limit: u32,
        defaults: &Preferences,
    ) -> Result<(Vec<DeliveryJob>, Vec<Change>)>;
    /// Records many attempts in one transaction; a delivery that is gone is skipped.
    fn record_attempts(&mut self, attempts: &[(String, Attempt)], now: Timestamp) -> Result<Vec<Change>>;
    /// A provider's callback about a delivery that was sent.
    fn provider_status(
        &mut self,
        id: &str,
        delivered: bool,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Change>>;
    /// The outbox rows that carry a notification (alone, in a summary or in a digest).
    fn deliveries_of(&self, notification: &str) -> Result<Vec<OutboxRow>>;
    /// Deliveries not yet done: pending or failed (to be retried).
    fn outbox_depth(&self) -> Result<i64>;
    /// Notifications with a delivery still pending on `channel` for `user`, oldest first
    /// (the desktop worker's queue).
    fn pending_deliveries(&self, user: &str, channel: crate::model::Channel) -> Result<Vec<String>>;
    /// Records one desktop delivery attempt of `notification`.
    fn record_delivery(
        &mut self,
        notification: &str,
        channel: crate::model::Channel,
        outcome: std::result::Result<(), String>,
        now: Timestamp,
    ) -> Result<Vec<Change>>;
}

/// Running what the engine scheduled when it falls due.
pub trait Scheduler {
    /// When the next runnable row is due, if any.
    fn next_due(&self) -> Result<Option<Timestamp>>;
    /// Runs every row due at `now`; returns the changes for the users' clients.
    fn run_due(&mut self, now: Timestamp) -> Result<Vec<Change>>;
}

/// The tamper-evident audit trail.
pub trait AuditTrail {
    /// Walks the whole chain and reports the first break, a chain that ends before the head
    /// recorded in the store included.
    fn verify_audit(&self) -> Result<Verdict> {
        self.verify_audit_against(None)
    }
    /// The same, and the chain must also hold `anchor` (a head kept outside the store).
    fn verify_audit_against(&self, anchor: Option<&AuditHead>) -> Result<Verdict>;
    /// The chain's last record now.
    fn audit_head(&self) -> Result<Option<AuditHead>>;
    /// Records the chain's last record in the store (the writer does it when idle), so a
    /// chain that later loses its tail shows it; returns it.
    fn record_audit_head(&mut self) -> Result<Option<AuditHead>>;
    /// The newest `limit` records, newest first, as (seq, at, record).
    fn audit_tail(&self, limit: u32) -> Result<Vec<(i64, Timestamp, serde_json::Value)>>;
}

/// A whole store: everything above, plus its identity.
pub trait Store:
    Ingest
    + Inbox
    + Reads
    + Settings
    + Directory
    + Hooks
    + Outbox
    + Scheduler
    + AuditTrail
    + transfer::Transfer
    + Send
{
    /// The identity of this store's change log; a restored or reset store has another, so
    /// clients know to refetch (DESIGN §6).
    fn stream(&self) -> &str;
    /// Housekeeping run on a connection of its own when writes pause (SQLite: copy the WAL
    /// back into the database).
    fn checkpoint(&mut self);
    /// Readies the connection that does all the writing (SQLite: a page cache big enough for
    /// a broadcast's pages, so a large transaction does not spill and re-read them).
    fn become_writer(&mut self) {}
    /// Names the node (DESIGN §5a) this connection writes for: what it commits is announced
    /// to the other nodes under that name. Nothing to do for a store one process owns.
    fn join_node(&mut self, _node: &str) {}
    /// Reads the store's structure for damage, for at most `budget`.
    fn check(&mut self, budget: std::time::Duration) -> Result<Integrity>;
}

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database (its URL never printed with its password).
    Postgres(PgUrl),
}

impl Location {
    /// Reads a store's name as an operator writes it (`--store`, `CAMPANILE_STORE`,
    /// `[daemon] store`): `postgres://…` or `postgresql://…` is a PostgreSQL database,
    /// `sqlite:PATH` or a bare path a SQLite file. Another `scheme://` is refused rather
    /// than taken for a file name.
    pub fn parse(text: &str) -> std::result::Result<Location, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the store is empty: name a file or a postgres:// URL".into());
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return PgUrl::parse(text).map(Location::Postgres);
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("`sqlite:` names no file: write sqlite:PATH".into());
            }
            return Ok(Location::Sqlite(path.into()));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "unknown store `{scheme}://`: use a file path, sqlite:PATH or postgres://user@host/db"
            ));
        }
        Ok(Location::Sqlite(text.into()))
    }

    /// Opens a connection (creating and migrating the store when needed).
    pub fn open(&self, sync: Synchronous) -> Result<Box<dyn Store>> {
        match self {
            Location::Sqlite(path) => Ok(Box::new(SqliteStore::open(path, sync)?)),
            Location::Postgres(url) => Ok(Box::new(PgStore::open(url, sync)?)),
        }
    }

    /// The SQLite file, when it is one.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Location::Sqlite(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => write!(f, "{url}"),
        }
    }
}

/// Everything a caller needs in scope to use a `dyn Store`.
pub mod prelude {
    pub use super::transfer::Transfer;
    pub use super::{AuditTrail, Directory, Hooks, Inbox, Ingest, Outbox, Reads, Scheduler, Settings, Store};
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

    use super::Location;

    #[test]
    fn a_store_is_named_by_a_path_or_a_url() {
        let sqlite = |p: &str| Location::Sqlite(p.into());
        assert_eq!(Location::parse("/var/lib/campanile/c.db").unwrap(), sqlite("/var/lib/campanile/c.db"));
        assert_eq!(Location::parse("relative.db").unwrap(), sqlite("relative.db"));
        assert_eq!(Location::parse("sqlite:/tmp/c.db").unwrap(), sqlite("/tmp/c.db"));
        assert_eq!(Location::parse("sqlite:///tmp/c.db").unwrap(), sqlite("/tmp/c.db"));
        for url in ["postgres://postgres@127.0.0.1/campanile", "postgresql://u:pw@db:5433/c?sslmode=disable"]
        {
            let Location::Postgres(pg) = Location::parse(url).unwrap() else { panic!("{url} is PostgreSQL") };
            assert_eq!(pg.expose(), url);
        }
        // The password never shows where a location is printed.
        let shown = Location::parse("postgres://u:hunter2@db/c").unwrap();
        assert!(!shown.to_string().contains("hunter2") && !format!("{shown:?}").contains("hunter2"));
        for (bad, says) in [
            ("", "empty"),
            ("sqlite:", "names no file"),
            ("mysql://db/c", "unknown store `mysql://`"),
            ("postgres://u@db:port/c", "not a PostgreSQL URL"),
        ] {
            let e = Location::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
