//! The upstream adapter: the HTTP client that talks to Antom (or the simulator) and turns
//! every call into a classified S / F / U answer.
//!
//! It owns the connection pool (reqwest + rustls on aws-lc-rs, keep-alive), the per-API
//! deadlines, the client groups (one Antom client id + merchant key + Antom public keys each),
//! the upstream metrics, and the implementation of the core's [`asw_core::ports::Upstream`]
//! port. The wire format and signatures are `asw-antom`'s; this crate only moves bytes.
//!
//! It must not know about retries, inquiries-after-timeout or cancels: that policy belongs to
//! the core and the reversal engine. A timeout, a reset or an untrusted answer is reported as
//! Unknown and nothing more — never as a failure, which would turn into a decline.

mod client;
mod config;
pub mod metrics;
mod online_details;
mod port;

pub use client::{AntomClient, UpstreamSetupError, local_codes};
pub use config::{ClientGroupConfig, UpstreamSettings};
pub use online_details::{add_online_details, paid_with};
pub use port::{antom_datetime, pay_request};
