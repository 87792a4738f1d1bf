//! Timing and limits of the reversal engine (serde, with defaults; tests shrink them).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Reversal engine settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// This instance's name; consumer names are `<instance>-<n>`. Must be unique per running
    /// instance and stable across restarts so an instance re-reads what it held.
    pub instance: String,
    /// Consumer tasks per instance. Each handles its entries one after the other, so this
    /// bounds the cancels in flight to Antom: a backlog drains at about
    /// `consumers / round-trip time` (benches/saf_drain.rs).
    pub consumers: usize,
    /// Entries fetched per read.
    pub fetch_batch: usize,
    /// How long a read waits for new entries.
    pub fetch_block_ms: u64,
    /// An entry held this long by a consumer counts as abandoned and is claimed by another.
    /// Must exceed the slowest legitimate handling (an upstream call plus an inquiry).
    pub claim_idle_ms: u64,
    /// How often each consumer looks for stale entries to claim.
    pub claim_interval_ms: u64,
    /// How often due retries are moved back into the queue (and queue gauges refreshed).
    pub promote_interval_ms: u64,
    /// How often the deadline sweeper runs.
    pub sweep_interval_ms: u64,
    /// Transactions handled per sweep.
    pub sweep_batch: usize,
    /// Fast phase: retry every `fast_retry_min_ms`..`fast_retry_max_ms` (jittered)…
    pub fast_retry_min_ms: u64,
    /// …upper bound of the fast retry interval…
    pub fast_retry_max_ms: u64,
    /// …for this long after the entry was queued; then exponential backoff.
    pub fast_retry_window_ms: u64,
    /// Longest wait between two attempts in the backoff phase.
    pub backoff_max_ms: u64,
    /// An entry older than this is dead-lettered.
    pub max_age_ms: u64,
    /// An entry attempted this many times is dead-lettered.
    pub max_attempts: u32,
    /// Upper bound of one upstream call as seen by the engine (the client has its own).
    pub call_timeout_ms: u64,
    /// Reload-and-retry rounds when a commit meets a concurrent change.
    pub commit_retries: u32,
    /// Pause after the store failed, before trying again.
    pub store_retry_ms: u64,
    /// Definitive `F` codes that mean "nothing happened, our set-up is wrong" (keys, access):
    /// kept in the queue with backoff (and counted) instead of dead-lettered at once.
    pub retry_on_result_codes: Vec<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            instance: format!("asw-{}", std::process::id()),
            consumers: 16,
            fetch_batch: 16,
            fetch_block_ms: 1_000,
            claim_idle_ms: 120_000,
            claim_interval_ms: 5_000,
            promote_interval_ms: 500,
            sweep_interval_ms: 1_000,
            sweep_batch: 200,
            fast_retry_min_ms: 5_000,
            fast_retry_max_ms: 10_000,
            fast_retry_window_ms: 60_000,
            backoff_max_ms: 600_000,
            max_age_ms: 48 * 3600 * 1000,
            max_attempts: 1_000,
            call_timeout_ms: 30_000,
            commit_retries: 5,
            store_retry_ms: 1_000,
            retry_on_result_codes: [
                "CLIENT_INVALID",
                "ACCESS_DENIED",
                "KEY_NOT_FOUND",
                "INVALID_SIGNATURE",
                "NO_INTERFACE_DEF",
                "INVALID_CLIENT_STATUS",
                "INVALID_ACCESS_TOKEN",
                "REQUEST_TRAFFIC_EXCEED_LIMIT",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

impl EngineConfig {
    /// Checks relations between values; returns every problem found.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.instance.is_empty() {
            problems.push("reversal.instance must not be empty".to_string());
        }
        if self.consumers == 0 || self.fetch_batch == 0 || self.sweep_batch == 0 {
            problems.push("reversal.consumers, fetch_batch and sweep_batch must be ≥ 1".into());
        }
        if self.fast_retry_min_ms == 0 || self.fast_retry_min_ms > self.fast_retry_max_ms {
            problems.push("reversal.fast_retry_min_ms must be in 1..=fast_retry_max_ms".into());
        }
        if self.claim_idle_ms <= self.call_timeout_ms {
            problems.push(
                "reversal.claim_idle_ms must exceed call_timeout_ms (else live work is stolen)"
                    .into(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub(crate) fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        assert_eq!(EngineConfig::default().validate(), Ok(()));
        let bad = EngineConfig {
            claim_idle_ms: 10,
            fast_retry_min_ms: 20_000,
            ..EngineConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().len(), 2);
    }
}
