//! `|`: the selected item's JSON (fetched in full from the server) goes to a command the
//! user types; its output shows in a pane that scrolls and closes with `esc`. Snapshots of the
//! prompt and the output at 80×24 and 120×40.

use super::fixtures::*;
use super::view::{draw, rows, screen, sized};
use crate::sync::protocol::{Op, ServerFrame};
use crate::tui::action::{Action, Key, PipeOutcome};
use crate::tui::app::{App, PipeStage};
use crate::tui::effect::Effect;
use crate::tui::state::Mode;
use crate::tui::update::update;

/// The answer to the `get` in `fx`, with the items of `items` it names; the effects it gives.
fn answer_get(app: &mut App, fx: &[Effect], items: &[crate::model::Notification]) -> Vec<Effect> {
    let (req, op) = commands(fx).pop().expect("a get");
    let Op::Get { ids } = op else { panic!("not a get: {op:?}") };
    let mut frame = ServerFrame::ok(req);
    if let ServerFrame::Result { notifications, .. } = &mut frame {
        *notifications = Some(items.iter().filter(|n| ids.contains(&n.id)).cloned().collect());
    }
    update(app, Action::Frame(frame))
}

fn piped(fx: &[Effect]) -> Option<(u64, String, String)> {
    fx.iter().find_map(|e| match e {
        Effect::Pipe { run, command, input } => Some((*run, command.clone(), input.clone())),
        _ => None,
    })
}

fn done(run: u64, output: &str, ended: &str, ok: bool) -> Action {
    Action::Piped(PipeOutcome { run, output: output.into(), cut: false, ended: ended.into(), ok })
}

#[test]
fn bar_asks_for_a_command_fetches_the_item_and_pipes_its_full_json() {
    let items = showcase();
    let mut app = app_with(items.clone());
    press(&mut app, &[Key::Char('|')]);
    assert_eq!(app.mode, Mode::PipePrompt);
    type_text(&mut app, "jq -r .data.branch");
    let fx = press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::PipeOutput);
    assert_eq!(ops(&fx), vec![Op::Get { ids: vec![id(5)] }], "the replica keeps no data: ask for it");
    assert!(piped(&fx).is_none(), "nothing runs before the item is in");
    let fx = answer_get(&mut app, &fx, &items);
    let (run, command, input) = piped(&fx).expect("it runs once the item is in");
    assert_eq!(command, "jq -r .data.branch");
    let json: serde_json::Value = serde_json::from_str(&input).unwrap();
    let expected = serde_json::to_value(&items[4]).unwrap();
    assert_eq!(json, expected, "the item as the server keeps it (DESIGN §13's object)");
    assert_eq!(json["data"]["branch"], "main");
    assert!(matches!(app.pipe.as_ref().unwrap().stage, PipeStage::Running { .. }));
    // A stale answer (an older run) is dropped; this run's fills the pane.
    update(&mut app, done(run + 100, "old", "exit 0", true));
    assert!(matches!(app.pipe.as_ref().unwrap().stage, PipeStage::Running { .. }));
    update(&mut app, done(run, "main\n", "exit 0", true));
    let screen = rows(&draw(&app, 80, 24)).join("\n");
    assert!(screen.contains("| jq -r .data.branch") && screen.contains("exit 0"), "{screen}");
    assert!(screen.contains("main"), "{screen}");
    // Esc closes it; the next `|` offers the same command again.
    let fx = press(&mut app, &[Key::Esc]);
    assert_eq!((app.mode, app.pipe.is_none()), (Mode::Normal, true));
    assert!(!fx.contains(&Effect::StopPipe), "nothing runs any more");
    press(&mut app, &[Key::Char('|')]);
    assert_eq!(app.pipe.as_ref().unwrap().command, "jq -r .data.branch");
}

#[test]
fn esc_while_it_runs_stops_it_and_its_late_answer_is_dropped() {
    let items = showcase();
    let mut app = app_with(items.clone());
    press(&mut app, &[Key::Char('|')]);
    type_text(&mut app, "sleep 60");
    let fx = press(&mut app, &[Key::Enter]);
    let fx = answer_get(&mut app, &fx, &items);
    let (run, ..) = piped(&fx).unwrap();
    let fx = press(&mut app, &[Key::Esc]);
    assert!(fx.contains(&Effect::StopPipe), "{fx:?}");
    update(&mut app, done(run, "", "stopped", false));
    assert!(app.pipe.is_none() && app.mode == Mode::Normal);
}

#[test]
fn the_output_scrolls_to_its_last_line_and_no_further() {
    let items = showcase();
    let mut app = sized(app_with(items.clone()), 80, 24);
    press(&mut app, &[Key::Char('|')]);
    type_text(&mut app, "seq 100");
    let fx = press(&mut app, &[Key::Enter]);
    let (run, ..) = piped(&answer_get(&mut app, &fx, &items)).unwrap();
    let output: String = (1..=100).map(|n| format!("{n}\n")).collect();
    update(&mut app, done(run, &output, "exit 0", true));
    let first = rows(&draw(&app, 80, 24)).join("\n");
    assert!(first.contains("lines 1–") && first.contains("of 100"), "{first}");
    press(&mut app, &[Key::Char('j'), Key::Char('j')]);
    assert_eq!(app.pipe.as_ref().unwrap().scroll, 2);
    assert_eq!(app.selected, 0, "j scrolls the output, not the list behind it");
    press(&mut app, &[Key::PageDown; 20]);
    let last = rows(&draw(&app, 80, 24)).join("\n");
    assert!(last.contains("–100 of 100") && last.contains("│100"), "the end is reachable: {last}");
}

#[test]
fn an_empty_command_a_refused_get_and_no_connection_say_so() {
    let items = showcase();
    let mut app = app_with(items.clone());
    let fx = press(&mut app, &[Key::Char('|'), Key::Enter]);
    assert!(fx.is_empty() || ops(&fx).is_empty());
    assert_eq!((app.mode, status(&app).as_str()), (Mode::Normal, "No command: nothing piped"));
    press(&mut app, &[Key::Char('|')]);
    type_text(&mut app, "cat");
    let fx = press(&mut app, &[Key::Enter]);
    let (req, _) = commands(&fx).pop().unwrap();
    let fx = update(&mut app, Action::Frame(refused(&req, "not_found", "no such notification")));
    assert!(piped(&fx).is_none());
    let screen = rows(&draw(&app, 120, 40)).join("\n");
    assert!(screen.contains("not run: the item could not be fetched: no such notification"), "{screen}");
    press(&mut app, &[Key::Esc]);
    update(&mut app, Action::Disconnected { retry_in_secs: Some(5) });
    press(&mut app, &[Key::Char('|')]);
    type_text(&mut app, "cat");
    let fx = press(&mut app, &[Key::Enter]);
    assert!(ops(&fx).is_empty() && piped(&fx).is_none());
    let screen = rows(&draw(&app, 120, 40)).join("\n");
    assert!(screen.contains("not run: the item's JSON comes from the server"), "{screen}");
}

#[test]
fn the_palette_finds_it_by_name() {
    let mut app = app_with(showcase());
    press(&mut app, &[Key::Char(':')]);
    type_text(&mut app, "pipe");
    press(&mut app, &[Key::Enter]);
    assert_eq!(app.mode, Mode::PipePrompt);
}

#[test]
fn the_prompt_and_the_output_snapshot_at_80x24_and_120x40() {
    let items = showcase();
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = sized(app_with(items.clone()), w, h);
        press(&mut app, &[Key::Char('|')]);
        type_text(&mut app, "jq .data");
        insta::assert_snapshot!(format!("pipe_prompt_{w}x{h}"), screen(&app, w, h));
        let fx = press(&mut app, &[Key::Enter]);
        let (run, ..) = piped(&answer_get(&mut app, &fx, &items)).unwrap();
        let output = "{\n  \"branch\": \"main\",\n  \"attempt\": 2\n}\n␛[31mwarning␛[0m: on stderr\n";
        update(&mut app, done(run, output, "exit 0", true));
        insta::assert_snapshot!(format!("pipe_output_{w}x{h}"), screen(&app, w, h));
    }
}
