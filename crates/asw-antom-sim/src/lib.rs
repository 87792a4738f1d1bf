//! antom-sim: a faithful local Antom simulator for tests, demos and benchmarks.
//!
//! It owns the "Antom side" of the in-store APIs and of online wallet payments
//! (`CASHIER_PAYMENT`, with a hosted wallet page the buyer approves, declines or leaves on,
//! see [`online`] and the README) and of hosted card payments with authorization and
//! capture (see [`card`]) and of APO Checkout Page sessions (`createPaymentSession`, with a
//! hosted page listing the methods, see [`session`]): it verifies signed requests like Antom
//! (paths, method, media type, client id, key version, RSA256 signature over the raw body
//! and the path as received), keeps every payment's state with Antom's idempotency rules
//! (pay / inquiryPayment / cancel / refund / inquiryRefund / capture), signs every answer with the
//! "Antom" key, sends signed `notifyPayment` webhooks with Antom's re-send schedule, and
//! injects the faults a gateway must survive: answers lost after commit, slow answers, `U`
//! results, 5xx / HTML / empty bodies, bad signatures, late and duplicate notifications.
//! Scenarios are chosen deterministically by the payment code's last two digits or by
//! amount (see [`scenario::SCENARIOS`] and the README); a seeded random fault mix adds chaos.
//! A control API under `/__sim/` lets tests list payments and calls, force states, move
//! the clock and reset.
//!
//! The wire format and the signature scheme come from `asw-antom`, so the simulator and the
//! switch cannot disagree on them. This crate must not know anything about the switch:
//! no ISO 8583, no Redis, no terminal concepts.

mod buyer;
pub mod card;
mod card_page;
pub mod config;
mod control;
mod ledger;
mod notify;
pub mod online;
mod pages;
pub mod scenario;
mod server;
pub mod session;
mod session_page;
pub mod wallets;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{
    CancelOfClosed, CaptureFault, ConfigError, FaultMix, PreCancel, SignatureErrorSpelling,
    SimClient, SimConfig,
};
pub use ledger::{CaptureView, PaymentView, RefundView, SessionView};
pub use notify::{RESEND_SCHEDULE_SECS, is_ack};
pub use scenario::Scenario;
pub use server::CallRecord;
#[doc(hidden)]
pub use server::fuzzing;

/// Why the simulator could not start. Nothing is running; retrying with a fixed
/// configuration (or a free port) is safe.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The HTTP client for notifications could not be built.
    #[error("cannot build the notification HTTP client: {0}")]
    HttpClient(String),
}

/// Most connections served at once; further clients wait in the accept queue.
const MAX_CONNECTIONS: usize = 10_000;

/// Entry point: [`Simulator::start`].
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Validates the configuration, binds the listener and starts serving.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        config.validate()?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let mut config = config;
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{addr}"));
        }
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| SimError::HttpClient(e.to_string()))?;
        let shared = Arc::new(server::Shared::new(config, http));
        let accept = tokio::spawn(server::accept_loop(
            Arc::clone(&shared),
            listener,
            MAX_CONNECTIONS,
        ));
        Ok(SimHandle {
            addr,
            shared,
            accept,
        })
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`: prefix of every API path (`/ams/api/v1/payments/pay`, …).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base of the buyer-facing URLs (`normalUrl` = `<public_url>/checkout/wallet/<paymentId>`).
    pub fn public_url(&self) -> &str {
        self.shared.cfg.public_base()
    }

    /// Every payment, oldest first (same as `GET /__sim/payments`).
    pub fn payments(&self) -> Vec<PaymentView> {
        self.shared
            .ledger
            .snapshot(self.shared.clock.now(), &self.shared.cfg)
    }

    /// One payment by `paymentRequestId` or `paymentId`.
    pub fn payment(&self, id: &str) -> Option<PaymentView> {
        self.shared
            .ledger
            .payment_view(id, self.shared.clock.now(), &self.shared.cfg)
    }

    /// One Checkout Page session by `paymentSessionId` or `paymentRequestId` (same as
    /// `GET /__sim/sessions/{id}`).
    pub fn session(&self, id: &str) -> Option<SessionView> {
        self.shared
            .ledger
            .session_view(id, self.shared.clock.now(), &self.shared.cfg)
    }

    /// Every API call received, in order (same as `GET /__sim/calls`).
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.calls.list().0
    }

    /// Moves the simulator's clock by `offset_ms` from real time (windows, expiry).
    pub fn set_clock_offset_ms(&self, offset_ms: i64) {
        self.shared.clock.set_offset_ms(offset_ms);
    }

    /// Forgets all payments, refunds, calls and pending notifications.
    pub fn reset(&self) {
        self.shared.ledger.reset();
        self.shared.calls.clear();
        self.shared.clock.set_offset_ms(0);
    }

    /// Stops accepting, closes every connection and stops pending notifications.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        let _ = self.accept.await;
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }
}
