//! Desktop popups raised by a client (DESIGN §8): against a dispatcher on another machine
//! the TUI raises the popups an item's plan asks for, once, closes them when the item is read
//! anywhere, and sends the acknowledgement of one clicked; against the local engine it raises
//! none (the engine does) but says once when the engine could not. Only live changes pop up:
//! history replayed or sent as a snapshot on connect is not news.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

use super::super::action::Action;
use crate::model::{Channel, Notification};
use crate::sync::client::ClientHandle;
use crate::sync::protocol::{ClientFrame, Op, ServerFrame};

/// What a client does about one notification's desktop popup.
#[derive(Debug, PartialEq, Eq)]
enum PopupStep {
    Raise,
    Close,
    /// The engine could not raise it: say why, once.
    Warn(String),
    Nothing,
}

/// Decides, from a notification as it arrives, what the client does (DESIGN §8): against a
/// dispatcher on another machine it raises the popups its plan asks for, once, and closes
/// them when read anywhere; against the local engine it raises none (the engine does).
fn popup_step(remote: bool, n: &Notification, raised: &HashSet<String>) -> PopupStep {
    let desktop = n.deliveries.get(&Channel::Desktop);
    if !remote {
        return match desktop.filter(|d| d.status == "failed").and_then(|d| d.last_error.clone()) {
            Some(e) => PopupStep::Warn(format!("Desktop popups are off: {e}")),
            None => PopupStep::Nothing,
        };
    }
    if n.read_at.is_some() || n.archived_at.is_some() {
        return if raised.contains(&n.id) { PopupStep::Close } else { PopupStep::Nothing };
    }
    if desktop.is_some_and(|d| d.status == "pending") && !raised.contains(&n.id) {
        PopupStep::Raise
    } else {
        PopupStep::Nothing
    }
}

type OpenPopups = Arc<Mutex<HashMap<String, Arc<notify_rust::NotificationHandle>>>>;

/// Runs the popup steps; problems reach the status line through `notes`, once.
pub(super) struct Popups {
    remote: bool,
    /// The server's head at the last welcome: changes up to it are replayed history.
    head: i64,
    raised: HashSet<String>,
    open: OpenPopups,
    /// Read while their popup was still being raised.
    closed: Arc<Mutex<HashSet<String>>>,
    warned: Arc<AtomicBool>,
    notes: mpsc::Sender<String>,
}

impl Popups {
    pub(super) fn new(remote: bool, notes: mpsc::Sender<String>) -> Popups {
        Popups {
            remote,
            head: 0,
            raised: HashSet::new(),
            open: OpenPopups::default(),
            closed: Arc::default(),
            warned: Arc::default(),
            notes,
        }
    }

    fn warn_once(warned: &AtomicBool, notes: &mpsc::Sender<String>, text: String) {
        if !warned.swap(true, Ordering::Relaxed) {
            let _ = notes.try_send(text);
        }
    }

    pub(super) fn observe(&mut self, action: &Action, client: &ClientHandle) {
        if let Action::Frame(ServerFrame::Welcome { seq, .. }) = action {
            self.head = *seq;
        }
        let Action::Frame(ServerFrame::Change { seq, payload, .. }) = action else { return };
        let Some(Ok(n)) = payload.get("notification").cloned().map(serde_json::from_value::<Notification>)
        else {
            return;
        };
        // History replayed on connect is not news: only live changes pop up.
        let replayed = *seq <= self.head;
        match popup_step(self.remote, &n, &self.raised) {
            PopupStep::Raise if replayed => {
                self.raised.insert(n.id.clone());
            }
            PopupStep::Nothing => {}
            PopupStep::Warn(text) => Self::warn_once(&self.warned, &self.notes, text),
            PopupStep::Close => {
                let handle = self.open.lock().unwrap_or_else(PoisonError::into_inner).remove(&n.id);
                match handle {
                    Some(h) => {
                        tokio::spawn(async move { h.close_async().await });
                    }
                    // Still being raised: the raise closes it as soon as it is up.
                    None => {
                        self.closed.lock().unwrap_or_else(PoisonError::into_inner).insert(n.id.clone());
                    }
                }
            }
            PopupStep::Raise => {
                self.raised.insert(n.id.clone());
                let (open, closed, client) =
                    (Arc::clone(&self.open), Arc::clone(&self.closed), client.clone());
                let (warned, notes) = (Arc::clone(&self.warned), self.notes.clone());
                tokio::spawn(async move {
                    match crate::channels::desktop::raise(&n).await {
                        Ok(handle) => {
                            if closed.lock().unwrap_or_else(PoisonError::into_inner).remove(&n.id) {
                                handle.close_async().await;
                                return;
                            }
                            open.lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(n.id.clone(), Arc::clone(&handle));
                            if crate::channels::desktop::acknowledged(&n, &handle).await {
                                let op = Op::MarkRead { ids: vec![n.id.clone()] };
                                client.send(ClientFrame::Command { req: format!("popup-{}", n.id), op });
                            }
                        }
                        Err(e) => Self::warn_once(&warned, &notes, format!("Desktop popups are off: {e}")),
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeliveryState;

    fn note(desktop: Option<(&str, Option<&str>)>) -> Notification {
        let mut n: Notification = serde_json::from_value(serde_json::json!({
            "id": "01A", "user": "alice", "event_id": "e", "type": "deploy.failed", "category": "system",
            "urgency": "urgent", "title": "down", "body": null, "url": null, "thread": null, "data": null,
            "created_at": "2027-01-01T00:00:00Z", "read_at": null, "archived_at": null, "snoozed_until": null,
            "count": 1, "deliveries": {}
        }))
        .expect("notification");
        if let Some((status, error)) = desktop {
            n.deliveries.insert(
                Channel::Desktop,
                DeliveryState { status: status.into(), attempts: 0, last_error: error.map(String::from) },
            );
        }
        n
    }

    #[test]
    fn a_remote_client_raises_what_the_plan_asks_once_and_closes_on_read() {
        let mut raised = HashSet::new();
        assert_eq!(popup_step(true, &note(Some(("pending", None))), &raised), PopupStep::Raise);
        assert_eq!(popup_step(true, &note(None), &raised), PopupStep::Nothing, "no desktop in the plan");
        raised.insert("01A".to_string());
        assert_eq!(popup_step(true, &note(Some(("pending", None))), &raised), PopupStep::Nothing, "once");
        let mut read = note(Some(("pending", None)));
        read.read_at = Some(jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(popup_step(true, &read, &raised), PopupStep::Close);
        assert_eq!(popup_step(true, &read, &HashSet::new()), PopupStep::Nothing);
    }

    #[test]
    fn a_local_client_never_raises_but_reports_a_missing_server() {
        let raised = HashSet::new();
        assert_eq!(popup_step(false, &note(Some(("pending", None))), &raised), PopupStep::Nothing);
        let failed = note(Some(("failed", Some("no notification server on the session bus"))));
        assert!(
            matches!(popup_step(false, &failed, &raised), PopupStep::Warn(t) if t.contains("no notification server"))
        );
    }
}
