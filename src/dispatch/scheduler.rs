//! The scheduler task: runs what the engine deferred when it falls due, sleeping until the
//! next due row or until the writer commits something new (no polling).

use jiff::Timestamp;

use super::Dispatch;

/// Runs scheduled work when it falls due (urgent repeats, snooze wake-ups, held and escalated
/// deliveries): sleeps until the next due row or until the writer commits something new.
pub async fn scheduler(dispatch: Dispatch, stop: tokio_util::sync::CancellationToken) {
    loop {
        let next = dispatch.read(|s| s.next_due()).await.ok().flatten();
        let now = Timestamp::now();
        let wait = match next {
            Some(t) if t <= now => std::time::Duration::ZERO,
            Some(t) => now.duration_until(t).unsigned_abs().min(std::time::Duration::from_secs(60)),
            None => std::time::Duration::from_secs(60),
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = dispatch.schedule_changed() => continue,
            }
        }
        if stop.is_cancelled() {
            return;
        }
        let r = dispatch.write(|s, now| s.run_due(now).map(|c| ((), c))).await;
        if let Err(e) = r {
            tracing::error!(error = %e, "running scheduled work failed");
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            }
        }
    }
}
