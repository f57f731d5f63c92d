//! The new webhook secret's dialogs: the question, then the secret itself, whole (broken
//! over lines when the terminal is narrow, never cut) with `y` to copy it. Pure like every
//! view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

use super::overlay::{dialog, keys, wrapped};
use crate::tui::action::bindings;
use crate::tui::app::App;
use crate::tui::prefs::{Editor, NewSecret};
use crate::tui::state::Mode;

pub(super) fn secret(app: &App, ed: &Editor, frame: &mut Frame, area: Rect) {
    // The dialog's border and margins take four columns.
    let room = usize::from(area.width).saturating_sub(4).clamp(10, 64);
    match &ed.secret {
        None => {}
        Some(NewSecret::Asking) => {
            let mut lines = wrapped("Make a new webhook secret?", room);
            lines.push(Line::default());
            lines.extend(wrapped(
                "Your receiver needs the new one once you save; the old one works until then.",
                room,
            ));
            lines.push(Line::default());
            lines.extend(keys(&bindings(Mode::PrefsAskSecret), app));
            dialog("New webhook secret", lines, frame, area);
        }
        Some(NewSecret::Shown(s)) => {
            let mut lines = wrapped("Your new webhook secret, shown this once:", room);
            lines.push(Line::default());
            let chars: Vec<char> = s.chars().collect();
            for part in chars.chunks(room) {
                let text: String = part.iter().collect();
                lines.push(Line::styled(text, Style::new().add_modifier(Modifier::BOLD)));
            }
            lines.push(Line::default());
            lines.extend(wrapped("Give it to your receiver; w saves it.", room));
            lines.push(Line::default());
            lines.extend(keys(&bindings(Mode::PrefsShowSecret), app));
            dialog("New webhook secret", lines, frame, area);
        }
    }
}
