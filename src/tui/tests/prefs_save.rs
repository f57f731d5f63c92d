//! The editor's matrix and its saving: cells toggled one, a row or a column at a time and
//! reset to the category default; a save sends `prefs_update` with the version edited; the
//! server's answer (accepted, refused with a field, a version conflict merged field by field);
//! and another client's save arriving while the editor is open.

use super::fixtures::*;
use crate::model::Channel;
use crate::prefs::Preferences;
use crate::sync::protocol::{ErrorBody, Op, ServerFrame};
use crate::tui::action::{Action, Key};
use crate::tui::app::App;
use crate::tui::prefs::matrix::{Cell, MatrixRow, cell};
use crate::tui::state::{Mode, Tab};
use crate::tui::update::update;

fn row(category: &str, kind: Option<&str>) -> MatrixRow {
    MatrixRow { category: category.into(), kind: kind.map(String::from) }
}

/// Moves the matrix cursor to a row and a channel column.
fn at(app: &mut App, r: &MatrixRow, channel: Channel) {
    let rows = editor(app).matrix();
    let i = rows.iter().position(|x| x == r).expect("row in the matrix");
    press(app, &[Key::Char('2')]);
    for _ in 0..rows.len() {
        press(app, &[Key::Char('k')]);
    }
    for _ in 0..i {
        press(app, &[Key::Char('j')]);
    }
    press(app, &[Key::Char('h'); 5]);
    let col = Channel::ALL.iter().position(|c| *c == channel).unwrap();
    for _ in 0..col {
        press(app, &[Key::Char('l')]);
    }
}

fn draft(app: &App) -> &Preferences {
    &editor(app).draft
}

#[test]
fn matrix_rows_are_grouped_by_category_default_first_from_prefs_and_inbox() {
    let app = editing(serde_json::json!({
        "categories": {"team": {"slack": false}},
        "events": {"deploy.failed": {"email": false}}
    }));
    let rows = editor(&app).matrix();
    let names: Vec<String> =
        rows.iter().map(|r| r.kind.clone().unwrap_or_else(|| format!("[{}]", r.category))).collect();
    assert_eq!(
        names,
        [
            "[analytics]",
            "analytics.report",
            "[approvals]",
            "approval.granted",
            "[billing]",
            "billing.payment_failed",
            "[issues]",
            "issue.assigned",
            "[system]",
            "build.failed",
            "deploy.failed",
            "[team]",
        ]
    );
}

#[test]
fn space_toggles_a_cell_explicitly_and_inheriting_cells_follow_their_category() {
    let mut app = editing(serde_json::json!({"categories": {"billing": {"email": false}}}));
    let kind = row("billing", Some("billing.payment_failed"));
    let cat = row("billing", None);
    assert_eq!(cell(draft(&app), &kind, Channel::Email), Cell::Inherited(false));
    assert_eq!(cell(draft(&app), &kind, Channel::Slack), Cell::Inherited(true));
    assert_eq!(cell(draft(&app), &cat, Channel::Email), Cell::Explicit(false));
    at(&mut app, &kind, Channel::Email);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(cell(draft(&app), &kind, Channel::Email), Cell::Explicit(true));
    assert!(editor(&app).dirty());
    // The category row changes what its inheriting types do, not the explicit one.
    at(&mut app, &cat, Channel::Slack);
    press(&mut app, &[Key::Char(' ')]);
    assert_eq!(cell(draft(&app), &kind, Channel::Slack), Cell::Inherited(false));
    at(&mut app, &kind, Channel::Email);
    press(&mut app, &[Key::Char('d')]);
    assert_eq!(cell(draft(&app), &kind, Channel::Email), Cell::Inherited(false), "d: back to the category");
    assert!(!draft(&app).events.contains_key("billing.payment_failed"));
}

#[test]
fn r_toggles_a_whole_row_and_c_a_whole_column() {
    let mut app = editing(serde_json::json!({}));
    let kind = row("issues", Some("issue.assigned"));
    at(&mut app, &kind, Channel::Webhook);
    press(&mut app, &[Key::Char('r')]);
    for ch in Channel::ALL {
        assert_eq!(cell(draft(&app), &kind, ch), Cell::Explicit(false), "{ch}");
    }
    press(&mut app, &[Key::Char('r')]);
    assert!(Channel::ALL.iter().all(|ch| cell(draft(&app), &kind, *ch) == Cell::Explicit(true)));
    press(&mut app, &[Key::Char('c')]);
    for r in editor(&app).matrix() {
        assert!(!cell(draft(&app), &r, Channel::Webhook).on(), "{r:?} webhook off");
        assert!(cell(draft(&app), &r, Channel::Email).on(), "{r:?} email untouched");
    }
    press(&mut app, &[Key::Char('c')]);
    assert!(editor(&app).matrix().iter().all(|r| cell(draft(&app), r, Channel::Webhook).on()));
}

#[test]
fn save_sends_prefs_update_with_the_version_edited_and_an_accepted_save_is_clean() {
    let mut app = editing(serde_json::json!({}));
    at(&mut app, &row("system", Some("build.failed")), Channel::Desktop);
    press(&mut app, &[Key::Char(' ')]);
    let fx = press(&mut app, &[Key::Ctrl('s')]);
    let sent = commands(&fx);
    assert_eq!(sent.len(), 1);
    let (req, Op::PrefsUpdate { version, prefs }) = &sent[0] else { panic!("{sent:?}") };
    assert_eq!(*version, 1);
    assert_eq!(prefs["events"]["build.failed"]["desktop"], serde_json::json!(false));
    assert_eq!(editor(&app).saving, Some(req.parse().unwrap()));
    assert_eq!(app.replica.prefs["events"]["build.failed"]["desktop"], false, "shown at once");
    update(&mut app, Action::Frame(ok(req)));
    let ed = editor(&app);
    assert_eq!((ed.saving, ed.version, ed.dirty()), (None, 2, false));
    assert_eq!(status(&app), "Preferences saved (version 2)");
    // The server's echo of our own save changes nothing here.
    update(&mut app, Action::Frame(prefs_change(6, prefs.clone(), 2)));
    assert_eq!(editor(&app).version, 2);
    assert!(!editor(&app).dirty());
    let fx = press(&mut app, &[Key::Char('w')]);
    assert!(commands(&fx).is_empty(), "nothing to save");
}

#[test]
fn w_refuses_to_send_what_the_server_would_refuse_and_names_the_field() {
    let mut app = editing(serde_json::json!({}));
    press(&mut app, &[Key::Char('4')]);
    super::prefs_edit::goto(&mut app, crate::tui::prefs::rows::RowId::EscalateAfter);
    press(&mut app, &[Key::Enter, Key::Backspace]);
    type_text(&mut app, "15");
    press(&mut app, &[Key::Enter]);
    let fx = press(&mut app, &[Key::Char('w')]);
    assert!(commands(&fx).is_empty());
    let e = editor(&app).error.clone().unwrap();
    assert_eq!(
        (e.field.as_str(), e.message.as_str()),
        ("escalation.channels", "name at least one channel to escalate to")
    );
    assert_eq!(status(&app), "Not saved: escalation.channels: name at least one channel to escalate to");
}

#[test]
fn a_refused_save_keeps_the_draft_and_shows_the_servers_reason_under_its_field() {
    let mut app = editing(serde_json::json!({}));
    at(&mut app, &row("billing", None), Channel::Email);
    press(&mut app, &[Key::Char(' ')]);
    let fx = press(&mut app, &[Key::Char('w')]);
    let (req, _) = commands(&fx).remove(0);
    let refusal = ServerFrame::Result {
        req,
        ok: false,
        error: Some(ErrorBody {
            code: "invalid".into(),
            message: "required by your organisation and cannot be turned off".into(),
            field: Some("categories.billing.email".into()),
        }),
        prefs: None,
        prefs_version: None,
        bulk: None,
        count: None,
        notifications: None,
    };
    update(&mut app, Action::Frame(refusal));
    let ed = editor(&app);
    assert!(ed.dirty(), "the user's edit is not thrown away");
    assert_eq!(ed.saving, None);
    assert_eq!(ed.error.as_ref().unwrap().field, "categories.billing.email");
    assert!(app.replica.prefs.get("categories").is_none(), "the replica is back to the server's");
    assert_eq!(app.mode, Mode::Prefs(Tab::Events));
}

/// Ours: the build.failed × desktop cell off (and `mine`'s changes); the save meets version
/// 4, which is `theirs`.
fn conflicted_with(mine: impl FnOnce(&mut App), theirs: serde_json::Value) -> App {
    let mut app = editing(serde_json::json!({"channels": {"email": {"address": "a@example.com"}}}));
    at(&mut app, &row("system", Some("build.failed")), Channel::Desktop);
    press(&mut app, &[Key::Char(' ')]);
    mine(&mut app);
    let fx = press(&mut app, &[Key::Char('w')]);
    let (req, _) = commands(&fx).remove(0);
    let answer = ServerFrame::Result {
        req,
        ok: false,
        error: Some(ErrorBody { code: "conflict".into(), message: "stale".into(), field: None }),
        prefs: Some(theirs),
        prefs_version: Some(4),
        bulk: None,
        count: None,
        notifications: None,
    };
    app.status = None;
    let fx = update(&mut app, Action::Frame(answer));
    app.editor.as_mut().unwrap().saving = None;
    if let Some((_, op)) = commands(&fx).into_iter().next() {
        RESAVED.with(|r| *r.borrow_mut() = Some(op));
    }
    app
}

thread_local! {
    static RESAVED: std::cell::RefCell<Option<Op>> = const { std::cell::RefCell::new(None) };
}

/// The `prefs_update` the conflict's answer sent at once, if any.
fn resaved() -> Option<Op> {
    RESAVED.with(|r| r.borrow_mut().take())
}

/// Both sides changed the e-mail address; only theirs turned quiet hours on.
fn clashing() -> App {
    let mine = |app: &mut App| {
        press(app, &[Key::Char('1')]);
        super::prefs_edit::goto(app, crate::tui::prefs::rows::RowId::EmailAddress);
        press(app, &[Key::Enter]);
        type_text(app, "c@example.com");
        press(app, &[Key::Enter]);
    };
    let theirs = serde_json::json!({
        "channels": {"email": {"address": "b@example.com"}},
        "quiet_hours": {"enabled": true}
    });
    conflicted_with(mine, theirs)
}

fn saved(fx: &[crate::tui::effect::Effect]) -> (i64, serde_json::Value) {
    match ops(fx).into_iter().next() {
        Some(Op::PrefsUpdate { version, prefs }) => (version, prefs),
        other => panic!("no save: {other:?}"),
    }
}

#[test]
fn a_conflict_on_fields_only_one_side_changed_is_merged_and_saved_without_asking() {
    let theirs = serde_json::json!({"channels": {"email": {"address": "b@example.com"}}});
    let app = conflicted_with(|_| {}, theirs);
    assert_eq!(app.mode, Mode::Prefs(Tab::Events), "no dialog: nothing to ask");
    let Some(Op::PrefsUpdate { version, prefs }) = resaved() else { panic!("the merge is saved at once") };
    assert_eq!(version, 4, "over the server's version");
    assert_eq!(prefs["channels"]["email"]["address"], "b@example.com", "their change kept");
    assert_eq!(prefs["events"]["build.failed"]["desktop"], false, "ours kept");
    assert!(
        status(&app).contains("Merged with version 4 (theirs: channels.email.address)"),
        "{}",
        status(&app)
    );
}

#[test]
fn only_the_fields_both_sides_changed_are_asked_about_and_enter_saves_mine_by_default() {
    let mut app = clashing();
    assert!(resaved().is_none(), "nothing saved before the answer");
    assert_eq!(app.mode, Mode::PrefsConflict);
    let c = editor(&app).conflict.clone().unwrap();
    let asked: Vec<String> = c.merge.clashes.iter().map(|c| c.name()).collect();
    assert_eq!(asked, ["channels.email.address"], "quiet hours and the matrix are not asked about");
    let fx = press(&mut app, &[Key::Enter]);
    let (version, prefs) = saved(&fx);
    assert_eq!(version, 4);
    assert_eq!(prefs["channels"]["email"]["address"], "c@example.com", "mine, as picked");
    assert_eq!(prefs["quiet_hours"]["enabled"], true, "theirs, which I never touched");
    assert_eq!(prefs["events"]["build.failed"]["desktop"], false, "mine, which they never touched");
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
}

#[test]
fn space_picks_theirs_for_a_field_and_t_takes_theirs_for_all_keeping_the_rest_of_mine() {
    let mut app = clashing();
    let fx = press(&mut app, &[Key::Char(' '), Key::Enter]);
    let (_, prefs) = saved(&fx);
    assert_eq!(prefs["channels"]["email"]["address"], "b@example.com");
    assert_eq!(prefs["events"]["build.failed"]["desktop"], false);
    let mut app = clashing();
    let fx = press(&mut app, &[Key::Char('t')]);
    let (_, prefs) = saved(&fx);
    assert_eq!(
        (&prefs["channels"]["email"]["address"], &prefs["quiet_hours"]["enabled"]),
        (&"b@example.com".into(), &true.into())
    );
    assert_eq!(prefs["events"]["build.failed"]["desktop"], false, "t takes theirs only where both changed");
    let mut app = clashing();
    let fx = press(&mut app, &[Key::Char(' '), Key::Char('m')]);
    assert_eq!(saved(&fx).1["channels"]["email"]["address"], "c@example.com", "m: all mine");
}

#[test]
fn a_secret_both_sides_changed_stays_masked_in_the_conflict_dialog() {
    let secret = format!("whsec_{}", "Zz9/".repeat(11));
    let s = secret.clone();
    let mine = move |app: &mut App| {
        press(app, &[Key::Char('1')]);
        super::prefs_edit::goto(app, crate::tui::prefs::rows::RowId::WebhookSecret);
        press(app, &[Key::Char('n'), Key::Char('y')]);
        update(app, Action::Prefs(crate::tui::action::PrefsAction::SecretGenerated(s)));
        press(app, &[Key::Esc]);
    };
    let theirs = serde_json::json!({
        "channels": {"email": {"address": "a@example.com"}, "webhook": {"secret": crate::prefs::MASKED_SECRET}}
    });
    let app = conflicted_with(mine, theirs);
    assert_eq!(app.mode, Mode::PrefsConflict);
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = super::view::screen(&super::view::sized(app.clone(), w, h), w, h);
        assert!(screen.contains("channels.webhook.secret"), "{screen}");
        assert!(!screen.contains("Zz9/"), "the secret never shows:\n{screen}");
        assert!(
            screen.contains("a new secret (hidden)") && screen.contains(crate::prefs::MASKED_SECRET),
            "{screen}"
        );
    }
}

#[test]
fn a_version_conflict_where_mine_changed_nothing_of_theirs_takes_theirs_without_saving() {
    let theirs = serde_json::json!({
        "channels": {"email": {"address": "a@example.com"}},
        "events": {"build.failed": {"desktop": false}}
    });
    let app = conflicted_with(|_| {}, theirs);
    assert!(resaved().is_none(), "theirs already has my change");
    let ed = editor(&app);
    assert_eq!((ed.version, ed.dirty(), app.mode), (4, false, Mode::Prefs(Tab::Events)));
}

#[test]
fn another_clients_save_shows_at_once_unless_something_here_is_unsaved() {
    let mut app = editing(serde_json::json!({}));
    let theirs = serde_json::json!({"quiet_hours": {"enabled": true}});
    update(&mut app, Action::Frame(prefs_change(6, theirs, 2)));
    let ed = editor(&app);
    assert!(ed.draft.quiet_hours.enabled, "redrawn with the other client's save");
    assert_eq!((ed.version, ed.dirty()), (2, false));
    press(&mut app, &[Key::Char(' ')]);
    update(
        &mut app,
        Action::Frame(prefs_change(7, serde_json::json!({"quiet_hours": {"weekends": true}}), 3)),
    );
    let ed = editor(&app);
    assert!(ed.dirty() && !ed.draft.quiet_hours.weekends, "our unsaved edit stays");
    assert_eq!(ed.version, 2, "so saving meets the conflict");
    assert!(status(&app).contains("changed elsewhere (version 3)"), "{}", status(&app));
}

#[test]
fn save_and_leave_closes_once_the_server_accepts() {
    let mut app = editing(serde_json::json!({}));
    press(&mut app, &[Key::Char(' '), Key::Esc]);
    assert_eq!(app.mode, Mode::PrefsLeave);
    let fx = press(&mut app, &[Key::Char('w')]);
    let (req, _) = commands(&fx).remove(0);
    assert!(app.editor.is_some(), "still open while the save is in flight");
    update(&mut app, Action::Frame(ok(&req)));
    assert!(app.editor.is_none());
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn esc_on_the_conflict_dialog_decides_later_keeping_the_draft_and_its_old_version() {
    let mut app = clashing();
    press(&mut app, &[Key::Esc]);
    let ed = editor(&app);
    assert_eq!(app.mode, Mode::Prefs(Tab::Channels));
    assert!(ed.conflict.is_none() && ed.dirty());
    assert_eq!(ed.version, 1, "a later save meets the conflict again");
    let fx = press(&mut app, &[Key::Char('w')]);
    let (_, Op::PrefsUpdate { version, .. }) = commands(&fx).remove(0) else { panic!() };
    assert_eq!(version, 1);
}

#[test]
fn a_save_made_offline_waits_and_goes_out_with_its_version_on_reconnect() {
    let mut app = editing(serde_json::json!({}));
    update(&mut app, Action::Disconnected { retry_in_secs: Some(3) });
    press(&mut app, &[Key::Char(' ')]);
    let fx = press(&mut app, &[Key::Ctrl('s')]);
    assert!(commands(&fx).is_empty(), "nothing goes out while offline");
    assert!(status(&app).contains("offline: 1 queued"), "{}", status(&app));
    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    let sent = commands(&fx);
    let (req, Op::PrefsUpdate { version, prefs }) = &sent[0] else { panic!("{sent:?}") };
    assert_eq!((*version, &prefs["channels"]["desktop"]["enabled"]), (1, &serde_json::json!(false)));
    update(&mut app, Action::Frame(ok(req)));
    assert!(!editor(&app).dirty());
}
