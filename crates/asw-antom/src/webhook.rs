//! Antom → us: `notifyPayment` / `notifyRefund` / `notifyCapture` verification and parsing, and the fixed
//! acknowledgement bodies.
//!
//! A notification is signed like a request, with Antom's key:
//! `POST <path Antom called>\n<client-id>.<request-time>.<raw body>`. Behind a reverse proxy
//! the path must be the one Antom called, so it is a parameter, not a guess.

use serde::{Deserialize, Serialize};

use crate::capture::{CaptureResultNotification, NOTIFY_TYPE_CAPTURE_RESULT};
use crate::keys::Verifier;
use crate::model::ResultStatus;
use crate::model::{Amount, AntomResult, PaymentDetails, PaymentStatus, Quote, RefundStatus};
use crate::outcome::UnknownReason;
use crate::signature::SignatureError;
use crate::wire::{describe_json_error, headers, verify_signed_message};

/// The body to answer a notification with once it is durably handled (or deliberately
/// ignored). Antom stops re-sending when it sees exactly this.
pub const NOTIFY_ACK_SUCCESS_BODY: &str =
    r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#;

/// The body to answer when the notification could not be stored (e.g. the store is down),
/// so that Antom sends it again later.
pub const NOTIFY_ACK_RETRY_BODY: &str = r#"{"result":{"resultCode":"UNKNOWN_EXCEPTION","resultStatus":"U","resultMessage":"temporarily unable to process, please retry"}}"#;

/// `notifyType` of a payment result.
pub const NOTIFY_TYPE_PAYMENT_RESULT: &str = "PAYMENT_RESULT";
/// `notifyType` of a refund result.
pub const NOTIFY_TYPE_REFUND_RESULT: &str = "REFUND_RESULT";

/// Why a notification was refused. Answer it with an HTTP error (not the SUCCESS body) so a
/// genuine one is re-sent; log the reason, never the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No `client-id` header: we cannot know whose key signed it.
    #[error("notification without client-id header")]
    MissingClientId,
    /// Missing signature or `request-time` header.
    #[error("unsigned notification: {0}")]
    Unsigned(SignatureError),
    /// The signature is malformed or does not verify: forged or tampered.
    #[error("badly signed notification: {0}")]
    BadSignature(SignatureError),
    /// Signed, but not a notification body we can read.
    #[error("unreadable notification body: {0}")]
    Unparsable(String),
}

/// `notifyPayment` body. In-store, Antom sends it only when a payment succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyPayment {
    /// `PAYMENT_RESULT` (or `OFFLINE_PAYMENT_CODE`, to be ignored for UPM).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub notify_type: String,
    /// `S` = paid.
    pub result: AntomResult,
    /// What Antom says about the payment (shared with the other payment answers).
    #[serde(flatten)]
    pub payment: PaymentDetails,
    /// The merchant's id of the payment.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_request_id: String,
    /// Only online notifications carry a status; in-store ones do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<PaymentStatus>,
}

impl NotifyPayment {
    /// Whether this notification says "the payment succeeded" (`PAYMENT_RESULT` with `S`).
    pub fn is_payment_success(&self) -> bool {
        self.notify_type == NOTIFY_TYPE_PAYMENT_RESULT
            && self.result.result_status == ResultStatus::Success
    }

    /// A final payment failure (`PAYMENT_RESULT` with `F`): the result code says why (an
    /// online payment left unpaid until its expiry is closed this way).
    pub fn is_payment_failure(&self) -> bool {
        self.notify_type == NOTIFY_TYPE_PAYMENT_RESULT
            && self.result.result_status == ResultStatus::Failed
    }
}

/// `notifyRefund` body (online asynchronous refunds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyRefund {
    /// `REFUND_RESULT`.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub notify_type: String,
    /// `S` accepted / `F` failed.
    pub result: AntomResult,
    /// SUCCESS or FAIL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<RefundStatus>,
    /// The merchant's id of the refund.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub refund_request_id: String,
    /// Antom's id of the refund.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_id: Option<String>,
    /// Refund amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Amount>,
    /// When it finished (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_time: Option<String>,
    /// Settlement amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_settlement_amount: Option<Amount>,
    /// Settlement rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_quote: Option<Quote>,
}

/// Just enough of any notification to route it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotifyHead {
    #[serde(default, deserialize_with = "crate::lenient::opt_string")]
    notify_type: Option<String>,
}

/// A verified notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// `notifyType = PAYMENT_RESULT` (and other payment notifications).
    Payment(Box<NotifyPayment>),
    /// `notifyType = REFUND_RESULT`.
    Refund(Box<NotifyRefund>),
    /// `notifyType = CAPTURE_RESULT`: a card capture (manual or automatic) reached S or F.
    Capture(Box<CaptureResultNotification>),
    /// Signed and valid, but nothing the switch acts on (e.g. `OFFLINE_PAYMENT_CODE`, an ISV
    /// authorization notice). Acknowledge it with SUCCESS.
    Other {
        /// Its `notifyType`, if any.
        notify_type: Option<String>,
    },
}

/// Verifies a notification's signature with Antom's public key(s) and parses it.
///
/// `path` is the path (plus query) Antom called, as Antom saw it. The `client-id` header
/// names the signer; pick `verifier` for that client id (see [`notification_client_id`]).
pub fn verify_notification(
    verifier: &Verifier,
    path: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Notification, WebhookError> {
    let client_id = notification_client_id(headers).ok_or(WebhookError::MissingClientId)?;
    verify_signed_message(
        verifier,
        client_id,
        path,
        headers,
        headers::REQUEST_TIME,
        body,
    )
    .map_err(|reason| match reason {
        UnknownReason::Unsigned { error, .. } => WebhookError::Unsigned(error),
        UnknownReason::BadSignature(error) => WebhookError::BadSignature(error),
        _ => WebhookError::BadSignature(SignatureError::Mismatch),
    })?;

    let head: NotifyHead = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Unparsable(describe_json_error(&e)))?;
    let unparsable = |e: serde_json::Error| WebhookError::Unparsable(describe_json_error(&e));
    match head.notify_type.as_deref() {
        Some(NOTIFY_TYPE_REFUND_RESULT) => Ok(Notification::Refund(
            serde_json::from_slice(body).map_err(unparsable)?,
        )),
        Some(NOTIFY_TYPE_PAYMENT_RESULT) => Ok(Notification::Payment(
            serde_json::from_slice(body).map_err(unparsable)?,
        )),
        Some(NOTIFY_TYPE_CAPTURE_RESULT) => Ok(Notification::Capture(
            serde_json::from_slice(body).map_err(unparsable)?,
        )),
        other => Ok(Notification::Other {
            notify_type: other.map(str::to_owned),
        }),
    }
}

/// The `client-id` header of a notification, to choose the verifier.
pub fn notification_client_id(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(crate::wire::headers::CLIENT_ID)
        .and_then(|v| v.to_str().ok())
}
