//! The types the store's seam speaks: what goes in (submissions, ops, filters) and what comes
//! out (changes, outcomes, delivery jobs, audit verdicts), the store's errors, and the small
//! helpers every backend shares (ids, hashes, instants). Nothing here knows a database.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{Policy, Presence};
use crate::model::prefs::Preferences;
use crate::model::{Channel, DeviceToken, Event, FieldError, InboxFilter, Notification, Subscriber};

pub use crate::config::Synchronous;

/// How long an idempotency key is remembered.
pub const DEDUPE_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// One event as a producer sent it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Who sent it: a user name or a service's token owner. Idempotency keys are per producer.
    pub producer: String,
    /// `Idempotency-Key` header; else the event's `id`.
    pub idempotency_key: Option<String>,
    /// The recipient when the event names none (a user publishing to themselves).
    pub default_user: Option<String>,
    pub event: Event,
}

/// What the engine needs besides the event and the stored preferences.
pub struct AcceptContext<'a> {
    pub policy: &'a Policy,
    /// The organisation's defaults for users who never saved preferences.
    pub defaults: &'a Preferences,
    pub presence: &'a dyn Fn(&str) -> Presence,
    pub now: Timestamp,
}

/// The answer to a producer (DESIGN §13), plus what the dispatcher fans out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub event: String,
    pub notifications: Vec<String>,
    pub duplicate: bool,
    #[serde(skip)]
    pub changes: Vec<Change>,
}

/// One change, as it is fanned out to clients after commit and replayed from the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub user: String,
    pub seq: i64,
    pub kind: String,
    /// The change's fields as a JSON object text (`{"notification":{…}}`,
    /// `{"prefs":{…},"prefs_version":N}` or `{"ids":[…],"set":{…}}`), serialised once and
    /// spliced into frames.
    pub payload: String,
}

impl Change {
    /// The payload as a JSON value (for callers that inspect it).
    pub fn payload_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// The last record of the audit chain as it was seen: where a chain that ends earlier has
/// lost its tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

impl AuditHead {
    /// `SEQ HASH`, as kept in the store's meta row and in an anchor file.
    pub fn to_line(&self) -> String {
        format!("{} {}", self.seq, self.hash)
    }

    pub fn parse(line: &str) -> Option<AuditHead> {
        let mut parts = line.split_whitespace();
        let seq = parts.next()?.parse().ok()?;
        let hash = parts.next()?.to_string();
        (hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit())).then_some(AuditHead { seq, hash })
    }
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok { records: u64 },
    Broken { seq: i64, problem: String },
}

/// What one outbox row asks a channel to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// One notification.
    Single,
    /// Several held notifications released together at the end of quiet hours.
    Summary,
    /// An e-mail digest.
    Digest,
}

impl DeliveryKind {
    pub fn parse(s: &str) -> Result<DeliveryKind> {
        match s {
            "single" => Ok(DeliveryKind::Single),
            "summary" => Ok(DeliveryKind::Summary),
            "digest" => Ok(DeliveryKind::Digest),
            other => Err(StoreError::Corrupt(format!("outbox kind `{other}`"))),
        }
    }
}

/// One claimed outbox row with everything needed to send it.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    /// The delivery id: stable across retries, receivers dedupe on it.
    pub id: String,
    pub channel: Channel,
    pub kind: DeliveryKind,
    pub user: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: Timestamp,
    /// The notifications it carries, oldest first (one for `Single`). Items read since they
    /// were scheduled are left out of summaries and digests.
    pub notifications: Vec<Notification>,
    pub prefs: Preferences,
    pub subscriber: Subscriber,
    pub devices: Vec<DeviceToken>,
}

/// What became of one attempt, as the worker resolved it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptStatus {
    Delivered,
    /// Failed; tried again at `retry_at`.
    Failed {
        retry_at: Timestamp,
    },
    /// Failed for good (a final answer, or out of attempts).
    Dead,
    /// Not tried (its target's circuit is open): back in the queue until `until`, no
    /// attempt counted.
    Deferred {
        until: Timestamp,
    },
}

/// One attempt, for the outbox row, the notifications' delivery state and the audit trail.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: AttemptStatus,
    pub error: Option<String>,
    /// Where it went (URL, SMTP host, provider), for the audit trail.
    pub target: String,
    /// SHA-256 of the body sent (hex), for the audit trail.
    pub content_hash: Option<String>,
}

/// One outbox row, as tests and operators look at it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub id: String,
    pub channel: String,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Most notifications one operation names by id (the writer is shared by everyone). A bulk
/// action names a filter instead, and has no limit.
pub const MAX_IDS: usize = 1000;
/// Ids per `notifications_updated` change of a bulk action (about 27 KB a frame).
pub const BULK_CHUNK: usize = 1000;
/// How long a bulk action can be undone.
pub const UNDO_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// An operation on notifications, as the sync protocol and REST carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxOp {
    MarkRead,
    MarkUnread,
    Archive,
    Unarchive,
    Snooze(Timestamp),
    Unsnooze,
}

impl InboxOp {
    pub fn name(self) -> &'static str {
        match self {
            InboxOp::MarkRead => "mark_read",
            InboxOp::MarkUnread => "mark_unread",
            InboxOp::Archive => "archive",
            InboxOp::Unarchive => "unarchive",
            InboxOp::Snooze(_) => "snooze",
            InboxOp::Unsnooze => "unsnooze",
        }
    }

    /// Refuses what can never be done (a snooze into the past).
    pub fn check(self, now: Timestamp) -> Result<()> {
        if let InboxOp::Snooze(until) = self
            && until <= now
        {
            return Err(FieldError::new("until", "must be in the future").into());
        }
        Ok(())
    }
}

/// What a bulk action (or its undo) did.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOutcome {
    /// The id to undo it by; `None` when it changed nothing (there is nothing to undo).
    pub bulk: Option<String>,
    pub count: u64,
    pub changes: Vec<Change>,
}

/// Which notifications a listing shows: a filter, and a page of it.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub filter: InboxFilter,
    /// Only ids below this one (the cursor: listings are newest first).
    pub before: Option<String>,
    pub limit: u32,
}

/// A pending schedule row: a hold, digest, escalation, repeat or snooze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub kind: String,
    pub channel: Option<String>,
    /// `None`: held until do-not-disturb is turned off.
    pub due: Option<Timestamp>,
}

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
    /// The token's id (`None` for the local user on the engine socket).
    pub token: Option<String>,
    /// When the token stops working, if it does.
    pub expires_at: Option<Timestamp>,
}

impl Principal {
    /// The local user on the engine socket, who needs no token.
    pub fn local(user: String) -> Principal {
        Principal { user, scope: Scope::Admin, token: None, expires_at: None }
    }
}

/// A user to add (or update) in an import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A user an import added or updated, with the token made for them if one was asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    pub name: String,
    pub token: Option<String>,
}

/// A token as an operator sees it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// The first 12 characters of the token's SHA-256: enough to name it, nothing to use.
    pub id: String,
    pub user: String,
    pub scope: Scope,
    pub label: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input names something wrong; a client can fix it (422).
    #[error("{0}")]
    Invalid(#[from] FieldError),
    /// The same idempotency key came with a different body (409).
    #[error("id `{0}` was already used for a different event in the last 24 hours")]
    Conflict(String),
    /// Something belongs to someone else (409).
    #[error("{0}")]
    Taken(String),
    /// A write raced with another version (409 for preferences).
    #[error("preferences changed meanwhile: you edited version {expected}, the current one is {current}")]
    VersionConflict { expected: i64, current: i64 },
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed (busy past its timeout, a constraint, I/O below it).
    #[error("database: {0}")]
    Db(String),
    /// Stored data that cannot be read back.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A file or directory around the store (creating it, its lock).
    #[error("{0}")]
    Io(String),
    /// A bug: the write panicked and was rolled back (the log has the panic).
    #[error("internal error: {0}")]
    Internal(String),
    /// The storage under the store failed in a way the operator must fix (503).
    #[error("{fault}: {1}", fault = .0.as_str())]
    Storage(StorageFault, String),
}

/// What is wrong with the storage under a store, in an operator's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    DiskFull,
    ReadOnly,
    PermissionDenied,
    /// The file is damaged (or not a store at all).
    Damaged,
}

impl StorageFault {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageFault::DiskFull => "disk full",
            StorageFault::ReadOnly => "the store is read-only",
            StorageFault::PermissionDenied => "permission denied on the store",
            StorageFault::Damaged => "the store is damaged",
        }
    }

    /// A short machine-readable code for error answers.
    pub fn code(self) -> &'static str {
        match self {
            StorageFault::DiskFull => "disk_full",
            StorageFault::ReadOnly => "read_only",
            StorageFault::PermissionDenied => "permission_denied",
            StorageFault::Damaged => "store_damaged",
        }
    }
}

/// What a start-up check of the store found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    Ok,
    /// The check ran out of its time before the end: what it read was sound.
    Unfinished,
    /// The first problems found.
    Damaged(Vec<String>),
}

impl StoreError {
    /// The same error again, for each of the callers one failed group commit answers.
    pub fn again(&self) -> StoreError {
        match self {
            StoreError::Invalid(f) => StoreError::Invalid(f.clone()),
            StoreError::Conflict(s) => StoreError::Conflict(s.clone()),
            StoreError::Taken(s) => StoreError::Taken(s.clone()),
            StoreError::VersionConflict { expected, current } => {
                StoreError::VersionConflict { expected: *expected, current: *current }
            }
            StoreError::NotFound(s) => StoreError::NotFound(s.clone()),
            StoreError::Db(s) => StoreError::Db(s.clone()),
            StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
            StoreError::Io(s) => StoreError::Io(s.clone()),
            StoreError::Internal(s) => StoreError::Internal(s.clone()),
            StoreError::Storage(f, s) => StoreError::Storage(*f, s.clone()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Microseconds since the epoch: how instants are stored.
pub fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub fn from_micros(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::Corrupt(format!("instant {us}: {e}")))
}

/// A new ULID. One generator for the process keeps ids strictly increasing even within a
/// millisecond, so "newest first" by id is the order of acceptance.
pub fn new_id() -> String {
    static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = IDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    generator.generate().unwrap_or_else(|_| ulid::Ulid::generate()).to_string()
}

/// SHA-256 as lower-case hex (token hashes, audit hashes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}
