//! The preference editor's screens: an insta snapshot of every tab at 80×24 and 120×40,
//! including a field with its inline error, the time-zone search, a rule's form, the test
//! panel and both dialogs; and what plain text cannot show (inherited cells look unlike
//! explicit ones, the text field is the tui-textarea widget on its row).

use ratatui::style::{Color, Modifier};

use super::fixtures::*;
use super::prefs_edit::goto;
use super::view::{draw, find, rows, screen, sized};
use crate::sync::protocol::{ErrorBody, ServerFrame};
use crate::tui::action::{Action, Key};
use crate::tui::app::App;
use crate::tui::prefs::rows::RowId;
use crate::tui::update::update;

fn prefs() -> serde_json::Value {
    serde_json::json!({
        "channels": {
            "email": {"enabled": true, "address": "alice@example.com", "frequency": "daily"},
            "webhook": {"enabled": true, "url": "https://hooks.example/campanile", "secret": "whsec_********"}
        },
        "quiet_hours": {"enabled": true, "start": "11:00", "end": "13:30", "timezone": "Europe/Berlin"},
        "categories": {"billing": {"slack": false}},
        "events": {"build.failed": {"email": false, "desktop": true}},
        "escalation": {"after_minutes": 30, "channels": ["email"]},
        "rules": [
            {"name": "CI failures on main are urgent", "match": {"type": "build.*", "urgency_at_least": "high"},
             "actions": {"set_urgency": "urgent"}},
            {"name": "Mute analytics", "enabled": false, "match": {"category": "analytics"}, "actions": {"mute": true}}
        ]
    })
}

fn scenes() -> Vec<(&'static str, App)> {
    let base = editing(prefs());
    let mut error = base.clone();
    goto(&mut error, RowId::EmailAddress);
    press(&mut error, &[Key::Enter, Key::End]);
    press(&mut error, &[Key::Backspace; 12]);
    let mut events = base.clone();
    press(&mut events, &[Key::Char('2'), Key::Char('j'), Key::Char('j'), Key::Char('l'), Key::Char(' ')]);
    let mut quiet = base.clone();
    press(&mut quiet, &[Key::Char('3')]);
    let mut zone = quiet.clone();
    goto(&mut zone, RowId::QuietZone);
    press(&mut zone, &[Key::Enter]);
    press(&mut zone, &[Key::Backspace; 13]);
    type_text(&mut zone, "america/n");
    let mut delivery = base.clone();
    press(&mut delivery, &[Key::Char('4')]);
    let mut rules = base.clone();
    press(&mut rules, &[Key::Char('5')]);
    let mut form = rules.clone();
    press(&mut form, &[Key::Enter]);
    let mut test = rules.clone();
    press(&mut test, &[Key::Char('t')]);
    let mut conflict = events.clone();
    let fx = press(&mut conflict, &[Key::Char('w')]);
    let (req, _) = commands(&fx).remove(0);
    let mut theirs = prefs();
    theirs["channels"]["email"]["address"] = "alice@work.example".into();
    // Both changed this cell: the one field the dialog asks about.
    theirs["categories"]["approvals"] = serde_json::json!({"email": true});
    update(
        &mut conflict,
        Action::Frame(ServerFrame::Result {
            req,
            ok: false,
            error: Some(ErrorBody { code: "conflict".into(), message: "stale".into(), field: None }),
            prefs: Some(theirs),
            prefs_version: Some(3),
            bulk: None,
            count: None,
            notifications: None,
        }),
    );
    let mut leave = events.clone();
    press(&mut leave, &[Key::Esc]);
    vec![
        ("prefs_channels", base),
        ("prefs_channels_error", error),
        ("prefs_events", events),
        ("prefs_quiet", quiet),
        ("prefs_quiet_zone", zone),
        ("prefs_delivery", delivery),
        ("prefs_rules", rules),
        ("prefs_rule_form", form),
        ("prefs_rule_test", test),
        ("prefs_conflict", conflict),
        ("prefs_leave", leave),
    ]
}

#[test]
fn snapshots_of_every_tab_and_dialog() {
    for (name, app) in scenes() {
        for (w, h) in [(80, 24), (120, 40)] {
            let app = sized(app.clone(), w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&app, w, h));
        }
    }
}

#[test]
fn inherited_cells_are_drawn_unlike_explicit_ones() {
    let mut app = sized(editing(prefs()), 120, 40);
    press(&mut app, &[Key::Char('2')]);
    let buf = draw(&app, 120, 40);
    let text = rows(&buf);
    let y = text.iter().position(|r| r.contains("  build.failed")).unwrap();
    let explicit = text[y].find("[x]").unwrap();
    let inherited = text[y].find("(x)").unwrap();
    let at =
        |x: usize| &buf[(u16::try_from(text[y][..x].chars().count()).unwrap(), u16::try_from(y).unwrap())];
    assert!(at(explicit).modifier.contains(Modifier::BOLD));
    assert_eq!(at(inherited).fg, Color::DarkGray);
    assert!(!at(inherited).modifier.contains(Modifier::BOLD));
}

#[test]
fn the_field_being_edited_is_the_text_area_on_its_row_with_the_error_under_it() {
    let mut app = sized(editing(prefs()), 80, 24);
    goto(&mut app, RowId::SlackUrl);
    press(&mut app, &[Key::Enter]);
    type_text(&mut app, "ftp://x");
    let buf = draw(&app, 80, 24);
    let (x, y) = find(&buf, "ftp://x").unwrap();
    assert!(rows(&buf)[usize::from(y)].contains("webhook URL"));
    assert_eq!(buf[(x, y)].bg, Color::Blue, "drawn by the text area with the field's style");
    assert!(rows(&buf)[usize::from(y) + 1].contains("✗ `ftp://x` must start with https:// or http://"));
    assert!(rows(&buf)[23].contains("enter keep") && rows(&buf)[23].contains("esc back out"));
}

#[test]
fn the_quiet_hours_preview_says_until_when_and_how_long() {
    let app = editing(prefs());
    let ed = editor(&app);
    // Noon UTC is 13:00 in Berlin, inside 11:00–13:30.
    assert_eq!(
        crate::tui::view::prefs_preview(&app, ed),
        "now 13:00 in Europe/Berlin: quiet until 13:30 (0 h 30 min)"
    );
    let mut late = app.clone();
    update(&mut late, Action::Tick(ts("2027-03-14T21:14:00Z")));
    let mut ed = editor(&late).clone();
    ed.draft.quiet_hours.start = "22:00".parse().unwrap();
    ed.draft.quiet_hours.end = "08:00".parse().unwrap();
    assert_eq!(
        crate::tui::view::prefs_preview(&late, &ed),
        "now 22:14 in Europe/Berlin: quiet until Mon 08:00 (9 h 46 min)"
    );
}

#[test]
fn every_editor_screen_draws_on_a_tiny_terminal_without_panicking() {
    for (name, app) in scenes() {
        for (w, h) in [(40, 10), (20, 5), (1, 1)] {
            let app = sized(app.clone(), w, h);
            let text = screen(&app, w, h);
            assert!(!text.is_empty(), "{name} at {w}x{h}");
        }
    }
}
