//! The ISO 8583 front: the way in for terminals.
//!
//! What this crate owns: turning a decoded terminal message into the core's domain request
//! ([`translate`]), routing it to its flow ([`IsoFront`]), and turning the core's typed
//! [`asw_core::flows::Answer`] back into the response message ([`respond`]) with the one table
//! from outcomes to field 39 ([`response_code`]).
//!
//! What it must not know: Redis, Antom's wire format, how a flow decides. The core knows no
//! ISO 8583: everything about fields, processing codes and response codes lives here.

mod front;
#[cfg(test)]
mod order_code_tests;
pub mod respond;
pub mod response_code;
pub mod terminal_ids;
pub mod translate;

pub use front::{IsoFront, IsoReply, processing_code};
pub use respond::build_response;
