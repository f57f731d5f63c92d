//! Presence, decided (DESIGN §4): after every action, what the user is doing — active while
//! the terminal has the focus, idle otherwise, and viewing the thread open in the detail pane
//! — goes to the server when it differs from what the connection was last told, and again as
//! a heartbeat every [`HEARTBEAT`] while active, so the engine's view stays within its TTL.
//! Time is the clock `Tick` brings. Nothing is said while the connection is down: a new
//! connection is told at once. Pure.

use jiff::SignedDuration;

use crate::engine::PresenceState;
use crate::tui::app::App;
use crate::tui::effect::Effect;

/// How often an active user's presence is said again.
pub const HEARTBEAT: SignedDuration = SignedDuration::from_secs(30);

/// Says what changed (or what is due again), as [`Effect::ReportPresence`].
pub(super) fn report(app: &mut App, fx: &mut Vec<Effect>) {
    if !app.connection.is_up() {
        return;
    }
    let focused = app.presence.focused;
    let state = if focused { PresenceState::Active } else { PresenceState::Idle };
    let viewing = if focused && app.detail_open {
        app.selected_item().and_then(|r| r.thread.as_deref().map(str::to_string))
    } else {
        None
    };
    let now = (state, viewing);
    // A wall clock set back must not silence the heartbeat until it catches up again.
    let due = app
        .presence
        .sent_at
        .map(|t| app.now.duration_since(t))
        .is_none_or(|d| d >= HEARTBEAT || d.is_negative());
    if app.presence.sent.as_ref() != Some(&now) || (due && state == PresenceState::Active) {
        fx.push(Effect::ReportPresence { state, viewing: now.1.clone() });
        app.presence.sent = Some(now);
        app.presence.sent_at = Some(app.now);
    }
}

/// A new connection knows nothing of our presence yet.
pub(super) fn forget(app: &mut App) {
    app.presence.sent = None;
    app.presence.sent_at = None;
}
