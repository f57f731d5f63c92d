//! `[tui]`: the inbox's keys (`[tui.keys]`, action name → key or keys) and colours
//! (`[tui.theme]`). Only the shape and the colours are checked here: the action and key
//! names belong to the TUI's keymap, which `config check` and the TUI's start ask (the config
//! names nothing above the model).

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::FieldError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TuiConfig {
    /// An action of the inbox, by the name the command palette shows (`archive`,
    /// `next_unread`), → the key or keys that run it instead of its default ones.
    pub keys: BTreeMap<String, KeyList>,
    pub theme: ThemeConfig,
}

/// One key (`"x"`) or several (`["x", "ctrl-a"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn names(&self) -> Vec<&str> {
        match self {
            KeyList::One(k) => vec![k.as_str()],
            KeyList::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// The built-in palettes: `dark` for a dark terminal background, `light` for a light one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
}

/// A built-in theme, with any of its colours replaced. A colour is a name (`cyan`,
/// `lightred`, `darkgray`), an index of the 256-colour palette (`208`) or `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ThemeConfig {
    pub name: ThemeName,
    /// Keys, the focused border, the sparkline, unread dots.
    pub accent: Option<String>,
    /// Ages, hints, secondary text.
    pub muted: Option<String>,
    /// Borders of the panes without the focus.
    pub border: Option<String>,
    /// Errors and urgent items.
    pub error: Option<String>,
    /// Warnings and high-urgency items.
    pub warning: Option<String>,
    /// Snoozed items and quiet hours.
    pub snoozed: Option<String>,
    /// The check mark of selected items.
    pub selected: Option<String>,
    /// Switches that are on, deliveries that went out.
    pub ok: Option<String>,
    pub header_fg: Option<String>,
    pub header_bg: Option<String>,
}

impl ThemeConfig {
    /// The colour roles by their config names, with what the user set.
    pub fn roles(&self) -> [(&'static str, Option<&str>); 10] {
        [
            ("accent", self.accent.as_deref()),
            ("muted", self.muted.as_deref()),
            ("border", self.border.as_deref()),
            ("error", self.error.as_deref()),
            ("warning", self.warning.as_deref()),
            ("snoozed", self.snoozed.as_deref()),
            ("selected", self.selected.as_deref()),
            ("ok", self.ok.as_deref()),
            ("header_fg", self.header_fg.as_deref()),
            ("header_bg", self.header_bg.as_deref()),
        ]
    }
}

impl TuiConfig {
    pub(super) fn validate(&self) -> Result<(), FieldError> {
        for (role, colour) in self.theme.roles() {
            if let Some(c) = colour
                && ratatui::style::Color::from_str(c).is_err()
            {
                return Err(FieldError::new(
                    format!("tui.theme.{role}"),
                    format!(
                        "expected a colour name (cyan, lightred, darkgray…), 0–255 or #rrggbb, found `{c}`"
                    ),
                ));
            }
        }
        for (action, keys) in &self.keys {
            if keys.names().is_empty() {
                return Err(FieldError::new(format!("tui.keys.{action}"), "expected at least one key"));
            }
        }
        Ok(())
    }
}
