//! The translation core of antom-switch.
//!
//! Owns the domain types, the deterministic identifiers, the transaction state machine, the
//! mapping of Antom outcomes to ISO 8583 response codes and the orchestration of every flow
//! (pay → inquire → cancel, reversals, refunds, inquiries). It drives the outside world only
//! through the [`ports`]: it knows no sockets, no HTTP and no Redis commands.

pub mod domain;
pub mod flows;
pub mod ids;
pub mod merchants;
pub mod metrics;
pub mod ports;
pub mod record;
pub mod saf;
pub mod state;
