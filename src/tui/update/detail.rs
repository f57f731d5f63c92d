//! Fetching what the detail pane shows beyond the row (data, deliveries, the plan): after
//! every action, the item on screen (the open detail's, or the rule test panel's) is asked
//! for with `get` unless it is kept, asked for or refused. One `get` is in flight at a
//! time, so holding `j` with the detail open asks for where the selection stops, not for
//! every row it passes. Pure.

use crate::model::Notification;
use crate::sync::protocol::{ClientFrame, ErrorBody, Op};
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::row::{Detail, Id};

/// The item whose detail is on screen.
fn wanted(app: &App) -> Option<Id> {
    let row = match &app.editor {
        Some(ed) => app.listed_nth(ed.test?),
        None if app.detail_open => app.selected_item(),
        None => None,
    };
    row.map(|r| Id::clone(&r.id))
}

pub(super) fn fetch(app: &mut App, fx: &mut Vec<Effect>) {
    if app.details.asked.is_some() || !app.connection.is_up() {
        return;
    }
    let Some(id) = wanted(app).filter(|id| !app.details.known(id)) else { return };
    let req = app.next_req;
    app.next_req += 1;
    let op = Op::Get { ids: vec![id.to_string()] };
    fx.push(Effect::Send(ClientFrame::Command { req: req.to_string(), op }));
    app.details.asked = Some((req, id));
}

/// Takes the answer to our `get`; false when `req` is not one.
pub(super) fn answered(
    app: &mut App,
    req: &str,
    ok: bool,
    error: Option<ErrorBody>,
    notifications: Option<Vec<Notification>>,
) -> bool {
    let Some((_, id)) = app.details.asked.take_if(|(asked, _)| asked.to_string() == req) else {
        return false;
    };
    match ok {
        false => {
            let why = error.map_or_else(|| "refused".to_string(), |e| e.message);
            app.details.failed = Some((id, why));
        }
        true => {
            for mut n in notifications.unwrap_or_default() {
                let detail = Detail::take(&mut n);
                app.details.keep(Id::from(n.id), detail);
            }
            // An answer without it must not be asked again and again.
            if app.details.get(&id).is_none() {
                app.details.failed = Some((id, "the server did not send it".into()));
            }
        }
    }
    true
}

/// The connection went away with our question: ask again on the next one.
pub(super) fn forget_asked(app: &mut App) {
    app.details.asked = None;
    app.details.failed = None;
}
