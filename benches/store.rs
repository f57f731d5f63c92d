//! Durable accept throughput on a real SQLite file with `synchronous=FULL`: one event per
//! transaction against group commit (64 per transaction), the gap DESIGN §10 builds on.

use campanile::engine::{Policy, Presence};
use campanile::model::Event;
use campanile::prefs::Preferences;
use campanile::store::{AcceptContext, Store, Submission, Synchronous};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("bench.db"), Synchronous::Full).expect("store");
    store.upsert_user("alice", None, jiff::Timestamp::now()).expect("user");
    let policy = Policy::default();
    let defaults = Preferences::default();
    let away = |_: &str| Presence::default();
    let event = Event::from_json(r#"{"type":"bench.tick","title":"tick","body":"a body of some length"}"#)
        .expect("event");
    let sub = Submission {
        producer: "bench".into(),
        idempotency_key: None,
        default_user: Some("alice".into()),
        event,
    };

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
    let batch: Vec<Submission> = std::iter::repeat_n(sub.clone(), 64).collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("group_commit_64", |b| {
        b.iter_batched(
            || batch.clone(),
            |batch| {
                let ctx = AcceptContext {
                    policy: &policy,
                    defaults: &defaults,
                    presence: &away,
                    now: jiff::Timestamp::now(),
                };
                store.accept_batch(&batch, &ctx).expect("batch")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
