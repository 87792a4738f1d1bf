//! The retry schedule (pure): jittered 5–10 s for the first minute, then exponential backoff,
//! then give up. Antom's guidance: retry a `U` cancel with the same parameters every 5–10 s for
//! 60 s, then keep it in the store-and-forward queue.

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;

use crate::config::EngineConfig;

/// What to do after an attempt that did not settle the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again at this time (ms since the epoch).
    At(i64),
    /// Too old or tried too often: dead-letter it.
    GiveUp,
}

/// Decides the next attempt of an entry queued at `enqueued_at_ms` that has been attempted
/// `attempts` times before this one.
pub fn next_attempt(
    config: &EngineConfig,
    enqueued_at_ms: i64,
    attempts: u32,
    now_ms: i64,
) -> RetryDecision {
    let age = u64::try_from(now_ms.saturating_sub(enqueued_at_ms)).unwrap_or(0);
    if age >= config.max_age_ms || attempts.saturating_add(1) >= config.max_attempts {
        return RetryDecision::GiveUp;
    }
    let delay_ms = if age < config.fast_retry_window_ms {
        rand::rng().random_range(config.fast_retry_min_ms..=config.fast_retry_max_ms)
    } else {
        // Attempts beyond what the fast phase can hold drive the exponent, so the backoff grows
        // from the fast interval however many fast attempts there were.
        let fast_attempts = config.fast_retry_window_ms / config.fast_retry_min_ms.max(1);
        let step = u64::from(attempts).saturating_sub(fast_attempts).min(32) as usize;
        ExponentialBuilder::default()
            .with_min_delay(EngineConfig::ms(config.fast_retry_max_ms))
            .with_max_delay(EngineConfig::ms(config.backoff_max_ms))
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(step)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(config.backoff_max_ms)
            .min(config.backoff_max_ms.saturating_mul(2))
    };
    let due = now_ms.saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX / 4));
    // Never schedule past the maximum age: the last attempt happens at the limit.
    let limit =
        enqueued_at_ms.saturating_add(i64::try_from(config.max_age_ms).unwrap_or(i64::MAX / 4));
    RetryDecision::At(due.min(limit.max(now_ms + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_phase_then_bounded_backoff_then_give_up(age in 0i64..200_000_000, attempts in 0u32..2_000) {
            let config = EngineConfig::default();
            let now = 1_763_800_000_000i64;
            match next_attempt(&config, now - age, attempts, now) {
                RetryDecision::GiveUp => {
                    prop_assert!(age as u64 >= config.max_age_ms || attempts + 1 >= config.max_attempts);
                }
                RetryDecision::At(at) => {
                    let delay = at - now;
                    prop_assert!(delay >= 1);
                    if (age as u64) < config.fast_retry_window_ms {
                        prop_assert!((5_000..=10_000).contains(&delay), "fast delay {}", delay);
                    } else {
                        prop_assert!(delay <= 2 * config.backoff_max_ms as i64);
                    }
                }
            }
        }
    }

    #[test]
    fn backoff_grows_after_the_first_minute() {
        let config = EngineConfig::default();
        let now = 1_000_000_000i64;
        let enqueued = now - 120_000;
        let delay = |attempts| match next_attempt(&config, enqueued, attempts, now) {
            RetryDecision::At(at) => at - now,
            RetryDecision::GiveUp => panic!("gave up"),
        };
        assert!(delay(12) >= 10_000);
        assert!(delay(20) >= config.backoff_max_ms as i64);
        assert!(delay(100) <= 2 * config.backoff_max_ms as i64);
    }
}
