//! Reversal engine: SAF consumers, the cancel retry policy, the cancel-to-refund fallback,
//! dead letters and the deadline sweeper (active cancellation).
//!
//! Owns the decision of *when* to call Antom again and what an answer means for a queued
//! cancel or refund. It works only through the core's ports (`Upstream`, `Journal`,
//! `SafQueue`, `Clock`): it must not know Redis, HTTP or ISO 8583, and it never decides a state
//! transition itself — every outcome goes through `asw_core::record::plan_change` and a
//! compare-and-set commit, so the transition table stays in one place.

mod config;
mod engine;
pub mod metrics;
mod policy;

pub use config::EngineConfig;
pub use engine::{Disposition, EngineError, ReversalEngine, Settled};
pub use policy::{RetryDecision, next_attempt};
