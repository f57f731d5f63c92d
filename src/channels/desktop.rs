//! Desktop popups through the freedesktop notification service (notify-rust over D-Bus):
//! raising one for an item, waiting for the user's action on it, and opening a link. The
//! engine's desktop worker (`delivery::desktop`) and a TUI connected to a remote dispatcher
//! both use these; this module knows nothing of the dispatcher or the store.

use std::sync::Arc;

use notify_rust::{Hint, Notification as Popup, NotificationHandle, Timeout, Urgency as PopupUrgency};

use crate::model::{Notification, Urgency};

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
