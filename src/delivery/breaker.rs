//! Circuit breakers per delivery target: a target that keeps failing is held back for a
//! while, then probed once, so a dead endpoint costs its own deliveries and nobody else's.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::Failure;

/// Per-target circuit breakers: `threshold` retryable failures in a row open the circuit for
/// `cooldown`; then one attempt is let through (half-open): success closes it, failure
/// opens it again.
pub struct Breakers {
    threshold: u32,
    cooldown: SignedDuration,
    state: Mutex<HashMap<String, BreakerState>>,
}

/// One failing target: failures in a row, open until, last failure.
type BreakerState = (u32, Option<Timestamp>, Timestamp);

/// Targets remembered at most; past it, those that last failed over an hour ago (and are
/// not open) are forgotten, so targets that failed once and were never used again (a URL a
/// user then changed) do not pile up.
const BREAKER_TARGETS: usize = 1024;

impl Breakers {
    pub fn new(threshold: u32, cooldown: Duration) -> Breakers {
        Breakers {
            threshold,
            cooldown: SignedDuration::try_from(cooldown).unwrap_or(SignedDuration::MAX),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Until when `target` is held back, if its circuit is open at `now`. Once the cooldown
    /// has passed, the first caller is let through as the probe and the circuit stays open
    /// for everyone else until the probe's outcome is recorded.
    pub fn open_until(&self, target: &str, now: Timestamp) -> Option<Timestamp> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = state.get_mut(target)?;
        match entry.1 {
            Some(until) if until > now => Some(until),
            Some(_) => {
                entry.1 = now.checked_add(self.cooldown).ok();
                None
            }
            None => None,
        }
    }

    /// Records an attempt's outcome: only failures worth a retry count (a 4xx says the
    /// endpoint is up).
    pub fn record(&self, target: &str, outcome: &Result<(), Failure>, now: Timestamp) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Err(Failure::Retry { .. }) => {
                if state.len() >= BREAKER_TARGETS && !state.contains_key(target) {
                    let stale = now.checked_sub(SignedDuration::from_hours(1)).unwrap_or(now);
                    state.retain(|_, (_, open, last)| open.is_some_and(|o| o > now) || *last > stale);
                }
                let entry = state.entry(target.to_string()).or_insert((0, None, now));
                entry.0 += 1;
                entry.2 = now;
                if entry.0 >= self.threshold {
                    entry.1 = now.checked_add(self.cooldown).ok();
                    if entry.0 == self.threshold {
                        tracing::warn!(
                            target,
                            failures = entry.0,
                            "circuit open: holding this target's deliveries back"
                        );
                    }
                }
            }
            _ => {
                state.remove(target);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

    use super::*;

    #[test]
    fn a_breaker_opens_after_the_threshold_and_closes_on_success() {
        let b = Breakers::new(3, Duration::from_secs(60));
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let fail = Err(Failure::Retry { error: "timed out".into(), after: None });
        for _ in 0..2 {
            b.record("http://dead", &fail, now);
        }
        assert_eq!(b.open_until("http://dead", now), None);
        b.record("http://dead", &fail, now);
        assert_eq!(b.open_until("http://dead", now), Some("2026-01-01T00:01:00Z".parse().unwrap()));
        assert_eq!(b.open_until("http://other", now), None);
        // Half-open after the cooldown: one probe goes, the others still wait; a success
        // closes it.
        let later: Timestamp = "2026-01-01T00:01:01Z".parse().unwrap();
        assert_eq!(b.open_until("http://dead", later), None, "the probe");
        assert_eq!(b.open_until("http://dead", later), Some("2026-01-01T00:02:01Z".parse().unwrap()));
        b.record("http://dead", &Ok(()), later);
        b.record("http://dead", &fail, later);
        assert_eq!(b.open_until("http://dead", later), None);
        // A final 4xx does not count: the endpoint answers.
        let b = Breakers::new(1, Duration::from_secs(60));
        b.record("http://x", &Err(Failure::Final { error: "HTTP 404".into() }), now);
        assert_eq!(b.open_until("http://x", now), None);
    }

    #[test]
    fn breakers_forget_targets_that_stopped_failing() {
        let b = Breakers::new(3, Duration::from_secs(60));
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let fail = Err(Failure::Retry { error: "timed out".into(), after: None });
        for i in 0..BREAKER_TARGETS {
            b.record(&format!("http://gone-{i}"), &fail, now);
        }
        for _ in 0..3 {
            b.record("http://dead", &fail, now);
        }
        let later = now + SignedDuration::from_hours(2);
        for _ in 0..3 {
            b.record("http://still-dead", &fail, later);
        }
        let size = b.state.lock().unwrap().len();
        assert!(size <= 2, "targets that failed once two hours ago are forgotten: {size} kept");
        assert!(b.open_until("http://still-dead", later).is_some());
    }
}
