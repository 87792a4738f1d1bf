//! Checkout Page sessions (`createPaymentSession`, seed 002) over real HTTP: the signed answer,
//! the hosted page listing the methods (`data-method`), the buyer's choice becoming the
//! session's payment on the wallet or card page, `ORDER_NOT_EXIST` before anything was
//! submitted, a cancel closing an unsubmitted session, and the `U` of the scenario table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const SESSION: &str = "/ams/api/v1/payments/createPaymentSession";
const REDIRECT: &str = "https://shop.example.com/return?ref=ORDER-2001&lang=en";

fn session_body(prid: &str, value: &str, methods: &[&str], buyer: bool) -> Value {
    let mut body = json!({
        "productCode": "CASHIER_PAYMENT",
        "productScene": "CHECKOUT_PAYMENT",
        "paymentRequestId": prid,
        "paymentAmount": {"currency": "SGD", "value": value},
        "paymentFactor": {"isAuthorization": true, "captureMode": "MANUAL"},
        "paymentRedirectUrl": REDIRECT,
        "order": {
            "referenceOrderId": "ORDER-2001",
            "orderDescription": "Classic bag <black>",
            "orderAmount": {"currency": "SGD", "value": value}
        }
    });
    if buyer {
        body["order"]["buyer"] = json!({"referenceBuyerId": "buyer-77"});
    }
    if !methods.is_empty() {
        let list: Vec<Value> = methods
            .iter()
            .map(|m| json!({"paymentMethodType": m}))
            .collect();
        body["availablePaymentMethod"] = json!({"paymentMethodTypeList": list});
    }
    body
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Presses a form button (no body needed); the status and the Location header.
async fn press(url: &str) -> (u16, Option<String>) {
    let resp = no_redirects()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), location)
}

#[tokio::test]
async fn a_session_is_created_signed_and_its_page_lists_the_methods() {
    let (sim, client) = start().await;
    let reply = client
        .call(
            SESSION,
            &session_body("s-1", "6000", &["GCASH", "CARD"], true),
        )
        .await;
    assert_eq!(reply.signed_code(), "SUCCESS", "{reply:?}");
    let body = reply.json();
    let typed: asw_antom::CreatePaymentSessionResponse =
        serde_json::from_value(body.clone()).unwrap();
    let url = typed.normal_url.expect("normalUrl");
    assert!(url.starts_with(&format!("{}/checkout/session/", sim.public_url())));
    let data = typed.payment_session_data.expect("paymentSessionData");
    assert!(
        typed
            .payment_session_expiry_time
            .unwrap()
            .ends_with("-08:00")
    );

    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("data-method=\"GCASH\""), "{page}");
    assert!(page.contains("data-method=\"CARD\""), "{page}");
    assert!(page.contains("SGD 60.00"));
    assert!(
        page.contains("Classic bag &lt;black&gt;"),
        "escaped: {page}"
    );
    // The embedded page's stand-in opens the same session from its data.
    let resp = no_redirects()
        .get(format!(
            "{}/checkout/sdk?sessionData={}",
            sim.base_url(),
            urlencode(&data)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"].to_str().unwrap(), url);

    // Nothing submitted: no payment, the inquiry says ORDER_NOT_EXIST.
    assert!(sim.payment("s-1").is_none());
    let inquiry = client.call(INQUIRY, &by_prid("s-1")).await;
    assert_eq!(inquiry.signed_code(), "ORDER_NOT_EXIST");

    // The same paymentRequestId again: the same session.
    let again = client
        .call(
            SESSION,
            &session_body("s-1", "6000", &["GCASH", "CARD"], true),
        )
        .await;
    assert_eq!(again.json()["paymentSessionId"], body["paymentSessionId"]);
    let other = client
        .call(SESSION, &session_body("s-1", "6001", &["GCASH"], true))
        .await;
    assert_eq!(other.signed_code(), "REPEAT_REQ_INCONSISTENT");
}

#[tokio::test]
async fn the_buyers_choice_becomes_the_sessions_payment_and_is_paid_on_the_wallet_page() {
    let (sim, client) = start().await;
    let body = client
        .call(SESSION, &session_body("s-2", "1250", &[], true))
        .await
        .json();
    let url = body["normalUrl"].as_str().unwrap().to_owned();

    let (status, wallet_page) = press(&format!("{url}/GCASH")).await;
    assert_eq!(status, 303);
    let wallet_page = wallet_page.expect("to the wallet page");
    assert!(wallet_page.contains("/checkout/wallet/"), "{wallet_page}");
    let payment = sim.payment("s-2").expect("the session's payment");
    assert_eq!(payment.status, "PROCESSING");
    assert_eq!(payment.payment_method_type.as_deref(), Some("GCASH"));
    assert_eq!(payment.payment_redirect_url.as_deref(), Some(REDIRECT));
    // Choosing again leads to the same payment.
    let (_, again) = press(&format!("{url}/DANA")).await;
    assert_eq!(again.as_deref(), Some(wallet_page.as_str()));

    let (status, back) = press(&format!("{wallet_page}/approve")).await;
    assert_eq!(status, 303);
    assert_eq!(back.as_deref(), Some(REDIRECT), "unchanged");
    let inquiry = client.call(INQUIRY, &by_prid("s-2")).await.json();
    assert_eq!(inquiry["paymentStatus"], "SUCCESS");
    assert_eq!(inquiry["paymentMethodType"], "GCASH");
    assert_eq!(sim.session("s-2").unwrap().status, "SUBMITTED");
}

#[tokio::test]
async fn a_card_needs_the_buyer_and_goes_to_the_card_page_as_an_authorization() {
    let (sim, client) = start().await;
    let anonymous = client
        .call(SESSION, &session_body("s-3", "4200", &["CARD"], false))
        .await
        .json();
    let (status, _) = press(&format!(
        "{}/CARD",
        anonymous["normalUrl"].as_str().unwrap()
    ))
    .await;
    assert_eq!(
        status, 409,
        "Antom's page errors on a card without the buyer"
    );
    let (status, _) = press(&format!(
        "{}/GCASH",
        anonymous["normalUrl"].as_str().unwrap()
    ))
    .await;
    assert_eq!(status, 409, "not offered on this page");

    let named = client
        .call(SESSION, &session_body("s-4", "4200", &["CARD"], true))
        .await
        .json();
    let (status, page) = press(&format!("{}/CARD", named["normalUrl"].as_str().unwrap())).await;
    assert_eq!(status, 303);
    assert!(page.unwrap().contains("/checkout/card/"));
    let payment = sim.payment("s-4").unwrap();
    assert_eq!(
        payment.capture_mode.as_deref(),
        Some("MANUAL"),
        "as the session asked"
    );
}

#[tokio::test]
async fn a_cancel_closes_an_unsubmitted_session_and_the_buyer_can_no_longer_pay() {
    let (sim, client) = start().await;
    let body = client
        .call(SESSION, &session_body("s-5", "1250", &["GCASH"], true))
        .await
        .json();
    let cancel = client.call(CANCEL, &by_prid("s-5")).await;
    assert_eq!(
        cancel.signed_code(),
        "ORDER_NOT_EXIST",
        "no payment to cancel"
    );
    assert_eq!(sim.session("s-5").unwrap().status, "CLOSED");

    let (status, _) = press(&format!("{}/GCASH", body["normalUrl"].as_str().unwrap())).await;
    assert_eq!(status, 409);
    let (status, hook) = post_json(
        &format!("{}/__sim/sessions/s-5/GCASH", sim.base_url()),
        &json!({}),
    )
    .await;
    assert_eq!(status, 409, "{hook}");
    assert!(sim.payment("s-5").is_none());
}

#[tokio::test]
async fn amount_9901_answers_u_and_stores_nothing_9902_answers_late() {
    let (sim, client) = start().await;
    let reply = client
        .call(SESSION, &session_body("s-6", "9901", &[], true))
        .await;
    assert_eq!(reply.signed_code(), "UNKNOWN_EXCEPTION");
    assert_eq!(reply.status_letter(), "U");
    assert!(sim.session("s-6").is_none());

    let started = std::time::Instant::now();
    let reply = client
        .call(SESSION, &session_body("s-7", "9902", &[], true))
        .await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "answered late"
    );
    assert_eq!(sim.session("s-7").unwrap().status, "OPEN");
}

#[tokio::test]
async fn the_session_hook_plays_the_buyers_choice() {
    let (sim, client) = start().await;
    client
        .call(SESSION, &session_body("s-8", "1250", &["GCASH"], true))
        .await;
    let (status, chosen) = post_json(
        &format!("{}/__sim/sessions/s-8/GCASH", sim.base_url()),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{chosen}");
    let payment_id = chosen["paymentId"].as_str().unwrap();
    let (status, paid) = post_json(
        &format!("{}/__sim/buyer/{payment_id}/approve", sim.base_url()),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(paid["status"], "SUCCESS");
    assert_eq!(paid["paymentRequestId"], "s-8");
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
