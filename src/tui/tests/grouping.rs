//! `t`: the list grouped by thread (each thread's items together under its newest, threads
//! by newest activity, a bracket and the thread's name marking each group), with the cursor,
//! the position indicator and `n`/`N`/`!` working on the grouped order, and `t` again back to
//! the flat order on the same item; snapshots at 80×24 and 120×40. Also the per-category
//! sparklines of the wide layout.

use super::fixtures::*;
use super::view::{draw, rows, screen, sized};
use crate::model::Urgency;
use crate::tui::action::Key;

/// Seven items: threads `a` (1, 4, 6) and `b` (2, 5), and two alone (3, 7).
fn threads() -> crate::tui::app::App {
    let mut items = notes(7);
    for (n, t) in [(1, "a"), (4, "a"), (6, "a"), (2, "b"), (5, "b")] {
        items[n - 1].thread = Some(format!("deploy/{t}"));
    }
    items[4].urgency = Urgency::Urgent;
    items[0].read_at = Some(now());
    items[5].read_at = Some(now());
    app_with(items)
}

#[test]
fn t_groups_each_thread_under_its_newest_threads_by_newest_activity() {
    let mut app = threads();
    assert_eq!(titles(&app), (1..=7).rev().map(|n| format!("Notification {n}")).collect::<Vec<_>>());
    press(&mut app, &[Key::Char('t')]);
    assert!(app.grouped);
    let order: Vec<String> = [7, 6, 4, 1, 5, 2, 3].iter().map(|n| format!("Notification {n}")).collect();
    assert_eq!(titles(&app), order);
    assert_eq!(status(&app), "Grouped by thread, newest activity first · t lists flat again");
    let screen = rows(&draw(&sized(app.clone(), 120, 40), 120, 40)).join("\n");
    assert!(screen.contains("by thread"), "the list's title says so: {screen}");
    assert!(screen.contains("┌") && screen.contains("└") && screen.contains("deploy/a · 3"), "{screen}");
}

#[test]
fn the_cursor_stays_on_its_item_both_ways_and_the_keys_follow_the_grouped_order() {
    let mut app = sized(threads(), 120, 40);
    press(&mut app, &[Key::Char('j'), Key::Char('j')]);
    assert_eq!(selected_title(&app), "Notification 5");
    press(&mut app, &[Key::Char('t')]);
    assert_eq!(selected_title(&app), "Notification 5", "the same item, now on row 5");
    assert_eq!(app.selected, 4);
    let screen = rows(&draw(&app, 120, 40)).join("\n");
    assert!(screen.contains(" 5/7 "), "the position indicator counts the grouped rows: {screen}");
    // j walks the grouped order; n skips the read ones (6 and 1); ! finds the urgent one.
    press(&mut app, &[Key::Char('j')]);
    assert_eq!(selected_title(&app), "Notification 2");
    press(&mut app, &[Key::Char('g'), Key::Char('n')]);
    assert_eq!(selected_title(&app), "Notification 4", "6 is read: the next unread is 4");
    press(&mut app, &[Key::Char('n')]);
    assert_eq!(selected_title(&app), "Notification 5", "1 is read too");
    press(&mut app, &[Key::Char('N')]);
    assert_eq!(selected_title(&app), "Notification 4");
    press(&mut app, &[Key::Char('g'), Key::Char('!')]);
    assert_eq!(selected_title(&app), "Notification 5");
    press(&mut app, &[Key::Char('j'), Key::Char('j')]);
    assert_eq!(selected_title(&app), "Notification 3");
    press(&mut app, &[Key::Char('t')]);
    assert!(!app.grouped);
    assert_eq!(titles(&app)[0], "Notification 7", "flat again");
    assert_eq!(selected_title(&app), "Notification 3", "on the same item");
    assert_eq!(app.selected, 4);
}

#[test]
fn a_new_item_in_a_thread_moves_its_group_to_the_top() {
    let mut app = threads();
    press(&mut app, &[Key::Char('t')]);
    let mut n = note(8, "Notification 8");
    n.thread = Some("deploy/b".into());
    crate::tui::update::update(
        &mut app,
        crate::tui::action::Action::Frame(change(8, "notification_created", &n)),
    );
    let order: Vec<String> = [8, 5, 2, 7, 6, 4, 1, 3].iter().map(|n| format!("Notification {n}")).collect();
    assert_eq!(titles(&app), order);
}

#[test]
fn the_grouped_list_snapshots_at_80x24_and_120x40() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = sized(threads(), w, h);
        press(&mut app, &[Key::Char('t'), Key::Char('j')]);
        insta::assert_snapshot!(format!("grouped_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn on_the_wide_layout_each_category_has_its_own_sparkline() {
    let mut items = notes(6);
    // Two in `billing` an hour ago, four in `system` 13 to 18 hours ago.
    for (i, n) in items.iter_mut().enumerate() {
        if i < 4 {
            n.created_at = now() - jiff::SignedDuration::from_hours(13 + i64::try_from(i).unwrap());
        } else {
            n.category = "billing".into();
            n.created_at = now() - jiff::SignedDuration::from_hours(1);
        }
    }
    let app = app_with(items);
    let per = app.activity_by_category(6);
    assert_eq!(per["system"], [0, 1, 3, 0, 0, 0], "oldest 4-hour slice first");
    assert_eq!(per["billing"], [0, 0, 0, 0, 0, 2]);
    let wide = rows(&draw(&sized(app.clone(), 120, 40), 120, 40));
    let line = |screen: &[String], name: &str| screen.iter().find(|l| l.contains(name)).cloned().unwrap();
    assert!(line(&wide, "│system").contains("│system       ▃█    4│"), "{}", line(&wide, "│system"));
    assert!(
        line(&wide, "│billing").contains("▆ 2│"),
        "scaled to the busiest slice: {}",
        line(&wide, "│billing")
    );
    let narrow = rows(&draw(&sized(app, 80, 24), 80, 24));
    assert!(
        !line(&narrow, "│system").contains('█'),
        "none on the narrow layout: {}",
        line(&narrow, "│system")
    );
}

#[test]
#[ignore = "a measurement, not a check: cargo test --release -- --ignored --nocapture grouping_cost"]
fn grouping_cost() {
    let mut items = notes(20_000);
    for (i, n) in items.iter_mut().enumerate() {
        if i % 3 > 0 {
            n.thread = Some(format!("thread/{}", i % 997));
        }
    }
    let mut app = sized(app_with(items), 120, 40);
    let t = std::time::Instant::now();
    press(&mut app, &[Key::Char('t')]);
    let group = t.elapsed();
    let t = std::time::Instant::now();
    press(&mut app, &[Key::Char('j'), Key::Char('j'), Key::Char('n')]);
    let keys = t.elapsed() / 3;
    let t = std::time::Instant::now();
    draw(&app, 120, 40);
    println!("20,000 items: t {group:?}, a key after {keys:?}, a draw {:?}", t.elapsed());
}
