//! Every result code the in-store APIs and `capture` document, per API, with its status and meaning.
//!
//! Classification uses `resultStatus` from the answer, not this table: Antom adds codes over
//! time and the status is what it commits to. The table is for humans (logs, alerts,
//! response-code mapping in the core) and for the simulator, which must answer with the
//! right status for each code it injects.

use crate::api::Api;
use crate::model::ResultStatus;

/// Which API a result code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeScope {
    /// One specific API.
    Api(Api),
    /// The `notifyPayment` webhook.
    NotifyPayment,
    /// The `notifyCapture` webhook (`CAPTURE_RESULT`).
    NotifyCapture,
    /// Protocol-level codes any API can return (signature, client, path, media type…);
    /// Antom processed nothing.
    AnyApi,
}

/// One row of the result-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultCodeInfo {
    /// Where the code appears.
    pub scope: CodeScope,
    /// The `resultCode`.
    pub code: &'static str,
    /// The `resultStatus` Antom pairs it with.
    pub status: ResultStatus,
    /// What it means, in a few words.
    pub meaning: &'static str,
}

const fn row(
    scope: CodeScope,
    code: &'static str,
    status: ResultStatus,
    meaning: &'static str,
) -> ResultCodeInfo {
    ResultCodeInfo {
        scope,
        code,
        status,
        meaning,
    }
}

use CodeScope::{AnyApi, NotifyCapture, NotifyPayment};
use ResultStatus::{Failed as F, Success as S, Unknown as U};

const PAY: CodeScope = CodeScope::Api(Api::Pay);
const INQ: CodeScope = CodeScope::Api(Api::InquiryPayment);
const CANCEL: CodeScope = CodeScope::Api(Api::Cancel);
const REFUND: CodeScope = CodeScope::Api(Api::Refund);
const INQ_REFUND: CodeScope = CodeScope::Api(Api::InquiryRefund);
const CAPTURE: CodeScope = CodeScope::Api(Api::Capture);
const SESSION: CodeScope = CodeScope::Api(Api::CreatePaymentSession);

/// The table. Scope-specific rows come before the protocol-level (`AnyApi`) rows.
pub const RESULT_CODES: &[ResultCodeInfo] = &[
    // pay (User-Presented Mode)
    row(PAY, "SUCCESS", S, "paid"),
    row(
        PAY,
        "PAYMENT_IN_PROCESS",
        U,
        "created, waiting for the wallet or the user",
    ),
    row(
        PAY,
        "UNKNOWN_EXCEPTION",
        U,
        "failed for an unknown reason; state unknown",
    ),
    row(
        PAY,
        "REQUEST_TRAFFIC_EXCEED_LIMIT",
        U,
        "rate limited; state unknown",
    ),
    row(PAY, "INVALID_PAYMENT_CODE", F, "payment code not accepted"),
    row(PAY, "INVALID_CODE", F, "old name of INVALID_PAYMENT_CODE"),
    row(PAY, "EXPIRED_CODE", F, "payment code expired"),
    row(
        PAY,
        "USER_BALANCE_NOT_ENOUGH",
        F,
        "insufficient wallet balance",
    ),
    row(PAY, "USER_AMOUNT_EXCEED_LIMIT", F, "above the user's limit"),
    row(
        PAY,
        "PAYMENT_AMOUNT_EXCEED_LIMIT",
        F,
        "above the contract or method maximum",
    ),
    row(PAY, "PAYMENT_COUNT_EXCEED_LIMIT", F, "too many payments"),
    row(PAY, "USER_KYC_NOT_QUALIFIED", F, "user KYC not sufficient"),
    row(PAY, "USER_NOT_EXIST", F, "user unknown to the wallet"),
    row(PAY, "USER_STATUS_ABNORMAL", F, "user account abnormal"),
    row(
        PAY,
        "USER_PAYMENT_VERIFICATION_FAILED",
        F,
        "user verification (PIN/OTP) failed",
    ),
    row(PAY, "RISK_REJECT", F, "rejected by risk control"),
    row(
        PAY,
        "FRAUD_REJECT",
        F,
        "rejected as fraud; refunded if already paid",
    ),
    row(PAY, "NO_PAY_OPTION", F, "no usable funding option"),
    row(
        PAY,
        "NO_PAY_OPTIONS",
        F,
        "no usable funding option (online spelling)",
    ),
    row(
        PAY,
        "PAYMENT_NOT_QUALIFIED",
        F,
        "merchant not qualified for this payment",
    ),
    row(PAY, "ORDER_NOT_EXIST", F, "order does not exist"),
    row(PAY, "PAYMENT_NOT_EXIST", F, "payment does not exist"),
    row(
        PAY,
        "ORDER_IS_CLOSED",
        F,
        "this paymentRequestId belongs to a closed payment",
    ),
    row(
        PAY,
        "ORDER_IS_CANCELED",
        F,
        "this paymentRequestId belongs to a cancelled payment",
    ),
    row(
        PAY,
        "REPEAT_REQ_INCONSISTENT",
        F,
        "same paymentRequestId, different key fields",
    ),
    row(PAY, "CURRENCY_NOT_SUPPORT", F, "currency not supported"),
    row(PAY, "INVALID_CONTRACT", F, "contract problem"),
    row(
        PAY,
        "SETTLE_CONTRACT_NOT_MATCH",
        F,
        "settlement contract does not match",
    ),
    row(
        PAY,
        "INVALID_MERCHANT_STATUS",
        F,
        "merchant status abnormal",
    ),
    row(
        PAY,
        "MERCHANT_KYB_NOT_QUALIFIED",
        F,
        "merchant KYB not sufficient",
    ),
    row(PAY, "MERCHANT_NOT_REGISTERED", F, "merchant not registered"),
    row(PAY, "ACCESS_DENIED", F, "access denied"),
    row(PAY, "PARAM_ILLEGAL", F, "missing or illegal field"),
    row(
        PAY,
        "PROCESS_FAIL",
        F,
        "general business failure; do not retry",
    ),
    row(PAY, "SYSTEM_ERROR", F, "system error; do not retry"),
    // pay, online cards (release notes 2023-08 to 2023-12)
    row(
        PAY,
        "CARD_NOT_SUPPORTED",
        F,
        "card brand or type not accepted",
    ),
    row(PAY, "INVALID_CARD_NUMBER", F, "card number not valid"),
    row(
        PAY,
        "INVALID_EXPIRATION_DATE",
        F,
        "card expiry date not valid",
    ),
    row(PAY, "DO_NOT_HONOR", F, "the issuer declined the card"),
    row(
        PAY,
        "INVALID_AMOUNT",
        F,
        "amount not accepted for this card",
    ),
    // inquiryPayment
    row(INQ, "SUCCESS", S, "inquiry succeeded; see paymentStatus"),
    row(INQ, "ORDER_NOT_EXIST", F, "no payment with this id (yet)"),
    row(INQ, "ACCESS_DENIED", F, "access denied"),
    row(INQ, "INVALID_API", F, "API not active"),
    row(INQ, "KEY_NOT_FOUND", F, "no key for this client id"),
    row(INQ, "NO_INTERFACE_DEF", F, "path not defined"),
    row(INQ, "PARAM_ILLEGAL", F, "missing or illegal field"),
    row(INQ, "PROCESS_FAIL", F, "general business failure"),
    row(INQ, "SYSTEM_ERROR", F, "system error"),
    row(INQ, "REQUEST_TRAFFIC_EXCEED_LIMIT", U, "rate limited"),
    row(INQ, "UNKNOWN_EXCEPTION", U, "failed for an unknown reason"),
    // cancel
    row(
        CANCEL,
        "SUCCESS",
        S,
        "cancelled (refunded if it had been paid)",
    ),
    row(
        CANCEL,
        "CANCEL_WINDOW_EXCEED",
        F,
        "past the cancel window; refund instead",
    ),
    row(
        CANCEL,
        "ORDER_NOT_EXIST",
        F,
        "no payment with this id (yet)",
    ),
    row(
        CANCEL,
        "ORDER_STATUS_INVALID",
        F,
        "the payment's status does not allow cancel",
    ),
    row(
        CANCEL,
        "PROCESS_FAIL",
        F,
        "e.g. already (partly) refunded; do not retry",
    ),
    row(CANCEL, "CLIENT_INVALID", F, "client id invalid"),
    row(CANCEL, "ACCESS_DENIED", F, "access denied"),
    row(CANCEL, "KEY_NOT_FOUND", F, "no key for this client id"),
    row(CANCEL, "PARAM_ILLEGAL", F, "missing or illegal field"),
    row(CANCEL, "NO_INTERFACE_DEF", F, "path not defined"),
    row(
        CANCEL,
        "INVALID_SIGNATURE",
        F,
        "request signature invalid; nothing done",
    ),
    row(
        CANCEL,
        "UNKNOWN_EXCEPTION",
        U,
        "failed for an unknown reason; retry",
    ),
    row(
        CANCEL,
        "REQUEST_TRAFFIC_EXCEED_LIMIT",
        U,
        "rate limited; retry with back-off",
    ),
    // refund
    row(REFUND, "SUCCESS", S, "refunded"),
    row(
        REFUND,
        "REFUND_AMOUNT_EXCEED",
        F,
        "total refunds would exceed the payment",
    ),
    row(
        REFUND,
        "REFUND_WINDOW_EXCEED",
        F,
        "outside the refund window",
    ),
    row(
        REFUND,
        "ORDER_STATUS_INVALID",
        F,
        "payment in process or failed",
    ),
    row(REFUND, "ORDER_IS_CANCELED", F, "payment was cancelled"),
    row(REFUND, "ORDER_NOT_EXIST", F, "unknown paymentId"),
    row(REFUND, "ORDER_IS_CLOSED", F, "payment closed"),
    row(
        REFUND,
        "MERCHANT_BALANCE_NOT_ENOUGH",
        F,
        "merchant balance insufficient; new id later",
    ),
    row(
        REFUND,
        "MULTIPLE_REFUNDS_NOT_SUPPORTED",
        F,
        "contract forbids multiple refunds",
    ),
    row(
        REFUND,
        "REFUND_NOT_SUPPORTED",
        F,
        "method or contract forbids refunds",
    ),
    row(
        REFUND,
        "PARTIAL_REFUND_NOT_SUPPORTED",
        F,
        "partial refunds not allowed",
    ),
    row(
        REFUND,
        "REPEAT_REQ_INCONSISTENT",
        F,
        "same refundRequestId, different amount",
    ),
    row(REFUND, "RISK_REJECT", F, "rejected by risk control"),
    row(REFUND, "ACCESS_DENIED", F, "access denied"),
    row(REFUND, "API_INVALID", F, "API not active"),
    row(REFUND, "CURRENCY_NOT_SUPPORT", F, "currency not supported"),
    row(
        REFUND,
        "INVALID_MERCHANT_STATUS",
        F,
        "merchant status abnormal",
    ),
    row(REFUND, "KEY_NOT_FOUND", F, "no key for this client id"),
    row(REFUND, "NO_INTERFACE_DEF", F, "path not defined"),
    row(REFUND, "PARAM_ILLEGAL", F, "missing or illegal field"),
    row(REFUND, "PROCESS_FAIL", F, "general business failure"),
    row(REFUND, "SYSTEM_ERROR", F, "system error"),
    row(
        REFUND,
        "UNKNOWN_EXCEPTION",
        U,
        "unknown; retry with the same refundRequestId",
    ),
    row(
        REFUND,
        "REQUEST_TRAFFIC_EXCEED_LIMIT",
        U,
        "rate limited; retry",
    ),
    // inquiryRefund
    row(
        INQ_REFUND,
        "SUCCESS",
        S,
        "inquiry succeeded; see refundStatus",
    ),
    row(INQ_REFUND, "ACCESS_DENIED", F, "access denied"),
    row(INQ_REFUND, "INVALID_API", F, "API not active"),
    row(INQ_REFUND, "KEY_NOT_FOUND", F, "no key for this client id"),
    row(INQ_REFUND, "NO_INTERFACE_DEF", F, "path not defined"),
    row(
        INQ_REFUND,
        "ORDER_NOT_EXIST",
        F,
        "no refund with this id (yet)",
    ),
    row(INQ_REFUND, "PARAM_ILLEGAL", F, "missing or illegal field"),
    row(INQ_REFUND, "PROCESS_FAIL", F, "general business failure"),
    row(INQ_REFUND, "SYSTEM_ERROR", F, "system error"),
    row(
        INQ_REFUND,
        "REQUEST_TRAFFIC_EXCEED_LIMIT",
        U,
        "rate limited",
    ),
    row(
        INQ_REFUND,
        "UNKNOWN_EXCEPTION",
        U,
        "failed for an unknown reason",
    ),
    // createPaymentSession (seed 002; the full per-code table was not found)
    row(SESSION, "SUCCESS", S, "session created"),
    row(
        SESSION,
        "UNKNOWN_EXCEPTION",
        U,
        "unknown; create a new session with a new paymentRequestId",
    ),
    row(
        SESSION,
        "REPEAT_REQ_INCONSISTENT",
        F,
        "the paymentRequestId was used with other key fields",
    ),
    // capture (online cards)
    row(CAPTURE, "SUCCESS", S, "captured"),
    row(
        CAPTURE,
        "CAPTURE_IN_PROCESS",
        U,
        "capture processing; wait for CAPTURE_RESULT or inquire",
    ),
    row(
        CAPTURE,
        "UNKNOWN_EXCEPTION",
        U,
        "unknown; retry with the same captureRequestId",
    ),
    row(
        CAPTURE,
        "REQUEST_TRAFFIC_EXCEED_LIMIT",
        U,
        "rate limited; retry with the same captureRequestId",
    ),
    row(
        CAPTURE,
        "AUTH_CANCELLED",
        F,
        "the authorization was cancelled",
    ),
    row(CAPTURE, "AUTH_EXPIRED", F, "the authorization expired"),
    row(CAPTURE, "AUTH_NOT_FOUND", F, "no such authorization"),
    row(
        CAPTURE,
        "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT",
        F,
        "total capture above the authorized amount",
    ),
    row(
        CAPTURE,
        "MULTI_CAPTURE_NOT_SUPPORTED",
        F,
        "the payment was already captured",
    ),
    row(
        CAPTURE,
        "PAYMENT_COUNT_EXCEED_LIMIT",
        F,
        "too many captures",
    ),
    row(CAPTURE, "ORDER_IS_CANCELED", F, "the payment was cancelled"),
    row(
        CAPTURE,
        "ORDER_STATUS_INVALID",
        F,
        "the payment's status does not allow capture",
    ),
    row(CAPTURE, "CURRENCY_NOT_SUPPORT", F, "currency not supported"),
    row(CAPTURE, "INVALID_CONTRACT", F, "contract problem"),
    row(CAPTURE, "NO_PAY_OPTIONS", F, "no usable funding option"),
    row(CAPTURE, "ACCESS_DENIED", F, "access denied"),
    row(CAPTURE, "PARAM_ILLEGAL", F, "missing or illegal field"),
    row(
        CAPTURE,
        "PROCESS_FAIL",
        F,
        "capture failed; do not retry, handle by hand",
    ),
    row(
        CAPTURE,
        "REPEAT_REQ_INCONSISTENT",
        F,
        "same captureRequestId, different fields",
    ),
    row(CAPTURE, "RISK_REJECT", F, "rejected by risk control"),
    row(
        CAPTURE,
        "USER_AMOUNT_EXCEED_LIMIT",
        F,
        "above the buyer's limit",
    ),
    row(CAPTURE, "USER_BALANCE_NOT_ENOUGH", F, "insufficient funds"),
    row(CAPTURE, "USER_NOT_EXIST", F, "buyer unknown"),
    row(CAPTURE, "USER_STATUS_ABNORMAL", F, "buyer account abnormal"),
    // notifyPayment
    row(NotifyPayment, "SUCCESS", S, "the payment succeeded"),
    row(
        NotifyPayment,
        "ORDER_IS_CLOSED",
        F,
        "the payment closed unpaid",
    ),
    row(
        NotifyPayment,
        "CARD_NOT_SUPPORTED",
        F,
        "card brand or type not accepted",
    ),
    row(
        NotifyPayment,
        "INVALID_CARD_NUMBER",
        F,
        "card number not valid",
    ),
    row(
        NotifyPayment,
        "INVALID_EXPIRATION_DATE",
        F,
        "card expiry date not valid",
    ),
    row(
        NotifyPayment,
        "DO_NOT_HONOR",
        F,
        "the issuer declined the card",
    ),
    row(
        NotifyPayment,
        "USER_BALANCE_NOT_ENOUGH",
        F,
        "insufficient balance or funds",
    ),
    // notifyCapture
    row(NotifyCapture, "SUCCESS", S, "the capture succeeded"),
    row(NotifyCapture, "PROCESS_FAIL", F, "the capture failed"),
    // protocol level, any API: nothing was processed
    row(
        AnyApi,
        "INVALID_SIGNATURE",
        F,
        "request signature does not verify",
    ),
    row(
        AnyApi,
        "SIGNATURE_INVALID",
        F,
        "request signature does not verify (other spelling)",
    ),
    row(
        AnyApi,
        "KEY_NOT_FOUND",
        F,
        "no key for this client id or key version",
    ),
    row(AnyApi, "CLIENT_INVALID", F, "client id invalid"),
    row(
        AnyApi,
        "INVALID_CLIENT",
        F,
        "client id invalid (older spelling)",
    ),
    row(AnyApi, "UNKNOWN_CLIENT", F, "client id unknown"),
    row(AnyApi, "INVALID_CLIENT_STATUS", F, "client status invalid"),
    row(
        AnyApi,
        "CLIENT_FORBIDDEN_ACCESS_API",
        F,
        "client may not call this API",
    ),
    row(AnyApi, "ACCESS_DENIED", F, "access denied"),
    row(
        AnyApi,
        "INVALID_API",
        F,
        "API not active or wrong call format",
    ),
    row(AnyApi, "API_INVALID", F, "API not active (other spelling)"),
    row(AnyApi, "NO_INTERFACE_DEF", F, "path not defined"),
    row(AnyApi, "METHOD_NOT_SUPPORTED", F, "not POST"),
    row(AnyApi, "MEDIA_TYPE_NOT_ACCEPTABLE", F, "bad Content-Type"),
    row(
        AnyApi,
        "PARAM_ILLEGAL",
        F,
        "missing or illegal header or field",
    ),
    row(
        AnyApi,
        "MERCHANT_NOT_REGISTERED",
        F,
        "sub-merchant not registered",
    ),
    row(AnyApi, "OAUTH_FAILED", F, "agent-token problem"),
];

/// Looks a code up for an API: the API's own row first, then the protocol-level rows.
pub fn lookup_result_code(api: Api, code: &str) -> Option<&'static ResultCodeInfo> {
    RESULT_CODES
        .iter()
        .find(|r| r.scope == CodeScope::Api(api) && r.code == code)
        .or_else(|| {
            RESULT_CODES
                .iter()
                .find(|r| r.scope == CodeScope::AnyApi && r.code == code)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes antom-api.md lists, per API, with their documented status. Kept here in our
    /// own test so that removing a row from the table fails loudly.
    const DOC: &[(Api, &[(&str, ResultStatus)])] = &[
        (
            Api::Pay,
            &[
                ("SUCCESS", S),
                ("PAYMENT_IN_PROCESS", U),
                ("UNKNOWN_EXCEPTION", U),
                ("REQUEST_TRAFFIC_EXCEED_LIMIT", U),
                ("INVALID_PAYMENT_CODE", F),
                ("INVALID_CODE", F),
                ("EXPIRED_CODE", F),
                ("USER_BALANCE_NOT_ENOUGH", F),
                ("USER_AMOUNT_EXCEED_LIMIT", F),
                ("PAYMENT_AMOUNT_EXCEED_LIMIT", F),
                ("PAYMENT_COUNT_EXCEED_LIMIT", F),
                ("USER_KYC_NOT_QUALIFIED", F),
                ("USER_NOT_EXIST", F),
                ("USER_STATUS_ABNORMAL", F),
                ("USER_PAYMENT_VERIFICATION_FAILED", F),
                ("RISK_REJECT", F),
                ("FRAUD_REJECT", F),
                ("NO_PAY_OPTION", F),
                ("NO_PAY_OPTIONS", F),
                ("PAYMENT_NOT_QUALIFIED", F),
                ("ORDER_NOT_EXIST", F),
                ("PAYMENT_NOT_EXIST", F),
                ("ORDER_IS_CLOSED", F),
                ("ORDER_IS_CANCELED", F),
                ("REPEAT_REQ_INCONSISTENT", F),
                ("CURRENCY_NOT_SUPPORT", F),
                ("INVALID_CONTRACT", F),
                ("SETTLE_CONTRACT_NOT_MATCH", F),
                ("INVALID_MERCHANT_STATUS", F),
                ("MERCHANT_KYB_NOT_QUALIFIED", F),
                ("MERCHANT_NOT_REGISTERED", F),
                ("ACCESS_DENIED", F),
                ("PARAM_ILLEGAL", F),
                ("PROCESS_FAIL", F),
                ("SYSTEM_ERROR", F),
                ("CARD_NOT_SUPPORTED", F),
                ("INVALID_CARD_NUMBER", F),
                ("INVALID_EXPIRATION_DATE", F),
                ("DO_NOT_HONOR", F),
                ("INVALID_AMOUNT", F),
            ],
        ),
        (
            Api::InquiryPayment,
            &[
                ("SUCCESS", S),
                ("ORDER_NOT_EXIST", F),
                ("ACCESS_DENIED", F),
                ("INVALID_API", F),
                ("KEY_NOT_FOUND", F),
                ("NO_INTERFACE_DEF", F),
                ("PARAM_ILLEGAL", F),
                ("PROCESS_FAIL", F),
                ("SYSTEM_ERROR", F),
                ("REQUEST_TRAFFIC_EXCEED_LIMIT", U),
                ("UNKNOWN_EXCEPTION", U),
            ],
        ),
        (
            Api::Cancel,
            &[
                ("SUCCESS", S),
                ("CANCEL_WINDOW_EXCEED", F),
                ("ORDER_NOT_EXIST", F),
                ("ORDER_STATUS_INVALID", F),
                ("PROCESS_FAIL", F),
                ("CLIENT_INVALID", F),
                ("ACCESS_DENIED", F),
                ("KEY_NOT_FOUND", F),
                ("PARAM_ILLEGAL", F),
                ("NO_INTERFACE_DEF", F),
                ("INVALID_SIGNATURE", F),
                ("UNKNOWN_EXCEPTION", U),
                ("REQUEST_TRAFFIC_EXCEED_LIMIT", U),
            ],
        ),
        (
            Api::Refund,
            &[
                ("SUCCESS", S),
                ("REFUND_AMOUNT_EXCEED", F),
                ("REFUND_WINDOW_EXCEED", F),
                ("ORDER_STATUS_INVALID", F),
                ("ORDER_IS_CANCELED", F),
                ("ORDER_NOT_EXIST", F),
                ("ORDER_IS_CLOSED", F),
                ("MERCHANT_BALANCE_NOT_ENOUGH", F),
                ("MULTIPLE_REFUNDS_NOT_SUPPORTED", F),
                ("REFUND_NOT_SUPPORTED", F),
                ("PARTIAL_REFUND_NOT_SUPPORTED", F),
                ("REPEAT_REQ_INCONSISTENT", F),
                ("RISK_REJECT", F),
                ("ACCESS_DENIED", F),
                ("API_INVALID", F),
                ("CURRENCY_NOT_SUPPORT", F),
                ("INVALID_MERCHANT_STATUS", F),
                ("KEY_NOT_FOUND", F),
                ("NO_INTERFACE_DEF", F),
                ("PARAM_ILLEGAL", F),
                ("PROCESS_FAIL", F),
                ("SYSTEM_ERROR", F),
                ("UNKNOWN_EXCEPTION", U),
                ("REQUEST_TRAFFIC_EXCEED_LIMIT", U),
            ],
        ),
        (
            Api::InquiryRefund,
            &[
                ("SUCCESS", S),
                ("ACCESS_DENIED", F),
                ("INVALID_API", F),
                ("KEY_NOT_FOUND", F),
                ("NO_INTERFACE_DEF", F),
                ("ORDER_NOT_EXIST", F),
                ("PARAM_ILLEGAL", F),
                ("PROCESS_FAIL", F),
                ("SYSTEM_ERROR", F),
                ("REQUEST_TRAFFIC_EXCEED_LIMIT", U),
                ("UNKNOWN_EXCEPTION", U),
            ],
        ),
    ];

    /// The capture table of antom-online-api.md §5 (the official page's complete list).
    const CAPTURE_DOC: &[(&str, ResultStatus)] = &[
        ("SUCCESS", S),
        ("CAPTURE_IN_PROCESS", U),
        ("UNKNOWN_EXCEPTION", U),
        ("AUTH_CANCELLED", F),
        ("AUTH_EXPIRED", F),
        ("AUTH_NOT_FOUND", F),
        ("CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT", F),
        ("MULTI_CAPTURE_NOT_SUPPORTED", F),
        ("PAYMENT_COUNT_EXCEED_LIMIT", F),
        ("ORDER_IS_CANCELED", F),
        ("ORDER_STATUS_INVALID", F),
        ("CURRENCY_NOT_SUPPORT", F),
        ("INVALID_CONTRACT", F),
        ("NO_PAY_OPTIONS", F),
        ("ACCESS_DENIED", F),
        ("PARAM_ILLEGAL", F),
        ("PROCESS_FAIL", F),
        ("REPEAT_REQ_INCONSISTENT", F),
        ("RISK_REJECT", F),
        ("USER_AMOUNT_EXCEED_LIMIT", F),
        ("USER_BALANCE_NOT_ENOUGH", F),
        ("USER_NOT_EXIST", F),
        ("USER_STATUS_ABNORMAL", F),
    ];

    #[test]
    fn capture_codes_are_classified_as_documented() {
        for (code, status) in CAPTURE_DOC {
            let row = lookup_result_code(Api::Capture, code)
                .unwrap_or_else(|| panic!("capture: {code} missing"));
            assert_eq!(row.scope, CodeScope::Api(Api::Capture), "{code}");
            assert_eq!(row.status, *status, "capture: {code}");
        }
        // The U codes are the ones to retry with the same captureRequestId.
        let unknown: Vec<_> = RESULT_CODES
            .iter()
            .filter(|r| r.scope == CodeScope::Api(Api::Capture) && r.status == U)
            .map(|r| r.code)
            .collect();
        assert_eq!(
            unknown,
            [
                "CAPTURE_IN_PROCESS",
                "UNKNOWN_EXCEPTION",
                "REQUEST_TRAFFIC_EXCEED_LIMIT"
            ]
        );
        // Protocol-level codes reach capture too.
        assert_eq!(
            lookup_result_code(Api::Capture, "INVALID_SIGNATURE")
                .unwrap()
                .scope,
            CodeScope::AnyApi
        );
    }

    const PROTOCOL: &[&str] = &[
        "INVALID_SIGNATURE",
        "SIGNATURE_INVALID",
        "KEY_NOT_FOUND",
        "CLIENT_INVALID",
        "INVALID_CLIENT",
        "UNKNOWN_CLIENT",
        "INVALID_CLIENT_STATUS",
        "CLIENT_FORBIDDEN_ACCESS_API",
        "ACCESS_DENIED",
        "INVALID_API",
        "API_INVALID",
        "NO_INTERFACE_DEF",
        "METHOD_NOT_SUPPORTED",
        "MEDIA_TYPE_NOT_ACCEPTABLE",
        "PARAM_ILLEGAL",
        "MERCHANT_NOT_REGISTERED",
        "OAUTH_FAILED",
    ];

    #[test]
    fn every_documented_code_is_in_the_table_with_its_status() {
        for (api, codes) in DOC {
            for (code, status) in *codes {
                let row = RESULT_CODES
                    .iter()
                    .find(|r| r.scope == CodeScope::Api(*api) && r.code == *code)
                    .unwrap_or_else(|| panic!("{api}: {code} missing"));
                assert_eq!(row.status, *status, "{api}: {code}");
                assert!(!row.meaning.is_empty());
            }
        }
        for code in PROTOCOL {
            for api in Api::ALL {
                let row = lookup_result_code(api, code).unwrap();
                assert_eq!(row.status, F, "{code} is protocol-level and always F");
            }
        }
    }

    #[test]
    fn no_duplicate_rows() {
        for (i, a) in RESULT_CODES.iter().enumerate() {
            for b in &RESULT_CODES[i + 1..] {
                assert!(
                    !(a.scope == b.scope && a.code == b.code),
                    "duplicate {:?} {}",
                    a.scope,
                    a.code
                );
            }
        }
    }

    #[test]
    fn order_not_exist_is_a_failure_on_inquiry_and_cancel() {
        for api in [Api::InquiryPayment, Api::Cancel] {
            assert_eq!(
                lookup_result_code(api, "ORDER_NOT_EXIST").unwrap().status,
                F
            );
        }
        assert_eq!(
            lookup_result_code(Api::Pay, "PAYMENT_IN_PROCESS")
                .unwrap()
                .status,
            U
        );
        assert!(lookup_result_code(Api::Pay, "NOT_A_CODE").is_none());
        // Protocol-level rows apply to every API.
        assert_eq!(
            lookup_result_code(Api::InquiryRefund, "SIGNATURE_INVALID")
                .unwrap()
                .scope,
            CodeScope::AnyApi
        );
    }
}
