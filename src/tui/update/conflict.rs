//! A save that met a newer version on the server (issue 16, failure 5): the draft is merged
//! with that version field by field. Fields only one side changed are taken from that side
//! without asking; when nothing else is left the merge is saved at once. Otherwise the
//! dialog asks about the fields both sides changed, each on its own (space picks mine or
//! theirs, enter saves), or all at once (`m` mine, `t` theirs). Pure.

use super::save::save;
use crate::prefs::Preferences;
use crate::tui::action::PrefsAction;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::prefs::Conflict;
use crate::tui::prefs::merge::{merge, resolve};

/// The server answered a save with `conflict` and its preferences at `version`.
pub(super) fn met(app: &mut App, theirs: Preferences, version: i64, fx: &mut Vec<Effect>) {
    let Some(ed) = app.editor.as_mut() else { return };
    let m = merge(&ed.base, &ed.draft, &theirs);
    let taken = crate::tui::prefs::merge::names(&m.taken);
    if !m.clashes.is_empty() {
        let n = m.clashes.len();
        let picks = vec![true; n];
        ed.conflict = Some(Conflict { theirs, version, merge: m, picks, at: 0 });
        app.warn(format!(
            "Not saved: version {version} on the server changed {} you changed too; pick yours or theirs",
            if n == 1 { "a field".to_string() } else { format!("{n} fields") }
        ));
        return;
    }
    match resolve(&m.merged, &[], &[]) {
        Ok(merged) => {
            finish(app, theirs, version, merged, fx);
            app.say(format!("Merged with version {version} (theirs: {taken}) and saving"));
        }
        Err(e) => app.warn(format!("Not saved: the merge with version {version} does not read: {e}")),
    }
}

/// The conflict dialog's keys; every other action is left alone (false).
pub(super) fn act(app: &mut App, action: &PrefsAction, fx: &mut Vec<Effect>) -> bool {
    let Some(c) = app.editor.as_mut().and_then(|e| e.conflict.as_mut()) else { return false };
    match action {
        PrefsAction::Up => c.at = c.at.saturating_sub(1),
        PrefsAction::Down => c.at = (c.at + 1).min(c.picks.len().saturating_sub(1)),
        PrefsAction::Activate => {
            if let Some(p) = c.picks.get_mut(c.at) {
                *p ^= true;
            }
        }
        PrefsAction::KeepMine => c.picks.fill(true),
        PrefsAction::TakeTheirs => c.picks.fill(false),
        PrefsAction::ResolveConflict => {}
        _ => return false,
    }
    if matches!(action, PrefsAction::KeepMine | PrefsAction::TakeTheirs | PrefsAction::ResolveConflict) {
        settle(app, fx);
    }
    true
}

/// Saves the merge with every clash as picked.
fn settle(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(c) = app.editor.as_mut().and_then(|e| e.conflict.take()) else { return };
    match resolve(&c.merge.merged, &c.merge.clashes, &c.picks) {
        Ok(merged) => {
            let (version, mine) = (c.version, c.picks.iter().filter(|p| **p).count());
            if !finish(app, c.theirs, version, merged, fx) {
                app.say(format!("Took the server's preferences (version {version})"));
            } else if mine == 0 {
                app.say(format!(
                    "Took theirs where both changed; saving the rest of yours over version {version}"
                ));
            }
        }
        Err(e) => app.warn(format!("Not saved: the merge does not read: {e}")),
    }
}

/// Makes `merged` the draft, edited from theirs, and saves it if it differs; false when
/// there was nothing of ours left to save.
fn finish(
    app: &mut App,
    theirs: Preferences,
    version: i64,
    merged: Preferences,
    fx: &mut Vec<Effect>,
) -> bool {
    let Some(ed) = app.editor.as_mut() else { return false };
    ed.base = theirs;
    ed.draft = merged;
    ed.version = version;
    ed.error = None;
    if !ed.dirty() {
        if ed.close_after_save {
            app.editor = None;
        }
        return false;
    }
    save(app, fx);
    true
}
