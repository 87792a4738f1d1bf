//! Downstream adapter: the terminal-facing ISO 8583 TCP server.
//!
//! What this crate owns: the TCP listener (plain, or TLS with optional client certificates)
//! and its limits (connections overall, with eviction of new connections, and per
//! source IP, first-message, idle and partial-frame timeouts, frame size, outstanding requests per
//! connection), one reader and one writer task per connection, framing (length prefix,
//! TPDU, keep-alives), local answers to network management (0800 sign-on, sign-off,
//! echo), format-error and unsupported-MTI answers, and the hand-over of every financial
//! message to a [`RequestHandler`] together with a [`Responder`] that reports whether the
//! answer really reached the socket.
//!
//! What it must not know: Antom, Redis, transaction state, response-code policy beyond
//! `30` (format error), `12` (unsupported message) and `63` (identity refused). The core plugs in through
//! [`RequestHandler`]; this crate does not depend on it.
//!
//! Terminal identity is this crate's too: every message's claimed terminal (F42/F41) is checked
//! against the connection (source network, client certificate, the terminal it is bound to)
//! by the [`IdentityPolicy`] before it reaches the handler or is answered locally; a refusal is
//! answered with `63` here and never reaches the core.
//!
//! Connection floods: a connection is *new* until it completes a **valid exchange**, and
//! *established* from then on. A valid exchange is an answer to a well-formed request that the
//! identity policy admitted, written and flushed to the socket: a 0800 sign-on, sign-off or echo
//! answered `00`, or any answer the handler sends to a financial request (approved or declined:
//! the request was well formed either way). Keep-alives, answers `30`, `12` and `63`, and
//! dropped messages are not. A new connection is closed when `first_message_timeout_ms` has
//! passed since it was accepted and no request of it is with the handler. When every one of the
//! `max_connections` seats is taken, a newcomer takes the seat of the oldest new connection with
//! no request at the handler (which is closed); only when there is none is the newcomer refused.
//! An established connection is never evicted. This proves a peer speaks the protocol, not who it
//! is: identity is the [`IdentityPolicy`]'s job (mutual TLS, merchants' allowed networks), and
//! its refusals (`63`) do not establish anything.
//!
//! Invariant: a handler, once started, is never cancelled by anything the terminal does.
//! It runs on a [`tokio_util::task::TaskTracker`] and shutdown waits for it (up to the
//! grace period).

mod config;
mod connection;
mod handler;
mod identity;
mod identity_config;
pub mod inbound;
mod limits;
pub mod metrics;
pub mod peek;
mod peer_certificate;
mod seats;
mod server;
mod tls;

pub use config::{ConfigError, FramePrefix, Profile, ServerConfig};
pub use handler::{
    ApproveAllHandler, ConnectionId, DeliveryError, RequestHandler, RequestKey, Responder,
};
pub use identity::{Binding, IdentityPolicy, Peer, Refusal, TerminalRef};
pub use identity_config::{
    CarriedTerminal, ClientIdentity, ConcentratorConfig, DEFAULT_TEMPLATE, NameSource,
};
pub use peer_certificate::{CertificateError, CertificateNames};
pub use server::{Server, ServerError, ShutdownOutcome};
pub use tls::{TlsConfig, TlsError};
