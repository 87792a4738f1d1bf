//! The outbox port: merchants' events, written by the commit that causes them, waiting for
//! delivery. A delivery worker takes them, acknowledges what was delivered, schedules retries and
//! dead-letters what it gives up on; nothing leaves the queue unacknowledged.

use std::time::Duration;

use async_trait::async_trait;

use crate::ports::StoreError;
use crate::record::MerchantEvent;

/// One event handed to a delivery worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedEvent {
    /// Where it is queued (the store's own id).
    pub id: String,
    /// The event.
    pub event: MerchantEvent,
    /// Delivery attempts made before this one.
    pub attempts: u32,
}

/// Counts for the operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Events waiting (queued or scheduled for a retry).
    pub depth: u64,
    /// Events given up on.
    pub dead_letters: u64,
    /// Age of the oldest event waiting, in ms.
    pub oldest_age_ms: Option<i64>,
}

/// The queue of merchants' events.
#[async_trait]
pub trait EventQueue: Send + Sync + 'static {
    /// Up to `max` events for `consumer`: its own unacknowledged ones first, then new ones.
    async fn fetch(&self, consumer: &str, max: usize) -> Result<Vec<QueuedEvent>, StoreError>;
    /// Events another consumer took and has not acknowledged for `min_idle` (it died).
    async fn claim_stale(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedEvent>, StoreError>;
    /// Delivered: removes it.
    async fn ack(&self, event: &QueuedEvent) -> Result<(), StoreError>;
    /// Not delivered: back in the queue at `at_ms`, one more attempt counted (one step).
    async fn retry_at(
        &self,
        event: &QueuedEvent,
        at_ms: i64,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Moves retries that are due back into the queue.
    async fn promote_due(&self, now_ms: i64, max: usize) -> Result<usize, StoreError>;
    /// Given up: moved to the dead letters with the reason (one step).
    async fn dead_letter(&self, event: &QueuedEvent, reason: &str) -> Result<(), StoreError>;
    /// Depth, dead letters and the oldest waiting event's age.
    async fn stats(&self, now_ms: i64) -> Result<OutboxStats, StoreError>;
}
