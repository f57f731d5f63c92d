//! The preference editor's state (DESIGN §11, issue 5): a draft of the user's preferences
//! edited from one version, the tab and row under the cursor, the text field being typed in
//! (a tui-textarea), the rule form, the rule test panel, and the dialogs for a version
//! conflict and for leaving with unsaved changes. Queries only, like [`crate::tui::app`]:
//! changes happen in `update`, drawing in `view`. Validation is never written here: every
//! check calls the functions of [`crate::prefs`] that REST `PUT /settings` runs, so a bad
//! value gets the same message both ways.

pub mod matrix;
pub mod merge;
pub mod rows;
pub(super) mod text;
pub(super) mod values;

use tui_textarea::TextArea;

use self::rows::RowId;
use super::state::Tab;

use crate::model::DeviceToken;
use crate::model::FieldError;
use crate::prefs::{Preferences, Required, Rule, RuleMatch};
use crate::tui::row::Row;

/// A text field being typed in: which row it edits, the widget, and what is wrong with the
/// text so far (checked on every key).
#[derive(Debug, Clone)]
pub struct FieldEdit {
    pub row: rows::RowId,
    pub area: TextArea<'static>,
    pub error: Option<String>,
    /// For the time-zone field: the highlighted match.
    pub pick: usize,
}

impl FieldEdit {
    pub fn new(row: rows::RowId, text: String) -> FieldEdit {
        let mut area = TextArea::new(vec![text]);
        // The old value is selected: typing replaces it, an arrow key keeps it.
        area.select_all();
        FieldEdit { row, area, error: None, pick: 0 }
    }

    pub fn text(&self) -> String {
        self.area.lines().join("")
    }
}

// The widget has no `PartialEq`; what the user typed and where the cursor is are what count.
impl PartialEq for FieldEdit {
    fn eq(&self, other: &Self) -> bool {
        self.row == other.row
            && self.area.lines() == other.area.lines()
            && self.area.cursor() == other.area.cursor()
            && self.error == other.error
            && self.pick == other.pick
    }
}

/// The user's push devices as REST `GET /device-tokens` last answered (the shell asks when
/// the editor opens and after a removal).
#[derive(Debug, Clone, PartialEq)]
pub enum Devices {
    Loading,
    Listed(Vec<DeviceToken>),
    Failed(String),
}

/// The new webhook secret's two steps: the question, then the secret itself, shown whole in
/// a dialog until the user closes it (the only time it is ever shown).
#[derive(Debug, Clone, PartialEq)]
pub enum NewSecret {
    Asking,
    Shown(String),
}

/// The server refused a save because the preferences moved on: theirs, merged with ours
/// field by field, and the fields both changed, each with the side picked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub theirs: Preferences,
    pub version: i64,
    pub merge: merge::Merge,
    /// Per clash: keep mine (`true`, the default) or take theirs.
    pub picks: Vec<bool>,
    /// The clash under the cursor.
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Editor {
    /// The version the draft was edited from; a save sends it, so a stale one is refused.
    pub version: i64,
    /// The preferences at that version, to tell whether anything changed.
    pub base: Preferences,
    pub draft: Preferences,
    pub tab: Tab,
    /// The row under the cursor, per tab (by [`Tab::index`]).
    pub cursor: [usize; 5],
    /// The matrix's channel column.
    pub column: usize,
    pub field: Option<FieldEdit>,
    /// The rule whose form is open, and the form's row.
    pub rule: Option<usize>,
    pub rule_row: usize,
    /// The rule test panel is open on this inbox item (index into the list, newest first).
    pub test: Option<usize>,
    /// The `req` of the save in flight.
    pub saving: Option<u64>,
    pub conflict: Option<Conflict>,
    /// The "leave with unsaved changes?" question is up.
    pub leaving: bool,
    /// Leave once the save in flight is accepted.
    pub close_after_save: bool,
    /// What the last save attempt found wrong (here or on the server), shown under its row.
    pub error: Option<FieldError>,
    /// Event types seen in the inbox when the editor opened, with their categories: rows of
    /// the matrix besides those the preferences name.
    pub seen: Vec<(String, String)>,
    /// The system's time zone, offered first when searching zones.
    pub system_zone: Option<String>,
    /// Push devices, listed in the Channels tab's Push section.
    pub devices: Devices,
    /// The device the "remove it?" question is about.
    pub removing: Option<DeviceToken>,
    /// The organisation's required cells: drawn locked, never turned off here.
    pub required: Required,
    /// A new webhook secret being asked for or shown.
    pub secret: Option<NewSecret>,
    /// The user was warned that a rule mutes everything; the next save goes ahead.
    pub mute_all_confirmed: bool,
}

impl Editor {
    pub fn new(
        prefs: Preferences,
        version: i64,
        seen: Vec<(String, String)>,
        system_zone: Option<String>,
    ) -> Editor {
        Editor {
            version,
            base: prefs.clone(),
            draft: prefs,
            tab: Tab::Channels,
            cursor: [0; 5],
            column: 0,
            field: None,
            rule: None,
            rule_row: 0,
            test: None,
            saving: None,
            conflict: None,
            leaving: false,
            close_after_save: false,
            error: None,
            seen,
            system_zone,
            devices: Devices::Loading,
            removing: None,
            required: Required::default(),
            secret: None,
            mute_all_confirmed: false,
        }
    }

    pub fn dirty(&self) -> bool {
        self.draft != self.base
    }

    pub fn row(&self) -> usize {
        self.cursor[self.tab.index()]
    }

    /// The rows the cursor moves over on the current tab (or in the open rule form).
    pub fn rows(&self) -> Vec<rows::RowId> {
        if let Some(i) = self.rule {
            return rows::rule_form(i);
        }
        match self.tab {
            Tab::Channels => self.channel_rows(),
            Tab::Quiet => rows::QUIET.to_vec(),
            Tab::Delivery => rows::delivery(),
            Tab::Events | Tab::Rules => Vec::new(),
        }
    }

    /// The row under the cursor, on a tab made of rows.
    pub fn current(&self) -> Option<rows::RowId> {
        let at = if self.rule.is_some() { self.rule_row } else { self.row() };
        self.rows().get(at).copied()
    }

    /// The Channels tab's rows: the Push section ends with one row per listed device (or
    /// one row saying why there is none).
    pub fn channel_rows(&self) -> Vec<RowId> {
        let mut list = rows::CHANNELS.to_vec();
        if let Devices::Listed(d) = &self.devices
            && !d.is_empty()
        {
            list.pop();
            list.extend((0..d.len()).map(RowId::Device));
        }
        list
    }

    /// The push device on a device row.
    pub fn device(&self, row: RowId) -> Option<&DeviceToken> {
        match (row, &self.devices) {
            (RowId::Device(i), Devices::Listed(d)) => d.get(i),
            _ => None,
        }
    }

    pub fn matrix(&self) -> Vec<matrix::MatrixRow> {
        matrix::rows(&self.draft, &self.seen)
    }
}

/// A rule with no conditions that mutes: it silences every item, urgent ones too.
pub fn mutes_everything(r: &Rule) -> bool {
    r.enabled && r.actions.mute && r.matcher == RuleMatch::default()
}

/// How many of these inbox items a rule's conditions match (its `data` conditions cannot be
/// checked: the inbox keeps no data, so those count as not matching).
pub fn inbox_matches<'a>(items: impl Iterator<Item = &'a Row>, m: &RuleMatch) -> (usize, usize) {
    let (mut hit, mut all) = (0, 0);
    for r in items.filter(|r| !r.is_archived()) {
        all += 1;
        hit += usize::from(crate::engine::rules::matches(m, &r.event(None), &r.category, r.urgency));
    }
    (hit, all)
}
