//! The translation core of antom-switch.
//!
//! Owns the payment domain: the domain types, the keyed id hash, the transaction state machine,
//! the one compare-and-set commit loop, and the orchestration of every flow (pay → inquire →
//! cancel, reversals, refunds, inquiries) with their typed outcomes. It drives the outside world
//! only through the [`ports`]: it knows no wire format (no ISO 8583 field, no HTTP status), no
//! sockets and no Redis commands. Each way in is a front crate that translates its wire format
//! to the requests of [`flows`] and the [`flows::Outcome`]s back.

pub mod commit;
pub mod domain;
pub mod flows;
pub mod ids;
pub mod intent;
pub mod merchants;
pub mod metrics;
pub mod outbox;
pub mod ports;
pub mod record;
pub mod saf;
pub mod skew;
pub mod state;
