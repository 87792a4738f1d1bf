//! The client against a small real HTTP server on 127.0.0.1:0 that verifies our signatures
//! and answers signed with the (test-only) Antom key — plus the transport faults a real Antom
//! can produce: slow answers, dropped and refused connections, unsigned and forged answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asw_antom::{CancelRequest, Outcome, PayResponse, Signer, UnknownReason, Verifier};
use asw_core::domain::{MerchantProfile, Money, PaymentCode, PaymentRequestId, RefundRequestId};
use asw_core::ports::{
    CancelCommand, InquiryCommand, PayCommand, PayScenario, PaymentStatus, RefundCommand, Upstream,
    UpstreamOutcome,
};
use asw_upstream::{AntomClient, ClientGroupConfig, UpstreamSettings, local_codes};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

// Throwaway test-only keys (copies of asw-antom's testdata).
const MERCHANT_PRIVATE: &str = include_str!("../../asw-antom/testdata/merchant_private_pkcs8.pem");
const MERCHANT_PUBLIC: &str = include_str!("../../asw-antom/testdata/merchant_public.pem");
const ANTOM_PRIVATE: &str = include_str!("../../asw-antom/testdata/antom_private_pkcs1.pem");
const ANTOM_PUBLIC: &str = include_str!("../../asw-antom/testdata/antom_public.b64");
const RETIRED_ANTOM_PUBLIC: &str = include_str!("../testdata/retired_antom_public.pem");

const SANDBOX_CLIENT: &str = "SANDBOX_5YTEST00000000000";
const PROD_CLIENT: &str = "5YPROD0000000000";
const RESPONSE_TIME: &str = "2023-11-14T06:13:21-08:00";

struct Server {
    antom: Signer,
    wrong_key: Signer,
    merchant_public: Verifier,
    seen: Mutex<Vec<(String, Value)>>,
}

fn result(code: &str, status: &str) -> Value {
    json!({"resultCode": code, "resultStatus": status, "resultMessage": code.to_lowercase()})
}

fn success_body(path: &str, id: &str) -> Value {
    if path.ends_with("/pay") {
        json!({"result": result("SUCCESS", "S"), "paymentRequestId": id, "paymentId": format!("P-{id}"),
               "paymentTime": "2023-11-14T06:13:21-08:00",
               "pspCustomerInfo": {"pspName": "ALIPAYCN"},
               "paymentQuote": {"quotePrice": 0.88, "guaranteed": false}})
    } else if path.ends_with("/inquiryPayment") {
        json!({"result": result("SUCCESS", "S"), "paymentStatus": "SUCCESS", "paymentId": format!("P-{id}"),
               "paymentResultCode": "SUCCESS", "paymentAmount": {"currency": "SGD", "value": "1234"}})
    } else if path.ends_with("/cancel") {
        json!({"result": result("SUCCESS", "S"), "paymentRequestId": id, "cancelTime": "2023-11-14T06:14:00-08:00"})
    } else {
        json!({"result": result("SUCCESS", "S"), "refundRequestId": id, "refundId": format!("RF-{id}"),
               "refundTime": "2023-11-14T06:15:00-08:00"})
    }
}

fn signed(signer: &Signer, path: &str, client: &str, body: Vec<u8>) -> Response {
    let signature = signer
        .signature_header(path, client, RESPONSE_TIME, &body)
        .unwrap();
    (
        StatusCode::OK,
        [
            ("content-type", "application/json; charset=UTF-8"),
            ("client-id", client),
            ("response-time", RESPONSE_TIME),
            ("signature", signature.as_str()),
        ],
        body,
    )
        .into_response()
}

async fn handle(
    State(server): State<Arc<Server>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let client = h("client-id");
    // Like Antom: an unverifiable request gets an unsigned INVALID_SIGNATURE.
    if server
        .merchant_public
        .verify_message(&path, &client, &h("request-time"), &body, &h("signature"))
        .is_err()
        || h("content-type") != "application/json; charset=UTF-8"
    {
        let body = json!({"result": result("INVALID_SIGNATURE", "F")}).to_string();
        return (StatusCode::OK, body).into_response();
    }
    let value: Value = serde_json::from_slice(&body).unwrap();
    server
        .seen
        .lock()
        .unwrap()
        .push((path.clone(), value.clone()));
    let id = value["paymentRequestId"]
        .as_str()
        .or(value["refundRequestId"].as_str())
        .unwrap_or_default()
        .to_owned();
    let scenario = id.split('-').next().unwrap_or_default();
    let ok = || serde_json::to_vec(&success_body(&path, &id)).unwrap();
    match scenario {
        "S" => signed(&server.antom, &path, &client, ok()),
        "F" => {
            let code = if path.ends_with("/inquiryPayment") || path.ends_with("/cancel") {
                "ORDER_NOT_EXIST"
            } else {
                "USER_BALANCE_NOT_ENOUGH"
            };
            let body = json!({"result": result(code, "F")})
                .to_string()
                .into_bytes();
            signed(&server.antom, &path, &client, body)
        }
        // Order Code: the code created, said with S (the SDK's mock) or with
        // U PAYMENT_IN_PROCESS and the form (as online payments do).
        "OCS" | "OCU" => {
            let (code, status) = if scenario == "OCS" {
                ("SUCCESS", "S")
            } else {
                ("PAYMENT_IN_PROCESS", "U")
            };
            let body = json!({"result": result(code, status), "paymentRequestId": id,
                "paymentId": format!("P-{id}"),
                "orderCodeForm": {"expireTime": "2023-11-14T06:16:21-08:00",
                    "codeDetails": [{"codeValue": "", "codeValueType": "QRCODE", "displayType": "BIGIMAGE"},
                                    {"codeValue": format!("https://gqr.example/{id}"),
                                     "codeValueType": "QRCODE", "displayType": "TEXT"}]}})
            .to_string()
            .into_bytes();
            signed(&server.antom, &path, &client, body)
        }
        "U" => {
            let body = json!({"result": result("UNKNOWN_EXCEPTION", "U")})
                .to_string()
                .into_bytes();
            signed(&server.antom, &path, &client, body)
        }
        "HTTP500" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/html")],
            "<html><body>Internal Server Error</body></html>",
        )
            .into_response(),
        "HTTP200HTML" => (StatusCode::OK, "<html><body>maintenance</body></html>").into_response(),
        "EMPTY" => signed(&server.antom, &path, &client, Vec::new()),
        "SLEEP" => {
            tokio::time::sleep(Duration::from_millis(3000)).await;
            signed(&server.antom, &path, &client, ok())
        }
        "UNSIGNED" => (
            StatusCode::OK,
            [
                ("client-id", client.as_str()),
                ("response-time", RESPONSE_TIME),
            ],
            ok(),
        )
            .into_response(),
        "BADSIG" => signed(&server.wrong_key, &path, &client, ok()),
        "TAMPER" => {
            // Signed F, delivered as S.
            let f = json!({"result": result("USER_BALANCE_NOT_ENOUGH", "F")})
                .to_string()
                .into_bytes();
            let sig = server
                .antom
                .signature_header(&path, &client, RESPONSE_TIME, &f)
                .unwrap();
            (
                StatusCode::OK,
                [
                    ("client-id", client.as_str()),
                    ("response-time", RESPONSE_TIME),
                    ("signature", sig.as_str()),
                ],
                ok(),
            )
                .into_response()
        }
        other => panic!("unknown scenario {other}"),
    }
}

async fn start_server() -> (String, Arc<Server>) {
    let server = Arc::new(Server {
        antom: Signer::from_private_key(ANTOM_PRIVATE, 1).unwrap(),
        wrong_key: Signer::from_private_key(MERCHANT_PRIVATE, 1).unwrap(),
        merchant_public: Verifier::from_public_key(MERCHANT_PUBLIC).unwrap(),
        seen: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), server)
}

/// A server that reads the request and closes the connection without answering.
async fn start_dropping_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = socket.read(&mut buf).await;
                drop(socket);
            });
        }
    });
    format!("http://{addr}")
}

fn group(name: &str, base_url: &str, client_id: &str) -> ClientGroupConfig {
    ClientGroupConfig {
        name: name.into(),
        base_url: base_url.into(),
        client_id: client_id.into(),
        merchant_private_key: MERCHANT_PRIVATE.into(),
        key_version: 1,
        // Rotation: a retired key first, then the current one.
        antom_public_keys: vec![RETIRED_ANTOM_PUBLIC.into(), ANTOM_PUBLIC.into()],
        agent_token: None,
    }
}

fn settings() -> UpstreamSettings {
    UpstreamSettings {
        // Short enough for the timeout tests, long enough for a loaded CI machine.
        pay_timeout_ms: 1_200,
        inquiry_payment_timeout_ms: 1_000,
        cancel_timeout_ms: 1_000,
        refund_timeout_ms: 1_000,
        inquiry_refund_timeout_ms: 1_000,
        connect_timeout_ms: 1_000,
        ..UpstreamSettings::default()
    }
}

async fn client() -> (AntomClient, Arc<Server>) {
    let (url, server) = start_server().await;
    let client = AntomClient::new(
        settings(),
        [
            group("default", &url, SANDBOX_CLIENT),
            group("prod", &url, PROD_CLIENT),
        ],
    )
    .unwrap();
    (client, server)
}

fn merchant() -> MerchantProfile {
    MerchantProfile {
        merchant_id: "MID000000000001".into(),
        client: "default".into(),
        reference_merchant_id: "M0001".into(),
        merchant_name: "Demo Mart".into(),
        mcc: "5411".into(),
        store_id: "S0001".into(),
        store_name: "Demo Mart Orchard".into(),
        store_mcc: None,
        settlement_currency: Some("SGD".into()),
        merchant_region: Some("SG".into()),
        utc_offset_minutes: 480,
        follow_ups: Default::default(),
        allowed_networks: Vec::new(),
        api_keys: Vec::new(),
        rest_timeout_ms: None,
        webhook: None,
        terminals: vec![],
    }
}

fn pay_command(client: &str, id: &str) -> PayCommand {
    PayCommand {
        client: client.into(),
        payment_request_id: PaymentRequestId::new(id),
        amount: Money::from_numeric_currency(1234, 702).unwrap(),
        payment_code: Some(PaymentCode::new("281012345678901234")),
        scenario: PayScenario::PaymentCode,
        merchant: std::sync::Arc::new(merchant()),
        terminal_id: "T0001".into(),
        terminal_request_time: time::macros::datetime!(2023-11-14 22:13:20 +08:00),
        reference_order_id: None,
        order_description: "POS sale".into(),
        notify_url: Some("https://gw.example.com/antom/notify".into()),
        payment_expiry: None,
    }
}

#[tokio::test]
async fn pay_success_sends_the_right_body_and_maps_the_receipt() {
    let (client, server) = client().await;
    let outcome = client.pay(&pay_command("default", "S-1")).await;
    match outcome {
        UpstreamOutcome::Success(receipt) => {
            assert_eq!(receipt.payment_id.as_deref(), Some("P-S-1"));
            assert_eq!(receipt.wallet.as_deref(), Some("ALIPAYCN"));
        }
        other => panic!("{other:?}"),
    }
    let seen = server.seen.lock().unwrap();
    let (path, body) = seen.last().unwrap();
    assert_eq!(path, "/ams/sandbox/api/v1/payments/pay");
    assert_eq!(body["productCode"], "IN_STORE_PAYMENT");
    assert_eq!(body["paymentMethod"]["paymentMethodType"], "CONNECT_WALLET");
    assert_eq!(
        body["paymentMethod"]["paymentMethodId"],
        "281012345678901234"
    );
    assert_eq!(
        body["paymentFactor"]["inStorePaymentScenario"],
        "PaymentCode"
    );
    assert_eq!(
        body["paymentAmount"],
        json!({"currency": "SGD", "value": "1234"})
    );
    assert_eq!(body["order"]["merchant"]["merchantMCC"], "5411");
    assert_eq!(body["order"]["merchant"]["store"]["storeMCC"], "5411");
    assert_eq!(
        body["order"]["env"]["storeTerminalRequestTime"],
        "2023-11-14T22:13:20+08:00"
    );
    assert_eq!(body["settlementStrategy"]["settlementCurrency"], "SGD");
    assert_eq!(body["merchantRegion"], "SG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_on_the_blocking_pool_sends_the_same_verified_request() {
    // The server answers INVALID_SIGNATURE (F) to a request it cannot verify, so S proves the
    // signature made on the pool matches the body and headers sent.
    let (url, server) = start_server().await;
    let client = AntomClient::new(
        UpstreamSettings {
            sign_on_blocking_pool: true,
            ..settings()
        },
        [group("default", &url, SANDBOX_CLIENT)],
    )
    .unwrap();
    let calls = (1..=8).map(|n| {
        let client = client.clone();
        async move { client.pay(&pay_command("default", &format!("S-{n}"))).await }
    });
    for outcome in futures::future::join_all(calls).await {
        assert!(
            matches!(outcome, UpstreamOutcome::Success(_)),
            "{outcome:?}"
        );
    }
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 8);
    assert!(
        seen.iter()
            .all(|(path, _)| path == "/ams/sandbox/api/v1/payments/pay")
    );
}

#[tokio::test]
async fn production_group_uses_production_paths() {
    let (client, server) = client().await;
    let outcome = client
        .cancel(&CancelCommand {
            client: "prod".into(),
            payment_request_id: PaymentRequestId::new("S-2"),
        })
        .await;
    assert!(matches!(outcome, UpstreamOutcome::Success(r) if r.cancel_time.is_some()));
    assert_eq!(
        server.seen.lock().unwrap().last().unwrap().0,
        "/ams/api/v1/payments/cancel"
    );
}

#[tokio::test]
async fn f_and_u_answers() {
    let (client, _server) = client().await;
    assert_eq!(
        client.pay(&pay_command("default", "F-1")).await,
        UpstreamOutcome::Failed {
            result_code: "USER_BALANCE_NOT_ENOUGH".into(),
            message: "user_balance_not_enough".into()
        }
    );
    assert_eq!(
        client.pay(&pay_command("default", "U-1")).await,
        UpstreamOutcome::Unknown {
            reason: "U:UNKNOWN_EXCEPTION".into()
        }
    );
    let inquiry = client
        .inquire_payment(&InquiryCommand {
            client: "default".into(),
            payment_request_id: PaymentRequestId::new("F-2"),
        })
        .await;
    assert!(
        matches!(inquiry, UpstreamOutcome::Failed { ref result_code, .. } if result_code == "ORDER_NOT_EXIST")
    );
}

#[tokio::test]
async fn inquiry_and_refund_success() {
    let (client, _server) = client().await;
    let inquiry = client
        .inquire_payment(&InquiryCommand {
            client: "default".into(),
            payment_request_id: PaymentRequestId::new("S-3"),
        })
        .await;
    match inquiry {
        UpstreamOutcome::Success(report) => {
            assert_eq!(report.status, PaymentStatus::Success);
            assert_eq!(report.amount, Some((1234, "SGD".into())));
        }
        other => panic!("{other:?}"),
    }
    let refund = client
        .refund(&RefundCommand {
            client: "default".into(),
            refund_request_id: RefundRequestId::new("S-R1"),
            payment_id: "P-1".into(),
            amount_minor: 500,
            currency: "SGD".into(),
            reason: Some("customer return".into()),
        })
        .await;
    assert!(
        matches!(refund, UpstreamOutcome::Success(r) if r.refund_id.as_deref() == Some("RF-S-R1"))
    );
}

#[tokio::test]
async fn non_200_empty_and_html_are_unknown() {
    let (client, _server) = client().await;
    for (id, reason) in [
        ("HTTP500-1", "http_500"),
        ("EMPTY-1", "empty_body"),
        ("HTTP200HTML-1", "unsigned"),
    ] {
        assert_eq!(
            client.pay(&pay_command("default", id)).await,
            UpstreamOutcome::Unknown {
                reason: reason.into()
            },
            "{id}"
        );
    }
}

#[tokio::test]
async fn timeout_is_unknown_and_respects_the_per_api_deadline() {
    let (client, _server) = client().await;
    let started = Instant::now();
    let outcome = client.pay(&pay_command("default", "SLEEP-1")).await;
    let elapsed = started.elapsed();
    assert_eq!(
        outcome,
        UpstreamOutcome::Unknown {
            reason: "timeout".into()
        }
    );
    assert!(elapsed >= Duration::from_millis(1_150), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_900), "{elapsed:?}");
    // The raw outcome carries the deadline.
    let raw = client
        .call("default", &CancelRequest::by_payment_request_id("SLEEP-2"))
        .await;
    assert_eq!(raw, Outcome::Unknown(UnknownReason::Timeout(1_000)));
}

#[tokio::test]
async fn dropped_and_refused_connections_are_unknown() {
    let dropping = start_dropping_server().await;
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        format!("http://{addr}")
    };
    let client = AntomClient::new(
        settings(),
        [
            group("dropping", &dropping, SANDBOX_CLIENT),
            group("refused", &refused, SANDBOX_CLIENT),
        ],
    )
    .unwrap();
    let outcome = client.pay(&pay_command("dropping", "S-9")).await;
    assert_eq!(
        outcome,
        UpstreamOutcome::Unknown {
            reason: "connection".into()
        }
    );
    let outcome = client.pay(&pay_command("refused", "S-9")).await;
    assert_eq!(
        outcome,
        UpstreamOutcome::Unknown {
            reason: "connection".into()
        }
    );
}

#[tokio::test]
async fn unsigned_badly_signed_and_tampered_answers_are_unknown() {
    let (client, _server) = client().await;
    let raw: Outcome<PayResponse> = client
        .call(
            "default",
            &asw_upstream::pay_request(&pay_command("default", "UNSIGNED-1")).unwrap(),
        )
        .await;
    assert!(matches!(
        raw,
        Outcome::Unknown(UnknownReason::Unsigned {
            claimed_status: Some(asw_antom::ResultStatus::Success),
            ..
        })
    ));
    for (id, reason) in [
        ("UNSIGNED-2", "unsigned:SUCCESS"),
        ("BADSIG-1", "bad_signature"),
        ("TAMPER-1", "bad_signature"),
    ] {
        assert_eq!(
            client.pay(&pay_command("default", id)).await,
            UpstreamOutcome::Unknown {
                reason: reason.into()
            },
            "{id}"
        );
    }
}

#[tokio::test]
async fn requests_that_are_never_sent_fail_locally() {
    let (client, server) = client().await;
    assert!(matches!(
        client.pay(&pay_command("nope", "S-1")).await,
        UpstreamOutcome::Failed { ref result_code, .. } if result_code == local_codes::CLIENT_NOT_CONFIGURED
    ));
    let mut no_code = pay_command("default", "S-1");
    no_code.payment_code = None;
    assert!(matches!(
        client.pay(&no_code).await,
        UpstreamOutcome::Failed { ref result_code, .. } if result_code == local_codes::MISSING_PAYMENT_CODE
    ));
    assert!(server.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn order_code_pay_has_no_payment_code() {
    let (client, server) = client().await;
    let mut cmd = pay_command("default", "S-OC");
    cmd.scenario = PayScenario::OrderCode;
    cmd.payment_code = None;
    assert!(matches!(
        client.pay(&cmd).await,
        UpstreamOutcome::Success(_)
    ));
    let seen = server.seen.lock().unwrap();
    let body = &seen.last().unwrap().1;
    assert_eq!(
        body["paymentMethod"],
        json!({"paymentMethodType": "CONNECT_WALLET"})
    );
    assert_eq!(body["paymentFactor"]["inStorePaymentScenario"], "OrderCode");
}

/// An Order Code `pay` that created the code hands the code and its expiry over, whether Antom
/// says so with `S` or with `U PAYMENT_IN_PROCESS` and the form; a customer-presented pay
/// answered `U PAYMENT_IN_PROCESS` stays unknown.
#[tokio::test]
async fn order_code_pay_hands_over_the_code_whether_s_or_in_process() {
    let (client, _server) = client().await;
    for id in ["OCS-1", "OCU-1"] {
        let mut cmd = pay_command("default", id);
        cmd.scenario = PayScenario::OrderCode;
        cmd.payment_code = None;
        match client.pay(&cmd).await {
            UpstreamOutcome::Success(receipt) => {
                let url = format!("https://gqr.example/{id}");
                assert_eq!(receipt.order_code.as_deref(), Some(url.as_str()), "{id}");
                assert_eq!(
                    receipt.order_code_expires_at.as_deref(),
                    Some("2023-11-14T06:16:21-08:00")
                );
                assert_eq!(receipt.payment_id, Some(format!("P-{id}")));
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    let outcome = client.pay(&pay_command("default", "OCU-2")).await;
    assert!(
        matches!(outcome, UpstreamOutcome::Unknown { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn keep_alive_pool_reuses_connections_concurrently() {
    // Default (production) deadlines: this test is about concurrency, not timeouts.
    let (url, _server) = start_server().await;
    let client = AntomClient::new(
        UpstreamSettings::default(),
        [group("default", &url, SANDBOX_CLIENT)],
    )
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .inquire_payment(&InquiryCommand {
                    client: "default".into(),
                    payment_request_id: PaymentRequestId::new(format!("S-{i}")),
                })
                .await
        }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), UpstreamOutcome::Success(_)));
    }
}

#[test]
fn metrics_are_recorded_with_bounded_labels() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        // What the binary does at start-up for every crate: creates the series at zero.
        asw_metrics::register(asw_upstream::metrics::METRICS);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, _server) = client().await;
            client.pay(&pay_command("default", "S-M")).await;
            client.pay(&pay_command("default", "F-M")).await;
            client.pay(&pay_command("default", "BADSIG-M")).await;
        });
    });
    let text = handle.render();
    assert!(
        text.contains(r#"antom_switch_upstream_requests_total{api="pay",result="S"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"antom_switch_upstream_requests_total{api="pay",result="F"} 1"#));
    assert!(text.contains(r#"antom_switch_upstream_requests_total{api="pay",result="U"} 1"#));
    assert!(text.contains(r#"antom_switch_upstream_requests_total{api="refund",result="S"} 0"#));
    assert!(text.contains(r#"antom_switch_upstream_signature_failures_total{api="pay"} 1"#));
    assert!(text.contains(r#"antom_switch_upstream_signature_failures_total{api="cancel"} 0"#));
    assert!(text.contains("antom_switch_upstream_request_duration_seconds"));
}

#[test]
fn bad_configuration_is_refused_at_start_up() {
    let mut g = group("default", "http://127.0.0.1:1", SANDBOX_CLIENT);
    g.merchant_private_key = "garbage".into();
    let err = AntomClient::new(settings(), [g]).unwrap_err();
    assert!(err.to_string().contains("merchant_private_key"), "{err}");
    let mut g = group("default", "http://127.0.0.1:1", SANDBOX_CLIENT);
    g.antom_public_keys.clear();
    assert!(AntomClient::new(settings(), [g]).is_err());
    let g = group("default", "http://127.0.0.1:1/ams/api", SANDBOX_CLIENT);
    assert!(AntomClient::new(settings(), [g]).is_err());
    let g = group("default", "http://127.0.0.1:1", SANDBOX_CLIENT);
    assert!(AntomClient::new(settings(), [g.clone(), g]).is_err());
    // Debug never shows keys.
    let g = group("default", "http://127.0.0.1:1", SANDBOX_CLIENT);
    assert!(!format!("{g:?}").contains("BEGIN"));
}
