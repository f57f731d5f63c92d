//! Where each pane goes for a terminal size (DESIGN §11): header, sidebar, list, detail,
//! status line and footer. Shared by `view` (to draw) and `update` (a page is as many rows as
//! the list shows), so both agree. Pure geometry: from 80×24 up every pane has room; below,
//! panes are dropped (sidebar first, then the list behind an open detail) rather than
//! squeezed until nothing fits.

use ratatui::layout::{Constraint, Layout, Rect};

/// Terminal width from which the category sidebar shows.
const SIDEBAR_FROM: u16 = 60;
/// Terminal width from which the detail sits beside the list rather than below it.
const DETAIL_BESIDE_FROM: u16 = 110;
/// Main-area height from which list and detail are stacked rather than detail alone.
const STACK_FROM: u16 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub sidebar: Option<Rect>,
    pub list: Option<Rect>,
    pub detail: Option<Rect>,
    pub status: Rect,
    pub footer: Rect,
}

pub fn areas(area: Rect, detail_open: bool) -> Areas {
    let [header, main, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (sidebar, rest) = if area.width >= SIDEBAR_FROM {
        let width = if area.width >= 100 { 22 } else { 18 };
        let [s, r] = Layout::horizontal([Constraint::Length(width), Constraint::Min(0)]).areas(main);
        (Some(s), r)
    } else {
        (None, main)
    };
    let (list, detail) = if !detail_open {
        (Some(rest), None)
    } else if area.width >= DETAIL_BESIDE_FROM {
        let [l, d] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(rest);
        (Some(l), Some(d))
    } else if rest.height >= STACK_FROM {
        let [l, d] = Layout::vertical([Constraint::Percentage(40), Constraint::Min(0)]).areas(rest);
        (Some(l), Some(d))
    } else {
        (None, Some(rest))
    };
    Areas { header, sidebar, list, detail, status, footer }
}

/// How many notifications the list shows at once (inside its border).
pub fn list_rows(width: u16, height: u16, detail_open: bool) -> usize {
    let a = areas(Rect::new(0, 0, width, height), detail_open);
    a.list.map_or(0, |r| usize::from(r.height.saturating_sub(2)))
}
