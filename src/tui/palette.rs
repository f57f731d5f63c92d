//! The command palette (`:`): every action of the inbox, found by typing part of its name,
//! what it does or its key, so nothing needs to be remembered. The entries are the normal
//! mode's keymap (the same table the footer and help read); the search is a fuzzy
//! subsequence match that ranks a run of letters, and a letter at a word's start, higher.
//! Pure.

use super::action::Action;
use super::keymap::{Keymap, name_of};
use super::state::Mode;

/// The palette's state while it is open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Palette {
    pub query: String,
    /// The highlighted match.
    pub pick: usize,
}

/// One action as the palette lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// As `[tui.keys]` would name it: `next_unread`.
    pub name: String,
    pub keys: String,
    pub label: &'static str,
    pub action: Action,
}

/// Every action of the inbox, in the keymap's order (the palette itself left out), with the
/// user's keys.
pub fn entries(keys: &Keymap) -> Vec<Entry> {
    keys.bindings(Mode::Normal)
        .into_iter()
        .filter(|b| b.action != Action::Palette)
        .map(|b| Entry {
            name: name_of(&b.action),
            keys: b.keys.iter().map(|k| k.label()).collect::<Vec<_>>().join("/"),
            label: b.label,
            action: b.action,
        })
        .collect()
}

/// The entries `query` matches, best first (all of them, in order, for an empty query).
pub fn matches(query: &str, keys: &Keymap) -> Vec<Entry> {
    let mut scored: Vec<(i64, usize, Entry)> = entries(keys)
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let hay = format!("{} {} {}", e.label, e.name.replace('_', " "), e.keys);
            score(query, &hay).map(|s| (s, i, e))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, e)| e).collect()
}

/// How well `query` matches `hay` as a subsequence (case-insensitive), `None` when it does
/// not: each letter scores, more when it follows the last one or starts a word.
fn score(query: &str, hay: &str) -> Option<i64> {
    let hay: Vec<char> = hay.to_lowercase().chars().collect();
    let mut at = 0;
    let mut last: Option<usize> = None;
    let mut total = 0i64;
    for q in query.to_lowercase().chars().filter(|c| !c.is_whitespace()) {
        let i = (at..hay.len()).find(|i| hay[*i] == q)?;
        total += 1;
        if last.is_some_and(|l| l + 1 == i) {
            total += 5;
        }
        if i == 0 || !hay[i - 1].is_alphanumeric() {
            total += 3;
        }
        // A match far into the text counts a little less.
        total -= i64::try_from(i.min(40)).unwrap_or(0) / 10;
        last = Some(i);
        at = i + 1;
    }
    Some(total)
}
