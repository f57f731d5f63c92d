//! Engine throughput (DESIGN §10 target: ≥ 1 M decisions/s per core). Three shapes: the
//! default preferences, a full preference file in quiet hours (time-zone work on every
//! call), and the same outside quiet hours.

use std::hint::black_box;

use campanile::engine::{History, Input, Policy, Presence, decide};
use campanile::model::Event;
use campanile::prefs::Preferences;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let event = Event::from_json(include_str!("../assets/examples/comment.json")).expect("event");
    let full = Preferences::parse(include_str!("../assets/examples/prefs.toml")).expect("prefs");
    let plain = Preferences::default();
    let policy = Policy::default();
    let presence = Presence::default();
    let history = History::default();
    let quiet: jiff::Timestamp = "2027-03-14T06:30:00Z".parse().expect("t");
    let day: jiff::Timestamp = "2027-03-14T12:30:00Z".parse().expect("t");

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    for (name, prefs, now) in
        [("default_prefs", &plain, day), ("full_prefs_quiet", &full, quiet), ("full_prefs_day", &full, day)]
    {
        g.bench_function(name, |b| {
            b.iter(|| {
                decide(black_box(&Input {
                    event: &event,
                    prefs,
                    presence: &presence,
                    history: &history,
                    policy: &policy,
                    now,
                }))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
