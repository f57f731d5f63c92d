//! Builders shared by the TUI tests: notifications with sortable ids, an app that has said
//! hello and received a given inbox (as snapshot pages, as a server sends it to a client
//! with no history), frames, and readers for the effects `update` returns.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::model::{Channel, DeliveryState, Notification, Urgency};
use crate::sync::protocol::{ClientFrame, ErrorBody, Op, ServerFrame};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::effect::Effect;
use crate::tui::update::update;

/// Sunday 14 March 2027, noon UTC: the clock of every test.
pub fn now() -> Timestamp {
    ts("2027-03-14T12:00:00Z")
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Ids sort like ULIDs: a higher `n` is newer.
pub fn id(n: u32) -> String {
    format!("01JD{n:022}")
}

/// Notification `n`, created `n` minutes after 10:00 (so newer for higher `n`), unread.
pub fn note(n: u32, title: &str) -> Notification {
    Notification {
        id: id(n),
        user: "alice".into(),
        event_id: format!("ev-{n}"),
        kind: "build.failed".into(),
        category: "system".into(),
        urgency: Urgency::Normal,
        title: title.into(),
        body: None,
        url: None,
        thread: None,
        data: serde_json::Value::Null,
        created_at: ts("2027-03-14T10:00:00Z") + SignedDuration::from_mins(i64::from(n)),
        read_at: None,
        archived_at: None,
        snoozed_until: None,
        count: 1,
        deliveries: BTreeMap::new(),
        plan: None,
    }
}

pub fn notes(count: u32) -> Vec<Notification> {
    (1..=count).map(|n| note(n, &format!("Notification {n}"))).collect()
}

pub fn change(seq: i64, kind: &str, n: &Notification) -> ServerFrame {
    let mut payload = serde_json::Map::new();
    payload.insert("notification".into(), serde_json::to_value(n).unwrap());
    ServerFrame::Change { seq, kind: kind.into(), payload }
}

pub fn prefs_change(seq: i64, prefs: serde_json::Value, version: i64) -> ServerFrame {
    let mut payload = serde_json::Map::new();
    payload.insert("prefs".into(), prefs);
    payload.insert("prefs_version".into(), version.into());
    ServerFrame::Change { seq, kind: "prefs_updated".into(), payload }
}

pub fn welcome(stream: &str, seq: i64, unread: i64, prefs: serde_json::Value, version: i64) -> ServerFrame {
    ServerFrame::Welcome {
        user: "alice".into(),
        stream: stream.into(),
        seq,
        unread,
        prefs,
        prefs_version: version,
        required: None,
    }
}

pub fn ok(req: &str) -> ServerFrame {
    ServerFrame::ok(req)
}

pub fn refused(req: &str, code: &str, message: &str) -> ServerFrame {
    ServerFrame::Result {
        req: req.into(),
        ok: false,
        error: Some(ErrorBody { code: code.into(), message: message.into(), field: None }),
        prefs: None,
        prefs_version: None,
        bulk: None,
        count: None,
        notifications: None,
    }
}

/// The snapshot frames a server sends for `items`: newest first, `page` a frame.
pub fn snapshot(items: &[Notification], page: usize) -> Vec<ServerFrame> {
    let mut newest: Vec<Notification> = items.to_vec();
    newest.sort_by(|a, b| b.id.cmp(&a.id));
    let total = newest.len() as u64;
    if newest.is_empty() {
        return vec![ServerFrame::Snapshot { items: vec![], loaded: 0, total: 0, done: true }];
    }
    let mut loaded = 0;
    let pages: Vec<Vec<Notification>> = newest.chunks(page).map(<[Notification]>::to_vec).collect();
    let last = pages.len() - 1;
    pages
        .into_iter()
        .enumerate()
        .map(|(i, items)| {
            loaded += items.len() as u64;
            ServerFrame::Snapshot { items, loaded, total, done: i == last }
        })
        .collect()
}

/// The badge a server's `welcome` announces for `items`.
pub fn unread_of(items: &[Notification]) -> i64 {
    let unread = items.iter().filter(|n| crate::model::is_unread(&n.state(), now())).count();
    i64::try_from(unread).unwrap()
}

/// An app connected to `example:8080` whose inbox is `items` (its server at seq n, sent as
/// snapshot pages) and whose preferences are `prefs` at version 1.
pub fn app_with_prefs(items: Vec<Notification>, prefs: serde_json::Value) -> App {
    let mut app = App::new(now());
    update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    let n = i64::try_from(items.len()).unwrap();
    update(&mut app, Action::Frame(welcome("stream-1", n, unread_of(&items), prefs, 1)));
    for frame in snapshot(&items, 500) {
        update(&mut app, Action::Frame(frame));
    }
    app.status = None;
    app
}

/// The same, filled the way a server without snapshots fills a new client: every item
/// replayed as a change, oldest first.
pub fn app_replayed(items: Vec<Notification>) -> App {
    let mut app = App::new(now());
    update(&mut app, Action::Connected { host: Some("example:8080".into()) });
    let n = i64::try_from(items.len()).unwrap();
    update(&mut app, Action::Frame(welcome("stream-1", n, unread_of(&items), serde_json::json!({}), 1)));
    for (i, item) in items.iter().enumerate() {
        update(&mut app, Action::Frame(change(i64::try_from(i).unwrap() + 1, "notification_created", item)));
    }
    app.status = None;
    app
}

/// A bulk action's compact change: `field` set to `value` on `ids`.
pub fn set_many(seq: i64, ids: &[String], field: &str, value: Option<Timestamp>) -> ServerFrame {
    let mut payload = serde_json::Map::new();
    payload.insert("ids".into(), serde_json::json!(ids));
    payload.insert("set".into(), serde_json::json!({ field: value }));
    ServerFrame::Change { seq, kind: "notifications_updated".into(), payload }
}

/// A successful `result` of a bulk action.
pub fn bulk_ok(req: &str, bulk: Option<&str>, count: u64) -> ServerFrame {
    let mut frame = ServerFrame::ok(req);
    if let ServerFrame::Result { bulk: b, count: c, .. } = &mut frame {
        (*b, *c) = (bulk.map(String::from), Some(count));
    }
    frame
}

/// Answers every `get` in `fx` from `items`, as the server would.
pub fn serve_gets(app: &mut App, fx: &[Effect], items: &[Notification]) {
    for (req, op) in commands(fx) {
        if let Op::Get { ids } = op {
            let found: Vec<Notification> = items.iter().filter(|n| ids.contains(&n.id)).cloned().collect();
            let mut answer = ServerFrame::ok(req);
            if let ServerFrame::Result { notifications, .. } = &mut answer {
                *notifications = Some(found);
            }
            update(app, Action::Frame(answer));
        }
    }
}

/// The row the replica keeps of `n`.
pub fn row(app: &App, n: u32) -> crate::tui::row::Row {
    app.replica.get(&id(n)).cloned().unwrap_or_else(|| panic!("no item {n}"))
}

pub fn app_with(items: Vec<Notification>) -> App {
    app_with_prefs(items, serde_json::json!({}))
}

/// The frames `update` asked to send.
pub fn sent(fx: &[Effect]) -> Vec<ClientFrame> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// The commands `update` asked to send, as (req, op).
pub fn commands(fx: &[Effect]) -> Vec<(String, Op)> {
    sent(fx)
        .into_iter()
        .filter_map(|f| match f {
            ClientFrame::Command { req, op } => Some((req, op)),
            _ => None,
        })
        .collect()
}

pub fn ops(fx: &[Effect]) -> Vec<Op> {
    commands(fx).into_iter().map(|(_, op)| op).collect()
}

/// Titles in the list, top to bottom.
pub fn titles(app: &App) -> Vec<String> {
    app.listed().iter().map(|r| r.title.to_string()).collect()
}

pub fn selected_title(app: &App) -> String {
    app.selected_item().map(|r| r.title.to_string()).unwrap_or_default()
}

pub fn status(app: &App) -> String {
    app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
}

/// Applies several actions, collecting every effect.
pub fn run(app: &mut App, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
    actions.into_iter().flat_map(|a| update(app, a)).collect()
}

pub fn delivered(status: &str, attempts: u32, error: Option<&str>) -> DeliveryState {
    DeliveryState { status: status.into(), attempts, last_error: error.map(str::to_string) }
}

/// A populated inbox that exercises every part of a row and of the detail pane.
pub fn showcase() -> Vec<Notification> {
    let mut items = Vec::new();
    let mut a = note(1, "Weekly analytics report is ready");
    a.category = "analytics".into();
    a.kind = "analytics.report".into();
    a.urgency = Urgency::Low;
    a.read_at = Some(ts("2027-03-12T09:00:00Z"));
    a.created_at = ts("2027-03-01T08:00:00Z");
    items.push(a);
    let mut b = note(2, "Invoice 2027-014 is overdue");
    b.category = "billing".into();
    b.kind = "billing.payment_failed".into();
    b.urgency = Urgency::High;
    b.created_at = ts("2027-03-13T09:30:00Z");
    items.push(b);
    let mut c = note(3, "Alex assigned you API-231: rate limiter drops websocket pings under load");
    c.category = "issues".into();
    c.kind = "issue.assigned".into();
    c.thread = Some("repo/api#231".into());
    c.created_at = ts("2027-03-14T08:10:00Z");
    items.push(c);
    let mut d = note(4, "Deploy approved by Sam");
    d.category = "approvals".into();
    d.kind = "approval.granted".into();
    d.read_at = Some(ts("2027-03-14T11:00:00Z"));
    d.created_at = ts("2027-03-14T10:58:00Z");
    items.push(d);
    let mut e = note(5, "Build failed on main");
    e.urgency = Urgency::Urgent;
    e.count = 3;
    e.thread = Some("repo/api#4711".into());
    e.body = Some("**3 tests** failed in `api::stream`.\nSee the log for the first failure.".into());
    e.url = Some("https://ci.example/4711".into());
    e.data = serde_json::json!({"branch": "main", "attempt": 2});
    e.deliveries = BTreeMap::from([
        (Channel::Desktop, delivered("delivered", 1, None)),
        (Channel::Email, delivered("held", 0, None)),
        (Channel::Slack, delivered("failed", 3, Some("HTTP 500 from hooks.slack.com"))),
    ]);
    e.plan = crate::model::RawJson::to_raw(&serde_json::json!({
        "inbox": {"record": true, "read": false},
        "channels": {
            "desktop": {"plan": "deliver", "reasons": ["enabled", "urgent: bypasses quiet hours 22:00-08:00 Europe/Berlin"]},
            "email": {"plan": "hold", "until": "2027-03-15T07:00:00Z", "reasons": ["enabled", "quiet hours 22:00-08:00 Europe/Berlin"]},
            "webhook": {"plan": "suppress", "reason": "disabled", "reasons": ["channel off"]}
        },
        "urgency": "urgent"
    }))
    .ok();
    e.created_at = ts("2027-03-14T11:55:00Z");
    items.push(e);
    items
}

/// Presses keys through the keymap of whatever mode the app is in, as the shell does.
pub fn press(app: &mut App, keys: &[crate::tui::action::Key]) -> Vec<Effect> {
    let mut fx = Vec::new();
    for k in keys {
        if let Some(a) = app.keys.action(app.mode, *k) {
            fx.extend(update(app, a));
        }
    }
    fx
}

/// Types text, one key per character.
pub fn type_text(app: &mut App, text: &str) {
    let keys: Vec<crate::tui::action::Key> = text.chars().map(crate::tui::action::Key::Char).collect();
    press(app, &keys);
}

pub fn editor(app: &App) -> &crate::tui::prefs::Editor {
    app.editor.as_ref().expect("the preference editor is open")
}

/// The showcase inbox with these preferences, the editor open on them (and the shell's
/// answer to its device list in: no push devices).
pub fn editing(prefs: serde_json::Value) -> App {
    let mut app = app_with_prefs(showcase(), prefs);
    let fx = update(&mut app, Action::Preferences);
    assert!(fx.contains(&Effect::FetchDevices), "opening the editor asks for the push devices");
    update(&mut app, Action::Prefs(crate::tui::action::PrefsAction::DevicesListed(Ok(Vec::new()))));
    app
}

/// A registered push device, `minutes` after 09:00 on the test day.
pub fn device(provider: &str, token: &str, minutes: i64) -> crate::model::DeviceToken {
    crate::model::DeviceToken {
        provider: provider.into(),
        token: token.into(),
        created_at: ts("2027-03-14T09:00:00Z") + SignedDuration::from_mins(minutes),
    }
}
