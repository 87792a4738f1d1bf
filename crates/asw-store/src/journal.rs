//! [`Journal`] on Redis: every call is one Lua script, so a transition, its queued work, the
//! deadline index and the audit entry are written together or not at all.

use asw_core::ports::{
    BeginOutcome, CommitOutcome, Journal, StoreError, Tombstone, TombstoneOutcome,
};
use asw_core::record::{Change, SafEntry, TransactionRecord};
use asw_core::state::DeadlineWatch;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::keys::{deadline_member, split_deadline_member};
use crate::scripts;
use crate::store::{Access, Call, RedisStore};
use crate::values::{list, tagged, text};

/// One line of a transaction's audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// Journal id of the transaction. Not written into the trail itself (it lives in the
    /// transaction's own record, and the audit stream names it in its `j` field): filled in when
    /// the trail is read.
    #[serde(default)]
    pub journal_id: String,
    /// State before (empty for the creation).
    pub from: String,
    /// State after.
    pub to: String,
    /// Event name (`begin`, `succeeded`, `cancel_confirmed`, …).
    pub event: String,
    /// Human cause.
    pub cause: String,
    /// Record version after the change.
    pub version: u64,
}

/// A line of the trail as it is written: no journal id (see [`AuditEntry::journal_id`]).
#[derive(Serialize)]
struct LogLine<'a> {
    at_ms: i64,
    from: &'a str,
    to: &'a str,
    event: &'a str,
    cause: &'a str,
    version: u64,
}

/// A trail line without `from`: the commit script prepends the state it replaces.
#[derive(Serialize)]
struct AuditTail<'a> {
    at_ms: i64,
    to: &'a str,
    event: &'a str,
    cause: &'a str,
    version: u64,
}

fn audit_tail_json(tail: &AuditTail) -> Result<String, StoreError> {
    let json = to_json(tail, "audit")?;
    json.strip_prefix('{')
        .map(str::to_string)
        .ok_or_else(|| StoreError::Corrupt("audit entry is not an object".into()))
}

/// [`crate::metrics::STATE_TRANSITIONS_TOTAL`]'s handles by event and outcome.
static TRANSITIONS: asw_metrics::HandleCache<metrics::Counter> = asw_metrics::HandleCache::new();

fn count_transition(event: &'static str, outcome: &'static str) {
    TRANSITIONS.with(
        &[event, outcome],
        || metrics::counter!(crate::metrics::STATE_TRANSITIONS_TOTAL, "event" => event, "outcome" => outcome),
        |c| c.increment(1),
    );
}

pub(crate) fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("encode {what}: {e}")))
}

pub(crate) fn parse_record(json: &str) -> Result<TransactionRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("journal record: {e}")))
}

fn record_from(value: Option<&redis::Value>) -> Result<Option<Box<TransactionRecord>>, StoreError> {
    match value.and_then(text) {
        Some(json) => Ok(Some(Box::new(parse_record(&json)?))),
        None => Ok(None),
    }
}

/// The most attempts of one order read back (a guard against a corrupt chain; a merchant
/// retrying one order this often has other problems).
const MAX_ORDER_ATTEMPTS: usize = 1_000;

impl RedisStore {
    fn shard(&self, tag: &str) -> Result<u32, StoreError> {
        self.layout().shard_of(tag)
    }

    fn audit_len(&self) -> String {
        self.config().audit_max_len.to_string()
    }

    /// Loads a record by journal id on a known shard.
    pub(crate) async fn load_on(
        &self,
        shard: u32,
        journal_id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.layout().txn(shard, journal_id)).arg("d");
        let reply = self.query("load", Access::Read, cmd).await?;
        match text(&reply) {
            Some(json) => Ok(Some(parse_record(&json)?)),
            None => Ok(None),
        }
    }

    /// The journal id that holds a duplicate key on a shard.
    pub(crate) async fn dedup_owner(
        &self,
        shard: u32,
        dedup_key: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.layout().dedup(shard, dedup_key));
        let reply = self.query("load_dedup", Access::Read, cmd).await?;
        Ok(text(&reply))
    }
}

#[async_trait]
impl Journal for RedisStore {
    async fn begin(&self, record: &TransactionRecord) -> Result<BeginOutcome, StoreError> {
        let shard = self.shard(&record.tag)?;
        let layout = self.layout();
        let journal_id = record.journal_id().to_string();
        let log = LogLine {
            at_ms: record.created_at_ms,
            from: "",
            to: record.state.as_str(),
            event: "begin",
            cause: "journaled before the upstream call",
            version: record.version,
        };
        let call = Call {
            script: &scripts::BEGIN,
            keys: vec![
                layout.txn(shard, &journal_id),
                layout.dedup(shard, &record.dedup_key),
                layout.tomb(shard, &record.dedup_key),
                layout.deadlines(shard),
                layout.audit(shard),
                // Records without an order lock name their own dedup key here (unused).
                layout.order(
                    shard,
                    record.order_lock().as_deref().unwrap_or(&record.dedup_key),
                ),
                layout.merchant_payments(shard, record.origin.merchant_id.trim_end()),
            ],
            args: vec![
                journal_id.clone(),
                record.version.to_string(),
                to_json(record, "record")?,
                self.renewed_ttl_arg(),
                record.gateway_deadline_ms.to_string(),
                deadline_member(&record.tag, &journal_id),
                self.audit_len(),
                to_json(&log, "audit")?,
                layout.txn_prefix(shard),
                record.state.as_str().to_string(),
                if record.order_lock().is_some() {
                    "1"
                } else {
                    "0"
                }
                .to_string(),
                record.created_at_ms.to_string(),
                record
                    .created_at_ms
                    .saturating_sub(i64::try_from(self.config().retention_ms).unwrap_or(i64::MAX))
                    .to_string(),
                self.ttl_arg(),
            ],
        };
        let reply = self.eval("begin", Access::Write, true, call).await?;
        let (outcome, rest) = tagged(&reply, "begin")?;
        match outcome.as_str() {
            "started" => {
                tracing::info!(journal_id = %journal_id, state = record.state.as_str(), "transaction journaled");
                Ok(BeginOutcome::Started)
            }
            "tombstoned" => Ok(BeginOutcome::Tombstoned),
            "order_taken" => match record_from(rest.first())? {
                Some(live) => Ok(BeginOutcome::OrderTaken(live)),
                None => Err(StoreError::Corrupt(
                    "begin: order taken without record".into(),
                )),
            },
            "existing" => match record_from(rest.first())? {
                Some(existing) => Ok(BeginOutcome::Existing(existing)),
                None => Err(StoreError::Corrupt("begin: existing without record".into())),
            },
            other => Err(StoreError::Corrupt(format!(
                "begin: unexpected reply {other}"
            ))),
        }
    }

    async fn load(
        &self,
        tag: &str,
        journal_id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.load_on(self.shard(tag)?, journal_id).await
    }

    async fn load_confirmed(
        &self,
        tag: &str,
        journal_id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        if self.config().durability == crate::config::Durability::AofAlways {
            // A reply, even to a read, leaves only after the fsync of the writes it can see.
            return self.load(tag, journal_id).await;
        }
        let shard = self.shard(tag)?;
        let call = Call {
            script: &scripts::LOAD_CONFIRMED,
            keys: vec![self.layout().txn(shard, journal_id)],
            // What begin and commit give it: the record never expires before its duplicate key and log.
            args: vec![self.renewed_ttl_arg()],
        };
        let reply = self
            .eval("load_confirmed", Access::Write, true, call)
            .await?;
        match text(&reply) {
            Some(json) => Ok(Some(parse_record(&json)?)),
            None => Ok(None),
        }
    }

    async fn order_attempts(
        &self,
        tag: &str,
        order: &str,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        let shard = self.shard(tag)?;
        // The live attempt, then each one it replaced (`p`), newest first.
        let mut chain: Vec<TransactionRecord> = Vec::new();
        let mut next = {
            let mut cmd = redis::cmd("GET");
            cmd.arg(self.layout().order(shard, order));
            text(&self.query("order_attempts", Access::Read, cmd).await?)
        };
        while let Some(journal_id) = next.take() {
            if chain.len() >= MAX_ORDER_ATTEMPTS
                || chain.iter().any(|r| r.journal_id() == journal_id)
            {
                break;
            }
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(self.layout().txn(shard, &journal_id))
                .arg("d")
                .arg("p");
            let reply = self.query("order_attempts", Access::Read, cmd).await?;
            let fields = list(&reply);
            let Some(json) = fields.first().and_then(text) else {
                // Expired: the chain ends here. An older attempt changed after this one (a
                // late cancel) may outlive it and is then no longer listed; the order's lock
                // never depends on the chain.
                break;
            };
            chain.push(parse_record(&json)?);
            next = fields.get(1).and_then(text);
        }
        // Attempts an earlier release listed (begun by it, before or during a rolling upgrade).
        let mut cmd = redis::cmd("LRANGE");
        cmd.arg(self.layout().order_attempts(shard, order))
            .arg(0)
            .arg(-1);
        let reply = self.query("order_attempts", Access::Read, cmd).await?;
        let mut out = Vec::new();
        for journal_id in list(&reply).iter().filter_map(text) {
            if chain.iter().any(|r| r.journal_id() == journal_id) {
                continue;
            }
            if let Some(record) = self.load_on(shard, &journal_id).await? {
                out.push(record);
            }
        }
        out.extend(chain.into_iter().rev());
        // Oldest first; the two sources meet only across an upgrade.
        out.sort_by_key(|r| r.created_at_ms);
        Ok(out)
    }

    async fn merchant_payments(
        &self,
        merchant_id: &str,
        before: Option<(i64, String)>,
        created_after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        let min = created_after.map_or("-inf".to_string(), |ms| format!("({ms}"));
        let mut candidates: Vec<(i64, String, u32)> = Vec::new();
        for shard in 0..self.layout().shards() {
            let key = self.layout().merchant_payments(shard, merchant_id);
            let (max, ties) = match &before {
                None => ("+inf".to_string(), 0),
                Some((ms, _)) => {
                    // Entries sharing the cursor's millisecond come back too and are sorted
                    // out below; ask for enough to cover them.
                    let mut cmd = redis::cmd("ZCOUNT");
                    cmd.arg(&key).arg(ms).arg(ms);
                    let reply = self.query("merchant_payments", Access::Read, cmd).await?;
                    (ms.to_string(), crate::values::int(&reply).unwrap_or(0))
                }
            };
            let mut cmd = redis::cmd("ZREVRANGEBYSCORE");
            cmd.arg(&key)
                .arg(&max)
                .arg(&min)
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(limit as i64 + ties);
            let reply = self.query("merchant_payments", Access::Read, cmd).await?;
            let items = crate::values::list(&reply);
            for pair in items.chunks(2) {
                let (Some(id), Some(score)) = (
                    pair.first().and_then(crate::values::text),
                    pair.get(1)
                        .and_then(crate::values::text)
                        .and_then(|s| s.parse::<f64>().ok()),
                ) else {
                    continue;
                };
                candidates.push((score as i64, id, shard));
            }
        }
        // Newest first, ties by journal id (descending); strictly after the cursor.
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        if let Some((ms, id)) = &before {
            candidates.retain(|(m, j, _)| (m, j) < (ms, id));
        }
        let mut out = Vec::new();
        for (_, journal_id, shard) in candidates.into_iter().take(limit) {
            if let Some(record) = self.load_on(shard, &journal_id).await? {
                out.push(record);
            }
        }
        Ok(out)
    }

    async fn load_by_dedup_key(
        &self,
        tag: &str,
        dedup_key: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let shard = self.shard(tag)?;
        match self.dedup_owner(shard, dedup_key).await? {
            Some(journal_id) => self.load_on(shard, &journal_id).await,
            None => Ok(None),
        }
    }

    async fn commit(&self, change: &Change) -> Result<CommitOutcome, StoreError> {
        let record = &change.record;
        let shard = self.shard(&record.tag)?;
        let layout = self.layout();
        let journal_id = record.journal_id().to_string();
        if change.record.version != change.expected_version + 1 {
            return Err(StoreError::Corrupt(format!(
                "commit of {journal_id}: version {} does not follow {}",
                change.record.version, change.expected_version
            )));
        }
        let audit = AuditTail {
            at_ms: record.updated_at_ms,
            to: record.state.as_str(),
            event: change.event.name(),
            cause: &change.cause,
            version: record.version,
        };
        let saf_json = match &change.enqueue {
            Some(entry) => to_json(entry, "saf entry")?,
            None => String::new(),
        };
        let mut call = Call {
            script: &scripts::COMMIT,
            keys: vec![
                layout.txn(shard, &journal_id),
                layout.dedup(shard, &record.dedup_key),
                layout.deadlines(shard),
                layout.saf(shard),
                layout.audit(shard),
                // Only records begun by an earlier release have it (their trail's start).
                layout.txn_log(shard, &journal_id),
                layout.outbox(shard),
            ],
            args: vec![
                change.expected_version.to_string(),
                record.version.to_string(),
                to_json(record, "record")?,
                self.ttl_arg(),
                match change.deadline {
                    DeadlineWatch::Keep => "0",
                    DeadlineWatch::Stop => "1",
                    DeadlineWatch::Resume => "2",
                }
                .to_string(),
                deadline_member(&record.tag, &journal_id),
                saf_json,
                journal_id.clone(),
                audit_tail_json(&audit)?,
                self.audit_len(),
                record.state.as_str().to_string(),
                record.gateway_deadline_ms.to_string(),
                match &change.outbox {
                    Some(event) if self.takes_events(&event.merchant_id) => {
                        to_json(event, "merchant event")?
                    }
                    _ => String::new(),
                },
                self.renewed_ttl_arg(),
            ],
        };
        // The front's first answer, kept in the record with the approval it says (or dropped
        // when the approval goes back under the sweeper). The key an earlier release kept it in
        // is named too: an answer there stands, and a drop removes it.
        if change.saved_answer.is_some() || change.forgets_saved_answer() {
            call.keys.push(layout.response(shard, &record.dedup_key));
            call.args.push(
                change
                    .saved_answer
                    .as_ref()
                    .map(|saved| saved.text.clone())
                    .unwrap_or_default(),
            );
        }
        // Every commit waits for the configured durability: besides a queued cancel or a
        // merchant's event, a commit may be what the merchant is about to be told (SUCCESS),
        // and a failover that lost it would let the sweeper cancel a payment reported paid.
        // Under `aof-always` this costs nothing extra (the reply already follows the fsync).
        let reply = self.eval("commit", Access::Write, true, call).await?;
        let (outcome, rest) = tagged(&reply, "commit")?;
        let event = change.event.name();
        match outcome.as_str() {
            "committed" => {
                count_transition(event, "committed");
                tracing::info!(
                    journal_id = %journal_id,
                    to = record.state.as_str(),
                    event,
                    cause = %change.cause,
                    queued = change.enqueue.as_ref().map(|e| e.action.name()).unwrap_or("nothing"),
                    "transition committed"
                );
                Ok(CommitOutcome::Committed)
            }
            "conflict" => {
                count_transition(event, "conflict");
                Ok(CommitOutcome::Conflict(record_from(rest.first())?))
            }
            other => Err(StoreError::Corrupt(format!(
                "commit: unexpected reply {other}"
            ))),
        }
    }

    async fn reverse_unseen(
        &self,
        tombstone: &Tombstone,
        cancel: &SafEntry,
    ) -> Result<TombstoneOutcome, StoreError> {
        let shard = self.shard(&tombstone.tag)?;
        let layout = self.layout();
        let audit = AuditEntry {
            at_ms: tombstone.created_at_ms,
            journal_id: tombstone.payment_request_id.as_str().to_string(),
            from: String::new(),
            to: "TOMBSTONE".to_string(),
            event: "reverse_unseen".to_string(),
            cause: format!("reversal before its original ({})", cancel.reason.as_str()),
            version: 0,
        };
        let call = Call {
            script: &scripts::REVERSE_UNSEEN,
            keys: vec![
                layout.dedup(shard, &tombstone.dedup_key),
                layout.tomb(shard, &tombstone.dedup_key),
                layout.saf(shard),
                layout.audit(shard),
            ],
            args: vec![
                to_json(tombstone, "tombstone")?,
                to_json(cancel, "saf entry")?,
                self.ttl_arg(),
                layout.txn_prefix(shard),
                tombstone.payment_request_id.as_str().to_string(),
                to_json(&audit, "audit")?,
                self.audit_len(),
            ],
        };
        let reply = self
            .eval("reverse_unseen", Access::Write, true, call)
            .await?;
        let (outcome, rest) = tagged(&reply, "reverse_unseen")?;
        match outcome.as_str() {
            "created" => {
                tracing::info!(journal_id = %tombstone.payment_request_id, "tombstone and cancel queued for an unseen original");
                Ok(TombstoneOutcome::Created)
            }
            "already" => Ok(TombstoneOutcome::AlreadyTombstoned),
            "exists" => match record_from(rest.first())? {
                Some(record) => Ok(TombstoneOutcome::RecordExists(record)),
                None => Err(StoreError::Corrupt(
                    "reverse_unseen: exists without record".into(),
                )),
            },
            other => Err(StoreError::Corrupt(format!(
                "reverse_unseen: unexpected reply {other}"
            ))),
        }
    }

    async fn due_for_sweep(
        &self,
        now_ms: i64,
        max: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let layout = self.layout();
        let lease_end = now_ms
            .saturating_add(i64::try_from(self.config().sweep_lease_ms).unwrap_or(i64::MAX / 2));
        let mut due = Vec::new();
        for shard in 0..layout.shards() {
            if due.len() >= max {
                break;
            }
            let call = Call {
                script: &scripts::DUE_FOR_SWEEP,
                keys: vec![layout.deadlines(shard)],
                args: vec![
                    now_ms.to_string(),
                    (max - due.len()).to_string(),
                    lease_end.to_string(),
                    layout.txn_prefix(shard),
                ],
            };
            let reply = self
                .eval("due_for_sweep", Access::Write, false, call)
                .await?;
            due.extend(
                list(&reply)
                    .iter()
                    .filter_map(text)
                    .filter_map(|m| split_deadline_member(&m)),
            );
        }
        Ok(due)
    }
}
