//! terminal-sim: an ISO 8583 terminal, load generator and codec tool.
//!
//! What this crate owns: a [`Terminal`] client that keeps several requests outstanding on
//! one connection and matches answers by (MTI class, F41, F11); message builders for each
//! flow of the default dialect ([`flows`]); the STAN counter and terminal clock; an
//! open-loop load generator with a per-transaction report ([`load`]), durable when asked
//! ([`durable`]: fsync'd before each send, so a killed load can be restarted); and hex/JSON
//! conversion for the `encode`/`decode` commands ([`tool`]).
//!
//! What it must not know: anything of the switch beyond the wire (no core, no Redis, no
//! Antom). It depends on the codec only, so it tests the switch from the outside.

pub mod answer;
pub mod clock;
pub mod codes;
pub mod durable;
pub mod flows;
pub mod link;
pub mod load;
pub mod stan;
pub mod terminal;
pub mod tool;

pub use answer::Answer;
pub use clock::{Clock, Stamp};
pub use flows::{FlowError, MessageFactory, Original, Reference};
pub use link::{LinkConfig, ProfileName, TlsLink, TlsLinkError};
pub use stan::StanCounter;
pub use terminal::{PendingResponse, Terminal, TerminalError};
