//! Store adapter: the Redis journal, atomic transitions, idempotency keys, the deadline index
//! and the SAF streams.
//!
//! Owns every Redis command antom-switch sends and the key layout. It implements the core's
//! [`asw_core::ports::Journal`] and [`asw_core::saf::SafQueue`] ports; it must not know the
//! transition table (that lives once, in `asw_core::state`) nor anything about Antom or ISO 8583.
//!
//! How "every state transition is one atomic compare-and-set that writes its side effects" is
//! met: the core decides ([`asw_core::record::plan_change`]) and hands over a
//! [`asw_core::record::Change`]; [`RedisStore`] commits it with one Lua script that compares the
//! version, writes the record, queues the SAF entry, clears the deadline index and appends the
//! audit entry — all or nothing. See `README.md` in this crate for the key layout.

mod config;
mod conn;
mod health;
mod journal;
mod keys;
pub mod metrics;
mod ops;
mod outbox;
mod queue;
mod responses;
mod scripts;
mod store;
mod values;

pub use config::{
    DEFAULT_URL, Durability, MIN_RETENTION_MS, SentinelConfig, StoreConfig, Topology,
};
pub use health::{Finding, ServerReport, inspect};
pub use journal::AuditEntry;
pub use keys::KeyLayout;
pub use ops::{DeadLetter, QueuePlace, QueuedItem, TxnView};
pub use outbox::OUTBOX_GROUP;
pub use store::{ConnectError, RedisStore};
