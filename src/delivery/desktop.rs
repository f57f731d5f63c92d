//! The engine's desktop worker. Exactly one process raises a user's popups (DESIGN §8): the
//! engine that serves the local socket, for its local user. The worker follows that user's
//! changes: a notification whose desktop delivery is pending pops up once (the outbox row
//! then says delivered, so a restart does not pop it again); an urgent repeat makes it
//! pending again and it re-alerts; one that is read or archived anywhere has its popup
//! closed. "Open" on a popup opens the link and acknowledges, "Acknowledge" marks it read.
//! With no notification server on the session bus, the delivery is recorded as failed with
//! that reason (the TUI shows it) and a warning is logged once.

use std::collections::HashMap;
use std::sync::Arc;

use notify_rust::NotificationHandle;
use tokio_util::sync::CancellationToken;

use crate::channels::desktop::{acknowledged, raise};
use crate::dispatch::Dispatch;
use crate::dispatch::commands::Command;
use crate::model::{Channel, DeliveryStatus, Notification};
use crate::store::InboxOp;

/// Runs until `cancel`: raises and closes `user`'s popups.
pub async fn run(dispatch: Dispatch, user: String, cancel: CancellationToken) {
    let mut open: Open = HashMap::new();
    let mut warned = false;
    loop {
        // (Re)subscribe first, then pick up whatever is pending in the store: nothing slips
        // between the two.
        let (sub, mut live) = dispatch.hub().subscribe(&user);
        let pending = dispatch.pending_deliveries(&user, Channel::Desktop).await.unwrap_or_default();
        for id in pending {
            if let Ok(n) = dispatch.notification(&id).await {
                consider(&dispatch, &n, &mut open, &mut warned, &cancel).await;
            }
        }
        loop {
            tokio::select! {
                _ = cancel.cancelled() => {
                    dispatch.hub().unsubscribe(&user, sub);
                    return;
                }
                next = live.recv() => {
                    let Some(p) = next else { break }; // fell behind: rescan
                    if let Ok(n) = serde_json::from_value::<Notification>(p.change.payload_value()["notification"].clone()) {
                        consider(&dispatch, &n, &mut open, &mut warned, &cancel).await;
                    }
                }
            }
        }
    }
}

/// Open popups by notification, with the delivery attempt count they were raised at.
type Open = HashMap<String, (Arc<NotificationHandle>, u32)>;

async fn consider(
    dispatch: &Dispatch,
    n: &Notification,
    open: &mut Open,
    warned: &mut bool,
    cancel: &CancellationToken,
) {
    if n.read_at.is_some() || n.archived_at.is_some() {
        if let Some((h, _)) = open.remove(&n.id) {
            h.close_async().await;
        }
        return;
    }
    let Some(state) = n.deliveries.get(&Channel::Desktop).filter(|d| d.status == DeliveryStatus::Pending)
    else {
        return;
    };
    // Pending again after we delivered it (more attempts than when raised): an urgent
    // repeat, and the old popup makes way. The same pending state seen twice is not.
    match open.get(&n.id) {
        Some((_, raised_at)) if state.attempts <= *raised_at => return,
        Some(_) => {
            if let Some((h, _)) = open.remove(&n.id) {
                h.close_async().await;
            }
        }
        None => {}
    }
    let outcome = match raise(n).await {
        Ok(handle) => {
            open.insert(n.id.clone(), (Arc::clone(&handle), state.attempts));
            tokio::spawn(on_action(dispatch.clone(), n.clone(), handle, cancel.clone()));
            Ok(())
        }
        Err(e) => {
            if !*warned {
                tracing::warn!(error = %e, "cannot raise desktop popups");
                *warned = true;
            }
            Err(e)
        }
    };
    let r = dispatch.record_delivery(n.id.clone(), Channel::Desktop, outcome).await;
    if let Err(e) = r {
        tracing::error!(error = %e, "recording a desktop delivery failed");
    }
}

/// Acknowledging (or opening) a popup marks the item read everywhere, which closes this
/// popup and cancels its repeats.
async fn on_action(
    dispatch: Dispatch,
    n: Notification,
    handle: Arc<NotificationHandle>,
    cancel: CancellationToken,
) {
    // Shutdown must not wait for a click on a popup that never times out.
    let acked = tokio::select! {
        _ = cancel.cancelled() => false,
        acked = acknowledged(&n, &handle) => acked,
    };
    if acked {
        let command = Command::Inbox { ids: vec![n.id.clone()], op: InboxOp::MarkRead };
        let r = dispatch.execute(&n.user, command).await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "acknowledging from the desktop failed");
        }
    }
}
