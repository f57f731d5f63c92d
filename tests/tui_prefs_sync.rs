//! The preference editor against a real daemon: the TUI's pure core (`App` + `update`) fed
//! by real websocket connections. One validation: the same bad value gets the same message
//! from the editor as it types and from REST `PUT /settings`. Two clients of one user: a
//! save in one editor shows in the other at once; two unsaved edits of different fields meet
//! the server's version check and are merged, both kept, without a dialog.

#![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

mod support;

use campanile::sync::protocol::{ClientFrame, ServerFrame};
use campanile::tui::action::{Action, Key, key_to_action};
use campanile::tui::app::App;
use campanile::tui::effect::Effect;
use campanile::tui::prefs::rows::{RowId, RuleField};
use campanile::tui::state::{Mode, Tab};
use campanile::tui::update::update;
use serde_json::{Value, json};
use support::{Daemon, Ws, start};

/// One TUI: its state and its websocket.
struct Client {
    app: App,
    ws: Ws,
}

impl Client {
    async fn connect(d: &Daemon) -> Client {
        let (ws, welcome) = Ws::connect(d, "alice", 0, None).await;
        let mut app = App::new(jiff::Timestamp::now());
        update(&mut app, Action::Connected { host: Some(d.addr.to_string()) });
        let mut c = Client { app, ws };
        c.apply(welcome).await;
        c
    }

    /// Applies a frame, sending the commands `update` answers it with (a merged save after
    /// a version conflict), as the shell does.
    async fn apply(&mut self, frame: Value) {
        let frame: ServerFrame = serde_json::from_value(frame).unwrap();
        for e in update(&mut self.app, Action::Frame(frame)) {
            if let Effect::Send(f @ ClientFrame::Command { .. }) = e {
                self.ws.send(serde_json::to_value(f).unwrap()).await;
            }
        }
    }

    /// Presses keys as the shell would, sending every frame `update` asks for.
    async fn press(&mut self, keys: &[Key]) {
        for k in keys {
            let Some(a) = key_to_action(self.app.mode, *k) else { continue };
            for e in update(&mut self.app, a) {
                if let Effect::Send(f @ ClientFrame::Command { .. }) = e {
                    self.ws.send(serde_json::to_value(f).unwrap()).await;
                }
            }
        }
    }

    async fn type_text(&mut self, text: &str) {
        let keys: Vec<Key> = text.chars().map(Key::Char).collect();
        self.press(&keys).await;
    }

    /// Applies frames until `done` holds (each frame waits at most 10 s).
    async fn until(&mut self, done: impl Fn(&App) -> bool) {
        while !done(&self.app) {
            let f = self.ws.next().await;
            self.apply(f).await;
        }
    }

    async fn goto(&mut self, row: RowId) {
        self.press(&[Key::Char('k'); 40]).await;
        for _ in 0..40 {
            if self.app.editor.as_ref().unwrap().current() == Some(row) {
                return;
            }
            self.press(&[Key::Char('j')]).await;
        }
        panic!("no row {row:?}");
    }

    /// Opens the editor and types `text` into a row's field; returns the inline error.
    async fn typed_error(&mut self, tab: char, row: RowId, text: &str) -> Option<String> {
        self.press(&[Key::Char('p'), Key::Char(tab)]).await;
        if let RowId::Rule(..) = row {
            self.press(&[Key::Char('a')]).await;
        }
        self.goto(row).await;
        self.press(&[Key::Enter]).await;
        self.press(&[Key::Backspace; 40]).await;
        self.type_text(text).await;
        let error = self.app.editor.as_ref().unwrap().field.as_ref().unwrap().error.clone();
        self.press(&[Key::Esc, Key::Esc, Key::Esc, Key::Char('d')]).await;
        assert_eq!(self.app.mode, Mode::Normal);
        error
    }

    fn matrix_cell(&self, kind: &str, channel: &str) -> Option<bool> {
        self.app.replica.prefs["events"][kind][channel].as_bool()
    }
}

async fn put_settings(d: &Daemon, patch: Value) -> (u16, Value) {
    let r = d.http.put(d.url("/settings")).bearer_auth(d.token("alice")).json(&patch).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn the_editor_and_put_settings_word_a_bad_value_the_same_way() {
    let d = start().await;
    let mut c = Client::connect(&d).await;
    let cases: Vec<(char, RowId, &str, Value, &str)> = vec![
        (
            '1',
            RowId::EmailAddress,
            "alice@",
            json!({"channels": {"email": {"address": "alice@"}}}),
            "channels.email.address",
        ),
        (
            '1',
            RowId::SlackUrl,
            "hooks.slack.com/x",
            json!({"channels": {"slack": {"url": "hooks.slack.com/x"}}}),
            "channels.slack.url",
        ),
        (
            '1',
            RowId::WebhookUrl,
            "https:///x",
            json!({"channels": {"webhook": {"url": "https:///x"}}}),
            "channels.webhook.url",
        ),
        (
            '3',
            RowId::QuietZone,
            "Mars/Olympus",
            json!({"quiet_hours": {"timezone": "Mars/Olympus"}}),
            "quiet_hours.timezone",
        ),
        (
            '5',
            RowId::Rule(0, RuleField::SnoozeFor),
            "soon",
            json!({"rules": [{"name": "r", "actions": {"snooze_for": "soon"}}]}),
            "rules[0].actions.snooze_for",
        ),
        ('5', RowId::Rule(0, RuleField::Name), " ", json!({"rules": [{"name": " "}]}), "rules[0].name"),
    ];
    for (tab, row, text, patch, field) in cases {
        let (status, body) = put_settings(&d, patch).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
        let rest = body["error"]["message"].as_str().unwrap().to_string();
        let tui = c.typed_error(tab, row, text).await;
        assert_eq!(tui.as_deref(), Some(rest.as_str()), "{field}: the editor and REST disagree");
    }
    let (_, settings) = d.get("alice", "/settings").await;
    assert_eq!(settings["prefs_version"], 0, "nothing was saved either way");
    d.stop().await;
}

#[tokio::test]
async fn a_save_in_one_editor_shows_in_the_other_at_once_and_a_stale_save_merges_both_edits() {
    let d = start().await;
    let (status, _) = d
        .publish("svc", json!({"type": "build.failed", "title": "Build failed", "to": {"users": ["alice"]}}))
        .await;
    assert_eq!(status, 201);
    let mut a = Client::connect(&d).await;
    let mut b = Client::connect(&d).await;
    for c in [&mut a, &mut b] {
        c.until(|app| app.replica.items().len() == 1).await;
        c.press(&[Key::Char('p'), Key::Char('2')]).await;
    }
    // Rows: [system] default, then build.failed; columns start at desktop.
    a.press(&[Key::Char('j'), Key::Char(' '), Key::Ctrl('s')]).await;
    assert_eq!(a.app.editor.as_ref().unwrap().saving, Some(1));
    a.until(|app| app.editor.as_ref().unwrap().saving.is_none()).await;
    let ed = a.app.editor.as_ref().unwrap();
    assert_eq!((ed.version, ed.dirty()), (1, false), "{:?}", a.app.status);
    b.until(|app| app.replica.prefs_version == 1).await;
    let ed = b.app.editor.as_ref().unwrap();
    assert!(!ed.draft.events["build.failed"][&campanile::model::Channel::Desktop], "b redrew at once");
    assert_eq!(ed.version, 1);
    assert_eq!(b.matrix_cell("build.failed", "desktop"), Some(false));

    // Both edit version 1; a saves first, so b's save is stale.
    a.press(&[Key::Char('l'), Key::Char(' '), Key::Char('w')]).await;
    a.until(|app| app.editor.as_ref().unwrap().saving.is_none()).await;
    b.press(&[Key::Char('j'), Key::Char('l'), Key::Char('l'), Key::Char(' ')]).await;
    b.until(|app| app.replica.prefs_version == 2).await;
    assert!(b.app.editor.as_ref().unwrap().dirty(), "b's unsaved edit stays");
    // The save meets version 2; a and b changed different cells, so b's is merged with a's
    // and saved at once, without a dialog (issue 16, failure 5).
    b.press(&[Key::Char('w')]).await;
    b.until(|app| app.editor.as_ref().unwrap().saving.is_none() && app.replica.prefs_version == 3).await;
    assert_eq!(b.app.mode, Mode::Prefs(Tab::Events), "nothing to ask: {:?}", b.app.status);
    let (_, settings) = d.get("alice", "/settings").await;
    assert_eq!(settings["prefs_version"], 3);
    // Both changes stay: a's e-mail cell of version 2 and b's slack cell.
    assert_eq!(
        settings["prefs"]["events"]["build.failed"],
        json!({"desktop": false, "email": false, "slack": false})
    );
    a.until(|app| app.replica.prefs_version == 3).await;
    assert_eq!(a.matrix_cell("build.failed", "slack"), Some(false));
    assert_eq!(a.matrix_cell("build.failed", "email"), Some(false));
    let ed = a.app.editor.as_ref().unwrap();
    assert_eq!((ed.version, ed.dirty()), (3, false), "a, with nothing unsaved, follows at once");
    d.stop().await;
}
