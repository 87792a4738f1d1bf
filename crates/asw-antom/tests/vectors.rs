//! The published signature vectors, reproduced byte for byte, and key-format handling.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use asw_antom::signature::{content_to_sign, path_for_client};
use asw_antom::wire::build_raw_request;
use asw_antom::{
    Amount, ClientCredentials, Env, Merchant, Notification, Order, Outcome, PayRequest,
    PayResponse, PaymentCode, SignatureError, Signer, Store, UnknownReason, Verifier,
    build_request, parse_response, verify_notification,
};
use bytes::Bytes;
use serde_json::Value;

const VECTORS: &str = include_str!("../testdata/signature_vectors.json");
const MERCHANT_PKCS1_PEM: &str = include_str!("../testdata/merchant_private_pkcs1.pem");
const MERCHANT_PKCS1_B64: &str = include_str!("../testdata/merchant_private_pkcs1.b64");
const MERCHANT_PKCS8_PEM: &str = include_str!("../testdata/merchant_private_pkcs8.pem");
const MERCHANT_PKCS8_B64: &str = include_str!("../testdata/merchant_private_pkcs8.b64");
const MERCHANT_PUBLIC_PEM: &str = include_str!("../testdata/merchant_public.pem");
const MERCHANT_PUBLIC_B64: &str = include_str!("../testdata/merchant_public.b64");
const ANTOM_PKCS8_PEM: &str = include_str!("../testdata/antom_private_pkcs8.pem");
const ANTOM_PKCS1_B64: &str = include_str!("../testdata/antom_private_pkcs1.b64");
const ANTOM_PUBLIC_PEM: &str = include_str!("../testdata/antom_public.pem");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key}"))
}

fn merchant() -> Signer {
    Signer::from_private_key(MERCHANT_PKCS8_PEM, 1).unwrap()
}

fn antom() -> Signer {
    Signer::from_private_key(ANTOM_PKCS8_PEM, 1).unwrap()
}

/// (vector name, signed with the Antom key?, time field name)
const CASES: &[(&str, bool, &str)] = &[
    ("request", false, "request_time"),
    ("response", true, "response_time"),
    ("notify", true, "request_time"),
    ("cancel_request", false, "request_time"),
    ("utf8_body_request", false, "request_time"),
];

#[test]
fn every_vector_is_reproduced_byte_for_byte_with_every_key_format() {
    let v = vectors();
    let merchant_signers = [
        MERCHANT_PKCS1_PEM,
        MERCHANT_PKCS1_B64,
        MERCHANT_PKCS8_PEM,
        MERCHANT_PKCS8_B64,
    ]
    .map(|k| Signer::from_private_key(k, 1).unwrap());
    let antom_signers =
        [ANTOM_PKCS8_PEM, ANTOM_PKCS1_B64].map(|k| Signer::from_private_key(k, 1).unwrap());
    for (name, by_antom, time_key) in CASES {
        let case = &v[*name];
        let content = content_to_sign(
            s(case, "path"),
            s(case, "client_id"),
            s(case, time_key),
            s(case, "body").as_bytes(),
        );
        if let Some(expected) = case.get("content_to_sign") {
            assert_eq!(content, expected.as_str().unwrap().as_bytes(), "{name}");
        }
        let signers: &[Signer] = if *by_antom {
            &antom_signers
        } else {
            &merchant_signers
        };
        for signer in signers {
            let got = signer
                .sign_message(
                    s(case, "path"),
                    s(case, "client_id"),
                    s(case, time_key),
                    s(case, "body").as_bytes(),
                )
                .unwrap();
            assert_eq!(got, s(case, "signature_urlencoded"), "{name}");
            if let Some(header) = case.get("signature_header") {
                let full = signer
                    .signature_header(
                        s(case, "path"),
                        s(case, "client_id"),
                        s(case, time_key),
                        s(case, "body").as_bytes(),
                    )
                    .unwrap();
                assert_eq!(full, header.as_str().unwrap(), "{name}");
            }
        }
    }
}

#[test]
fn utf8_vector_signs_the_raw_utf8_bytes() {
    let v = vectors();
    let case = &v["utf8_body_request"];
    let hex: String = s(case, "body")
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, s(case, "body_utf8_hex"));
}

#[test]
fn every_vector_verifies_and_any_altered_byte_fails() {
    let v = vectors();
    let merchant_pub = Verifier::from_public_key(MERCHANT_PUBLIC_PEM).unwrap();
    let antom_pub = Verifier::from_public_key(ANTOM_PUBLIC_PEM).unwrap();
    for (name, by_antom, time_key) in CASES {
        let case = &v[*name];
        let verifier = if *by_antom { &antom_pub } else { &merchant_pub };
        let wrong = if *by_antom { &merchant_pub } else { &antom_pub };
        let header = format!(
            "algorithm=RSA256,keyVersion=1,signature={}",
            s(case, "signature_urlencoded")
        );
        let (path, client, time, body) = (
            s(case, "path"),
            s(case, "client_id"),
            s(case, time_key),
            s(case, "body").as_bytes(),
        );
        verifier
            .verify_message(path, client, time, body, &header)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            wrong.verify_message(path, client, time, body, &header),
            Err(SignatureError::Mismatch),
            "{name} with the wrong key"
        );
        // One flipped bit anywhere in the body.
        for i in [0, body.len() / 2, body.len() - 1] {
            let mut tampered = body.to_vec();
            tampered[i] ^= 0x01;
            assert_eq!(
                verifier.verify_message(path, client, time, &tampered, &header),
                Err(SignatureError::Mismatch),
                "{name} body byte {i}"
            );
        }
        let other_path = format!("{path}x");
        assert!(
            verifier
                .verify_message(&other_path, client, time, body, &header)
                .is_err()
        );
        let other_time = format!("{time}1");
        assert!(
            verifier
                .verify_message(path, client, &other_time, body, &header)
                .is_err()
        );
        assert!(
            verifier
                .verify_message(path, "SANDBOX_OTHER", time, body, &header)
                .is_err()
        );
    }
}

#[test]
fn sandbox_path_vector_comes_from_the_rewrite_before_signing() {
    let v = vectors();
    let base = &v["request"];
    let creds = ClientCredentials::new(s(base, "client_id"), Arc::new(merchant()));
    let built = build_raw_request(
        &creds,
        s(base, "path"),
        Bytes::from(s(base, "body").to_owned()),
        s(base, "request_time").parse().unwrap(),
    )
    .unwrap();
    assert_eq!(built.path, s(&v["request_sandbox_path"], "path"));
    assert_eq!(built.request.uri().path(), built.path);
    let header = built.request.headers()["signature"].to_str().unwrap();
    assert_eq!(
        header,
        format!(
            "algorithm=RSA256,keyVersion=1,signature={}",
            s(&v["request_sandbox_path"], "signature_urlencoded")
        )
    );
    // A production client id is not rewritten.
    assert_eq!(
        path_for_client("5YPROD00000", s(base, "path")),
        s(base, "path")
    );
}

fn vector_pay_request() -> PayRequest {
    let order = Order {
        buyer: None,
        reference_order_id: None,
        order_description: "POS sale".into(),
        order_amount: Amount::minor("SGD", 1234),
        merchant: Merchant {
            reference_merchant_id: "M0001".into(),
            merchant_mcc: "5411".into(),
            merchant_name: "Demo Mart".into(),
            store: Some(Store {
                reference_store_id: "S0001".into(),
                store_name: "Demo Mart Orchard".into(),
                store_mcc: "5411".into(),
                ..Store::default()
            }),
            ..Merchant::default()
        },
        env: Some(Env {
            store_terminal_id: Some("T0001".into()),
            store_terminal_request_time: Some("2023-11-14T22:13:20+08:00".into()),
            ..Env::default()
        }),
        extend_info: None,
    };
    let mut pay = PayRequest::payment_code(
        "20231114221320T0001A000001234S000567R42",
        order,
        Amount::minor("SGD", 1234),
        PaymentCode::new("281012345678901234"),
    );
    pay.payment_notify_url = Some("https://gw.example.com/antom/notify".into());
    pay
}

#[test]
fn typed_pay_request_serializes_to_the_vector_body_and_builds_a_signed_request() {
    let v = vectors();
    let pay = vector_pay_request();
    assert_eq!(
        serde_json::to_string(&pay).unwrap(),
        s(&v["request"], "body"),
        "typed request must serialize exactly like the vector"
    );
    let creds = ClientCredentials::new("SANDBOX_5YTEST00000000000", Arc::new(merchant()));
    let built = build_request(&creds, &pay, 1_700_000_000_000).unwrap();
    let req = &built.request;
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(req.uri().path(), "/ams/sandbox/api/v1/payments/pay");
    assert_eq!(
        req.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    assert_eq!(req.headers()["client-id"], "SANDBOX_5YTEST00000000000");
    assert_eq!(req.headers()["request-time"], "1700000000000");
    assert!(req.headers().get("agent-token").is_none());
    assert_eq!(req.body().as_ref(), s(&v["request"], "body").as_bytes());
    assert_eq!(
        req.headers()["signature"],
        format!(
            "algorithm=RSA256,keyVersion=1,signature={}",
            s(&v["request_sandbox_path"], "signature_urlencoded")
        )
        .as_str()
    );
    // The simulator's side: verify what we built with the merchant public key.
    let merchant_pub = Verifier::from_public_key(MERCHANT_PUBLIC_B64).unwrap();
    merchant_pub
        .verify_message(
            &built.path,
            "SANDBOX_5YTEST00000000000",
            "1700000000000",
            req.body(),
            req.headers()["signature"].to_str().unwrap(),
        )
        .unwrap();
    // And the payment code never shows up in Debug.
    let debug = format!("{pay:?} {built:?}");
    assert!(!debug.contains("281012345678901234"), "{debug}");
}

#[test]
fn agent_token_and_key_version_are_sent() {
    let signer = Signer::from_private_key(MERCHANT_PKCS1_B64, 7).unwrap();
    let creds = ClientCredentials::new("5YPROD", Arc::new(signer))
        .with_agent_token(asw_antom::AgentToken::new("agent-token-value-123"));
    let built = build_request(
        &creds,
        &asw_antom::CancelRequest::by_payment_request_id("PR1"),
        1,
    )
    .unwrap();
    assert_eq!(built.request.uri().path(), "/ams/api/v1/payments/cancel");
    assert_eq!(
        built.request.headers()["agent-token"],
        "agent-token-value-123"
    );
    assert!(
        built.request.headers()["signature"]
            .to_str()
            .unwrap()
            .starts_with("algorithm=RSA256,keyVersion=7,signature=")
    );
    assert_eq!(
        built.request.body().as_ref(),
        br#"{"paymentRequestId":"PR1"}"#
    );
    assert!(!format!("{creds:?}").contains("agent-token-value-123"));
}

#[test]
fn response_vector_parses_as_verified_success() {
    let v = vectors();
    let case = &v["response"];
    let response = http::Response::builder()
        .status(200)
        .header("client-id", s(case, "client_id"))
        .header("response-time", s(case, "response_time"))
        .header("signature", s(case, "signature_header"))
        .body(Bytes::from(s(case, "body").to_owned()))
        .unwrap();
    let verifier = Verifier::from_public_key(ANTOM_PUBLIC_PEM).unwrap();
    let outcome: Outcome<PayResponse> =
        parse_response(&verifier, s(case, "client_id"), s(case, "path"), &response);
    match outcome {
        Outcome::Success(pay) => {
            assert_eq!(
                pay.payment.payment_id.as_deref(),
                Some("202311141940108001001881A0200000001")
            );
            assert_eq!(pay.payment.payment_amount, Some(Amount::minor("SGD", 1234)));
        }
        other => panic!("{other:?}"),
    }
    // The same answer checked against the sandbox path (a different request) fails.
    let outcome: Outcome<PayResponse> = parse_response(
        &verifier,
        s(case, "client_id"),
        "/ams/sandbox/api/v1/payments/pay",
        &response,
    );
    assert_eq!(
        outcome,
        Outcome::Unknown(UnknownReason::BadSignature(SignatureError::Mismatch))
    );
}

#[test]
fn notify_vector_verifies_and_parses() {
    let v = vectors();
    let case = &v["notify"];
    let mut headers = http::HeaderMap::new();
    headers.insert("client-id", s(case, "client_id").parse().unwrap());
    headers.insert("request-time", s(case, "request_time").parse().unwrap());
    headers.insert("signature", s(case, "signature_header").parse().unwrap());
    let verifier = Verifier::from_public_key(ANTOM_PUBLIC_PEM).unwrap();
    let body = s(case, "body").as_bytes();
    match verify_notification(&verifier, s(case, "path"), &headers, body).unwrap() {
        Notification::Payment(n) => {
            assert!(n.is_payment_success());
            assert_eq!(
                n.payment_request_id,
                "20231114221320T0001A000001234S000567R42"
            );
        }
        other => panic!("{other:?}"),
    }
    // Wrong path (proxy rewrote it), altered body, missing signature.
    assert!(verify_notification(&verifier, "/notify", &headers, body).is_err());
    let mut tampered = body.to_vec();
    let last = tampered.len() - 2;
    tampered[last] ^= 0x01;
    assert!(verify_notification(&verifier, s(case, "path"), &headers, &tampered).is_err());
    let mut unsigned = headers.clone();
    unsigned.remove("signature");
    assert_eq!(
        verify_notification(&verifier, s(case, "path"), &unsigned, body),
        Err(asw_antom::WebhookError::Unsigned(SignatureError::Missing))
    );
}

#[test]
fn key_formats_are_all_accepted_and_equivalent() {
    let signers = [
        MERCHANT_PKCS1_PEM,
        MERCHANT_PKCS1_B64,
        MERCHANT_PKCS8_PEM,
        MERCHANT_PKCS8_B64,
    ]
    .map(|k| Signer::from_private_key(k, 1).unwrap());
    let der = signers[0].public_key_der().unwrap();
    for signer in &signers {
        assert_eq!(signer.public_key_der().unwrap(), der);
    }
    // Bare base64 with line breaks and stray spaces in the middle is fine.
    let wrapped: String = MERCHANT_PUBLIC_B64
        .trim()
        .as_bytes()
        .chunks(50)
        .map(|c| format!(" {}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let verifier = Verifier::from_public_key(&wrapped).unwrap();
    let sig = signers[3].sign(b"hello").unwrap();
    verifier.verify_raw(b"hello", &sig).unwrap();
    // The public key DER our signer reports is a usable SubjectPublicKeyInfo.
    Verifier::from_public_keys_der([der]).unwrap();
}

#[test]
fn bad_key_material_is_a_typed_error_without_the_key() {
    use asw_antom::KeyError;
    assert_eq!(
        Signer::from_private_key("", 1).unwrap_err(),
        KeyError::Empty
    );
    assert_eq!(
        Signer::from_private_key("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----", 1)
            .unwrap_err(),
        KeyError::Empty
    );
    assert_eq!(
        Signer::from_private_key("not base64 at all!", 1).unwrap_err(),
        KeyError::NotBase64
    );
    assert!(matches!(
        Signer::from_private_key("AAAA", 1),
        Err(KeyError::PrivateKeyRejected(_))
    ));
    // A public key is not a private key, and vice versa.
    assert!(matches!(
        Signer::from_private_key(MERCHANT_PUBLIC_PEM, 1),
        Err(KeyError::PrivateKeyRejected(_))
    ));
    assert!(matches!(
        Verifier::from_public_key(MERCHANT_PKCS8_PEM),
        Err(KeyError::PublicKeyRejected(_))
    ));
    assert_eq!(
        Verifier::from_public_keys(Vec::<String>::new()).unwrap_err(),
        KeyError::NoPublicKey
    );
    let signer = merchant();
    let debug = format!(
        "{signer:?} {:?}",
        Verifier::from_public_key(MERCHANT_PUBLIC_PEM).unwrap()
    );
    let body = MERCHANT_PKCS8_B64.trim();
    assert!(!debug.contains(&body[40..80]), "{debug}");
    assert!(
        !debug.contains(&MERCHANT_PUBLIC_B64.trim()[40..80]),
        "{debug}"
    );
}

#[test]
fn verifier_with_rotated_keys_accepts_either() {
    let both = Verifier::from_public_keys([MERCHANT_PUBLIC_PEM, ANTOM_PUBLIC_PEM]).unwrap();
    assert_eq!(both.key_count(), 2);
    for signer in [merchant(), antom()] {
        let header = signer.signature_header("/p", "C", "1", b"{}").unwrap();
        both.verify_message("/p", "C", "1", b"{}", &header).unwrap();
    }
}
