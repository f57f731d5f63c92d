//! The small state types every part of the TUI shares: which pane has the focus, which
//! keymap is live ([`Mode`]), the preference editor's tabs, the snooze and do-not-disturb
//! presets, and what the client last told the server about presence and desktop popups. A
//! leaf: it names nothing else of the TUI, so the state (`app`, `prefs`), the keymap
//! (`action`), the presets and `update` can all use it without importing each other.

use std::collections::HashSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::PresenceState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Focus {
    Sidebar,
    List,
    Detail,
}

/// Which keymap is live and which overlay shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Normal,
    Search,
    Help,
    ConfirmMarkAllRead,
    SnoozeMenu,
    DndMenu,
    FilterMenu,
    /// The view picker (`V`).
    ViewMenu,
    /// The snooze menu of an item that is snoozed: it can also wake now.
    UnsnoozeMenu,
    /// The command palette (`:`): every action, found by typing.
    Palette,
    /// `|`: typing the shell command the selected item's JSON goes to.
    PipePrompt,
    /// What the piped command printed, and how it ended (or that it still runs).
    PipeOutput,
    /// `enter` on a `×N` series: what is known of its occurrences.
    Series,
    /// The preference editor on a tab.
    Prefs(Tab),
    /// Typing in one of the editor's text fields.
    PrefsField,
    /// A rule's form.
    PrefsRule,
    /// A save met a newer version on the server.
    PrefsConflict,
    /// Leaving the editor with unsaved changes.
    PrefsLeave,
    /// "Remove this push device?"
    PrefsRemoveDevice,
    /// "Make a new webhook secret?"
    PrefsAskSecret,
    /// The new webhook secret, shown in full until dismissed.
    PrefsShowSecret,
}

impl Mode {
    pub fn in_prefs(self) -> bool {
        matches!(
            self,
            Mode::Prefs(_)
                | Mode::PrefsField
                | Mode::PrefsRule
                | Mode::PrefsConflict
                | Mode::PrefsLeave
                | Mode::PrefsRemoveDevice
                | Mode::PrefsAskSecret
                | Mode::PrefsShowSecret
        )
    }
}

/// The editor's tabs, in the order the number keys pick them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tab {
    Channels,
    Events,
    Quiet,
    Delivery,
    Rules,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Channels, Tab::Events, Tab::Quiet, Tab::Delivery, Tab::Rules];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Channels => "Channels",
            Tab::Events => "Events",
            Tab::Quiet => "Quiet hours",
            Tab::Delivery => "Digest & escalation",
            Tab::Rules => "Rules",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The tab `by` steps away, wrapping around.
    pub fn shifted(self, by: isize) -> Tab {
        let len = Tab::ALL.len().cast_signed();
        let at = (self.index().cast_signed() + by).rem_euclid(len);
        Tab::ALL[at.unsigned_abs()]
    }
}

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

/// What `update` told the server about the user's presence (DESIGN §4: the engine does not
/// ping about the thread being read), so it says so again only when it changes, or as a
/// heartbeat within the engine's TTL while the user is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceReport {
    /// The terminal has the focus. Terminals report changes only; one just started is in
    /// front of the user.
    pub focused: bool,
    /// What the current connection was last told; `None` on a new connection.
    pub sent: Option<(PresenceState, Option<String>)>,
    /// When, by the clock `Tick` brings.
    pub sent_at: Option<Timestamp>,
}

impl Default for PresenceReport {
    fn default() -> Self {
        PresenceReport { focused: true, sent: None, sent_at: None }
    }
}

/// The desktop popups of a client (DESIGN §8): raised only against a dispatcher on another
/// machine, once each, and only for live changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PopupState {
    /// The dispatcher is on another machine (`--server`): it cannot raise popups here.
    pub remote: bool,
    /// The server's head at the last `welcome`: changes up to it are replayed history.
    pub head: i64,
    /// Items whose popup was raised (or was due while replayed): never raised again.
    pub raised: HashSet<String>,
    /// Popups are off, and why (no session bus over SSH or in a container): said once on
    /// the status line, then kept in the header (`no popups`) and at the top of help.
    pub off: Option<String>,
}
