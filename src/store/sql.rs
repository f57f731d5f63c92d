//! What both backends write the same way, so it is written once: how an inbox action reads
//! in SQL (both dialects have `IS DISTINCT FROM`), the name a bulk action is kept under, and
//! the checks of a list of users to import.

use crate::model::{FieldError, check_user_name};
use crate::store::{InboxOp, NewUser, Result, StoreError, from_micros, micros};

/// How an op reads in SQL: the column it sets, the value, when a row changes.
pub(super) trait OpSql: Sized {
    fn column(self) -> &'static str;
    fn value(self, now: i64) -> Option<i64>;
    fn guard(self, alias: &str, value: &str) -> String;
    fn parse(name: &str, until: Option<i64>) -> Result<Self>;
}

impl OpSql for InboxOp {
    fn column(self) -> &'static str {
        match self {
            InboxOp::MarkRead | InboxOp::MarkUnread => "read_at",
            InboxOp::Archive | InboxOp::Unarchive => "archived_at",
            InboxOp::Snooze(_) | InboxOp::Unsnooze => "snoozed_until",
        }
    }

    fn value(self, now: i64) -> Option<i64> {
        match self {
            InboxOp::MarkRead | InboxOp::Archive => Some(now),
            InboxOp::Snooze(until) => Some(micros(until)),
            InboxOp::MarkUnread | InboxOp::Unarchive | InboxOp::Unsnooze => None,
        }
    }

    /// Reading or archiving keeps the first time it happened; the others change what
    /// differs.
    fn guard(self, alias: &str, value: &str) -> String {
        match self {
            InboxOp::MarkRead | InboxOp::Archive => format!("{alias}{} IS NULL", self.column()),
            _ => format!("{alias}{} IS DISTINCT FROM {value}", self.column()),
        }
    }

    fn parse(name: &str, until: Option<i64>) -> Result<InboxOp> {
        Ok(match (name, until) {
            ("mark_read", _) => InboxOp::MarkRead,
            ("mark_unread", _) => InboxOp::MarkUnread,
            ("archive", _) => InboxOp::Archive,
            ("unarchive", _) => InboxOp::Unarchive,
            ("snooze", Some(u)) => InboxOp::Snooze(from_micros(u)?),
            ("unsnooze", _) => InboxOp::Unsnooze,
            (other, _) => return Err(StoreError::Corrupt(format!("bulk action `{other}`"))),
        })
    }
}

pub(super) fn bulk_action_text(op: InboxOp) -> String {
    match op {
        InboxOp::Snooze(until) => format!("snooze:{}", micros(until)),
        other => other.name().to_string(),
    }
}

/// Refuses a list of users to import at its first bad name or e-mail address, naming it by
/// its place in the list (`users[3].email`), before anything is written.
pub(super) fn check_import(users: &[NewUser]) -> Result<()> {
    for (i, u) in users.iter().enumerate() {
        check_user_name(&u.name).map_err(|e| FieldError::new(format!("users[{i}].name"), e.message))?;
        if let Some(e) = &u.email
            && !crate::model::looks_like_email(e)
        {
            return Err(FieldError::new(
                format!("users[{i}].email"),
                format!("`{e}` is not an e-mail address"),
            )
            .into());
        }
    }
    Ok(())
}
