//! The REST front: merchants' POS systems and web shops call the switch over HTTPS/JSON.
//!
//! It owns its wire format the way `asw-front-iso` owns ISO 8583: it authenticates the caller
//! (an API key names a merchant), turns a request into the core's domain request with ids
//! derived from the merchant's `Idempotency-Key`, waits a bounded time for the core's answer,
//! and renders the payment as JSON or an RFC 9457 problem. The rules (what may be said
//! `succeeded`, who may see what, what is cancelled) stay in the core.

mod auth;
mod buyer_json;
mod captures;
mod checks;
mod create;
mod http;
mod ids;
pub mod limits;
mod list;
pub mod metrics;
mod model;
mod online;
pub mod openapi;
mod orders;
mod payments;
mod problem;
mod refunds;
mod reply;
mod responses;
mod sessions;
mod view;
pub mod webhooks;

pub use auth::{ApiKeys, Caller, KeyError, sha256_hex};
pub use buyer_json::{AcquirerJson, AddressJson, BuyerJson, CardResultJson, PaidWithJson};
pub use ids::{PAYMENT_ID_PREFIX, REFUND_ID_PREFIX, payment_id, payment_request_id, refund_id};
pub use model::{
    AmountJson, AntomRefs, CreatePayment, CreateRefund, CreateSession, Failure, MethodJson,
    OrderJson, PaymentJson, PaymentListJson, RefundAntomRefs, RefundJson, SessionJson,
};
pub use problem::{Problem, ProblemJson};
pub use responses::{KeptAt, ResponseStore, StoredResponse};

use std::sync::Arc;

use asw_core::flows::Core;
use axum::Router;
use axum::routing::{get, post};

/// Settings of the REST front (`[rest]` in the configuration).
#[derive(Clone, Debug)]
pub struct RestSettings {
    /// How long a `POST` waits for a final result before it answers with the current status.
    pub sync_wait_ms: u64,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// How long the first response under an idempotency key is kept for replays.
    pub idempotency_ttl_ms: u64,
    /// Requests one API key may have in flight at once (429 above).
    pub max_in_flight_per_key: usize,
    /// Accept `http://` return URLs on loopback hosts (tests and demos only).
    pub allow_http_loopback_return_urls: bool,
    /// Antom method types that authorize first and are paid only once captured (seed 004:
    /// cards and methods that behave like them); `method.type = card` is always one.
    pub card_like_methods: Vec<String>,
    /// Antom method types whose payments cannot be refunded: a new attempt of an order waits
    /// until Antom confirmed the cancel of the earlier one.
    pub non_refundable_methods: Vec<String>,
}

impl RestSettings {
    /// Whether `method_type` authorizes first and is paid only once captured.
    pub fn is_card_like(&self, method_type: &str) -> bool {
        method_type == "CARD" || self.card_like_methods.iter().any(|m| m == method_type)
    }

    /// Whether payments of `method_type` cannot be refunded.
    pub fn is_non_refundable(&self, method_type: &str) -> bool {
        self.non_refundable_methods.iter().any(|m| m == method_type)
    }
}

/// The REST front: the core, the merchants' keys and the saved first responses.
pub struct RestFront {
    pub(crate) core: Arc<Core>,
    pub(crate) keys: ApiKeys,
    pub(crate) responses: Arc<dyn ResponseStore>,
    pub(crate) settings: RestSettings,
    pub(crate) in_flight: limits::InFlightLimit,
}

impl RestFront {
    /// Wires the front.
    pub fn new(
        core: Arc<Core>,
        keys: ApiKeys,
        responses: Arc<dyn ResponseStore>,
        settings: RestSettings,
    ) -> Self {
        Self {
            core,
            keys,
            responses,
            in_flight: limits::InFlightLimit::new(settings.max_in_flight_per_key),
            settings,
        }
    }
}

/// The HTTP routes of the merchant API.
pub fn router(front: Arc<RestFront>) -> Router {
    Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route("/v1/payments", post(payments::create).get(list::list))
        .route("/v1/payments/{id}", get(payments::show))
        .route("/v1/payments/{id}/cancel", post(payments::cancel))
        .route("/v1/payments/{id}/capture", post(captures::capture))
        .route("/v1/payments/{id}/refunds", post(refunds::create))
        .route("/v1/refunds/{id}", get(refunds::show))
        .route("/v1/orders/{order_id}", get(orders::show))
        .route("/v1/sessions", post(sessions::create))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .with_state(front)
}
