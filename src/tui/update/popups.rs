//! Desktop popups, decided (DESIGN §8): against a dispatcher on another machine the client
//! raises the popups an item's plan asks for, once, closes them when the item is read or
//! archived anywhere, and sends the acknowledgement of one clicked; against the local engine
//! it raises none (the engine does) but says once when the engine could not. Only live
//! changes pop up: history replayed on connect, or sent as a snapshot, is not news. The
//! shell raises and closes them ([`Effect::RaisePopup`], [`Effect::ClosePopup`]). Pure.

use std::collections::HashSet;

use crate::model::{Channel, DeliveryStatus, Notification};
use crate::sync::protocol::{ClientFrame, Op, ServerFrame};
use crate::tui::app::App;
use crate::tui::effect::Effect;

/// What a client does about one notification's desktop popup.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Raise,
    Close,
    /// The engine could not raise it: say why, once.
    Warn(String),
    Nothing,
}

/// Decides, from a notification as it arrives, what the client does about its popup.
fn step(remote: bool, n: &Notification, raised: &HashSet<String>) -> Step {
    let desktop = n.deliveries.get(&Channel::Desktop);
    if !remote {
        return match desktop.filter(|d| d.status == DeliveryStatus::Failed).and_then(|d| d.last_error.clone())
        {
            Some(e) => Step::Warn(e),
            None => Step::Nothing,
        };
    }
    if n.read_at.is_some() || n.archived_at.is_some() {
        return if raised.contains(&n.id) { Step::Close } else { Step::Nothing };
    }
    if desktop.is_some_and(|d| d.status == DeliveryStatus::Pending) && !raised.contains(&n.id) {
        Step::Raise
    } else {
        Step::Nothing
    }
}

/// Looks at a frame before the replica takes it (every change, also one the replica skips:
/// a popup is about the item, not about our copy of it). Returns whether the screen changed.
pub(super) fn observe(app: &mut App, frame: &ServerFrame, fx: &mut Vec<Effect>) -> bool {
    if let ServerFrame::Welcome { seq, .. } = frame {
        app.popups.head = *seq;
    }
    let ServerFrame::Change { seq, payload, .. } = frame else { return false };
    let Some(Ok(n)) = payload.get("notification").cloned().map(serde_json::from_value::<Notification>) else {
        return false;
    };
    let replayed = *seq <= app.popups.head;
    match step(app.popups.remote, &n, &app.popups.raised) {
        Step::Nothing => false,
        Step::Raise if replayed => {
            app.popups.raised.insert(n.id);
            false
        }
        Step::Raise => {
            app.popups.raised.insert(n.id.clone());
            fx.push(Effect::RaisePopup(Box::new(n)));
            false
        }
        Step::Close => {
            fx.push(Effect::ClosePopup { id: n.id });
            false
        }
        Step::Warn(text) => warn_once(app, text),
    }
}

/// The shell could not raise a popup.
pub(super) fn failed(app: &mut App, why: &str) -> bool {
    warn_once(app, why.to_string())
}

/// The user clicked a popup: the item is read, everywhere (the engine closes the others).
pub(super) fn acknowledged(id: String, fx: &mut Vec<Effect>) {
    let req = format!("popup-{id}");
    fx.push(Effect::Send(ClientFrame::Command { req, op: Op::MarkRead { ids: vec![id] } }));
}

/// Says it once, short enough for any status line; the reason stays in help.
fn warn_once(app: &mut App, why: String) -> bool {
    if app.popups.off.is_some() {
        return false;
    }
    app.popups.off = Some(why);
    app.warn("Desktop popups are off (? says why)");
    true
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
        assert_eq!(step(true, &note(Some(("pending", None))), &raised), Step::Raise);
        assert_eq!(step(true, &note(None), &raised), Step::Nothing, "no desktop in the plan");
        raised.insert("01A".to_string());
        assert_eq!(step(true, &note(Some(("pending", None))), &raised), Step::Nothing, "once");
        let mut read = note(Some(("pending", None)));
        read.read_at = Some(jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(step(true, &read, &raised), Step::Close);
        assert_eq!(step(true, &read, &HashSet::new()), Step::Nothing);
    }

    #[test]
    fn a_local_client_never_raises_but_reports_a_missing_server() {
        let raised = HashSet::new();
        assert_eq!(step(false, &note(Some(("pending", None))), &raised), Step::Nothing);
        let failed = note(Some(("failed", Some("no notification server on the session bus"))));
        assert!(
            matches!(step(false, &failed, &raised), Step::Warn(t) if t.starts_with("no notification server"))
        );
    }
}
