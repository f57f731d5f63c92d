//! Incoming webhooks on the dispatcher: looking a hook up (on a reader, every delivery, so
//! a revocation takes effect at once) and publishing what its delivery became. The mapping
//! itself is `crate::hooks`'s; the transport verified the sender before calling this.

use crate::hooks::Mapped;
use crate::model::Hook;
use crate::store::{Accepted, Submission};

use super::{Dispatch, DispatchError};

impl Dispatch {
    /// An active hook by id.
    pub async fn hook(&self, id: &str) -> Result<Option<Hook>, DispatchError> {
        let id = id.to_string();
        self.read(move |s| s.hook(&id)).await
    }

    /// Publishes a delivery's events to the hook's target (unless an event names its own
    /// recipients), each under its idempotency key, so a sender retrying after a partial
    /// failure records nothing twice. Answers in the events' order; the first refusal wins.
    pub async fn publish_hook(
        &self,
        hook: &Hook,
        mapped: Vec<Mapped>,
    ) -> Result<Vec<Accepted>, DispatchError> {
        let producer = hook.producer();
        let jobs = mapped.into_iter().map(|m| {
            let mut event = m.event;
            if event.to.is_none() {
                event.to = Some(hook.target.recipients());
            }
            self.publish(Submission {
                producer: producer.clone(),
                idempotency_key: m.key,
                default_user: None,
                event,
            })
        });
        // Submitted together, they share the writer's next transaction (group commit).
        futures_util::future::join_all(jobs).await.into_iter().collect()
    }
}
