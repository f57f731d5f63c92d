//! The user's keymap: `[tui.keys]` rebinds actions of the inbox by the names the command
//! palette shows (one source of names: the normal mode's bindings), each to a key or several
//! in place of its defaults. Checked as a whole: an unknown action, a key name that is not a
//! key, and a key that would run two actions are errors naming the action's entry, which
//! `config check` turns into a line. The footer, help, the palette and the keys themselves
//! all read the same [`Keymap`], so what is shown is what is bound. Pure.

use std::collections::BTreeMap;

use super::action::{Action, Binding, Key, bindings, key_to_action};
use super::state::Mode;
use crate::config::KeyList;

/// The normal mode's bindings with the user's keys in place of the defaults they replace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keymap {
    /// Action → the user's keys for it.
    overrides: Vec<(Action, Vec<Key>)>,
}

/// What is wrong with `[tui.keys]`, at which entry (`tui.keys.archive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    pub field: String,
    pub message: String,
}

/// An action's name as `[tui.keys]` and the palette spell it: `next_unread`.
pub fn name_of(action: &Action) -> String {
    serde_json::to_value(action).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// A key as the config names it: a character (`x`, `X`, `*`), `space`, `enter`, `esc`, `tab`,
/// `shift-tab`, `backspace`, `del`, `up`, `down`, `left`, `right`, `home`, `end`, `pgup`,
/// `pgdn` (and the arrows `↑` `↓` `←` `→` as help shows them) or `ctrl-` and a letter.
pub fn parse_key(name: &str) -> Option<Key> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(match c {
            '↑' => Key::Up,
            '↓' => Key::Down,
            '←' => Key::Left,
            '→' => Key::Right,
            c if c.is_control() => return None,
            c => Key::Char(c),
        });
    }
    let lower = name.to_ascii_lowercase();
    if let Some(letter) = lower.strip_prefix("ctrl-").or_else(|| lower.strip_prefix("c-")) {
        let mut l = letter.chars();
        return match (l.next(), l.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => Some(Key::Ctrl(c)),
            _ => None,
        };
    }
    Some(match lower.as_str() {
        "space" => Key::Char(' '),
        "enter" | "return" => Key::Enter,
        "esc" | "escape" => Key::Esc,
        "tab" => Key::Tab,
        "shift-tab" | "backtab" => Key::BackTab,
        "backspace" => Key::Backspace,
        "del" | "delete" => Key::Delete,
        "up" => Key::Up,
        "down" => Key::Down,
        "left" => Key::Left,
        "right" => Key::Right,
        "home" => Key::Home,
        "end" => Key::End,
        "pgup" | "pageup" => Key::PageUp,
        "pgdn" | "pagedown" => Key::PageDown,
        _ => return None,
    })
}

impl Keymap {
    /// The keymap `[tui.keys]` asks for, or what is wrong with it.
    pub fn from_config(keys: &BTreeMap<String, KeyList>) -> Result<Keymap, KeymapError> {
        let defaults = bindings(Mode::Normal);
        let mut overrides = Vec::new();
        for (name, list) in keys {
            let field = format!("tui.keys.{name}");
            let Some(b) = defaults.iter().find(|b| name_of(&b.action) == *name) else {
                return Err(KeymapError {
                    field,
                    message: format!(
                        "no action `{name}`; the actions are {}",
                        defaults.iter().map(|b| name_of(&b.action)).collect::<Vec<_>>().join(", ")
                    ),
                });
            };
            let mut parsed = Vec::new();
            for k in list.names() {
                let key = parse_key(k).ok_or_else(|| KeymapError {
                    field: field.clone(),
                    message: format!(
                        "`{k}` is not a key: use a character, space, enter, esc, tab, shift-tab, \
                         backspace, del, up, down, left, right, home, end, pgup, pgdn or ctrl-LETTER"
                    ),
                })?;
                parsed.push(key);
            }
            overrides.push((b.action.clone(), parsed));
        }
        let map = Keymap { overrides };
        map.check_twice()?;
        Ok(map)
    }

    /// A key that would run two actions is an error, named at a rebound action's entry.
    fn check_twice(&self) -> Result<(), KeymapError> {
        let list = self.bindings(Mode::Normal);
        for (i, b) in list.iter().enumerate() {
            for key in &b.keys {
                let Some(other) = list[i + 1..].iter().find(|o| o.keys.contains(key)) else { continue };
                // Name the entry the user wrote (the other may be a default they kept).
                let mine = if self.overrides.iter().any(|(a, _)| *a == other.action) { other } else { b };
                let theirs = if std::ptr::eq(mine, b) { other } else { b };
                return Err(KeymapError {
                    field: format!("tui.keys.{}", name_of(&mine.action)),
                    message: format!(
                        "`{}` is bound twice: to {} and to {}",
                        key.label(),
                        name_of(&mine.action),
                        name_of(&theirs.action)
                    ),
                });
            }
        }
        Ok(())
    }

    /// The bindings of `mode`: the normal mode's with the user's keys.
    pub fn bindings(&self, mode: Mode) -> Vec<Binding> {
        let mut list = bindings(mode);
        if mode == Mode::Normal {
            for b in &mut list {
                if let Some((_, keys)) = self.overrides.iter().find(|(a, _)| *a == b.action) {
                    b.keys.clone_from(keys);
                }
            }
        }
        list
    }

    /// What `key` does in `mode`; `None` when nothing.
    pub fn action(&self, mode: Mode, key: Key) -> Option<Action> {
        if mode != Mode::Normal || self.overrides.is_empty() {
            return key_to_action(mode, key);
        }
        if let Some(b) = self.bindings(mode).into_iter().find(|b| b.keys.contains(&key)) {
            return Some(b.action);
        }
        // Home and End are first and last, wherever those moved.
        match key {
            Key::Home => Some(Action::Top),
            Key::End => Some(Action::Bottom),
            _ => None,
        }
    }
}
