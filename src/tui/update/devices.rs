//! The Push section's devices: the shell lists them over REST when the editor opens
//! (`Effect::FetchDevices`), `x` on one asks whether to remove it, yes sends
//! `Effect::RemoveDevice`, and the shell's answers come back as actions. Pure.

use crate::model::DeviceToken;
use crate::tui::action::PrefsAction;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::prefs::rows::RowId;
use crate::tui::prefs::{Devices, Editor};
use crate::tui::state::Tab;

/// The device actions; every other action is left alone (false).
pub(super) fn act(app: &mut App, action: &PrefsAction, fx: &mut Vec<Effect>) -> bool {
    match action {
        PrefsAction::RemoveDevice => ask(app),
        PrefsAction::ConfirmRemoveDevice => confirm(app, fx),
        PrefsAction::DevicesListed(result) => listed(app, result.clone()),
        PrefsAction::DeviceRemoved { provider, token, result } => {
            removed(app, provider, token, result.clone(), fx);
        }
        _ => return false,
    }
    true
}

/// Enter on the Push section: a failed list is asked for again; a device says how to go.
pub(super) fn activate(app: &mut App, row: RowId, fx: &mut Vec<Effect>) {
    let Some(ed) = app.editor.as_mut() else { return };
    match (row, &ed.devices) {
        (RowId::Device(_), _) => app.say("x removes this push device (after asking)"),
        (_, Devices::Failed(_)) => {
            ed.devices = Devices::Loading;
            fx.push(Effect::FetchDevices);
        }
        _ => {}
    }
}

/// How a device reads in messages: its provider and token.
pub fn name(d: &DeviceToken) -> String {
    format!("{} device {}", d.provider, d.token)
}

fn ask(app: &mut App) {
    let Some(ed) = app.editor.as_mut() else { return };
    match ed.current().and_then(|r| ed.device(r)).cloned() {
        Some(d) => ed.removing = Some(d),
        None => app.say("x removes a push device: move to one in the Push section first"),
    }
}

fn confirm(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(d) = app.editor.as_mut().and_then(|ed| ed.removing.take()) else { return };
    app.say(format!("Removing the {}…", name(&d)));
    fx.push(Effect::RemoveDevice { provider: d.provider, token: d.token });
}

fn listed(app: &mut App, result: Result<Vec<DeviceToken>, String>) {
    let Some(ed) = app.editor.as_mut() else { return };
    ed.devices = match result {
        Ok(list) => Devices::Listed(list),
        Err(e) => Devices::Failed(e),
    };
    keep_cursor(ed);
}

/// The list may have shrunk under the cursor.
fn keep_cursor(ed: &mut Editor) {
    let len = ed.channel_rows().len();
    let at = &mut ed.cursor[Tab::Channels.index()];
    *at = (*at).min(len.saturating_sub(1));
}

fn removed(app: &mut App, provider: &str, token: &str, result: Result<(), String>, fx: &mut Vec<Effect>) {
    let gone = DeviceToken { provider: provider.into(), token: token.into(), created_at: app.now };
    match result {
        Ok(()) => {
            if let Some(ed) = app.editor.as_mut()
                && let Devices::Listed(list) = &mut ed.devices
            {
                list.retain(|d| !(d.provider == provider && d.token == token));
                keep_cursor(ed);
            }
            app.say(format!("Removed the {}", name(&gone)));
        }
        Err(e) => app.warn(format!("The {} was not removed: {e}", name(&gone))),
    }
    // Either way the server's list is the truth: ask for it again.
    if app.editor.is_some() {
        fx.push(Effect::FetchDevices);
    }
}
