//! Screens through ratatui's `TestBackend`: insta snapshots of the main states at 80×24 and
//! 120×40 (a fixed `now`, so relative ages are stable), and checks of what a user would
//! notice that plain text cannot show (styles, which row is selected).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::fixtures::*;
use crate::model::{Notification, Urgency, View};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::update::update;
use crate::tui::view::view;

pub fn draw(app: &App, width: u16, height: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| view(app, f)).unwrap();
    t.backend().buffer().clone()
}

pub fn screen(app: &App, width: u16, height: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| view(app, f)).unwrap();
    t.backend().to_string()
}

pub fn rows(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height).map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()).collect()
}

/// Where `needle` starts on screen (every symbol we draw is one cell wide).
pub fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    rows(buf).iter().enumerate().find_map(|(y, row)| {
        let at = row.find(needle)?;
        let x = row[..at].chars().count();
        Some((u16::try_from(x).unwrap(), u16::try_from(y).unwrap()))
    })
}

/// Quiet hours 11:00–13:00 UTC: noon is inside.
fn quiet_prefs() -> serde_json::Value {
    serde_json::json!({"quiet_hours": {"enabled": true, "start": "11:00", "end": "13:00", "timezone": "UTC"}})
}

pub fn sized(mut app: App, width: u16, height: u16) -> App {
    update(&mut app, Action::Resize { width, height });
    app
}

fn populated() -> App {
    app_with_prefs(showcase(), quiet_prefs())
}

fn scenes() -> Vec<(&'static str, App)> {
    let mut detail = populated();
    let fx = run(&mut detail, [Action::OpenDetail, Action::OpenDetail]);
    serve_gets(&mut detail, &fx, &showcase());
    let mut help = populated();
    update(&mut help, Action::Help);
    let mut reconnecting = populated();
    run(
        &mut reconnecting,
        [Action::Disconnected { retry_in_secs: Some(5) }, Action::MoveDown, Action::ToggleRead],
    );
    vec![
        ("empty", app_with(vec![])),
        ("populated", populated()),
        ("detail", detail),
        ("help", help),
        ("reconnecting", reconnecting),
    ]
}

/// The showcase with two items snoozed (one until tomorrow) and one archived.
fn with_snoozed_and_archived() -> App {
    app_with_prefs(snoozed_and_archived(), quiet_prefs())
}

fn snoozed_and_archived() -> Vec<Notification> {
    let mut items = showcase();
    let mut a = note(6, "Quarterly planning notes");
    a.category = "projects".into();
    a.kind = "project.updated".into();
    a.snoozed_until = Some(ts("2027-03-15T08:00:00Z"));
    a.created_at = ts("2027-03-14T09:00:00Z");
    items.push(a);
    let mut b = note(7, "Renew the TLS certificate");
    b.kind = "system.reminder".into();
    b.urgency = Urgency::High;
    b.snoozed_until = Some(ts("2027-03-14T19:00:00Z"));
    b.read_at = Some(ts("2027-03-14T08:00:00Z"));
    b.created_at = ts("2027-03-14T07:30:00Z");
    items.push(b);
    let mut c = note(8, "Old release notes");
    c.category = "team".into();
    c.kind = "team.note".into();
    c.archived_at = Some(ts("2027-03-13T10:00:00Z"));
    c.created_at = ts("2027-03-10T10:00:00Z");
    c.body = Some("What changed in 2.4, for the record.".into());
    c.data = serde_json::json!({"version": "2.4"});
    items.push(c);
    items
}

/// The views, the view picker, the snooze menu of a snoozed item, the question `R` asks and
/// a first load on its way.
fn view_scenes() -> Vec<(&'static str, App)> {
    let mut picker = with_snoozed_and_archived();
    update(&mut picker, Action::PickView);
    let mut snoozed = with_snoozed_and_archived();
    update(&mut snoozed, Action::SetView(View::Snoozed));
    let mut unsnooze = snoozed.clone();
    update(&mut unsnooze, Action::Snooze);
    let mut archived = with_snoozed_and_archived();
    let fx = run(&mut archived, [Action::SetView(View::Archived), Action::OpenDetail]);
    serve_gets(&mut archived, &fx, &snoozed_and_archived());
    let mut all = with_snoozed_and_archived();
    update(&mut all, Action::SetView(View::All));
    let mut confirm = with_snoozed_and_archived();
    update(&mut confirm, Action::MarkAllRead);
    let mut loading = App::new(now());
    update(&mut loading, Action::Connected { host: Some("example:8080".into()) });
    let first_frame = loading.clone();
    let items: Vec<Notification> = (1..=2_000).map(|n| note(n, &format!("Notification {n}"))).collect();
    update(&mut loading, Action::Frame(welcome("stream-1", 2_000, 2_000, quiet_prefs(), 1)));
    update(&mut loading, Action::Frame(snapshot(&items, 500)[0].clone()));
    vec![
        ("view_picker", picker),
        ("view_snoozed", snoozed),
        ("unsnooze_menu", unsnooze),
        ("view_archived_detail", archived),
        ("view_all", all),
        ("confirm_mark_all_read", confirm),
        ("connecting", first_frame),
        ("loading", loading),
    ]
}

#[test]
fn snapshots_of_views_and_loading() {
    for (name, app) in view_scenes() {
        for (w, h) in [(80, 24), (120, 40)] {
            let app = sized(app.clone(), w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&app, w, h));
        }
    }
}

#[test]
fn the_header_names_the_view_and_a_first_load_says_how_far_it_is() {
    let mut app = App::new(now());
    let header = |app: &App| rows(&draw(app, 120, 40))[0].clone();
    assert!(header(&app).contains("Inbox │ connecting │ loading…"), "{}", header(&app));
    assert!(rows(&draw(&app, 120, 40))[1].contains("Inbox · loading…"), "not \"Inbox 0\"");
    update(&mut app, Action::Connected { host: None });
    let items = notes(1_200);
    update(&mut app, Action::Frame(welcome("stream-1", 1_200, 1_200, serde_json::json!({}), 1)));
    let pages = snapshot(&items, 500);
    update(&mut app, Action::Frame(pages[0].clone()));
    assert!(header(&app).contains("● 1,200 unread │ loading"), "{}", header(&app));
    assert!(rows(&draw(&app, 120, 40))[1].contains("Inbox 500 · loading 500/1,200"));
    for p in &pages[1..] {
        update(&mut app, Action::Frame(p.clone()));
    }
    assert!(!header(&app).contains("loading"), "{}", header(&app));
    update(&mut app, Action::SetView(View::Archived));
    assert!(header(&app).contains(" campanile │ Archived │ embedded"), "{}", header(&app));
    assert!(rows(&draw(&app, 120, 40)).join("\n").contains("Nothing archived."));
}

#[test]
fn a_snoozed_item_says_when_it_comes_back_and_a_hollow_dot_marks_unread_but_uncounted() {
    let mut app = with_snoozed_and_archived();
    update(&mut app, Action::SetView(View::All));
    let screen = rows(&draw(&app, 120, 40)).join("\n");
    let line = |t: &str| screen.lines().find(|l| l.contains(t)).unwrap_or_default().to_string();
    assert!(
        line("Quarterly planning").contains("○")
            && line("Quarterly planning").contains("until Mon 15 Mar 08:00")
    );
    assert!(line("Renew the TLS").contains("until Sun 14 Mar 19:00") && !line("Renew the TLS").contains('○'));
    assert!(line("Old release notes").contains("○"), "archived, never read");
    assert!(line("Invoice").contains("●"));
}

#[test]
fn snapshots_of_the_main_screens() {
    for (name, app) in scenes() {
        for (w, h) in [(80, 24), (120, 40)] {
            let app = sized(app.clone(), w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&app, w, h));
        }
    }
}

#[test]
fn the_header_says_how_the_inbox_is_reached() {
    let mut app = app_with(notes(2));
    assert!(rows(&draw(&app, 80, 24))[0].contains("connected to example:8080 │ ● 2 unread"));
    update(&mut app, Action::Disconnected { retry_in_secs: Some(7) });
    assert!(rows(&draw(&app, 80, 24))[0].contains("reconnecting in 7s"));
    update(&mut app, Action::Disconnected { retry_in_secs: None });
    assert!(rows(&draw(&app, 80, 24))[0].contains("offline"));
    update(&mut app, Action::Connected { host: None });
    assert!(rows(&draw(&app, 80, 24))[0].contains("embedded"));
    run(&mut app, [Action::ToggleRead, Action::MoveDown, Action::ToggleRead]);
    assert!(rows(&draw(&app, 80, 24))[0].contains("no unread"));
}

#[test]
fn the_quiet_indicator_shows_only_inside_quiet_hours() {
    let mut app = app_with_prefs(notes(1), quiet_prefs());
    assert!(rows(&draw(&app, 80, 24))[0].contains("quiet until 13:00"));
    update(&mut app, Action::Tick(ts("2027-03-14T13:00:00Z")));
    assert!(!rows(&draw(&app, 80, 24))[0].contains("quiet"));
}

#[test]
fn rows_mark_unread_urgency_and_collapsed_count_and_the_selection_is_reversed() {
    let app = populated();
    let buf = draw(&app, 80, 24);
    let (x, y) = find(&buf, "Build failed on main ×3").unwrap();
    assert!(rows(&buf)[usize::from(y)].contains("● !!  5m Build failed on main ×3"));
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED), "the newest item is selected");
    assert_eq!(buf[(x - 5, y)].fg, Color::LightRed, "urgent is marked in red");
    let (x, y) = find(&buf, "Invoice").unwrap();
    assert!(rows(&buf)[usize::from(y)].contains("● !   1d Invoice 2027-014 is overdue"));
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD), "unread titles are bold");
    assert!(!buf[(x, y)].modifier.contains(Modifier::REVERSED));
    let (x, y) = find(&buf, "Deploy approved").unwrap();
    assert!(!buf[(x, y)].modifier.contains(Modifier::BOLD), "read titles are not");
    assert!(!rows(&buf)[usize::from(y)].contains('●'));
}

#[test]
fn the_detail_renders_light_markdown_link_data_and_deliveries() {
    let mut app = populated();
    let fx = run(&mut app, [Action::OpenDetail, Action::OpenDetail]);
    let text = rows(&draw(&app, 120, 40)).join("\n");
    assert!(text.contains("Delivery and data: loading…"), "until the server answers:\n{text}");
    serve_gets(&mut app, &fx, &showcase());
    let buf = draw(&app, 120, 40);
    let text = rows(&buf).join("\n");
    assert!(text.contains("3 tests failed in api::stream."), "markers are not shown:\n{text}");
    assert!(!text.contains("**"));
    let (x, y) = find(&buf, "3 tests").unwrap();
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    let (x, y) = find(&buf, "api::stream").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    assert!(text.contains("┃https://ci.example/4711"), "the link starts a row of its own:\n{text}");
    assert!(text.contains("branch: main"));
    assert!(text.contains("attempt: 2"));
    assert!(text.contains("desktop  delivered"));
    assert!(text.contains("email    held"));
    assert!(text.contains("slack    failed · 3 attempts · HTTP 500"));
    assert!(text.contains("hooks.slack.com"), "long errors wrap inside the pane");
}

#[test]
fn a_huge_inbox_draws_the_window_around_the_selection() {
    let items: Vec<Notification> = notes(10_000);
    let mut app = app_with(items);
    let text = rows(&draw(&app, 80, 24)).join("\n");
    assert!(text.contains("Notification 10000") && text.contains("Notification 9982"));
    assert!(!text.contains("Notification 9981"), "only what fits is drawn");
    update(&mut app, Action::Bottom);
    let text = rows(&draw(&app, 80, 24)).join("\n");
    assert!(text.contains("Notification 1 ") && !text.contains("Notification 10000"));
}

#[test]
fn the_footer_lists_the_keys_of_the_current_mode_and_search_shows_its_prompt() {
    let mut app = populated();
    let last = |app: &App| rows(&draw(app, 120, 40)).pop().unwrap();
    assert!(last(&app).contains("enter open") && last(&app).contains("q quit"));
    update(&mut app, Action::Snooze);
    assert!(last(&app).contains("1/h 1 hour"));
    update(&mut app, Action::CloseMenu);
    run(&mut app, [Action::StartSearch, Action::SearchInput('b'), Action::SearchInput('u')]);
    let screen = rows(&draw(&app, 120, 40));
    assert!(screen[38].starts_with("/bu▏"), "{}", screen[38]);
    assert!(last(&app).contains("enter keep"));
    assert!(screen[1].contains("Inbox 1 · /bu"));
}

#[test]
fn no_color_draws_no_colour_but_keeps_the_cursor_unread_and_focus_visible() {
    let mut app = sized(populated(), 120, 40);
    app.no_color = true;
    update(&mut app, Action::MoveDown);
    let buf = draw(&app, 120, 40);
    for cell in &buf.content {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "a coloured cell: {cell:?}");
    }
    let title = selected_title(&app);
    let (x, y) = find(&buf, &title).unwrap();
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED), "the cursor's row is reverse video");
    let row = &rows(&buf)[usize::from(y)];
    assert!(row.contains('▸'), "and marked: {row}");
    assert!(rows(&buf)[1].contains('┏'), "the focused pane has the thick border");
}

#[test]
fn the_footer_follows_the_context_list_detail_editor_and_dialog() {
    let footer = |app: &App| rows(&draw(app, 120, 30)).last().cloned().unwrap_or_default();
    let mut app = sized(app_with(showcase()), 120, 30);
    let list = footer(&app);
    assert!(list.contains("enter open") && list.contains("/ search") && !list.contains("scroll"), "{list}");
    run(&mut app, [Action::OpenDetail, Action::OpenDetail]);
    let detail = footer(&app);
    assert!(
        detail.contains("J scroll down") && detail.contains("K up") && detail.contains("esc close"),
        "{detail}"
    );
    assert!(detail.contains("o open link"), "the item under the cursor has a link: {detail}");
    assert!(!detail.contains("enter open") && !detail.contains("/ search"), "{detail}");
    update(&mut app, Action::CloseDetail);
    update(&mut app, Action::MarkAllRead);
    let dialog = footer(&app);
    assert!(dialog.contains("y/enter mark all read") && dialog.contains("n/esc cancel"), "{dialog}");
    update(&mut app, Action::ConfirmNo);
    update(&mut app, Action::Preferences);
    let editor = footer(&app);
    assert!(editor.contains("w/ctrl-s save") && !editor.contains("enter open"), "{editor}");
}

#[test]
fn the_sidebar_shows_the_last_24_hours_as_a_sparkline() {
    // Notes 1–3 came at 10:01–10:03, note 4 at 11:58; it is noon.
    let mut items = notes(3);
    let mut late = note(4, "Late");
    late.created_at = ts("2027-03-14T11:58:00Z");
    items.push(late);
    // Ids sort by arrival: the oldest item has the lowest.
    let mut old = note(0, "Yesterday");
    old.created_at = ts("2027-03-13T11:00:00Z");
    items.insert(0, old);
    let app = sized(app_with(items), 120, 40);
    let hours = app.activity(24);
    assert_eq!(hours.iter().sum::<u64>(), 4, "yesterday's item is older than a day: {hours:?}");
    assert_eq!((hours[22], hours[23]), (3, 1), "two hours ago, and now: {hours:?}");
    let screen = rows(&draw(&app, 120, 40));
    let label = &screen[screen.len() - 5];
    assert!(label.contains("last 24 h") && label.contains("peak 3"), "{screen:#?}");
    assert!(screen[screen.len() - 4].contains('█'), "{screen:#?}");
}
