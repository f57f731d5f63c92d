//! The Push section's device rows (when each was registered, its token cut to fit, how to
//! remove it) and the "remove this device?" dialog. Pure like every view.

use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use unicode_width::UnicodeWidthStr;

use super::overlay::{dialog, keys};
use crate::model::DeviceToken;
use crate::tui::action::bindings;
use crate::tui::app::App;
use crate::tui::prefs::rows::RowId;
use crate::tui::prefs::{Devices, Editor};
use crate::tui::state::Mode;

fn registered(d: &DeviceToken, tz: &TimeZone) -> String {
    d.created_at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string()
}

/// A token cut to `room` columns, keeping its start and its end (where tokens differ).
fn cut_token(token: &str, room: usize) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() <= room {
        return token.to_string();
    }
    if room < 9 {
        return chars.iter().take(room.saturating_sub(1)).chain(['…'].iter()).collect();
    }
    let tail = 6;
    let head = room - tail - 1;
    chars[..head].iter().chain(['…'].iter()).chain(chars[chars.len() - tail..].iter()).collect()
}

/// The Push section's device rows: when it was registered, then the token (and, under the
/// cursor, how to remove it when there is room); or why no device is listed.
pub(super) fn value(ed: &Editor, row: RowId, tz: &TimeZone, here: bool, room: usize) -> String {
    if let Some(d) = ed.device(row) {
        let when = format!("since {}  ", registered(d, tz));
        let left = room.saturating_sub(when.width());
        let hint = "  · x removes";
        let hint = if here && left >= d.token.width().min(16) + hint.width() { hint } else { "" };
        return format!("{when}{}{hint}", cut_token(&d.token, left - hint.width()));
    }
    match &ed.devices {
        Devices::Loading => "asking the server…".into(),
        Devices::Listed(_) => "none: the mobile app registers one (POST /device-tokens)".into(),
        Devices::Failed(e) => format!("not listed: {e} · enter retries"),
    }
}

pub(super) fn remove(app: &App, ed: &Editor, frame: &mut Frame, area: Rect, tz: &TimeZone) {
    let Some(d) = &ed.removing else { return };
    let mut lines = vec![
        Line::raw(format!("Remove this {} device?", d.provider)),
        Line::styled(d.token.clone(), Style::new().add_modifier(Modifier::BOLD)),
        Line::styled(format!("registered {}", registered(d, tz)), Style::new().fg(Color::Gray)),
        Line::default(),
        Line::raw("It gets no more pushes until the app registers it again."),
        Line::default(),
    ];
    lines.extend(keys(&bindings(Mode::PrefsRemoveDevice), app));
    dialog("Remove push device", lines, frame, area);
}
