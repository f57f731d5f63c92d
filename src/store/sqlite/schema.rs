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
    // 3: a big inbox costs what a small one does. Every statement on the accept, fan-out
    // and bulk paths finds its rows through an index (a store test checks the plans):
    // - the collapse lookup has its own index over the rows it can collapse into;
    // - each view has a partial index, so listing or counting one walks only its rows;
    // - unread counts are kept per user and category by triggers (no walk for a badge);
    //   items snoozed into the future are counted out until they wake;
    // - a notification change is logged as a reference to the row (`ref`), not a copy:
    //   frames are built from the row as it is when they are sent;
    // - `seq` on a notification is the user's change seq that last touched it, so a bulk
    //   action changes only what its user had seen;
    // - a bulk action keeps what it changed for 24 hours, so it can be undone.
    r#"
ALTER TABLE notifications ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN ref TEXT;
DROP INDEX notifications_collapse;
DROP INDEX notifications_thread;
CREATE INDEX notifications_collapse ON notifications (user, collapse_id, id)
    WHERE collapse_id IS NOT NULL AND read_at IS NULL AND archived_at IS NULL AND in_inbox = 1;
CREATE INDEX notifications_inbox ON notifications (user, id) WHERE archived_at IS NULL AND in_inbox = 1;
CREATE INDEX notifications_unread ON notifications (user, id)
    WHERE read_at IS NULL AND archived_at IS NULL AND in_inbox = 1;
CREATE INDEX notifications_archived ON notifications (user, id) WHERE archived_at IS NOT NULL AND in_inbox = 1;
CREATE INDEX notifications_archived_thread ON notifications (user, thread)
    WHERE archived_at IS NOT NULL AND thread IS NOT NULL AND in_inbox = 1;
CREATE INDEX notifications_snoozed ON notifications (user, snoozed_until)
    WHERE snoozed_until IS NOT NULL AND in_inbox = 1;
CREATE INDEX schedule_notification ON schedule (notification) WHERE done_at IS NULL;
CREATE INDEX schedule_user ON schedule (user) WHERE done_at IS NULL;
CREATE INDEX outbox_notification ON outbox (notification);

-- Unread and not snoozed at all, per user and category.
CREATE TABLE unread_counts (
    user TEXT NOT NULL,
    category TEXT NOT NULL,
    unread INTEGER NOT NULL,
    PRIMARY KEY (user, category)
) STRICT, WITHOUT ROWID;
INSERT INTO unread_counts (user, category, unread)
    SELECT user, category, COUNT(*) FROM notifications
    WHERE read_at IS NULL AND archived_at IS NULL AND snoozed_until IS NULL AND in_inbox = 1
    GROUP BY user, category;
CREATE TRIGGER unread_counts_insert AFTER INSERT ON notifications
WHEN NEW.read_at IS NULL AND NEW.archived_at IS NULL AND NEW.snoozed_until IS NULL AND NEW.in_inbox = 1
BEGIN
    INSERT INTO unread_counts (user, category, unread) VALUES (NEW.user, NEW.category, 1)
    ON CONFLICT (user, category) DO UPDATE SET unread = unread + 1;
END;
CREATE TRIGGER unread_counts_delete AFTER DELETE ON notifications
WHEN OLD.read_at IS NULL AND OLD.archived_at IS NULL AND OLD.snoozed_until IS NULL AND OLD.in_inbox = 1
BEGIN
    UPDATE unread_counts SET unread = unread - 1 WHERE user = OLD.user AND category = OLD.category;
END;
CREATE TRIGGER unread_counts_update AFTER UPDATE OF read_at, archived_at, snoozed_until, in_inbox, category, user
ON notifications
WHEN (OLD.read_at IS NULL AND OLD.archived_at IS NULL AND OLD.snoozed_until IS NULL AND OLD.in_inbox = 1)
  IS NOT (NEW.read_at IS NULL AND NEW.archived_at IS NULL AND NEW.snoozed_until IS NULL AND NEW.in_inbox = 1)
  OR OLD.category IS NOT NEW.category OR OLD.user IS NOT NEW.user
BEGIN
    UPDATE unread_counts SET unread = unread - 1
    WHERE user = OLD.user AND category = OLD.category
      AND OLD.read_at IS NULL AND OLD.archived_at IS NULL AND OLD.snoozed_until IS NULL AND OLD.in_inbox = 1;
    INSERT INTO unread_counts (user, category, unread)
    SELECT NEW.user, NEW.category, 1
    WHERE NEW.read_at IS NULL AND NEW.archived_at IS NULL AND NEW.snoozed_until IS NULL AND NEW.in_inbox = 1
    ON CONFLICT (user, category) DO UPDATE SET unread = unread + 1;
END;

CREATE TABLE bulks (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    action TEXT NOT NULL,           -- mark_read, archive, snooze, ...
    at INTEGER NOT NULL,
    count INTEGER NOT NULL,
    undone_at INTEGER
) STRICT;
CREATE INDEX bulks_user ON bulks (user, at);
-- The items a bulk action changed, with the value it replaced.
CREATE TABLE bulk_items (
    bulk TEXT NOT NULL,
    notification TEXT NOT NULL,
    prev INTEGER,
    PRIMARY KEY (bulk, notification)
) STRICT, WITHOUT ROWID;
"#,
    // 4: tokens get an id to name them by (the hash's first characters, never the token),
    // an optional expiry and when they were last used; revoking one bumps `token_epoch`,
    // which a running daemon watches.
    r#"
ALTER TABLE tokens ADD COLUMN id TEXT;
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
UPDATE tokens SET id = substr(hash, 1, 12);
CREATE UNIQUE INDEX tokens_id ON tokens(id);
CREATE INDEX tokens_label ON tokens(label) WHERE label IS NOT NULL;
INSERT OR IGNORE INTO meta (key, value) VALUES ('token_epoch', '0');
"#,
    // 5: incoming webhooks (issue 15). The secret is kept as given: a sender's HMAC needs it.
    r#"
CREATE TABLE hooks (
    id TEXT PRIMARY KEY,            -- random; the last segment of the hook's URL
    source TEXT NOT NULL,           -- github, alertmanager, gitlab, grafana, cloudevents, generic
    target TEXT NOT NULL,           -- JSON: {"users":[...]} or {"topic":"..."}
    label TEXT,
    template TEXT,                  -- generic hooks: the [hooks.templates.<name>] they render with
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
"#,
    // 6: the count of a new unread item is added by the code that inserts it. As a trigger
    // it made every insert a statement that may abort half-way, so SQLite journalled each
    // page it touched: an eighth of the writer's time on a broadcast (issue 13).
    r#"
DROP TRIGGER unread_counts_insert;
"#,
    // 7: an engine plan is stored once and referred to by hash: a broadcast's recipients
    // mostly share one (issue 13), and it was two thirds of each notification row. Rows
    // written before keep theirs inline in `plan`; new ones leave it empty.
    r#"
CREATE TABLE plans (
    hash TEXT PRIMARY KEY,          -- SHA-256 of the JSON, hex
    json TEXT NOT NULL
) STRICT, WITHOUT ROWID;
ALTER TABLE notifications ADD COLUMN plan_ref TEXT;
-- Removing a user removes the plans only their items used.
CREATE INDEX notifications_plan ON notifications (plan_ref) WHERE plan_ref IS NOT NULL;
"#,
];
