//! Operator functions behind `antom-switch saf list|dead|replay` and `txn show`.

use asw_core::ports::StoreError;
use asw_core::record::{SafEntry, TransactionRecord};
use serde::Serialize;

use crate::journal::AuditEntry;
use crate::queue::DelayedMember;
use crate::scripts;
use crate::store::{Access, Call, RedisStore};
use crate::values::{int, list, stream_entries, text};

/// Where a queued SAF entry currently is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "place", rename_all = "snake_case")]
pub enum QueuePlace {
    /// In the stream, not yet delivered to a consumer.
    Ready,
    /// Delivered to a consumer, not yet acknowledged.
    Pending {
        /// Consumer holding it.
        consumer: String,
        /// Milliseconds since its last delivery.
        idle_ms: u64,
        /// How many times it was delivered.
        deliveries: u64,
    },
    /// Waiting for a retry.
    Delayed {
        /// When it becomes due, ms since the epoch.
        due_at_ms: i64,
        /// The error of the last attempt.
        last_error: String,
    },
}

/// One queued SAF entry, for listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueuedItem {
    /// Shard it lives on.
    pub shard: u32,
    /// Stream id (for delayed entries: the id of the delivery it replaced).
    pub id: String,
    /// Where it is.
    pub place: QueuePlace,
    /// Attempts so far.
    pub attempts: u32,
    /// The entry, when readable.
    pub entry: Option<SafEntry>,
}

/// One dead letter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Shard it lives on.
    pub shard: u32,
    /// Dead-letter stream id; `"<shard>/<id>"` names it for [`RedisStore::replay_dead`].
    pub id: String,
    /// The entry, when readable.
    pub entry: Option<SafEntry>,
    /// The entry text when it was unreadable.
    pub raw: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// Why it was given up.
    pub reason: String,
    /// When, ms since the epoch.
    pub dead_at_ms: i64,
}

impl DeadLetter {
    /// The name operators pass to [`RedisStore::replay_dead`].
    pub fn qualified_id(&self) -> String {
        format!("{}/{}", self.shard, self.id)
    }
}

/// A transaction as `txn show` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxnView {
    /// Where the transaction stands, in words ([`TransactionRecord::outlook`]).
    pub outlook: &'static str,
    /// The record.
    pub record: TransactionRecord,
    /// Its audit trail, oldest first.
    pub audit: Vec<AuditEntry>,
}

impl RedisStore {
    /// Every queued SAF entry (ready, pending and delayed), up to `max` per place and shard.
    pub async fn list_saf(&self, max: usize) -> Result<Vec<QueuedItem>, StoreError> {
        let mut out = Vec::new();
        for shard in 0..self.layout().shards() {
            let mut pending_cmd = redis::cmd("XPENDING");
            pending_cmd
                .arg(self.layout().saf(shard))
                .arg(&self.config().consumer_group)
                .arg("-")
                .arg("+")
                .arg(max);
            let pending = self.query("saf_list", Access::Read, pending_cmd).await?;
            let pending: Vec<(String, QueuePlace)> = list(&pending)
                .iter()
                .filter_map(|p| {
                    let p = list(p);
                    Some((
                        text(p.first()?)?,
                        QueuePlace::Pending {
                            consumer: text(p.get(1)?)?,
                            idle_ms: int(p.get(2)?).and_then(|n| u64::try_from(n).ok())?,
                            deliveries: int(p.get(3)?).and_then(|n| u64::try_from(n).ok())?,
                        },
                    ))
                })
                .collect();
            let mut range = redis::cmd("XRANGE");
            range
                .arg(self.layout().saf(shard))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(max);
            let entries = self.query("saf_list", Access::Read, range).await?;
            for raw in stream_entries(&entries) {
                let place = pending
                    .iter()
                    .find(|(id, _)| *id == raw.id)
                    .map(|(_, p)| p.clone())
                    .unwrap_or(QueuePlace::Ready);
                out.push(QueuedItem {
                    shard,
                    attempts: raw.field("a").and_then(|a| a.parse().ok()).unwrap_or(0),
                    entry: raw.field("e").and_then(|e| serde_json::from_str(e).ok()),
                    id: raw.id,
                    place,
                });
            }
            let mut delayed = redis::cmd("ZRANGE");
            delayed
                .arg(self.layout().saf_delayed(shard))
                .arg(0)
                .arg(max.saturating_sub(1))
                .arg("WITHSCORES");
            let delayed = self.query("saf_list", Access::Read, delayed).await?;
            for pair in list(&delayed).chunks(2) {
                let [member, score] = pair else { continue };
                let Some(member) =
                    text(member).and_then(|m| serde_json::from_str::<DelayedMember>(&m).ok())
                else {
                    continue;
                };
                out.push(QueuedItem {
                    shard,
                    id: member.id,
                    place: QueuePlace::Delayed {
                        due_at_ms: text(score)
                            .and_then(|s| s.parse::<f64>().ok())
                            .map(|s| s as i64)
                            .unwrap_or(0),
                        last_error: member.err,
                    },
                    attempts: member.a.parse().unwrap_or(0),
                    entry: serde_json::from_str(&member.e).ok(),
                });
            }
        }
        Ok(out)
    }

    /// Dead letters, oldest first, up to `max` per shard.
    pub async fn list_dead(&self, max: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let mut out = Vec::new();
        for shard in 0..self.layout().shards() {
            let mut range = redis::cmd("XRANGE");
            range
                .arg(self.layout().saf_dead(shard))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(max);
            let reply = self.query("saf_dead_list", Access::Read, range).await?;
            for raw in stream_entries(&reply) {
                let body = raw.field("e").unwrap_or_default().to_string();
                let entry: Option<SafEntry> = serde_json::from_str(&body).ok();
                out.push(DeadLetter {
                    shard,
                    raw: entry.is_none().then_some(body),
                    entry,
                    attempts: raw.field("a").and_then(|a| a.parse().ok()).unwrap_or(0),
                    reason: raw.field("reason").unwrap_or_default().to_string(),
                    dead_at_ms: raw.field("at").and_then(|a| a.parse().ok()).unwrap_or(0),
                    id: raw.id,
                });
            }
        }
        Ok(out)
    }

    /// Puts one dead letter (`"<shard>/<id>"`, or a bare id on shard 0) back into the queue with
    /// its attempts reset. Returns false when no such dead letter exists.
    pub async fn replay_dead(&self, qualified_id: &str) -> Result<bool, StoreError> {
        let (shard, id) = match qualified_id.split_once('/') {
            Some((shard, id)) => (
                shard.parse::<u32>().map_err(|_| {
                    StoreError::Corrupt(format!("bad dead-letter id {qualified_id}"))
                })?,
                id,
            ),
            None => (0, qualified_id),
        };
        if shard >= self.layout().shards() {
            return Ok(false);
        }
        let call = Call {
            script: &scripts::REPLAY_DEAD,
            keys: vec![self.layout().saf_dead(shard), self.layout().saf(shard)],
            args: vec![id.to_string()],
        };
        let reply = self.eval("saf_replay", Access::Write, true, call).await?;
        let replayed = int(&reply) == Some(1);
        if replayed {
            tracing::info!(dead_letter = %qualified_id, "dead letter replayed into the SAF queue");
        }
        Ok(replayed)
    }

    /// Replays every dead letter; returns how many went back into the queue.
    pub async fn replay_all_dead(&self) -> Result<usize, StoreError> {
        let mut replayed = 0;
        loop {
            let batch = self.list_dead(100).await?;
            if batch.is_empty() {
                return Ok(replayed);
            }
            let mut progressed = false;
            for dead in batch {
                if self.replay_dead(&dead.qualified_id()).await? {
                    replayed += 1;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(replayed);
            }
        }
    }

    /// A transaction and its audit trail by journal id (every shard is searched).
    pub async fn show_txn(&self, journal_id: &str) -> Result<Option<TxnView>, StoreError> {
        for shard in 0..self.layout().shards() {
            if let Some(record) = self.load_on(shard, journal_id).await? {
                let audit = self.audit_of(shard, journal_id).await?;
                return Ok(Some(TxnView {
                    outlook: record.outlook(),
                    record,
                    audit,
                }));
            }
        }
        Ok(None)
    }

    /// A transaction by its terminal key parts: merchant (F42), terminal (F41), local date as
    /// `YYYYMMDD` (F13 with its year) and STAN (F11).
    pub async fn show_txn_by_terminal_key(
        &self,
        merchant_id: &str,
        terminal_id: &str,
        local_date_yyyymmdd: &str,
        stan: &str,
    ) -> Result<Option<TxnView>, StoreError> {
        let dedup_key = format!("{merchant_id}|{terminal_id}|{local_date_yyyymmdd}|{stan}");
        for shard in 0..self.layout().shards() {
            if let Some(journal_id) = self.dedup_owner(shard, &dedup_key).await? {
                return self.show_txn(&journal_id).await;
            }
        }
        Ok(None)
    }

    /// A transaction's audit trail, oldest first: the `l<version>` fields of its record hash
    /// and, for a record begun by an earlier release (or changed by one during a rolling
    /// upgrade), the lines of its `log:` list, in version order.
    async fn audit_of(&self, shard: u32, journal_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let mut cmd = redis::cmd("LRANGE");
        cmd.arg(self.layout().txn_log(shard, journal_id))
            .arg(0)
            .arg(-1);
        let legacy = self.query("txn_audit", Access::Read, cmd).await?;
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(self.layout().txn(shard, journal_id));
        let hash = self.query("txn_audit", Access::Read, cmd).await?;
        let fields = crate::values::pairs(&hash)
            .into_iter()
            .filter(|(field, _)| {
                field
                    .strip_prefix('l')
                    .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(_, line)| line);
        let mut trail: Vec<AuditEntry> = list(&legacy)
            .iter()
            .filter_map(text)
            .chain(fields)
            .filter_map(|line| serde_json::from_str::<AuditEntry>(&line).ok())
            .map(|mut entry| {
                if entry.journal_id.is_empty() {
                    entry.journal_id = journal_id.to_string();
                }
                entry
            })
            .collect();
        // Stable: lines of one version (none today) keep the list's order before the hash's.
        trail.sort_by_key(|entry| entry.version);
        Ok(trail)
    }
}
