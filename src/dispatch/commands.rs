//! The command layer: what a user asks of their own inbox and preferences, executed the same
//! way whether it came over REST, the websocket or the local engine socket. Transports parse,
//! authorise and translate into a [`Command`]; this runs it on the writer (or a reader) and
//! answers with an [`Outcome`] or a typed [`CommandError`].

use crate::model::prefs::{MASKED_SECRET, Preferences};
use crate::model::{DeviceToken, FieldError, InboxFilter, Notification};
use crate::store::StoreError;
use crate::store::{InboxOp, MAX_IDS};
use crate::sync::protocol::{BulkAction, Op};

use super::{Dispatch, DispatchError};

/// One user's request.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// An op on items named by id.
    Inbox {
        ids: Vec<String>,
        op: InboxOp,
    },
    /// An op on everything a filter shows, up to what the user had seen (`up_to`).
    Bulk {
        op: InboxOp,
        filter: InboxFilter,
        up_to: Option<i64>,
    },
    UndoBulk {
        bulk: String,
    },
    Get {
        ids: Vec<String>,
    },
    /// A preference change: `full` replaces, else merges; `expected` makes it conditional.
    SavePrefs {
        patch: serde_json::Value,
        expected: Option<i64>,
        full: bool,
        /// The caller holds a `user` token: a changed e-mail address must be the one
        /// registered for them, so nobody turns the dispatcher into a mailer for any address.
        own_address_only: bool,
    },
    /// Subscribes `user` to `topic` (the transport checked the caller may).
    Subscribe {
        topic: String,
        user: String,
    },
    Unsubscribe {
        topic: String,
        user: String,
    },
    /// Registers a push device of the caller's.
    AddDevice {
        provider: String,
        token: String,
    },
    RemoveDevice {
        provider: String,
        token: String,
    },
}

/// What a command did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Items changed by id (how many actually changed).
    Changed(usize),
    Bulk {
        bulk: Option<String>,
        count: u64,
    },
    Prefs {
        prefs: Box<Preferences>,
        version: i64,
    },
    Notifications(Vec<Notification>),
    /// The caller's push devices after the change.
    Devices(Vec<DeviceToken>),
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The preferences changed since the version edited; `current` is what is there now.
    #[error("the preferences changed since version {expected}; the current one is {version}")]
    Conflict { expected: i64, current: Box<Preferences>, version: i64 },
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        CommandError::Dispatch(DispatchError::Store(e))
    }
}

impl Command {
    /// The command a websocket `op` asks for.
    pub fn from_op(op: Op) -> Result<Command, FieldError> {
        Ok(match op {
            Op::MarkRead { ids } => Command::Inbox { ids, op: InboxOp::MarkRead },
            Op::MarkUnread { ids } => Command::Inbox { ids, op: InboxOp::MarkUnread },
            Op::Archive { ids } => Command::Inbox { ids, op: InboxOp::Archive },
            Op::Unarchive { ids } => Command::Inbox { ids, op: InboxOp::Unarchive },
            Op::Snooze { ids, until } => Command::Inbox { ids, op: InboxOp::Snooze(until) },
            Op::Unsnooze { ids } => Command::Inbox { ids, op: InboxOp::Unsnooze },
            Op::MarkAllRead { filter } => Command::Bulk {
                op: InboxOp::MarkRead,
                filter: InboxFilter { category: filter.and_then(|f| f.category), ..InboxFilter::default() },
                up_to: None,
            },
            Op::Bulk { action, filter, up_to, until } => {
                Command::Bulk { op: bulk_op(action, until)?, filter, up_to }
            }
            Op::UndoBulk { bulk } => Command::UndoBulk { bulk },
            Op::Get { ids } => Command::Get { ids },
            Op::PrefsUpdate { version, prefs } => Command::SavePrefs {
                patch: prefs,
                expected: Some(version),
                full: true,
                own_address_only: false,
            },
        })
    }
}

/// The store op a bulk action is; a snooze needs its `until`.
pub fn bulk_op(action: BulkAction, until: Option<jiff::Timestamp>) -> Result<InboxOp, FieldError> {
    Ok(match action {
        BulkAction::MarkRead => InboxOp::MarkRead,
        BulkAction::MarkUnread => InboxOp::MarkUnread,
        BulkAction::Archive => InboxOp::Archive,
        BulkAction::Unarchive => InboxOp::Unarchive,
        BulkAction::Unsnooze => InboxOp::Unsnooze,
        BulkAction::Snooze => {
            InboxOp::Snooze(until.ok_or_else(|| FieldError::new("until", "a snooze needs `until`"))?)
        }
    })
}

impl Dispatch {
    /// Runs `user`'s command. Writes go through the writer (their changes fan out after
    /// commit); `get` reads.
    pub async fn execute(&self, user: &str, command: Command) -> Result<Outcome, CommandError> {
        let user = user.to_string();
        match command {
            Command::Inbox { ids, op } => Ok(Outcome::Changed(
                self.write(move |s, now| s.apply(&user, &ids, op, now).map(|c| (c.len(), c))).await?,
            )),
            Command::Bulk { op, filter, up_to } => {
                let (bulk, count) = self
                    .write(move |s, now| {
                        let out = s.bulk(&user, op, &filter, up_to, now)?;
                        Ok(((out.bulk, out.count), out.changes))
                    })
                    .await?;
                Ok(Outcome::Bulk { bulk, count })
            }
            Command::UndoBulk { bulk } => {
                let (bulk, count) = self
                    .write(move |s, now| {
                        let out = s.undo_bulk(&user, &bulk, now)?;
                        Ok(((out.bulk, out.count), out.changes))
                    })
                    .await?;
                Ok(Outcome::Bulk { bulk, count })
            }
            Command::Get { ids } => {
                if ids.len() > MAX_IDS {
                    return Err(StoreError::from(FieldError::new(
                        "ids",
                        format!("at most {MAX_IDS} at a time"),
                    ))
                    .into());
                }
                let items = self
                    .read(move |s| {
                        ids.iter()
                            .map(|id| match s.notification(id) {
                                Ok(n) if n.user == user => Ok(n),
                                Ok(_) | Err(StoreError::NotFound(_)) => {
                                    Err(StoreError::NotFound(format!("notification {id}")))
                                }
                                Err(e) => Err(e),
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .await?;
                Ok(Outcome::Notifications(items))
            }
            Command::SavePrefs { patch, expected, full, own_address_only } => {
                self.save_prefs(user, patch, expected, full, own_address_only).await
            }
            Command::Subscribe { topic, user } => Ok(Outcome::Changed(usize::from(
                self.write(move |s, now| s.subscribe(&topic, &user, now).map(|v| (v, vec![]))).await?,
            ))),
            Command::Unsubscribe { topic, user } => Ok(Outcome::Changed(usize::from(
                self.write(move |s, now| s.unsubscribe(&topic, &user, now).map(|v| (v, vec![]))).await?,
            ))),
            Command::AddDevice { provider, token } => Ok(Outcome::Devices({
                if provider == "ntfy" {
                    self.config().push.check_ntfy_topic(&user, &token).map_err(StoreError::Invalid)?;
                }
                self.write(move |s, now| {
                    s.add_device_token(&user, &provider, &token, now)?;
                    Ok((s.device_tokens(&user)?, vec![]))
                })
                .await?
            })),
            Command::RemoveDevice { provider, token } => Ok(Outcome::Changed(usize::from(
                self.write(move |s, now| {
                    s.remove_device_token(&user, &provider, &token, now).map(|v| (v, vec![]))
                })
                .await?,
            ))),
        }
    }

    /// Validates and saves a preference change: the same checks for REST and the websocket.
    async fn save_prefs(
        &self,
        user: String,
        mut patch: serde_json::Value,
        expected: Option<i64>,
        full: bool,
        own_address_only: bool,
    ) -> Result<Outcome, CommandError> {
        // A client sends the masked secret back when it did not change it.
        if patch.pointer("/channels/webhook/secret").and_then(|s| s.as_str()) == Some(MASKED_SECRET)
            && let Some(w) = patch.pointer_mut("/channels/webhook").and_then(|w| w.as_object_mut())
        {
            w.remove("secret");
        }
        let defaults = self.defaults().clone();
        let required = self.config().required.clone();
        let r = self
            .write(move |s, now| {
                let (current, version) = s.prefs(&user, &defaults)?;
                let address = current.channels.email.address.clone();
                let current_copy = current.clone();
                if let Some(e) = expected
                    && e != version
                {
                    return Ok((Err((e, current, version)), vec![]));
                }
                let base = if full {
                    let mut keep = Preferences::default();
                    keep.channels.webhook.secret = current.channels.webhook.secret.clone();
                    keep
                } else {
                    current
                };
                let merged = base.merged(&patch)?;
                merged.check_required(&required)?;
                merged.check_limits()?;
                if merged == current_copy {
                    // Nothing changed: no new version, nothing in the change log.
                    return Ok((Ok((merged, version)), vec![]));
                }
                let wanted = &merged.channels.email.address;
                if own_address_only && !wanted.is_empty() && *wanted != address {
                    let to = crate::model::Recipients::Users(vec![user.clone()]);
                    let registered = s.subscribers(&to, &defaults)?.pop().map(|u| u.email).unwrap_or_default();
                    if !wanted.eq_ignore_ascii_case(&registered) {
                        return Err(FieldError::new(
                            "channels.email.address",
                            if registered.is_empty() {
                                "no e-mail address is registered for you; an admin sets it \
                                 (campanile user add NAME --email ADDRESS)"
                                    .to_string()
                            } else {
                                format!(
                                    "a user token may only set the address registered for its user ({registered}); \
                                     an admin sets another"
                                )
                            },
                        )
                        .into());
                    }
                }
                let (v, change) = s.put_prefs(&user, &merged, Some(version), &defaults, now)?;
                Ok((Ok((merged, v)), vec![change]))
            })
            .await?;
        match r {
            Ok((prefs, version)) => Ok(Outcome::Prefs { prefs: Box::new(prefs), version }),
            Err((expected, current, version)) => {
                Err(CommandError::Conflict { expected, current: Box::new(current), version })
            }
        }
    }
}
