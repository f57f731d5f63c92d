//! TUI rendering with a large inbox (DESIGN §10: redraw of a 100,000-item inbox ≤ 2 ms,
//! first frame ≤ 200 ms, RSS ≤ 150 MB). The replica is filled the way a first connection
//! fills it (welcome, then one change frame per item), then frames are drawn on ratatui's
//! TestBackend at 120×40.

use std::hint::black_box;
use std::time::Instant;

use campanile::sync::protocol::ServerFrame;
use campanile::tui::action::Action;
use campanile::tui::app::App;
use campanile::tui::update::update;
use campanile::tui::view::view;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const ITEMS: i64 = 100_000;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(String::from))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Change `seq` as the websocket layer hands it over: one new notification, decoded JSON.
fn change(seq: i64) -> ServerFrame {
    let categories = ["issues", "system", "billing", "team", "ai"];
    let n = serde_json::json!({
        "id": format!("01BENCH{seq:019}"), "user": "alice", "event_id": "e", "type": "bench.tick",
        "category": categories[(seq % 5) as usize], "urgency": if seq % 50 == 0 { "urgent" } else { "normal" },
        "title": format!("Notification number {seq} with a title of ordinary length"),
        "body": "A body of ordinary length, with **bold** and `code`.", "url": null, "thread": null,
        "data": null, "created_at": "2027-03-14T11:00:00Z", "read_at": null, "archived_at": null,
        "snoozed_until": null, "count": 1, "deliveries": {}
    });
    let mut payload = serde_json::Map::new();
    payload.insert("notification".into(), n);
    ServerFrame::Change { seq, kind: "notification_created".into(), payload }
}

fn inbox() -> App {
    let now: jiff::Timestamp = "2027-03-14T12:00:00Z".parse().expect("t");
    let mut app = App::new(now);
    update(&mut app, Action::Resize { width: 120, height: 40 });
    update(
        &mut app,
        Action::Frame(ServerFrame::Welcome {
            user: "alice".into(),
            stream: "bench".into(),
            seq: ITEMS,
            unread: ITEMS,
            prefs: serde_json::json!({}),
            prefs_version: 0,
            required: None,
        }),
    );
    for seq in 1..=ITEMS {
        update(&mut app, Action::Frame(change(seq)));
    }
    app
}

fn bench(c: &mut Criterion) {
    let before = rss_mb();
    let started = Instant::now();
    let app = inbox();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|f| view(&app, f)).expect("draw");
    println!(
        "tui: {ITEMS} items applied and first frame drawn in {:.0} ms; RSS {:.0} MB (+{:.0} MB for the inbox)",
        started.elapsed().as_secs_f64() * 1000.0,
        rss_mb(),
        rss_mb() - before
    );
    // After the figures above, so that it moves neither: what building the frames alone costs.
    let started = Instant::now();
    for seq in 1..=ITEMS {
        black_box(change(seq));
    }
    println!(
        "tui: of that, about {:.0} ms is the bench making the {ITEMS} change frames (JSON), not the TUI",
        started.elapsed().as_secs_f64() * 1000.0
    );
    c.bench_function("tui/redraw_100k_inbox_120x40", |b| {
        b.iter(|| terminal.draw(|f| view(black_box(&app), f)).expect("draw").area.width)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
