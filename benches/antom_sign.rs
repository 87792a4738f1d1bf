//! The per-request protocol cost of the switch: build + sign a UPM pay, and verify + parse
//! Antom's signed answer and notification (asw-antom on aws-lc-rs).
//!
//! Run: `cargo bench -p asw-benches --bench antom_sign`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use asw_antom::{
    Amount, ClientCredentials, Env, Merchant, Order, Outcome, PayRequest, PayResponse, PaymentCode,
    Signer, Store, Verifier, build_request, parse_response, verify_notification,
};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

// Throwaway test-only keys.
const MERCHANT_KEY: &str = include_str!("../crates/asw-antom/testdata/merchant_private_pkcs8.pem");
const ANTOM_KEY: &str = include_str!("../crates/asw-antom/testdata/antom_private_pkcs1.pem");
const ANTOM_PUBLIC: &str = include_str!("../crates/asw-antom/testdata/antom_public.pem");
const CLIENT: &str = "SANDBOX_5YTEST00000000000";

fn pay() -> PayRequest {
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

fn bench(c: &mut Criterion) {
    let creds = ClientCredentials::new(
        CLIENT,
        Arc::new(Signer::from_private_key(MERCHANT_KEY, 1).unwrap()),
    );
    let antom = Signer::from_private_key(ANTOM_KEY, 1).unwrap();
    let verifier = Verifier::from_public_key(ANTOM_PUBLIC).unwrap();
    let request = pay();

    let path = "/ams/sandbox/api/v1/payments/pay";
    let time = "2023-11-14T06:13:21-08:00";
    let body = br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success."},"paymentRequestId":"20231114221320T0001A000001234S000567R42","paymentId":"202311141940108001001881A0200000001","paymentAmount":{"currency":"SGD","value":"1234"},"paymentCreateTime":"2023-11-14T06:13:20-08:00","paymentTime":"2023-11-14T06:13:21-08:00","pspCustomerInfo":{"pspName":"ALIPAYCN"},"paymentQuote":{"quotePrice":0.88,"guaranteed":false}}"#;
    let response = http::Response::builder()
        .status(200)
        .header("client-id", CLIENT)
        .header("response-time", time)
        .header(
            "signature",
            antom.signature_header(path, CLIENT, time, body).unwrap(),
        )
        .body(Bytes::from_static(body))
        .unwrap();
    assert!(matches!(
        parse_response::<PayResponse>(&verifier, CLIENT, path, &response),
        Outcome::Success(_)
    ));

    let notify_path = "/antom/notify";
    let notify_body = br#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success."},"paymentRequestId":"20231114221320T0001A000001234S000567R42","paymentId":"202311141940108001001881A0200000001","paymentAmount":{"currency":"SGD","value":"1234"},"paymentTime":"2023-11-14T06:13:21-08:00"}"#;
    let mut notify_headers = http::HeaderMap::new();
    notify_headers.insert("client-id", CLIENT.parse().unwrap());
    notify_headers.insert("request-time", time.parse().unwrap());
    notify_headers.insert(
        "signature",
        antom
            .signature_header(notify_path, CLIENT, time, notify_body)
            .unwrap()
            .parse()
            .unwrap(),
    );
    verify_notification(&verifier, notify_path, &notify_headers, notify_body).unwrap();

    let mut group = c.benchmark_group("antom");
    group.throughput(Throughput::Elements(1));
    group.bench_function("build_and_sign_pay", |b| {
        b.iter(|| build_request(&creds, &request, 1_700_000_000_000).unwrap())
    });
    group.bench_function("verify_and_parse_pay_response", |b| {
        b.iter(|| parse_response::<PayResponse>(&verifier, CLIENT, path, &response))
    });
    group.bench_function("verify_and_parse_notification", |b| {
        b.iter(|| {
            verify_notification(&verifier, notify_path, &notify_headers, notify_body).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
