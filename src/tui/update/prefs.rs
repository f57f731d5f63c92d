//! The preference editor's side of `update`: opening it on the replica's preferences, every
//! key inside it, saving the draft as `prefs_update` with the version it was edited from,
//! and what the server's answer does (accepted: the draft is the new base; a version
//! conflict: both versions side by side, keep ours or take theirs; refused: the reason under
//! the field it names). Another client's save shows at once when nothing here is unsaved.
//! The keymap follows the editor's state: [`sync_mode`] derives `app.mode` from it. Pure.

use tui_textarea::{Input, Key as TextKey};

use super::save::save;
use crate::model::{Channel, FieldError};
use crate::prefs::{Preferences, QuietHours, Rule, timezone};
use crate::sync::protocol::ErrorBody;
use crate::tui::action::{Key, PrefsAction};
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::prefs::rows::{self, Kind, RowId};
use crate::tui::prefs::values::ZONE_MATCHES;
use crate::tui::prefs::{Editor, FieldEdit, NewSecret, matrix};
use crate::tui::prefs::{text, values};
use crate::tui::state::{Mode, Tab};

pub(super) fn open(app: &mut App, fx: &mut Vec<Effect>) {
    let prefs = match &app.replica.parsed_prefs {
        Some(p) => p.clone(),
        None => {
            app.warn("The server's preferences do not read as preferences: editing the defaults");
            Preferences::default()
        }
    };
    // Distinct pairs first: the inbox can hold 100,000 items of a few dozen types.
    let pairs: std::collections::BTreeSet<(&str, &str)> =
        app.replica.items().values().map(|r| (&*r.kind, &*r.category)).collect();
    let mut seen: Vec<(String, String)> =
        pairs.into_iter().map(|(k, c)| (k.to_string(), c.to_string())).collect();
    seen.dedup_by(|a, b| a.0 == b.0);
    let mut ed = Editor::new(prefs, app.replica.prefs_version, seen, app.system_zone.clone());
    ed.required = app.replica.required.clone();
    app.editor = Some(ed);
    fx.push(Effect::FetchDevices);
    sync_mode(app);
}

/// The keymap is the editor's state: dialogs first, then a text field, then the rule form.
pub(super) fn sync_mode(app: &mut App) {
    app.mode = match &app.editor {
        None => Mode::Normal,
        Some(e) if e.conflict.is_some() => Mode::PrefsConflict,
        Some(e) if e.leaving => Mode::PrefsLeave,
        Some(e) if e.removing.is_some() => Mode::PrefsRemoveDevice,
        Some(e) if e.secret == Some(NewSecret::Asking) => Mode::PrefsAskSecret,
        Some(e) if e.secret.is_some() => Mode::PrefsShowSecret,
        Some(e) if e.field.is_some() => Mode::PrefsField,
        Some(e) if e.rule.is_some() => Mode::PrefsRule,
        Some(e) => Mode::Prefs(e.tab),
    };
}

fn close(app: &mut App) {
    app.editor = None;
    app.mode = Mode::Normal;
}

fn zone(p: &Preferences) -> jiff::tz::TimeZone {
    timezone(&p.quiet_hours.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
}

fn clamp(at: &mut usize, len: usize, by: isize) {
    *at = at.saturating_add_signed(by).min(len.saturating_sub(1));
}

pub(super) fn act(app: &mut App, action: PrefsAction, fx: &mut Vec<Effect>) {
    if super::conflict::act(app, &action, fx)
        || super::devices::act(app, &action, fx)
        || super::secret::act(app, &action, fx)
    {
        sync_mode(app);
        return;
    }
    let listed = app.listed_len();
    let Some(ed) = app.editor.as_mut() else { return };
    use PrefsAction as P;
    match action {
        P::Tab(t) => ed.tab = t,
        P::NextTab => ed.tab = ed.tab.shifted(1),
        P::PrevTab => ed.tab = ed.tab.shifted(-1),
        P::Up | P::Down => {
            let by = if action == P::Up { -1 } else { 1 };
            if let Some(f) = ed.field.as_mut() {
                let len = values::zones(&f.text(), ed.system_zone.as_deref(), ZONE_MATCHES).len();
                clamp(&mut f.pick, len, by);
            } else if ed.rule.is_some() {
                let len = ed.rows().len();
                clamp(&mut ed.rule_row, len, by);
            } else {
                let len = match ed.tab {
                    Tab::Events => ed.matrix().len(),
                    Tab::Rules => ed.draft.rules.len(),
                    _ => ed.rows().len(),
                };
                let at = ed.tab.index();
                clamp(&mut ed.cursor[at], len, by);
            }
        }
        P::Left => ed.column = ed.column.saturating_sub(1),
        P::Right => ed.column = (ed.column + 1).min(Channel::ALL.len() - 1),
        P::Activate => activate(app, fx),
        P::ToggleRow | P::ToggleColumn | P::ResetRow => {
            let rows = ed.matrix();
            let channel = Channel::ALL[ed.column];
            match (action, rows.get(ed.row())) {
                (P::ToggleColumn, _) => matrix::toggle_column(&mut ed.draft, &rows, channel, &ed.required),
                (P::ToggleRow, Some(r)) => matrix::toggle_row(&mut ed.draft, r, &ed.required),
                (P::ResetRow, Some(r)) => matrix::reset(&mut ed.draft, r),
                _ => {}
            }
        }
        P::AddRule => {
            ed.draft.rules.push(Rule {
                name: "New rule".into(),
                enabled: true,
                matcher: Default::default(),
                actions: Default::default(),
                stop: false,
            });
            let i = ed.draft.rules.len() - 1;
            ed.cursor[Tab::Rules.index()] = i;
            ed.rule = Some(i);
            ed.rule_row = 0;
        }
        P::EditRule if !ed.draft.rules.is_empty() => {
            ed.rule = Some(ed.row().min(ed.draft.rules.len() - 1));
            ed.rule_row = 0;
        }
        P::EditRule => app.say("No rules yet: a adds one"),
        P::DeleteRule => {
            let at = ed.row();
            if at < ed.draft.rules.len() {
                let gone = ed.draft.rules.remove(at);
                clamp(&mut ed.cursor[Tab::Rules.index()], ed.draft.rules.len(), 0);
                app.say(format!("Deleted rule \"{}\" (not saved yet)", gone.name));
            }
        }
        P::MoveRuleUp | P::MoveRuleDown => {
            let at = ed.row();
            let to = if action == P::MoveRuleUp { at.checked_sub(1) } else { Some(at + 1) };
            if let Some(to) = to.filter(|t| *t < ed.draft.rules.len()) {
                ed.draft.rules.swap(at, to);
                ed.cursor[Tab::Rules.index()] = to;
            }
        }
        P::ToggleRule => {
            let at = ed.row();
            if let Some(r) = ed.draft.rules.get_mut(at) {
                r.enabled ^= true;
            }
        }
        P::TestPanel if ed.test.is_some() => ed.test = None,
        P::TestPanel if listed == 0 => app.say("The inbox is empty: nothing to test the rules on"),
        P::TestPanel => ed.test = Some(app.selected.min(listed - 1)),
        P::TestNext | P::TestPrev => {
            if let Some(t) = ed.test.as_mut() {
                let by = if action == P::TestNext { 1 } else { -1 };
                *t = (t.cast_signed() + by).rem_euclid(listed.max(1).cast_signed()).unsigned_abs();
            }
        }
        P::CloseForm => ed.rule = None,
        P::Input(key) => {
            if let Some(f) = ed.field.as_mut() {
                if key == Key::Ctrl('u') {
                    // As in readline: clear the line.
                    f.area.select_all();
                    f.area.cut();
                } else if let Some(input) = text_input(key) {
                    f.area.input(input);
                }
                f.pick = 0;
                let mut probe = ed.draft.clone();
                // A zone search is unfinished, not wrong, while some name matches it.
                let searching = f.row == RowId::QuietZone
                    && !values::zones(&f.text(), ed.system_zone.as_deref(), 1).is_empty();
                f.error = if searching { None } else { text::set_text(&mut probe, f.row, &f.text()).err() };
            }
        }
        P::RemoveDevice
        | P::ConfirmRemoveDevice
        | P::DevicesListed(_)
        | P::DeviceRemoved { .. }
        | P::RegenerateSecret
        | P::ConfirmSecret
        | P::SecretGenerated(_)
        | P::CopySecret
        | P::DismissSecret
        | P::KeepMine
        | P::TakeTheirs
        | P::ResolveConflict => {}
        P::CommitField => commit(ed),
        P::CancelField => ed.field = None,
        P::Save => save(app, fx),
        P::Leave if ed.dirty() => ed.leaving = true,
        P::Leave => close(app),
        P::SaveAndLeave => {
            ed.leaving = false;
            ed.close_after_save = true;
            save(app, fx);
        }
        P::Discard => {
            close(app);
            app.say("Preference changes discarded");
        }
        P::Stay => {
            ed.leaving = false;
            ed.conflict = None;
            ed.removing = None;
            ed.secret = None;
            ed.close_after_save = false;
        }
    }
    sync_mode(app);
}

/// A typed key as the text area takes it; keys it has no use for are dropped.
fn text_input(key: Key) -> Option<Input> {
    let (key, ctrl) = match key {
        Key::Char(c) => (TextKey::Char(c), false),
        Key::Ctrl(c) => (TextKey::Char(c), true),
        Key::Backspace => (TextKey::Backspace, false),
        Key::Delete => (TextKey::Delete, false),
        Key::Left => (TextKey::Left, false),
        Key::Right => (TextKey::Right, false),
        Key::Home => (TextKey::Home, false),
        Key::End => (TextKey::End, false),
        _ => return None,
    };
    Some(Input { key, ctrl, alt: false, shift: false })
}

fn activate(app: &mut App, fx: &mut Vec<Effect>) {
    let now = app.now;
    let Some(ed) = app.editor.as_mut() else { return };
    match ed.tab {
        Tab::Events if ed.rule.is_none() => {
            let rows = ed.matrix();
            let channel = Channel::ALL[ed.column];
            let Some(r) = rows.get(ed.row()) else { return };
            if !matrix::locked(&ed.required, r, channel) {
                matrix::toggle(&mut ed.draft, r, channel);
            } else if matrix::cell(&ed.draft, r, channel) == matrix::Cell::Explicit(false) {
                // Set off before the policy came: on again is the one way it may go.
                matrix::set(&mut ed.draft, r, channel, true);
                app.say(format!(
                    "{} is back on: required by your organisation",
                    matrix::cell_name(r, channel)
                ));
            } else {
                app.warn(format!(
                    "{} is required by your organisation and cannot be turned off",
                    matrix::cell_name(r, channel)
                ));
            }
            return;
        }
        Tab::Rules if ed.rule.is_none() => return act(app, PrefsAction::EditRule, fx),
        _ => {}
    }
    let Some(row) = ed.current() else { return };
    match rows::kind(row) {
        Kind::Switch | Kind::Choice => {
            let tz = zone(&ed.draft);
            values::step(&mut ed.draft, row, now, &tz);
            // Quiet hours switched on from the untouched defaults start in the system's zone,
            // not in UTC.
            let untouched = QuietHours::default().timezone;
            if row == RowId::QuietEnabled
                && ed.draft.quiet_hours.enabled
                && !ed.base.quiet_hours.enabled
                && ed.base.quiet_hours.timezone == untouched
                && ed.draft.quiet_hours.timezone == untouched
                && let Some(system) = ed.system_zone.clone()
            {
                ed.draft.quiet_hours.timezone = system;
            }
        }
        Kind::Text => {
            let text = text::text(&ed.draft, row);
            ed.field = Some(FieldEdit::new(row, text));
        }
        Kind::Info if row == RowId::WebhookSecret => super::secret::ask(app),
        Kind::Info => super::devices::activate(app, row, fx),
    }
}

/// Keeps the field's text when it is valid; the time-zone field takes the highlighted match
/// when the text itself names no zone.
fn commit(ed: &mut Editor) {
    let Some(f) = ed.field.as_mut() else { return };
    let mut text = f.text();
    if f.row == RowId::QuietZone && timezone(&text).is_err() {
        let matches = values::zones(&text, ed.system_zone.as_deref(), ZONE_MATCHES);
        if let Some(z) = matches.get(f.pick) {
            text = z.clone();
        }
    }
    match text::set_text(&mut ed.draft, f.row, &text) {
        Ok(()) => {
            if ed.error.as_ref().is_some_and(|e| e.field == rows::path(f.row)) {
                ed.error = None;
            }
            ed.field = None;
        }
        Err(m) => f.error = Some(m),
    }
}

/// The server answered the editor's save.
pub(super) fn settled(
    app: &mut App,
    ok: bool,
    error: Option<ErrorBody>,
    current: Option<(serde_json::Value, i64)>,
    fx: &mut Vec<Effect>,
) {
    let Some(ed) = app.editor.as_mut() else { return };
    ed.saving = None;
    if ok {
        ed.version += 1;
        ed.base = ed.draft.clone();
        let v = ed.version;
        if ed.close_after_save {
            close(app);
        }
        app.say(format!("Preferences saved (version {v})"));
        return;
    }
    let error = error.unwrap_or(ErrorBody { code: String::new(), message: "refused".into(), field: None });
    match current.map(|(p, v)| (serde_json::from_value::<Preferences>(p), v)) {
        // Leaving after the save still holds once the merge is saved.
        Some((Ok(theirs), version)) if error.code == "conflict" => {
            super::conflict::met(app, theirs, version, fx)
        }
        _ => {
            ed.close_after_save = false;
            let field = error.field.clone().unwrap_or_else(|| "preferences".into());
            let text = format!("Not saved: {field}: {}", error.message);
            ed.error = Some(FieldError::new(field, error.message));
            app.warn(text);
        }
    }
    sync_mode(app);
}

/// The replica's preferences changed under the editor (another client saved, or a
/// reconnect): with nothing unsaved here the editor shows them at once; otherwise the draft
/// stays and a save will merge it with theirs (asking only about fields both changed).
pub(super) fn follow(app: &mut App) {
    let Some(ed) = app.editor.as_mut() else { return };
    if ed.saving.is_some() || ed.conflict.is_some() || app.replica.prefs_version == ed.version {
        return;
    }
    let version = app.replica.prefs_version;
    match app.replica.parsed_prefs.clone() {
        Some(p) if !ed.dirty() && ed.field.is_none() => {
            ed.base = p.clone();
            ed.draft = p;
            ed.version = version;
            app.say(format!("Preferences changed elsewhere: now showing version {version}"));
        }
        _ => app
            .say(format!("Preferences changed elsewhere (version {version}): saving merges them with yours")),
    }
}
