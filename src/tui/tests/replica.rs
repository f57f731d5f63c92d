//! The replica against a small fake of the server's side of DESIGN §6 (a per-user change log,
//! hello → welcome + snapshot pages or replay, idempotent commands and bulk actions answered
//! by `result`): whatever happens around a disconnect, the TUI ends up showing exactly the
//! server's inbox.

use std::collections::BTreeMap;

use super::fixtures::*;
use crate::model::{InboxFilter, Notification};
use crate::sync::protocol::{BulkAction, ClientFrame, FEATURE_SNAPSHOT, Op, ServerFrame};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::row::{Row, Symbols};
use crate::tui::update::update;

struct FakeServer {
    items: BTreeMap<String, Notification>,
    /// Each item's last change, as the store's `seq` column keeps it (what `up_to` compares).
    item_seq: BTreeMap<String, i64>,
    log: Vec<ServerFrame>,
    clock: jiff::Timestamp,
    /// Bulk actions by id: the items each changed and when.
    bulks: BTreeMap<String, (Vec<String>, jiff::Timestamp)>,
    /// Snapshot pages this small, so a short inbox still takes several.
    page: usize,
}

impl FakeServer {
    fn new() -> FakeServer {
        FakeServer {
            items: BTreeMap::new(),
            item_seq: BTreeMap::new(),
            log: Vec::new(),
            clock: ts("2027-03-14T12:30:00Z"),
            bulks: BTreeMap::new(),
            page: 2,
        }
    }

    fn seq(&self) -> i64 {
        i64::try_from(self.log.len()).unwrap()
    }

    fn record(&mut self, kind: &str, n: Notification) -> ServerFrame {
        self.items.insert(n.id.clone(), n.clone());
        self.item_seq.insert(n.id.clone(), self.seq() + 1);
        let frame = change(self.seq() + 1, kind, &n);
        self.log.push(frame.clone());
        frame
    }

    /// A bulk action's compact change, as the store logs it.
    fn record_many(&mut self, ids: &[String], read_at: Option<jiff::Timestamp>) -> ServerFrame {
        for id in ids {
            self.items.get_mut(id).unwrap().read_at = read_at;
            self.item_seq.insert(id.clone(), self.seq() + 1);
        }
        let frame = set_many(self.seq() + 1, ids, "read_at", read_at);
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
            ClientFrame::Hello { last_seq, features, .. } => {
                let items: Vec<Notification> = self.items.values().cloned().collect();
                let mut out =
                    vec![welcome("stream-1", self.seq(), unread_of(&items), serde_json::json!({}), 1)];
                if last_seq == 0 && features.iter().any(|f| f == FEATURE_SNAPSHOT) {
                    out.extend(snapshot(&items, self.page));
                } else {
                    let from = usize::try_from(last_seq).unwrap();
                    out.extend(self.log[from..].iter().cloned());
                }
                out
            }
            ClientFrame::Command {
                req,
                op: Op::Bulk { action: BulkAction::MarkRead, filter, up_to, .. },
            } => self.mark_read(&req, &filter, up_to),
            ClientFrame::Command { req, op: Op::UndoBulk { bulk } } => {
                let (ids, at) = self.bulks.remove(&bulk).unwrap();
                let back: Vec<String> =
                    ids.into_iter().filter(|id| self.items[id].read_at == Some(at)).collect();
                let count = back.len() as u64;
                let change = self.record_many(&back, None);
                vec![bulk_ok(&req, Some(&bulk), count), change]
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

    /// A bulk mark-read: what `filter` shows unread, up to `up_to`, in one compact change.
    fn mark_read(&mut self, req: &str, filter: &InboxFilter, up_to: Option<i64>) -> Vec<ServerFrame> {
        let now = self.clock;
        let ids: Vec<String> = self
            .items
            .values()
            .filter(|n| n.read_at.is_none() && filter.admits(&n.state(), n.urgency, n.text(), now))
            .filter(|n| up_to.is_none_or(|u| self.item_seq[&n.id] <= u))
            .map(|n| n.id.clone())
            .collect();
        if ids.is_empty() {
            return vec![bulk_ok(req, None, 0)];
        }
        let bulk = format!("bulk-{}", self.bulks.len() + 1);
        self.bulks.insert(bulk.clone(), (ids.clone(), now));
        let change = self.record_many(&ids, Some(now));
        // As the real server: the answer comes before the change it caused.
        vec![bulk_ok(req, Some(&bulk), ids.len() as u64), change]
    }

    /// The rows the TUI should hold.
    fn rows(&self) -> BTreeMap<String, Row> {
        let mut symbols = Symbols::default();
        self.items.iter().map(|(id, n)| (id.clone(), Row::new(n.clone(), &mut symbols))).collect()
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
    app.listed().iter().map(|r| r.id.to_string()).collect()
}

fn client_rows(app: &App) -> BTreeMap<String, Row> {
    app.replica.items().iter().map(|(id, r)| (id.to_string(), r.clone())).collect()
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
    assert_eq!(client_rows(&app), server.rows(), "every field, not only the list");
    assert_eq!(app.replica.last_seq, server.seq());
    assert!(app.replica.pending.is_empty());
    assert!(!app.replica.has_base());
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
    assert_eq!(client_rows(&app), server.rows());
    assert_eq!(row(&app, 1).count, 3);
}

/// Snapshot pages newest first; a connection that drops mid-snapshot starts over on the next
/// and ends with exactly the server's inbox, its cursor at the welcome's seq.
#[test]
fn a_snapshot_cut_short_starts_over_and_ends_in_the_servers_state() {
    let mut server = FakeServer::new();
    for n in 1..=7 {
        server.create(note(n, &format!("Item {n}")));
    }
    server.edit(&id(2), |n| n.archived_at = Some(ts("2027-03-14T12:20:00Z")));
    let mut app = App::new(now());
    let fx = update(&mut app, Action::Connected { host: None });
    // Only the welcome and the first two pages arrive.
    let frames: Vec<ServerFrame> = sent(&fx).into_iter().flat_map(|f| server.handle(f)).collect();
    for frame in frames.iter().take(3).cloned() {
        update(&mut app, Action::Frame(frame));
    }
    assert_eq!(titles(&app), ["Item 7", "Item 6", "Item 5", "Item 4"], "newest first, as they come");
    assert!(app.loading(), "not all in yet");
    assert_eq!(app.replica.last_seq, 0, "nothing to resume from until the last page");
    update(&mut app, Action::Disconnected { retry_in_secs: Some(1) });
    server.create(note(8, "Item 8"));
    let fx = update(&mut app, Action::Connected { host: None });
    let ClientFrame::Hello { last_seq, .. } = &sent(&fx)[0] else { panic!("{fx:?}") };
    assert_eq!(*last_seq, 0, "a snapshot cut short is asked for again");
    exchange(&mut app, &mut server, fx);
    assert!(!app.loading());
    assert_eq!(client_rows(&app), server.rows());
    assert_eq!(client_ids(&app), server.listed());
    assert_eq!(app.replica.last_seq, server.seq(), "the cursor is the welcome's seq");
    let live = server.create(note(9, "Live"));
    update(&mut app, Action::Frame(live));
    assert_eq!(titles(&app)[0], "Live");
}

/// `R` on more items than one command may name: one bulk command over the filter the user
/// sees, exactly what it counted marked read at once and on the server, and one undo.
#[test]
fn mark_all_read_is_one_bulk_action_over_what_is_listed_and_undo_takes_it_back() {
    let mut server = FakeServer::new();
    server.page = 500;
    for n in 1..=1_500 {
        let mut item = note(n, &format!("Item {n}"));
        item.category = if n % 3 == 0 { "billing" } else { "system" }.into();
        server.create(item);
    }
    let mut app = App::new(now());
    let fx = update(&mut app, Action::Connected { host: None });
    exchange(&mut app, &mut server, fx);
    app.filter.category = Some("system".into());
    update(&mut app, Action::MarkAllRead);
    assert_eq!(app.listed_unread(), 1_000);
    // A new item comes before the user confirms: it is listed, so it is counted.
    let late = server.create(note(1_501, "Late"));
    update(&mut app, Action::Frame(late));
    assert_eq!(app.listed_unread(), 1_001);
    let fx = update(&mut app, Action::ConfirmYes);
    let bulk = ops(&fx);
    assert!(
        matches!(&bulk[..], [Op::Bulk { action: BulkAction::MarkRead, filter, up_to: Some(up_to), .. }]
            if filter.category.as_deref() == Some("system") && *up_to == server.seq()),
        "{bulk:?}"
    );
    assert_eq!(app.listed_unread(), 0, "shown read at once");
    assert_eq!(status(&app), "Marked 1,001 read in system · u to undo");
    // An item that arrives after the command was sent is not the user's to have marked.
    let newer = server.create(note(1_502, "Newer"));
    update(&mut app, Action::Frame(newer));
    exchange(&mut app, &mut server, fx);
    assert_eq!(client_rows(&app), server.rows());
    assert!(!row(&app, 1_502).is_read());
    assert_eq!(app.replica.unread, 501, "500 billing items and the newer one");

    let fx = update(&mut app, Action::Undo);
    assert!(matches!(&ops(&fx)[..], [Op::UndoBulk { bulk }] if bulk == "bulk-1"), "{fx:?}");
    assert_eq!(app.replica.unread, 1_502, "shown unread at once");
    exchange(&mut app, &mut server, fx);
    assert_eq!(client_rows(&app), server.rows());
    assert_eq!(app.replica.unread, 1_502);
    assert!(app.replica.pending.is_empty() && !app.replica.has_base());
}
