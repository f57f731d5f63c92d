//! Desktop popups, carried out: `update` decides which to raise and close
//! (`update::popups`); this raises them on the session's notification server, keeps the
//! handles of those up, closes one when asked (or as soon as it is up, when asked while it was
//! still being raised), and answers with the action for a click or a failure.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

use crate::model::Notification;
use crate::tui::action::Action;

type OpenPopups = Arc<Mutex<HashMap<String, Arc<notify_rust::NotificationHandle>>>>;

/// The popups this client has up.
#[derive(Default)]
pub(super) struct Desk {
    open: OpenPopups,
    /// Read while their popup was still being raised.
    closed: Arc<Mutex<HashSet<String>>>,
}

impl Desk {
    /// Raises `n`'s popup; `answers` gets `PopupAcknowledged` when the user clicks it, or
    /// `PopupFailed` when it cannot go up.
    pub(super) fn raise(&self, n: Notification, answers: mpsc::Sender<Action>) {
        let (open, closed) = (Arc::clone(&self.open), Arc::clone(&self.closed));
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
                        let _ = answers.send(Action::PopupAcknowledged { id: n.id.clone() }).await;
                    }
                }
                Err(e) => {
                    let _ = answers.send(Action::PopupFailed(e)).await;
                }
            }
        });
    }

    /// Closes `id`'s popup, now if it is up, else as soon as it is.
    pub(super) fn close(&self, id: String) {
        let handle = self.open.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        match handle {
            Some(h) => {
                tokio::spawn(async move { h.close_async().await });
            }
            None => {
                self.closed.lock().unwrap_or_else(PoisonError::into_inner).insert(id);
            }
        }
    }
}
