//! What a test can see of a [`super::MemoryStore`]: plain copies, detached from the store.

use std::collections::BTreeMap;

use asw_core::ports::Tombstone;
use asw_core::record::{SafEntry, TransactionRecord};

/// Where a queued SAF entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueuePlace {
    /// In the stream, never delivered.
    Ready,
    /// Delivered to a consumer, not acknowledged.
    Pending {
        /// The consumer holding it.
        consumer: String,
        /// Milliseconds since its last delivery (by the store's clock).
        idle_ms: u64,
        /// How many times it was delivered.
        deliveries: u64,
    },
    /// Waiting for a retry.
    Delayed {
        /// When it becomes due, ms since the epoch.
        due_at_ms: i64,
    },
}

/// One queued SAF entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedItem {
    /// Stream id (for a delayed entry: the id of the delivery it replaced).
    pub id: String,
    /// Where it is.
    pub place: QueuePlace,
    /// Attempts so far.
    pub attempts: u32,
    /// The error of the last attempt (empty before the first retry).
    pub last_error: String,
    /// The queued work.
    pub entry: SafEntry,
}

/// One dead letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// `"0/<id>"`: the name [`super::MemoryStore::replay_dead`] takes, shaped like the Redis
    /// store's `<shard>/<id>` (the memory store is one shard).
    pub qualified_id: String,
    /// The entry given up on.
    pub entry: SafEntry,
    /// Attempts made.
    pub attempts: u32,
    /// Why it was given up.
    pub reason: String,
    /// When, by the store's clock.
    pub dead_at_ms: i64,
}

/// One line of the audit trail (what the Redis store appends to a transaction's log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditLine {
    /// When (the record's `updated_at_ms`, or `created_at_ms` for `begin`).
    pub at_ms: i64,
    /// Journal id of the transaction (the `paymentRequestId` for a tombstone).
    pub journal_id: String,
    /// State before (empty for a creation).
    pub from: String,
    /// State after (`TOMBSTONE` for a reversal of an unseen original).
    pub to: String,
    /// Event name (`begin`, `succeeded`, `reverse_unseen`, …).
    pub event: String,
    /// Human cause.
    pub cause: String,
    /// Record version after the change (0 for a tombstone).
    pub version: u64,
}

/// Everything the store holds, copied out at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreSnapshot {
    /// Records by journal id.
    pub records: BTreeMap<String, TransactionRecord>,
    /// Duplicate-detection key → journal id.
    pub dedup_keys: BTreeMap<String, String>,
    /// Tombstones by duplicate-detection key.
    pub tombstones: BTreeMap<String, Tombstone>,
    /// Deadline index as `(tag, journal_id, due_ms)`, in the order the sweeper sees it.
    pub deadlines: Vec<(String, String, i64)>,
    /// Queued entries: the stream (ready and pending) in id order, then the delayed retries
    /// in due order.
    pub queue: Vec<QueuedItem>,
    /// Dead letters, oldest first.
    pub dead_letters: Vec<DeadLetter>,
    /// Audit trail of every write, oldest first.
    pub audit: Vec<AuditLine>,
}
