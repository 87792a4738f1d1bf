//! [`MemoryStore`]: the journal and the SAF queue in memory, with the Redis store's semantics.

mod faults;
mod ids;
mod journal;
mod queue;
mod state;
mod view;

pub use faults::{Fault, StoreOp};
pub use view::{AuditLine, DeadLetter, QueuePlace, QueuedItem, StoreSnapshot};

use std::sync::{Arc, Mutex, MutexGuard};

use asw_core::ports::{Clock, StoreError};
use asw_core::record::TransactionRecord;
use tokio::sync::Notify;

use faults::Faults;
use state::State;

/// The Redis store's default sweeper lease (`StoreConfig::sweep_lease_ms`).
pub const DEFAULT_SWEEP_LEASE_MS: u64 = 30_000;

/// The journal and the SAF queue in memory: implements [`asw_core::ports::Journal`] and
/// [`asw_core::saf::SafQueue`] over one shared state, so entries that `commit` and
/// `reverse_unseen` queue are what `fetch` reads, exactly as in the Redis store (one shard,
/// one consumer group).
///
/// Every call is one atomic step under a lock, mirroring one Lua script of `asw-store`; the
/// shared contract suite ([`crate::contract`]) runs the same cases against both. Idle times
/// (claims, releases) and stream ids follow the [`Clock`] given at construction, so virtual
/// time works. Cheap to clone: clones share the state.
///
/// Not modelled: key expiry (records, duplicate keys and tombstones live for the test; see
/// [`MemoryStore::expire_record`]), durability waits, shards, the capped audit stream.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    faults: Mutex<Faults>,
    clock: Arc<dyn Clock>,
    sweep_lease_ms: u64,
    /// Woken on every write, so a blocked `fetch` sees new entries at once.
    arrivals: Notify,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sweep_lease_ms", &self.inner.sweep_lease_ms)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store measuring idle times with `clock`, with the default sweeper lease.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_sweep_lease(clock, DEFAULT_SWEEP_LEASE_MS)
    }

    /// An empty store whose `due_for_sweep` hides a handed-out entry for `sweep_lease_ms`.
    pub fn with_sweep_lease(clock: Arc<dyn Clock>, sweep_lease_ms: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                faults: Mutex::new(Faults::default()),
                clock,
                sweep_lease_ms,
                arrivals: Notify::new(),
            }),
        }
    }

    // A poisoned lock only means a test already panicked while holding it; the data is
    // still what the last completed step left, so keep serving it rather than cascade panics.
    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.inner.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Runs one step with fault injection: an injected fault either stops it (nothing done)
    /// or, for `Indeterminate { applied: true }`, lets it happen and then reports the error;
    /// `Resent` runs it twice and answers the second run.
    fn step<T>(
        &self,
        op: StoreOp,
        f: impl Fn(&mut State, i64) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fault = self.faults().take(op).filter(|f| *f != Fault::Pass);
        let now = self.now_ms();
        if fault == Some(Fault::Resent) {
            let mut state = self.state();
            let _lost = f(&mut state, now);
            let outcome = f(&mut state, now);
            if state.has_new() {
                self.inner.arrivals.notify_waiters();
            }
            return outcome;
        }
        let outcome = match fault {
            None | Some(Fault::Indeterminate { applied: true }) => {
                let mut state = self.state();
                let outcome = f(&mut state, now);
                // Only entries a blocked reader could take end its wait, as in Redis.
                if state.has_new() {
                    self.inner.arrivals.notify_waiters();
                }
                outcome
            }
            Some(fault) => return Err(fault.error(op)),
        };
        match fault {
            Some(fault) => Err(fault.error(op)),
            None => outcome,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Faults

    /// The next `times` calls of `op` fail with `fault` (after any faults already queued).
    pub fn fail_next(&self, op: StoreOp, times: usize, fault: Fault) {
        self.faults().push(op, times, fault);
    }

    /// While `down`, every call fails `Unavailable` and does nothing (a Redis outage);
    /// queued faults wait until it is back.
    pub fn set_down(&self, down: bool) {
        self.faults().set_down(down);
    }

    /// Forgets every queued fault and ends an outage.
    pub fn clear_faults(&self) {
        self.faults().clear();
    }

    // -----------------------------------------------------------------------------------------
    // Inspection and operator functions

    /// Everything the store holds, copied at this instant (idle times by the store's clock).
    pub fn snapshot(&self) -> StoreSnapshot {
        let now = self.now_ms();
        self.state().snapshot(now)
    }

    /// The record with this journal id, without going through fault injection.
    pub fn record(&self, journal_id: &str) -> Option<TransactionRecord> {
        self.state().load(journal_id)
    }

    /// The audit trail of one transaction, oldest first (`txn show` of the Redis store).
    pub fn audit_of(&self, journal_id: &str) -> Vec<AuditLine> {
        self.snapshot()
            .audit
            .into_iter()
            .filter(|line| line.journal_id == journal_id)
            .collect()
    }

    /// The merchants' events the commits wrote, oldest first (the outbox stream).
    pub fn outbox(&self) -> Vec<asw_core::record::MerchantEvent> {
        self.state().outbox.clone()
    }

    /// Dead letters, oldest first (the Redis store's `list_dead`, one shard).
    pub fn list_dead(&self) -> Vec<DeadLetter> {
        self.state().dead_letters()
    }

    /// Puts one dead letter (`"0/<id>"` or a bare id) back into the queue with its attempts
    /// reset; false when no such dead letter exists (the Redis store's `replay_dead`).
    pub fn replay_dead(&self, qualified_id: &str) -> Result<bool, StoreError> {
        self.step(StoreOp::ReplayDead, |state, now| {
            Ok(state.replay_dead(qualified_id, now))
        })
    }

    /// Replays every dead letter; returns how many went back into the queue.
    pub fn replay_all_dead(&self) -> Result<usize, StoreError> {
        let mut replayed = 0;
        for dead in self.list_dead() {
            if self.replay_dead(&dead.qualified_id)? {
                replayed += 1;
            }
        }
        Ok(replayed)
    }

    /// Drops a record as its retention TTL would; its duplicate key and deadline entry stay
    /// (in Redis each key expires on its own). False when there was no such record.
    pub fn expire_record(&self, journal_id: &str) -> bool {
        self.state().expire_record(journal_id)
    }
}
