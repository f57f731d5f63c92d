//! The Rules tab: adding, editing in the form, deleting, reordering and switching rules, and
//! the test panel that runs the engine with the edited rules before they are saved. Also the
//! editor's keymaps.

use super::fixtures::*;
use super::prefs_edit::goto;
use crate::engine::{Action as Plan, SuppressReason};
use crate::model::{Channel, Urgency};
use crate::tui::action::{Key, bindings};
use crate::tui::app::App;
use crate::tui::prefs::rows::{RowId, RuleField as F};
use crate::tui::state::{Mode, Tab};

fn names(app: &App) -> Vec<String> {
    editor(app).draft.rules.iter().map(|r| r.name.clone()).collect()
}

fn with_rules() -> App {
    let mut app = editing(serde_json::json!({"rules": [
        {"name": "one", "match": {"type": "build.*"}, "actions": {"mute": true}},
        {"name": "two", "match": {"category": "billing"}, "actions": {"set_urgency": "urgent"}},
        {"name": "three", "enabled": false, "actions": {"tag": "x"}},
    ]}));
    press(&mut app, &[Key::Char('5')]);
    app
}

#[test]
fn rules_move_up_and_down_switch_on_and_off_and_delete() {
    let mut app = with_rules();
    press(&mut app, &[Key::Char('j'), Key::Char('K')]);
    assert_eq!(names(&app), ["two", "one", "three"]);
    assert_eq!(editor(&app).row(), 0, "the cursor moves with the rule");
    press(&mut app, &[Key::Char('J'), Key::Char('J'), Key::Char('J')]);
    assert_eq!(names(&app), ["one", "three", "two"], "stops at the end");
    press(&mut app, &[Key::Char(' ')]);
    assert!(!editor(&app).draft.rules[2].enabled);
    press(&mut app, &[Key::Char('x')]);
    assert_eq!(names(&app), ["one", "three"]);
    assert_eq!(editor(&app).row(), 1);
    assert!(editor(&app).dirty());
}

#[test]
fn a_new_rule_is_edited_in_its_form_with_text_fields_choices_and_switches() {
    let mut app = with_rules();
    press(&mut app, &[Key::Char('a')]);
    assert_eq!(app.mode, Mode::PrefsRule);
    assert_eq!(editor(&app).rule, Some(3));
    goto(&mut app, RowId::Rule(3, F::Name));
    press(&mut app, &[Key::Enter]);
    press(&mut app, &[Key::Backspace; 8]);
    assert_eq!(editor(&app).field.as_ref().unwrap().error.as_deref(), Some("must not be empty"));
    type_text(&mut app, "CI on main is urgent");
    press(&mut app, &[Key::Enter]);
    goto(&mut app, RowId::Rule(3, F::Kind));
    press(&mut app, &[Key::Enter]);
    type_text(&mut app, "build.*");
    press(&mut app, &[Key::Enter]);
    goto(&mut app, RowId::Rule(3, F::Data));
    press(&mut app, &[Key::Enter]);
    type_text(&mut app, "branch=main, attempt=2");
    press(&mut app, &[Key::Enter]);
    goto(&mut app, RowId::Rule(3, F::AtLeast));
    press(&mut app, &[Key::Char(' '), Key::Char(' ')]);
    goto(&mut app, RowId::Rule(3, F::SetUrgency));
    press(&mut app, &[Key::Char(' '); 4]);
    goto(&mut app, RowId::Rule(3, F::Route));
    press(&mut app, &[Key::Enter]);
    type_text(&mut app, "desktop, pager");
    assert_eq!(
        editor(&app).field.as_ref().unwrap().error.as_deref(),
        Some("unknown channel `pager`, expected one of desktop, email, slack, webhook, push")
    );
    press(&mut app, &[Key::Backspace; 5]);
    type_text(&mut app, "push");
    press(&mut app, &[Key::Enter]);
    goto(&mut app, RowId::Rule(3, F::SnoozeFor));
    press(&mut app, &[Key::Enter]);
    type_text(&mut app, "soon");
    assert_eq!(
        editor(&app).field.as_ref().unwrap().error.as_deref(),
        Some("`soon` is not a duration like 30m, 1h or 1h 30m")
    );
    press(&mut app, &[Key::Esc]);
    goto(&mut app, RowId::Rule(3, F::Stop));
    press(&mut app, &[Key::Char(' ')]);
    let r = editor(&app).draft.rules[3].clone();
    assert_eq!(r.name, "CI on main is urgent");
    assert_eq!(r.matcher.kind.as_deref(), Some("build.*"));
    assert_eq!(r.matcher.data["branch"], "main");
    assert_eq!(r.matcher.data["attempt"], 2);
    assert_eq!(r.matcher.urgency_at_least, Some(Urgency::Normal));
    assert_eq!(r.actions.set_urgency, Some(Urgency::Urgent));
    assert_eq!(r.actions.route, Some(vec![Channel::Desktop, Channel::Push]));
    assert_eq!(r.actions.snooze_for, None, "esc left it as it was");
    assert!(r.stop && r.enabled);
    press(&mut app, &[Key::Esc]);
    assert_eq!(app.mode, Mode::Prefs(Tab::Rules), "esc leaves the form, not the editor");
    assert!(editor(&app).draft.validate().is_ok());
}

#[test]
fn the_test_panel_runs_the_engine_with_the_unsaved_rules_on_an_inbox_item() {
    let mut app = with_rules();
    press(&mut app, &[Key::Char('t')]);
    let at = editor(&app).test.unwrap();
    assert_eq!(&*app.listed()[at].title, "Build failed on main", "starts on the selected item");
    let plan = |app: &App| {
        let ed = editor(app);
        let n = app.listed()[ed.test.unwrap()];
        crate::engine::decide(&crate::engine::Input {
            event: &crate::tui::view::prefs_event(n, None),
            prefs: &ed.draft,
            presence: &Default::default(),
            history: &Default::default(),
            policy: &Default::default(),
            now: app.now,
        })
    };
    // Rule "one" mutes build.* and it is the draft's rules the panel uses.
    assert_eq!(
        plan(&app).channels[&Channel::Desktop].action,
        Plan::Suppress { reason: SuppressReason::Rule }
    );
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(plan(&app).channels[&Channel::Desktop].action, Plan::Deliver, "rule one off: urgent pops up");
    press(&mut app, &[Key::Char(']')]);
    assert_eq!(&*app.listed()[editor(&app).test.unwrap()].title, "Deploy approved by Sam");
    press(&mut app, &[Key::Char('['), Key::Char('[')]);
    assert_eq!(editor(&app).test, Some(app.listed().len() - 1), "wraps around");
    press(&mut app, &[Key::Char('t')]);
    assert_eq!(editor(&app).test, None);
}

#[test]
fn the_editors_keymaps_bind_no_key_twice_and_text_fields_take_command_letters_as_text() {
    let mut modes = vec![Mode::PrefsField, Mode::PrefsRule, Mode::PrefsConflict, Mode::PrefsLeave];
    modes.extend(Tab::ALL.map(Mode::Prefs));
    for mode in modes {
        let keys: Vec<Key> = bindings(mode).into_iter().flat_map(|b| b.keys).collect();
        let mut unique = keys.clone();
        unique.sort_by_key(|k| format!("{k:?}"));
        unique.dedup();
        assert_eq!(keys.len(), unique.len(), "{mode:?} binds a key twice");
        assert!(!bindings(mode).is_empty(), "{mode:?} has keys");
    }
    use crate::tui::action::{Action, PrefsAction, key_to_action};
    assert_eq!(
        key_to_action(Mode::PrefsField, Key::Char('q')),
        Some(Action::Prefs(PrefsAction::Input(Key::Char('q'))))
    );
    assert_eq!(key_to_action(Mode::PrefsField, Key::Esc), Some(Action::Prefs(PrefsAction::CancelField)));
    assert_eq!(
        key_to_action(Mode::Prefs(Tab::Events), Key::Ctrl('s')),
        Some(Action::Prefs(PrefsAction::Save))
    );
    assert_eq!(key_to_action(Mode::Normal, Key::Home), Some(Action::Top), "home is still g outside");
}

#[test]
fn enter_edits_the_rule_under_the_cursor_and_with_no_rules_or_no_inbox_says_why_not() {
    let mut app = with_rules();
    press(&mut app, &[Key::Char('j'), Key::Enter]);
    assert_eq!((app.mode, editor(&app).rule), (Mode::PrefsRule, Some(1)));
    assert_eq!(editor(&app).current(), Some(RowId::Rule(1, F::Name)));
    press(&mut app, &[Key::Char('q')]);
    assert_eq!(app.mode, Mode::Prefs(Tab::Rules));
    let mut empty = crate::tui::tests::fixtures::app_with(vec![]);
    crate::tui::update::update(&mut empty, crate::tui::action::Action::Preferences);
    press(&mut empty, &[Key::Char('5'), Key::Enter]);
    assert_eq!(status(&empty), "No rules yet: a adds one");
    press(&mut empty, &[Key::Char('t')]);
    assert_eq!(status(&empty), "The inbox is empty: nothing to test the rules on");
    assert_eq!(editor(&empty).test, None);
}

#[test]
fn a_rule_that_mutes_everything_warns_with_the_inbox_count_and_saves_only_when_asked_twice() {
    let mut app = with_rules();
    let screen = |app: &App| super::view::rows(&super::view::draw(app, 120, 40)).join("\n");
    // A rule with a condition says how much of the inbox it matches.
    press(&mut app, &[Key::Enter]);
    assert!(screen(&app).contains("Matches 1 of the 5 items in your inbox now"), "{}", screen(&app));
    press(&mut app, &[Key::Esc]);
    press(&mut app, &[Key::Char('a')]);
    goto(&mut app, RowId::Rule(3, F::Mute));
    press(&mut app, &[Key::Char(' ')]);
    let warning = "no conditions and mute: silences every item, urgent ones too (all 5 in your inbox)";
    assert!(screen(&app).contains(warning), "in the form:\n{}", screen(&app));
    press(&mut app, &[Key::Esc]);
    assert!(screen(&app).contains(warning), "in the list:\n{}", screen(&app));
    let fx = press(&mut app, &[Key::Char('w')]);
    assert!(commands(&fx).is_empty(), "not saved silently");
    assert!(
        status(&app).contains("mutes every item, urgent ones too (all 5 in your inbox): w again saves it")
    );
    let fx = press(&mut app, &[Key::Char('w')]);
    assert_eq!(commands(&fx).len(), 1, "saved when asked again");
}
