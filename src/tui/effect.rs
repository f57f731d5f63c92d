//! What `update` asks the shell to do, as data: the only way the pure core reaches the
//! network, the desktop or the terminal. The shell runs effects in order.

use crate::engine::PresenceState;
use crate::model::Notification;
use crate::sync::protocol::ClientFrame;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a frame on the sync connection (`hello` first on connect, then commands, each
    /// with a fresh `req`).
    Send(ClientFrame),
    /// Open a link in the user's browser.
    OpenUrl(String),
    /// Drop the sync connection and connect again at once (answered by `Connected`): the
    /// server said `snapshot_required`, and a connection with no history gets the inbox
    /// afresh as `snapshot` pages.
    Reconnect,
    /// Make a new webhook secret and answer with `PrefsAction::SecretGenerated` (the core
    /// has no randomness).
    GenerateSecret,
    /// Put this text on the clipboard with OSC 52 (the terminal's, over SSH too; tmux with
    /// `set-clipboard on`).
    Copy(String),
    /// List the user's push devices (REST `GET /device-tokens`) and answer with
    /// `PrefsAction::DevicesListed`.
    FetchDevices,
    /// Remove one push device (REST `DELETE /device-tokens/{token}?provider=…`) and answer
    /// with `PrefsAction::DeviceRemoved`.
    RemoveDevice {
        provider: String,
        token: String,
    },
    /// Tell the server where the user is (a `presence` frame): what `update` decided from the
    /// terminal's focus and the thread open in the detail pane.
    ReportPresence {
        state: PresenceState,
        viewing: Option<String>,
    },
    /// Raise this notification's desktop popup here, and answer with
    /// `Action::PopupAcknowledged` when the user clicks it (or `PopupFailed`).
    RaisePopup(Box<Notification>),
    /// Close the popup of this item, if it is up (or once it is).
    ClosePopup {
        id: String,
    },
    /// Show this text in the user's `$PAGER`: the loop stops reading keys, the shell hands
    /// the terminal over and takes it back, and answers `Action::Paged`.
    Page(String),
    /// Run `command` with `sh -c`, `input` on its stdin, with a time limit and a cap on what
    /// it prints; answer `Action::Piped` with this `run`. The loop goes on meanwhile.
    Pipe {
        run: u64,
        command: String,
        input: String,
    },
    /// Stop the piped command if it still runs (its output was closed).
    StopPipe,
    Quit,
    /// Something visible changed: draw once (the shell coalesces these).
    Redraw,
}
