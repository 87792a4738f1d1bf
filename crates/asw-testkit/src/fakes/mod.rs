//! In-memory fakes of every port of the core, for flow tests in virtual time: no Redis, no
//! sockets, no real waiting.
//!
//! - [`MemoryStore`]: `Journal` + `SafQueue` with the Redis store's semantics, proven by the
//!   shared [`crate::contract`] suite that also runs against `asw-store`.
//! - [`ScriptedUpstream`]: `Upstream` answering only what the test scripted.
//! - [`VirtualClock`] / [`ManualClock`]: `Clock` on paused tokio time, or moved by hand;
//!   [`SkewedClock`]: another clock shifted, for a second instance whose clock differs.

mod clock;
mod store;
mod upstream;

pub use clock::{ManualClock, SkewedClock, TEST_EPOCH_MS, VirtualClock};
pub use store::{
    AuditLine, DEFAULT_SWEEP_LEASE_MS, DeadLetter, Fault, MemoryStore, QueuePlace, QueuedItem,
    StoreOp, StoreSnapshot,
};
pub use upstream::{CallKind, ScriptedUpstream, UNEXPECTED_CALL, UpstreamCall};
