//! The store conformance harness: a behavioural store test takes a `&mut dyn Store` and runs,
//! unchanged, on every backend this machine has: a fresh SQLite file always, and a fresh
//! PostgreSQL database when `CAMPANILE_TEST_POSTGRES` names a server
//! (`postgres://postgres@127.0.0.1/postgres`: a user that may create databases). Each test
//! gets a database of its own, created for it and dropped after, even when it fails.
//! Without the variable the PostgreSQL runs are skipped, and the harness says so once.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use campanile::store::{Location, PgUrl, Store, Synchronous};

/// The variable that names the PostgreSQL server the tests may use.
pub const POSTGRES_VAR: &str = "CAMPANILE_TEST_POSTGRES";

/// Runs `test` once per backend, on a fresh, empty, migrated store.
pub fn each(mut test: impl FnMut(&mut dyn Store)) {
    {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut store =
            Location::Sqlite(dir.path().join("c.db")).open(Synchronous::Normal).expect("a SQLite store");
        let _named = Backend("SQLite");
        test(store.as_mut());
    }
    if let Some(db) = FreshDatabase::create() {
        let mut store =
            Location::Postgres(db.url.clone()).open(Synchronous::Normal).expect("a PostgreSQL store");
        let _named = Backend("PostgreSQL");
        test(store.as_mut());
    }
}

/// Says which backend a test failed on (the assertion's message cannot).
struct Backend(&'static str);

impl Drop for Backend {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = writeln!(std::io::stderr(), "(this failure was on the {} store)", self.0);
        }
    }
}

/// A database made for one test, dropped with this value.
pub struct FreshDatabase {
    pub url: PgUrl,
    admin: String,
    name: String,
}

impl FreshDatabase {
    /// A new, empty database on the server `CAMPANILE_TEST_POSTGRES` names; `None` when
    /// the variable is not set (said once per test binary).
    pub fn create() -> Option<FreshDatabase> {
        let Ok(admin) = std::env::var(POSTGRES_VAR) else {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                // Straight to stderr: the test harness captures `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: {POSTGRES_VAR} is not set, so the PostgreSQL store tests were skipped \
                     (set it to e.g. postgres://postgres@127.0.0.1/postgres to run them)"
                );
            });
            return None;
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name =
            format!("campanile_t{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{POSTGRES_VAR}={admin}: cannot connect: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let url = PgUrl::parse(&with_database(&admin, &name)).expect("a PostgreSQL URL");
        Some(FreshDatabase { url, admin, name })
    }
}

impl FreshDatabase {
    /// A copy of this database made by the server (`CREATE DATABASE … TEMPLATE`), as a
    /// file-level restore into a new database would make it. Nothing may be connected to
    /// this one meanwhile.
    pub fn clone_database(&self) -> FreshDatabase {
        let name = format!("{}_copy", self.name);
        let mut client =
            postgres::Client::connect(&self.admin, postgres::NoTls).expect("the admin connection");
        client
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", self.name))
            .unwrap_or_else(|e| panic!("cannot copy {} to {name}: {e}", self.name));
        let url = PgUrl::parse(&with_database(&self.admin, &name)).expect("a PostgreSQL URL");
        FreshDatabase { url, admin: self.admin.clone(), name }
    }

    /// A connection as the server's administrator (to look at what the store cannot say).
    pub fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&self.admin, postgres::NoTls).expect("the admin connection")
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        // FORCE: a store the test leaked (or a panic left open) must not keep it alive.
        match postgres::Client::connect(&self.admin, postgres::NoTls) {
            Ok(mut c) => {
                if let Err(e) =
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                {
                    let _ =
                        writeln!(std::io::stderr(), "could not drop the test database {}: {e}", self.name);
                }
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "could not drop the test database {}: {e}", self.name);
            }
        }
    }
}

/// `url` with its database replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// Runs `test` once per backend with the location of a fresh, empty store, for tests that
/// open several connections, reopen the store or reach behind it with [`Raw`].
pub fn each_location(mut test: impl FnMut(&Location)) {
    {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let _named = Backend("SQLite");
        test(&Location::Sqlite(dir.path().join("c.db")));
    }
    if let Some(db) = FreshDatabase::create() {
        let _named = Backend("PostgreSQL");
        test(&Location::Postgres(db.url.clone()));
    }
}

/// Another fresh store of the same kind as `like`, kept while the returned guard lives.
pub fn another(like: &Location) -> (Location, Box<dyn std::any::Any>) {
    match like {
        Location::Sqlite(_) => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            (Location::Sqlite(dir.path().join("c.db")), Box::new(dir))
        }
        Location::Postgres(_) => {
            let db = FreshDatabase::create().expect("a PostgreSQL server");
            (Location::Postgres(db.url.clone()), Box::new(db))
        }
    }
}

/// A plain connection to a store's database, to change it behind the store's back (the
/// tampering and failure tests) or look at what it keeps.
pub enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Raw {
    pub fn open(location: &Location) -> Raw {
        match location {
            Location::Sqlite(path) => Raw::Sqlite(rusqlite::Connection::open(path).expect("the SQLite file")),
            Location::Postgres(url) => {
                Raw::Postgres(postgres::Client::connect(url.expose(), postgres::NoTls).expect("the database"))
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Raw::Postgres(_))
    }

    /// Runs statements without parameters.
    pub fn exec(&mut self, sql: &str) {
        match self {
            Raw::Sqlite(c) => c.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
            Raw::Postgres(c) => c.batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// The first column of every row, as text (`SELECT` a text column).
    pub fn texts(&mut self, sql: &str) -> Vec<String> {
        match self {
            Raw::Sqlite(c) => {
                let mut stmt = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                stmt.query_map([], |r| r.get(0)).expect("rows").map(|r| r.expect("a text")).collect()
            }
            Raw::Postgres(c) => c
                .query(sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| r.try_get(0).expect("a text"))
                .collect(),
        }
    }
}

/// `text` as an SQL string literal (both dialects double the quote).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
