//! Small terminals: at 40×10 every state still draws the essentials without panicking, and
//! long text is cut with `…` inside its pane; below that, drawing must merely not panic.

use super::fixtures::*;
use super::view::{draw, rows};
use crate::tui::action::{Action, Key, key_to_action};
use crate::tui::app::App;
use crate::tui::state::Mode;
use crate::tui::update::update;

fn every_state() -> Vec<App> {
    let base = app_with(showcase());
    let mut states = vec![app_with(vec![]), base.clone()];
    for actions in [
        vec![Action::OpenDetail],
        vec![Action::OpenDetail, Action::OpenDetail],
        vec![Action::OpenDetail, Action::OpenDetail, Action::FocusNext, Action::MoveDown, Action::MoveDown],
        vec![Action::Help],
        vec![Action::Snooze],
        vec![Action::DoNotDisturb],
        vec![Action::Filter, Action::FilterToggleUnread],
        vec![Action::MarkAllRead],
        vec![Action::StartSearch, Action::SearchInput('x')],
        vec![Action::Disconnected { retry_in_secs: Some(30) }, Action::Archive],
        vec![Action::Frame(crate::sync::protocol::ServerFrame::SnapshotRequired { seq: None })],
    ] {
        let mut app = base.clone();
        run(&mut app, actions);
        states.push(app);
    }
    states
}

#[test]
fn every_state_draws_at_40x10_with_the_header_and_the_current_keys() {
    for app in every_state() {
        let app = {
            let mut a = app;
            update(&mut a, Action::Resize { width: 40, height: 10 });
            a
        };
        let screen = rows(&draw(&app, 40, 10));
        assert!(screen[0].starts_with(" campanile │ "), "{screen:#?}");
        assert!(!screen.join("").contains("Categories"), "no room for the sidebar at 40 columns");
        if app.mode == Mode::Normal {
            // The list's keys, or the open detail's.
            let hint = if app.detail_open { "esc close" } else { "enter open" };
            assert!(screen[9].contains(hint), "{screen:#?}");
        }
    }
}

#[test]
fn long_titles_are_cut_inside_the_list_at_40x10() {
    let mut app = app_with(showcase());
    update(&mut app, Action::Resize { width: 40, height: 10 });
    let screen = rows(&draw(&app, 40, 10));
    let row = screen.iter().find(|r| r.contains("Alex assigned")).unwrap();
    assert!(row.ends_with("…│") || row.ends_with("…┃"), "{row:?}");
}

#[test]
fn at_40x10_the_detail_takes_the_list_s_place_and_scrolls() {
    let mut app = app_with(showcase());
    update(&mut app, Action::Resize { width: 40, height: 10 });
    run(&mut app, [Action::OpenDetail, Action::OpenDetail]);
    let screen = rows(&draw(&app, 40, 10)).join("\n");
    assert!(screen.contains("Detail") && screen.contains("Build failed on main"), "{screen}");
    assert!(!screen.lines().skip(1).any(|l| l.contains("Inbox")), "no list:\n{screen}");
    // With the list hidden the detail has the focus, so j scrolls it.
    let down = key_to_action(app.mode, Key::Char('j')).unwrap();
    run(&mut app, [down.clone(), down]);
    assert_eq!(app.detail_scroll, 2);
    let screen = rows(&draw(&app, 40, 10)).join("\n");
    assert!(!screen.contains("Build failed on main"), "scrolled past the title:\n{screen}");
}

#[test]
fn tiny_terminals_do_not_panic() {
    for app in every_state() {
        for (w, h) in [(1, 1), (2, 3), (10, 4), (20, 6), (39, 9), (300, 100)] {
            let mut app = app.clone();
            update(&mut app, Action::Resize { width: w, height: h });
            draw(&app, w, h);
            // Moving around in a screen too small for a list must not panic either.
            run(&mut app, [Action::PageDown, Action::Bottom, Action::PageUp, Action::MoveDown]);
            draw(&app, w, h);
        }
    }
}

#[test]
fn help_scrolls_at_40x10_so_every_key_can_be_read_and_says_which_lines_show() {
    let mut app = app_with(showcase());
    update(&mut app, Action::Resize { width: 40, height: 10 });
    press(&mut app, &[Key::Char('?')]);
    let first = rows(&draw(&app, 40, 10)).join("\n");
    assert!(first.contains("Keys 1–"), "the title says how far:\n{first}");
    let mut seen = first.clone();
    for _ in 0..crate::tui::action::bindings(Mode::Normal).len() {
        press(&mut app, &[Key::Char('j')]);
        seen.push_str(&rows(&draw(&app, 40, 10)).join("\n"));
    }
    for b in crate::tui::action::bindings(Mode::Normal) {
        assert!(seen.contains(b.label), "`{}` never shows in help at 40×10", b.label);
    }
    let last = rows(&draw(&app, 40, 10)).join("\n");
    let total = crate::tui::action::bindings(Mode::Normal).len();
    assert!(last.contains(&format!("of {total} (j/k)")) && last.contains(&format!("–{total} of")), "{last}");
    assert_eq!(app.mode, Mode::Help, "j scrolls help; it does not move the list behind it");
    press(&mut app, &[Key::Char('k'), Key::Esc]);
    assert_eq!(app.mode, Mode::Normal);
}
