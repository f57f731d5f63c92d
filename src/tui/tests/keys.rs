//! The keymap: DESIGN §11's keys in each mode, and actions as configuration data.

use crate::tui::action::{Action, Key, bindings, key_to_action};
use crate::tui::state::{DndPreset, Mode, SnoozePreset};

#[test]
fn normal_mode_has_the_documented_keys() {
    let k = |c| key_to_action(Mode::Normal, Key::Char(c));
    assert_eq!(k('j'), Some(Action::MoveDown));
    assert_eq!(key_to_action(Mode::Normal, Key::Down), Some(Action::MoveDown));
    assert_eq!(k('k'), Some(Action::MoveUp));
    assert_eq!(key_to_action(Mode::Normal, Key::Up), Some(Action::MoveUp));
    assert_eq!(k('g'), Some(Action::Top));
    assert_eq!(k('G'), Some(Action::Bottom));
    assert_eq!(key_to_action(Mode::Normal, Key::PageDown), Some(Action::PageDown));
    assert_eq!(key_to_action(Mode::Normal, Key::PageUp), Some(Action::PageUp));
    assert_eq!(key_to_action(Mode::Normal, Key::Enter), Some(Action::OpenDetail));
    assert_eq!(key_to_action(Mode::Normal, Key::Esc), Some(Action::CloseDetail));
    assert_eq!(k('o'), Some(Action::OpenLink));
    assert_eq!(k('r'), Some(Action::ToggleRead));
    assert_eq!(k('R'), Some(Action::MarkAllRead));
    assert_eq!(k('a'), Some(Action::Archive));
    assert_eq!(k('u'), Some(Action::Undo));
    assert_eq!(k('s'), Some(Action::Snooze));
    assert_eq!(k('/'), Some(Action::StartSearch));
    assert_eq!(k('f'), Some(Action::Filter));
    assert_eq!(k('m'), Some(Action::MuteThread));
    assert_eq!(k('D'), Some(Action::DoNotDisturb));
    assert_eq!(key_to_action(Mode::Normal, Key::Tab), Some(Action::FocusNext));
    assert_eq!(k('p'), Some(Action::Preferences));
    assert_eq!(k('?'), Some(Action::Help));
    assert_eq!(k('q'), Some(Action::Quit));
    assert_eq!(k('Z'), None);
}

#[test]
fn typing_a_search_is_text_even_for_command_letters() {
    assert_eq!(key_to_action(Mode::Search, Key::Char('q')), Some(Action::SearchInput('q')));
    assert_eq!(key_to_action(Mode::Search, Key::Char('/')), Some(Action::SearchInput('/')));
    assert_eq!(key_to_action(Mode::Search, Key::Enter), Some(Action::SearchCommit));
    assert_eq!(key_to_action(Mode::Search, Key::Esc), Some(Action::SearchCancel));
    assert_eq!(key_to_action(Mode::Search, Key::Backspace), Some(Action::SearchBackspace));
}

#[test]
fn menus_take_their_own_keys_and_esc_leaves_them() {
    assert_eq!(
        key_to_action(Mode::SnoozeMenu, Key::Char('2')),
        Some(Action::SnoozePick(SnoozePreset::Tonight))
    );
    assert_eq!(
        key_to_action(Mode::SnoozeMenu, Key::Char('w')),
        Some(Action::SnoozePick(SnoozePreset::NextWeek))
    );
    assert_eq!(key_to_action(Mode::DndMenu, Key::Char('1')), Some(Action::Dnd(DndPreset::Hour)));
    assert_eq!(key_to_action(Mode::DndMenu, Key::Char('o')), Some(Action::Dnd(DndPreset::Off)));
    assert_eq!(key_to_action(Mode::FilterMenu, Key::Char('u')), Some(Action::FilterToggleUnread));
    assert_eq!(key_to_action(Mode::ConfirmMarkAllRead, Key::Char('y')), Some(Action::ConfirmYes));
    assert_eq!(key_to_action(Mode::ConfirmMarkAllRead, Key::Esc), Some(Action::ConfirmNo));
    for mode in [Mode::Help, Mode::SnoozeMenu, Mode::DndMenu, Mode::FilterMenu] {
        assert_eq!(key_to_action(mode, Key::Esc), Some(Action::CloseMenu), "{mode:?}");
    }
    // `q` in help closes help; it does not quit.
    assert_eq!(key_to_action(Mode::Help, Key::Char('q')), Some(Action::CloseMenu));
    // A command key does nothing inside a menu.
    assert_eq!(key_to_action(Mode::SnoozeMenu, Key::Char('a')), None);
}

#[test]
fn no_key_is_bound_twice_in_a_mode() {
    for mode in [
        Mode::Normal,
        Mode::Search,
        Mode::Help,
        Mode::ConfirmMarkAllRead,
        Mode::SnoozeMenu,
        Mode::DndMenu,
        Mode::FilterMenu,
    ] {
        let keys: Vec<Key> = bindings(mode).into_iter().flat_map(|b| b.keys).collect();
        let mut unique = keys.clone();
        unique.sort_by_key(|k| format!("{k:?}"));
        unique.dedup();
        assert_eq!(keys.len(), unique.len(), "{mode:?} binds a key twice");
    }
}

#[test]
fn actions_are_snake_case_data_for_a_keymap_file() {
    assert_eq!(serde_json::to_value(Action::MarkAllRead).unwrap(), serde_json::json!("mark_all_read"));
    assert_eq!(
        serde_json::to_value(Action::SnoozePick(SnoozePreset::NextWeek)).unwrap(),
        serde_json::json!({"snooze_pick": "next_week"})
    );
    let back: Action = serde_json::from_str(r#"{"dnd":"tomorrow"}"#).unwrap();
    assert_eq!(back, Action::Dnd(DndPreset::Tomorrow));
    let key: Key = serde_json::from_str(r#"{"char":"j"}"#).unwrap();
    assert_eq!(key, Key::Char('j'));
}
