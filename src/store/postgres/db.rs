//! One PostgreSQL connection as the store modules use it: statements prepared once and
//! cached (the accept path runs the same few dozen for every event), rows read with
//! `try_get` (a type mismatch is an error, never a panic), transactions that cannot leak
//! past a panic, and the connection's URL kept without ever printing its password.

use std::collections::{BTreeMap, HashMap};

use postgres::types::ToSql;
use std::sync::{Arc, OnceLock};

use postgres::{Client, Row, Statement};

use super::tls::MakeRustls;

use crate::store::{Result, StoreError, Synchronous};

/// A statement parameter.
pub(crate) type P<'a> = &'a (dyn ToSql + Sync);

/// A `postgres://` URL. `Debug` and `Display` hide its password (it is a secret, and
/// locations are logged). Its TLS settings are libpq's (see [`super::tls`]).
#[derive(Clone)]
pub struct PgUrl {
    text: String,
    /// The URL the driver reads: `text` without the TLS settings it does not know.
    driver: String,
    tls: super::tls::Settings,
    /// Made once (it reads certificate files), cloned for each connection.
    connector: Arc<OnceLock<std::result::Result<MakeRustls, String>>>,
}

impl PartialEq for PgUrl {
    fn eq(&self, other: &PgUrl) -> bool {
        self.text == other.text
    }
}

impl Eq for PgUrl {}

impl PgUrl {
    /// Checks the URL as the driver reads it, so a typo is reported when the store is named
    /// rather than as a connection failure later.
    pub fn parse(url: &str) -> std::result::Result<PgUrl, String> {
        let bad = |e: &dyn std::fmt::Display| format!("`{}` is not a PostgreSQL URL: {e}", redact(url));
        let (driver, tls) = super::tls::split(url).map_err(|e| bad(&e))?;
        driver.parse::<postgres::Config>().map_err(|e| bad(&e))?;
        Ok(PgUrl { text: url.to_string(), driver, tls, connector: Arc::default() })
    }

    /// The URL itself, password included (to connect; never to print).
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The driver's settings from the URL, with our defaults where it sets none.
    pub(crate) fn config(&self) -> Result<postgres::Config> {
        let mut config: postgres::Config =
            self.driver.parse().map_err(|e| StoreError::Io(format!("{self}: {e}")))?;
        config.ssl_mode(self.tls.mode.driver());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("campanile");
        }
        Ok(config)
    }

    /// What makes the TLS connections (used only when the URL's `sslmode` asks for TLS).
    pub(crate) fn connector(&self) -> Result<MakeRustls> {
        self.connector
            .get_or_init(|| self.tls.connector())
            .clone()
            .map_err(|e| StoreError::Io(format!("{self}: {e}")))
    }

    /// Connects one client with the URL's settings.
    pub(crate) fn connect(&self) -> Result<Client> {
        self.config()?
            .connect(self.connector()?)
            .map_err(|e| StoreError::Io(format!("cannot connect to {self}: {}", error_text(&e))))
    }
}

/// `postgres://user:secret@host/db` as `postgres://user:***@host/db`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (a, h),
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.text))
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

pub(crate) struct Db {
    /// `None` only while it is being dropped (see `Drop`).
    client: Option<Client>,
    url: PgUrl,
    sync: Synchronous,
    /// Prepared statements by their text: valid for the connection's life.
    cache: HashMap<String, Statement>,
    /// A transaction was begun and not finished (a panic unwound through it): rolled back
    /// before the connection is used again.
    open: bool,
    /// What the open transaction knows that the database need not be asked again.
    pub(crate) tx: TxState,
    /// The node this connection writes for (its announcements name it, so the node's own
    /// listener skips them); empty outside a dispatcher.
    pub(crate) node: String,
}

/// State of the open transaction, kept here rather than written row by row: PostgreSQL
/// keeps every version of a row one transaction updates until it ends, so a counter bumped
/// 20,000 times in a group commit would make each later look at it walk all the versions
/// before it (a batch then costs the square of its size).
#[derive(Debug, Default, Clone)]
pub(crate) struct TxState {
    /// Per user whose counter row this transaction holds: (its seq when locked, the last
    /// seq logged since). Written back once, at commit.
    pub(crate) seqs: BTreeMap<String, (i64, i64)>,
    /// The audit chain's tail as this transaction left it, while it holds the chain's lock.
    pub(crate) audit_head: Option<(i64, String)>,
}

impl Db {
    pub(crate) fn connect(url: &PgUrl, sync: Synchronous) -> Result<Db> {
        let client = url.connect()?;
        let mut db = Db {
            client: Some(client),
            url: url.clone(),
            sync,
            cache: HashMap::new(),
            open: false,
            tx: TxState::default(),
            node: String::new(),
        };
        db.session()?;
        Ok(db)
    }

    fn client(&mut self) -> Result<&mut Client> {
        self.client.as_mut().ok_or_else(|| StoreError::Internal("the database connection is closing".into()))
    }

    /// Settings of the session: `synchronous = normal` is PostgreSQL's asynchronous commit
    /// (a crash of the server may lose the last commits, never corrupt), as SQLite's
    /// `NORMAL` in WAL mode may.
    fn session(&mut self) -> Result<()> {
        let commit = match self.sync {
            Synchronous::Full => "on",
            Synchronous::Normal => "off",
        };
        self.client()?.batch_execute(&format!("SET synchronous_commit = {commit}; SET TIME ZONE 'UTC'"))?;
        Ok(())
    }

    /// Makes the connection usable: a new one if the server closed it, and no transaction
    /// left open by a panic.
    pub(crate) fn reconnect_if_closed(&mut self) -> Result<()> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            tracing::warn!(store = %self.url, "the database connection was closed; reconnecting");
            let node = std::mem::take(&mut self.node);
            *self = Db::connect(&self.url.clone(), self.sync)?;
            self.node = node;
        }
        if self.open {
            self.open = false;
            self.tx = TxState::default();
            self.client()?.batch_execute("ROLLBACK")?;
        }
        Ok(())
    }

    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    pub(crate) fn transaction<T>(&mut self, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        self.client()?.batch_execute("BEGIN")?;
        self.open = true;
        self.tx = TxState::default();
        let out = f(self).and_then(|v| self.before_commit().map(|()| v));
        self.open = false;
        self.tx = TxState::default();
        match out {
            Ok(v) => {
                self.client()?.batch_execute("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                if let Ok(c) = self.client() {
                    let _ = c.batch_execute("ROLLBACK");
                }
                Err(e)
            }
        }
    }

    /// Runs `f` on one snapshot of the database, writing nothing.
    pub(crate) fn snapshot<T>(&mut self, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        self.client()?.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        self.open = true;
        let out = f(self);
        self.open = false;
        self.tx = TxState::default();
        let end = self.client()?.batch_execute(if out.is_ok() { "COMMIT" } else { "ROLLBACK" });
        let v = out?;
        end?;
        Ok(v)
    }

    /// Runs `f` in a savepoint of the open transaction: what it wrote is undone when it
    /// fails, and the transaction goes on.
    pub(crate) fn savepoint<T>(&mut self, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<Result<T>> {
        self.batch("SAVEPOINT campanile")?;
        let before = self.tx.clone();
        let out = f(self);
        if out.is_err() {
            self.batch("ROLLBACK TO SAVEPOINT campanile")?;
            // Locks taken inside it are gone with it, and what was read inside it may have
            // been undone: back to what the transaction knew before it (whose locks it
            // still holds), so the counters and announcements of the events before it stay.
            self.tx = before;
        }
        self.batch("RELEASE SAVEPOINT campanile")?;
        Ok(out)
    }

    /// What the transaction kept in memory goes to the database: the counters it moved
    /// (one write per user) and the unread counts its rows changed (one per user and
    /// category: see the `campanile_unread_delta` trigger).
    fn before_commit(&mut self) -> Result<()> {
        let seqs = std::mem::take(&mut self.tx.seqs);
        let mut moved = Vec::new();
        for (user, (locked, last)) in &seqs {
            if last > locked {
                self.exec("UPDATE user_seqs SET seq = $2 WHERE username = $1", &[user, last])?;
                moved.push(user.as_str());
            }
        }
        // Other nodes' sessions of these users read what they miss (DESIGN §5a): a wake-up
        // sent at commit, never before it, and only a few per transaction.
        for payload in super::announce::announcements(&self.node, &moved) {
            self.exec("SELECT pg_notify($1, $2)", &[&super::announce::CHANGES, &payload])?;
        }
        self.exec(
            "WITH d AS (DELETE FROM unread_deltas RETURNING username, category, delta),
                  s AS (SELECT username, category, SUM(delta)::bigint AS delta FROM d GROUP BY username, category)
             INSERT INTO unread_counts (username, category, unread)
             SELECT username, category, delta FROM s WHERE delta <> 0
             ON CONFLICT (username, category) DO UPDATE SET unread = unread_counts.unread + excluded.unread",
            &[],
        )?;
        Ok(())
    }

    fn stmt(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client()?.prepare(sql)?;
        self.cache.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[P<'_>]) -> Result<Vec<Row>> {
        let s = self.stmt(sql)?;
        Ok(self.client()?.query(&s, params)?)
    }

    pub(crate) fn opt(&mut self, sql: &str, params: &[P<'_>]) -> Result<Option<Row>> {
        let s = self.stmt(sql)?;
        Ok(self.client()?.query_opt(&s, params)?)
    }

    pub(crate) fn one(&mut self, sql: &str, params: &[P<'_>]) -> Result<Row> {
        let s = self.stmt(sql)?;
        Ok(self.client()?.query_one(&s, params)?)
    }

    pub(crate) fn exec(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64> {
        let s = self.stmt(sql)?;
        Ok(self.client()?.execute(&s, params)?)
    }

    /// Every statement prepared on this connection so far (the plan test explains them).
    #[cfg(test)]
    pub(crate) fn statements(&self) -> Vec<String> {
        self.cache.keys().cloned().collect()
    }

    /// Statements without parameters, run as one simple query (DDL, savepoints).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.client()?.batch_execute(sql)?)
    }
}

impl Drop for Db {
    /// The client says goodbye to the server through a runtime of its own, which cannot run
    /// on a thread that drives async tasks (the last handle to the dispatcher, and with it
    /// the pooled readers, can go there): then it is closed from a thread of its own.
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            let closing =
                std::thread::Builder::new().name("campanile-pg-close".into()).spawn(move || drop(client));
            if let Err(e) = closing {
                tracing::warn!(error = %e, "could not close a database connection cleanly");
            }
        } else {
            drop(client);
        }
    }
}

/// The driver's error with the server's message when there is one.
fn error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

/// SQL written with `:name` parameters (views and filters name only some of them) as
/// PostgreSQL's `$n`, numbered in order of first use, with the values in that order. A
/// name not in the SQL is not sent: PostgreSQL cannot type a parameter nothing uses.
pub(crate) fn named<'a>(sql: &str, params: &[(&str, P<'a>)]) -> Result<(String, Vec<P<'a>>)> {
    let mut out = String::with_capacity(sql.len());
    let mut used: Vec<&str> = Vec::new();
    let mut values = Vec::new();
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts_name = c == b':'
            && (i == 0 || bytes[i - 1] != b':')
            && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
        if !starts_name {
            out.push(c as char);
            i += 1;
            continue;
        }
        let end = bytes[i + 1..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .map_or(bytes.len(), |p| i + 1 + p);
        let name = &sql[i + 1..end];
        let n = match used.iter().position(|u| *u == name) {
            Some(p) => p + 1,
            None => {
                let value = params
                    .iter()
                    .find(|(k, _)| k.trim_start_matches(':') == name)
                    .ok_or_else(|| StoreError::Internal(format!("SQL parameter :{name} has no value")))?
                    .1;
                used.push(name);
                values.push(value);
                used.len()
            }
        };
        out.push_str(&format!("${n}"));
        i = end;
    }
    Ok((out, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_positional_in_order_of_use() {
        let (a, b) = (1_i64, "x");
        let (sql, values) =
            named("SELECT :b::text, :a, :b, x::bigint FROM t", &[(":a", &a), (":b", &b), (":c", &a)])
                .unwrap();
        assert_eq!(sql, "SELECT $1::text, $2, $1, x::bigint FROM t");
        assert_eq!(values.len(), 2);
    }

    #[test]
    fn a_password_is_never_shown() {
        let url = PgUrl::parse("postgres://alice:s3cret@db.example/campanile").unwrap();
        assert_eq!(url.to_string(), "postgres://alice:***@db.example/campanile");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.expose(), "postgres://alice:s3cret@db.example/campanile");
        assert!(PgUrl::parse("postgres://a@h:notaport/db").is_err());
    }
}
