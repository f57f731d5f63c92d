//! Everything that can happen to the TUI, as data (STYLE habit 4): user intents (imperative:
//! `ToggleRead`, `Archive`), facts from the sync connection (`Frame`, `Connected`,
//! `Disconnected`) and from the clock (`Tick`). The same enum is the keymap's vocabulary, so it
//! is serde (snake_case) and config can rebind keys to it later. The default bindings live
//! here as one table per mode, which both [`key_to_action`] and the footer and help overlay
//! read, so the hints can never drift from the keys. No crossterm here: the shell converts
//! its key events into the small [`Key`] enum.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::app::Mode;
use crate::model::Notification;
use crate::sync::protocol::ServerFrame;

/// When a snooze ends; clock times are in the user's zone (quiet hours' `timezone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnoozePreset {
    /// One hour from now.
    Hour,
    /// The next 20:00.
    Tonight,
    /// Tomorrow 09:00.
    Tomorrow,
    /// Next Monday 09:00.
    NextWeek,
}

/// How long do-not-disturb lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DndPreset {
    Hour,
    /// Tomorrow 09:00 in the user's zone.
    Tomorrow,
    Off,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    MoveUp,
    MoveDown,
    Top,
    Bottom,
    PageUp,
    PageDown,
    OpenDetail,
    CloseDetail,
    OpenLink,
    ToggleRead,
    /// Asks for confirmation first.
    MarkAllRead,
    ConfirmYes,
    ConfirmNo,
    Archive,
    Undo,
    /// Opens the snooze menu.
    Snooze,
    SnoozePick(SnoozePreset),
    StartSearch,
    SearchInput(char),
    SearchBackspace,
    SearchCommit,
    SearchCancel,
    /// Opens the filter menu.
    Filter,
    FilterToggleUnread,
    FilterNextCategory,
    FilterNextUrgency,
    FilterClear,
    /// Closes whichever menu or overlay is open.
    CloseMenu,
    MuteThread,
    /// Opens the do-not-disturb menu.
    DoNotDisturb,
    Dnd(DndPreset),
    FocusNext,
    /// A mouse click at a screen cell: selects the list row under it.
    Click {
        column: u16,
        row: u16,
    },
    /// The preferences screen (DESIGN §11); not built yet, so it only says so.
    Preferences,
    Help,
    Quit,
    Tick(Timestamp),
    Resize {
        width: u16,
        height: u16,
    },
    /// A frame from the sync connection.
    Frame(ServerFrame),
    /// The transport is up; `host` is `None` in embedded mode (in-process channel).
    Connected {
        host: Option<String>,
    },
    /// The transport is down; `None` means no retry is planned (offline).
    Disconnected {
        retry_in_secs: Option<u64>,
    },
    /// The inbox as refetched after `snapshot_required` (the shell asks REST for it).
    Snapshot {
        items: Vec<Notification>,
    },
}

/// A key, as the shell reports it (converted from crossterm there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    Char(char),
    Up,
    Down,
    PageUp,
    PageDown,
    Enter,
    Esc,
    Tab,
    Backspace,
}

impl Key {
    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "space".into(),
            Key::Char(c) => c.to_string(),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::PageUp => "PgUp".into(),
            Key::PageDown => "PgDn".into(),
            Key::Enter => "enter".into(),
            Key::Esc => "esc".into(),
            Key::Tab => "tab".into(),
            Key::Backspace => "backspace".into(),
        }
    }
}

/// One row of the keymap: the keys, what they do, and how help and the footer say it.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: Action,
    pub label: &'static str,
    /// Listed in the footer (the rest only in help).
    pub footer: bool,
}

fn bind(keys: &[Key], action: Action, label: &'static str, footer: bool) -> Binding {
    Binding { keys: keys.to_vec(), action, label, footer }
}

/// The default keymap of one mode (DESIGN §11), in the order help lists it.
pub fn bindings(mode: Mode) -> Vec<Binding> {
    use Key::{Char as C, Down, Enter, Esc, PageDown, PageUp, Tab, Up};
    match mode {
        Mode::Normal => vec![
            bind(&[C('j'), Down], Action::MoveDown, "down", false),
            bind(&[C('k'), Up], Action::MoveUp, "up", false),
            bind(&[C('g')], Action::Top, "first", false),
            bind(&[C('G')], Action::Bottom, "last", false),
            bind(&[PageDown], Action::PageDown, "page down", false),
            bind(&[PageUp], Action::PageUp, "page up", false),
            bind(&[Enter], Action::OpenDetail, "open", true),
            bind(&[Esc], Action::CloseDetail, "close detail", false),
            bind(&[C('o')], Action::OpenLink, "open link", false),
            bind(&[C('r')], Action::ToggleRead, "read", true),
            bind(&[C('R')], Action::MarkAllRead, "all read", false),
            bind(&[C('a')], Action::Archive, "archive", true),
            bind(&[C('u')], Action::Undo, "undo", false),
            bind(&[C('s')], Action::Snooze, "snooze", true),
            bind(&[C('/')], Action::StartSearch, "search", true),
            bind(&[C('f')], Action::Filter, "filter", true),
            bind(&[C('m')], Action::MuteThread, "mute thread", false),
            bind(&[C('D')], Action::DoNotDisturb, "do not disturb", false),
            bind(&[Tab], Action::FocusNext, "next pane", false),
            bind(&[C('p')], Action::Preferences, "preferences", false),
            bind(&[C('?')], Action::Help, "help", true),
            bind(&[C('q')], Action::Quit, "quit", true),
        ],
        Mode::Search => vec![
            bind(&[Enter], Action::SearchCommit, "keep", true),
            bind(&[Esc], Action::SearchCancel, "clear", true),
            bind(&[Key::Backspace], Action::SearchBackspace, "erase", false),
            bind(&[Down], Action::MoveDown, "down", false),
            bind(&[Up], Action::MoveUp, "up", false),
        ],
        Mode::Help => vec![bind(&[C('?'), Esc, C('q')], Action::CloseMenu, "close help", true)],
        Mode::ConfirmMarkAllRead => vec![
            bind(&[C('y'), Enter], Action::ConfirmYes, "mark all read", true),
            bind(&[C('n'), Esc], Action::ConfirmNo, "cancel", true),
        ],
        Mode::SnoozeMenu => vec![
            bind(&[C('1'), C('h')], Action::SnoozePick(SnoozePreset::Hour), "1 hour", true),
            bind(&[C('2'), C('t')], Action::SnoozePick(SnoozePreset::Tonight), "tonight 20:00", true),
            bind(&[C('3'), C('m')], Action::SnoozePick(SnoozePreset::Tomorrow), "tomorrow 09:00", true),
            bind(&[C('4'), C('w')], Action::SnoozePick(SnoozePreset::NextWeek), "next Monday 09:00", true),
            bind(&[Esc, C('s')], Action::CloseMenu, "cancel", true),
        ],
        Mode::DndMenu => vec![
            bind(&[C('1'), C('h')], Action::Dnd(DndPreset::Hour), "1 hour", true),
            bind(&[C('2'), C('t')], Action::Dnd(DndPreset::Tomorrow), "until tomorrow 09:00", true),
            bind(&[C('3'), C('o')], Action::Dnd(DndPreset::Off), "off", true),
            bind(&[Esc, C('D')], Action::CloseMenu, "cancel", true),
        ],
        Mode::FilterMenu => vec![
            bind(&[C('u')], Action::FilterToggleUnread, "unread only", true),
            bind(&[C('c')], Action::FilterNextCategory, "category", true),
            bind(&[C('!')], Action::FilterNextUrgency, "urgency at least", true),
            bind(&[C('x')], Action::FilterClear, "clear", true),
            bind(&[Esc, Enter, C('f')], Action::CloseMenu, "done", true),
        ],
    }
}

/// What a key does in a mode; `None` when it does nothing there. In search mode every
/// printable character is text.
pub fn key_to_action(mode: Mode, key: Key) -> Option<Action> {
    if mode == Mode::Search
        && let Key::Char(c) = key
        && !c.is_control()
    {
        return Some(Action::SearchInput(c));
    }
    bindings(mode).into_iter().find(|b| b.keys.contains(&key)).map(|b| b.action)
}
