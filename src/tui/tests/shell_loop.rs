//! The shell's real run loop on ratatui's `TestBackend` (gitui's pattern): scripted terminal
//! events and server frames in, in bursts as they would arrive; the effects the loop hands on
//! recorded; the screen it last drew snapshotted with insta. The loop reads no clock and the
//! script's instants are fixed, so nothing on screen is volatile and nothing is filtered.

use std::collections::VecDeque;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::fixtures::*;
use crate::engine::PresenceState;
use crate::model::{Channel, Notification};
use crate::sync::client::ClientEvent;
use crate::sync::protocol::{ClientFrame, Op, ServerFrame};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::shell::event_loop::{Input, Inputs, Perform, run_loop};

/// Inputs in bursts: the loop takes a burst (`next`, then `ready` until it is empty) and draws
/// before the next one.
struct Script {
    bursts: VecDeque<VecDeque<Input>>,
    current: VecDeque<Input>,
}

impl Script {
    fn new(bursts: Vec<Vec<Input>>) -> Script {
        Script { bursts: bursts.into_iter().map(VecDeque::from).collect(), current: VecDeque::new() }
    }
}

impl Inputs for Script {
    async fn next(&mut self) -> Option<Input> {
        if self.current.is_empty() {
            self.current = self.bursts.pop_front()?;
        }
        self.current.pop_front()
    }

    fn ready(&mut self) -> Option<Input> {
        self.current.pop_front()
    }
}

/// Records every effect the loop hands on; answers none.
#[derive(Default)]
struct Recorder(Vec<Effect>);

impl Perform for Recorder {
    fn perform(&mut self, effect: Effect) -> Vec<Action> {
        self.0.push(effect);
        Vec::new()
    }
}

fn key(c: char) -> Input {
    Input::Terminal(Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
}

fn enter() -> Input {
    Input::Terminal(Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)))
}

fn frame(f: ServerFrame) -> Input {
    Input::Client(ClientEvent::Frame(f))
}

/// A server's welcome and snapshot of `items` to a client with no history.
fn connect(items: &[Notification]) -> Vec<Input> {
    let seq = i64::try_from(items.len()).unwrap();
    let mut burst = vec![
        Input::Client(ClientEvent::Connected),
        frame(welcome("stream-1", seq, unread_of(items), serde_json::json!({}), 1)),
    ];
    burst.extend(snapshot(items, 2).into_iter().map(frame));
    burst
}

fn presence(fx: &[Effect]) -> Vec<(PresenceState, Option<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::ReportPresence { state, viewing } => Some((*state, viewing.clone())),
            _ => None,
        })
        .collect()
}

/// Runs the loop to its end on a 100×30 `TestBackend`.
async fn drive(app: &mut App, script: &mut Script) -> (Terminal<TestBackend>, Vec<Effect>) {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let mut world = Recorder::default();
    let host = Some("example:8080".to_string());
    run_loop(&mut terminal, app, script, &mut world, &host).await.unwrap();
    (terminal, world.0)
}

#[tokio::test]
async fn keys_and_frames_drive_the_real_loop_until_q() {
    let items = showcase();
    let mut item = items.iter().find(|n| n.id == id(3)).unwrap().clone();
    item.data = serde_json::json!({"ticket": "API-231"});
    let mut answer = ServerFrame::ok("2");
    if let ServerFrame::Result { notifications, .. } = &mut answer {
        *notifications = Some(vec![item]);
    }
    let mut script = Script::new(vec![
        connect(&items),
        // Down twice to Alex's issue, open it: marked read (req 1), its detail asked for (req 2).
        vec![key('j'), key('j'), enter()],
        vec![frame(ServerFrame::ok("1")), frame(answer)],
        vec![Input::Terminal(Event::FocusLost)],
        vec![key('q')],
        vec![key('j')],
    ]);
    let mut app = App::new(now());
    let (terminal, fx) = drive(&mut app, &mut script).await;

    assert_eq!(script.bursts.len(), 1, "q ends the loop: the burst after it is never read");
    let sent = sent(&fx);
    assert!(matches!(&sent[0], ClientFrame::Hello { last_seq: 0, .. }), "{sent:?}");
    assert_eq!(
        commands(&fx),
        vec![
            ("1".to_string(), Op::MarkRead { ids: vec![id(3)] }),
            ("2".to_string(), Op::Get { ids: vec![id(3)] }),
        ]
    );
    assert_eq!(
        presence(&fx),
        vec![
            (PresenceState::Active, None),
            (PresenceState::Active, Some("repo/api#231".to_string())),
            (PresenceState::Idle, None),
        ],
        "said on connect, on opening a thread and on losing the focus; nothing else changed"
    );
    insta::assert_snapshot!("loop_detail_open", terminal.backend());
}

#[tokio::test]
async fn a_remote_client_raises_a_live_popup_acknowledges_its_click_and_closes_it_on_read() {
    let items = notes(2);
    let mut live = note(3, "Deploy failed on prod");
    live.deliveries.insert(Channel::Desktop, delivered("pending", 0, None));
    let mut read = live.clone();
    read.read_at = Some(now());
    let mut script = Script::new(vec![
        connect(&items),
        vec![frame(change(3, "notification_created", &live))],
        vec![Input::Answer(Action::PopupAcknowledged { id: id(3) })],
        vec![frame(change(4, "notification_updated", &read))],
        vec![Input::Answer(Action::PopupFailed("no notification server on the session bus".into()))],
        vec![key('q')],
    ]);
    let mut app = App::new(now());
    app.popups.remote = true;
    let (terminal, fx) = drive(&mut app, &mut script).await;

    let popups: Vec<&Effect> =
        fx.iter().filter(|e| matches!(e, Effect::RaisePopup(_) | Effect::ClosePopup { .. })).collect();
    assert_eq!(popups, [&Effect::RaisePopup(Box::new(live)), &Effect::ClosePopup { id: id(3) }]);
    assert_eq!(commands(&fx), vec![(format!("popup-{}", id(3)), Op::MarkRead { ids: vec![id(3)] })]);
    insta::assert_snapshot!("loop_popups_off", terminal.backend());
}
