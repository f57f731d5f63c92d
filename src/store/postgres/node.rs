//! Several dispatchers on one database (DESIGN §5a): each registers as a node and keeps a
//! heartbeat; what one process knew alone is shared through the database.
//!
//! - **Registration** replaces the one-engine lock: any number of nodes run, and a node
//!   whose heartbeat is older than [`NODE_TTL`] is dead. Its outbox claims are released (the
//!   lease is the node's life: a delivery is held by one live node at a time, and a crashed
//!   node's deliveries go out again, with the same id, after at most [`NODE_TTL`]) and its
//!   presence rows stop counting.
//! - **Presence** (who views which thread) is a table written by the node that holds the
//!   connection and read by every node that plans a delivery.
//! - **Fan-out**: every committed transaction that logged changes sends a few `NOTIFY`s
//!   naming its users (see `Db::before_commit`); a [`Listener`] on each node turns them into
//!   wake-ups, and the sessions read the changes themselves from the store by `seq`. A
//!   listener that lost its connection cannot know what it missed, so it says
//!   [`Wakeup::Everyone`] once it is back.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use postgres::fallible_iterator::FallibleIterator;

use super::announce::{CHANGES, PRESENCE, Wakeup, heard};
use super::db::Db;
use super::{PgUrl, new_id};
use crate::engine::{Presence, PresenceState};
use crate::store::{Result, StoreError, Synchronous, from_micros, micros};

/// How often a node says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// A node silent this long is dead: its claims and presence are let go.
pub const NODE_TTL: SignedDuration = SignedDuration::from_secs(10);
/// A dead node's row is kept this long (for `nodes` in `/metrics` and the log), then removed.
const FORGET_AFTER: SignedDuration = SignedDuration::from_mins(10);

/// A node of a cluster: its registration and the connection that heartbeats it.
pub struct Node {
    id: String,
    db: Db,
}

/// A live node, as the registry shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
}

/// What one heartbeat found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Beat {
    /// Deliveries whose node died, released for the live ones to send.
    pub released: u64,
    /// Nodes alive now, this one included.
    pub live: u64,
}

/// A change to the presence table, in the order the node saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceOp {
    Set { user: String, conn: u64, presence: Presence, at: Timestamp },
    Remove { conn: u64 },
    Rekey { old: u64, new: u64 },
}

/// A presence reported to another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePresence {
    pub user: String,
    pub presence: Presence,
    pub updated: Timestamp,
}

impl Node {
    /// Registers a new node on the database at `url`.
    pub fn register(url: &PgUrl, now: Timestamp) -> Result<Node> {
        let mut db = Db::connect(url, Synchronous::Full)?;
        super::schema::migrate(&mut db)?;
        let id = new_id();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let pid = i64::from(std::process::id());
        let t = micros(now);
        db.exec(
            "INSERT INTO nodes (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $4)",
            &[&id, &host, &pid, &t],
        )?;
        Ok(Node { id, db })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Says this node is alive, lets go of what dead nodes held, and forgets long-dead ones.
    /// A node that finds its own row gone (it was silent past [`NODE_TTL`] and another
    /// node forgot it) registers again under the same id: its claims may have been taken
    /// over meanwhile, which is the at-least-once of a crash.
    pub fn heartbeat(&mut self, now: Timestamp) -> Result<Beat> {
        self.db.reconnect_if_closed()?;
        let t = micros(now);
        let dead = micros(now - NODE_TTL);
        let forget = micros(now - FORGET_AFTER);
        let id = self.id.clone();
        self.db.transaction(|db| {
            let n = db.exec("UPDATE nodes SET heartbeat_at = $2 WHERE id = $1", &[&id, &t])?;
            if n == 0 {
                tracing::warn!(node = %id, "this node's registration was gone (silent too long?); registering again");
                let pid = i64::from(std::process::id());
                db.exec(
                    "INSERT INTO nodes (id, host, pid, started_at, heartbeat_at) VALUES ($1, 'unknown', $2, $3, $3)",
                    &[&id, &pid, &t],
                )?;
            }
            let released = db.exec(
                "UPDATE outbox SET claimed_at = NULL, claimed_by = NULL
                 WHERE claimed_at IS NOT NULL
                   AND (claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM nodes WHERE heartbeat_at > $1))",
                &[&dead],
            )?;
            db.exec("DELETE FROM presence WHERE node NOT IN (SELECT id FROM nodes WHERE heartbeat_at > $1)", &[&dead])?;
            db.exec("DELETE FROM nodes WHERE heartbeat_at < $1", &[&forget])?;
            let live: i64 =
                db.one("SELECT COUNT(*) FROM nodes WHERE heartbeat_at > $1", &[&dead])?.try_get(0)?;
            Ok(Beat { released, live: u64::try_from(live).unwrap_or(0) })
        })
    }

    /// Writes this node's presence changes, and tells the other nodes they happened.
    pub fn write_presence(&mut self, ops: &[PresenceOp]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        self.db.reconnect_if_closed()?;
        let id = self.id.clone();
        self.db.transaction(|db| {
            for op in ops {
                match op {
                    PresenceOp::Set { user, conn, presence, at } => {
                        let conn = i64::try_from(*conn).unwrap_or(i64::MAX);
                        db.exec(
                            "INSERT INTO presence (node, conn, username, state, viewing, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6)
                             ON CONFLICT (node, conn) DO UPDATE SET username = excluded.username,
                               state = excluded.state, viewing = excluded.viewing, updated_at = excluded.updated_at",
                            &[&id, &conn, user, &state_name(presence.state), &presence.viewing, &micros(*at)],
                        )?;
                    }
                    PresenceOp::Remove { conn } => {
                        let conn = i64::try_from(*conn).unwrap_or(i64::MAX);
                        db.exec("DELETE FROM presence WHERE node = $1 AND conn = $2", &[&id, &conn])?;
                    }
                    PresenceOp::Rekey { old, new } => {
                        let (old, new) =
                            (i64::try_from(*old).unwrap_or(i64::MAX), i64::try_from(*new).unwrap_or(i64::MAX));
                        db.exec("UPDATE presence SET conn = $3 WHERE node = $1 AND conn = $2", &[&id, &old, &new])?;
                    }
                }
            }
            db.exec("SELECT pg_notify($1, $2)", &[&PRESENCE, &id])?;
            Ok(())
        })
    }

    /// The presence other live nodes hold, reported within `ttl` of `now`.
    pub fn remote_presence(&mut self, now: Timestamp, ttl: SignedDuration) -> Result<Vec<RemotePresence>> {
        self.db.reconnect_if_closed()?;
        let rows = self.db.query(
            "SELECT p.username, p.state, p.viewing, p.updated_at FROM presence p
             JOIN nodes n ON n.id = p.node
             WHERE p.node <> $1 AND n.heartbeat_at > $2 AND p.updated_at > $3",
            &[&self.id, &micros(now - NODE_TTL), &micros(now - ttl)],
        )?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get(1)?;
                Ok(RemotePresence {
                    user: r.try_get(0)?,
                    presence: Presence { state: parse_state(&state), viewing: r.try_get(2)? },
                    updated: from_micros(r.try_get(3)?)?,
                })
            })
            .collect()
    }

    /// Leaves the cluster: this node's claims go back at once (rather than after
    /// [`NODE_TTL`]) and its presence with it.
    pub fn leave(mut self) -> Result<()> {
        self.db.reconnect_if_closed()?;
        let id = self.id.clone();
        self.db.transaction(|db| {
            db.exec("UPDATE outbox SET claimed_at = NULL, claimed_by = NULL WHERE claimed_by = $1", &[&id])?;
            db.exec("DELETE FROM presence WHERE node = $1", &[&id])?;
            db.exec("DELETE FROM nodes WHERE id = $1", &[&id])?;
            Ok(())
        })
    }

    /// The nodes alive at `now`, oldest first.
    pub fn live(url: &PgUrl, now: Timestamp) -> Result<Vec<NodeInfo>> {
        let mut db = Db::connect(url, Synchronous::Full)?;
        live_in(&mut db, now)
    }
}

fn live_in(db: &mut Db, now: Timestamp) -> Result<Vec<NodeInfo>> {
    let exists: bool = db.one("SELECT to_regclass('nodes') IS NOT NULL", &[])?.try_get(0)?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = db.query(
        "SELECT id, host, pid, started_at, heartbeat_at FROM nodes WHERE heartbeat_at > $1 ORDER BY started_at, id",
        &[&micros(now - NODE_TTL)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(NodeInfo {
                id: r.try_get(0)?,
                host: r.try_get(1)?,
                pid: r.try_get(2)?,
                started_at: from_micros(r.try_get(3)?)?,
                heartbeat_at: from_micros(r.try_get(4)?)?,
            })
        })
        .collect()
}

fn state_name(s: PresenceState) -> &'static str {
    match s {
        PresenceState::Active => "active",
        PresenceState::Idle => "idle",
        PresenceState::Away => "away",
    }
}

fn parse_state(s: &str) -> PresenceState {
    match s {
        "active" => PresenceState::Active,
        "idle" => PresenceState::Idle,
        _ => PresenceState::Away,
    }
}

/// A connection that `LISTEN`s for other nodes' announcements.
pub struct Listener {
    url: PgUrl,
    node: String,
    client: Option<postgres::Client>,
}

impl Listener {
    pub fn new(url: &PgUrl, node: &str) -> Listener {
        Listener { url: url.clone(), node: node.to_string(), client: None }
    }

    /// Whether it is connected now.
    pub fn connected(&self) -> bool {
        self.client.as_ref().is_some_and(|c| !c.is_closed())
    }

    /// Waits up to `wait` for announcements. A (re)connection answers [`Wakeup::Everyone`]
    /// first: what was sent while it was away is lost. A failure to connect is an error; the
    /// caller waits and asks again.
    pub fn wait(&mut self, wait: Duration) -> Result<Vec<Wakeup>> {
        if !self.connected() {
            self.client = None;
            let mut client = self.url.connect()?;
            client.batch_execute(&format!("LISTEN {CHANGES}; LISTEN {PRESENCE}"))?;
            self.client = Some(client);
            return Ok(vec![Wakeup::Everyone, Wakeup::Presence]);
        }
        let Some(client) = self.client.as_mut() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        let mut notifications = client.notifications();
        let lost = |e: postgres::Error| StoreError::Io(format!("the listener lost its connection: {e}"));
        let first = notifications.timeout_iter(wait).next();
        let result = first.map_err(lost).and_then(|first| {
            let Some(n) = first else { return Ok(()) };
            out.extend(heard(&self.node, n.channel(), n.payload()));
            // Take what else is here already, without waiting again.
            let mut ready = notifications.iter();
            while let Some(n) = ready.next().map_err(lost)? {
                out.extend(heard(&self.node, n.channel(), n.payload()));
            }
            Ok(())
        });
        drop(notifications);
        match result {
            Ok(()) => Ok(out),
            Err(e) => {
                self.client = None;
                Err(e)
            }
        }
    }
}
