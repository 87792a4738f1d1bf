//! The Antom protocol, as pure functions: typed requests and responses, request signing,
//! response and webhook verification, and the S / F / U classification of every answer.
//!
//! This crate owns the wire format of Antom's in-store (User-Presented Mode) APIs —
//! `pay`, `inquiryPayment`, `cancel`, `refund`, `inquiryRefund` and the `notifyPayment` /
//! `notifyRefund` webhooks — the online card additions (`capture`, `CAPTURE_RESULT`,
//! `paymentResultInfo`), Checkout Page sessions (`createPaymentSession`), and the RSA-SHA256 signature scheme around them.
//!
//! It builds an [`http::Request`] and parses an [`http::Response`]; it never opens a socket,
//! never reads a clock (callers pass the request time) and knows nothing about ISO 8583,
//! terminals, Redis or the switch's state machine. The HTTP client lives in `asw-upstream`,
//! the simulator in `asw-antom-sim`; both use this crate so that they cannot disagree on
//! the format.
//!
//! The rule the classification serves: only a verified, signed `S` is ever a success. A
//! `U`, a non-200 status, an empty or unparsable body, and any unsigned or badly signed
//! answer is [`Outcome::Unknown`] — "we do not know what happened", never "declined".

pub mod api;
pub mod buyer;
pub mod capture;
pub mod card;
pub mod codes;
pub mod keys;
mod lenient;
pub mod masked;
pub mod model;
pub mod outcome;
pub mod session;
pub mod signature;
pub mod webhook;
pub mod wire;

pub use api::{
    AntomRequest, Api, CancelRequest, CancelResponse, InquiryPaymentRequest,
    InquiryPaymentResponse, InquiryRefundRequest, InquiryRefundResponse, PayRequest, PayResponse,
    RefundRequest, RefundResponse,
};
pub use capture::{CaptureRequest, CaptureResponse, CaptureResultNotification};
pub use card::PaymentResultInfo;
pub use codes::{CodeScope, RESULT_CODES, ResultCodeInfo, lookup_result_code};
pub use keys::{KeyError, Signer, Verifier};
pub use masked::{AgentToken, PaymentCode};
pub use model::{
    Amount, AntomResult, Env, Merchant, Order, PaymentDetails, PaymentFactor, PaymentMethod,
    PaymentStatus, RefundStatus, ResultStatus, Store,
};
pub use outcome::{Outcome, UnknownReason};
pub use session::{CreatePaymentSessionRequest, CreatePaymentSessionResponse};
pub use signature::{SignatureError, SignatureHeader};
pub use webhook::{
    NOTIFY_ACK_RETRY_BODY, NOTIFY_ACK_SUCCESS_BODY, Notification, NotifyPayment, NotifyRefund,
    WebhookError, verify_notification,
};
pub use wire::{BuildError, BuiltRequest, ClientCredentials, build_request, parse_response};

/// The only signing algorithm Antom's AMS APIs accept, as written in the `signature` header.
pub const SIGNATURE_ALGORITHM: &str = "RSA256";

/// The `content-type` Antom expects on requests and sends on responses.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
