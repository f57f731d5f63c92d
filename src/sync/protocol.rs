//! Websocket frames of `/api/v1/stream` (DESIGN §6, §13). Every frame is one JSON object
//! with a `type`. Server and client share these types; additions are new optional fields.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::PresenceState;
use crate::model::{DeviceToken, InboxFilter, Notification};

/// A client that says this in `hello` understands `notifications_updated` changes (the
/// compact change of a bulk action: `{"ids":[…],"set":{field: value}}`). Other clients get
/// `snapshot_required` in their place, and refetch.
pub const FEATURE_BULK: &str = "bulk";
/// A client that says this in `hello` and has no history (`last_seq` 0, or a foreign
/// `stream`) gets its inbox as `snapshot` frames, newest first, instead of a replay of the
/// whole change log.
pub const FEATURE_SNAPSHOT: &str = "snapshot";

/// Client → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Hello {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default)]
        last_seq: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
        /// What this client understands beyond DESIGN §6 (an addition): [`FEATURE_BULK`],
        /// [`FEATURE_SNAPSHOT`].
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        features: Vec<String>,
    },
    Presence {
        state: PresenceState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        viewing: Option<String>,
    },
    Command {
        req: String,
        #[serde(flatten)]
        op: Op,
    },
    Ping,
}

/// A command's operation; every one is idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    MarkRead {
        ids: Vec<String>,
    },
    MarkUnread {
        ids: Vec<String>,
    },
    MarkAllRead {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<MarkAllFilter>,
    },
    Archive {
        ids: Vec<String>,
    },
    /// Undo of archive (an addition to DESIGN §6, for the TUI's undo).
    Unarchive {
        ids: Vec<String>,
    },
    Snooze {
        ids: Vec<String>,
        until: Timestamp,
    },
    /// Undo of snooze (an addition).
    Unsnooze {
        ids: Vec<String>,
    },
    /// An action on everything `filter` shows, up to the client's `up_to` seq (what it had
    /// seen; absent: everything now), in one transaction whatever the count (an addition).
    /// The result carries `bulk` (its id, to undo it) and `count`.
    Bulk {
        action: BulkAction,
        #[serde(default)]
        filter: InboxFilter,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        up_to: Option<i64>,
        /// For `snooze`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Timestamp>,
    },
    /// Takes a bulk action back (an addition).
    UndoBulk {
        bulk: String,
    },
    /// Notifications in full, by id, the caller's own (an addition): the result carries
    /// `notifications`.
    Get {
        ids: Vec<String>,
    },
    PrefsUpdate {
        version: i64,
        prefs: serde_json::Value,
    },
}

/// The answer of `GET`/`POST /device-tokens`: the caller's push devices, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Devices {
    pub devices: Vec<DeviceToken>,
}

/// What a bulk action does to each item it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    MarkRead,
    MarkUnread,
    Archive,
    Unarchive,
    Snooze,
    Unsnooze,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MarkAllFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// The error inside a failed `result` and in REST answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome {
        user: String,
        stream: String,
        seq: i64,
        unread: i64,
        prefs: serde_json::Value,
        prefs_version: i64,
        /// The organisation's required event × channel cells (`crate::model::prefs::Required`:
        /// `{"events": {type: [channel]}, "categories": {category: [channel]}}`), which the
        /// user cannot turn off. Servers send it always (empty maps when there is none);
        /// absent from older servers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        required: Option<serde_json::Value>,
    },
    /// `payload` holds `notification` or `prefs` + `prefs_version`, flattened into the frame.
    Change {
        seq: i64,
        kind: String,
        #[serde(flatten)]
        payload: serde_json::Map<String, serde_json::Value>,
    },
    /// The client's history is not the server's: refetch. With `seq` (an addition), sent
    /// mid-stream in place of a change the client does not understand: the stream goes on
    /// after that seq.
    SnapshotRequired {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<i64>,
    },
    /// A page of the inbox, newest first (an addition, for clients that asked for
    /// [`FEATURE_SNAPSHOT`]): `loaded` items so far of `total`; the last page has `done`.
    /// Items come without `plan` (ask with `get`). Changes after the welcome's `seq`
    /// follow the last page.
    Snapshot {
        items: Vec<Notification>,
        loaded: u64,
        total: u64,
        done: bool,
    },
    Result {
        req: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorBody>,
        /// With a `conflict`: the server's current preferences and version.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefs: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefs_version: Option<i64>,
        /// A bulk action's id (to undo it by), when it changed anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bulk: Option<String>,
        /// How many items a bulk action (or its undo) changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        /// The answer to `get`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notifications: Option<Vec<Notification>>,
    },
    Pong,
    /// A frame the server could not take (malformed JSON, unknown type); the connection stays.
    Error {
        error: ErrorBody,
    },
}

impl ServerFrame {
    /// A successful `result` with nothing to add.
    pub fn ok(req: impl Into<String>) -> ServerFrame {
        ServerFrame::Result {
            req: req.into(),
            ok: true,
            error: None,
            prefs: None,
            prefs_version: None,
            bulk: None,
            count: None,
            notifications: None,
        }
    }

    /// A failed `result`.
    pub fn failed(req: impl Into<String>, error: ErrorBody) -> ServerFrame {
        ServerFrame::Result {
            req: req.into(),
            ok: false,
            error: Some(error),
            prefs: None,
            prefs_version: None,
            bulk: None,
            count: None,
            notifications: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_the_reference_shapes() {
        let hello: ClientFrame = serde_json::from_str(
            r#"{"type":"hello","token":"t","last_seq":0,"stream":"s","client":"campanile-tui/0.1"}"#,
        )
        .expect("hello");
        assert!(matches!(hello, ClientFrame::Hello { last_seq: 0, .. }));
        let cmd: ClientFrame =
            serde_json::from_str(r#"{"type":"command","req":"7","op":"mark_read","ids":["01JD"]}"#)
                .expect("command");
        assert_eq!(
            cmd,
            ClientFrame::Command { req: "7".into(), op: Op::MarkRead { ids: vec!["01JD".into()] } }
        );
        let p: ClientFrame =
            serde_json::from_str(r#"{"type":"presence","state":"active","viewing":"repo/api#4711"}"#)
                .expect("presence");
        assert!(matches!(p, ClientFrame::Presence { state: PresenceState::Active, .. }));

        let mut payload = serde_json::Map::new();
        payload.insert("notification".into(), serde_json::json!({"id": "x"}));
        let change = ServerFrame::Change { seq: 43, kind: "notification_created".into(), payload };
        assert_eq!(
            serde_json::to_value(&change).expect("json"),
            serde_json::json!({"type":"change","seq":43,"kind":"notification_created","notification":{"id":"x"}})
        );
        let ok = ServerFrame::ok("7");
        assert_eq!(serde_json::to_string(&ok).expect("json"), r#"{"type":"result","req":"7","ok":true}"#);
        assert_eq!(
            serde_json::to_string(&ServerFrame::SnapshotRequired { seq: None }).expect("json"),
            r#"{"type":"snapshot_required"}"#
        );
        assert_eq!(serde_json::to_string(&ServerFrame::Pong).expect("json"), r#"{"type":"pong"}"#);
    }

    #[test]
    fn welcome_carries_the_required_policy_as_an_added_field() {
        let old =
            r#"{"type":"welcome","user":"a","stream":"s","seq":1,"unread":0,"prefs":{},"prefs_version":0}"#;
        let frame: ServerFrame = serde_json::from_str(old).expect("a welcome without `required` still reads");
        assert!(matches!(frame, ServerFrame::Welcome { required: None, .. }));
        let policy = serde_json::json!({"events": {"deploy.failed": ["email"]}, "categories": {}});
        let ServerFrame::Welcome { user, stream, seq, unread, prefs, prefs_version, .. } = frame else {
            unreachable!()
        };
        let with = ServerFrame::Welcome {
            user,
            stream,
            seq,
            unread,
            prefs,
            prefs_version,
            required: Some(policy.clone()),
        };
        assert_eq!(serde_json::to_value(&with).expect("json")["required"], policy);
    }
}
