//! Accepting events: in one transaction, the event (idempotency), each recipient's
//! notification (or the collapse of a repeat into it), the per-user change rows with
//! contiguous `seq`, outbox rows for channels that deliver now, schedule rows for held,
//! digest, escalation, repeat and snooze, and audit rows, exactly as SQLite's `accept`.
//! Group commit keeps one transaction per batch, each event in a savepoint.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::audit;
use super::changes::{log_notification, next_seq};
use super::db::Db;
use super::prefs::prefs_in;
use super::rows::notification_in;
use super::{PgStore, in_tx, is_unique_violation, with};
use crate::engine::{self, Action, CollapseTarget, History, Input, Plan};
use crate::model::prefs::Preferences;
use crate::model::{DeliveryState, Event, FieldError, Notification, RawJson, Recipients, Subscriber};
use crate::store::{
    AcceptContext, Accepted, Change, DEDUPE_WINDOW, Ingest, Result, StoreError, Submission, from_micros,
    micros, new_id, sha256_hex,
};

impl Ingest for PgStore {
    fn accept(&mut self, sub: &Submission, ctx: &AcceptContext<'_>) -> Result<Accepted> {
        in_tx(self, |db| accept_in(db, sub, ctx))
    }

    /// Group commit: all submissions in one transaction, each in a savepoint so that one
    /// refused event does not refuse the others. None is final until this returns.
    fn accept_batch(
        &mut self,
        subs: &[Submission],
        ctx: &AcceptContext<'_>,
    ) -> Result<Vec<Result<Accepted>>> {
        in_tx(self, |db| {
            let mut results = Vec::with_capacity(subs.len());
            for sub in subs {
                results.push(db.savepoint(|db| accept_in(db, sub, ctx))?);
            }
            Ok(results)
        })
    }

    fn subscribers(&self, to: &Recipients, defaults: &Preferences) -> Result<Vec<Subscriber>> {
        with(self, |db| {
            let users = resolve_to(db, Some(to), None)?;
            users
                .iter()
                .map(|u| {
                    let prefs = prefs_in(db, u, defaults)?.0;
                    subscriber_in(db, u, &prefs)
                })
                .collect()
        })
    }
}

fn accept_in(db: &mut Db, sub: &Submission, ctx: &AcceptContext<'_>) -> Result<Accepted> {
    sub.event.validate()?;
    let now = ctx.now;
    let body = serde_json::to_string(&sub.event).map_err(|e| StoreError::Corrupt(format!("event: {e}")))?;
    let body_hash = sha256_hex(body.as_bytes());
    let key = sub.idempotency_key.as_ref().or(sub.event.id.as_ref());

    // 1. Dedupe. The row is locked: a second node accepting the same key waits for this
    // transaction, then sees its answer.
    if let Some(key) = key {
        let seen = db.opt(
            "SELECT body_hash, result, created_at FROM events WHERE producer = $1 AND key = $2 FOR UPDATE",
            &[&sub.producer, key],
        )?;
        if let Some(r) = seen {
            let (hash, result, created): (String, String, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
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
            db.exec("UPDATE events SET key = NULL WHERE producer = $1 AND key = $2", &[&sub.producer, key])?;
        }
    }

    let recipients = resolve_to(db, sub.event.to.as_ref(), sub.default_user.as_deref())?;
    let event_id = new_id();
    let mut out =
        Accepted { event: event_id.clone(), notifications: vec![], duplicate: false, changes: vec![] };
    let mut fanout = String::new();
    for user in &recipients {
        let (prefs, _) = prefs_in(db, user, ctx.defaults)?;
        // The counter row first: it orders this user's writers before the collapse lookup.
        next_seq(db, user)?;
        let history = History { duplicate: false, collapse: collapse_target(db, user, &sub.event)? };
        let presence = (ctx.presence)(user);
        let plan = engine::decide(&Input {
            event: &sub.event,
            prefs: &prefs,
            presence: &presence,
            history: &history,
            policy: ctx.policy,
            now,
        });
        let plan_json = RawJson::to_raw(&plan).map_err(|e| StoreError::Internal(format!("plan: {e}")))?;
        let (id, changes) = record(db, &event_id, user, &sub.event, &plan, &plan_json, now)?;
        fanout.push_str(&format!("{user}\t{id}\t{}\n", sha256_hex(plan_json.get().as_bytes())));
        out.notifications.push(id);
        out.changes.extend(changes);
    }

    if let Some(key) = key {
        let stored = serde_json::to_string(&out).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        db.exec(
            "INSERT INTO events (id, producer, key, body_hash, result, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&event_id, &sub.producer, key, &body_hash, &stored, &micros(now)],
        )
        .map_err(|e| {
            // Another node committed the same key first: the producer retries and is
            // answered from that event (or refused, if the body differs).
            if is_unique_violation(&e) { StoreError::Conflict(key.clone()) } else { e }
        })?;
    }
    let mut record = serde_json::json!({"kind": "event.accepted", "event": event_id, "producer": sub.producer,
        "key": key, "type": sub.event.kind, "content_hash": body_hash,
        "recipients": recipients.len(), "fanout_hash": sha256_hex(fanout.as_bytes())});
    if recipients.len() <= AUDIT_NAMES {
        record["users"] = serde_json::json!(recipients);
        record["notifications"] = serde_json::json!(out.notifications);
    }
    audit::append(db, now, &record)?;
    Ok(out)
}

/// Up to this many recipients, an event's audit record names them; past it, the hash of
/// the list stands for them (a broadcast stays one small record).
const AUDIT_NAMES: usize = 16;

/// The users `to` names, each once, in order; an unknown user or address is an error.
pub(crate) fn resolve_to(
    db: &mut Db,
    to: Option<&Recipients>,
    default_user: Option<&str>,
) -> Result<Vec<String>> {
    let names = |rows: Vec<postgres::Row>| -> Result<Vec<String>> {
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
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
                let u = db.opt("SELECT name FROM users WHERE email = $1", &[e])?;
                let u =
                    u.ok_or_else(|| FieldError::new("to.emails", format!("no user has the address `{e}`")))?;
                users.push(u.try_get(0)?);
            }
            users
        }
        Some(Recipients::Topic(topic)) => names(
            db.query("SELECT username FROM topic_subscribers WHERE topic = $1 ORDER BY username", &[topic])?,
        )?,
        Some(Recipients::Broadcast(_)) => names(db.query("SELECT name FROM users ORDER BY name", &[])?)?,
    };
    let mut seen = Vec::with_capacity(users.len());
    for u in users {
        if db.opt("SELECT 1 FROM users WHERE name = $1", &[&u])?.is_none() {
            return Err(FieldError::new("to.users", format!("no user named `{u}`")).into());
        }
        if !seen.contains(&u) {
            seen.push(u);
        }
    }
    Ok(seen)
}

fn collapse_target(db: &mut Db, user: &str, event: &Event) -> Result<Option<CollapseTarget>> {
    let Some(identity) = event.collapse_identity() else { return Ok(None) };
    let row = db.opt(
        "SELECT id, count, updated_at FROM notifications
         WHERE username = $1 AND collapse_id = $2 AND read_at IS NULL AND archived_at IS NULL AND in_inbox
         ORDER BY id DESC LIMIT 1",
        &[&user, &identity],
    )?;
    row.map(|r| {
        let count: i64 = r.try_get(1)?;
        Ok(CollapseTarget {
            notification: r.try_get(0)?,
            count: u32::try_from(count).unwrap_or(u32::MAX),
            last_at: from_micros(r.try_get(2)?)?,
        })
    })
    .transpose()
}

/// Writes the notification (or its collapse), its outbox and schedule rows and its changes.
fn record(
    db: &mut Db,
    event_id: &str,
    user: &str,
    event: &Event,
    plan: &Plan,
    plan_json: &RawJson,
    now: Timestamp,
) -> Result<(String, Vec<Change>)> {
    let mut changes = Vec::new();
    let t = micros(now);

    // New activity in a thread brings its archived items back (DESIGN §4).
    if let Some(thread) = &event.thread {
        let returning: Vec<String> = db
            .query(
                "SELECT id FROM notifications
                 WHERE username = $1 AND thread = $2 AND archived_at IS NOT NULL AND in_inbox ORDER BY id",
                &[&user, thread],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        for id in returning {
            let seq = next_seq(db, user)?;
            db.exec(
                "UPDATE notifications SET archived_at = NULL, updated_at = $2, seq = $3 WHERE id = $1",
                &[&id, &t, &seq],
            )?;
            let n = notification_in(db, &id)?;
            changes.push(log_notification(db, &n, seq, "notification_updated", now)?);
        }
    }

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
    let deliveries_json =
        serde_json::to_string(&deliveries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let data = event.data.to_string();
    let read_at = plan.inbox.read.then_some(t);
    let snoozed = plan.inbox.snooze_until.map(micros);
    let seq = next_seq(db, user)?;
    let urgency = plan.urgency.as_str();

    let (id, kind) = match &plan.inbox.collapse_into {
        Some(existing) => {
            db.exec(
                "UPDATE notifications SET count = count + 1, title = $2, body = $3, url = $4, data = $5,
                   urgency = $6, updated_at = $7, plan = $8, deliveries = $9, read_at = $10, event_id = $11,
                   seq = $12
                 WHERE id = $1",
                &[
                    existing,
                    &event.title,
                    &event.body,
                    &event.url,
                    &data,
                    &urgency,
                    &t,
                    &plan_json.get(),
                    &deliveries_json,
                    &read_at,
                    &event_id,
                    &seq,
                ],
            )?;
            // The repeat supersedes what was pending for the item: one chain, not one each.
            db.exec(
                "UPDATE schedule SET done_at = $2 WHERE notification = $1 AND done_at IS NULL AND kind <> 'snooze'",
                &[existing, &t],
            )?;
            (existing.clone(), "notification_updated")
        }
        None => {
            let id = new_id();
            let tags =
                serde_json::to_string(&plan.inbox.tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            db.exec(
                "INSERT INTO notifications (id, username, event_id, type, category, urgency, title, body, url, thread,
                   collapse_id, data, created_at, updated_at, read_at, snoozed_until, in_inbox, tags, plan, deliveries, seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18, $19, $20)",
                &[
                    &id,
                    &user,
                    &event_id,
                    &event.kind,
                    &event.effective_category(),
                    &urgency,
                    &event.title,
                    &event.body,
                    &event.url,
                    &event.thread,
                    &event.collapse_identity(),
                    &data,
                    &t,
                    &read_at,
                    &snoozed,
                    &plan.inbox.record,
                    &tags,
                    &plan_json.get(),
                    &deliveries_json,
                    &seq,
                ],
            )?;
            (id, "notification_created")
        }
    };

    for (channel, p) in &plan.channels {
        let (skind, due) = match &p.action {
            Action::Deliver => {
                db.exec(
                    "INSERT INTO outbox (id, notification, username, channel, status, next_attempt_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5)",
                    &[&new_id(), &id, &user, &channel.as_str(), &t],
                )?;
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
            Some(r) if skind == "repeat" => {
                serde_json::json!({"every_minutes": r.every_minutes, "until": r.until})
            }
            _ => serde_json::json!({}),
        };
        db.exec(
            "INSERT INTO schedule (id, kind, notification, username, channel, due_at, payload)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&new_id(), &skind, &id, &user, &channel.as_str(), &due, &payload.to_string()],
        )?;
    }
    if let Some(until) = snoozed {
        db.exec(
            "INSERT INTO schedule (id, kind, notification, username, due_at) VALUES ($1, 'snooze', $2, $3, $4)",
            &[&new_id(), &id, &user, &until],
        )?;
    }

    if plan.inbox.record {
        // A new row is known in full here; a collapsed one is read back for its history.
        let n = if kind == "notification_created" {
            Notification {
                id: id.clone(),
                user: user.to_string(),
                event_id: event_id.to_string(),
                kind: event.kind.clone(),
                category: event.effective_category(),
                urgency: plan.urgency,
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
                deliveries,
                plan: Some(plan_json.clone()),
            }
        } else {
            notification_in(db, &id)?
        };
        changes.push(log_notification(db, &n, seq, kind, now)?);
    }
    Ok((id, changes))
}

pub(super) fn subscriber_in(db: &mut Db, user: &str, prefs: &Preferences) -> Result<Subscriber> {
    let row = db.opt("SELECT email, display_name, phone, avatar FROM users WHERE name = $1", &[&user])?;
    let (email, display, phone, avatar): (Option<String>, Option<String>, Option<String>, Option<String>) =
        match row {
            Some(r) => (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?),
            None => (None, None, None, None),
        };
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
