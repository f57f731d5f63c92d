//! `|`: the selected item's JSON piped to a shell command the user types. The JSON is the
//! item in full as the server keeps it (DESIGN §13's notification object, as `get` and
//! `GET /api/v1/notifications/{id}` return it): the replica keeps no data, deliveries or
//! plan, so the item is fetched first. The shell runs the command (`Effect::Pipe`, with a
//! time limit and a cap on output) while the loop goes on, and its answer (`Piped`) fills the
//! output pane, which scrolls and closes with `esc`. Pure.

use crate::model::Notification;
use crate::sync::protocol::{ClientFrame, ErrorBody, Op};
use crate::tui::action::PipeOutcome;
use crate::tui::app::{App, PipeStage, PipeView};
use crate::tui::effect::Effect;
use crate::tui::row::Id;
use crate::tui::state::Mode;

/// Opens the prompt on the selected item, with the last command typed.
pub(super) fn open(app: &mut App) {
    let Some(id) = app.selected_item().map(|r| Id::clone(&r.id)) else {
        return app.say("Nothing selected");
    };
    let command = app.last_pipe.clone();
    app.pipe = Some(PipeView { command, id, stage: PipeStage::Typing, scroll: 0 });
    app.mode = Mode::PipePrompt;
}

pub(super) fn input(app: &mut App, c: char) {
    if let Some(p) = app.pipe.as_mut() {
        p.command.push(c);
    }
}

pub(super) fn backspace(app: &mut App) {
    if let Some(p) = app.pipe.as_mut() {
        p.command.pop();
    }
}

/// `enter` at the prompt: fetch the item, then run the command on its JSON.
pub(super) fn run(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(p) = app.pipe.as_mut() else { return };
    let command = p.command.trim().to_string();
    if command.is_empty() {
        app.pipe = None;
        app.mode = Mode::Normal;
        return app.say("No command: nothing piped");
    }
    app.last_pipe.clone_from(&command);
    p.command = command;
    p.scroll = 0;
    app.mode = Mode::PipeOutput;
    if !app.connection.is_up() {
        p.stage = PipeStage::Done(PipeOutcome {
            run: 0,
            output: String::new(),
            cut: false,
            ended: "not run: the item's JSON comes from the server, and it is not connected".into(),
            ok: false,
        });
        return;
    }
    let req = app.next_req;
    app.next_req += 1;
    p.stage = PipeStage::Fetching { req };
    let op = Op::Get { ids: vec![p.id.to_string()] };
    fx.push(Effect::Send(ClientFrame::Command { req: req.to_string(), op }));
}

/// The server's answer to the `get` of a pipe; false when `req` is not one.
pub(super) fn answered(
    app: &mut App,
    req: &str,
    ok: bool,
    error: Option<&ErrorBody>,
    items: Option<&[Notification]>,
    fx: &mut Vec<Effect>,
) -> bool {
    let Some(p) = app.pipe.as_mut() else { return false };
    let PipeStage::Fetching { req: asked } = p.stage else { return false };
    if asked.to_string() != req {
        return false;
    }
    let found = items.unwrap_or_default().iter().find(|n| *n.id == *p.id);
    let json = match (ok, found) {
        (true, Some(n)) => serde_json::to_string_pretty(n).map_err(|e| e.to_string()),
        (true, None) => Err("the server did not send the item".into()),
        (false, _) => Err(error.map_or_else(|| "refused".to_string(), |e| e.message.clone())),
    };
    match json {
        Ok(mut input) => {
            input.push('\n');
            p.stage = PipeStage::Running { run: asked };
            fx.push(Effect::Pipe { run: asked, command: p.command.clone(), input });
        }
        Err(why) => {
            p.stage = PipeStage::Done(PipeOutcome {
                run: asked,
                output: String::new(),
                cut: false,
                ended: format!("not run: the item could not be fetched: {why}"),
                ok: false,
            });
        }
    }
    true
}

/// The command ended; an answer for a run that was closed or replaced is dropped.
pub(super) fn piped(app: &mut App, outcome: PipeOutcome) {
    if let Some(p) = app.pipe.as_mut()
        && p.stage == (PipeStage::Running { run: outcome.run })
    {
        p.stage = PipeStage::Done(outcome);
    }
}

/// Scrolls the output by `by` lines, no further than its last line.
pub(super) fn scroll(app: &mut App, by: isize) {
    let Some(p) = app.pipe.as_mut() else { return };
    let lines = match &p.stage {
        PipeStage::Done(o) => o.output.lines().count(),
        _ => 0,
    };
    let most = u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX);
    let by = i16::try_from(by).unwrap_or(if by < 0 { i16::MIN } else { i16::MAX });
    p.scroll = p.scroll.saturating_add_signed(by).min(most);
}

/// `esc`: closes the prompt or the output; a command still running is stopped.
pub(super) fn close(app: &mut App, fx: &mut Vec<Effect>) {
    if app.pipe.as_ref().is_some_and(|p| matches!(p.stage, PipeStage::Running { .. })) {
        fx.push(Effect::StopPipe);
    }
    app.pipe = None;
    app.mode = Mode::Normal;
}
