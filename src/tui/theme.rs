//! `[tui.theme]`: the colours the view draws with. The view draws in the `dark` palette; a
//! theme repaints each cell's colours by role (accent, muted, border, error, …), from the
//! built-in `light` palette and the user's own colours. `NO_COLOR` wins over any theme (the
//! view then draws no colour at all). Pure.

use std::str::FromStr;

use ratatui::buffer::Buffer;
use ratatui::style::Color;

use crate::config::{ThemeConfig, ThemeName};

/// Each role's colour in the `dark` palette, as the view draws it, by its config name.
const ROLES: [(&str, Color); 10] = [
    ("accent", Color::Cyan),
    ("muted", Color::Gray),
    ("border", Color::DarkGray),
    ("error", Color::LightRed),
    ("warning", Color::Yellow),
    ("snoozed", Color::LightMagenta),
    ("selected", Color::LightGreen),
    ("ok", Color::Green),
    ("header_fg", Color::White),
    ("header_bg", Color::Blue),
];

/// For a light background: darker colours where the dark palette has light ones.
const LIGHT: [(&str, Color); 10] = [
    ("accent", Color::Blue),
    ("muted", Color::DarkGray),
    ("border", Color::Gray),
    ("error", Color::Red),
    ("warning", Color::Indexed(130)),
    ("snoozed", Color::Magenta),
    ("selected", Color::Green),
    ("ok", Color::Green),
    ("header_fg", Color::White),
    ("header_bg", Color::Blue),
];

/// Which drawn colour becomes which; empty for the dark theme as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Theme {
    swaps: Vec<(Color, Color)>,
}

impl Theme {
    /// The theme `[tui.theme]` names, with its colours (the config checked them).
    pub fn from_config(c: &ThemeConfig) -> Theme {
        let mut swaps = Vec::new();
        for (i, (role, user)) in c.roles().into_iter().enumerate() {
            let (_, drawn) = ROLES[i];
            debug_assert_eq!(ROLES[i].0, role);
            let base = match c.name {
                ThemeName::Dark => drawn,
                ThemeName::Light => LIGHT[i].1,
            };
            let wanted = user.and_then(|u| Color::from_str(u).ok()).unwrap_or(base);
            if wanted != drawn {
                swaps.push((drawn, wanted));
            }
        }
        Theme { swaps }
    }

    fn swap(&self, c: Color) -> Color {
        self.swaps.iter().find(|(from, _)| *from == c).map_or(c, |(_, to)| *to)
    }

    /// Repaints every cell of `buf`.
    pub fn paint(&self, buf: &mut Buffer) {
        if self.swaps.is_empty() {
            return;
        }
        for cell in &mut buf.content {
            let (fg, bg) = (self.swap(cell.fg), self.swap(cell.bg));
            cell.set_fg(fg).set_bg(bg);
        }
    }
}
