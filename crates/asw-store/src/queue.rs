//! [`SafQueue`] on Redis Streams: one stream per shard, one consumer group, a delayed-retry zset
//! and a dead-letter stream. Nothing leaves the stream before it is acknowledged, and every
//! "acknowledge + move elsewhere" is one script.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use asw_core::ports::StoreError;
use asw_core::record::SafEntry;
use asw_core::saf::{SafMessage, SafQueue, SafStats};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::scripts;
use crate::store::{Access, Call, RedisStore};
use crate::values::{StreamEntry, int, list, stream_entries, stream_id_ms, text, xread_entries};

/// How a retry waits in the delayed zset: the entry JSON kept verbatim as a string so the
/// promote script can put it back without re-encoding numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DelayedMember {
    /// Entry JSON.
    pub(crate) e: String,
    /// Attempts so far (text, so Lua passes it through unchanged).
    pub(crate) a: String,
    /// Last error.
    pub(crate) err: String,
    /// Stream id of the delivery it replaces (keeps members distinct).
    pub(crate) id: String,
}

static BLOCK_ROTATION: AtomicU32 = AtomicU32::new(0);

impl RedisStore {
    fn shard_of_message(&self, message: &SafMessage) -> Result<u32, StoreError> {
        self.layout().shard_of(&message.entry.tag)
    }

    /// Turns stream entries into messages; entries that cannot be read are acknowledged (if
    /// their body is gone) or dead-lettered (if it is unreadable), never handed out.
    async fn to_messages(
        &self,
        shard: u32,
        entries: Vec<StreamEntry>,
    ) -> Result<Vec<SafMessage>, StoreError> {
        let mut out = Vec::with_capacity(entries.len());
        for raw in entries {
            let Some(json) = raw.field("e") else {
                // Deleted while pending (acknowledged elsewhere): just clear the PEL entry.
                self.ack_raw(shard, &raw.id).await?;
                continue;
            };
            let attempts = raw
                .field("a")
                .and_then(|a| a.parse::<u32>().ok())
                .unwrap_or(0);
            match serde_json::from_str::<SafEntry>(json) {
                Ok(entry) => out.push(SafMessage {
                    id: raw.id.clone(),
                    entry,
                    attempts,
                }),
                Err(e) => {
                    tracing::error!(stream_id = %raw.id, "unreadable SAF entry dead-lettered: {e}");
                    self.dead_letter_raw(shard, &raw.id, json, attempts, "unreadable entry")
                        .await?;
                }
            }
        }
        Ok(out)
    }

    async fn ack_raw(&self, shard: u32, id: &str) -> Result<i64, StoreError> {
        let call = Call {
            script: &scripts::ACK,
            keys: vec![self.layout().saf(shard)],
            args: vec![self.config().consumer_group.clone(), id.to_string()],
        };
        let reply = self.eval("saf_ack", Access::Write, false, call).await?;
        Ok(int(&reply).unwrap_or(0))
    }

    async fn dead_letter_raw(
        &self,
        shard: u32,
        id: &str,
        entry_json: &str,
        attempts: u32,
        reason: &str,
    ) -> Result<i64, StoreError> {
        let now = asw_core::ports::Clock::now_ms(&asw_core::ports::SystemClock);
        let call = Call {
            script: &scripts::DEAD_LETTER,
            keys: vec![self.layout().saf(shard), self.layout().saf_dead(shard)],
            args: vec![
                self.config().consumer_group.clone(),
                id.to_string(),
                entry_json.to_string(),
                attempts.to_string(),
                reason.to_string(),
                now.to_string(),
                id.to_string(),
            ],
        };
        let reply = self
            .eval("saf_dead_letter", Access::Write, true, call)
            .await?;
        Ok(int(&reply).unwrap_or(0))
    }

    async fn read_group(
        &self,
        shard: u32,
        consumer: &str,
        max: usize,
        from: &str,
        block: Option<Duration>,
    ) -> Result<Vec<SafMessage>, StoreError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.config().consumer_group)
            .arg(consumer)
            .arg("COUNT")
            .arg(max.max(1));
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(block.as_millis().max(1) as u64);
        }
        cmd.arg("STREAMS").arg(self.layout().saf(shard)).arg(from);
        let reply = match block {
            Some(block) => self.query_blocking(consumer, block, cmd).await,
            None => self.query("saf_read", Access::Read, cmd).await,
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err(StoreError::Unavailable(e)) if e.contains("NOGROUP") => {
                // The stream or group vanished (a server without persistence restarted).
                self.ensure_group(shard).await?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        self.to_messages(shard, xread_entries(&reply)).await
    }
}

#[async_trait]
impl SafQueue for RedisStore {
    async fn fetch(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<SafMessage>, StoreError> {
        let shards = self.layout().shards();
        // Own pending first: what this consumer held when it stopped is handled before new work.
        // Skipped while the last scan found none, nothing was handed out since (an entry handed
        // out stays pending until acknowledged: that is when a scan is due again), and that
        // scan is recent (a failover that lost an acknowledgement makes an entry pending again).
        let mut out = Vec::new();
        if !self.pending_clean(consumer) {
            for shard in 0..shards {
                out.extend(
                    self.read_group(shard, consumer, max - out.len(), "0", None)
                        .await?,
                );
                if out.len() >= max {
                    return Ok(out);
                }
            }
            if !out.is_empty() {
                return Ok(out);
            }
            self.set_pending_clean(consumer, true);
        }
        let new = self.fetch_new(consumer, max, block, shards).await?;
        if !new.is_empty() {
            self.set_pending_clean(consumer, false);
        }
        Ok(new)
    }

    async fn claim_stale(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<SafMessage>, StoreError> {
        let claimed = self.claim_stale_entries(consumer, min_idle, max).await?;
        if !claimed.is_empty() {
            // Now this consumer's pending entries, like what a fetch hands out.
            self.set_pending_clean(consumer, false);
        }
        Ok(claimed)
    }

    async fn release(
        &self,
        consumer: &str,
        messages: &[SafMessage],
        idle: Duration,
    ) -> Result<(), StoreError> {
        for message in messages {
            // XCLAIM to the holder itself with IDLE only moves the entry's delivery time back;
            // JUSTID leaves its delivery count alone. Redis treats an idle time reaching back
            // before the epoch as "now", so the caller keeps `idle` modest (minutes).
            let mut cmd = redis::cmd("XCLAIM");
            cmd.arg(self.layout().saf(self.shard_of_message(message)?))
                .arg(&self.config().consumer_group)
                .arg(consumer)
                .arg(0)
                .arg(&message.id)
                .arg("IDLE")
                .arg(u64::try_from(idle.as_millis()).unwrap_or(u64::MAX))
                .arg("JUSTID");
            self.query("saf_release", Access::Write, cmd).await?;
        }
        Ok(())
    }

    async fn ack(&self, message: &SafMessage) -> Result<(), StoreError> {
        self.ack_raw(self.shard_of_message(message)?, &message.id)
            .await
            .map(|_| ())
    }

    async fn retry_at(
        &self,
        message: &SafMessage,
        at_ms: i64,
        last_error: &str,
    ) -> Result<(), StoreError> {
        let shard = self.shard_of_message(message)?;
        let member = DelayedMember {
            e: crate::journal::to_json(&message.entry, "saf entry")?,
            a: message.attempts.saturating_add(1).to_string(),
            err: last_error.chars().take(200).collect(),
            id: message.id.clone(),
        };
        let call = Call {
            script: &scripts::RETRY_AT,
            keys: vec![self.layout().saf(shard), self.layout().saf_delayed(shard)],
            args: vec![
                self.config().consumer_group.clone(),
                message.id.clone(),
                at_ms.to_string(),
                crate::journal::to_json(&member, "delayed entry")?,
            ],
        };
        self.eval("saf_retry", Access::Write, true, call).await?;
        Ok(())
    }

    async fn promote_due(&self, now_ms: i64, max: usize) -> Result<usize, StoreError> {
        let mut moved = 0usize;
        for shard in 0..self.layout().shards() {
            let call = Call {
                script: &scripts::PROMOTE_DUE,
                keys: vec![
                    self.layout().saf_delayed(shard),
                    self.layout().saf(shard),
                    self.layout().saf_dead(shard),
                ],
                args: vec![now_ms.to_string(), max.to_string(), now_ms.to_string()],
            };
            let reply = self.eval("saf_promote", Access::Write, true, call).await?;
            moved += usize::try_from(int(&reply).unwrap_or(0)).unwrap_or(0);
        }
        Ok(moved)
    }

    async fn dead_letter(&self, message: &SafMessage, reason: &str) -> Result<(), StoreError> {
        let shard = self.shard_of_message(message)?;
        let json = crate::journal::to_json(&message.entry, "saf entry")?;
        self.dead_letter_raw(shard, &message.id, &json, message.attempts, reason)
            .await?;
        tracing::warn!(
            journal_id = %message.entry.journal_id,
            action = message.entry.action.name(),
            reason,
            "SAF entry dead-lettered: an operator must reconcile it"
        );
        Ok(())
    }

    async fn stats(&self, now_ms: i64) -> Result<SafStats, StoreError> {
        let mut stats = SafStats::default();
        let mut oldest: Option<i64> = None;
        for shard in 0..self.layout().shards() {
            let mut pipe = redis::pipe();
            pipe.cmd("XLEN").arg(self.layout().saf(shard));
            pipe.cmd("ZCARD").arg(self.layout().saf_delayed(shard));
            pipe.cmd("XLEN").arg(self.layout().saf_dead(shard));
            pipe.cmd("XRANGE")
                .arg(self.layout().saf(shard))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(1);
            // The delayed zset is ordered by due time, not age: look at a bounded prefix.
            pipe.cmd("ZRANGE")
                .arg(self.layout().saf_delayed(shard))
                .arg(0)
                .arg(99);
            let mut conn = self.inner_conn();
            let reply: Vec<redis::Value> = self
                .timed("saf_stats", Access::Read, async move {
                    pipe.query_async(&mut conn).await
                })
                .await?;
            let count = |i: usize| {
                reply
                    .get(i)
                    .and_then(int)
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0)
            };
            stats.depth += count(0) + count(1);
            stats.dead_letters += count(2);
            let mut consider = |at: Option<i64>| {
                if let Some(at) = at {
                    oldest = Some(oldest.map_or(at, |o| o.min(at)));
                }
            };
            if let Some(first) = reply
                .get(3)
                .map(stream_entries)
                .and_then(|v| v.into_iter().next())
            {
                let enqueued = first
                    .field("e")
                    .and_then(|e| serde_json::from_str::<SafEntry>(e).ok())
                    .map(|e| e.enqueued_at_ms);
                consider(enqueued.or_else(|| stream_id_ms(&first.id)));
            }
            for member in reply.get(4).map(list).unwrap_or(&[]) {
                let enqueued = text(member)
                    .and_then(|m| serde_json::from_str::<DelayedMember>(&m).ok())
                    .and_then(|m| serde_json::from_str::<SafEntry>(&m.e).ok())
                    .map(|e| e.enqueued_at_ms);
                consider(enqueued);
            }
        }
        if stats.depth > 0 {
            stats.oldest_age_ms = oldest
                .map(|o| u64::try_from(now_ms.saturating_sub(o)).unwrap_or(0))
                .unwrap_or(0);
        }
        metrics::gauge!(crate::metrics::SAF_DEPTH).set(stats.depth as f64);
        metrics::gauge!(crate::metrics::SAF_OLDEST_AGE_SECONDS)
            .set(stats.oldest_age_ms as f64 / 1000.0);
        metrics::gauge!(crate::metrics::SAF_DEAD_LETTERS).set(stats.dead_letters as f64);
        Ok(stats)
    }
}

impl RedisStore {
    fn pending_clean(&self, consumer: &str) -> bool {
        let fresh = |scanned: Option<&std::time::Instant>| {
            scanned.is_some_and(|at| at.elapsed() < crate::store::PENDING_RESCAN)
        };
        match self.inner.pending_clean.lock() {
            Ok(map) => fresh(map.get(consumer)),
            Err(poisoned) => fresh(poisoned.into_inner().get(consumer)),
        }
    }

    fn set_pending_clean(&self, consumer: &str, clean: bool) {
        let mut set = match self.inner.pending_clean.lock() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        if clean {
            set.insert(consumer.to_string(), std::time::Instant::now());
        } else {
            set.remove(consumer);
        }
    }

    /// New entries: every shard without blocking, then (nothing found) a blocking read on one
    /// shard in turn.
    async fn fetch_new(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
        shards: u32,
    ) -> Result<Vec<SafMessage>, StoreError> {
        let mut out = Vec::new();
        if shards > 1 {
            for shard in 0..shards {
                out.extend(
                    self.read_group(shard, consumer, max - out.len(), ">", None)
                        .await?,
                );
                if out.len() >= max {
                    break;
                }
            }
            if !out.is_empty() || block.is_zero() {
                return Ok(out);
            }
            let shard = BLOCK_ROTATION.fetch_add(1, Ordering::Relaxed) % shards;
            return self
                .read_group(shard, consumer, max, ">", Some(block / shards))
                .await;
        }
        let block = (!block.is_zero()).then_some(block);
        self.read_group(0, consumer, max, ">", block).await
    }

    /// `XAUTOCLAIM` over every shard (see [`SafQueue::claim_stale`]).
    async fn claim_stale_entries(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<SafMessage>, StoreError> {
        let mut out = Vec::new();
        for shard in 0..self.layout().shards() {
            if out.len() >= max {
                break;
            }
            let mut cmd = redis::cmd("XAUTOCLAIM");
            cmd.arg(self.layout().saf(shard))
                .arg(&self.config().consumer_group)
                .arg(consumer)
                .arg(min_idle.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(max - out.len());
            let reply = self.query("saf_claim", Access::Write, cmd).await?;
            let entries = list(&reply).get(1).map(stream_entries).unwrap_or_default();
            for message in self.to_messages(shard, entries).await? {
                tracing::info!(
                    journal_id = %message.entry.journal_id,
                    stream_id = %message.id,
                    consumer,
                    "claimed a SAF entry from a stalled consumer"
                );
                out.push(message);
            }
        }
        Ok(out)
    }
}
