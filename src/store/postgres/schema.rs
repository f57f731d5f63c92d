//! The PostgreSQL schema, as numbered migrations applied in order; `schema_version` holds how
//! many ran. A migration is never edited once released: add a new one. Migrations run on
//! open inside one transaction that first takes an advisory lock, so two nodes starting
//! together do not both migrate: the second waits, then finds the schema current.
//!
//! The tables are SQLite's (DESIGN §5), with PostgreSQL's spellings: instants are BIGINT
//! microseconds since the Unix epoch (as in SQLite, so `store copy` moves values as they
//! are), `user` is `username` (a reserved word here), identifiers and names sort bytewise
//! (`COLLATE "C"`, as SQLite compares them), and the per-user change counter is a row
//! (`user_seqs`) bumped in the transaction that logs the change, never a SEQUENCE (which
//! would leave gaps). Every table is keyed or indexed by user first (DESIGN §5a: the user
//! is the distribution column should the store ever be sharded).

use super::db::Db;
use crate::store::{Result, StoreError};

/// The advisory lock key migrations run under ("campmig").
const MIGRATE_LOCK: i64 = 0x6361_6d70_6d69_6701;

/// Every table, for the start-up check.
pub(super) const TABLES: &[&str] = &[
    "meta",
    "users",
    "tokens",
    "preferences",
    "events",
    "notifications",
    "user_seqs",
    "changes",
    "outbox",
    "schedule",
    "audit",
    "device_tokens",
    "topic_subscribers",
    "unread_counts",
    "unread_deltas",
    "bulks",
    "bulk_items",
    "hooks",
    "nodes",
    "presence",
];

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite store has at its fifth migration.
    r#"
CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('token_epoch', '0');
CREATE TABLE users (
    name TEXT COLLATE "C" PRIMARY KEY,
    email TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    display_name TEXT,
    phone TEXT,
    avatar TEXT
);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    scope TEXT NOT NULL CHECK (scope IN ('user', 'publisher', 'admin')),
    label TEXT,
    created_at BIGINT NOT NULL,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    expires_at BIGINT,
    last_used_at BIGINT,
    ord BIGINT GENERATED ALWAYS AS IDENTITY        -- insertion order (SQLite's rowid)
);
CREATE INDEX tokens_label ON tokens (label) WHERE label IS NOT NULL;
CREATE INDEX tokens_user ON tokens (username);
CREATE TABLE preferences (
    username TEXT COLLATE "C" PRIMARY KEY REFERENCES users(name),
    json TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE TABLE events (
    id TEXT COLLATE "C" PRIMARY KEY,
    producer TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C",
    body_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX events_key ON events (producer, key) WHERE key IS NOT NULL;
CREATE TABLE notifications (
    id TEXT COLLATE "C" PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    category TEXT NOT NULL,
    urgency TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT,
    url TEXT,
    thread TEXT,
    collapse_id TEXT,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    read_at BIGINT,
    archived_at BIGINT,
    snoozed_until BIGINT,
    count BIGINT NOT NULL DEFAULT 1,
    in_inbox BOOLEAN NOT NULL DEFAULT TRUE,
    tags TEXT NOT NULL DEFAULT '[]',
    plan TEXT NOT NULL,
    deliveries TEXT NOT NULL DEFAULT '{}',
    seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notifications_user ON notifications (username, id) WHERE in_inbox;
CREATE INDEX notifications_collapse ON notifications (username, collapse_id, id)
    WHERE collapse_id IS NOT NULL AND read_at IS NULL AND archived_at IS NULL AND in_inbox;
CREATE INDEX notifications_inbox ON notifications (username, id) WHERE archived_at IS NULL AND in_inbox;
CREATE INDEX notifications_unread ON notifications (username, id)
    WHERE read_at IS NULL AND archived_at IS NULL AND in_inbox;
CREATE INDEX notifications_archived ON notifications (username, id) WHERE archived_at IS NOT NULL AND in_inbox;
CREATE INDEX notifications_archived_thread ON notifications (username, thread)
    WHERE archived_at IS NOT NULL AND thread IS NOT NULL AND in_inbox;
CREATE INDEX notifications_snoozed ON notifications (username, snoozed_until)
    WHERE snoozed_until IS NOT NULL AND in_inbox;
CREATE INDEX notifications_all ON notifications (username);
CREATE TABLE user_seqs (
    username TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT NOT NULL
);
CREATE TABLE changes (
    username TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    at BIGINT NOT NULL,
    ref_id TEXT COLLATE "C",
    PRIMARY KEY (username, seq)
);
CREATE TABLE outbox (
    id TEXT COLLATE "C" PRIMARY KEY,
    notification TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    claimed_at BIGINT,
    kind TEXT NOT NULL DEFAULT 'single' CHECK (kind IN ('single', 'summary', 'digest')),
    items TEXT
);
CREATE INDEX outbox_claim ON outbox (next_attempt_at)
    WHERE status IN ('pending', 'failed') AND claimed_at IS NULL AND channel <> 'desktop';
CREATE INDEX outbox_open ON outbox (status) WHERE status IN ('pending', 'failed');
CREATE INDEX outbox_notification ON outbox (notification);
CREATE INDEX outbox_user ON outbox (username, channel) WHERE status = 'pending';
CREATE INDEX outbox_user_all ON outbox (username);
CREATE INDEX outbox_claimed ON outbox (claimed_at) WHERE claimed_at IS NOT NULL;
CREATE TABLE schedule (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('hold', 'digest', 'escalation', 'repeat', 'snooze')),
    notification TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    channel TEXT,
    due_at BIGINT,
    payload TEXT NOT NULL DEFAULT '{}',
    done_at BIGINT
);
CREATE INDEX schedule_due ON schedule (due_at) WHERE done_at IS NULL;
CREATE INDEX schedule_notification ON schedule (notification) WHERE done_at IS NULL;
CREATE INDEX schedule_user ON schedule (username) WHERE done_at IS NULL;
CREATE INDEX schedule_user_all ON schedule (username);
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    record TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE device_tokens (
    username TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    provider TEXT COLLATE "C" NOT NULL,
    token TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (provider, token)
);
CREATE INDEX device_tokens_user ON device_tokens (username);
CREATE TABLE topic_subscribers (
    topic TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    PRIMARY KEY (topic, username)
);
CREATE INDEX topic_subscribers_user ON topic_subscribers (username);

-- Unread and not snoozed at all, per user and category, kept by a trigger (no walk for a
-- badge), as SQLite's triggers keep it.
CREATE TABLE unread_counts (
    username TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    unread BIGINT NOT NULL,
    PRIMARY KEY (username, category)
);
-- Changes to it are written by each row's trigger as deltas (insert only) and folded into
-- the counts once per transaction, just before commit (`Db::before_commit`): updating the
-- count row for every row would make one transaction keep thousands of versions of it.
CREATE TABLE unread_deltas (
    username TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    delta BIGINT NOT NULL
);
CREATE FUNCTION campanile_unread_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.read_at IS NULL AND OLD.archived_at IS NULL
       AND OLD.snoozed_until IS NULL AND OLD.in_inbox THEN
        INSERT INTO unread_deltas (username, category, delta) VALUES (OLD.username, OLD.category, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.read_at IS NULL AND NEW.archived_at IS NULL
       AND NEW.snoozed_until IS NULL AND NEW.in_inbox THEN
        INSERT INTO unread_deltas (username, category, delta) VALUES (NEW.username, NEW.category, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER unread_counts_insert_delete AFTER INSERT OR DELETE ON notifications
    FOR EACH ROW EXECUTE FUNCTION campanile_unread_delta();
CREATE TRIGGER unread_counts_update
    AFTER UPDATE OF read_at, archived_at, snoozed_until, in_inbox, category, username ON notifications
    FOR EACH ROW
    WHEN ((OLD.read_at IS NULL AND OLD.archived_at IS NULL AND OLD.snoozed_until IS NULL AND OLD.in_inbox)
          IS DISTINCT FROM
          (NEW.read_at IS NULL AND NEW.archived_at IS NULL AND NEW.snoozed_until IS NULL AND NEW.in_inbox)
          OR OLD.category IS DISTINCT FROM NEW.category OR OLD.username IS DISTINCT FROM NEW.username)
    EXECUTE FUNCTION campanile_unread_delta();

-- The search of `model::text_matches`: `q` comes lower-cased; the columns are lowered in
-- the database's default collation (full Unicode case mapping in a UTF-8 locale).
CREATE FUNCTION campanile_matches(q TEXT, title TEXT, body TEXT, kind TEXT, category TEXT, thread TEXT)
RETURNS BOOLEAN LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT q = ''
        OR strpos(lower(title COLLATE "default"), q) > 0
        OR strpos(lower(COALESCE(body, '') COLLATE "default"), q) > 0
        OR strpos(lower(kind COLLATE "default"), q) > 0
        OR strpos(lower(category COLLATE "default"), q) > 0
        OR strpos(lower(COALESCE(thread, '') COLLATE "default"), q) > 0
$$;

CREATE TABLE bulks (
    id TEXT COLLATE "C" PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL,
    action TEXT NOT NULL,
    at BIGINT NOT NULL,
    count BIGINT NOT NULL,
    undone_at BIGINT
);
CREATE INDEX bulks_user ON bulks (username, at);
CREATE TABLE bulk_items (
    bulk TEXT COLLATE "C" NOT NULL,
    notification TEXT COLLATE "C" NOT NULL,
    prev BIGINT,
    PRIMARY KEY (bulk, notification)
);
CREATE TABLE hooks (
    id TEXT COLLATE "C" PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    label TEXT,
    template TEXT,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    ord BIGINT GENERATED ALWAYS AS IDENTITY
);
"#,
    // 2: several nodes on one database (DESIGN §5a): the registry with heartbeats, shared
    // presence, and who holds an outbox claim (held while that node lives).
    r#"
CREATE TABLE nodes (
    id TEXT COLLATE "C" PRIMARY KEY,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
CREATE TABLE presence (
    node TEXT COLLATE "C" NOT NULL,
    conn BIGINT NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL,
    viewing TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (node, conn)
);
ALTER TABLE outbox ADD COLUMN claimed_by TEXT COLLATE "C";
"#,
];

/// Brings the schema up to date. The common case (current) takes no lock: readers open
/// connections while the writer works.
pub(super) fn migrate(db: &mut Db) -> Result<()> {
    if version(db)? == MIGRATIONS.len() as i64 {
        return Ok(());
    }
    db.transaction(|db| {
        db.exec("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])?;
        db.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
        let current = version(db)?;
        let known = MIGRATIONS.len() as i64;
        if current > known {
            return Err(StoreError::Corrupt(format!(
                "the database is at schema version {current}, newer than this campanile knows ({known}); upgrade campanile"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(current).unwrap_or(0)) {
            db.batch(sql).map_err(|e| StoreError::Db(format!("migration {}: {e}", i + 1)))?;
        }
        db.exec("DELETE FROM schema_version", &[])?;
        db.exec("INSERT INTO schema_version (version) VALUES ($1)", &[&known])?;
        Ok(())
    })
}

/// How many migrations ran (0 on an empty database).
fn version(db: &mut Db) -> Result<i64> {
    let exists: bool = db.one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?.try_get(0)?;
    if !exists {
        return Ok(0);
    }
    match db.opt("SELECT version FROM schema_version", &[])? {
        Some(r) => Ok(r.try_get(0)?),
        None => Ok(0),
    }
}
