//! Accepting events: in one transaction, the event (idempotency), each recipient's
//! notification (or the collapse of a repeat into it), the per-user change rows with
//! contiguous `seq`, outbox rows for channels that deliver now, schedule rows for held,
//! digest, escalation, repeat and snooze, and audit rows. Nothing is visible until commit;
//! nothing is half-written if any step fails.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use super::audit;
use super::changes::{log_created, log_notification, next_seq, notification_payload};
use super::prefs::{PrefsCache, prefs_in};
use super::rows::notification_in;
use crate::engine::{self, Action, CollapseTarget, History, Input, Plan};
use crate::model::Subscriber;
use crate::model::prefs::Preferences;
use crate::model::{DeliveryState, Event, FieldError, Notification, RawJson, Recipients};
use crate::store::{
    AcceptContext, Accepted, Change, DEDUPE_WINDOW, Ingest, Result, StoreError, Submission, from_micros,
    micros, new_id, sha256_hex,
};

impl Ingest for SqliteStore {
    /// Accepts one event in its own transaction.
    fn accept(&mut self, sub: &Submission, ctx: &AcceptContext<'_>) -> Result<Accepted> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = accept_in(&tx, &mut self.prefs, sub, ctx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Group commit: all submissions in one transaction, each in a savepoint so that one
    /// refused event does not refuse the others. The results are in the input's order and
    /// none is final until this returns.
    fn accept_batch(
        &mut self,
        subs: &[Submission],
        ctx: &AcceptContext<'_>,
    ) -> Result<Vec<Result<Accepted>>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let [sub] = subs {
            // Alone in its transaction, an event needs no savepoint: a refusal rolls back
            // the transaction (a savepoint journals every page it changes, which for a
            // broadcast is thousands).
            return Ok(vec![match accept_in(&tx, &mut self.prefs, sub, ctx) {
                Ok(a) => tx.commit().map(|()| Ok(a))?,
                Err(e) => {
                    tx.rollback()?;
                    Err(e)
                }
            }]);
        }
        let mut results = Vec::with_capacity(subs.len());
        for sub in subs {
            // A savepoint each (cached statements: they are run for every event).
            tx.prepare_cached("SAVEPOINT accept")?.execute([])?;
            let r = accept_in(&tx, &mut self.prefs, sub, ctx);
            if r.is_err() {
                tx.prepare_cached("ROLLBACK TO accept")?.execute([])?;
            }
            tx.prepare_cached("RELEASE accept")?.execute([])?;
            results.push(r);
        }
        tx.commit()?;
        Ok(results)
    }

    /// The subscribers `to` names (workflow triggers render per subscriber).
    fn subscribers(&self, to: &crate::model::Recipients, defaults: &Preferences) -> Result<Vec<Subscriber>> {
        let users = resolve_to(&self.conn, Some(to), None)?;
        users
            .iter()
            .map(|u| {
                let prefs = prefs_in(&self.conn, u, defaults)?.0;
                subscriber_in(&self.conn, u, &prefs)
            })
            .collect()
    }
}

fn accept_in(
    tx: &rusqlite::Connection,
    cache: &mut PrefsCache,
    sub: &Submission,
    ctx: &AcceptContext<'_>,
) -> Result<Accepted> {
    sub.event.validate()?;
    let now = ctx.now;
    let body = serde_json::to_string(&sub.event).map_err(|e| StoreError::Corrupt(format!("event: {e}")))?;
    let body_hash = sha256_hex(body.as_bytes());
    let key = sub.idempotency_key.as_ref().or(sub.event.id.as_ref());

    // 1. Dedupe.
    if let Some(key) = key {
        let seen: Option<(String, String, i64)> = tx
            .prepare_cached(
                "SELECT body_hash, result, created_at FROM events WHERE producer = ?1 AND key = ?2",
            )?
            .query_row(params![sub.producer, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((hash, result, created)) = seen {
            let fresh = micros(now) - created < DEDUPE_WINDOW.as_micros() as i64;
            if fresh && hash == body_hash {
                let mut first: Accepted =
                    serde_json::from_str(&result).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                first.duplicate = true;
                return Ok(first);
            }
            if fresh {
                return Err(StoreError::Conflict(key.clone()));
            }
            tx.prepare_cached("UPDATE events SET key = NULL WHERE producer = ?1 AND key = ?2")?
                .execute(params![sub.producer, key])?;
        }
    }

    let recipients = resolve(tx, sub)?;
    let event_id = new_id();
    let mut out =
        Accepted { event: event_id.clone(), notifications: vec![], duplicate: false, changes: vec![] };
    // One audit record for the event and everyone it reached: who, which notification,
    // and the hash of the plan stored with it.
    let mut fanout = String::new();
    // Plans are stored once each (by hash); most of a broadcast's recipients share one.
    let mut stored_plans = std::collections::HashSet::new();
    // The engine is a function of the event, the recipient's preferences, presence and
    // history: recipients alike in those get the same plan, decided once, and the same
    // stored notification but for its id and user (a broadcast's fall into a few groups).
    let mut groups: HashMap<u64, Vec<Group>> = HashMap::new();
    let shared = Shared::of(&sub.event)?;
    for user in &recipients {
        let (prefs_key, prefs) = cache.get(tx, user, ctx.defaults)?;
        let history = History { duplicate: false, collapse: collapse_target(tx, user, &sub.event)? };
        let presence = (ctx.presence)(user);
        let mut alone = None;
        let decided = if history == History::default() {
            let list = groups.entry(prefs_key).or_default();
            let found = list.iter().position(|g| {
                g.presence == presence && (Arc::ptr_eq(&g.prefs, &prefs) || *g.prefs == *prefs)
            });
            let at = match found {
                Some(at) => at,
                None => {
                    let decided = Decided::new(&sub.event, &prefs, &presence, &history, ctx)?;
                    list.push(Group { prefs, presence, decided });
                    list.len() - 1
                }
            };
            &mut list[at].decided
        } else {
            alone.insert(Decided::new(&sub.event, &prefs, &presence, &history, ctx)?)
        };
        if !stored_plans.contains(&decided.hash) {
            tx.prepare_cached("INSERT OR IGNORE INTO plans (hash, json) VALUES (?1, ?2)")?
                .execute(params![decided.hash, decided.json.get()])?;
            stored_plans.insert(decided.hash.clone());
        }
        let (id, changes) = record(tx, &event_id, user, &sub.event, &shared, decided, now)?;
        for part in [user.as_str(), "\t", &id, "\t", &decided.hash, "\n"] {
            fanout.push_str(part);
        }
        out.notifications.push(id);
        out.changes.extend(changes);
    }

    if let Some(key) = key {
        // Only a key can be replayed: an event without one needs no row to answer from.
        let stored = serde_json::to_string(&out).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.prepare_cached(
            "INSERT INTO events (id, producer, key, body_hash, result, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![event_id, sub.producer, key, body_hash, stored, micros(now)])?;
    }
    let mut record = serde_json::json!({"kind": "event.accepted", "event": event_id, "producer": sub.producer,
        "key": key, "type": sub.event.kind, "content_hash": body_hash,
        "recipients": recipients.len(), "fanout_hash": sha256_hex(fanout.as_bytes())});
    if recipients.len() <= AUDIT_NAMES {
        record["users"] = serde_json::json!(recipients);
        record["notifications"] = serde_json::json!(out.notifications);
    }
    audit::append(tx, now, &record)?;
    Ok(out)
}

/// Up to this many recipients, an event's audit record names them; past it, the hash of
/// the list stands for them (a broadcast stays one small record).
const AUDIT_NAMES: usize = 16;

/// The users an event reaches. Unknown users and addresses are refused, naming them.
fn resolve(tx: &rusqlite::Connection, sub: &Submission) -> Result<Vec<String>> {
    resolve_to(tx, sub.event.to.as_ref(), sub.default_user.as_deref())
}

/// The users `to` names, each once, in order; an unknown user or address is an error.
pub(crate) fn resolve_to(
    tx: &rusqlite::Connection,
    to: Option<&Recipients>,
    default_user: Option<&str>,
) -> Result<Vec<String>> {
    let exists = |name: &str| -> Result<bool> {
        Ok(tx
            .prepare_cached("SELECT 1 FROM users WHERE name = ?1")?
            .query_row([name], |_| Ok(()))
            .optional()?
            .is_some())
    };
    let users = match to {
        None => match default_user {
            Some(u) => vec![u.to_string()],
            None => {
                return Err(
                    FieldError::new("to", "name the recipients: users, emails, topic or broadcast").into()
                );
            }
        },
        Some(Recipients::Users(names)) => names.clone(),
        Some(Recipients::Emails(emails)) => {
            let mut users = Vec::new();
            for e in emails {
                let u: Option<String> = tx
                    .prepare_cached("SELECT name FROM users WHERE email = ?1")?
                    .query_row([e], |r| r.get(0))
                    .optional()?;
                users.push(
                    u.ok_or_else(|| FieldError::new("to.emails", format!("no user has the address `{e}`")))?,
                );
            }
            users
        }
        Some(Recipients::Topic(topic)) => {
            let mut stmt =
                tx.prepare_cached("SELECT user FROM topic_subscribers WHERE topic = ?1 ORDER BY user")?;
            stmt.query_map([topic], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        }
        Some(Recipients::Broadcast(_)) => {
            let mut stmt = tx.prepare_cached("SELECT name FROM users ORDER BY name")?;
            stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        }
    };
    // Names from the users table itself need no check; named users do, each once.
    let listed = matches!(to, Some(Recipients::Topic(_) | Recipients::Broadcast(_)));
    let mut seen = std::collections::HashSet::with_capacity(users.len());
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        if seen.contains(&u) {
            continue;
        }
        if !listed && !exists(&u)? {
            return Err(FieldError::new("to.users", format!("no user named `{u}`")).into());
        }
        seen.insert(u.clone());
        out.push(u);
    }
    Ok(out)
}

fn collapse_target(tx: &rusqlite::Connection, user: &str, event: &Event) -> Result<Option<CollapseTarget>> {
    let Some(identity) = event.collapse_identity() else { return Ok(None) };
    let row: Option<(String, i64, i64)> = tx
        .prepare_cached(
            "SELECT id, count, updated_at FROM notifications INDEXED BY notifications_collapse
             WHERE user = ?1 AND collapse_id = ?2 AND read_at IS NULL AND archived_at IS NULL AND in_inbox = 1
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![user, identity], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(notification, count, at)| {
        Ok(CollapseTarget {
            notification,
            count: u32::try_from(count).unwrap_or(u32::MAX),
            last_at: from_micros(at)?,
        })
    })
    .transpose()
}

/// The engine's plan for a recipient: as decided, as stored JSON, and the hash it is stored
/// under in `plans`; and, once a new notification was written with it, that notification's
/// change payload less its id and user (the rest is the same for everyone it is decided for).
struct Decided {
    plan: Plan,
    json: RawJson,
    hash: String,
    /// The row's `deliveries` as the plan starts them, and as stored; its `tags` as stored.
    deliveries: BTreeMap<crate::model::Channel, DeliveryState>,
    deliveries_json: String,
    tags: String,
    payload: Option<String>,
}

impl Decided {
    fn new(
        event: &Event,
        prefs: &Preferences,
        presence: &crate::engine::Presence,
        history: &History,
        ctx: &AcceptContext<'_>,
    ) -> Result<Decided> {
        let plan =
            engine::decide(&Input { event, prefs, presence, history, policy: ctx.policy, now: ctx.now });
        let json = RawJson::to_raw(&plan).map_err(|e| StoreError::Internal(format!("plan: {e}")))?;
        let hash = sha256_hex(json.get().as_bytes());
        let deliveries: BTreeMap<_, _> = plan
            .channels
            .iter()
            .filter_map(|(ch, p)| {
                let status = match p.action {
                    Action::Deliver => "pending",
                    Action::Hold { .. } => "held",
                    Action::Digest { .. } => "digest",
                    Action::Escalate { .. } => "scheduled",
                    Action::Suppress { .. } => return None,
                };
                Some((*ch, DeliveryState { status: status.into(), attempts: 0, last_error: None }))
            })
            .collect();
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let deliveries_json = serde_json::to_string(&deliveries).map_err(corrupt)?;
        let tags = serde_json::to_string(&plan.inbox.tags).map_err(corrupt)?;
        Ok(Decided { plan, json, hash, deliveries, deliveries_json, tags, payload: None })
    }
}

/// Recipients whose preferences and presence are equal (and who have no history with the
/// event) share one decision.
struct Group {
    prefs: Arc<Preferences>,
    presence: crate::engine::Presence,
    decided: Decided,
}

/// What every recipient's row takes from the event, rendered once.
struct Shared {
    data: String,
    category: String,
    collapse: Option<String>,
}

impl Shared {
    fn of(event: &Event) -> Result<Shared> {
        Ok(Shared {
            data: event.data.to_string(),
            category: event.effective_category(),
            collapse: event.collapse_identity(),
        })
    }
}

/// How a new notification's change payload begins, with its id and user left empty.
const PAYLOAD_HEAD: &str = r#"{"notification":{"id":"","user":"""#;

/// A new notification's change payload from the rest shared by its group (see [`Decided`]):
/// the same text its full serialisation gives.
fn splice_payload(id: &str, user: &str, rest: &str) -> Result<String> {
    let id = serde_json::to_string(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let user = serde_json::to_string(user).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut out = String::with_capacity(40 + id.len() + user.len() + rest.len());
    out.push_str(r#"{"notification":{"id":"#);
    out.push_str(&id);
    out.push_str(r#","user":"#);
    out.push_str(&user);
    out.push_str(rest);
    Ok(out)
}

/// Writes the notification (or its collapse), its outbox and schedule rows and its changes.
fn record(
    tx: &rusqlite::Connection,
    event_id: &str,
    user: &str,
    event: &Event,
    shared: &Shared,
    decided: &mut Decided,
    now: Timestamp,
) -> Result<(String, Vec<Change>)> {
    let (plan, plan_hash, deliveries_json) = (&decided.plan, decided.hash.as_str(), &decided.deliveries_json);
    let mut changes = Vec::new();
    let t = micros(now);

    // New activity in a thread brings its archived items back (DESIGN §4).
    if let Some(thread) = &event.thread {
        let returning: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT id FROM notifications INDEXED BY notifications_archived_thread
                 WHERE user = ?1 AND thread = ?2 AND archived_at IS NOT NULL AND in_inbox = 1",
            )?;
            stmt.query_map(params![user, thread], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        for id in returning {
            let seq = next_seq(tx, user)?;
            tx.prepare_cached(
                "UPDATE notifications SET archived_at = NULL, updated_at = ?2, seq = ?3 WHERE id = ?1",
            )?
            .execute(params![id, t, seq])?;
            let n = notification_in(tx, &id)?;
            changes.push(log_notification(tx, &n, seq, "notification_updated", now)?);
        }
    }

    let data = &shared.data;
    let read_at = plan.inbox.read.then_some(t);
    let snoozed = plan.inbox.snooze_until.map(micros);
    let seq = next_seq(tx, user)?;

    let (id, kind) = match &plan.inbox.collapse_into {
        Some(existing) => {
            tx.prepare_cached(
                "UPDATE notifications SET count = count + 1, title = ?2, body = ?3, url = ?4, data = ?5,
                   urgency = ?6, updated_at = ?7, plan = '', plan_ref = ?8, deliveries = ?9, read_at = ?10,
                   event_id = ?11, seq = ?12
                 WHERE id = ?1",
            )?
            .execute(params![
                existing,
                event.title,
                event.body,
                event.url,
                data,
                plan.urgency.as_str(),
                t,
                plan_hash,
                deliveries_json,
                read_at,
                event_id,
                seq
            ])?;
            // The repeat supersedes what was pending for the item: one chain, not one each.
            tx.prepare_cached(
                "UPDATE schedule SET done_at = ?2 WHERE notification = ?1 AND done_at IS NULL AND kind != 'snooze'",
            )?
            .execute(params![existing, t])?;
            (existing.clone(), "notification_updated")
        }
        None => {
            let id = new_id();
            let tags = &decided.tags;
            tx.prepare_cached(
                "INSERT INTO notifications (id, user, event_id, type, category, urgency, title, body, url, thread,
                   collapse_id, data, created_at, updated_at, read_at, snoozed_until, in_inbox, tags, plan, plan_ref,
                   deliveries, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15, ?16, ?17, '', ?18, ?19, ?20)",
            )?
            .execute(params![
                id,
                user,
                event_id,
                event.kind,
                shared.category,
                plan.urgency.as_str(),
                event.title,
                event.body,
                event.url,
                event.thread,
                shared.collapse,
                data,
                t,
                read_at,
                snoozed,
                plan.inbox.record,
                tags,
                plan_hash,
                deliveries_json,
                seq
            ])?;
            if read_at.is_none() && snoozed.is_none() && plan.inbox.record {
                tx.prepare_cached(
                    "INSERT INTO unread_counts (user, category, unread) VALUES (?1, ?2, 1)
                     ON CONFLICT (user, category) DO UPDATE SET unread = unread + 1",
                )?
                .execute(params![user, shared.category])?;
            }
            (id, "notification_created")
        }
    };

    for (channel, p) in &plan.channels {
        let (kind, due) = match &p.action {
            Action::Deliver => {
                tx.prepare_cached(
                    "INSERT INTO outbox (id, notification, user, channel, status, next_attempt_at, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?5)",
                )?
                .execute(params![new_id(), id, user, channel.as_str(), t])?;
                match &p.repeat {
                    Some(r) => ("repeat", Some(t + i64::from(r.every_minutes) * 60_000_000)),
                    None => continue,
                }
            }
            Action::Hold { until } => ("hold", until.map(micros)),
            Action::Digest { at } => ("digest", Some(micros(*at))),
            Action::Escalate { after, .. } => ("escalation", Some(micros(*after))),
            Action::Suppress { .. } => continue,
        };
        let payload = match &p.repeat {
            Some(r) if kind == "repeat" => {
                serde_json::json!({"every_minutes": r.every_minutes, "until": r.until})
            }
            _ => serde_json::json!({}),
        };
        tx.prepare_cached(
            "INSERT INTO schedule (id, kind, notification, user, channel, due_at, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![new_id(), kind, id, user, channel.as_str(), due, payload.to_string()])?;
    }
    if let Some(until) = snoozed {
        tx.prepare_cached(
            "INSERT INTO schedule (id, kind, notification, user, due_at) VALUES (?1, 'snooze', ?2, ?3, ?4)",
        )?
        .execute(params![new_id(), id, user, until])?;
    }

    if plan.inbox.record {
        if kind == "notification_created" {
            // A new row is known in full here: its payload is the group's, but for its id and
            // user, once the group's first was serialised.
            let payload = match &decided.payload {
                Some(rest) => splice_payload(&id, user, rest)?,
                None => {
                    let mut n = Notification {
                        id: String::new(),
                        user: String::new(),
                        event_id: event_id.to_string(),
                        kind: event.kind.clone(),
                        category: shared.category.clone(),
                        urgency: decided.plan.urgency,
                        title: event.title.clone(),
                        body: event.body.clone(),
                        url: event.url.clone(),
                        thread: event.thread.clone(),
                        data: event.data.clone(),
                        created_at: from_micros(t)?,
                        read_at: read_at.map(from_micros).transpose()?,
                        archived_at: None,
                        snoozed_until: snoozed.map(from_micros).transpose()?,
                        count: 1,
                        deliveries: decided.deliveries.clone(),
                        plan: Some(decided.json.clone()),
                    };
                    let blank = notification_payload(&n)?;
                    decided.payload = blank.strip_prefix(PAYLOAD_HEAD).map(str::to_string);
                    (n.id, n.user) = (id.clone(), user.to_string());
                    notification_payload(&n)?
                }
            };
            changes.push(log_created(tx, user, &id, seq, payload, now)?);
        } else {
            // A collapsed one is read back for its history.
            let n = notification_in(tx, &id)?;
            changes.push(log_notification(tx, &n, seq, kind, now)?);
        }
    }
    Ok((id.to_string(), changes))
}

pub(super) fn subscriber_in(
    tx: &rusqlite::Connection,
    user: &str,
    prefs: &Preferences,
) -> Result<Subscriber> {
    type Profile = (Option<String>, Option<String>, Option<String>, Option<String>);
    let row: Option<Profile> = tx
        .query_row("SELECT email, display_name, phone, avatar FROM users WHERE name = ?1", [user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let (email, display, phone, avatar) = row.unwrap_or_default();
    let name = display.filter(|d| !d.is_empty()).unwrap_or_else(|| user.to_string());
    let first_name = name.split_whitespace().next().unwrap_or_default().to_string();
    // The address the user set for e-mail wins over the one on their account.
    let email =
        Some(prefs.channels.email.address.clone()).filter(|a| !a.is_empty()).or(email).unwrap_or_default();
    Ok(Subscriber {
        id: user.to_string(),
        name,
        first_name,
        email,
        phone: phone.unwrap_or_default(),
        avatar: avatar.unwrap_or_default(),
    })
}
