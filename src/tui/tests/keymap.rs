//! `[tui.keys]` and `[tui.theme]`: a rebound key runs its action (and the default no longer
//! does), the footer, help and the palette show the user's keys, mistakes are named by
//! their entry, and a theme repaints the screen while `NO_COLOR` still wins.

use std::collections::BTreeMap;

use ratatui::style::Color;

use super::fixtures::*;
use super::view::{draw, rows, sized};
use crate::config::{KeyList, ThemeConfig, ThemeName};
use crate::sync::protocol::Op;
use crate::tui::action::{Action, Key};
use crate::tui::keymap::{Keymap, parse_key};
use crate::tui::palette::entries;
use crate::tui::theme::Theme;

fn keymap(entries: &[(&str, &[&str])]) -> Result<Keymap, crate::tui::keymap::KeymapError> {
    let keys: BTreeMap<String, KeyList> = entries
        .iter()
        .map(|(a, ks)| ((*a).to_string(), KeyList::Many(ks.iter().map(|k| (*k).to_string()).collect())))
        .collect();
    Keymap::from_config(&keys)
}

#[test]
fn key_names_parse_as_help_writes_them() {
    assert_eq!(parse_key("x"), Some(Key::Char('x')));
    assert_eq!(parse_key("space"), Some(Key::Char(' ')));
    assert_eq!(parse_key("ctrl-a"), Some(Key::Ctrl('a')));
    assert_eq!(parse_key("shift-tab"), Some(Key::BackTab));
    assert_eq!(parse_key("PgDn"), Some(Key::PageDown));
    assert_eq!(parse_key("↑"), Some(Key::Up));
    for bad in ["", "ctrl-", "ctrl-ab", "hyper-x", "f13"] {
        assert_eq!(parse_key(bad), None, "{bad}");
    }
}

#[test]
fn a_rebound_key_runs_its_action_and_the_default_no_longer_does() {
    let mut app = app_with(notes(3));
    app.keys = keymap(&[("archive", &["x"]), ("toggle_read", &["a"])]).unwrap();
    let fx = press(&mut app, &[Key::Char('x')]);
    assert_eq!(ops(&fx), vec![Op::Archive { ids: vec![id(3)] }]);
    let fx = press(&mut app, &[Key::Char('a')]);
    assert_eq!(ops(&fx), vec![Op::MarkRead { ids: vec![id(2)] }], "a reads now; it does not archive");
    // Home is still the first row wherever `g` went.
    app.keys = keymap(&[("top", &["T"])]).unwrap();
    press(&mut app, &[Key::Char('j'), Key::Home]);
    assert_eq!(app.selected, 0);
    assert_eq!(app.keys.action(crate::tui::state::Mode::Normal, Key::Char('g')), None);
}

#[test]
fn footer_help_and_palette_show_the_users_keys() {
    let mut app = sized(app_with(notes(3)), 120, 40);
    app.keys = keymap(&[("archive", &["x", "ctrl-a"])]).unwrap();
    let screen = rows(&draw(&app, 120, 40));
    let footer = screen.last().unwrap();
    assert!(footer.contains("x/ctrl-a archive") && !footer.contains(" a archive"), "{footer}");
    let archive = entries(&app.keys).into_iter().find(|e| e.action == Action::Archive).unwrap();
    assert_eq!(archive.keys, "x/ctrl-a");
    press(&mut app, &[Key::Char('?')]);
    let help = rows(&draw(&app, 120, 40)).join("\n");
    assert!(help.contains("x/ctrl-a   archive or unarchive"), "{help}");
}

#[test]
fn an_unknown_action_a_bad_key_and_a_key_bound_twice_are_named_by_their_entry() {
    let e = keymap(&[("archiv", &["x"])]).unwrap_err();
    assert_eq!(e.field, "tui.keys.archiv");
    assert!(e.message.starts_with("no action `archiv`; the actions are move_down, move_up"), "{}", e.message);
    let e = keymap(&[("archive", &["x", "meta-x"])]).unwrap_err();
    assert_eq!(e.field, "tui.keys.archive");
    assert!(e.message.starts_with("`meta-x` is not a key"), "{}", e.message);
    let e = keymap(&[("archive", &["r"])]).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.message.as_str()),
        ("tui.keys.archive", "`r` is bound twice: to archive and to toggle_read")
    );
    let e = keymap(&[("archive", &["x"]), ("snooze", &["x"])]).unwrap_err();
    assert!(e.message.starts_with("`x` is bound twice"), "{}", e.message);
    // Moving a default out of the way first is fine.
    assert!(keymap(&[("archive", &["r"]), ("toggle_read", &["T"])]).is_ok());
}

#[test]
fn the_light_theme_and_the_users_colours_repaint_the_screen_and_no_color_wins() {
    let mut app = sized(app_with(notes(3)), 80, 24);
    let dark = draw(&app, 80, 24);
    assert!(dark.content.iter().any(|c| c.fg == Color::Cyan), "the dark theme draws its accent");
    app.theme = Theme::from_config(&ThemeConfig { name: ThemeName::Light, ..Default::default() });
    let light = draw(&app, 80, 24);
    assert!(!light.content.iter().any(|c| c.fg == Color::Cyan || c.fg == Color::LightRed));
    assert!(light.content.iter().any(|c| c.fg == Color::Blue), "light's accent is blue");
    app.theme = Theme::from_config(&ThemeConfig {
        name: ThemeName::Light,
        accent: Some("#ff8800".into()),
        ..Default::default()
    });
    let mine = draw(&app, 80, 24);
    assert!(mine.content.iter().any(|c| c.fg == Color::Rgb(0xff, 0x88, 0x00)));
    app.no_color = true;
    let plain = draw(&app, 80, 24);
    assert!(plain.content.iter().all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
}
