//! Fault injection: make chosen calls of a [`super::MemoryStore`] fail the way the Redis store
//! fails, so crash and outage paths can be tested without killing a server.

use std::collections::{HashMap, VecDeque};

use asw_core::ports::StoreError;

/// A method of the store, to aim a fault at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreOp {
    /// [`asw_core::ports::Journal::begin`].
    Begin,
    /// [`asw_core::ports::Journal::load`].
    Load,
    /// [`asw_core::ports::Journal::load_by_dedup_key`].
    LoadByDedupKey,
    /// [`asw_core::ports::Journal::commit`].
    Commit,
    /// [`asw_core::ports::Journal::reverse_unseen`].
    ReverseUnseen,
    /// [`asw_core::ports::Journal::due_for_sweep`].
    DueForSweep,
    /// [`asw_core::saf::SafQueue::fetch`].
    Fetch,
    /// [`asw_core::saf::SafQueue::claim_stale`].
    ClaimStale,
    /// [`asw_core::saf::SafQueue::release`].
    Release,
    /// [`asw_core::saf::SafQueue::ack`].
    Ack,
    /// [`asw_core::saf::SafQueue::retry_at`].
    RetryAt,
    /// [`asw_core::saf::SafQueue::promote_due`].
    PromoteDue,
    /// [`asw_core::saf::SafQueue::dead_letter`].
    DeadLetter,
    /// [`asw_core::saf::SafQueue::stats`].
    Stats,
    /// [`super::MemoryStore::replay_dead`].
    ReplayDead,
}

impl StoreOp {
    /// The Redis store's metric label for the operation, used in error texts.
    pub fn name(self) -> &'static str {
        match self {
            StoreOp::Begin => "begin",
            StoreOp::Load => "load",
            StoreOp::LoadByDedupKey => "load_dedup",
            StoreOp::Commit => "commit",
            StoreOp::ReverseUnseen => "reverse_unseen",
            StoreOp::DueForSweep => "due_for_sweep",
            StoreOp::Fetch => "saf_read",
            StoreOp::ClaimStale => "saf_claim",
            StoreOp::Release => "saf_release",
            StoreOp::Ack => "saf_ack",
            StoreOp::RetryAt => "saf_retry",
            StoreOp::PromoteDue => "saf_promote",
            StoreOp::DeadLetter => "saf_dead_letter",
            StoreOp::Stats => "saf_stats",
            StoreOp::ReplayDead => "saf_replay",
        }
    }
}

/// How an injected call fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `StoreError::Unavailable`: nothing was done (Redis refused or a read failed).
    Unavailable,
    /// `StoreError::Indeterminate`: the connection broke after the command was sent.
    /// `applied: true` is "written, but the answer was lost" (the write is done, then the
    /// error reported); `applied: false` is "lost before the server ran it".
    Indeterminate {
        /// Whether the write happened.
        applied: bool,
    },
    /// The command ran, its answer was lost, and the client sent it again (a Redis Cluster
    /// client re-sends after a dropped connection): the second run's answer is returned.
    Resent,
    /// The call goes through unharmed: queued before a fault, it aims the fault at a later
    /// call of the same method.
    Pass,
}

impl Fault {
    pub(crate) fn error(self, op: StoreOp) -> StoreError {
        match self {
            Fault::Pass => StoreError::Indeterminate(format!(
                "{}: a passed call has no error of its own",
                op.name()
            )),
            Fault::Resent => StoreError::Indeterminate(format!(
                "{}: a re-sent command has no error of its own",
                op.name()
            )),
            Fault::Unavailable => {
                StoreError::Unavailable(format!("{}: injected outage", op.name()))
            }
            Fault::Indeterminate { applied } => StoreError::Indeterminate(format!(
                "{}: injected broken connection (written: {applied})",
                op.name()
            )),
        }
    }
}

/// The faults waiting to fire, and whether the whole store is down.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    queued: HashMap<StoreOp, VecDeque<Fault>>,
    down: bool,
}

impl Faults {
    pub(crate) fn push(&mut self, op: StoreOp, times: usize, fault: Fault) {
        self.queued
            .entry(op)
            .or_default()
            .extend(std::iter::repeat_n(fault, times));
    }

    pub(crate) fn set_down(&mut self, down: bool) {
        self.down = down;
    }

    /// The fault for this call of `op`, if any (an outage wins over queued faults and leaves
    /// them queued for after it).
    pub(crate) fn take(&mut self, op: StoreOp) -> Option<Fault> {
        if self.down {
            return Some(Fault::Unavailable);
        }
        self.queued.get_mut(&op).and_then(VecDeque::pop_front)
    }

    pub(crate) fn clear(&mut self) {
        self.queued.clear();
        self.down = false;
    }
}
