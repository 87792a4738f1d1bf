//! The store contract: one suite of behaviour cases, written once against the `Journal` and
//! `SafQueue` ports, run against [`crate::fakes::MemoryStore`] (asw-testkit's own tests) and
//! against the Redis store (`crates/asw-store/tests/contract.rs`). A case that passes on one
//! and fails on the other is a bug in the fake (or a surprise in the store): that is what
//! keeps the fake honest.
//!
//! Use [`store_contract_tests!`](crate::store_contract_tests) with an `async fn` returning a
//! fresh [`ContractSubject`]: it generates one `#[tokio::test]` per case.
//!
//! Cases panic on failure (they are test code run from tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod journal;
mod queue;

pub use journal::*;
pub use queue::*;

use std::sync::Arc;
use std::time::Duration;

use asw_core::ports::{CommitOutcome, Journal};
use asw_core::record::{TransactionRecord, plan_change};
use asw_core::saf::SafQueue;
use asw_core::state::Event;
use async_trait::async_trait;

use crate::fakes::{DeadLetter, ManualClock, MemoryStore, TEST_EPOCH_MS};

/// The time the cases' records are created at (store-independent: times are passed
/// explicitly wherever the ports take them).
pub const NOW: i64 = TEST_EPOCH_MS;

/// A store under contract, with what the cases need beyond the ports.
#[async_trait]
pub trait ContractSubject: Send + Sync {
    /// The store: both ports on one shared state.
    type Store: Journal + SafQueue;

    /// The store, fresh (empty) when the case starts.
    fn store(&self) -> &Self::Store;

    /// How long `due_for_sweep` hides an entry it handed out.
    fn sweep_lease_ms(&self) -> i64;

    /// Lets `duration` pass as the store measures idle time (real time for Redis).
    async fn let_time_pass(&self, duration: Duration);

    /// Dead letters, oldest first (operator listing).
    async fn dead_letters(&self) -> Vec<DeadLetter>;

    /// Replays one dead letter by its qualified id; false when there is none.
    async fn replay_dead(&self, qualified_id: &str) -> bool;
}

/// The in-memory store on a [`ManualClock`] starting at [`NOW`], as a contract subject.
#[derive(Debug)]
pub struct MemorySubject {
    /// The store under test.
    pub store: MemoryStore,
    /// Its clock (moved by [`ContractSubject::let_time_pass`]).
    pub clock: Arc<ManualClock>,
}

impl MemorySubject {
    /// An empty store with the default sweeper lease.
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::new(NOW));
        Self {
            store: MemoryStore::new(clock.clone()),
            clock,
        }
    }
}

impl Default for MemorySubject {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl ContractSubject for MemorySubject {
    type Store = MemoryStore;

    fn store(&self) -> &MemoryStore {
        &self.store
    }

    fn sweep_lease_ms(&self) -> i64 {
        crate::fakes::DEFAULT_SWEEP_LEASE_MS as i64
    }

    async fn let_time_pass(&self, duration: Duration) {
        self.clock
            .advance(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
    }

    async fn dead_letters(&self) -> Vec<DeadLetter> {
        self.store.list_dead()
    }

    async fn replay_dead(&self, qualified_id: &str) -> bool {
        self.store.replay_dead(qualified_id).unwrap()
    }
}

/// Plans `event` on `current` at `now_ms` and commits it; panics unless it commits.
pub async fn apply<J: Journal + ?Sized>(
    journal: &J,
    current: &TransactionRecord,
    event: Event,
    now_ms: i64,
) -> TransactionRecord {
    let change = plan_change(current, event, now_ms, "contract")
        .unwrap()
        .expect("the event moves the record");
    assert_eq!(
        journal.commit(&change).await.unwrap(),
        CommitOutcome::Committed
    );
    change.record
}

/// Generates one `#[tokio::test]` per contract case; `$make` is an `async fn` (path) returning
/// a fresh [`ContractSubject`].
#[macro_export]
macro_rules! store_contract_tests {
    ($make:path) => {
        $crate::store_contract_tests!(@cases $make;
            begin_takes_a_duplicate_key_once,
            loads_by_journal_id_and_by_duplicate_key,
            a_tombstone_and_begin_exclude_each_other,
            begin_keeps_one_live_attempt_per_merchant_order,
            commit_is_compare_and_set,
            a_commit_queues_its_saf_entry_with_the_state,
            the_deadline_index_follows_keep_stop_resume,
            due_for_sweep_leases_entries_in_deadline_order,
            fetch_rereads_own_pending_entries_first,
            a_held_entry_goes_to_nobody_else_until_stale,
            release_hands_entries_back_for_an_immediate_claim,
            retry_at_hides_the_entry_until_promoted,
            dead_letters_leave_the_queue_and_replay_puts_them_back,
            stats_count_depth_age_and_dead_letters,
            a_blocking_fetch_on_an_empty_queue_returns_nothing,
            ack_removes_the_entry_and_is_idempotent,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let subject = $make().await;
                $crate::contract::$case(&subject).await;
            }
        )*
    };
}
