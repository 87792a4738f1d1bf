//! `capture` — taking the money of a card authorization (`captureMode = MANUAL`) — and its
//! `CAPTURE_RESULT` notification, which Antom also sends for automatic captures.
//!
//! `captureRequestId` is the idempotency key: after a timeout or a `U`, send the same request
//! again (same id, same amount), never a second capture with a new id, which could take the
//! money twice where partial captures are allowed.

use serde::{Deserialize, Serialize};

use crate::api::{AntomRequest, AntomResponse, Api};
use crate::model::{Amount, AntomResult, ResultStatus};

/// `notifyType` of a capture result.
pub const NOTIFY_TYPE_CAPTURE_RESULT: &str = "CAPTURE_RESULT";

/// `paymentFactor.captureMode`: Antom captures right after the authorization (the default,
/// also when the field is absent or empty).
pub const CAPTURE_MODE_AUTOMATIC: &str = "AUTOMATIC";
/// `paymentFactor.captureMode`: the merchant calls `capture`.
pub const CAPTURE_MODE_MANUAL: &str = "MANUAL";

/// `capture` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// The merchant's id of this capture (max 64): the idempotency key.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub capture_request_id: String,
    /// Antom's id of the authorized payment (not the `paymentRequestId`).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_id: String,
    /// How much to take, in the payment's currency.
    pub capture_amount: Amount,
    /// Marks the last of several partial captures (where the contract allows them). Sent as
    /// a JSON boolean like the SDKs do; read from a boolean or a string.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_last_capture: Option<bool>,
}

impl CaptureRequest {
    /// A capture of `amount` of payment `payment_id`, keyed by `capture_request_id`.
    pub fn new(
        capture_request_id: impl Into<String>,
        payment_id: impl Into<String>,
        amount: Amount,
    ) -> Self {
        Self {
            capture_request_id: capture_request_id.into(),
            payment_id: payment_id.into(),
            capture_amount: amount,
            is_last_capture: None,
        }
    }
}

impl AntomRequest for CaptureRequest {
    const API: Api = Api::Capture;
    type Response = CaptureResponse;
}

/// `capture` response. Only `result` is guaranteed; the rest comes with `S`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureResponse {
    /// The call's result.
    pub result: AntomResult,
    /// Echo of the merchant's capture id.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub capture_request_id: Option<String>,
    /// Antom's id of the capture.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub capture_id: Option<String>,
    /// The captured payment.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_id: Option<String>,
    /// The captured amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_amount: Option<Amount>,
    /// When it was captured (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub capture_time: Option<String>,
    /// The id a non-Antom acquirer gave the capture.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub acquirer_reference_no: Option<String>,
}

impl CaptureResponse {
    /// A response carrying only `result`.
    pub fn from_result(result: AntomResult) -> Self {
        Self {
            result,
            capture_request_id: None,
            capture_id: None,
            payment_id: None,
            capture_amount: None,
            capture_time: None,
            acquirer_reference_no: None,
        }
    }
}

impl AntomResponse for CaptureResponse {
    fn result(&self) -> &AntomResult {
        &self.result
    }

    /// A capture `S` without Antom's `captureId` cannot be reconciled or refunded against:
    /// it is not trusted as a success.
    fn missing_on_success(&self) -> Option<&'static str> {
        match self.capture_id.as_deref() {
            Some(id) if !id.trim().is_empty() => None,
            _ => Some("captureId"),
        }
    }
}

/// `notifyCapture` body (`notifyType = CAPTURE_RESULT`): a capture reached `S` or `F`. Sent
/// to the pay request's `paymentNotifyUrl`, for manual and automatic captures alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureResultNotification {
    /// `CAPTURE_RESULT`.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub notify_type: String,
    /// `S` captured / `F` not captured (the code says why).
    pub result: AntomResult,
    /// The merchant's id of the capture (Antom's own id for an automatic capture).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub capture_request_id: String,
    /// Antom's id of the payment.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_id: String,
    /// Antom's id of the capture.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub capture_id: Option<String>,
    /// The captured amount; check it (and its currency) against the authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_amount: Option<Amount>,
    /// When it was captured (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub capture_time: Option<String>,
    /// The id a non-Antom acquirer gave the capture.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub acquirer_reference_no: Option<String>,
}

impl CaptureResultNotification {
    /// Whether this notification says "the money was captured" (`CAPTURE_RESULT` with `S`):
    /// for a card payment, the moment it counts as paid.
    pub fn is_capture_success(&self) -> bool {
        self.notify_type == NOTIFY_TYPE_CAPTURE_RESULT
            && self.result.result_status == ResultStatus::Success
    }

    /// Whether the capture failed for good (`CAPTURE_RESULT` with `F`).
    pub fn is_capture_failure(&self) -> bool {
        self.notify_type == NOTIFY_TYPE_CAPTURE_RESULT
            && self.result.result_status == ResultStatus::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_serializes_like_the_reference_sample() {
        let mut req = CaptureRequest::new(
            "captureRequestId01",
            "2019060811401080010018882020035XXXX",
            Amount::minor("SGD", 4200),
        );
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({"captureRequestId":"captureRequestId01",
                "paymentId":"2019060811401080010018882020035XXXX",
                "captureAmount":{"currency":"SGD","value":"4200"}})
        );
        req.is_last_capture = Some(true);
        assert_eq!(serde_json::to_value(&req).unwrap()["isLastCapture"], true);
        let back: CaptureRequest = serde_json::from_str(
            r#"{"captureRequestId":"c","paymentId":"p","captureAmount":{"currency":"SGD","value":4200},"isLastCapture":"true"}"#,
        )
        .unwrap();
        assert_eq!(back.is_last_capture, Some(true));
        assert_eq!(back.capture_amount.minor_units(), Some(4200));
    }

    #[test]
    fn response_round_trips_and_needs_a_capture_id_on_success() {
        let text = r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success."},
            "captureRequestId":"gw-cap-0001","captureId":"20250601194010800100188570271850565",
            "paymentId":"20250601194010800100188570271832381",
            "captureAmount":{"currency":"SGD","value":"4200"},"captureTime":"2025-06-01T09:59:17-07:00",
            "acquirerReferenceNo":"2025060119031300010740267587902"}"#;
        let resp: CaptureResponse = serde_json::from_str(text).unwrap();
        assert_eq!(resp.missing_on_success(), None);
        assert_eq!(
            serde_json::to_value(&resp).unwrap(),
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        let bare = CaptureResponse::from_result(AntomResult::success());
        assert_eq!(bare.missing_on_success(), Some("captureId"));
    }

    #[test]
    fn notification_reads_the_success_and_failure_samples() {
        let ok: CaptureResultNotification = serde_json::from_str(
            r#"{"captureAmount":{"currency":"SGD","value":"4200"},"notifyType":"CAPTURE_RESULT",
                "captureId":"2022XXXXXXX","captureRequestId":"captureRequestId01",
                "captureTime":"2022-11-10T00:34:52-08:00","paymentId":"2022XXXXXXX",
                "result":{"resultCode":"SUCCESS","resultMessage":"success.","resultStatus":"S"}}"#,
        )
        .unwrap();
        assert!(ok.is_capture_success());
        assert!(!ok.is_capture_failure());
        assert_eq!(ok.capture_id.as_deref(), Some("2022XXXXXXX"));
        let failed: CaptureResultNotification = serde_json::from_str(
            r#"{"notifyType":"CAPTURE_RESULT","captureRequestId":"c","paymentId":"p",
                "result":{"resultCode":"PROCESS_FAIL","resultMessage":"fail.","resultStatus":"F"}}"#,
        )
        .unwrap();
        assert!(failed.is_capture_failure());
        assert!(!failed.is_capture_success());
    }
}
