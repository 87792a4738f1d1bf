//! [`SafQueue`] for [`MemoryStore`]: one stream, one consumer group, a delayed-retry list and
//! a dead-letter stream, with the Redis store's delivery rules.

use std::time::Duration;

use asw_core::ports::StoreError;
use asw_core::saf::{SafMessage, SafQueue, SafStats};
use async_trait::async_trait;

use super::state::check_tag;
use super::{MemoryStore, StoreOp};

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl SafQueue for MemoryStore {
    async fn fetch(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<SafMessage>, StoreError> {
        // XREADGROUP asks for COUNT max(1): even `max == 0` reads one entry.
        let count = max.max(1);
        let first = self.step(StoreOp::Fetch, |state, now| {
            let own = state.read_own_pending(consumer, count, now);
            if !own.is_empty() {
                return Ok(own);
            }
            Ok(state.read_new(consumer, count, now))
        })?;
        if !first.is_empty() || block.is_zero() {
            return Ok(first);
        }
        // Blocking read: wait for an arrival or the block time (on the store's clock, so a
        // virtual clock makes the wait virtual too), then read new entries once.
        let arrival = self.inner.arrivals.notified();
        tokio::pin!(arrival);
        arrival.as_mut().enable();
        if !self.state().has_new() {
            tokio::select! {
                _ = arrival => {}
                _ = self.inner.clock.sleep(block) => {}
            }
        }
        let now = self.now_ms();
        Ok(self.state().read_new(consumer, count, now))
    }

    async fn claim_stale(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<SafMessage>, StoreError> {
        self.step(StoreOp::ClaimStale, |state, now| {
            Ok(state.claim_stale(consumer, millis(min_idle), max, now))
        })
    }

    async fn release(
        &self,
        consumer: &str,
        messages: &[SafMessage],
        idle: Duration,
    ) -> Result<(), StoreError> {
        for message in messages {
            check_tag(&message.entry.tag)?;
        }
        self.step(StoreOp::Release, |state, now| {
            for message in messages {
                state.release(consumer, &message.id, millis(idle), now);
            }
            Ok(())
        })
    }

    async fn ack(&self, message: &SafMessage) -> Result<(), StoreError> {
        check_tag(&message.entry.tag)?;
        self.step(StoreOp::Ack, |state, _| {
            state.ack(&message.id);
            Ok(())
        })
    }

    async fn retry_at(
        &self,
        message: &SafMessage,
        at_ms: i64,
        last_error: &str,
    ) -> Result<(), StoreError> {
        check_tag(&message.entry.tag)?;
        self.step(StoreOp::RetryAt, |state, _| {
            state.retry_at(message, at_ms, last_error);
            Ok(())
        })
    }

    async fn promote_due(&self, now_ms: i64, max: usize) -> Result<usize, StoreError> {
        self.step(StoreOp::PromoteDue, |state, clock_now| {
            Ok(state.promote_due(now_ms, max, clock_now))
        })
    }

    async fn dead_letter(&self, message: &SafMessage, reason: &str) -> Result<(), StoreError> {
        check_tag(&message.entry.tag)?;
        self.step(StoreOp::DeadLetter, |state, now| {
            state.dead_letter(message, reason, now);
            Ok(())
        })
    }

    async fn stats(&self, now_ms: i64) -> Result<SafStats, StoreError> {
        self.step(StoreOp::Stats, |state, _| Ok(state.stats(now_ms)))
    }
}
