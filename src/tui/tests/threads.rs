//! `enter` on an item of a thread with more items shows that thread's items, newest first,
//! and `esc` goes back to the whole list on the same item; snapshots at 80×24 and 120×40.

use super::fixtures::*;
use super::view::{screen, sized};
use crate::sync::protocol::Op;
use crate::tui::action::Key;

fn threaded() -> crate::tui::app::App {
    let mut items = notes(6);
    for n in [1, 3, 5] {
        items[n - 1].thread = Some("deploy/api".into());
        items[n - 1].title = format!("Deploy step {n}");
    }
    app_with(items)
}

#[test]
fn enter_on_a_thread_lists_its_items_newest_first_and_esc_goes_back() {
    let mut app = threaded();
    press(&mut app, &[Key::Char('j'), Key::Char('j'), Key::Char('j')]);
    assert_eq!(selected_title(&app), "Deploy step 3");
    let fx = press(&mut app, &[Key::Enter]);
    assert!(ops(&fx).is_empty(), "it opens the thread, not the item (which would read it)");
    assert_eq!(titles(&app), ["Deploy step 5", "Deploy step 3", "Deploy step 1"]);
    assert_eq!(selected_title(&app), "Deploy step 3", "the cursor stays on the item");
    assert!(!app.detail_open);
    assert_eq!(status(&app), "3 items in this thread · enter opens one, esc goes back");
    // In the thread, enter opens the item.
    let fx = press(&mut app, &[Key::Char('j'), Key::Enter]);
    assert_eq!(ops(&fx)[0], Op::MarkRead { ids: vec![id(1)] });
    assert!(app.detail_open);
    press(&mut app, &[Key::Esc]);
    assert!(!app.detail_open && app.thread.is_some(), "esc closes the detail first");
    press(&mut app, &[Key::Esc]);
    assert!(app.thread.is_none());
    assert_eq!(titles(&app).len(), 6);
    assert_eq!(selected_title(&app), "Deploy step 1", "back in the whole list on the same item");
}

#[test]
fn an_item_alone_in_its_thread_opens_as_before() {
    let mut items = notes(2);
    items[0].thread = Some("alone".into());
    let mut app = app_with(items);
    press(&mut app, &[Key::Char('j'), Key::Enter]);
    assert!(app.detail_open && app.thread.is_none());
}

#[test]
fn in_a_thread_star_picks_its_items_by_id_and_r_asks_for_that() {
    let mut app = threaded();
    press(&mut app, &[Key::Char('j'), Key::Enter, Key::Char('R')]);
    assert_eq!(status(&app), "In a thread, * selects its items and r reads them");
    let fx = press(&mut app, &[Key::Char('*'), Key::Char('r')]);
    assert_eq!(ops(&fx), vec![Op::MarkRead { ids: vec![id(1), id(3), id(5)] }]);
    assert_eq!(app.replica.unread, 3);
}

#[test]
fn the_thread_list_snapshots_at_80x24_and_120x40() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = sized(threaded(), w, h);
        press(&mut app, &[Key::Char('j'), Key::Enter]);
        insta::assert_snapshot!(format!("thread_{w}x{h}"), screen(&app, w, h));
    }
}
