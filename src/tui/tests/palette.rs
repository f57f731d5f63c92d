//! The command palette (`:`): every action of the inbox by name, key or what it does, found
//! by a fuzzy match, and run with enter.

use super::fixtures::*;
use super::view::{draw, rows, sized};
use crate::tui::action::{Action, Key, bindings};
use crate::tui::keymap::Keymap;
use crate::tui::palette::{entries, matches};
use crate::tui::state::Mode;

#[test]
fn the_palette_lists_every_action_of_the_inbox_with_its_key_and_name() {
    let all = entries(&Keymap::default());
    assert_eq!(all.len(), bindings(Mode::Normal).len() - 1, "every binding but the palette's own");
    let unread = all.iter().find(|e| e.action == Action::NextUnread).unwrap();
    assert_eq!(
        (unread.name.as_str(), unread.keys.as_str(), unread.label),
        ("next_unread", "n", "next unread")
    );
}

#[test]
fn typing_finds_actions_fuzzily_best_first() {
    let first = |q: &str| matches(q, &Keymap::default()).first().map(|e| e.action.clone());
    assert_eq!(first("arch"), Some(Action::Archive));
    assert_eq!(first("nxt unr"), Some(Action::NextUnread));
    assert_eq!(first("dnd"), Some(Action::DoNotDisturb), "by initials");
    assert_eq!(first("pref"), Some(Action::Preferences));
    assert_eq!(first("copy id"), Some(Action::CopyId));
    assert!(matches("zzzz", &Keymap::default()).is_empty());
    assert_eq!(matches("", &Keymap::default()).len(), entries(&Keymap::default()).len());
}

#[test]
fn colon_opens_it_typing_narrows_arrows_pick_and_enter_runs_the_action() {
    let mut app = sized(app_with(showcase()), 120, 40);
    press(&mut app, &[Key::Char(':')]);
    assert_eq!(app.mode, Mode::Palette);
    type_text(&mut app, "next unr");
    let screen = rows(&draw(&app, 120, 40)).join("\n");
    assert!(screen.contains(":next unr") && screen.contains("▸ n"), "{screen}");
    assert!(screen.contains("next_unread"), "the action's name shows: {screen}");
    press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::Normal);
    assert!(selected_title(&app).starts_with("Alex assigned"), "it ran: {}", selected_title(&app));
    // Down picks the next match; esc closes without running anything.
    press(&mut app, &[Key::Char(':')]);
    type_text(&mut app, "unread");
    press(&mut app, &[Key::Down]);
    assert_eq!(app.palette.pick, 1);
    press(&mut app, &[Key::Backspace; 6]);
    assert_eq!((app.palette.query.as_str(), app.palette.pick), ("", 0));
    let before = app.selected;
    press(&mut app, &[Key::Esc]);
    assert_eq!((app.mode, app.selected), (Mode::Normal, before));
    // An action that opens a menu opens it.
    press(&mut app, &[Key::Char(':')]);
    type_text(&mut app, "snooze");
    press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::SnoozeMenu);
}

#[test]
fn the_palette_snapshots_at_80x24_and_120x40() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = sized(app_with(showcase()), w, h);
        press(&mut app, &[Key::Char(':')]);
        type_text(&mut app, "read");
        insta::assert_snapshot!(format!("palette_{w}x{h}"), super::view::screen(&app, w, h));
    }
}
