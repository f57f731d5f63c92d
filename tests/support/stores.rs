//! The store conformance harness: a behavioural store test takes a `&mut dyn Store` and runs,
//! unchanged, on every backend this machine has: a fresh SQLite file always, and further
//! backends when their test servers are configured.

use campanile::store::{Location, Store, Synchronous};

/// Runs `test` once per backend, on a fresh, empty, migrated store.
pub fn each(mut test: impl FnMut(&mut dyn Store)) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut store =
        Location::Sqlite(dir.path().join("c.db")).open(Synchronous::Normal).expect("a SQLite store");
    test(store.as_mut());
}
