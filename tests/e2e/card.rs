//! Cards on Antom's hosted card page end to end (seed 004): the authorization holds the
//! money, the capture takes it — automatically, or when the merchant asks — and nothing is
//! `succeeded` before antom-sim captured it, exactly once.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use asw_e2e::*;
use serde_json::{Value, json};

use crate::online::{RETURN_URL, create, json_of, online_harness, wait_for};

/// A card payment request body; `capture` is `automatic` or `manual`.
pub fn card_payment(order: &str, value: u64, capture: &str) -> Value {
    json!({
        "order_id": order,
        "amount": { "currency": "SGD", "value": value },
        "method": { "type": "card", "terminal_type": "WEB" },
        "capture": capture,
        "return_url": RETURN_URL,
    })
}

/// The buyer types `card_number` on the card page (antom-sim's hook does what the form does).
async fn pay_with(h: &Harness, payment_id: &str, card_number: &str) -> Value {
    json_of(
        reqwest::Client::new()
            .post(format!(
                "{}/__sim/buyer/{payment_id}/approve",
                h.sim.base_url()
            ))
            .header("content-type", "application/json")
            .body(json!({ "card_number": card_number }).to_string())
            .send()
            .await
            .expect("the buyer hook answers"),
    )
    .await
}

async fn capture(h: &Harness, id: &str, key: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/payments/{id}/capture", h.rest()))
        .bearer_auth(REST_SECRET)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("the REST API answers");
    (response.status().as_u16(), json_of(response).await)
}

fn ids(created: &Value) -> (String, String, String) {
    (
        created["id"].as_str().unwrap().to_string(),
        created["antom"]["payment_request_id"]
            .as_str()
            .unwrap()
            .to_string(),
        created["antom"]["payment_id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_manual_card_payment_is_authorized_then_succeeded_once_the_merchant_captures() {
    let h = online_harness().await;
    let (status, created) = create(&h, "c-1", &card_payment("c-o1", 4200, "manual")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "requires_action");
    assert_eq!(created["method"]["type"], "card");
    let page = created["next_action"]["url"].as_str().unwrap();
    assert!(page.contains("/checkout/card/"), "{page}");
    let (id, prid, payment_id) = ids(&created);

    pay_with(&h, &payment_id, "4242424242424242").await;
    let authorized = wait_for(&h, &id, "authorized", Duration::from_secs(10)).await;
    assert_eq!(authorized["failure"], Value::Null);
    assert_eq!(
        h.payment(&prid).unwrap().captured_total.unwrap_or(0),
        0,
        "held, not taken"
    );
    // Still authorized past the buyer's expiry and its closing time: the capture window rules.
    h.wait_until_the_sweeper_passed_now(903, 1903).await;
    wait_for(&h, &id, "authorized", Duration::from_secs(1)).await;

    let (status, captured) = capture(&h, &id, "cap-1").await;
    assert_eq!(status, 200, "{captured}");
    assert_eq!(captured["status"], "succeeded");
    let (status, again) = capture(&h, &id, "cap-2").await;
    assert_eq!((status, again["status"].clone()), (200, json!("succeeded")));
    let at_antom = h.payment(&prid).unwrap();
    assert_eq!(
        at_antom.captures.len(),
        1,
        "captured exactly once: {:?}",
        at_antom.captures
    );
    assert_eq!(at_antom.captured_total, Some(4200));
}

#[tokio::test]
async fn an_automatic_card_payment_succeeds_after_its_capture_and_a_declined_card_fails() {
    let h = online_harness().await;
    let (_, created) = create(&h, "a-1", &card_payment("a-o1", 1800, "automatic")).await;
    let (id, prid, payment_id) = ids(&created);
    pay_with(&h, &payment_id, "4242424242424242").await;
    wait_for(&h, &id, "succeeded", Duration::from_secs(10)).await;
    let at_antom = h.payment(&prid).unwrap();
    assert_eq!(at_antom.captures.len(), 1, "{:?}", at_antom.captures);
    assert_eq!(at_antom.captured_total, Some(1800));

    let (_, declined) = create(&h, "a-2", &card_payment("a-o2", 900, "automatic")).await;
    let (id, prid, payment_id) = ids(&declined);
    pay_with(&h, &payment_id, "4000000000000002").await;
    let failed = wait_for(&h, &id, "failed", Duration::from_secs(10)).await;
    assert_eq!(failed["failure"]["code"], "DO_NOT_HONOR", "{failed}");
    assert!(h.payment(&prid).unwrap().captures.is_empty());
}

#[tokio::test]
async fn capture_is_refused_for_a_wallet_and_before_authorization() {
    let h = online_harness().await;
    let (_, card) = create(&h, "r-1", &card_payment("r-o1", 700, "manual")).await;
    let (id, _, _) = ids(&card);
    let (status, problem) = capture(&h, &id, "early").await;
    assert_eq!(
        (status, problem["code"].clone()),
        (409, json!("not_capturable"))
    );

    // Another currency (or a partial amount) is refused: only the whole authorization.
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/payments/{id}/capture", h.rest()))
        .bearer_auth(REST_SECRET)
        .header("idempotency-key", "usd")
        .header("content-type", "application/json")
        .body(json!({ "amount": { "currency": "USD", "value": 700 } }).to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(json_of(response).await["code"], "invalid_amount");

    let (_, wallet) = create(&h, "r-2", &crate::online::wallet_payment("r-o2", 700)).await;
    let (status, problem) = capture(&h, wallet["id"].as_str().unwrap(), "w").await;
    assert_eq!(
        (status, problem["code"].clone()),
        (409, json!("not_capturable"))
    );
}

/// Seed 004's card-like methods (the acquirer's `rest.card_like_methods`): a wallet payment
/// with PayPal authorizes first and is `succeeded` only once the switch captured it; a wallet
/// outside the set refuses `capture`.
#[tokio::test]
async fn a_card_like_wallet_is_authorized_first_and_paid_only_once_captured() {
    let h = online_harness().await;
    let body = json!({
        "order_id": "pp-o1",
        "amount": { "currency": "SGD", "value": 2500 },
        "method": { "type": "wallet", "wallet": "PAYPAL", "terminal_type": "WEB" },
        "capture": "manual",
        "return_url": RETURN_URL,
    });
    let (status, created) = create(&h, "pp-1", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "requires_action");
    assert_eq!(created["method"]["wallet"], "PAYPAL", "{created}");
    let (id, prid, payment_id) = ids(&created);
    let approve = json_of(
        reqwest::Client::new()
            .post(format!(
                "{}/__sim/buyer/{payment_id}/approve",
                h.sim.base_url()
            ))
            .send()
            .await
            .expect("the buyer hook answers"),
    )
    .await;
    assert_eq!(approve["status"], "SUCCESS", "{approve}");

    wait_for(&h, &id, "authorized", Duration::from_secs(10)).await;
    assert_eq!(h.payment(&prid).unwrap().captured_total.unwrap_or(0), 0);
    let (status, captured) = capture(&h, &id, "pp-cap").await;
    assert_eq!(
        (status, captured["status"].clone()),
        (200, json!("succeeded"))
    );
    assert_eq!(h.payment(&prid).unwrap().captured_total, Some(2500));

    let mut gcash = body.clone();
    gcash["method"]["wallet"] = json!("GCASH");
    gcash["order_id"] = json!("pp-o2");
    let (status, problem) = create(&h, "pp-2", &gcash).await;
    assert_eq!(
        (status, problem["code"].clone()),
        (422, json!("not_for_wallet")),
        "{problem}"
    );
}

/// Seed 004's pass-through options: the buyer and the card checks the merchant asks for reach
/// Antom (antom-sim reports 3-D Secure and AVS as it would for them), and what Antom reports
/// back — the method, the card's result with its token, the acquirer — is kept on the attempt.
#[tokio::test]
async fn buyer_data_and_card_checks_pass_through_and_the_card_result_is_kept() {
    let h = online_harness().await;
    let mut body = card_payment("pt-o1", 3100, "automatic");
    body["method"]["three_ds"] = json!(true);
    body["method"]["billing_address"] = json!({ "country": "SG", "postal_code": "018956" });
    body["buyer"] = json!({ "reference_id": "customer-42", "email": "ann@example.com" });
    let (status, created) = create(&h, "pt-1", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["method"]["three_ds"], true, "{created}");
    assert_eq!(created["method"]["billing_address"]["country"], "SG");
    let (id, _prid, payment_id) = ids(&created);

    pay_with(&h, &payment_id, "4242424242424242").await;
    let paid = wait_for(&h, &id, "succeeded", Duration::from_secs(10)).await;
    let with = &paid["paid_with"];
    assert_eq!(with["method_type"], "CARD", "{paid}");
    assert_eq!(
        with["card"]["three_ds_eci"], "05",
        "3-D Secure was asked: {paid}"
    );
    assert_eq!(
        with["card"]["avs_result"], "Y",
        "a billing address was sent: {paid}"
    );
    assert_eq!(with["card"]["last_four"], "4242");
    assert!(
        with["card"]["token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(with["acquirer"]["name"], "ALIPAY", "{paid}");

    let mut bad = card_payment("pt-o2", 100, "automatic");
    bad["buyer"] = json!({ "email": "not an address" });
    let (status, problem) = create(&h, "pt-2", &bad).await;
    assert_eq!(
        (status, problem["code"].clone()),
        (422, json!("invalid_buyer_data")),
        "{problem}"
    );
}
