//! Flow tests of the core: every flow of [`asw_core::flows::Core`] over the testkit's in-memory
//! fakes, in virtual time (no Redis, no sockets, no real waiting). Each test asserts what the
//! front was answered, what the journal and the SAF queue hold afterwards, and which Antom
//! calls were made. Run with `cargo test -p asw-core --test flows`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod card;
mod checkout;
mod events;
mod first_answer;
mod order_code;
mod purchase;
mod refund;
mod reversal;
mod scope;
mod session;
mod skew;
mod status;
mod void;
