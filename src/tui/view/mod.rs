//! `view(&App, &mut Frame)`: draws one state (STYLE habit 2). Pure: reads the state and the
//! frame's size, writes cells, nothing else; the list draws only the rows that fit. The
//! panes live in their own files: [`chrome`] (header, status line, footer), [`list`],
//! [`detail`], [`overlay`] (help, the small menus and dialogs), the command [`palette`] and the preference editor
//! ([`prefs`], with [`prefs_body`], [`prefs_rules`], [`prefs_devices`] and [`prefs_secret`]).

mod chrome;
mod detail;
mod list;
mod overlay;
mod palette;
mod pipe;
mod prefs;
mod prefs_body;
mod prefs_devices;
mod prefs_rules;
mod prefs_secret;
mod series;

#[cfg(test)]
pub(crate) use prefs_body::preview as prefs_preview;
#[cfg(test)]
pub(crate) use prefs_rules::event_of as prefs_event;

use ratatui::Frame;

use super::app::App;
use super::layout::areas;

pub fn view(app: &App, frame: &mut Frame) {
    draw(app, frame);
    if app.no_color {
        strip_colours(frame);
    } else {
        app.theme.paint(frame.buffer_mut());
    }
}

/// `NO_COLOR`: every cell in the terminal's own colours. Leaving none set also keeps the
/// backend from sending colour sequences, which under `NO_COLOR` crossterm writes empty
/// (`ESC [ ; m`, a full reset that would take bold and reverse video with it).
fn strip_colours(frame: &mut Frame) {
    for cell in &mut frame.buffer_mut().content {
        cell.set_fg(ratatui::style::Color::Reset).set_bg(ratatui::style::Color::Reset);
    }
}

fn draw(app: &App, frame: &mut Frame) {
    let a = areas(frame.area(), app.detail_open);
    if let Some(ed) = &app.editor {
        // The editor takes the panes' place; header, status line and footer stay.
        chrome::header(app, frame, a.header);
        let main = ratatui::layout::Rect {
            y: a.header.bottom(),
            height: a.status.y.saturating_sub(a.header.bottom()),
            ..frame.area()
        };
        prefs::editor(app, ed, frame, main);
        chrome::status(app, frame, a.status);
        chrome::footer(app, frame, a.footer);
        return;
    }
    let tally = app.tally();
    chrome::header(app, frame, a.header);
    if let Some(r) = a.sidebar {
        list::sidebar(app, &tally, frame, r);
    }
    if let Some(r) = a.list {
        list::list(app, &tally, frame, r);
    }
    if let Some(r) = a.detail {
        detail::detail(app, frame, r);
    }
    chrome::status(app, frame, a.status);
    chrome::footer(app, frame, a.footer);
    // Overlays float over the panes only: the header and the footer (which lists the
    // overlay's keys) stay visible.
    let panes = ratatui::layout::Rect {
        y: a.header.bottom(),
        height: a.footer.y.saturating_sub(a.header.bottom()),
        ..frame.area()
    };
    overlay::overlay(app, frame, panes);
    match app.mode {
        super::state::Mode::Palette => palette::palette(app, frame, panes),
        super::state::Mode::PipePrompt | super::state::Mode::PipeOutput => pipe::pipe(app, frame, panes),
        super::state::Mode::Series => series::series(app, frame, panes),
        _ => {}
    }
}
