//! Hosted card payments over real HTTP: the card pay answer, the card page and its form, the
//! buyer hook, authorization and capture (automatic and manual), capture idempotency and
//! faults, void by cancel, and every notification verified with the Antom public key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic on bad fixtures

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_antom::Notification;
use asw_antom_sim::CaptureFault;
use axum::body::Bytes;
use axum::http::HeaderMap;
use common::*;
use serde_json::{Value, json};

const CAPTURE: &str = "/ams/api/v1/payments/capture";
const REDIRECT: &str = "https://shop.example.com/return?ref=ORDER-2001&lang=en";

/// A card pay body shaped like the reference's hosted-mode request.
fn card_body(prid: &str, mode: Option<&str>, notify: &str) -> Value {
    let mut factor = json!({"isAuthorization": true});
    if let Some(m) = mode {
        factor["captureMode"] = json!(m);
    }
    json!({
        "productCode": "CASHIER_PAYMENT",
        "paymentRequestId": prid,
        "paymentAmount": {"currency": "SGD", "value": "4200"},
        "paymentMethod": {"paymentMethodType": "CARD"},
        "paymentFactor": factor,
        "paymentRedirectUrl": REDIRECT,
        "paymentNotifyUrl": notify,
        "env": {"terminalType": "WEB", "clientIp": "203.0.113.7"},
        "order": {
            "referenceOrderId": "ORDER-2001",
            "orderDescription": "Bag <leather>",
            "orderAmount": {"currency": "SGD", "value": "4200"},
            "buyer": {"referenceBuyerId": "buyer-77"}
        }
    })
}

fn capture_body(id: &str, payment_id: &str, value: &str) -> Value {
    json!({"captureRequestId": id, "paymentId": payment_id,
           "captureAmount": {"currency": "SGD", "value": value}})
}

/// Every notification, verified with the Antom public key, in arrival order.
struct Receiver {
    url: String,
    inbox: Arc<Mutex<Vec<Notification>>>,
}

impl Receiver {
    fn all(&self) -> Vec<Notification> {
        self.inbox.lock().unwrap().clone()
    }

    fn payments(&self) -> Vec<asw_antom::webhook::NotifyPayment> {
        self.all()
            .into_iter()
            .filter_map(|n| match n {
                Notification::Payment(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    fn captures(&self) -> Vec<asw_antom::CaptureResultNotification> {
        self.all()
            .into_iter()
            .filter_map(|n| match n {
                Notification::Capture(c) => Some(*c),
                _ => None,
            })
            .collect()
    }
}

async fn receiver() -> Receiver {
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let verifier = asw_antom::Verifier::from_public_key(&testdata("antom_public.pem")).unwrap();
    let state = Arc::clone(&inbox);
    let app = axum::Router::new().route(
        "/antom/notify",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let state = Arc::clone(&state);
            let verifier = verifier.clone();
            async move {
                // A notification that does not verify fails the test: none may be unsigned.
                let n = asw_antom::verify_notification(&verifier, "/antom/notify", &headers, &body)
                    .unwrap();
                state.lock().unwrap().push(n);
                (
                    axum::http::StatusCode::OK,
                    asw_antom::NOTIFY_ACK_SUCCESS_BODY,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url: format!("http://{addr}/antom/notify"),
        inbox,
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Posts the card form like a browser that does not follow redirects.
async fn submit(page_url: &str, action: &str, form: &str) -> (u16, Option<String>) {
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{page_url}/{action}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), location)
}

const GOOD_FORM: &str = "card_number=4242+4242+4242+4242&expiry=12%2F99&cvv=123&holder=A+Buyer";

/// Pays by card; returns (paymentId, normalUrl).
async fn open_card(
    client: &Client,
    prid: &str,
    mode: Option<&str>,
    notify: &str,
) -> (String, String) {
    let reply = client.call(PAY, &card_body(prid, mode, notify)).await;
    assert_eq!(reply.signed_code(), "PAYMENT_IN_PROCESS", "{reply:?}");
    let body = reply.json();
    (
        body["paymentId"].as_str().unwrap().to_owned(),
        body["normalUrl"].as_str().unwrap().to_owned(),
    )
}

async fn inquiry(client: &Client, prid: &str) -> Value {
    let reply = client.call(INQUIRY, &by_prid(prid)).await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    reply.json()
}

#[tokio::test]
async fn card_pay_answers_with_the_card_page_which_shows_the_order_and_the_form() {
    let (sim, client) = start().await;
    let rx = receiver().await;
    let reply = client
        .call(PAY, &card_body("card-page", None, &rx.url))
        .await;
    assert_eq!(reply.signed_code(), "PAYMENT_IN_PROCESS");
    let body = reply.json();
    let id = body["paymentId"].as_str().unwrap();
    let normal = format!("{}/checkout/card/{id}", sim.base_url());
    assert_eq!(body["normalUrl"], json!(normal));
    for absent in ["applinkUrl", "schemeUrl", "appIdentifier", "orderCodeForm"] {
        assert!(body.get(absent).is_none(), "{absent} on a card answer");
    }
    let typed: asw_antom::PayResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(typed.normal_url.as_deref(), Some(normal.as_str()));

    let page = reqwest::get(&normal).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    for needle in [
        "SGD 42.00",
        "ORDER-2001",
        "Bag &lt;leather&gt;",
        r#"name="card_number""#,
        r#"name="expiry""#,
        r#"name="cvv""#,
        r#"name="holder""#,
        r#"data-action="approve""#,
        r#"data-action="leave""#,
        &format!(r#"action="/checkout/card/{id}/approve""#),
    ] {
        assert!(html.contains(needle), "{needle} missing in {html}");
    }
    // The wallet page does not serve a card payment, nor the card page a wallet one.
    let wallet = reqwest::get(format!("{}/checkout/wallet/{id}", sim.base_url()))
        .await
        .unwrap();
    assert_eq!(wallet.status().as_u16(), 404);
    assert_eq!(
        submit(
            &format!("{}/checkout/wallet/{id}", sim.base_url()),
            "approve",
            ""
        )
        .await
        .0,
        404
    );
    let view = sim.payment("card-page").unwrap();
    assert_eq!(view.status, "PROCESSING");
    assert_eq!(view.capture_mode.as_deref(), Some("AUTOMATIC"));
    assert_eq!(view.capture_status.as_deref(), Some("NOT_CAPTURED"));
    // A re-send gets the same page; isAuthorization as the string "true" is accepted.
    let mut again = card_body("card-page", None, &rx.url);
    again["paymentFactor"]["isAuthorization"] = json!("true");
    let again = client.call(PAY, &again).await;
    assert_eq!(again.signed_code(), "PAYMENT_IN_PROCESS");
    assert_eq!(again.json()["normalUrl"], json!(normal));
    sim.shutdown().await;
}

#[tokio::test]
async fn card_requests_are_validated() {
    let (sim, client) = start().await;
    for (i, factor) in [
        json!({}),
        json!({"isAuthorization": false}),
        json!({"isAuthorization": true, "captureMode": "LATER"}),
    ]
    .into_iter()
    .enumerate()
    {
        let prid = format!("card-bad-{i}");
        let mut body = card_body(&prid, None, "http://127.0.0.1:9/n");
        body["paymentFactor"] = factor;
        assert_eq!(client.call(PAY, &body).await.signed_code(), "PARAM_ILLEGAL");
        assert!(sim.payment(&prid).is_none());
    }
    let mut body = card_body("card-bad-token", None, "http://127.0.0.1:9/n");
    body["paymentMethod"]["paymentMethodId"] = json!("NOT_A_TOKEN");
    assert_eq!(client.call(PAY, &body).await.signed_code(), "PARAM_ILLEGAL");
    sim.shutdown().await;
}

#[tokio::test]
async fn automatic_capture_authorizes_captures_and_notifies_both() {
    let (sim, client) = start().await;
    let rx = receiver().await;
    let (payment_id, page) = open_card(&client, "card-auto", None, &rx.url).await;
    assert_eq!(
        submit(&page, "approve", GOOD_FORM).await,
        (303, Some(REDIRECT.to_owned()))
    );
    wait_for("payment and capture results", || rx.all().len() == 2).await;
    // PAYMENT_RESULT first, then CAPTURE_RESULT.
    assert!(matches!(rx.all()[0], Notification::Payment(_)));
    let paid = &rx.payments()[0];
    assert!(paid.is_payment_success());
    let info = paid.payment.payment_result_info.as_ref().unwrap();
    assert_eq!(info.card_no.as_deref(), Some("************4242"));
    assert_eq!(info.card_brand.as_deref(), Some("VISA"));
    assert_eq!(info.cardholder_name.as_deref(), Some("A Buyer"));
    let token = info.card_token.clone().unwrap();
    assert!(paid.payment.auth_expiry_time.is_some());
    let captured = &rx.captures()[0];
    assert!(captured.is_capture_success());
    assert_eq!(captured.payment_id, payment_id);
    assert_eq!(captured.capture_amount.as_ref().unwrap().value, "4200");
    assert!(captured.capture_id.is_some());

    let view = sim.payment("card-auto").unwrap();
    assert_eq!(view.status, "SUCCESS");
    assert_eq!(view.capture_status.as_deref(), Some("CAPTURED"));
    assert_eq!(view.captured_total, Some(4200));
    assert_eq!(view.captures.len(), 1);
    assert_eq!(view.card_token.as_deref(), Some(token.as_str()));

    let inq = inquiry(&client, "card-auto").await;
    assert_eq!(inq["paymentStatus"], "SUCCESS");
    assert_eq!(inq["paymentResultInfo"]["lastFour"], "4242");
    assert!(inq["authExpiryTime"].as_str().unwrap().ends_with("-08:00"));
    let tx = &inq["transactions"][0];
    assert_eq!(tx["transactionType"], "CAPTURE");
    assert_eq!(tx["transactionStatus"], "SUCCESS");
    assert_eq!(
        tx["transactionRequestId"],
        json!(captured.capture_request_id)
    );
    assert_eq!(tx["transactionId"], json!(captured.capture_id));
    // Nothing more to capture.
    let again = client
        .call(CAPTURE, &capture_body("cap-x", &payment_id, "4200"))
        .await;
    assert_eq!(again.signed_code(), "MULTI_CAPTURE_NOT_SUPPORTED");

    // The saved card pays at once (authorized, S), and is captured automatically again.
    let mut saved = card_body("card-saved", None, &rx.url);
    saved["paymentMethod"]["paymentMethodId"] = json!(token);
    let reply = client.call(PAY, &saved).await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    let body = reply.json();
    assert!(body.get("normalUrl").is_none());
    assert_eq!(body["paymentResultInfo"]["cardToken"], json!(token));
    wait_for("the saved card's results", || rx.all().len() == 4).await;
    assert_eq!(rx.captures().len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn manual_capture_waits_for_capture_which_is_idempotent() {
    let (sim, client) = start().await;
    let rx = receiver().await;
    let (payment_id, _) = open_card(&client, "card-man", Some("MANUAL"), &rx.url).await;
    // Not authorized yet: nothing to capture.
    let early = client
        .call(CAPTURE, &capture_body("cap-0", &payment_id, "4200"))
        .await;
    assert_eq!(early.signed_code(), "ORDER_STATUS_INVALID");
    let hook = format!("{}/__sim/buyer/{payment_id}/approve", sim.base_url());
    let (status, approved) = post_json(&hook, &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(approved["status"], "SUCCESS");
    wait_for("the authorization result", || rx.all().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.captures().is_empty(), "manual: no capture by itself");
    let view = sim.payment("card-man").unwrap();
    assert_eq!(view.capture_status.as_deref(), Some("NOT_CAPTURED"));
    // A refund needs a capture first.
    let refund = client
        .call(REFUND, &refund_body("r-early", &payment_id, "100"))
        .await;
    assert_eq!(refund.signed_code(), "ORDER_STATUS_INVALID");

    // Below and above the authorized amount.
    for (id, value, code) in [
        ("cap-low", "4199", "PARAM_ILLEGAL"),
        ("cap-high", "4201", "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT"),
    ] {
        let reply = client
            .call(CAPTURE, &capture_body(id, &payment_id, value))
            .await;
        assert_eq!(reply.signed_code(), code);
        assert_eq!(reply.status_letter(), "F");
    }
    let first = client
        .call(CAPTURE, &capture_body("cap-1", &payment_id, "4200"))
        .await;
    assert_eq!(first.signed_code(), "SUCCESS");
    let typed: asw_antom::CaptureResponse = serde_json::from_value(first.json()).unwrap();
    let capture_id = typed.capture_id.clone().unwrap();
    assert_eq!(typed.capture_request_id.as_deref(), Some("cap-1"));
    assert_eq!(typed.payment_id.as_deref(), Some(payment_id.as_str()));
    assert!(typed.capture_time.is_some());
    // Retried with the same id: the same answer, one capture.
    let retry = client
        .call(CAPTURE, &capture_body("cap-1", &payment_id, "4200"))
        .await;
    assert_eq!(retry.signed_code(), "SUCCESS");
    assert_eq!(retry.json()["captureId"], json!(capture_id));
    // Same id, another amount.
    let other = client
        .call(CAPTURE, &capture_body("cap-1", &payment_id, "4100"))
        .await;
    assert_eq!(other.signed_code(), "REPEAT_REQ_INCONSISTENT");
    // Another id after the success.
    let second = client
        .call(CAPTURE, &capture_body("cap-2", &payment_id, "4200"))
        .await;
    assert_eq!(second.signed_code(), "MULTI_CAPTURE_NOT_SUPPORTED");
    // The same id on another payment.
    let unknown = client
        .call(CAPTURE, &capture_body("cap-1", "nope", "4200"))
        .await;
    assert_eq!(unknown.signed_code(), "REPEAT_REQ_INCONSISTENT");
    let unknown = client
        .call(CAPTURE, &capture_body("cap-9", "nope", "4200"))
        .await;
    assert_eq!(unknown.signed_code(), "AUTH_NOT_FOUND");

    wait_for("the capture result", || rx.captures().len() == 1).await;
    let c = &rx.captures()[0];
    assert!(c.is_capture_success());
    assert_eq!(c.capture_request_id, "cap-1");
    assert_eq!(c.capture_id.as_deref(), Some(capture_id.as_str()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.captures().len(), 1, "captured exactly once");
    let view = sim.payment("card-man").unwrap();
    assert_eq!(view.captured_total, Some(4200));
    let successes: Vec<_> = view
        .captures
        .iter()
        .filter(|c| c.status == "SUCCESS")
        .collect();
    assert_eq!(successes.len(), 1);
    assert_eq!(successes[0].capture_request_id, "cap-1");
    let inq = inquiry(&client, "card-man").await;
    let kinds: Vec<_> = inq["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["transactionRequestId"].clone(),
                t["transactionStatus"].clone(),
            )
        })
        .collect();
    assert!(kinds.contains(&(json!("cap-1"), json!("SUCCESS"))));
    assert!(kinds.contains(&(json!("cap-high"), json!("FAIL"))));
    // Captured: a refund works now, and a cancel refunds in full.
    let refund = client
        .call(REFUND, &refund_body("r-1", &payment_id, "200"))
        .await;
    assert_eq!(refund.signed_code(), "SUCCESS");
    assert!(
        sim.calls()
            .iter()
            .any(|c| c.capture_request_id.as_deref() == Some("cap-1"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn declined_cards_fail_with_their_codes_and_leave_keeps_the_payment_open() {
    let (sim, client) = start_with(|cfg| cfg.online_expiry = Duration::from_millis(600)).await;
    let rx = receiver().await;
    let cases = [
        (
            "card-dnh",
            "card_number=4000000000000002&expiry=12%2F99&cvv=123",
            "DO_NOT_HONOR",
        ),
        (
            "card-pan",
            "card_number=4111111111111111&expiry=12%2F99&cvv=123",
            "INVALID_CARD_NUMBER",
        ),
        (
            "card-exp",
            "card_number=4242424242424242&expiry=01%2F20&cvv=123",
            "INVALID_EXPIRATION_DATE",
        ),
        ("card-empty", "", "INVALID_CARD_NUMBER"),
    ];
    for (prid, form, code) in cases {
        let (_, page) = open_card(&client, prid, Some("MANUAL"), &rx.url).await;
        assert_eq!(
            submit(&page, "approve", form).await,
            (303, Some(REDIRECT.to_owned())),
            "{prid}"
        );
        let inq = inquiry(&client, prid).await;
        assert_eq!(inq["paymentStatus"], "FAIL", "{prid}");
        assert_eq!(inq["paymentResultCode"], code, "{prid}");
    }
    wait_for("four failure notifications", || rx.payments().len() == 4).await;
    for n in rx.payments() {
        assert!(n.is_payment_failure());
        let expected = cases
            .iter()
            .find(|c| c.0 == n.payment_request_id)
            .unwrap()
            .2;
        assert_eq!(n.result.result_code, expected);
    }
    // The hook declines with a PAN, and with `decline`.
    let (id, _) = open_card(&client, "card-hook", None, &rx.url).await;
    let (_, out) = post_json(
        &format!("{}/__sim/buyer/{id}/approve", sim.base_url()),
        &json!({"card_number": "4000000000000002"}),
    )
    .await;
    assert_eq!(
        (out["status"].as_str(), out["resultCode"].as_str()),
        (Some("FAIL"), Some("DO_NOT_HONOR"))
    );

    // Leave: nothing changes until the expiry closes it.
    let (id, page) = open_card(&client, "card-leave", None, &rx.url).await;
    assert_eq!(
        submit(&page, "leave", "").await,
        (303, Some(REDIRECT.to_owned()))
    );
    assert_eq!(
        inquiry(&client, "card-leave").await["paymentStatus"],
        "PROCESSING"
    );
    let capture = client
        .call(CAPTURE, &capture_body("cap-leave", &id, "4200"))
        .await;
    assert_eq!(capture.signed_code(), "ORDER_STATUS_INVALID");
    wait_for("the expiry", || {
        rx.payments().iter().any(|n| {
            n.payment_request_id == "card-leave" && n.result.result_code == "ORDER_IS_CLOSED"
        })
    })
    .await;
    assert!(rx.captures().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_voids_an_authorization_and_capture_after_is_refused() {
    let (sim, client) = start().await;
    let rx = receiver().await;
    let (id, page) = open_card(&client, "card-void", Some("MANUAL"), &rx.url).await;
    assert_eq!(submit(&page, "approve", GOOD_FORM).await.0, 303);
    assert_eq!(
        client
            .call(CANCEL, &by_prid("card-void"))
            .await
            .signed_code(),
        "SUCCESS"
    );
    let view = sim.payment("card-void").unwrap();
    assert_eq!(view.status, "CANCELLED");
    assert!(!view.cancelled_after_success, "a void refunds nothing");
    assert_eq!(view.captured_total, Some(0));
    let capture = client
        .call(CAPTURE, &capture_body("cap-void", &id, "4200"))
        .await;
    assert_eq!(capture.signed_code(), "ORDER_IS_CANCELED");
    let inq = inquiry(&client, "card-void").await;
    assert_eq!(inq["paymentStatus"], "CANCELLED");
    assert_eq!(inq["transactions"][0]["transactionType"], "VOID");

    // Past the authorization's life a capture is AUTH_EXPIRED.
    let (id, page) = open_card(&client, "card-old", Some("MANUAL"), &rx.url).await;
    assert_eq!(submit(&page, "approve", GOOD_FORM).await.0, 303);
    sim.set_clock_offset_ms(8 * 24 * 3600 * 1000);
    let capture = client
        .call(CAPTURE, &capture_body("cap-old", &id, "4200"))
        .await;
    assert_eq!(capture.signed_code(), "AUTH_EXPIRED");
    sim.shutdown().await;
}

#[tokio::test]
async fn capture_faults_hit_the_first_attempt_and_the_retry_captures_once() {
    for fault in [
        CaptureFault::UnknownCommitted,
        CaptureFault::UnknownNotCommitted,
        CaptureFault::LostAfterCommit,
        CaptureFault::SlowCommitted,
    ] {
        let (sim, client) = start_with(|cfg| cfg.capture_fault = fault).await;
        let rx = receiver().await;
        let (id, page) = open_card(&client, "card-f", Some("MANUAL"), &rx.url).await;
        assert_eq!(submit(&page, "approve", GOOD_FORM).await.0, 303);
        let body = serde_json::to_vec(&capture_body("cap-f", &id, "4200")).unwrap();
        let first = client.call_raw(CAPTURE, body.clone()).await;
        match fault {
            CaptureFault::UnknownCommitted | CaptureFault::UnknownNotCommitted => {
                assert_eq!(
                    first.unwrap().signed_code(),
                    "UNKNOWN_EXCEPTION",
                    "{fault:?}"
                );
            }
            CaptureFault::LostAfterCommit => assert!(first.is_err(), "the answer should be lost"),
            _ => assert_eq!(first.unwrap().signed_code(), "SUCCESS"),
        }
        let committed = fault != CaptureFault::UnknownNotCommitted;
        assert_eq!(
            sim.payment("card-f").unwrap().captured_total,
            Some(if committed { 4200 } else { 0 }),
            "{fault:?}"
        );
        let retry = client.call_raw(CAPTURE, body).await.unwrap();
        assert_eq!(retry.signed_code(), "SUCCESS", "{fault:?}");
        let view = sim.payment("card-f").unwrap();
        assert_eq!(view.captures.len(), 1, "{fault:?}: captured once");
        assert_eq!(view.captured_total, Some(4200));
        wait_for("the capture result", || rx.captures().len() == 1).await;
        sim.shutdown().await;
    }
}
