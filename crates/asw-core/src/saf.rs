//! The store-and-forward queue as the reversal engine consumes it.
//!
//! Entries are produced by [`crate::ports::Journal::commit`] and
//! [`crate::ports::Journal::reverse_unseen`] in the same atomic step as the state change that
//! made them necessary; this port is the consuming side.

use std::time::Duration;

use async_trait::async_trait;

use crate::ports::StoreError;
use crate::record::SafEntry;

/// One SAF entry handed to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafMessage {
    /// Queue-specific id of this delivery (e.g. the Redis stream entry id).
    pub id: String,
    /// The queued work.
    pub entry: SafEntry,
    /// How many times it was attempted before.
    pub attempts: u32,
}

/// Queue depth figures for metrics and operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SafStats {
    /// Entries not yet acknowledged (ready, in flight or waiting for a retry).
    pub depth: u64,
    /// Age of the oldest of them, in milliseconds.
    pub oldest_age_ms: u64,
    /// Entries in the dead-letter stream.
    pub dead_letters: u64,
}

/// The consuming side of the SAF queue. Nothing is removed before it is acknowledged.
#[async_trait]
pub trait SafQueue: Send + Sync + 'static {
    /// Next entries for `consumer`: first those it held before a restart, then new ones,
    /// waiting up to `block` when there are none.
    async fn fetch(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<SafMessage>, StoreError>;
    /// Takes over entries another consumer has held for longer than `min_idle` (it crashed).
    async fn claim_stale(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<SafMessage>, StoreError>;
    /// Hands entries this consumer holds but will not handle (it is stopping) back to the
    /// group: they stay queued, marked idle for `idle`, so the next `claim_stale` of any
    /// consumer with a shorter `min_idle` takes them at once instead of waiting for this one.
    async fn release(
        &self,
        consumer: &str,
        messages: &[SafMessage],
        idle: Duration,
    ) -> Result<(), StoreError>;
    /// The entry is done: acknowledge and remove it.
    async fn ack(&self, message: &SafMessage) -> Result<(), StoreError>;
    /// Schedules another attempt at `at_ms`, atomically with acknowledging this delivery.
    async fn retry_at(
        &self,
        message: &SafMessage,
        at_ms: i64,
        last_error: &str,
    ) -> Result<(), StoreError>;
    /// Moves retries that are due back into the queue; returns how many moved.
    async fn promote_due(&self, now_ms: i64, max: usize) -> Result<usize, StoreError>;
    /// Gives up on an entry: moves it to the dead-letter stream, atomically with the ack.
    async fn dead_letter(&self, message: &SafMessage, reason: &str) -> Result<(), StoreError>;
    /// Depth, oldest age and dead-letter count.
    async fn stats(&self, now_ms: i64) -> Result<SafStats, StoreError>;
}
