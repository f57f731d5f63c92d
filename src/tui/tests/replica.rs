//! The replica against a small fake of the server's side of DESIGN §6 (a per-user change log,
//! hello → welcome + replay, idempotent commands answered by `result`): whatever happens
//! around a disconnect, the TUI ends up showing exactly the server's inbox.

use std::collections::BTreeMap;

use super::fixtures::*;
use crate::model::Notification;
use crate::sync::protocol::{ClientFrame, Op, ServerFrame};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::update::update;

struct FakeServer {
    items: BTreeMap<String, Notification>,
    log: Vec<ServerFrame>,
    clock: jiff::Timestamp,
}

impl FakeServer {
    fn new() -> FakeServer {
        FakeServer { items: BTreeMap::new(), log: Vec::new(), clock: ts("2027-03-14T12:30:00Z") }
    }

    fn seq(&self) -> i64 {
        i64::try_from(self.log.len()).unwrap()
    }

    fn record(&mut self, kind: &str, n: Notification) -> ServerFrame {
        self.items.insert(n.id.clone(), n.clone());
        let frame = change(self.seq() + 1, kind, &n);
        self.log.push(frame.clone());
        frame
    }

    fn create(&mut self, n: Notification) -> ServerFrame {
        self.record("notification_created", n)
    }

    /// Changes one item as another client would; `None` when that changed nothing.
    fn edit(&mut self, id: &str, f: impl FnOnce(&mut Notification)) -> Option<ServerFrame> {
        let mut n = self.items[id].clone();
        f(&mut n);
        (n != self.items[id]).then(|| self.record("notification_updated", n))
    }

    fn handle(&mut self, frame: ClientFrame) -> Vec<ServerFrame> {
        match frame {
            ClientFrame::Hello { last_seq, .. } => {
                let unread = self.items.values().filter(|n| n.read_at.is_none() && n.archived_at.is_none());
                let mut out = vec![welcome(
                    "stream-1",
                    self.seq(),
                    i64::try_from(unread.count()).unwrap(),
                    serde_json::json!({}),
                    1,
                )];
                let from = usize::try_from(last_seq).unwrap();
                out.extend(self.log[from..].iter().cloned());
                out
            }
            ClientFrame::Command { req, op } => {
                let at = self.clock;
                let ids = match &op {
                    Op::MarkRead { ids }
                    | Op::MarkUnread { ids }
                    | Op::Archive { ids }
                    | Op::Unarchive { ids } => ids.clone(),
                    other => panic!("the fake does not do {other:?}"),
                };
                // As the real server: the answer can come before the changes it caused.
                let mut out = vec![ok(&req)];
                for id in ids {
                    let changed = self.edit(&id, |n| match &op {
                        Op::MarkRead { .. } => n.read_at = n.read_at.or(Some(at)),
                        Op::MarkUnread { .. } => n.read_at = None,
                        Op::Archive { .. } => n.archived_at = n.archived_at.or(Some(at)),
                        Op::Unarchive { .. } => n.archived_at = None,
                        _ => {}
                    });
                    out.extend(changed);
                }
                out
            }
            ClientFrame::Presence { .. } | ClientFrame::Ping => vec![],
        }
    }

    /// The inbox as `GET /notifications` lists it: newest first, archived left out.
    fn listed(&self) -> Vec<String> {
        self.items.values().rev().filter(|n| n.archived_at.is_none()).map(|n| n.id.clone()).collect()
    }
}

/// Delivers effects to the server and its answers back, until nothing is left to say.
fn exchange(app: &mut App, server: &mut FakeServer, fx: Vec<Effect>) {
    let mut outbox: Vec<ClientFrame> = sent(&fx);
    while !outbox.is_empty() {
        let mut next = Vec::new();
        for frame in outbox {
            for answer in server.handle(frame) {
                next.extend(sent(&update(app, Action::Frame(answer))));
            }
        }
        outbox = next;
    }
}

fn client_ids(app: &App) -> Vec<String> {
    app.listed().iter().map(|n| n.id.clone()).collect()
}

#[test]
fn a_disconnect_in_the_middle_of_a_stream_ends_in_the_servers_state() {
    let mut server = FakeServer::new();
    let mut app = App::new(now());
    for n in 1..=4 {
        server.create(note(n, &format!("Before {n}")));
    }
    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    exchange(&mut app, &mut server, fx);
    assert_eq!(client_ids(&app), server.listed());

    // Live: one new item, and the user reads one (answered at once).
    let live = server.create(note(5, "Live"));
    update(&mut app, Action::Frame(live));
    let fx = update(&mut app, Action::ToggleRead);
    exchange(&mut app, &mut server, fx);

    // The connection drops. The server moves on without us: new items, another client
    // archives one and reads another. Meanwhile we archive an item, offline.
    update(&mut app, Action::Disconnected { retry_in_secs: Some(2) });
    server.create(note(6, "While away 6"));
    server.create(note(7, "While away 7"));
    server.edit(&id(2), |n| n.archived_at = Some(ts("2027-03-14T12:20:00Z")));
    server.edit(&id(3), |n| n.read_at = Some(ts("2027-03-14T12:21:00Z")));
    update(&mut app, Action::Bottom);
    assert_eq!(selected_title(&app), "Before 1");
    let fx = update(&mut app, Action::Archive);
    assert!(sent(&fx).is_empty());

    // Back: hello with our last seq, the queued archive, welcome, replay, result.
    let fx = update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    exchange(&mut app, &mut server, fx);

    assert_eq!(client_ids(&app), server.listed());
    assert_eq!(app.replica.notifications, server.items, "every field, not only the list");
    assert_eq!(app.replica.last_seq, server.seq());
    assert!(app.replica.pending.is_empty());
    assert!(app.replica.base.is_empty());
    let unread = server.items.values().filter(|n| n.read_at.is_none() && n.archived_at.is_none()).count();
    assert_eq!(app.replica.unread, i64::try_from(unread).unwrap());
    assert_eq!(titles(&app), ["While away 7", "While away 6", "Live", "Before 4", "Before 3"]);
}

#[test]
fn a_change_delivered_twice_around_a_reconnect_is_applied_once() {
    let mut server = FakeServer::new();
    let mut app = App::new(now());
    server.create(note(1, "One"));
    let fx = update(&mut app, Action::Connected { host: None });
    exchange(&mut app, &mut server, fx);
    let edit = server.edit(&id(1), |n| n.count = 2).unwrap();
    update(&mut app, Action::Frame(edit.clone()));
    server.edit(&id(1), |n| n.count = 3);
    // The reconnect replays from our seq; the old frame arriving late changes nothing.
    update(&mut app, Action::Disconnected { retry_in_secs: Some(1) });
    let fx = update(&mut app, Action::Connected { host: None });
    exchange(&mut app, &mut server, fx);
    update(&mut app, Action::Frame(edit));
    assert_eq!(app.replica.notifications, server.items);
    assert_eq!(app.replica.notifications[&id(1)].count, 3);
}
