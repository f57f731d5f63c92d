//! Moving around, searching, filtering, focus, overlays, the clock and the terminal size:
//! actions that change what is shown but send nothing.

use super::fixtures::*;
use crate::model::Urgency;
use crate::sync::protocol::ServerFrame;
use crate::tui::action::{Action, Key};
use crate::tui::effect::Effect;
use crate::tui::state::{Focus, Mode};
use crate::tui::update::update;

#[test]
fn moving_stops_at_both_ends() {
    let mut app = app_with(notes(3));
    assert_eq!(selected_title(&app), "Notification 3", "newest first");
    update(&mut app, Action::MoveUp);
    assert_eq!(app.selected, 0);
    run(&mut app, [Action::MoveDown, Action::MoveDown, Action::MoveDown]);
    assert_eq!(selected_title(&app), "Notification 1");
    update(&mut app, Action::Top);
    assert_eq!(app.selected, 0);
    update(&mut app, Action::Bottom);
    assert_eq!(app.selected, 2);
}

#[test]
fn pages_are_as_tall_as_the_list_and_the_window_follows_the_selection() {
    let mut app = app_with(notes(100));
    // 80×24: 21 rows between header and status/footer, minus the list's border.
    assert_eq!(app.list_rows(), 19);
    update(&mut app, Action::PageDown);
    assert_eq!(app.selected, 19);
    assert_eq!(app.list_offset, 1, "the selected row is the last one drawn");
    update(&mut app, Action::Bottom);
    assert_eq!((app.selected, app.list_offset), (99, 81));
    update(&mut app, Action::PageUp);
    assert_eq!((app.selected, app.list_offset), (80, 80));
    update(&mut app, Action::Resize { width: 120, height: 40 });
    assert_eq!(app.list_rows(), 35);
    update(&mut app, Action::Top);
    update(&mut app, Action::PageDown);
    assert_eq!(app.selected, 35);
}

#[test]
fn the_selection_stays_on_its_item_when_a_new_one_arrives_above() {
    let mut app = app_with(notes(3));
    update(&mut app, Action::MoveDown);
    assert_eq!(selected_title(&app), "Notification 2");
    update(&mut app, Action::Frame(change(4, "notification_created", &note(4, "Fresh"))));
    assert_eq!(titles(&app)[0], "Fresh");
    assert_eq!(selected_title(&app), "Notification 2");
}

#[test]
fn search_filters_as_you_type_and_cancel_brings_everything_back() {
    let mut items = notes(3);
    items[0].title = "Deploy finished".into();
    items[1].body = Some("the deploy is waiting for approval".into());
    let mut app = app_with(items);
    update(&mut app, Action::StartSearch);
    assert_eq!(app.mode, Mode::Search);
    run(&mut app, "DEPLOYX".chars().map(Action::SearchInput));
    assert!(titles(&app).is_empty());
    update(&mut app, Action::SearchBackspace);
    assert_eq!(titles(&app), ["Notification 2", "Deploy finished"], "case-insensitive, title and body");
    update(&mut app, Action::SearchCommit);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(titles(&app).len(), 2, "a committed search keeps filtering");
    assert_eq!(status(&app), "2 matches for \"DEPLOY\"");
    update(&mut app, Action::StartSearch);
    assert_eq!(titles(&app).len(), 3, "a new search starts empty");
    run(&mut app, [Action::SearchInput('x'), Action::SearchCancel]);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(titles(&app).len(), 3);
}

#[test]
fn the_filter_menu_narrows_by_unread_category_and_urgency() {
    let mut items = notes(4);
    items[0].read_at = Some(now());
    items[1].category = "billing".into();
    items[2].urgency = Urgency::Urgent;
    items[3].urgency = Urgency::High;
    let mut app = app_with(items);
    update(&mut app, Action::Filter);
    assert_eq!(app.mode, Mode::FilterMenu);
    update(&mut app, Action::FilterToggleUnread);
    assert_eq!(titles(&app), ["Notification 4", "Notification 3", "Notification 2"]);
    update(&mut app, Action::FilterNextCategory);
    assert_eq!(app.filter.category.as_deref(), Some("billing"), "categories in name order");
    assert_eq!(titles(&app), ["Notification 2"]);
    update(&mut app, Action::FilterNextCategory);
    assert_eq!(app.filter.category.as_deref(), Some("system"));
    update(&mut app, Action::FilterNextCategory);
    assert_eq!(app.filter.category, None, "and round to all");
    run(&mut app, [Action::FilterNextUrgency, Action::FilterNextUrgency]);
    assert_eq!(app.filter.urgency_at_least, Some(Urgency::High));
    assert_eq!(titles(&app), ["Notification 4", "Notification 3"]);
    update(&mut app, Action::FilterClear);
    assert_eq!(titles(&app).len(), 4);
    update(&mut app, Action::CloseMenu);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn tab_walks_the_panes_and_moving_in_the_sidebar_picks_a_category() {
    let mut items = notes(3);
    items[0].category = "billing".into();
    items[2].body = Some((1..=30).map(|i| format!("line {i}")).collect::<Vec<_>>().join("\n"));
    let mut app = app_with(items);
    assert_eq!(app.focus, Focus::List);
    update(&mut app, Action::FocusNext);
    assert_eq!(app.focus, Focus::Sidebar, "no detail open: list, then sidebar");
    update(&mut app, Action::MoveDown);
    assert_eq!(app.filter.category.as_deref(), Some("billing"));
    assert_eq!(titles(&app), ["Notification 1"]);
    update(&mut app, Action::MoveUp);
    assert_eq!(app.filter.category, None);
    run(&mut app, [Action::FocusNext, Action::OpenDetail, Action::FocusNext]);
    assert_eq!(app.focus, Focus::Detail);
    run(&mut app, [Action::MoveDown, Action::MoveDown]);
    assert_eq!(app.detail_scroll, 2, "in the detail, moving scrolls the text");
    assert_eq!(selected_title(&app), "Notification 3");
    // 3 header lines, a blank, 30 body lines, a blank and the line that says the delivery
    // is loading (no server answers here); at 80×24 the detail shows 12 of them.
    update(&mut app, Action::Bottom);
    assert_eq!(app.detail_scroll, 36 - 12, "G shows the end of the text");
    update(&mut app, Action::PageDown);
    assert_eq!(app.detail_scroll, 24, "and scrolls no further");
    update(&mut app, Action::Top);
    assert_eq!(app.detail_scroll, 0);
    update(&mut app, Action::FocusNext);
    assert_eq!(app.focus, Focus::Sidebar);
    // Narrow terminals have no sidebar to focus.
    update(&mut app, Action::Resize { width: 50, height: 20 });
    run(&mut app, [Action::CloseDetail, Action::FocusNext]);
    assert_eq!(app.focus, Focus::List);
}

#[test]
fn help_opens_and_closes() {
    let mut app = app_with(notes(1));
    update(&mut app, Action::Help);
    assert_eq!(app.mode, Mode::Help);
    update(&mut app, Action::Help);
    assert_eq!(app.mode, Mode::Normal);
    run(&mut app, [Action::Help, Action::CloseMenu]);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn ticks_move_the_clock_and_redraw_only_when_the_screen_would_change() {
    let mut app = app_with(notes(1));
    let fx = update(&mut app, Action::Tick(ts("2027-03-14T12:00:30Z")));
    assert_eq!(app.now, ts("2027-03-14T12:00:30Z"));
    assert!(!fx.contains(&Effect::Redraw), "ages are in minutes: nothing moved");
    let fx = update(&mut app, Action::Tick(ts("2027-03-14T12:01:00Z")));
    assert!(fx.contains(&Effect::Redraw));
}

#[test]
fn a_pong_changes_nothing() {
    let mut app = app_with(notes(1));
    let before = app.clone();
    let fx = update(&mut app, Action::Frame(ServerFrame::Pong));
    assert!(fx.is_empty());
    assert_eq!(app, before);
}

#[test]
fn a_click_selects_the_row_under_it() {
    let mut app = app_with(notes(5));
    run(&mut app, [Action::Resize { width: 120, height: 40 }]);
    // 120 wide: header on row 0, the list's border on row 1, its first item on row 2, and
    // the list starts right of the 22-column sidebar.
    run(&mut app, [Action::Click { column: 40, row: 4 }]);
    assert_eq!(app.selected, 2);
    let before = app.selected;
    run(&mut app, [Action::Click { column: 5, row: 4 }]);
    assert_eq!(app.selected, before, "a click in the sidebar does not move the list");
    run(&mut app, [Action::Click { column: 40, row: 30 }]);
    assert_eq!(app.selected, 4, "below the last item: the last item");
}

#[test]
fn the_detail_scrolls_to_its_very_end_without_the_focus_and_a_long_link_stays_unbroken_by_borders() {
    use crate::tui::view::view;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut items = notes(2);
    // Long words wrap earlier than their width says: the end must still be reachable.
    items[1].body =
        Some((1..=40).map(|i| format!("{i} {}", "word ".repeat(i % 13))).collect::<Vec<_>>().join("\n"));
    items[1].url = Some(format!("https://ci.example/{}", "a/".repeat(70)));
    let mut app = app_with(items);
    update(&mut app, Action::Resize { width: 120, height: 40 });
    run(&mut app, [Action::OpenDetail, Action::OpenDetail]);
    assert_eq!(app.focus, Focus::List, "the focus stays on the list");
    for _ in 0..200 {
        update(&mut app, Action::DetailDown);
    }
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| view(&app, f)).unwrap();
    let screen = t.backend().to_string();
    assert!(screen.contains("Delivery and data: loading…"), "the last line shows:\n{screen}");
    let indicator = screen.lines().find(|l| l.contains("Detail")).unwrap();
    let (shown, total) = indicator.rsplit_once('/').unwrap();
    let total: usize = total.trim_matches(|c: char| !c.is_ascii_digit()).parse().unwrap();
    assert!(shown.ends_with(&format!("–{total}")), "the indicator says the end: {indicator}");
    // The link's rows hold nothing but the link: read from its first column down, the
    // rows join into the whole URL (the scrollbar's column aside), no border between.
    while super::view::find(&super::view::draw(&app, 120, 40), "https://ci.example/").is_none() {
        assert!(app.detail_scroll > 0, "the link never showed");
        update(&mut app, Action::DetailUp);
    }
    let buf = super::view::draw(&app, 120, 40);
    let url = app.selected_item().unwrap().url.clone().unwrap().to_string();
    let (x, y) = super::view::find(&buf, "https://ci.example/").expect("the link is on screen");
    let rows = super::view::rows(&buf);
    let joined: String = rows[usize::from(y)..]
        .iter()
        .take(6)
        .map(|r| {
            r.chars()
                .skip(usize::from(x))
                .take(buf.area.width as usize - usize::from(x) - 1)
                .collect::<String>()
        })
        .collect::<String>();
    assert!(joined.starts_with(&url), "{joined}");
    update(&mut app, Action::DetailHalfUp);
    assert!(app.detail_scroll < crate::tui::detail_lines::max_scroll(&app), "ctrl-u scrolls back");
}

#[test]
fn n_and_shift_n_go_to_the_next_and_previous_unread_and_bang_to_the_next_urgent_wrapping_around() {
    let mut app = app_with(showcase());
    assert_eq!(selected_title(&app), "Build failed on main");
    press(&mut app, &[Key::Char('n')]);
    assert!(selected_title(&app).starts_with("Alex assigned"), "the read item between is skipped");
    press(&mut app, &[Key::Char('n')]);
    assert_eq!(selected_title(&app), "Invoice 2027-014 is overdue");
    press(&mut app, &[Key::Char('n')]);
    assert_eq!(selected_title(&app), "Build failed on main");
    assert!(status(&app).contains("Back at the top"), "{}", status(&app));
    press(&mut app, &[Key::Char('N')]);
    assert_eq!(selected_title(&app), "Invoice 2027-014 is overdue");
    press(&mut app, &[Key::Char('!')]);
    assert_eq!(selected_title(&app), "Build failed on main", "the one urgent item");
    press(&mut app, &[Key::Char('!')]);
    assert!(status(&app).contains("only urgent item"), "{}", status(&app));
    let mut read = app_with(vec![]);
    press(&mut read, &[Key::Char('n')]);
    assert!(status(&read).contains("No unread items"), "{}", status(&read));
}

#[test]
fn y_copies_the_link_and_shift_y_the_id_through_the_clipboard_effect() {
    let mut app = app_with(showcase());
    let fx = press(&mut app, &[Key::Char('y')]);
    assert!(fx.contains(&Effect::Copy("https://ci.example/4711".into())), "{fx:?}");
    assert_eq!(status(&app), "Copied the link");
    let fx = press(&mut app, &[Key::Char('Y')]);
    assert!(fx.contains(&Effect::Copy(id(5))), "{fx:?}");
    press(&mut app, &[Key::Char('j')]);
    let fx = press(&mut app, &[Key::Char('y')]);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Copy(_))));
    assert_eq!(status(&app), "This notification has no link");
}

#[test]
fn shift_tab_moves_the_focus_backwards() {
    let mut app = app_with(showcase());
    update(&mut app, Action::Resize { width: 120, height: 40 });
    run(&mut app, [Action::OpenDetail, Action::OpenDetail]);
    assert_eq!(app.focus, Focus::List);
    press(&mut app, &[Key::BackTab]);
    assert_eq!(app.focus, Focus::Sidebar);
    press(&mut app, &[Key::BackTab]);
    assert_eq!(app.focus, Focus::Detail, "around the end");
    press(&mut app, &[Key::Tab]);
    assert_eq!(app.focus, Focus::Sidebar);
}

#[test]
fn the_list_says_where_the_cursor_is_of_how_many_and_has_a_scrollbar_when_longer_than_the_pane() {
    let mut app = app_with(notes(1200));
    update(&mut app, Action::Resize { width: 120, height: 30 });
    let screen = super::view::rows(&super::view::draw(&app, 120, 30));
    assert!(screen[1].contains(" 1/1,200 "), "{}", screen[1]);
    press(&mut app, &[Key::Char('G')]);
    let screen = super::view::rows(&super::view::draw(&app, 120, 30));
    assert!(screen[1].contains(" 1,200/1,200 "), "{}", screen[1]);
    // The scrollbar's thumb is at the bottom of the list's right border.
    let right: String = screen.iter().map(|r| r.chars().last().unwrap_or(' ')).collect();
    assert!(right.contains('█'), "{right:?}");
    let thumb = right.rfind('█').unwrap();
    assert!(thumb >= screen.len() - 5, "{right:?}");
}
