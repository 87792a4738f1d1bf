//! `capture` and `CAPTURE_RESULT` end to end through the public API: a signed request on the
//! right path, each answer class classified, the notification verified and routed, and the
//! card fields of payment answers read from the reference's sample shapes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use asw_antom::api::AntomResponse;
use asw_antom::{
    Amount, Api, CaptureRequest, CaptureResponse, ClientCredentials, InquiryPaymentResponse,
    Notification, Outcome, PayResponse, Signer, UnknownReason, Verifier, WebhookError,
    build_request, parse_response, verify_notification,
};
use bytes::Bytes;

const ANTOM_PRIVATE: &str = include_str!("../testdata/antom_private_pkcs1.pem");
const ANTOM_PUBLIC: &str = include_str!("../testdata/antom_public.b64");
const MERCHANT_PRIVATE: &str = include_str!("../testdata/merchant_private_pkcs8.b64");
const CLIENT: &str = "SANDBOX_5YTEST00000000000";
const LIVE_CLIENT: &str = "5YTEST00000000000";
const CAPTURE_PATH: &str = "/ams/sandbox/api/v1/payments/capture";
const RESPONSE_TIME: &str = "2023-11-14T06:13:21-08:00";

fn antom() -> Signer {
    Signer::from_private_key(ANTOM_PRIVATE, 1).unwrap()
}

fn verifier() -> Verifier {
    Verifier::from_public_key(ANTOM_PUBLIC).unwrap()
}

fn signed(body: &str) -> http::Response<Bytes> {
    let signature = antom()
        .signature_header(CAPTURE_PATH, CLIENT, RESPONSE_TIME, body.as_bytes())
        .unwrap();
    http::Response::builder()
        .status(200)
        .header("client-id", CLIENT)
        .header("response-time", RESPONSE_TIME)
        .header("signature", signature)
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn parse(response: &http::Response<Bytes>) -> Outcome<CaptureResponse> {
    parse_response(&verifier(), CLIENT, CAPTURE_PATH, response)
}

#[test]
fn capture_is_an_api_with_its_paths() {
    assert_eq!(Api::Capture.path(), "/ams/api/v1/payments/capture");
    assert_eq!(Api::Capture.label(), "capture");
    assert_eq!(Api::from_path(CAPTURE_PATH), Some(Api::Capture));
    assert_eq!(
        Api::from_path("/ams/api/v1/payments/capture?x=1"),
        Some(Api::Capture)
    );
    assert!(Api::ALL.contains(&Api::Capture));
}

#[test]
fn the_request_is_signed_on_the_capture_path() {
    let merchant = Arc::new(Signer::from_private_key(MERCHANT_PRIVATE, 1).unwrap());
    for (client, path) in [
        (CLIENT, CAPTURE_PATH),
        (LIVE_CLIENT, "/ams/api/v1/payments/capture"),
    ] {
        let credentials = ClientCredentials::new(client, Arc::clone(&merchant));
        let body = CaptureRequest::new("cap-1", "2025P1", Amount::minor("SGD", 4200));
        let built = build_request(&credentials, &body, 1_700_000_000_000).unwrap();
        assert_eq!(built.path, path);
        assert_eq!(built.request.uri().path(), path);
        let sent: serde_json::Value = serde_json::from_slice(built.request.body()).unwrap();
        assert_eq!(sent["captureRequestId"], "cap-1");
        assert_eq!(sent["captureAmount"]["value"], "4200");
    }
}

#[test]
fn each_answer_class_is_classified() {
    let ok = r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success."},
        "captureRequestId":"cap-1","captureId":"2025C1","paymentId":"2025P1",
        "captureAmount":{"currency":"SGD","value":"4200"},"captureTime":"2025-06-01T09:59:17-07:00"}"#;
    match parse(&signed(ok)) {
        Outcome::Success(r) => {
            assert_eq!(r.capture_id.as_deref(), Some("2025C1"));
            assert_eq!(r.capture_amount, Some(Amount::minor("SGD", 4200)));
        }
        other => panic!("{other:?}"),
    }
    // S without captureId: not trusted.
    let no_id =
        r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"},"captureRequestId":"cap-1"}"#;
    assert_eq!(
        parse(&signed(no_id)),
        Outcome::Unknown(UnknownReason::IncompleteSuccess("captureId"))
    );
    for code in [
        "AUTH_EXPIRED",
        "MULTI_CAPTURE_NOT_SUPPORTED",
        "REPEAT_REQ_INCONSISTENT",
        "ORDER_IS_CANCELED",
    ] {
        let body = format!(r#"{{"result":{{"resultCode":"{code}","resultStatus":"F"}}}}"#);
        match parse(&signed(&body)) {
            Outcome::Failed { result_code, .. } => assert_eq!(result_code, code),
            other => panic!("{code}: {other:?}"),
        }
        assert_eq!(
            asw_antom::lookup_result_code(Api::Capture, code)
                .unwrap()
                .status
                .as_str(),
            "F"
        );
    }
    // Both U codes are Unknown (retry with the same captureRequestId), never InProcess.
    for code in ["CAPTURE_IN_PROCESS", "UNKNOWN_EXCEPTION"] {
        let body = format!(r#"{{"result":{{"resultCode":"{code}","resultStatus":"U"}}}}"#);
        assert!(
            matches!(parse(&signed(&body)), Outcome::Unknown(UnknownReason::ResultUnknown { ref result_code, .. }) if result_code == code),
            "{code}"
        );
    }
    // Unsigned S: unknown.
    let mut unsigned = signed(ok);
    unsigned.headers_mut().remove("signature");
    assert!(matches!(
        parse(&unsigned),
        Outcome::Unknown(UnknownReason::Unsigned { .. })
    ));
}

fn notify(body: &str, signer: &Signer) -> Result<Notification, WebhookError> {
    let path = "/antom/notify";
    let sig = signer
        .signature_header(path, CLIENT, "1700000000000", body.as_bytes())
        .unwrap();
    let mut h = http::HeaderMap::new();
    h.insert("client-id", CLIENT.parse().unwrap());
    h.insert("request-time", "1700000000000".parse().unwrap());
    h.insert("signature", sig.parse().unwrap());
    verify_notification(&verifier(), path, &h, body.as_bytes())
}

#[test]
fn capture_result_notifications_are_verified_and_routed() {
    let ok = r#"{"captureAmount":{"currency":"SGD","value":"4200"},"notifyType":"CAPTURE_RESULT",
        "captureId":"2022XXXXXXX","captureRequestId":"captureRequestId01",
        "captureTime":"2022-11-10T00:34:52-08:00","paymentId":"2022XXXXXXX",
        "result":{"resultCode":"SUCCESS","resultMessage":"success.","resultStatus":"S"}}"#;
    match notify(ok, &antom()).unwrap() {
        Notification::Capture(c) => {
            assert!(c.is_capture_success());
            assert_eq!(c.capture_request_id, "captureRequestId01");
            assert_eq!(c.payment_id, "2022XXXXXXX");
            assert_eq!(c.capture_amount, Some(Amount::minor("SGD", 4200)));
        }
        other => panic!("{other:?}"),
    }
    let failed = ok
        .replace(
            r#""resultCode":"SUCCESS""#,
            r#""resultCode":"PROCESS_FAIL""#,
        )
        .replace(r#""resultStatus":"S""#, r#""resultStatus":"F""#);
    assert!(matches!(
        notify(&failed, &antom()).unwrap(),
        Notification::Capture(c) if c.is_capture_failure()
    ));
    // Signed by someone else: refused.
    let merchant = Signer::from_private_key(MERCHANT_PRIVATE, 1).unwrap();
    assert!(matches!(
        notify(ok, &merchant),
        Err(WebhookError::BadSignature(_))
    ));
    // A capture result without its ids cannot be matched: unreadable, not ignored.
    assert!(matches!(
        notify(
            r#"{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"}}"#,
            &antom()
        ),
        Err(WebhookError::Unparsable(_))
    ));
}

#[test]
fn card_payment_answers_carry_payment_result_info_and_auth_expiry() {
    // The hosted-mode guide's immediate authorization answer.
    let pay: PayResponse = serde_json::from_str(
        r#"{"paymentAmount":{"currency":"SGD","value":"4200"},"paymentCreateTime":"2021-11-12T01:27:50-08:00",
            "paymentId":"20211112194010800100188570271832381","paymentRequestId":"paymentRequestId01",
            "paymentResultInfo":{"avsResultRaw":"A","cvvResultRaw":"Y","networkTransactionId":"sampleNetworkTransactionId123456"},
            "result":{"resultCode":"SUCCESS","resultMessage":"success.","resultStatus":"S"}}"#,
    )
    .unwrap();
    assert!(pay.missing_on_success().is_none());
    let info = pay.payment.payment_result_info.as_ref().unwrap();
    assert_eq!(
        info.network_transaction_id.as_deref(),
        Some("sampleNetworkTransactionId123456")
    );
    let again: serde_json::Value = serde_json::to_value(&pay).unwrap();
    assert_eq!(again["paymentResultInfo"]["cvvResultRaw"], "Y");

    let inquiry: InquiryPaymentResponse = serde_json::from_str(
        r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"},"paymentStatus":"SUCCESS",
            "authExpiryTime":"2025-06-08T01:27:50-07:00",
            "paymentResultInfo":{"cardNo":"************4242","cardBrand":"VISA","lastFour":"4242",
                "cardToken":"ALIPAY5ITT==","funding":"CREDIT"},
            "transactions":[{"transactionType":"CAPTURE","transactionStatus":"SUCCESS",
                "transactionRequestId":"cap-1","transactionId":"2025C1",
                "transactionAmount":{"currency":"SGD","value":"4200"},
                "transactionResult":{"resultStatus":"S","resultCode":"SUCCESS","resultMessage":"success"}}]}"#,
    )
    .unwrap();
    assert_eq!(
        inquiry.payment.auth_expiry_time.as_deref(),
        Some("2025-06-08T01:27:50-07:00")
    );
    let info = inquiry.payment.payment_result_info.as_ref().unwrap();
    assert_eq!(info.card_no.as_deref(), Some("************4242"));
    assert_eq!(info.card_brand.as_deref(), Some("VISA"));
    assert_eq!(info.last_four.as_deref(), Some("4242"));
    assert_eq!(info.card_token.as_deref(), Some("ALIPAY5ITT=="));
    let capture = &inquiry.transactions.as_ref().unwrap()[0];
    assert_eq!(capture.transaction_type.as_deref(), Some("CAPTURE"));
    assert_eq!(capture.transaction_request_id.as_deref(), Some("cap-1"));
}
