//! How numbers, ages and views read on screen, wherever they are said: the list and the
//! header, the status line `update` writes, the detail pane. A leaf: it names nothing else of
//! the TUI.

use jiff::Timestamp;

use crate::model::View;

/// A count as people read it: `12,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A view's name on screen.
pub fn view_name(view: View) -> &'static str {
    match view {
        View::Inbox => "Inbox",
        View::Unread => "Unread",
        View::Snoozed => "Snoozed",
        View::Archived => "Archived",
        View::All => "All",
    }
}

/// How long ago, in the largest whole unit: `now`, `5m`, `3h`, `2d`, `6w`, `1y`.
pub(super) fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = now.duration_since(then).as_secs();
    match secs {
        ..60 => "now".into(),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        86_400..604_800 => format!("{}d", secs / 86_400),
        604_800..31_536_000 => format!("{}w", secs / 604_800),
        _ => format!("{}y", secs / 31_536_000),
    }
}
