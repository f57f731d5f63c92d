//! Workflow triggers (DESIGN §3, §7) and delivery-status callbacks from providers.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::AppState;
use super::auth::Auth;
use super::error::{ApiError, ErrorResponse, parse_json};
use super::rest::read_body;
use crate::model::{Event, FieldError, Recipients};
use crate::store::Scope;
use crate::store::{StoreError, Submission};

/// Who a trigger is for: exactly one of these.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerTo {
    /// A subscriber (user) id.
    subscriber: Option<String>,
    /// A subscriber's e-mail address.
    email: Option<String>,
    users: Option<Vec<String>>,
    emails: Option<Vec<String>>,
    /// Everyone subscribed to the topic.
    topic: Option<String>,
    /// Every user (admin tokens only).
    broadcast: Option<bool>,
}

impl TriggerTo {
    fn recipients(self) -> Result<Recipients, FieldError> {
        let mut found = Vec::new();
        if let Some(s) = self.subscriber {
            found.push(Recipients::Users(vec![s]));
        }
        if let Some(e) = self.email {
            found.push(Recipients::Emails(vec![e]));
        }
        if let Some(u) = self.users {
            found.push(Recipients::Users(u));
        }
        if let Some(e) = self.emails {
            found.push(Recipients::Emails(e));
        }
        if let Some(t) = self.topic {
            found.push(Recipients::Topic(t));
        }
        if let Some(b) = self.broadcast {
            if !b {
                return Err(FieldError::new("to.broadcast", "only `true` means something here"));
            }
            found.push(Recipients::Broadcast(true));
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            _ => Err(FieldError::new(
                "to",
                "name exactly one of: subscriber, email, users, emails, topic, broadcast",
            )),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    to: TriggerTo,
    /// Template variables; string values may themselves use subscriber variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    payload: Map<String, Value>,
    /// Idempotency key: a replay with the same key delivers nothing twice.
    id: Option<String>,
    actor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Triggered {
    pub workflow: String,
    /// One event per recipient.
    pub events: Vec<String>,
    pub notifications: Vec<String>,
    /// True when every event was a replay of an earlier trigger with the same id.
    pub duplicate: bool,
    /// Variables the templates use that neither the payload nor a subscriber had (they
    /// rendered empty).
    pub missing: Vec<String>,
}

/// Trigger a workflow for a subscriber, an e-mail, a topic or everyone (admin).
#[utoipa::path(post, path = "/workflows/{id}/trigger", tag = "workflows", request_body = Trigger,
    params(("id" = String, Path, description = "workflow id, e.g. task-completed")),
    responses((status = 201, body = Triggered), (status = 200, description = "replay", body = Triggered),
        (status = 400, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, description = "the id was used for a different trigger", body = ErrorResponse),
        (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
pub async fn trigger(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<Triggered>), ApiError> {
    let p = auth.0;
    if p.scope == Scope::User {
        state.limiter.take(&p.user).map_err(ApiError::too_many)?;
    }
    let bytes = read_body(&state, body).await?;
    let t: Trigger = parse_json(&bytes)?;
    let workflows = crate::workflows::all(&state.dispatch.config().workflows);
    let workflow =
        workflows.get(&id).ok_or_else(|| ApiError::not_found(format!("no workflow `{id}`")))?.clone();
    let to = t.to.recipients().map_err(ApiError::invalid)?;
    match (&p.scope, &to) {
        (Scope::User, Recipients::Users(u)) if u.iter().all(|x| *x == p.user) => {}
        (Scope::User, _) => {
            return Err(ApiError::forbidden("a user token triggers workflows only for itself"));
        }
        (Scope::Publisher, Recipients::Broadcast(_)) => {
            return Err(ApiError::forbidden("a broadcast needs an admin token"));
        }
        _ => {}
    }
    if let Some(k) = &t.id
        && (k.is_empty() || k.len() > 200)
    {
        return Err(ApiError::invalid(FieldError::new("id", "must be 1 to 200 characters")));
    }
    let subscribers = state.dispatch.subscribers(to).await?;
    let mut out = Triggered {
        workflow: id.clone(),
        events: Vec::new(),
        notifications: Vec::new(),
        duplicate: true,
        missing: Vec::new(),
    };
    // Render for everyone first (off the async threads: templates are work), so a template
    // that fails for one subscriber publishes nothing at all.
    let (wid, actor, key, payload) = (id.clone(), t.actor.clone(), t.id.clone(), t.payload);
    // A user's payload is their own text; only publishers and admins personalise theirs.
    let from = match p.scope {
        Scope::User => crate::workflows::PayloadFrom::User,
        _ => crate::workflows::PayloadFrom::Trusted,
    };
    let rendered = tokio::task::spawn_blocking(move || -> Result<(Vec<Event>, Vec<String>), ApiError> {
        let mut events = Vec::with_capacity(subscribers.len());
        let mut missing: Vec<String> = Vec::new();
        for sub in subscribers {
            let payload = crate::workflows::personalise(&payload, &sub, from)
                .map_err(|m| ApiError::invalid(FieldError::new("payload", m)))?;
            let r = workflow
                .render(&payload, &sub)
                .map_err(|m| ApiError::invalid(FieldError::new(format!("workflows.{wid}"), m)))?;
            for m in r.missing {
                if !missing.contains(&m) {
                    missing.push(m);
                }
            }
            let event = Event {
                id: key.as_ref().map(|k| format!("{k}/{}", sub.id)),
                kind: workflow.kind.clone(),
                category: workflow.category.clone(),
                urgency: Some(workflow.urgency),
                to: Some(Recipients::Users(vec![sub.id.clone()])),
                thread: r.thread,
                collapse_key: None,
                actor: actor.clone(),
                title: r.title,
                body: r.body,
                url: r.url,
                data: Value::Object(payload),
                occurred_at: None,
            };
            event.validate().map_err(|e| {
                ApiError::invalid(FieldError::new(format!("workflows.{wid}.{}", e.field), e.message))
            })?;
            events.push(event);
        }
        Ok((events, missing))
    })
    .await
    .map_err(|_| ApiError::unavailable())??;
    let (events, missing) = rendered;
    out.missing = missing;
    for event in events {
        let sub = Submission { producer: p.user.clone(), idempotency_key: None, default_user: None, event };
        let accepted = state.dispatch.publish(sub).await?;
        out.duplicate &= accepted.duplicate;
        out.events.push(accepted.event);
        out.notifications.extend(accepted.notifications);
    }
    if out.events.is_empty() {
        out.duplicate = false;
    }
    let status = if out.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(out)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowList {
    pub workflows: Vec<WorkflowInfo>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowInfo {
    pub id: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// The workflows this dispatcher knows (built in and configured).
#[utoipa::path(get, path = "/workflows", tag = "workflows", responses((status = 200, body = WorkflowList)))]
pub async fn list(State(state): State<AppState>, _auth: Auth) -> Json<WorkflowList> {
    let workflows = crate::workflows::all(&state.dispatch.config().workflows)
        .into_iter()
        .map(|(id, w)| WorkflowInfo { id, description: w.description, kind: w.kind })
        .collect();
    Json(WorkflowList { workflows })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryStatus {
    /// The delivery id (`webhook-id`, the e-mail's Message-ID local part, push `data.delivery`).
    delivery: String,
    /// `delivered` or `failed`.
    status: String,
    error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryStatusAccepted {
    pub delivery: String,
    pub status: String,
}

/// A provider's callback on a delivery (delivered, bounced, rejected).
#[utoipa::path(post, path = "/webhooks/delivery-status", tag = "delivery", request_body = DeliveryStatus,
    responses((status = 200, body = DeliveryStatusAccepted), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn delivery_status(
    State(state): State<AppState>,
    auth: Auth,
    body: Body,
) -> Result<Json<DeliveryStatusAccepted>, ApiError> {
    auth.require(Scope::Publisher)?;
    let bytes = read_body(&state, body).await?;
    let d: DeliveryStatus = parse_json(&bytes)?;
    let delivered = match d.status.as_str() {
        "delivered" => true,
        "failed" => false,
        other => {
            return Err(ApiError::invalid(FieldError::new(
                "status",
                format!("`{other}` is not a status: delivered or failed"),
            )));
        }
    };
    let r = state.dispatch.provider_status(d.delivery.clone(), delivered, d.error.clone()).await;
    match r {
        Ok(()) => Ok(Json(DeliveryStatusAccepted {
            delivery: d.delivery,
            status: if delivered { "delivered".into() } else { "dead".into() },
        })),
        Err(crate::dispatch::DispatchError::Store(StoreError::NotFound(_))) => {
            Err(ApiError::not_found(format!("no delivery `{}`", d.delivery)))
        }
        Err(e) => Err(e.into()),
    }
}
