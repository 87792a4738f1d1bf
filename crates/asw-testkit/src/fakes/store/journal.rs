//! [`Journal`] for [`MemoryStore`]: the Redis store's checks first (tag, version step), then
//! one atomic step on the state.

use asw_core::ports::{
    BeginOutcome, CommitOutcome, Journal, StoreError, Tombstone, TombstoneOutcome,
};
use asw_core::record::{Change, SafEntry, TransactionRecord};
use async_trait::async_trait;

use super::state::check_tag;
use super::{MemoryStore, StoreOp};

#[async_trait]
impl Journal for MemoryStore {
    async fn begin(&self, record: &TransactionRecord) -> Result<BeginOutcome, StoreError> {
        check_tag(&record.tag)?;
        self.step(StoreOp::Begin, |state, _| Ok(state.begin(record)))
    }

    async fn load(
        &self,
        tag: &str,
        journal_id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        check_tag(tag)?;
        self.step(StoreOp::Load, |state, _| Ok(state.load(journal_id)))
    }

    async fn load_by_dedup_key(
        &self,
        tag: &str,
        dedup_key: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        check_tag(tag)?;
        self.step(StoreOp::LoadByDedupKey, |state, _| {
            Ok(state.load_by_dedup_key(dedup_key))
        })
    }

    async fn order_attempts(
        &self,
        tag: &str,
        order: &str,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        check_tag(tag)?;
        self.step(StoreOp::LoadByDedupKey, |state, _| {
            Ok(state.order_attempts(order))
        })
    }

    async fn merchant_payments(
        &self,
        merchant_id: &str,
        before: Option<(i64, String)>,
        created_after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        self.step(StoreOp::LoadByDedupKey, |state, _| {
            Ok(state.merchant_payments(merchant_id, before.as_ref(), created_after, limit))
        })
    }

    async fn commit(&self, change: &Change) -> Result<CommitOutcome, StoreError> {
        check_tag(&change.record.tag)?;
        // The Redis store refuses a change whose version does not step by one before sending
        // anything: such a change is a bug in the caller, not a race.
        if change.record.version != change.expected_version + 1 {
            return Err(StoreError::Corrupt(format!(
                "commit of {}: version {} does not follow {}",
                change.record.journal_id(),
                change.record.version,
                change.expected_version
            )));
        }
        self.step(StoreOp::Commit, |state, now| Ok(state.commit(change, now)))
    }

    async fn reverse_unseen(
        &self,
        tombstone: &Tombstone,
        cancel: &SafEntry,
    ) -> Result<TombstoneOutcome, StoreError> {
        check_tag(&tombstone.tag)?;
        self.step(StoreOp::ReverseUnseen, |state, now| {
            Ok(state.reverse_unseen(tombstone, cancel, now))
        })
    }

    async fn due_for_sweep(
        &self,
        now_ms: i64,
        max: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let lease = i64::try_from(self.inner.sweep_lease_ms).unwrap_or(i64::MAX / 2);
        let lease_end = now_ms.saturating_add(lease);
        self.step(StoreOp::DueForSweep, |state, _| {
            Ok(state.due_for_sweep(now_ms, max, lease_end))
        })
    }
}
