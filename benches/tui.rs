//! TUI with a large inbox (DESIGN §10: redraw of a 100,000-item inbox ≤ 2 ms, first frame
//! ≤ 200 ms, RSS ≤ 150 MB; issue 10: usable within 1 s of start). The items are what a real
//! inbox holds: a title and body, data, per-channel deliveries and the engine's plan (as
//! `decide` makes it).
//!
//! By default the inbox arrives the way a client with no history gets it now: `welcome`,
//! then `snapshot` pages of 500, newest first, without plans. Each page goes through JSON
//! text as the client actor receives it. Printed: the first usable frame (first page parsed,
//! applied and drawn), the whole inbox in, and RSS. With `TUI_BENCH_FILL=replay` it is
//! filled as an older server fills a new client: one change frame per item, plans included.
//! Then frames are drawn on ratatui's TestBackend at 120×40.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use campanile::engine::{History, Input, Policy, Presence, decide};
use campanile::model::{Channel, DeliveryState, Event, Notification, RawJson, Urgency};
use campanile::prefs::Preferences;
use campanile::sync::protocol::ServerFrame;
use campanile::tui::action::Action;
use campanile::tui::app::App;
use campanile::tui::update::update;
use campanile::tui::view::view;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const ITEMS: i64 = 100_000;
const PAGE: i64 = 500;
const PAGES: i64 = (ITEMS + PAGE - 1) / PAGE;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(String::from))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn now() -> jiff::Timestamp {
    "2027-03-14T12:00:00Z".parse().expect("t")
}

/// The engine's plan for an ordinary event under default preferences, as the store keeps it.
fn plan() -> RawJson {
    let event = Event::from_json(r#"{"type":"bench.tick","title":"t","urgency":"high"}"#).expect("event");
    let plan = decide(&Input {
        event: &event,
        prefs: &Preferences::default(),
        presence: &Presence::default(),
        history: &History::default(),
        policy: &Policy::default(),
        now: now(),
    });
    RawJson::to_raw(&plan).expect("plan")
}

/// Item `seq` (a higher one is newer), every field a real one has.
fn item(seq: i64, plan: &RawJson) -> Notification {
    let categories = ["issues", "system", "billing", "team", "ai"];
    let at = |s: &str| -> jiff::Timestamp { s.parse().expect("t") };
    Notification {
        id: format!("01BENCH{seq:019}"),
        user: "alice".into(),
        event_id: format!("ev-{seq}"),
        kind: "bench.tick".into(),
        category: categories[(seq % 5) as usize].into(),
        urgency: if seq % 50 == 0 { Urgency::Urgent } else { Urgency::Normal },
        title: format!("Notification number {seq} with a title of ordinary length"),
        body: Some("A body of ordinary length, with **bold** and `code`.".into()),
        url: Some(format!("https://ci.example/builds/{seq}")),
        thread: (seq % 3 == 0).then(|| format!("repo/api#{}", seq / 3)),
        data: serde_json::json!({"branch": "main", "attempt": 2}),
        created_at: at("2027-03-14T11:00:00Z"),
        read_at: None,
        archived_at: None,
        snoozed_until: None,
        count: 1,
        deliveries: BTreeMap::from([
            (Channel::Desktop, DeliveryState { status: "delivered".into(), attempts: 1, last_error: None }),
            (Channel::Email, DeliveryState { status: "held".into(), attempts: 0, last_error: None }),
        ]),
        plan: Some(plan.clone()),
    }
}

fn welcome() -> ServerFrame {
    ServerFrame::Welcome {
        user: "alice".into(),
        stream: "bench".into(),
        seq: ITEMS,
        unread: ITEMS,
        prefs: serde_json::json!({}),
        prefs_version: 0,
        required: None,
    }
}

/// Snapshot page `k` (0 is the newest) as JSON text: what the server sends.
fn page_text(k: i64, plan: &RawJson) -> String {
    let top = ITEMS - k * PAGE;
    let items: Vec<Notification> = (0..PAGE)
        .map(|i| top - i)
        .filter(|s| *s >= 1)
        .map(|s| {
            let mut n = item(s, plan);
            n.plan = None;
            n
        })
        .collect();
    let loaded = u64::try_from((k + 1) * PAGE).unwrap_or(0).min(ITEMS as u64);
    let frame = ServerFrame::Snapshot { items, loaded, total: ITEMS as u64, done: loaded == ITEMS as u64 };
    serde_json::to_string(&frame).expect("json")
}

fn connected_app() -> App {
    let mut app = App::new(now());
    update(&mut app, Action::Resize { width: 120, height: 40 });
    update(&mut app, Action::Connected { host: Some("bench".into()) });
    app
}

/// A client with no history: welcome, then snapshot pages.
fn snapshot_fill(terminal: &mut Terminal<TestBackend>) -> App {
    let plan = plan();
    let before = rss_mb();
    let (mut tui, mut parse, mut build) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let started = Instant::now();
    let mut app = connected_app();
    update(&mut app, Action::Frame(welcome()));
    terminal.draw(|f| view(&app, f)).expect("draw");
    let first_frame = started.elapsed();
    for k in 0..PAGES {
        let t = Instant::now();
        let text = page_text(k, &plan);
        build += t.elapsed();
        let t = Instant::now();
        let frame: ServerFrame = serde_json::from_str(&text).expect("frame");
        drop(text);
        parse += t.elapsed();
        let t = Instant::now();
        update(&mut app, Action::Frame(frame));
        if k == 0 {
            terminal.draw(|f| view(&app, f)).expect("draw");
            tui += t.elapsed();
            println!(
                "tui: first frame (\"loading\") after {:.1} ms; first usable frame (page 1 of {} \
                 parsed, applied, drawn) after {:.1} ms of client work",
                first_frame.as_secs_f64() * 1000.0,
                PAGES,
                (first_frame + parse + tui).as_secs_f64() * 1000.0
            );
        } else {
            tui += t.elapsed();
        }
    }
    terminal.draw(|f| view(&app, f)).expect("draw");
    assert!(!app.loading(), "the snapshot is in");
    println!(
        "tui: {ITEMS} items in as snapshot pages: {:.0} ms applying and drawing, {:.0} ms \
         parsing the JSON (the client actor's thread); RSS {:.0} MB (+{:.0} MB for the inbox; \
         {:.0} bytes an item)",
        tui.as_secs_f64() * 1000.0,
        parse.as_secs_f64() * 1000.0,
        rss_mb(),
        rss_mb() - before,
        (rss_mb() - before) * 1024.0 * 1024.0 / ITEMS as f64,
    );
    println!(
        "tui: (making the pages' JSON, which the server does, took {:.0} ms)",
        build.as_secs_f64() * 1000.0
    );
    app
}

/// An older server: every item replayed as a change frame, plans included.
fn replay_fill(terminal: &mut Terminal<TestBackend>) -> App {
    let plan = plan();
    let before = rss_mb();
    let mut build = Duration::ZERO;
    let started = Instant::now();
    let mut app = connected_app();
    update(&mut app, Action::Frame(welcome()));
    for seq in 1..=ITEMS {
        let t = Instant::now();
        let mut payload = serde_json::Map::new();
        payload.insert("notification".into(), serde_json::to_value(item(seq, &plan)).expect("json"));
        let frame = ServerFrame::Change { seq, kind: "notification_created".into(), payload };
        build += t.elapsed();
        update(&mut app, Action::Frame(frame));
    }
    terminal.draw(|f| view(&app, f)).expect("draw");
    println!(
        "tui: {ITEMS} items replayed as change frames and drawn in {:.0} ms (of which {:.0} ms \
         making the frames); RSS {:.0} MB (+{:.0} MB for the inbox; {:.0} bytes an item)",
        started.elapsed().as_secs_f64() * 1000.0,
        build.as_secs_f64() * 1000.0,
        rss_mb(),
        rss_mb() - before,
        (rss_mb() - before) * 1024.0 * 1024.0 / ITEMS as f64,
    );
    app
}

/// What a keystroke costs at this size: a move, and a search typed a letter at a time (each
/// letter lists the inbox anew), each followed by a draw.
fn keys(app: &App, terminal: &mut Terminal<TestBackend>) {
    let mut app = app.clone();
    let mut step = |a: Action| {
        let t = Instant::now();
        update(&mut app, a);
        terminal.draw(|f| view(&app, f)).expect("draw");
        t.elapsed()
    };
    let moved = step(Action::MoveDown);
    step(Action::StartSearch);
    let typed: Vec<Duration> = "99999".chars().map(|c| step(Action::SearchInput(c))).collect();
    let slowest = typed.iter().max().copied().unwrap_or_default();
    println!(
        "tui: j and a draw {:.2} ms; each letter of a search and a draw at most {:.1} ms ({} matches)",
        moved.as_secs_f64() * 1000.0,
        slowest.as_secs_f64() * 1000.0,
        app.listed_len()
    );
}

fn bench(c: &mut Criterion) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let app = match std::env::var("TUI_BENCH_FILL").as_deref() {
        Ok("replay") => replay_fill(&mut terminal),
        _ => snapshot_fill(&mut terminal),
    };
    keys(&app, &mut terminal);
    c.bench_function("tui/redraw_100k_inbox_120x40", |b| {
        b.iter(|| terminal.draw(|f| view(black_box(&app), f)).expect("draw").area.width)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
