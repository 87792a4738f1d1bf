//! Downstream adapter: the terminal-facing ISO 8583 TCP server.
//!
//! What this crate owns: the TCP listener (plain, or TLS with optional client certificates)
//! and its limits (connections overall and per
//! source IP, idle and partial-frame timeouts, frame size, outstanding requests per
//! connection), one reader and one writer task per connection, framing (length prefix,
//! TPDU, keep-alives), local answers to network management (0800 sign-on, sign-off,
//! echo), format-error and unsupported-MTI answers, and the hand-over of every financial
//! message to a [`RequestHandler`] together with a [`Responder`] that reports whether the
//! answer really reached the socket.
//!
//! What it must not know: Antom, Redis, transaction state, response-code policy beyond
//! `30` (format error) and `12` (unsupported message). The core plugs in through
//! [`RequestHandler`]; this crate does not depend on it.
//!
//! Invariant: a handler, once started, is never cancelled by anything the terminal does.
//! It runs on a [`tokio_util::task::TaskTracker`] and shutdown waits for it (up to the
//! grace period).

mod config;
mod connection;
mod handler;
pub mod inbound;
mod limits;
pub mod metrics;
pub mod peek;
mod server;
mod tls;

pub use config::{ConfigError, FramePrefix, Profile, ServerConfig};
pub use handler::{
    ApproveAllHandler, ConnectionId, DeliveryError, RequestHandler, RequestKey, Responder,
};
pub use server::{Server, ServerError, ShutdownOutcome};
pub use tls::{TlsConfig, TlsError};
