//! Everything that can happen to the TUI, as data (STYLE habit 4): user intents (imperative:
//! `ToggleRead`, `Archive`), facts from the sync connection (`Frame`, `Connected`,
//! `Disconnected`) and from the clock (`Tick`). The same enum is the keymap's vocabulary, so it
//! is serde (snake_case) and `[tui.keys]` rebinds keys to it (`keymap`). The default bindings live
//! here as one table per mode, which both [`key_to_action`] and the footer and help overlay
//! read, so the hints can never drift from the keys. No crossterm here: the shell converts
//! its key events into the small [`Key`] enum.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::state::{DndPreset, Mode, SnoozePreset, Tab};
use crate::model::{DeviceToken, View};
use crate::sync::protocol::ServerFrame;

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
    /// Scrolls the open detail a line, whichever pane has the focus.
    DetailDown,
    DetailUp,
    /// Scrolls the open detail half its height.
    DetailHalfDown,
    DetailHalfUp,
    OpenLink,
    ToggleRead,
    /// Asks for confirmation first.
    MarkAllRead,
    ConfirmYes,
    ConfirmNo,
    Archive,
    Undo,
    /// Opens the snooze menu (for a snoozed item, with "unsnooze now").
    Snooze,
    SnoozePick(SnoozePreset),
    /// Wakes the selected snoozed item now.
    Unsnooze,
    StartSearch,
    SearchInput(char),
    SearchBackspace,
    SearchCommit,
    SearchCancel,
    /// Opens the filter menu.
    Filter,
    /// Opens the view picker.
    PickView,
    /// Shows another part of the inbox: Inbox, Unread, Snoozed, Archived or All.
    SetView(View),
    /// The filter menu's way through the views.
    FilterNextView,
    /// Between the Inbox and Unread views.
    FilterToggleUnread,
    FilterNextCategory,
    FilterNextUrgency,
    FilterClear,
    /// Closes whichever menu or overlay is open.
    CloseMenu,
    MuteThread,
    /// Picks the item under the cursor for `r`, `a`, `s` and `m`, or drops it.
    ToggleSelect,
    /// Picks everything the list shows, or clears the selection.
    SelectAll,
    /// Connects again now instead of waiting out the backoff (or after a refused token).
    RetryNow,
    /// Opens the do-not-disturb menu.
    DoNotDisturb,
    Dnd(DndPreset),
    FocusNext,
    FocusPrev,
    /// The next unread item in the list (wrapping around), and the previous one.
    NextUnread,
    PrevUnread,
    /// The next urgent item in the list (wrapping around).
    NextUrgent,
    /// Copies the selected item's link to the clipboard (OSC 52).
    CopyLink,
    /// Copies the selected item's id.
    CopyId,
    /// Opens the command palette.
    Palette,
    PaletteInput(char),
    PaletteBackspace,
    PaletteDown,
    PaletteUp,
    /// Runs the palette's highlighted action.
    PaletteRun,
    /// Opens the selected item (title, body, link, data, deliveries, why) in `$PAGER`.
    OpenInPager,
    /// The pager closed; why it could not run, if it could not.
    Paged(Result<(), String>),
    /// Asks for a shell command and pipes the selected item's JSON to it.
    PipeTo,
    PipeInput(char),
    PipeBackspace,
    /// Runs the command typed at the `|` prompt.
    PipeRun,
    /// The piped command ended (or was stopped); what it printed and how it ended.
    Piped(PipeOutcome),
    /// Lists the items of one thread together, under their newest, or flat again.
    GroupThreads,
    /// In a series' view: its thread's items in the list.
    SeriesThread,
    /// A mouse click at a screen cell: selects the list row under it.
    Click {
        column: u16,
        row: u16,
    },
    /// Opens the preference editor (DESIGN §11).
    Preferences,
    /// Everything done inside the preference editor.
    Prefs(PrefsAction),
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
    /// The server refused the credentials; `reason` says how to fix them. Nothing retries.
    Refused {
        reason: String,
    },
    /// The terminal got the focus (the user is in front of it).
    FocusGained,
    /// The terminal lost the focus.
    FocusLost,
    /// The user clicked this item's desktop popup ("Open" or "Acknowledge").
    PopupAcknowledged {
        id: String,
    },
    /// A desktop popup could not be raised, and why.
    PopupFailed(String),
}

/// How a piped command ended, as the shell reports it to `update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeOutcome {
    /// Which run this answers (a newer `|` makes an older answer stale).
    pub run: u64,
    /// Its stdout and stderr as they came, control characters made visible.
    pub output: String,
    /// The output went past the cap and the rest was dropped (the command was stopped).
    pub cut: bool,
    /// `exit 0`, `exit 2`, `stopped after 10 s`, or why it could not start.
    pub ended: String,
    pub ok: bool,
}

/// What a key does in the preference editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefsAction {
    Tab(Tab),
    NextTab,
    PrevTab,
    Up,
    Down,
    Left,
    Right,
    /// Flips a switch, steps a choice, opens a text field, or toggles a matrix cell.
    Activate,
    ToggleRow,
    ToggleColumn,
    /// The row follows its category default again.
    ResetRow,
    /// On the webhook secret row: asks whether to make a new secret.
    RegenerateSecret,
    /// Yes: the shell makes one (randomness lives there) and answers `SecretGenerated`.
    ConfirmSecret,
    SecretGenerated(String),
    /// Copies the new secret shown in its dialog to the clipboard (OSC 52).
    CopySecret,
    /// Closes the new secret's dialog (the secret stays in the draft).
    DismissSecret,
    AddRule,
    EditRule,
    DeleteRule,
    MoveRuleUp,
    MoveRuleDown,
    ToggleRule,
    /// Opens or closes the rule test panel.
    TestPanel,
    TestNext,
    TestPrev,
    CloseForm,
    /// A key typed into the open text field.
    Input(Key),
    CommitField,
    /// Backs out of the field, leaving the value as it was.
    CancelField,
    Save,
    /// Leaves the editor; asks first when something is unsaved.
    Leave,
    /// After a version conflict: mine on every field both sides changed, then save.
    KeepMine,
    /// After a version conflict: theirs on every field both sides changed, then save what
    /// is left of mine.
    TakeTheirs,
    /// After a version conflict: save with each field both changed as picked.
    ResolveConflict,
    SaveAndLeave,
    Discard,
    /// Closes the dialog and keeps editing.
    Stay,
    /// Asks whether to remove the push device under the cursor.
    RemoveDevice,
    /// Yes: remove it (the shell asks REST).
    ConfirmRemoveDevice,
    /// The shell's answer to `Effect::FetchDevices`: the devices, or why there are none.
    DevicesListed(Result<Vec<DeviceToken>, String>),
    /// The shell's answer to `Effect::RemoveDevice`.
    DeviceRemoved {
        provider: String,
        token: String,
        result: Result<(), String>,
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
    BackTab,
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    /// A letter with Ctrl held (Ctrl-C is reported as `q`).
    Ctrl(char),
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
            Key::BackTab => "shift-tab".into(),
            Key::Delete => "del".into(),
            Key::Left => "←".into(),
            Key::Right => "→".into(),
            Key::Home => "home".into(),
            Key::End => "end".into(),
            Key::Ctrl(c) => format!("ctrl-{c}"),
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
    if let Some(list) = prefs_bindings(mode) {
        return list;
    }
    match mode {
        Mode::Normal => vec![
            bind(&[C('j'), Down], Action::MoveDown, "down", false),
            bind(&[C('k'), Up], Action::MoveUp, "up", false),
            bind(&[C('g')], Action::Top, "first", false),
            bind(&[C('G')], Action::Bottom, "last", false),
            bind(&[PageDown], Action::PageDown, "page down", false),
            bind(&[PageUp], Action::PageUp, "page up", false),
            bind(&[Enter], Action::OpenDetail, "open", true),
            bind(&[Esc], Action::CloseDetail, "close, or unselect", false),
            bind(&[C('J')], Action::DetailDown, "scroll the detail down", false),
            bind(&[C('K')], Action::DetailUp, "scroll the detail up", false),
            bind(&[Key::Ctrl('d')], Action::DetailHalfDown, "detail half a page down", false),
            bind(&[Key::Ctrl('u')], Action::DetailHalfUp, "detail half a page up", false),
            bind(&[C('o')], Action::OpenLink, "open link", false),
            bind(&[C('r')], Action::ToggleRead, "read", true),
            bind(&[C('R')], Action::MarkAllRead, "mark all listed read", false),
            bind(&[C('a')], Action::Archive, "archive or unarchive", true),
            bind(&[C('u')], Action::Undo, "undo", false),
            bind(&[C('s')], Action::Snooze, "snooze or unsnooze", true),
            bind(&[C('/')], Action::StartSearch, "search", true),
            bind(&[C('f')], Action::Filter, "filter", true),
            bind(&[C('V')], Action::PickView, "choose the view", false),
            bind(&[C('m')], Action::MuteThread, "mute thread", false),
            bind(&[C(' ')], Action::ToggleSelect, "select or unselect", false),
            bind(&[C('*')], Action::SelectAll, "select all listed", false),
            bind(&[C('D')], Action::DoNotDisturb, "do not disturb", false),
            bind(&[C('n')], Action::NextUnread, "next unread", false),
            bind(&[C('N')], Action::PrevUnread, "previous unread", false),
            bind(&[C('!')], Action::NextUrgent, "next urgent", false),
            bind(&[C('y')], Action::CopyLink, "copy the link", false),
            bind(&[C('Y')], Action::CopyId, "copy the id", false),
            bind(&[C('e')], Action::OpenInPager, "open in $PAGER", false),
            bind(&[C('|')], Action::PipeTo, "pipe JSON to a command", false),
            bind(&[C('t')], Action::GroupThreads, "group by thread", false),
            bind(&[Tab], Action::FocusNext, "next pane", false),
            bind(&[Key::BackTab], Action::FocusPrev, "previous pane", false),
            bind(&[Key::Ctrl('r')], Action::RetryNow, "reconnect now", false),
            bind(&[C('p')], Action::Preferences, "preferences", false),
            bind(&[C(':')], Action::Palette, "command palette", false),
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
        Mode::Palette => vec![
            bind(&[Enter], Action::PaletteRun, "run", true),
            bind(&[Esc], Action::CloseMenu, "close", true),
            bind(&[Down, Key::Ctrl('n')], Action::PaletteDown, "next", true),
            bind(&[Up, Key::Ctrl('p')], Action::PaletteUp, "previous", true),
            bind(&[Key::Backspace], Action::PaletteBackspace, "erase", false),
        ],
        Mode::PipePrompt => vec![
            bind(&[Enter], Action::PipeRun, "run", true),
            bind(&[Esc], Action::CloseMenu, "cancel", true),
            bind(&[Key::Backspace], Action::PipeBackspace, "erase", false),
        ],
        Mode::PipeOutput => vec![
            bind(&[C('j'), Down], Action::MoveDown, "scroll down", true),
            bind(&[C('k'), Up], Action::MoveUp, "scroll up", true),
            bind(&[PageDown], Action::PageDown, "page down", false),
            bind(&[PageUp], Action::PageUp, "page up", false),
            bind(&[C('|')], Action::PipeTo, "another command", true),
            bind(&[Esc, C('q')], Action::CloseMenu, "close", true),
        ],
        Mode::Series => vec![
            bind(&[Enter], Action::OpenDetail, "open the item", true),
            bind(&[C('t')], Action::SeriesThread, "its thread", true),
            bind(&[Esc, C('q')], Action::CloseMenu, "back", true),
        ],
        Mode::Help => vec![
            bind(&[C('j'), Down, PageDown], Action::MoveDown, "scroll down", true),
            bind(&[C('k'), Up, PageUp], Action::MoveUp, "scroll up", true),
            bind(&[C('?'), Esc, C('q')], Action::CloseMenu, "close help", true),
        ],
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
        Mode::UnsnoozeMenu => vec![
            bind(&[C('0'), C('u')], Action::Unsnooze, "unsnooze now", true),
            bind(&[C('1'), C('h')], Action::SnoozePick(SnoozePreset::Hour), "1 hour", true),
            bind(&[C('2'), C('t')], Action::SnoozePick(SnoozePreset::Tonight), "tonight 20:00", true),
            bind(&[C('3'), C('m')], Action::SnoozePick(SnoozePreset::Tomorrow), "tomorrow 09:00", true),
            bind(&[C('4'), C('w')], Action::SnoozePick(SnoozePreset::NextWeek), "next Monday 09:00", true),
            bind(&[Esc, C('s')], Action::CloseMenu, "cancel", true),
        ],
        Mode::ViewMenu => vec![
            bind(&[C('1'), C('i')], Action::SetView(View::Inbox), "Inbox", true),
            bind(&[C('2'), C('u')], Action::SetView(View::Unread), "Unread", true),
            bind(&[C('3'), C('s')], Action::SetView(View::Snoozed), "Snoozed", true),
            bind(&[C('4'), C('a')], Action::SetView(View::Archived), "Archived", true),
            bind(&[C('5'), C('A')], Action::SetView(View::All), "All", true),
            bind(&[Esc, C('V')], Action::CloseMenu, "cancel", true),
        ],
        Mode::FilterMenu => vec![
            bind(&[C('v')], Action::FilterNextView, "view", true),
            bind(&[C('u')], Action::FilterToggleUnread, "unread only", true),
            bind(&[C('c')], Action::FilterNextCategory, "category", true),
            bind(&[C('!')], Action::FilterNextUrgency, "urgency at least", true),
            bind(&[C('x')], Action::FilterClear, "clear", true),
            bind(&[Esc, Enter, C('f')], Action::CloseMenu, "done", true),
        ],
        Mode::Prefs(_)
        | Mode::PrefsField
        | Mode::PrefsRule
        | Mode::PrefsConflict
        | Mode::PrefsLeave
        | Mode::PrefsRemoveDevice
        | Mode::PrefsAskSecret
        | Mode::PrefsShowSecret => Vec::new(),
    }
}

fn pa(keys: &[Key], action: PrefsAction, label: &'static str, footer: bool) -> Binding {
    bind(keys, Action::Prefs(action), label, footer)
}

/// The preference editor's keymaps: keys shared by every tab, then each tab's own.
fn prefs_bindings(mode: Mode) -> Option<Vec<Binding>> {
    use Key::{BackTab, Char as C, Ctrl, Delete, Down, Enter, Esc, Left, Right, Tab as T, Up};
    use PrefsAction as P;
    let save = || pa(&[C('w'), Ctrl('s')], P::Save, "save", true);
    let moves = || vec![pa(&[C('j'), Down], P::Down, "down", false), pa(&[C('k'), Up], P::Up, "up", false)];
    Some(match mode {
        Mode::Prefs(tab) => {
            let mut list = vec![
                pa(&[C('1')], P::Tab(Tab::Channels), "channels", false),
                pa(&[C('2')], P::Tab(Tab::Events), "events", false),
                pa(&[C('3')], P::Tab(Tab::Quiet), "quiet hours", false),
                pa(&[C('4')], P::Tab(Tab::Delivery), "digest & escalation", false),
                pa(&[C('5')], P::Tab(Tab::Rules), "rules", false),
                pa(&[T], P::NextTab, "next tab", true),
                pa(&[BackTab], P::PrevTab, "previous tab", false),
            ];
            list.extend(moves());
            list.extend(match tab {
                Tab::Channels => vec![
                    pa(&[C(' '), Enter], P::Activate, "change", true),
                    pa(&[C('n')], P::RegenerateSecret, "new secret", true),
                    pa(&[C('x'), Delete], P::RemoveDevice, "remove push device", false),
                ],
                Tab::Quiet | Tab::Delivery => vec![pa(&[C(' '), Enter], P::Activate, "change", true)],
                Tab::Events => vec![
                    pa(&[C('h'), Left], P::Left, "left", false),
                    pa(&[C('l'), Right], P::Right, "right", false),
                    pa(&[C(' '), Enter], P::Activate, "toggle", true),
                    pa(&[C('r')], P::ToggleRow, "row", true),
                    pa(&[C('c')], P::ToggleColumn, "column", true),
                    pa(&[C('d')], P::ResetRow, "default", true),
                ],
                Tab::Rules => vec![
                    pa(&[C('a')], P::AddRule, "add", true),
                    pa(&[Enter, C('e')], P::EditRule, "edit", true),
                    pa(&[C('x'), Delete], P::DeleteRule, "delete", false),
                    pa(&[C('K')], P::MoveRuleUp, "move up", false),
                    pa(&[C('J')], P::MoveRuleDown, "move down", false),
                    pa(&[C(' ')], P::ToggleRule, "on/off", true),
                    pa(&[C('t')], P::TestPanel, "test", true),
                    pa(&[C(']')], P::TestNext, "next test item", false),
                    pa(&[C('[')], P::TestPrev, "previous test item", false),
                ],
            });
            list.push(save());
            list.push(pa(&[Esc, C('q')], P::Leave, "back", true));
            list
        }
        Mode::PrefsRule => {
            let mut list = moves();
            list.extend([
                pa(&[C(' '), Enter], P::Activate, "change", true),
                pa(&[C('t')], P::TestPanel, "test", true),
                pa(&[C(']')], P::TestNext, "next test item", false),
                pa(&[C('[')], P::TestPrev, "previous test item", false),
                save(),
                pa(&[Esc, C('q')], P::CloseForm, "rule list", true),
            ]);
            list
        }
        Mode::PrefsField => vec![
            pa(&[Enter], P::CommitField, "keep", true),
            pa(&[Esc], P::CancelField, "back out", true),
            pa(&[Up], P::Up, "previous match", false),
            pa(&[Down], P::Down, "next match", false),
        ],
        Mode::PrefsConflict => vec![
            pa(&[C('j'), Down], P::Down, "next field", false),
            pa(&[C('k'), Up], P::Up, "previous field", false),
            pa(&[C(' '), Left, Right], P::Activate, "yours or theirs", true),
            pa(&[Enter], P::ResolveConflict, "save as picked", true),
            pa(&[C('m')], P::KeepMine, "all mine", true),
            pa(&[C('t')], P::TakeTheirs, "all theirs", true),
            pa(&[Esc], P::Stay, "decide later", true),
        ],
        Mode::PrefsRemoveDevice => vec![
            pa(&[C('y'), Enter], P::ConfirmRemoveDevice, "remove it", true),
            pa(&[C('n'), Esc], P::Stay, "keep it", true),
        ],
        Mode::PrefsAskSecret => vec![
            pa(&[C('y'), Enter], P::ConfirmSecret, "make a new secret", true),
            pa(&[C('n'), Esc], P::Stay, "keep the old one", true),
        ],
        Mode::PrefsShowSecret => vec![
            pa(&[C('y')], P::CopySecret, "copy it", true),
            pa(&[Esc, Enter, C('q')], P::DismissSecret, "close", true),
        ],
        Mode::PrefsLeave => vec![
            pa(&[C('w'), C('s'), Ctrl('s')], P::SaveAndLeave, "save and leave", true),
            pa(&[C('d')], P::Discard, "discard", true),
            pa(&[Esc, C('n')], P::Stay, "keep editing", true),
        ],
        _ => return None,
    })
}

/// What a key does in a mode; `None` when it does nothing there. In search mode every
/// printable character is text.
pub fn key_to_action(mode: Mode, key: Key) -> Option<Action> {
    // Outside the editor, Home and End are `g` and `G` (first, last).
    let key = match key {
        Key::Home if !mode.in_prefs() => Key::Char('g'),
        Key::End if !mode.in_prefs() => Key::Char('G'),
        k => k,
    };
    if mode == Mode::Search
        && let Key::Char(c) = key
        && !c.is_control()
    {
        return Some(Action::SearchInput(c));
    }
    if mode == Mode::Palette
        && let Key::Char(c) = key
        && !c.is_control()
    {
        return Some(Action::PaletteInput(c));
    }
    if mode == Mode::PipePrompt
        && let Key::Char(c) = key
        && !c.is_control()
    {
        return Some(Action::PipeInput(c));
    }
    // In a text field every key but its own few is text (or cursor movement).
    if mode == Mode::PrefsField && !matches!(key, Key::Enter | Key::Esc | Key::Up | Key::Down) {
        return Some(Action::Prefs(PrefsAction::Input(key)));
    }
    bindings(mode).into_iter().find(|b| b.keys.contains(&key)).map(|b| b.action)
}
