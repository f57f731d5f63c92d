//! Saving the preference editor's draft: checked here as the server will check it, then sent
//! as `prefs_update` with the version it was edited from, shown at once (a refusal puts the
//! replica back). Pure.

use super::inbox::{report, start};
use crate::sync::protocol::Op;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::prefs::mutes_everything;

/// Checks the whole draft as the server will, then sends it with the version it was edited
/// from. Shown at once; a refusal puts the replica back and keeps the draft.
pub(super) fn save(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(ed) = app.editor.as_mut() else { return };
    if let Err(e) = ed.draft.validate().and_then(|()| ed.draft.check_required(&ed.required)) {
        let text = format!("Not saved: {e}");
        ed.error = Some(e);
        ed.close_after_save = false;
        app.warn(text);
        return;
    }
    // A rule that mutes everything is saved only when asked twice.
    let new_mute_all = ed.draft.rules.iter().any(|r| mutes_everything(r) && !ed.base.rules.contains(r));
    if new_mute_all && !ed.mute_all_confirmed {
        ed.mute_all_confirmed = true;
        ed.close_after_save = false;
        let all = app.replica.items().values().filter(|r| !r.is_archived()).count();
        app.warn(format!(
            "A rule with no conditions mutes every item, urgent ones too (all {all} in your inbox): w again saves it"
        ));
        return;
    }
    if !ed.dirty() {
        if ed.close_after_save {
            app.editor = None;
            app.mode = crate::tui::state::Mode::Normal;
        }
        app.say("Nothing to save");
        return;
    }
    let prefs = serde_json::to_value(&ed.draft).unwrap_or_default();
    let version = ed.version;
    let shown = ed.draft.outward();
    ed.error = None;
    let before = (app.replica.prefs.clone(), app.replica.prefs_version);
    app.replica.set_prefs(shown, version + 1);
    let req = start(app, Op::PrefsUpdate { version, prefs }, None, Vec::new(), Some(before), fx);
    if let Some(ed) = app.editor.as_mut() {
        ed.saving = Some(req);
    }
    report(app, format!("Saving preferences (edited from version {version})"));
}
