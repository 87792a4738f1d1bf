//! The data of a [`super::MemoryStore`] and every operation on it, each one a plain function on
//! the state under one lock: the in-memory counterpart of one Redis Lua script, so it is atomic
//! the same way. Comments name the script or command each step mirrors.

use std::collections::BTreeMap;

use asw_core::ports::{BeginOutcome, CommitOutcome, StoreError, Tombstone, TombstoneOutcome};
use asw_core::record::{Change, SafEntry, TransactionRecord};
use asw_core::saf::{SafMessage, SafStats};
use asw_core::state::DeadlineWatch;

use super::ids::StreamId;
use super::view::{AuditLine, DeadLetter, QueuePlace, QueuedItem, StoreSnapshot};

/// A stream entry's body (`e`, `a`, `err` fields).
#[derive(Clone, Debug)]
struct Body {
    entry: SafEntry,
    attempts: u32,
    last_error: String,
}

/// A consumer-group pending entry (XPENDING row).
#[derive(Clone, Debug)]
struct Pending {
    consumer: String,
    delivered_at_ms: i64,
    deliveries: u64,
}

/// A retry waiting in the delayed zset.
#[derive(Clone, Debug)]
struct Delayed {
    due_at_ms: i64,
    /// Insertion order: breaks ties between equal due times (Redis orders them by member bytes).
    order: u64,
    body: Body,
    /// Stream id of the delivery it replaces.
    id: String,
}

/// A dead letter (`e`, `a`, `reason`, `at`).
#[derive(Clone, Debug)]
struct Dead {
    entry: SafEntry,
    attempts: u32,
    reason: String,
    dead_at_ms: i64,
}

/// Everything a Redis shard holds for the switch, as plain collections.
#[derive(Debug, Default)]
pub(crate) struct State {
    records: BTreeMap<String, TransactionRecord>,
    dedup: BTreeMap<String, String>,
    tombstones: BTreeMap<String, Tombstone>,
    /// `tag:journal_id` → due ms.
    deadlines: BTreeMap<String, i64>,
    stream: BTreeMap<StreamId, Body>,
    pending: BTreeMap<StreamId, Pending>,
    /// The group's last delivered id: `>` reads only what comes after it.
    last_delivered: StreamId,
    delayed: Vec<Delayed>,
    delayed_order: u64,
    dead: BTreeMap<StreamId, Dead>,
    last_id: StreamId,
    audit: Vec<AuditLine>,
    /// A merchant order's live attempt (`order:` keys of the Redis store).
    orders: BTreeMap<String, String>,
    /// Every attempt of a merchant order, oldest first.
    order_attempts: BTreeMap<String, Vec<String>>,
    /// Merchants' events the commits wrote, oldest first (the Redis outbox stream).
    pub(crate) outbox: Vec<asw_core::record::MerchantEvent>,
}

/// The Redis store's shard check: a tag that is not hexadecimal names no shard.
pub(crate) fn check_tag(tag: &str) -> Result<(), StoreError> {
    u32::from_str_radix(tag, 16)
        .map(|_| ())
        .map_err(|_| StoreError::Corrupt(format!("journal tag {tag:?} is not hexadecimal")))
}

fn member(tag: &str, journal_id: &str) -> String {
    format!("{tag}:{journal_id}")
}

impl State {
    fn new_id(&mut self, now_ms: i64) -> StreamId {
        self.last_id = self.last_id.next(now_ms);
        self.last_id
    }

    /// XADD to the SAF stream.
    fn xadd(&mut self, now_ms: i64, body: Body) -> StreamId {
        let id = self.new_id(now_ms);
        self.stream.insert(id, body);
        id
    }

    /// XACK + XDEL of one id; true when it was pending (what XACK returns).
    fn ack_and_delete(&mut self, id: &str) -> bool {
        let Some(id) = StreamId::parse(id) else {
            return false;
        };
        let acked = self.pending.remove(&id).is_some();
        self.stream.remove(&id);
        acked
    }

    fn audit(&mut self, line: AuditLine) {
        self.audit.push(line);
    }

    // -----------------------------------------------------------------------------------------
    // Journal

    /// `scripts::BEGIN`.
    pub(crate) fn merchant_payments(
        &self,
        merchant_id: &str,
        before: Option<&(i64, String)>,
        created_after: Option<i64>,
        limit: usize,
    ) -> Vec<TransactionRecord> {
        let mut found: Vec<&TransactionRecord> = self
            .records
            .values()
            .filter(|r| r.order_lock().is_some() && r.origin.merchant_id == merchant_id)
            .filter(|r| created_after.is_none_or(|after| r.created_at_ms > after))
            .filter(|r| {
                before.is_none_or(|(ms, id)| (r.created_at_ms, r.journal_id()) < (*ms, id.as_str()))
            })
            .collect();
        found.sort_by(|a, b| {
            b.created_at_ms
                .cmp(&a.created_at_ms)
                .then_with(|| b.journal_id().cmp(a.journal_id()))
        });
        found.into_iter().take(limit).cloned().collect()
    }

    pub(crate) fn order_attempts(&self, order: &str) -> Vec<TransactionRecord> {
        self.order_attempts
            .get(order)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.records.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn begin(&mut self, record: &TransactionRecord) -> BeginOutcome {
        if let Some(existing) = self
            .dedup
            .get(&record.dedup_key)
            .and_then(|owner| self.records.get(owner))
        {
            return BeginOutcome::Existing(Box::new(existing.clone()));
        }
        if self.tombstones.contains_key(&record.dedup_key) {
            return BeginOutcome::Tombstoned;
        }
        let journal_id = record.journal_id().to_string();
        if let Some(mine) = self.records.get(&journal_id) {
            return BeginOutcome::Existing(Box::new(mine.clone()));
        }
        if let Some(order) = record.order_lock() {
            if let Some(live) = self
                .orders
                .get(&order)
                .and_then(|jid| self.records.get(jid))
                .filter(|live| live.holds_its_order())
            {
                return BeginOutcome::OrderTaken(Box::new(live.clone()));
            }
            self.order_attempts
                .entry(order.clone())
                .or_default()
                .push(journal_id.clone());
            self.orders.insert(order, journal_id.clone());
        }
        self.records.insert(journal_id.clone(), record.clone());
        self.dedup
            .insert(record.dedup_key.clone(), journal_id.clone());
        self.deadlines
            .insert(member(&record.tag, &journal_id), record.gateway_deadline_ms);
        self.audit(AuditLine {
            at_ms: record.created_at_ms,
            journal_id,
            from: String::new(),
            to: record.state.as_str().to_string(),
            event: "begin".to_string(),
            cause: "journaled before the upstream call".to_string(),
            version: record.version,
        });
        BeginOutcome::Started
    }

    /// HGET of a record.
    pub(crate) fn load(&self, journal_id: &str) -> Option<TransactionRecord> {
        self.records.get(journal_id).cloned()
    }

    /// GET of the duplicate key, then HGET of its record.
    pub(crate) fn load_by_dedup_key(&self, dedup_key: &str) -> Option<TransactionRecord> {
        self.dedup
            .get(dedup_key)
            .and_then(|owner| self.records.get(owner))
            .cloned()
    }

    /// `scripts::COMMIT` (the version-step check is done by the caller, before the script, as
    /// the Redis store does).
    pub(crate) fn commit(&mut self, change: &Change, now_ms: i64) -> CommitOutcome {
        let record = &change.record;
        let journal_id = record.journal_id().to_string();
        let Some(current) = self.records.get(&journal_id) else {
            return CommitOutcome::Conflict(None);
        };
        if current.version != change.expected_version {
            return CommitOutcome::Conflict(Some(Box::new(current.clone())));
        }
        let from = current.state.as_str().to_string();
        self.records.insert(journal_id.clone(), record.clone());
        let key = member(&record.tag, &journal_id);
        match change.deadline {
            DeadlineWatch::Keep => {}
            DeadlineWatch::Stop => {
                self.deadlines.remove(&key);
            }
            // ZADD: back in the index (or re-scored) at the record's gateway deadline, which
            // also ends a sweeper's lease on it.
            DeadlineWatch::Resume => {
                self.deadlines.insert(key, record.gateway_deadline_ms);
            }
        }
        if let Some(event) = &change.outbox {
            self.outbox.push(event.clone());
        }
        if let Some(entry) = &change.enqueue {
            self.xadd(
                now_ms,
                Body {
                    entry: entry.clone(),
                    attempts: 0,
                    last_error: String::new(),
                },
            );
        }
        self.audit(AuditLine {
            at_ms: record.updated_at_ms,
            journal_id,
            from,
            to: record.state.as_str().to_string(),
            event: change.event.name().to_string(),
            cause: change.cause.clone(),
            version: record.version,
        });
        CommitOutcome::Committed
    }

    /// `scripts::REVERSE_UNSEEN`.
    pub(crate) fn reverse_unseen(
        &mut self,
        tombstone: &Tombstone,
        cancel: &SafEntry,
        now_ms: i64,
    ) -> TombstoneOutcome {
        if let Some(existing) = self.load_by_dedup_key(&tombstone.dedup_key) {
            return TombstoneOutcome::RecordExists(Box::new(existing));
        }
        if self.tombstones.contains_key(&tombstone.dedup_key) {
            return TombstoneOutcome::AlreadyTombstoned;
        }
        self.tombstones
            .insert(tombstone.dedup_key.clone(), tombstone.clone());
        self.xadd(
            now_ms,
            Body {
                entry: cancel.clone(),
                attempts: 0,
                last_error: String::new(),
            },
        );
        self.audit(AuditLine {
            at_ms: tombstone.created_at_ms,
            journal_id: tombstone.payment_request_id.as_str().to_string(),
            from: String::new(),
            to: "TOMBSTONE".to_string(),
            event: "reverse_unseen".to_string(),
            cause: format!("reversal before its original ({})", cancel.reason.as_str()),
            version: 0,
        });
        TombstoneOutcome::Created
    }

    /// The deadline index in ZRANGEBYSCORE order: by due time, then by member bytes.
    fn deadlines_in_order(&self) -> Vec<(String, i64)> {
        let mut all: Vec<(String, i64)> = self
            .deadlines
            .iter()
            .map(|(m, s)| (m.clone(), *s))
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        all
    }

    /// `scripts::DUE_FOR_SWEEP`: the first `max` due members are looked at; those whose record
    /// is gone leave the index (and still count towards `max`), the others are leased.
    pub(crate) fn due_for_sweep(
        &mut self,
        now_ms: i64,
        max: usize,
        lease_end_ms: i64,
    ) -> Vec<(String, String)> {
        let due: Vec<String> = self
            .deadlines_in_order()
            .into_iter()
            .filter(|(_, score)| *score <= now_ms)
            .take(max)
            .map(|(m, _)| m)
            .collect();
        let mut out = Vec::new();
        for m in due {
            let (tag, journal_id) = match m.split_once(':') {
                Some((tag, id)) => (tag.to_string(), id.to_string()),
                None => (String::new(), m.clone()),
            };
            if self.records.contains_key(&journal_id) {
                self.deadlines.insert(m, lease_end_ms);
                out.push((tag, journal_id));
            } else {
                self.deadlines.remove(&m);
            }
        }
        out
    }

    /// Drops a record as its TTL would (the duplicate key and deadline entry stay, as in Redis
    /// where each key expires on its own).
    pub(crate) fn expire_record(&mut self, journal_id: &str) -> bool {
        self.records.remove(journal_id).is_some()
    }

    // -----------------------------------------------------------------------------------------
    // SAF queue

    fn message(&self, id: StreamId) -> Option<SafMessage> {
        self.stream.get(&id).map(|body| SafMessage {
            id: id.to_string(),
            entry: body.entry.clone(),
            attempts: body.attempts,
        })
    }

    /// XREADGROUP … `0`: the consumer's own pending entries; each read counts as a new
    /// delivery (Redis resets its idle time and bumps its delivery count).
    pub(crate) fn read_own_pending(
        &mut self,
        consumer: &str,
        count: usize,
        now_ms: i64,
    ) -> Vec<SafMessage> {
        let ids: Vec<StreamId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.consumer == consumer)
            .map(|(id, _)| *id)
            .take(count)
            .collect();
        self.deliver(ids, consumer, now_ms)
    }

    /// XREADGROUP … `>`: entries never delivered to the group.
    pub(crate) fn read_new(
        &mut self,
        consumer: &str,
        count: usize,
        now_ms: i64,
    ) -> Vec<SafMessage> {
        let after = self.last_delivered;
        let ids: Vec<StreamId> = self
            .stream
            .range(after..)
            .map(|(id, _)| *id)
            .filter(|id| *id > after)
            .take(count)
            .collect();
        if let Some(last) = ids.last() {
            self.last_delivered = *last;
        }
        self.deliver(ids, consumer, now_ms)
    }

    fn deliver(&mut self, ids: Vec<StreamId>, consumer: &str, now_ms: i64) -> Vec<SafMessage> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let pending = self.pending.entry(id).or_insert(Pending {
                consumer: consumer.to_string(),
                delivered_at_ms: now_ms,
                deliveries: 0,
            });
            pending.consumer = consumer.to_string();
            pending.delivered_at_ms = now_ms;
            pending.deliveries += 1;
            if let Some(message) = self.message(id) {
                out.push(message);
            }
        }
        out
    }

    /// True when `>` would return something.
    pub(crate) fn has_new(&self) -> bool {
        self.stream
            .keys()
            .next_back()
            .is_some_and(|id| *id > self.last_delivered)
    }

    /// XAUTOCLAIM from `0-0`: pending entries idle for at least `min_idle_ms`, any holder.
    pub(crate) fn claim_stale(
        &mut self,
        consumer: &str,
        min_idle_ms: i64,
        max: usize,
        now_ms: i64,
    ) -> Vec<SafMessage> {
        let ids: Vec<StreamId> = self
            .pending
            .iter()
            .filter(|(_, p)| now_ms.saturating_sub(p.delivered_at_ms) >= min_idle_ms)
            .map(|(id, _)| *id)
            .take(max)
            .collect();
        self.deliver(ids, consumer, now_ms)
    }

    /// XCLAIM `<consumer>` 0 `<id>` IDLE `<idle>` JUSTID: ownership to `consumer`, delivery
    /// time moved `idle_ms` back, delivery count untouched; ids not pending are ignored.
    pub(crate) fn release(&mut self, consumer: &str, id: &str, idle_ms: i64, now_ms: i64) {
        let Some(id) = StreamId::parse(id) else {
            return;
        };
        if let Some(pending) = self.pending.get_mut(&id) {
            pending.consumer = consumer.to_string();
            pending.delivered_at_ms = now_ms.saturating_sub(idle_ms);
        }
    }

    /// `scripts::ACK`.
    pub(crate) fn ack(&mut self, id: &str) {
        self.ack_and_delete(id);
    }

    /// `scripts::RETRY_AT`: scheduled only if this delivery was still pending; the stream entry
    /// is deleted either way.
    pub(crate) fn retry_at(&mut self, message: &SafMessage, at_ms: i64, last_error: &str) {
        if self.ack_and_delete(&message.id) {
            self.delayed_order += 1;
            self.delayed.push(Delayed {
                due_at_ms: at_ms,
                order: self.delayed_order,
                body: Body {
                    entry: message.entry.clone(),
                    attempts: message.attempts.saturating_add(1),
                    // The Redis store keeps the first 200 characters.
                    last_error: last_error.chars().take(200).collect(),
                },
                id: message.id.clone(),
            });
        }
    }

    fn delayed_in_order(&self) -> Vec<Delayed> {
        let mut all = self.delayed.clone();
        all.sort_by_key(|d| (d.due_at_ms, d.order));
        all
    }

    /// `scripts::PROMOTE_DUE`: due retries back into the stream, attempts and error kept.
    pub(crate) fn promote_due(&mut self, now_ms: i64, max: usize, id_ms: i64) -> usize {
        let due: Vec<Delayed> = self
            .delayed_in_order()
            .into_iter()
            .filter(|d| d.due_at_ms <= now_ms)
            .take(max)
            .collect();
        for item in &due {
            self.delayed.retain(|d| d.order != item.order);
            self.xadd(id_ms, item.body.clone());
        }
        due.len()
    }

    /// `scripts::DEAD_LETTER`: dead-lettered only if this delivery was still pending.
    pub(crate) fn dead_letter(&mut self, message: &SafMessage, reason: &str, now_ms: i64) {
        if self.ack_and_delete(&message.id) {
            let id = self.new_id(now_ms);
            self.dead.insert(
                id,
                Dead {
                    entry: message.entry.clone(),
                    attempts: message.attempts,
                    reason: reason.to_string(),
                    dead_at_ms: now_ms,
                },
            );
        }
    }

    /// `scripts::REPLAY_DEAD`: back into the stream with attempts reset; false when unknown.
    pub(crate) fn replay_dead(&mut self, qualified_id: &str, now_ms: i64) -> bool {
        let id = match qualified_id.split_once('/') {
            Some(("0", id)) => id,
            Some(_) => return false,
            None => qualified_id,
        };
        let Some(dead) = StreamId::parse(id).and_then(|id| self.dead.remove(&id)) else {
            return false;
        };
        self.xadd(
            now_ms,
            Body {
                entry: dead.entry,
                attempts: 0,
                last_error: String::new(),
            },
        );
        true
    }

    /// The Redis store's `stats`: depth = stream length + delayed count; the oldest age looks
    /// at the first stream entry (by id, not the minimum) and the first 100 delayed retries.
    pub(crate) fn stats(&self, now_ms: i64) -> SafStats {
        let depth = (self.stream.len() + self.delayed.len()) as u64;
        let first = self.stream.values().next().map(|b| b.entry.enqueued_at_ms);
        let delayed = self
            .delayed_in_order()
            .into_iter()
            .take(100)
            .map(|d| d.body.entry.enqueued_at_ms);
        let oldest = first.into_iter().chain(delayed).min();
        SafStats {
            depth,
            oldest_age_ms: match oldest {
                Some(oldest) if depth > 0 => {
                    u64::try_from(now_ms.saturating_sub(oldest)).unwrap_or(0)
                }
                _ => 0,
            },
            dead_letters: self.dead.len() as u64,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Inspection

    pub(crate) fn dead_letters(&self) -> Vec<DeadLetter> {
        self.dead
            .iter()
            .map(|(id, d)| DeadLetter {
                qualified_id: format!("0/{id}"),
                entry: d.entry.clone(),
                attempts: d.attempts,
                reason: d.reason.clone(),
                dead_at_ms: d.dead_at_ms,
            })
            .collect()
    }

    pub(crate) fn snapshot(&self, now_ms: i64) -> StoreSnapshot {
        let mut queue: Vec<QueuedItem> = self
            .stream
            .iter()
            .map(|(id, body)| QueuedItem {
                id: id.to_string(),
                place: match self.pending.get(id) {
                    Some(p) => QueuePlace::Pending {
                        consumer: p.consumer.clone(),
                        idle_ms: u64::try_from(now_ms.saturating_sub(p.delivered_at_ms))
                            .unwrap_or(0),
                        deliveries: p.deliveries,
                    },
                    None => QueuePlace::Ready,
                },
                attempts: body.attempts,
                last_error: body.last_error.clone(),
                entry: body.entry.clone(),
            })
            .collect();
        queue.extend(self.delayed_in_order().into_iter().map(|d| QueuedItem {
            id: d.id,
            place: QueuePlace::Delayed {
                due_at_ms: d.due_at_ms,
            },
            attempts: d.body.attempts,
            last_error: d.body.last_error,
            entry: d.body.entry,
        }));
        StoreSnapshot {
            records: self.records.clone(),
            dedup_keys: self.dedup.clone(),
            tombstones: self.tombstones.clone(),
            deadlines: self
                .deadlines_in_order()
                .into_iter()
                .map(|(m, score)| match m.split_once(':') {
                    Some((tag, id)) => (tag.to_string(), id.to_string(), score),
                    None => (String::new(), m, score),
                })
                .collect(),
            queue,
            dead_letters: self.dead_letters(),
            audit: self.audit.clone(),
        }
    }
}
