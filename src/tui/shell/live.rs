//! The run loop's world in a running TUI: its [`Inputs`] are the terminal's events, the sync
//! client's, the answers of effects that take a while, a one-second clock and SIGTERM; its
//! [`Perform`]er sends frames through the sync client, opens links, makes webhook secrets,
//! asks REST ([`super::rest`]) and raises desktop popups ([`super::popups`]).

use std::time::Duration;

use crossterm::event::EventStream;
use futures_util::StreamExt;
use jiff::Timestamp;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Interval;

use super::event_loop::{Input, Inputs, Perform};
use super::popups::Desk;
use super::rest::answer;
use crate::sync::client::{ClientEvent, ClientHandle, Transport};
use crate::sync::protocol::ClientFrame;
use crate::tui::action::{Action, PrefsAction};
use crate::tui::effect::Effect;

/// Where a running TUI's inputs come from.
pub(super) struct Live {
    /// `None` while the pager has the terminal: dropping the stream stops its reader thread.
    terminal: Option<EventStream>,
    client: mpsc::Receiver<ClientEvent>,
    answers: mpsc::Receiver<Action>,
    tick: Interval,
    term: Signal,
    /// Called on every disconnect of a client of another process's engine: takes the engine
    /// over if that process is gone (see `Successor`).
    takeover: Option<Box<dyn FnMut() + Send>>,
}

impl Live {
    pub(super) fn new(
        client: mpsc::Receiver<ClientEvent>,
        answers: mpsc::Receiver<Action>,
        takeover: Option<Box<dyn FnMut() + Send>>,
    ) -> Result<Live, String> {
        let term = signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
        let tick = tokio::time::interval(Duration::from_secs(1));
        Ok(Live { terminal: Some(EventStream::new()), client, answers, tick, term, takeover })
    }

    fn seen(&mut self, ev: ClientEvent) -> Input {
        if matches!(ev, ClientEvent::Disconnected { .. })
            && let Some(takeover) = self.takeover.as_mut()
        {
            takeover();
        }
        Input::Client(ev)
    }
}

impl Inputs for Live {
    async fn next(&mut self) -> Option<Input> {
        let terminal = async {
            match self.terminal.as_mut() {
                Some(t) => t.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(Ok(ev)) = terminal => Some(Input::Terminal(ev)),
            Some(ev) = self.client.recv() => Some(self.seen(ev)),
            Some(a) = self.answers.recv() => Some(Input::Answer(a)),
            _ = self.tick.tick() => Some(Input::Tick(Timestamp::now())),
            _ = self.term.recv() => Some(Input::Terminate),
        }
    }

    /// Only the sync client's events come in bursts (a snapshot, a replay): they are drawn
    /// once per burst. A key waits for the frame before it.
    fn ready(&mut self) -> Option<Input> {
        let ev = self.client.try_recv().ok()?;
        Some(self.seen(ev))
    }

    fn pause_terminal(&mut self) {
        self.terminal = None;
    }

    fn resume_terminal(&mut self) {
        self.terminal = Some(EventStream::new());
    }
}

/// What carries out a running TUI's effects.
pub(super) struct World {
    pub(super) client: ClientHandle,
    /// For REST: the same server the sync connection reaches.
    pub(super) transport: Transport,
    /// Answers that come later, back to the loop as [`Input::Answer`].
    pub(super) answers: mpsc::Sender<Action>,
    pub(super) popups: Desk,
    /// Stops the piped command that runs, if one does.
    pub(super) pipe: Option<tokio_util::sync::CancellationToken>,
}

impl Perform for World {
    fn perform(&mut self, effect: Effect) -> Vec<Action> {
        match effect {
            // `hello` included: the actor adds the token; the cursor is the replica's.
            Effect::Send(frame) => {
                if !self.client.send(frame) {
                    tracing::warn!("the sync client is gone or busy; a frame was dropped");
                }
            }
            Effect::ReportPresence { state, viewing } => {
                if !self.client.send(ClientFrame::Presence { state, viewing }) {
                    tracing::debug!("the sync client is busy; presence goes with the next heartbeat");
                }
            }
            Effect::OpenUrl(url) => crate::channels::desktop::open_url(&url),
            Effect::Copy(text) => super::clipboard::copy(&text),
            Effect::Page(text) => return vec![Action::Paged(super::pager::page(&text))],
            Effect::Pipe { run, command, input } => {
                let stop = tokio_util::sync::CancellationToken::new();
                if let Some(old) = self.pipe.replace(stop.clone()) {
                    old.cancel();
                }
                let tx = self.answers.clone();
                tokio::spawn(async move {
                    let outcome = super::pipe::run(run, &command, input, stop, super::pipe::TIMEOUT).await;
                    let _ = tx.send(Action::Piped(outcome)).await;
                });
            }
            Effect::StopPipe => {
                if let Some(stop) = self.pipe.take() {
                    stop.cancel();
                }
            }
            Effect::Reconnect => self.client.reconnect(),
            Effect::GenerateSecret => match crate::channels::webhook::new_secret() {
                Ok(secret) => return vec![Action::Prefs(PrefsAction::SecretGenerated(secret))],
                Err(e) => tracing::error!(error = %e, "no randomness for a webhook secret"),
            },
            e @ (Effect::FetchDevices | Effect::RemoveDevice { .. }) => {
                let (transport, tx) = (self.transport.clone(), self.answers.clone());
                tokio::spawn(async move {
                    if let Some(a) = answer(&transport, e).await {
                        let _ = tx.send(a).await;
                    }
                });
            }
            Effect::RaisePopup(n) => self.popups.raise(*n, self.answers.clone()),
            Effect::ClosePopup { id } => self.popups.close(id),
            // The loop's own.
            Effect::Quit | Effect::Redraw => {}
        }
        Vec::new()
    }
}
