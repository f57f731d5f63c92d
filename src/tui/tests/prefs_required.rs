//! Cells the organisation requires (the daemon config's `required`, sent in `welcome`): the
//! matrix draws them locked (`[#]`, a style of their own), space on one is refused with the
//! reason on the status line, and row and column toggles leave them alone. A cell set off
//! before the policy came can only go back on, and a save is checked against the policy as
//! the server checks it.

use ratatui::style::{Color, Modifier};

use super::fixtures::*;
use super::view::{draw, rows, screen, sized};
use crate::model::Channel;
use crate::prefs::Required;
use crate::sync::protocol::ServerFrame;
use crate::tui::action::{Action, Key};
use crate::tui::app::App;
use crate::tui::prefs::matrix::{self, Cell, MatrixRow};
use crate::tui::update::update;

fn policy() -> serde_json::Value {
    serde_json::json!({"events": {"build.failed": ["email"]}, "categories": {"billing": ["slack"]}})
}

/// The showcase inbox, the policy in the welcome, the editor open on the Events tab.
fn editing_with_policy(prefs: serde_json::Value) -> App {
    let mut app = App::new(now());
    update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    let ServerFrame::Welcome { user, stream, prefs: _, prefs_version, .. } =
        welcome("stream-1", 5, 5, prefs.clone(), 1)
    else {
        unreachable!()
    };
    let frame = ServerFrame::Welcome {
        user,
        stream,
        seq: 5,
        unread: 5,
        prefs,
        prefs_version,
        required: Some(policy()),
    };
    update(&mut app, Action::Frame(frame));
    for (i, item) in showcase().iter().enumerate() {
        update(&mut app, Action::Frame(change(i64::try_from(i).unwrap() + 1, "notification_created", item)));
    }
    update(&mut app, Action::Preferences);
    press(&mut app, &[Key::Char('2')]);
    app.status = None;
    app
}

/// Puts the matrix cursor on `kind`'s row (or a category's default row) and `channel`.
fn goto_cell(app: &mut App, category: &str, kind: Option<&str>, channel: Channel) {
    press(app, &[Key::Char('k'); 30]);
    press(app, &[Key::Char('h'); 6]);
    for _ in 0..30 {
        let ed = editor(app);
        let row = &ed.matrix()[ed.row()];
        if row.category == category && row.kind.as_deref() == kind {
            break;
        }
        press(app, &[Key::Char('j')]);
    }
    let to = Channel::ALL.iter().position(|c| *c == channel).unwrap();
    press(app, &vec![Key::Char('l'); to]);
}

fn row(category: &str, kind: Option<&str>) -> MatrixRow {
    MatrixRow { category: category.into(), kind: kind.map(String::from) }
}

fn on(app: &App, category: &str, kind: Option<&str>, channel: Channel) -> Cell {
    matrix::cell(&editor(app).draft, &row(category, kind), channel)
}

#[test]
fn the_welcome_policy_reaches_the_replica_and_the_editor() {
    let app = editing_with_policy(serde_json::json!({}));
    assert_eq!(app.replica.required.events["build.failed"], vec![Channel::Email]);
    assert_eq!(editor(&app).required, app.replica.required);
    let r = &editor(&app).required;
    assert!(matrix::locked(r, &row("system", Some("build.failed")), Channel::Email));
    assert!(matrix::locked(r, &row("billing", None), Channel::Slack));
    assert!(
        matrix::locked(r, &row("billing", Some("billing.payment_failed")), Channel::Slack),
        "by category"
    );
    assert!(
        !matrix::locked(r, &row("system", None), Channel::Email),
        "an event's lock is not its category's"
    );
    // A server that says nothing (or something this client does not know) locks nothing.
    let plain = app_with(showcase());
    assert_eq!(plain.replica.required, Required::default());
}

#[test]
fn space_on_a_required_cell_is_refused_with_the_reason() {
    let mut app = editing_with_policy(serde_json::json!({}));
    goto_cell(&mut app, "system", Some("build.failed"), Channel::Email);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(on(&app, "system", Some("build.failed"), Channel::Email), Cell::Inherited(true));
    assert!(!editor(&app).dirty());
    let s = app.status.clone().unwrap();
    assert!(s.error);
    assert_eq!(s.text, "build.failed × email is required by your organisation and cannot be turned off");
    goto_cell(&mut app, "billing", None, Channel::Slack);
    press(&mut app, &[Key::Enter]);
    assert_eq!(
        status(&app),
        "billing (category) × slack is required by your organisation and cannot be turned off"
    );
    // The cell beside it is the user's to change.
    goto_cell(&mut app, "system", Some("build.failed"), Channel::Desktop);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(on(&app, "system", Some("build.failed"), Channel::Desktop), Cell::Explicit(false));
}

#[test]
fn row_and_column_toggles_skip_required_cells() {
    let mut app = editing_with_policy(serde_json::json!({}));
    goto_cell(&mut app, "system", Some("build.failed"), Channel::Desktop);
    press(&mut app, &[Key::Char('r')]);
    for c in Channel::ALL {
        let want = if c == Channel::Email { Cell::Inherited(true) } else { Cell::Explicit(false) };
        assert_eq!(on(&app, "system", Some("build.failed"), c), want, "{c}");
    }
    press(&mut app, &[Key::Char('r')]);
    assert!(Channel::ALL.iter().all(|c| on(&app, "system", Some("build.failed"), *c).on()), "back on");
    goto_cell(&mut app, "issues", None, Channel::Slack);
    press(&mut app, &[Key::Char('c')]);
    assert_eq!(on(&app, "issues", None, Channel::Slack), Cell::Explicit(false));
    assert_eq!(on(&app, "billing", None, Channel::Slack), Cell::Inherited(true), "required: untouched");
    assert_eq!(on(&app, "billing", Some("billing.payment_failed"), Channel::Slack), Cell::Inherited(true));
    assert!(editor(&app).draft.check_required(&editor(&app).required).is_ok());
}

#[test]
fn a_cell_set_off_before_the_policy_goes_back_on_and_a_save_is_checked_first() {
    let mut app = editing_with_policy(serde_json::json!({"events": {"build.failed": {"email": false}}}));
    let fx = press(&mut app, &[Key::Char('w')]);
    assert!(commands(&fx).is_empty(), "not sent: the server would refuse it");
    assert_eq!(
        status(&app),
        "Not saved: events.build.failed.email: required by your organisation and cannot be turned off"
    );
    goto_cell(&mut app, "system", Some("build.failed"), Channel::Email);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(on(&app, "system", Some("build.failed"), Channel::Email), Cell::Explicit(true));
    assert_eq!(status(&app), "build.failed × email is back on: required by your organisation");
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(
        on(&app, "system", Some("build.failed"), Channel::Email),
        Cell::Explicit(true),
        "and stays on"
    );
    let fx = press(&mut app, &[Key::Char('w')]);
    assert_eq!(commands(&fx).len(), 1);
}

#[test]
fn snapshots_of_the_matrix_with_required_cells() {
    let mut app = editing_with_policy(serde_json::json!({"events": {"build.failed": {"desktop": false}}}));
    goto_cell(&mut app, "system", Some("build.failed"), Channel::Email);
    press(&mut app, &[Key::Char(' ')]);
    for (w, h) in [(80, 24), (120, 40)] {
        let app = sized(app.clone(), w, h);
        insta::assert_snapshot!(format!("prefs_required_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn required_cells_are_drawn_unlike_set_and_inherited_ones() {
    let app = sized(editing_with_policy(serde_json::json!({})), 120, 40);
    let buf = draw(&app, 120, 40);
    let text = rows(&buf);
    let y = text.iter().position(|r| r.contains("  build.failed")).unwrap();
    let x = text[y].find("[#]").unwrap();
    let cell = &buf[(u16::try_from(text[y][..x].chars().count()).unwrap(), u16::try_from(y).unwrap())];
    assert_eq!(cell.fg, Color::Yellow);
    assert!(cell.modifier.contains(Modifier::BOLD));
    assert_eq!(text[y].matches("[#]").count(), 1, "only email is locked on that row");
    assert!(
        text.iter().any(|r| r.contains("[#] required by your organisation")),
        "the legend says what it is"
    );
}

#[test]
fn the_rule_test_panel_plans_with_the_organisations_required_cells() {
    // A rule mutes builds, but the organisation requires e-mail for a failed build.
    let mut app = editing_with_policy(serde_json::json!({
        "channels": {"email": {"address": "alice@example.com"}},
        "rules": [{"name": "quiet builds", "match": {"type": "build.*"}, "actions": {"mute": true}}],
    }));
    press(&mut app, &[Key::Char('5'), Key::Char('t')]);
    let ed = editor(&app);
    assert_eq!(&*app.listed()[ed.test.unwrap()].kind, "build.failed");
    let text = screen(&sized(app, 120, 40), 120, 40);
    let line = |channel: &str| {
        text.lines().find(|l| l.contains(&format!("│{channel:<8} "))).unwrap_or_default().to_string()
    };
    assert!(line("email").contains("email    deliver  · required by your"), "{text}");
    assert!(line("desktop").contains("suppress (rule)"), "what is not required stays muted");
}
