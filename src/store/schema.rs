//! The schema, as numbered migrations applied in order (`PRAGMA user_version` holds how many
//! ran). A migration is never edited once released: add a new one. Instants are INTEGER
//! microseconds since the Unix epoch, so they sort and compare in SQL.

pub const MIGRATIONS: &[&str] = &[
    // 1: the tables of DESIGN §5.
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    email TEXT UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,          -- SHA-256 of the token, hex
    user TEXT NOT NULL REFERENCES users(name),
    scope TEXT NOT NULL CHECK (scope IN ('user', 'publisher', 'admin')),
    label TEXT,
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE preferences (
    user TEXT PRIMARY KEY REFERENCES users(name),
    json TEXT NOT NULL,
    version INTEGER NOT NULL
) STRICT;
CREATE TABLE events (
    id TEXT PRIMARY KEY,            -- our ULID
    producer TEXT NOT NULL,
    key TEXT,                       -- the producer's id or Idempotency-Key
    body_hash TEXT NOT NULL,
    result TEXT NOT NULL,           -- the answer given the first time, JSON
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX events_key ON events (producer, key) WHERE key IS NOT NULL;
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,            -- ULID: sorts by creation
    user TEXT NOT NULL,
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
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    read_at INTEGER,
    archived_at INTEGER,
    snoozed_until INTEGER,
    count INTEGER NOT NULL DEFAULT 1,
    in_inbox INTEGER NOT NULL DEFAULT 1,
    tags TEXT NOT NULL DEFAULT '[]',
    plan TEXT NOT NULL,             -- the engine's decision with its reasons, JSON
    deliveries TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX notifications_user ON notifications (user, id);
CREATE INDEX notifications_collapse ON notifications (user, collapse_id) WHERE collapse_id IS NOT NULL;
CREATE INDEX notifications_thread ON notifications (user, thread) WHERE thread IS NOT NULL;
CREATE TABLE changes (
    user TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (user, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,            -- delivery id, stable across retries
    notification TEXT NOT NULL,
    user TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE TABLE schedule (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('hold', 'digest', 'escalation', 'repeat', 'snooze')),
    notification TEXT NOT NULL,
    user TEXT NOT NULL,
    channel TEXT,
    due_at INTEGER,                    -- NULL: held until do-not-disturb is turned off
    payload TEXT NOT NULL DEFAULT '{}',
    done_at INTEGER
) STRICT;
CREATE INDEX schedule_due ON schedule (due_at) WHERE done_at IS NULL;
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    record TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;
CREATE TABLE device_tokens (
    user TEXT NOT NULL REFERENCES users(name),
    provider TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, token)
) STRICT;
CREATE TABLE topic_subscribers (
    topic TEXT NOT NULL,
    user TEXT NOT NULL REFERENCES users(name),
    PRIMARY KEY (topic, user)
) STRICT, WITHOUT ROWID;
"#,
    // 2: delivery workers (claims, digests and folded summaries) and subscriber fields for
    // workflow templates.
    r#"
ALTER TABLE outbox ADD COLUMN claimed_at INTEGER;   -- a worker has it in flight
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'single' CHECK (kind IN ('single', 'summary', 'digest'));
ALTER TABLE outbox ADD COLUMN items TEXT;           -- JSON array of notification ids (summary, digest)
CREATE INDEX outbox_claim ON outbox (next_attempt_at) WHERE status IN ('pending', 'failed') AND claimed_at IS NULL;
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN avatar TEXT;
"#,
];
