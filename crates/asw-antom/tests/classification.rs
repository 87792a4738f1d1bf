//! Every kind of answer ends in exactly one of Success / Failed / Unknown, and only signed
//! answers can be anything but Unknown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use asw_antom::api::AntomResponse;
use asw_antom::signature::SignatureError;
use asw_antom::{
    CancelResponse, InquiryPaymentResponse, InquiryRefundResponse, Notification, Outcome,
    PayResponse, PaymentStatus, RefundResponse, RefundStatus, ResultStatus, Signer, UnknownReason,
    Verifier, parse_response, verify_notification,
};
use bytes::Bytes;

const ANTOM_PRIVATE: &str = include_str!("../testdata/antom_private_pkcs1.pem");
const ANTOM_PUBLIC: &str = include_str!("../testdata/antom_public.b64");
const MERCHANT_PRIVATE: &str = include_str!("../testdata/merchant_private_pkcs8.b64");
const CLIENT: &str = "SANDBOX_5YTEST00000000000";
const PAY_PATH: &str = "/ams/sandbox/api/v1/payments/pay";
const RESPONSE_TIME: &str = "2023-11-14T06:13:21-08:00";

fn antom() -> Signer {
    Signer::from_private_key(ANTOM_PRIVATE, 1).unwrap()
}

fn verifier() -> Verifier {
    Verifier::from_public_key(ANTOM_PUBLIC).unwrap()
}

fn signed_by(signer: &Signer, path: &str, status: u16, body: &str) -> http::Response<Bytes> {
    let signature = signer
        .signature_header(path, CLIENT, RESPONSE_TIME, body.as_bytes())
        .unwrap();
    http::Response::builder()
        .status(status)
        .header("client-id", CLIENT)
        .header("response-time", RESPONSE_TIME)
        .header("signature", signature)
        .header("content-type", "application/json; charset=UTF-8")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn signed(path: &str, body: &str) -> http::Response<Bytes> {
    signed_by(&antom(), path, 200, body)
}

fn parse<T: AntomResponse>(path: &str, response: &http::Response<Bytes>) -> Outcome<T> {
    parse_response(&verifier(), CLIENT, path, response)
}

const F_BODY: &str = r#"{"result":{"resultCode":"USER_BALANCE_NOT_ENOUGH","resultStatus":"F","resultMessage":"balance"}}"#;
const S_BODY: &str = r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success."},"paymentId":"P1","paymentRequestId":"R1"}"#;

#[test]
fn signed_s_f_u() {
    match parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, S_BODY)) {
        Outcome::Success(p) => assert_eq!(p.payment.payment_id.as_deref(), Some("P1")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, F_BODY)),
        Outcome::Failed {
            result_code: "USER_BALANCE_NOT_ENOUGH".into(),
            message: "balance".into()
        }
    );
    let u = include_str!("../testdata/sdk_samples/pay_unknown.json");
    let outcome = parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, u));
    assert_eq!(outcome.status(), ResultStatus::Unknown);
    assert!(matches!(
        outcome,
        Outcome::Unknown(UnknownReason::ResultUnknown { ref result_code, .. }) if result_code == "UNKNOWN_EXCEPTION"
    ));
    let in_process = r#"{"result":{"resultCode":"PAYMENT_IN_PROCESS","resultStatus":"U","resultMessage":"wait"},"paymentId":"P1"}"#;
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, in_process)),
        Outcome::Unknown(UnknownReason::ResultUnknown { .. })
    ));
}

#[test]
fn non_200_is_unknown_even_when_signed_f() {
    for status in [201, 302, 400, 404, 500, 502, 503, 504] {
        assert_eq!(
            parse::<PayResponse>(PAY_PATH, &signed_by(&antom(), PAY_PATH, status, F_BODY)),
            Outcome::Unknown(UnknownReason::HttpStatus(status))
        );
    }
}

#[test]
fn empty_and_html_and_truncated_bodies_are_unknown() {
    for body in ["", "  \n"] {
        assert_eq!(
            parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, body)),
            Outcome::Unknown(UnknownReason::EmptyBody)
        );
    }
    for body in [
        "<html><body>502 Bad Gateway</body></html>",
        r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S""#,
        r#"{"noResult":true}"#,
        r#"{"result":{"resultCode":"SUCCESS","resultStatus":"X"}}"#,
        "[]",
        "null",
    ] {
        let outcome = parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, body));
        assert!(
            matches!(outcome, Outcome::Unknown(UnknownReason::Unparsable(_))),
            "{body}: {outcome:?}"
        );
    }
    // Unparsable and unsigned: still Unknown (Unsigned wins, nothing claimed).
    let html = http::Response::builder()
        .status(200)
        .body(Bytes::from_static(b"<html>oops</html>"))
        .unwrap();
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &html),
        Outcome::Unknown(UnknownReason::Unsigned {
            claimed_status: None,
            ..
        })
    ));
}

#[test]
fn unsigned_answers_are_unknown_whatever_they_claim() {
    for (body, claimed) in [
        (S_BODY, ResultStatus::Success),
        (F_BODY, ResultStatus::Failed),
    ] {
        let unsigned = http::Response::builder()
            .status(200)
            .header("client-id", CLIENT)
            .header("response-time", RESPONSE_TIME)
            .body(Bytes::from(body.to_owned()))
            .unwrap();
        let outcome = parse::<PayResponse>(PAY_PATH, &unsigned);
        match &outcome {
            Outcome::Unknown(
                reason @ UnknownReason::Unsigned {
                    error,
                    claimed_status,
                    ..
                },
            ) => {
                assert_eq!(*error, SignatureError::Missing);
                assert_eq!(*claimed_status, Some(claimed));
                assert!(reason.is_signature_failure());
            }
            other => panic!("{other:?}"),
        }
    }
    // Antom's own rejection of our signature comes unsigned: also Unknown ("nothing
    // happened, state unknown") but the claimed code is there for the alert.
    let rejected = http::Response::builder()
        .status(200)
        .body(Bytes::from_static(
            br#"{"result":{"resultCode":"INVALID_SIGNATURE","resultStatus":"F","resultMessage":"x"}}"#,
        ))
        .unwrap();
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &rejected),
        Outcome::Unknown(UnknownReason::Unsigned { claimed_code: Some(ref c), .. }) if c == "INVALID_SIGNATURE"
    ));
    // Signature present but no response-time.
    let mut no_time = signed(PAY_PATH, S_BODY);
    no_time.headers_mut().remove("response-time");
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &no_time),
        Outcome::Unknown(UnknownReason::Unsigned {
            error: SignatureError::MissingTimeHeader("response-time"),
            ..
        })
    ));
}

#[test]
fn badly_signed_answers_are_unknown() {
    // Signed with the wrong key (the merchant's).
    let merchant = Signer::from_private_key(MERCHANT_PRIVATE, 1).unwrap();
    let wrong_key = signed_by(&merchant, PAY_PATH, 200, S_BODY);
    assert_eq!(
        parse::<PayResponse>(PAY_PATH, &wrong_key),
        Outcome::Unknown(UnknownReason::BadSignature(SignatureError::Mismatch))
    );
    // Body altered after signing.
    let mut altered = signed(PAY_PATH, F_BODY);
    *altered.body_mut() = Bytes::from(S_BODY.to_owned());
    assert_eq!(
        parse::<PayResponse>(PAY_PATH, &altered),
        Outcome::Unknown(UnknownReason::BadSignature(SignatureError::Mismatch))
    );
    // Signed over another path (production vs sandbox).
    let other_path = signed("/ams/api/v1/payments/pay", S_BODY);
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &other_path),
        Outcome::Unknown(UnknownReason::BadSignature(_))
    ));
    // Wrong response-time.
    let mut retimed = signed(PAY_PATH, S_BODY);
    retimed.headers_mut().insert(
        "response-time",
        "2023-11-14T06:13:22-08:00".parse().unwrap(),
    );
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &retimed),
        Outcome::Unknown(UnknownReason::BadSignature(_))
    ));
    // Garbage signature header.
    let mut garbage = signed(PAY_PATH, S_BODY);
    garbage.headers_mut().insert(
        "signature",
        "algorithm=RSA256,keyVersion=1".parse().unwrap(),
    );
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &garbage),
        Outcome::Unknown(UnknownReason::BadSignature(
            SignatureError::MalformedHeader(_)
        ))
    ));
    // Another client's answer.
    let mut other_client = signed(PAY_PATH, S_BODY);
    other_client
        .headers_mut()
        .insert("client-id", "SANDBOX_OTHER".parse().unwrap());
    assert_eq!(
        parse::<PayResponse>(PAY_PATH, &other_client),
        Outcome::Unknown(UnknownReason::ClientIdMismatch)
    );
}

#[test]
fn signature_header_with_spaces_and_missing_client_id_header() {
    let signer = antom();
    let value = signer
        .signature_header(PAY_PATH, CLIENT, RESPONSE_TIME, S_BODY.as_bytes())
        .unwrap()
        .replace(',', ", ");
    let response = http::Response::builder()
        .status(200)
        .header("Response-Time", RESPONSE_TIME)
        .header("Signature", value)
        .body(Bytes::from_static(S_BODY.as_bytes()))
        .unwrap();
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &response),
        Outcome::Success(_)
    ));
}

const INQ_PATH: &str = "/ams/api/v1/payments/inquiryPayment";

#[test]
fn inquiry_success_carries_payment_status() {
    let body = include_str!("../testdata/sdk_samples/inquiry_payment_success.json");
    match parse::<InquiryPaymentResponse>(INQ_PATH, &signed(INQ_PATH, body)) {
        Outcome::Success(r) => {
            assert_eq!(r.payment_status, Some(PaymentStatus::Success));
            assert_eq!(
                r.payment.payment_quote.unwrap().quote_price.as_deref(),
                Some("0.88156063")
            );
            assert_eq!(
                r.payment.psp_customer_info.unwrap().psp_name.as_deref(),
                Some("ALIPAYCN")
            );
        }
        other => panic!("{other:?}"),
    }
    for status in ["FAIL", "PROCESSING", "CANCELLED"] {
        let body = format!(
            r#"{{"result":{{"resultCode":"SUCCESS","resultStatus":"S"}},"paymentStatus":"{status}","paymentResultCode":"UNKNOWN_EXCEPTION"}}"#
        );
        match parse::<InquiryPaymentResponse>(INQ_PATH, &signed(INQ_PATH, &body)) {
            Outcome::Success(r) => {
                assert_eq!(r.payment_status.unwrap().as_str(), status)
            }
            other => panic!("{other:?}"),
        }
    }
    // S without (or with an unknown) paymentStatus cannot be acted on.
    for body in [
        r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"}}"#,
        r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"},"paymentStatus":"MAYBE"}"#,
    ] {
        assert_eq!(
            parse::<InquiryPaymentResponse>(INQ_PATH, &signed(INQ_PATH, body)),
            Outcome::Unknown(UnknownReason::IncompleteSuccess("paymentStatus"))
        );
    }
    let not_found = r#"{"result":{"resultCode":"ORDER_NOT_EXIST","resultStatus":"F","resultMessage":"order not exist"}}"#;
    assert_eq!(
        parse::<InquiryPaymentResponse>(INQ_PATH, &signed(INQ_PATH, not_found)),
        Outcome::Failed {
            result_code: "ORDER_NOT_EXIST".into(),
            message: "order not exist".into()
        }
    );
}

#[test]
fn cancel_refund_and_inquiry_refund_answers() {
    let path = "/ams/api/v1/payments/cancel";
    let body = r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"paymentId":"P1","paymentRequestId":"R1","cancelTime":"2023-11-14T06:13:25-08:00"}"#;
    match parse::<CancelResponse>(path, &signed(path, body)) {
        Outcome::Success(c) => {
            assert_eq!(c.cancel_time.as_deref(), Some("2023-11-14T06:13:25-08:00"))
        }
        other => panic!("{other:?}"),
    }
    let path = "/ams/api/v1/payments/refund";
    let body = include_str!("../testdata/sdk_samples/refund_success.json");
    match parse::<RefundResponse>(path, &signed(path, body)) {
        Outcome::Success(r) => {
            assert_eq!(r.refund_amount.unwrap().minor_units(), Some(500));
            assert_eq!(
                r.refund_id.as_deref(),
                Some("202004221940108013001912I0200788498")
            );
        }
        other => panic!("{other:?}"),
    }
    let path = "/ams/api/v1/payments/inquiryRefund";
    let body = r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"},"refundStatus":"PROCESSING","refundRequestId":"RR1"}"#;
    match parse::<InquiryRefundResponse>(path, &signed(path, body)) {
        Outcome::Success(r) => assert_eq!(r.refund_status, Some(RefundStatus::Processing)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sdk_sample_bodies_parse_leniently() {
    let pay: asw_antom::PayRequest =
        serde_json::from_str(include_str!("../testdata/sdk_samples/pay_request_upm.json")).unwrap();
    assert_eq!(pay.product_code, "IN_STORE_PAYMENT");
    assert_eq!(pay.order.merchant.merchant_mcc, "7011");
    assert_eq!(pay.order.merchant.store.as_ref().unwrap().store_mcc, "7011");
    assert_eq!(
        pay.payment_method
            .payment_method_id
            .as_ref()
            .unwrap()
            .expose(),
        "288888888888888888"
    );
    // Re-serialized, the capitalised names survive.
    let json = serde_json::to_string(&pay).unwrap();
    assert!(json.contains(r#""merchantMCC":"7011""#) && json.contains(r#""storeMCC":"7011""#));

    let notify: asw_antom::NotifyPayment = serde_json::from_str(include_str!(
        "../testdata/sdk_samples/notify_payment_success.json"
    ))
    .unwrap();
    assert!(notify.is_payment_success());
    assert_eq!(
        notify.payment.payment_quote.unwrap().guaranteed,
        Some(false)
    );

    // Unknown fields and numbers instead of strings are tolerated.
    let odd: PayResponse = serde_json::from_str(
        r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"},"paymentAmount":{"currency":"JPY","value":1000},"newField":{"x":[1,2]}}"#,
    )
    .unwrap();
    assert_eq!(odd.payment.payment_amount.unwrap().value, "1000");
}

#[test]
fn order_code_pay_has_no_payment_method_id_and_reads_order_code_form() {
    let order = asw_antom::Order {
        buyer: None,
        reference_order_id: None,
        order_description: "d".into(),
        order_amount: asw_antom::Amount::minor("SGD", 5),
        merchant: asw_antom::Merchant::default(),
        env: None,
        extend_info: None,
    };
    let req = asw_antom::PayRequest::order_code("R1", order, asw_antom::Amount::minor("SGD", 5));
    let json: serde_json::Value = serde_json::to_value(&req).unwrap();
    assert_eq!(
        json["paymentMethod"],
        serde_json::json!({"paymentMethodType":"CONNECT_WALLET"})
    );
    assert_eq!(json["paymentFactor"]["inStorePaymentScenario"], "OrderCode");
    let body = r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"},"orderCodeForm":{"expireTime":"2023-11-14T06:23:21-08:00","codeDetails":[{"codeValue":"https://qr.example/2810","codeValueType":"QRCODE","displayType":"TEXT"}]}}"#;
    match parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, body)) {
        Outcome::Success(p) => {
            let form = p.order_code_form.unwrap();
            assert_eq!(
                form.code_details[0].code_value.as_deref(),
                Some("https://qr.example/2810")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn notifications_route_by_type_and_acks_are_fixed() {
    let verifier = verifier();
    let path = "/antom/notify";
    let notify = |body: &str| {
        let sig = antom()
            .signature_header(path, CLIENT, "1700000000000", body.as_bytes())
            .unwrap();
        let mut h = http::HeaderMap::new();
        h.insert("client-id", CLIENT.parse().unwrap());
        h.insert("request-time", "1700000000000".parse().unwrap());
        h.insert("signature", sig.parse().unwrap());
        verify_notification(&verifier, path, &h, body.as_bytes())
    };
    let refund = r#"{"notifyType":"REFUND_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"refundStatus":"SUCCESS","refundRequestId":"RR1","refundAmount":{"currency":"SGD","value":"5"}}"#;
    assert!(
        matches!(notify(refund).unwrap(), Notification::Refund(r) if r.refund_status == Some(RefundStatus::Success))
    );
    let offline = r#"{"notifyType":"OFFLINE_PAYMENT_CODE","codeValue":"x"}"#;
    assert_eq!(
        notify(offline).unwrap(),
        Notification::Other {
            notify_type: Some("OFFLINE_PAYMENT_CODE".into())
        }
    );
    let closed = r#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"ORDER_IS_CLOSED","resultStatus":"F"},"paymentRequestId":"R9"}"#;
    assert!(matches!(notify(closed).unwrap(), Notification::Payment(p) if !p.is_payment_success()));
    assert!(matches!(
        notify("<html/>"),
        Err(asw_antom::WebhookError::Unparsable(_))
    ));
    assert!(matches!(
        notify(r#"{"notifyType":"PAYMENT_RESULT"}"#),
        Err(asw_antom::WebhookError::Unparsable(_))
    ));
    let ack: serde_json::Value = serde_json::from_str(asw_antom::NOTIFY_ACK_SUCCESS_BODY).unwrap();
    assert_eq!(
        ack,
        serde_json::json!({"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}})
    );
    let retry: serde_json::Value = serde_json::from_str(asw_antom::NOTIFY_ACK_RETRY_BODY).unwrap();
    assert_eq!(retry["result"]["resultStatus"], "U");
}

#[test]
fn unknown_reasons_never_echo_the_body() {
    // A body that carries a payment code and is unreadable: the reason must not quote it.
    let body = r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"},"paymentAmount":"281012345678901234"}"#;
    let outcome = parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, body));
    let text = format!("{outcome:?} {outcome}");
    assert!(matches!(
        outcome,
        Outcome::Unknown(UnknownReason::Unparsable(_))
    ));
    assert!(!text.contains("281012345678901234"), "{text}");
}

/// Online `pay` (seed 001): `U PAYMENT_IN_PROCESS` with a page or app link means the payment
/// was created and awaits the buyer; with none, creation failed and it stays Unknown. An
/// unsigned one is never trusted, whatever it carries.
#[test]
fn an_online_pay_in_process_with_a_page_awaits_the_buyer_and_without_one_is_unknown() {
    let with_page = r#"{"result":{"resultCode":"PAYMENT_IN_PROCESS","resultStatus":"U","resultMessage":"payment in process"},"paymentId":"P9","paymentRequestId":"R9","normalUrl":"https://wallet.example/h5/cashier?o=1","applinkUrl":"https://wallet.example/ulink","paymentActionForm":"{\"method\":\"GET\",\"redirectUrl\":\"https://wallet.example/h5/cashier?o=1\"}"}"#;
    match parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, with_page)) {
        Outcome::InProcess(p) => {
            assert_eq!(
                p.normal_url.as_deref(),
                Some("https://wallet.example/h5/cashier?o=1")
            );
            assert_eq!(p.payment.payment_id.as_deref(), Some("P9"));
            assert!(
                p.payment_action_form
                    .is_some_and(|f| f.contains("redirectUrl"))
            );
        }
        other => panic!("{other:?}"),
    }
    let without = r#"{"result":{"resultCode":"PAYMENT_IN_PROCESS","resultStatus":"U","resultMessage":"payment in process"},"paymentRequestId":"R9"}"#;
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, without)),
        Outcome::Unknown(UnknownReason::ResultUnknown { .. })
    ));
    let other_u = r#"{"result":{"resultCode":"UNKNOWN_EXCEPTION","resultStatus":"U","resultMessage":"x"},"normalUrl":"https://wallet.example/x"}"#;
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &signed(PAY_PATH, other_u)),
        Outcome::Unknown(_)
    ));
    let mut unsigned = signed(PAY_PATH, with_page);
    unsigned.headers_mut().remove("signature");
    assert!(matches!(
        parse::<PayResponse>(PAY_PATH, &unsigned),
        Outcome::Unknown(_)
    ));
}
