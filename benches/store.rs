//! Durable accept throughput on a real SQLite file with `synchronous=FULL`: one event per
//! transaction against group commit (64 per transaction), the gap DESIGN §10 builds on; and
//! the same group commit into an empty inbox and into one of 100,000 items, with and without
//! a thread per event (DESIGN §10: size does not show, ≥ 0.8× the empty rate); and a
//! broadcast to 5,000 users who each saved preferences (the writer's share of a broadcast,
//! many-users issue).

use campanile::engine::{Policy, Presence};
use campanile::model::Event;
use campanile::prefs::Preferences;
use campanile::store::prelude::*;
use campanile::store::{AcceptContext, SqliteStore, Submission, Synchronous};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// Items in the full inbox of the growth case.
const FULL: usize = 100_000;

fn submission(user: &str, title: &str, thread: Option<String>) -> Submission {
    let mut e = serde_json::json!({"type": "bench.tick", "title": title, "body": "a body of some length"});
    if let Some(t) = thread {
        e["thread"] = serde_json::Value::String(t);
    }
    Submission {
        producer: "bench".into(),
        idempotency_key: None,
        default_user: Some(user.into()),
        event: Event::from_json(&e.to_string()).expect("event"),
    }
}

fn batch(user: &str, n: usize, threads: bool) -> Vec<Submission> {
    (0..n).map(|i| submission(user, &format!("tick {i}"), threads.then(campanile::store::new_id))).collect()
}

fn accept(store: &mut SqliteStore, subs: &[Submission]) {
    let policy = Policy::default();
    let defaults = Preferences::default();
    let away = |_: &str| Presence::default();
    let ctx =
        AcceptContext { policy: &policy, defaults: &defaults, presence: &away, now: jiff::Timestamp::now() };
    for r in store.accept_batch(subs, &ctx).expect("batch") {
        r.expect("accepted");
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sync =
        if std::env::var_os("BENCH_NORMAL").is_some() { Synchronous::Normal } else { Synchronous::Full };
    let mut store = SqliteStore::open(&dir.path().join("bench.db"), sync).expect("store");
    store.upsert_user("alice", None, jiff::Timestamp::now()).expect("user");
    let policy = Policy::default();
    let defaults = Preferences::default();
    let away = |_: &str| Presence::default();
    let sub = submission("alice", "tick", None);

    let mut g = c.benchmark_group("store_accept");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_per_commit", |b| {
        b.iter(|| {
            let ctx = AcceptContext {
                policy: &policy,
                defaults: &defaults,
                presence: &away,
                now: jiff::Timestamp::now(),
            };
            store.accept(&sub, &ctx).expect("accept")
        })
    });
    let same: Vec<Submission> = std::iter::repeat_n(sub.clone(), 64).collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("group_commit_64", |b| {
        b.iter_batched(|| same.clone(), |batch| accept(&mut store, &batch), BatchSize::SmallInput)
    });
    g.finish();

    // The growth case: each user's inbox is the size named; the load goes to that user.
    for user in ["empty", "full"] {
        store.upsert_user(user, None, jiff::Timestamp::now()).expect("user");
    }
    for chunk in 0..FULL / 1000 {
        accept(&mut store, &batch("full", 1000, chunk % 2 == 0));
    }
    store.checkpoint();
    let mut g = c.benchmark_group("store_accept_growth");
    g.sample_size(20);
    g.throughput(Throughput::Elements(64));
    for threads in [false, true] {
        for user in ["empty", "full"] {
            let name = format!("{user}_{}", if threads { "threads" } else { "no_thread" });
            g.bench_function(name, |b| {
                b.iter_batched(
                    || batch(user, 64, threads),
                    |subs| accept(&mut store, &subs),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
    broadcast(c);
}

/// One broadcast to 5,000 users, each with saved preferences (quiet hours in one of four
/// zones), as the dispatcher's writer commits it.
fn broadcast(c: &mut Criterion) {
    const USERS: usize = 5_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(&dir.path().join("team.db"), Synchronous::Normal).expect("store");
    store.become_writer();
    let now = jiff::Timestamp::now();
    let defaults = Preferences::default();
    let users: Vec<campanile::store::NewUser> = (0..USERS)
        .map(|i| campanile::store::NewUser { name: format!("u{i:05}"), email: None, display_name: None })
        .collect();
    store.import_users(&users, None, now).expect("users");
    for (i, u) in users.iter().enumerate() {
        let mut prefs = defaults.clone();
        prefs.quiet_hours.enabled = true;
        prefs.quiet_hours.timezone = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"][i % 4].into();
        store.put_prefs(&u.name, &prefs, None, &defaults, now).expect("prefs");
    }
    let event = Event::from_json(r#"{"type":"ops.notice","title":"Maintenance at 18:00","body":"The build farm restarts.","to":{"broadcast":true}}"#)
        .expect("event");
    let sub = Submission { producer: "ops".into(), idempotency_key: None, default_user: None, event };
    let mut g = c.benchmark_group("store_broadcast");
    g.sample_size(10);
    g.throughput(Throughput::Elements(USERS as u64));
    g.bench_function("users_5000", |b| b.iter(|| accept(&mut store, std::slice::from_ref(&sub))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
