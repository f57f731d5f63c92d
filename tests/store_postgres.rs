//! What only the PostgreSQL store has: TLS to the database with libpq's settings in the
//! URL, and a stream identity that a restored database changes (DESIGN §5a). Each test
//! runs on a fresh database of the server `CAMPANILE_TEST_POSTGRES` names, and is skipped
//! without it (said once).

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

#[path = "support/stores.rs"]
mod stores;

use campanile::store::{Location, PgUrl, Store, Synchronous};
use stores::FreshDatabase;

fn open(url: &str) -> Result<Box<dyn Store>, String> {
    let url = PgUrl::parse(url)?;
    Location::Postgres(url).open(Synchronous::Normal).map_err(|e| e.to_string())
}

/// `url` with `query` added to its parameters.
fn with(url: &PgUrl, query: &str) -> String {
    let base = url.expose();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{query}")
}

/// Whether the connection the server knows by `application_name = name` is encrypted.
fn encrypted(db: &FreshDatabase, name: &str) -> bool {
    let row = db
        .admin()
        .query_one(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&name],
        )
        .unwrap_or_else(|e| panic!("no connection named {name}: {e}"));
    row.get(0)
}

#[test]
fn the_store_url_sets_tls_to_the_database_as_libpq_does() {
    let Some(db) = FreshDatabase::create() else { return };
    let mut admin = db.admin();
    let ssl: String = admin.query_one("SHOW ssl", &[]).unwrap().get(0);
    if ssl != "on" {
        eprintln!("note: this PostgreSQL server has ssl = off, so the TLS test was skipped");
        return;
    }
    let cert: String = admin.query_one("SHOW ssl_cert_file", &[]).unwrap().get(0);

    // Each store keeps its connection open while it lives, named so the server can say
    // whether it is encrypted.
    let plain = open(&with(&db.url, "sslmode=disable&application_name=t_disable")).unwrap();
    assert!(!encrypted(&db, "t_disable"), "sslmode=disable must not use TLS");
    let default = open(&with(&db.url, "application_name=t_default")).unwrap();
    assert!(encrypted(&db, "t_default"), "with no sslmode, TLS is used when the server offers it (prefer)");
    let required = open(&with(&db.url, "sslmode=require&application_name=t_require")).unwrap();
    assert!(encrypted(&db, "t_require"));
    // The same stream identity whichever way one connects.
    assert_eq!(plain.stream(), required.stream());
    drop((plain, default, required));

    // verify-ca: the chain must lead to a root the URL names (or the system's).
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other-ca.pem");
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-subj", "/CN=Another CA", "-days", "2", "-keyout"])
        .arg(dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .expect("openssl makes a CA");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let unknown = open(&with(&db.url, &format!("sslmode=verify-ca&sslrootcert={}", other.display())))
        .err()
        .expect("a certificate another authority signed is refused");
    assert!(unknown.contains("not signed by a trusted authority"), "{unknown}");
    assert!(unknown.contains("sslrootcert"), "the error says how to fix it: {unknown}");
    if std::fs::File::open(&cert).is_ok() {
        // The server's own self-signed certificate (Debian's "snakeoil") as the root.
        let root = format!("sslrootcert={cert}");
        let ca = open(&with(&db.url, &format!("sslmode=verify-ca&{root}&application_name=t_ca"))).unwrap();
        assert!(encrypted(&db, "t_ca"));
        drop(ca);
        // verify-full also checks the name: the certificate is not made out to the
        // address the test connects to.
        let host: String = admin
            .query_one("SELECT host(inet_server_addr())", &[])
            .unwrap()
            .get::<_, Option<String>>(0)
            .unwrap_or_default();
        if !host.is_empty() {
            let full =
                open(&with(&db.url, &format!("sslmode=verify-full&{root}"))).err().expect("wrong name");
            assert!(full.contains("not valid for the host name"), "{full}");
        }
    }
}

#[test]
fn bad_tls_settings_in_the_store_url_are_refused_when_it_is_read() {
    let bad = |url: &str| Location::parse(url).err().unwrap_or_else(|| panic!("{url} was accepted"));
    assert!(bad("postgres://u@db/c?sslmode=yes").contains("sslmode=yes is not one of"));
    let missing = open("postgres://u@127.0.0.1:1/c?sslmode=verify-full&sslrootcert=/nonexistent/root.crt")
        .err()
        .unwrap();
    assert!(missing.contains("/nonexistent/root.crt"), "{missing}");
}

#[test]
fn a_restored_database_is_a_new_stream_and_a_reopened_one_is_not() {
    let Some(db) = FreshDatabase::create() else { return };
    let stream = {
        let store = open(db.url.expose()).unwrap();
        store.stream().to_string()
    };
    // The same database, opened again (a restart, another node): the same history.
    assert_eq!(open(db.url.expose()).unwrap().stream(), stream);

    // A copy made by the server, as a restore from a file-level backup into a new database
    // makes it: the rows (the old identity included) are there, the history is not this
    // one's, so clients that saw later changes must refetch.
    let restored = db.clone_database();
    let again = open(restored.url.expose()).unwrap().stream().to_string();
    assert_ne!(again, stream, "a restored database must not keep the stream identity");
    assert_eq!(open(restored.url.expose()).unwrap().stream(), again, "and keeps its new one");
    assert_eq!(open(db.url.expose()).unwrap().stream(), stream, "the original keeps its own");

    // A dump restored over the same database (its tables made again) is a restore too.
    {
        let mut admin = postgres::Client::connect(db.url.expose(), postgres::NoTls).unwrap();
        admin
            .batch_execute(
                "CREATE TABLE meta_saved AS SELECT * FROM meta; DROP TABLE meta;
                 CREATE TABLE meta (key TEXT COLLATE \"C\" PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta SELECT * FROM meta_saved; DROP TABLE meta_saved;",
            )
            .unwrap();
    }
    assert_ne!(open(db.url.expose()).unwrap().stream(), stream, "a meta table made again is a restore");
}

#[test]
fn store_check_on_postgresql_finds_counters_and_counts_that_disagree_with_the_rows() {
    use campanile::store::Integrity;
    let Some(db) = FreshDatabase::create() else { return };
    let budget = std::time::Duration::from_secs(10);
    let mut store = open(db.url.expose()).unwrap();
    assert!(matches!(store.check(budget).unwrap(), Integrity::Ok));

    let mut raw = postgres::Client::connect(db.url.expose(), postgres::NoTls).unwrap();
    raw.batch_execute(
        "INSERT INTO changes (username, seq, kind, payload, at) VALUES ('ghost', 5, 'notification_created', '{}', 0);
         INSERT INTO unread_counts (username, category, unread) VALUES ('ghost', 'ci', 3);",
    )
    .unwrap();
    let Integrity::Damaged(problems) = store.check(budget).unwrap() else {
        panic!("the damage was not found")
    };
    assert_eq!(
        problems,
        [
            "change counter behind the log: user ghost: counter 0, last logged seq 5",
            "unread count wrong: user ghost: category ci: counted 3, actually 0",
        ]
    );
}
