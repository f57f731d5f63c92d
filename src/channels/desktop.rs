//! Desktop popups through the freedesktop notification service (notify-rust over D-Bus).
//! Exactly one process raises a user's popups (DESIGN §8): the engine that serves the local
//! socket, for its local user. The worker follows that user's changes: a notification whose
//! desktop delivery is pending pops up once (the outbox row then says delivered, so a
//! restart does not pop it again); an urgent repeat makes it pending again and it re-alerts;
//! one that is read or archived anywhere has its popup closed. Actions on the popup: "Open" opens the link and acknowledges, "Acknowledge" marks
//! it read. With no notification server on the session bus, the delivery is recorded as
//! failed with that reason (the TUI shows it) and a warning is logged once.

use std::collections::HashMap;
use std::sync::Arc;

use notify_rust::{Hint, Notification as Popup, NotificationHandle, Timeout, Urgency as PopupUrgency};
use tokio_util::sync::CancellationToken;

use crate::dispatch::Dispatch;
use crate::dispatch::commands::Command;
use crate::model::{Channel, Notification, Urgency};
use crate::store::InboxOp;

/// Plain text for a popup body: the light markdown markers dropped.
fn plain(text: &str) -> String {
    text.replace("**", "").replace('`', "")
}

/// Raises the popup for `n`; the handle closes it or waits for its actions.
pub async fn raise(n: &Notification) -> Result<Arc<NotificationHandle>, String> {
    popup(n)
        .show_async()
        .await
        .map(Arc::new)
        .map_err(|e| format!("no notification server on the session bus ({e})"))
}

fn popup(n: &Notification) -> Popup {
    let mut p = Popup::new();
    p.appname("campanile").summary(&n.title).body(&plain(n.body.as_deref().unwrap_or_default()));
    p.urgency(match n.urgency {
        Urgency::Urgent => PopupUrgency::Critical,
        Urgency::High | Urgency::Normal => PopupUrgency::Normal,
        Urgency::Low => PopupUrgency::Low,
    });
    if n.url.is_some() {
        p.action("default", "Open");
    }
    p.action("ack", "Acknowledge");
    p.hint(Hint::Category(format!("campanile.{}", n.category)));
    if n.urgency == Urgency::Urgent {
        p.timeout(Timeout::Never);
    }
    p
}

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
    let Some(state) = n.deliveries.get(&Channel::Desktop).filter(|d| d.status == "pending") else { return };
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

/// Waits for the user to act on a popup; opens the link for "Open". Returns whether the
/// user acknowledged the item ("Open" or "Acknowledge").
pub async fn acknowledged(n: &Notification, handle: &NotificationHandle) -> bool {
    let mut chosen = None;
    handle.wait_for_action_async(|a| chosen = Some(a.clone())).await;
    let action = match chosen {
        Some(notify_rust::NotificationResponse::Action(a)) => a,
        _ => return false,
    };
    if action == "default"
        && let Some(url) = &n.url
    {
        open_url(url);
    }
    action == "default" || action == "ack"
}

/// Opens a link with `$BROWSER` or `xdg-open`, its output discarded, without waiting for it.
pub fn open_url(url: &str) {
    let opener = std::env::var("BROWSER").ok().filter(|b| !b.is_empty()).unwrap_or_else(|| "xdg-open".into());
    if let Err(e) = open_with(&opener, url) {
        tracing::warn!(opener, error = %e, "could not open a link");
    }
}

/// A running opener, waited for by its own thread: joined, it gives the opener's exit.
type Reaper = std::thread::JoinHandle<std::io::Result<std::process::ExitStatus>>;

/// Starts `opener url` and a thread that waits for it, so it never lingers as a zombie of a
/// long-running TUI or daemon (a browser started this way may run for hours: the thread
/// waits that long, holding nothing else).
fn open_with(opener: &str, url: &str) -> std::io::Result<Reaper> {
    let mut child = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    std::thread::Builder::new().name("open-url".into()).spawn(move || child.wait())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opened_link_is_waited_for_so_no_zombie_is_left() {
        let reaper = open_with("true", "https://ci.example/4711").expect("started");
        let status = reaper.join().expect("the reaper ran").expect("waited for");
        assert!(status.success());
        // The status is the opener's own: the thread waited for this child, not any child.
        let reaper = open_with("false", "https://ci.example/4711").expect("started");
        assert!(!reaper.join().expect("the reaper ran").expect("waited for").success());
    }

    #[test]
    fn a_missing_opener_is_an_error_not_a_panic() {
        assert!(open_with("/nonexistent/campanile-opener", "https://ci.example").is_err());
    }
}
