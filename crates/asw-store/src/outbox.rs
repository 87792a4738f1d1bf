//! [`EventQueue`] on Redis Streams: the merchants' events the commit script appends to each
//! shard's `outbox` stream, read by the consumer group `webhooks`, with the same delayed-retry
//! zset, dead-letter stream and one-step scripts as the SAF queue.

use std::time::Duration;

use asw_core::outbox::{EventQueue, OutboxStats, QueuedEvent};
use asw_core::ports::StoreError;
use asw_core::record::MerchantEvent;
use async_trait::async_trait;
use redis::Value;

use crate::queue::DelayedMember;
use crate::scripts;
use crate::store::{Access, Call, RedisStore};
use crate::values::{StreamEntry, int, list, stream_entries, text, xread_entries};

/// The consumer group of the webhook delivery workers.
pub const OUTBOX_GROUP: &str = "webhooks";

/// A queued event's place: `<shard>/<stream id>`.
fn qualified(shard: u32, id: &str) -> String {
    format!("{shard}/{id}")
}

fn split(qualified: &str) -> Result<(u32, &str), StoreError> {
    let (shard, id) = qualified
        .split_once('/')
        .ok_or_else(|| StoreError::Corrupt(format!("outbox id {qualified:?}")))?;
    let shard = shard
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("outbox id {qualified:?}")))?;
    Ok((shard, id))
}

impl RedisStore {
    async fn outbox_group(&self, shard: u32) -> Result<(), StoreError> {
        self.create_group(self.layout().outbox(shard), OUTBOX_GROUP.to_string())
            .await
    }

    async fn outbox_events(
        &self,
        shard: u32,
        entries: Vec<StreamEntry>,
    ) -> Result<Vec<QueuedEvent>, StoreError> {
        let mut out = Vec::with_capacity(entries.len());
        for raw in entries {
            let Some(json) = raw.field("e") else {
                self.outbox_ack_raw(shard, &raw.id).await?;
                continue;
            };
            let attempts = raw.field("a").and_then(|a| a.parse().ok()).unwrap_or(0);
            match serde_json::from_str::<MerchantEvent>(json) {
                Ok(event) => out.push(QueuedEvent {
                    id: qualified(shard, &raw.id),
                    event,
                    attempts,
                }),
                Err(e) => {
                    tracing::error!(stream_id = %raw.id, "unreadable merchant event dead-lettered: {e}");
                    self.outbox_dead_raw(shard, &raw.id, json, attempts, "unreadable event")
                        .await?;
                }
            }
        }
        Ok(out)
    }

    async fn outbox_read(
        &self,
        shard: u32,
        consumer: &str,
        max: usize,
        from: &str,
    ) -> Result<Vec<QueuedEvent>, StoreError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(OUTBOX_GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(max.max(1))
            .arg("STREAMS")
            .arg(self.layout().outbox(shard))
            .arg(from);
        let reply = match self.query("outbox_read", Access::Read, cmd).await {
            Ok(reply) => reply,
            Err(StoreError::Unavailable(e)) if e.contains("NOGROUP") => {
                self.outbox_group(shard).await?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        self.outbox_events(shard, xread_entries(&reply)).await
    }

    async fn outbox_ack_raw(&self, shard: u32, id: &str) -> Result<(), StoreError> {
        let call = Call {
            script: &scripts::ACK,
            keys: vec![self.layout().outbox(shard)],
            args: vec![OUTBOX_GROUP.to_string(), id.to_string()],
        };
        self.eval("outbox_ack", Access::Write, false, call).await?;
        Ok(())
    }

    async fn outbox_dead_raw(
        &self,
        shard: u32,
        id: &str,
        json: &str,
        attempts: u32,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = asw_core::ports::Clock::now_ms(&asw_core::ports::SystemClock);
        let call = Call {
            script: &scripts::DEAD_LETTER,
            keys: vec![
                self.layout().outbox(shard),
                self.layout().outbox_dead(shard),
            ],
            args: vec![
                OUTBOX_GROUP.to_string(),
                id.to_string(),
                json.to_string(),
                attempts.to_string(),
                reason.to_string(),
                now.to_string(),
                id.to_string(),
            ],
        };
        self.eval("outbox_dead_letter", Access::Write, true, call)
            .await?;
        Ok(())
    }

    /// Events waiting (queued and scheduled), oldest first, for `antom-switch events list`.
    pub async fn list_outbox(
        &self,
        max: usize,
    ) -> Result<Vec<(String, MerchantEvent, u32)>, StoreError> {
        let mut out = Vec::new();
        for shard in 0..self.layout().shards() {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(self.layout().outbox(shard))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(max);
            let reply = self.query("outbox_list", Access::Read, cmd).await?;
            for raw in stream_entries(&reply) {
                if let Some(event) = raw.field("e").and_then(|e| serde_json::from_str(e).ok()) {
                    let attempts = raw.field("a").and_then(|a| a.parse().ok()).unwrap_or(0);
                    out.push((qualified(shard, &raw.id), event, attempts));
                }
            }
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(self.layout().outbox_delayed(shard)).arg(0).arg(max);
            let reply = self.query("outbox_list", Access::Read, cmd).await?;
            for member in list(&reply) {
                let Some(m) =
                    text(member).and_then(|m| serde_json::from_str::<DelayedMember>(&m).ok())
                else {
                    continue;
                };
                if let Ok(event) = serde_json::from_str(&m.e) {
                    out.push((
                        format!("{shard}/retry:{}", m.id),
                        event,
                        m.a.parse().unwrap_or(0),
                    ));
                }
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// Events given up on, oldest first, with the reason, for `antom-switch events dead`.
    pub async fn list_outbox_dead(
        &self,
        max: usize,
    ) -> Result<Vec<(String, MerchantEvent, String)>, StoreError> {
        let mut out = Vec::new();
        for shard in 0..self.layout().shards() {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(self.layout().outbox_dead(shard))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(max);
            let reply = self.query("outbox_dead_list", Access::Read, cmd).await?;
            for raw in stream_entries(&reply) {
                if let Some(event) = raw.field("e").and_then(|e| serde_json::from_str(e).ok()) {
                    let reason = raw.field("reason").unwrap_or_default().to_string();
                    out.push((qualified(shard, &raw.id), event, reason));
                }
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// Puts one dead event (`<shard>/<id>`) back into its queue with its attempts reset; false
    /// when there is none by that id.
    pub async fn replay_outbox_dead(&self, qualified_id: &str) -> Result<bool, StoreError> {
        let (shard, id) = split(qualified_id)?;
        let call = Call {
            script: &scripts::REPLAY_DEAD,
            keys: vec![
                self.layout().outbox_dead(shard),
                self.layout().outbox(shard),
            ],
            args: vec![id.to_string()],
        };
        let reply = self
            .eval("outbox_replay", Access::Write, true, call)
            .await?;
        Ok(int(&reply) == Some(1))
    }
}

#[async_trait]
impl EventQueue for RedisStore {
    async fn fetch(&self, consumer: &str, max: usize) -> Result<Vec<QueuedEvent>, StoreError> {
        let mut out = Vec::new();
        // Own unacknowledged events first (what this consumer held when it stopped).
        for from in ["0", ">"] {
            for shard in 0..self.layout().shards() {
                if out.len() >= max {
                    return Ok(out);
                }
                out.extend(
                    self.outbox_read(shard, consumer, max - out.len(), from)
                        .await?,
                );
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
        Ok(out)
    }

    async fn claim_stale(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedEvent>, StoreError> {
        let mut out = Vec::new();
        for shard in 0..self.layout().shards() {
            if out.len() >= max {
                break;
            }
            let mut cmd = redis::cmd("XAUTOCLAIM");
            cmd.arg(self.layout().outbox(shard))
                .arg(OUTBOX_GROUP)
                .arg(consumer)
                .arg(u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX))
                .arg("0-0")
                .arg("COUNT")
                .arg(max - out.len());
            let reply = match self.query("outbox_claim", Access::Write, cmd).await {
                Ok(reply) => reply,
                Err(StoreError::Unavailable(e)) if e.contains("NOGROUP") => {
                    self.outbox_group(shard).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let entries = list(&reply).get(1).map(stream_entries).unwrap_or_default();
            out.extend(self.outbox_events(shard, entries).await?);
        }
        Ok(out)
    }

    async fn ack(&self, event: &QueuedEvent) -> Result<(), StoreError> {
        let (shard, id) = split(&event.id)?;
        self.outbox_ack_raw(shard, id).await
    }

    async fn retry_at(
        &self,
        event: &QueuedEvent,
        at_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let (shard, id) = split(&event.id)?;
        let member = DelayedMember {
            e: crate::journal::to_json(&event.event, "merchant event")?,
            a: event.attempts.saturating_add(1).to_string(),
            err: error.chars().take(200).collect(),
            id: id.to_string(),
        };
        let call = Call {
            script: &scripts::RETRY_AT,
            keys: vec![
                self.layout().outbox(shard),
                self.layout().outbox_delayed(shard),
            ],
            args: vec![
                OUTBOX_GROUP.to_string(),
                id.to_string(),
                at_ms.to_string(),
                crate::journal::to_json(&member, "delayed event")?,
            ],
        };
        self.eval("outbox_retry", Access::Write, true, call).await?;
        Ok(())
    }

    async fn promote_due(&self, now_ms: i64, max: usize) -> Result<usize, StoreError> {
        let mut moved = 0usize;
        for shard in 0..self.layout().shards() {
            let call = Call {
                script: &scripts::PROMOTE_DUE,
                keys: vec![
                    self.layout().outbox_delayed(shard),
                    self.layout().outbox(shard),
                    self.layout().outbox_dead(shard),
                ],
                args: vec![now_ms.to_string(), max.to_string(), now_ms.to_string()],
            };
            let reply = self
                .eval("outbox_promote", Access::Write, true, call)
                .await?;
            moved += usize::try_from(int(&reply).unwrap_or(0)).unwrap_or(0);
        }
        Ok(moved)
    }

    async fn dead_letter(&self, event: &QueuedEvent, reason: &str) -> Result<(), StoreError> {
        let (shard, id) = split(&event.id)?;
        let json = crate::journal::to_json(&event.event, "merchant event")?;
        self.outbox_dead_raw(shard, id, &json, event.attempts, reason)
            .await?;
        tracing::warn!(event_id = %event.event.id, kind = %event.event.kind, reason, "merchant event dead-lettered");
        Ok(())
    }

    async fn stats(&self, now_ms: i64) -> Result<OutboxStats, StoreError> {
        let mut stats = OutboxStats::default();
        let mut oldest: Option<i64> = None;
        for shard in 0..self.layout().shards() {
            let mut pipe = redis::pipe();
            pipe.cmd("XLEN").arg(self.layout().outbox(shard));
            pipe.cmd("ZCARD").arg(self.layout().outbox_delayed(shard));
            pipe.cmd("XLEN").arg(self.layout().outbox_dead(shard));
            pipe.cmd("XRANGE")
                .arg(self.layout().outbox(shard))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(1);
            pipe.cmd("ZRANGE")
                .arg(self.layout().outbox_delayed(shard))
                .arg(0)
                .arg(99);
            let mut conn = self.inner_conn();
            let reply: Vec<Value> = self
                .timed("outbox_stats", Access::Read, async move {
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
                consider(
                    first
                        .field("e")
                        .and_then(|e| serde_json::from_str::<MerchantEvent>(e).ok())
                        .map(|e| e.created_at_ms),
                );
            }
            for member in reply.get(4).map(list).unwrap_or(&[]) {
                consider(
                    text(member)
                        .and_then(|m| serde_json::from_str::<DelayedMember>(&m).ok())
                        .and_then(|m| serde_json::from_str::<MerchantEvent>(&m.e).ok())
                        .map(|e| e.created_at_ms),
                );
            }
        }
        if stats.depth > 0 {
            stats.oldest_age_ms = oldest.map(|o| now_ms.saturating_sub(o).max(0));
        }
        Ok(stats)
    }
}
