//! `enter` on a `×N` series: what the store keeps of it (the count, the first time, the
//! latest text, its thread) and, said plainly, what it does not (each earlier occurrence);
//! `enter` there opens the item, `t` its thread, `esc` goes back. Snapshots at 80×24 and
//! 120×40.

use super::fixtures::*;
use super::view::{draw, rows, screen, sized};
use crate::sync::protocol::Op;
use crate::tui::action::Key;
use crate::tui::state::Mode;

fn series() -> crate::tui::app::App {
    let mut items = showcase();
    // Another item in the series' thread, older.
    let mut other = note(0, "Build started on main");
    other.thread = Some("repo/api#4711".into());
    other.created_at = ts("2027-03-14T09:00:00Z");
    items.push(other);
    app_with(items)
}

#[test]
fn enter_on_a_series_shows_what_is_known_and_says_what_is_not() {
    let mut app = sized(series(), 120, 40);
    assert_eq!(selected_title(&app), "Build failed on main");
    let fx = press(&mut app, &[Key::Enter]);
    assert!(ops(&fx).is_empty(), "it does not open (and read) the item yet");
    assert_eq!(app.mode, Mode::Series);
    let screen = rows(&draw(&app, 120, 40)).join("\n");
    for part in [
        "Series ×3",
        "3 occurrences, kept as one item",
        "first   11:55 (5 min ago)",
        "3 tests",
        "earlier occurrence came and",
        "Thread repo/api#4711: 2 items",
        "Build started on main",
    ] {
        assert!(screen.contains(part), "`{part}` missing:\n{screen}");
    }
    // Esc goes back to the list where it was.
    press(&mut app, &[Key::Esc]);
    assert_eq!((app.mode, app.detail_open), (Mode::Normal, false));
    // Enter there opens the item (and reads it).
    press(&mut app, &[Key::Enter]);
    let fx = press(&mut app, &[Key::Enter]);
    assert_eq!(ops(&fx)[0], Op::MarkRead { ids: vec![id(5)] });
    assert!(app.detail_open && app.mode == Mode::Normal);
}

#[test]
fn t_in_a_series_lists_its_thread() {
    let mut app = series();
    press(&mut app, &[Key::Enter, Key::Char('t')]);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(titles(&app), ["Build failed on main", "Build started on main"]);
    // A series alone in its thread says so.
    let mut items = notes(2);
    items[1].count = 4;
    let mut app = app_with(items);
    press(&mut app, &[Key::Enter, Key::Char('t')]);
    assert_eq!(status(&app), "Its thread lists no other item");
}

#[test]
fn the_series_view_snapshots_at_80x24_and_120x40() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = sized(series(), w, h);
        press(&mut app, &[Key::Enter]);
        insta::assert_snapshot!(format!("series_{w}x{h}"), screen(&app, w, h));
    }
}
