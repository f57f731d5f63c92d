//! What a node tells the others when it commits (DESIGN §5a), and how a listener reads it:
//! `NOTIFY` payloads naming the users whose logs moved, a few per commit at most.

/// The channel committed changes are announced on.
pub(crate) const CHANGES: &str = "campanile_changes";
/// The channel presence changes are announced on.
pub(crate) const PRESENCE: &str = "campanile_presence";
/// Most bytes of one NOTIFY payload (PostgreSQL refuses 8,000 and more).
const PAYLOAD: usize = 7_000;
/// Most NOTIFYs one commit sends; past them it sends one that says "everyone".
const NOTIFIES: usize = 4;

/// The NOTIFY payloads that announce a commit's changes to the other nodes: the node that
/// committed and the users whose logs moved, a few payloads at most (past them, one that
/// says everyone: a broadcast moves every user's log).
pub(crate) fn announcements(node: &str, users: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut size = 0;
    for user in users {
        if size + user.len() + 4 > PAYLOAD && !current.is_empty() {
            out.push(payload(node, Some(&current)));
            current.clear();
            size = 0;
            if out.len() == NOTIFIES {
                return vec![payload(node, None)];
            }
        }
        size += user.len() + 4;
        current.push(user);
    }
    if !current.is_empty() {
        out.push(payload(node, Some(&current)));
    }
    out
}

fn payload(node: &str, users: Option<&[&str]>) -> String {
    match users {
        Some(users) => serde_json::json!({ "node": node, "users": users }).to_string(),
        None => serde_json::json!({ "node": node, "all": true }).to_string(),
    }
}

/// What a listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// These users' logs moved on another node.
    Users(Vec<String>),
    /// Anyone's may have: a broadcast, or the listener was away and cannot know.
    Everyone,
    /// Another node's presence changed.
    Presence,
}

/// A wake-up from one notification, or `None` for this node's own.
pub(crate) fn heard(me: &str, channel: &str, payload: &str) -> Option<Wakeup> {
    if channel == PRESENCE {
        return (payload != me).then_some(Wakeup::Presence);
    }
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    if v["node"].as_str() == Some(me) {
        return None;
    }
    if v["all"].as_bool() == Some(true) {
        return Some(Wakeup::Everyone);
    }
    let users = v["users"].as_array()?.iter().filter_map(|u| u.as_str().map(str::to_string)).collect();
    Some(Wakeup::Users(users))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_stay_under_the_payload_limit_and_few() {
        let few = announcements("n1", &["alice", "bob"]);
        assert_eq!(few.len(), 1);
        assert_eq!(heard("n2", CHANGES, &few[0]), Some(Wakeup::Users(vec!["alice".into(), "bob".into()])));
        assert_eq!(heard("n1", CHANGES, &few[0]), None, "a node ignores its own");

        let names: Vec<String> = (0..3_000).map(|i| format!("user-{i:05}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let some = announcements("n1", &refs[..1_000]);
        assert!(some.len() > 1 && some.len() <= NOTIFIES, "{}", some.len());
        assert!(some.iter().all(|p| p.len() < 8_000));
        let heard_users: usize = some
            .iter()
            .map(|p| match heard("n2", CHANGES, p) {
                Some(Wakeup::Users(u)) => u.len(),
                other => panic!("{other:?}"),
            })
            .sum();
        assert_eq!(heard_users, 1_000);
        let all = announcements("n1", &refs);
        assert_eq!(all.len(), 1);
        assert_eq!(heard("n2", CHANGES, &all[0]), Some(Wakeup::Everyone));
    }
}
