//! Online wallet payments end to end (seed 001): a REST merchant creates the payment, the
//! switch sends `pay` with `CASHIER_PAYMENT` to antom-sim and hands back the wallet's page,
//! the buyer approves, declines or leaves (antom-sim's buyer hook here; a real browser in
//! `browser.rs`), and the merchant learns the result only from Antom — a verified
//! notification or an inquiry — never from the buyer's browser coming back.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use asw_e2e::*;
use serde_json::{Value, json};

/// Where the buyer's browser comes back to (loopback http: allowed in this configuration).
pub const RETURN_URL: &str = "http://127.0.0.1:9/shop/return?order=o-1";

/// The switch with fast online timings: an unpaid payment expires after 3 s and is closed
/// 2 s later; http return URLs on loopback allowed.
pub async fn online_harness() -> Harness {
    online_harness_notifying_after(None).await
}

/// [`online_harness`] with antom-sim's notifications held back `delay` (when given).
pub async fn online_harness_notifying_after(delay: Option<Duration>) -> Harness {
    Harness::start_with(|config, sim| {
        config.timing.online_expiry_ms = 3_000;
        config.timing.online_close_margin_ms = 2_000;
        if let Some(rest) = config.rest.as_mut() {
            rest.allow_http_loopback_return_urls = true;
        }
        if let Some(delay) = delay {
            sim.notify_delay = delay;
        }
    })
    .await
}

/// A wallet payment request body.
pub fn wallet_payment(order: &str, value: u64) -> Value {
    json!({
        "order_id": order,
        "amount": { "currency": "SGD", "value": value },
        "method": { "type": "wallet", "wallet": "GCASH", "terminal_type": "WEB" },
        "return_url": RETURN_URL,
    })
}

/// POSTs a payment as the test merchant; (status, body).
pub async fn create(h: &Harness, key: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/payments", h.rest()))
        .bearer_auth(REST_SECRET)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the REST API answers");
    let status = response.status().as_u16();
    (status, json_of(response).await)
}

/// Reads a payment until its status is `status`.
pub async fn wait_for(h: &Harness, id: &str, status: &str, within: Duration) -> Value {
    let start = Instant::now();
    loop {
        let read = json_of(
            reqwest::Client::new()
                .get(format!("http://{}/v1/payments/{id}", h.rest()))
                .bearer_auth(REST_SECRET)
                .send()
                .await
                .expect("read"),
        )
        .await;
        if read["status"] == status {
            return read;
        }
        assert!(start.elapsed() < within, "{id} never {status}: {read}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Plays the buyer through antom-sim's hook (what the page's buttons do).
pub async fn buyer(h: &Harness, payment_id: &str, action: &str) -> Value {
    json_of(
        reqwest::Client::new()
            .post(format!(
                "{}/__sim/buyer/{payment_id}/{action}",
                h.sim.base_url()
            ))
            .send()
            .await
            .expect("the buyer hook answers"),
    )
    .await
}

/// A response's body as JSON.
pub async fn json_of(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub fn prid(body: &Value) -> String {
    body["antom"]["payment_request_id"]
        .as_str()
        .expect("payment_request_id")
        .to_string()
}

#[tokio::test]
async fn a_wallet_payment_hands_over_the_page_and_succeeds_once_the_buyer_approves() {
    let h = online_harness().await;

    let (status, created) = create(&h, "w-1", &wallet_payment("o-1", 1250)).await;

    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "requires_action", "{created}");
    assert_eq!(created["method"]["type"], "wallet");
    let next = &created["next_action"];
    assert_eq!(next["type"], "redirect");
    let url = next["url"].as_str().expect("the wallet's page");
    assert!(url.starts_with(h.sim.public_url()), "{url}");
    let prid = prid(&created);
    let at_antom = h.payment(&prid).expect("created at Antom");
    assert_eq!(at_antom.status, "PROCESSING");
    assert_eq!(at_antom.payment_redirect_url.as_deref(), Some(RETURN_URL));
    assert_eq!(at_antom.payment_method_type.as_deref(), Some("GCASH"));
    // The same request again: the same page, no second payment.
    let (_, again) = create(&h, "w-1", &wallet_payment("o-1", 1250)).await;
    assert_eq!(again["next_action"], created["next_action"]);
    assert_eq!(h.calls("pay", &prid), 1);

    let payment_id = created["antom"]["payment_id"].as_str().expect("paymentId");
    let hook = buyer(&h, payment_id, "approve").await;
    assert_eq!(hook["status"], "SUCCESS", "{hook}");

    let id = created["id"].as_str().unwrap();
    let paid = wait_for(&h, id, "succeeded", Duration::from_secs(10)).await;
    assert_eq!(paid["next_action"], Value::Null);
    // Kept from the notification: the method and the acquirer (seed 002: keep acquirerInfo).
    assert_eq!(paid["paid_with"]["method_type"], "GCASH", "{paid}");
    assert_eq!(paid["paid_with"]["acquirer"]["reference_request_id"], prid);
    assert_eq!(h.payment(&prid).unwrap().status, "SUCCESS");
    // After its closing time it stays paid: an approval the merchant read is never
    // cancelled.
    h.wait_until_the_sweeper_passed_now(902, 1902).await;
    wait_for(&h, id, "succeeded", Duration::from_secs(1)).await;
    assert_eq!(h.payment(&prid).unwrap().status, "SUCCESS");
}

#[tokio::test]
async fn a_declined_wallet_payment_is_failed_and_a_new_attempt_of_the_order_may_pay() {
    let h = online_harness().await;
    let (_, created) = create(&h, "d-1", &wallet_payment("o-2", 900)).await;
    let payment_id = created["antom"]["payment_id"].as_str().expect("paymentId");

    buyer(&h, payment_id, "decline").await;

    let id = created["id"].as_str().unwrap();
    let failed = wait_for(&h, id, "failed", Duration::from_secs(10)).await;
    assert_eq!(
        failed["failure"]["code"], "USER_BALANCE_NOT_ENOUGH",
        "{failed}"
    );

    let (status, retry) = create(&h, "d-2", &wallet_payment("o-2", 900)).await;
    assert_eq!(status, 201, "{retry}");
    assert_eq!(retry["status"], "requires_action");
    assert_ne!(prid(&retry), prid(&created), "a new paymentRequestId");
}

#[tokio::test]
async fn a_buyer_who_leaves_is_never_cancelled_before_expiry_and_the_payment_then_expires() {
    let h = online_harness().await;
    let (_, created) = create(&h, "l-1", &wallet_payment("o-3", 700)).await;
    let prid = prid(&created);
    let payment_id = created["antom"]["payment_id"].as_str().expect("paymentId");
    let id = created["id"].as_str().unwrap();

    let hook = buyer(&h, payment_id, "leave").await;
    assert_eq!(hook["status"], "PROCESSING", "{hook}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(h.calls("cancel", &prid), 0, "the buyer may still pay");
    wait_for(&h, id, "requires_action", Duration::from_secs(1)).await;

    let expired = wait_for(&h, id, "expired", Duration::from_secs(15)).await;
    assert_eq!(expired["next_action"], Value::Null);
    let at_antom = h.payment(&prid).unwrap().status;
    assert!(
        at_antom == "FAIL" || at_antom == "CANCELLED",
        "nothing paid at Antom: {at_antom}"
    );
}

/// Seed 003's closing rule: at the closing time the switch inquires first. The buyer paid
/// but Antom's notification never came (held back past the closing time here): the last
/// look finds SUCCESS and the payment is reported paid, never cancelled and refunded.
#[tokio::test]
async fn a_buyer_who_paid_without_a_notification_is_found_paid_at_the_closing_time() {
    let h = online_harness_notifying_after(Some(Duration::from_secs(120))).await;
    let (_, created) = create(&h, "n-1", &wallet_payment("o-6", 900)).await;
    let prid = prid(&created);
    let payment_id = created["antom"]["payment_id"].as_str().expect("paymentId");
    let id = created["id"].as_str().unwrap();
    let hook = buyer(&h, payment_id, "approve").await;
    assert_eq!(hook["status"], "SUCCESS", "{hook}");

    // No read before the closing time: a read would inquire itself.
    h.wait_for_calls("inquiry_payment", &prid, 1, Duration::from_secs(20))
        .await;
    let paid = wait_for(&h, id, "succeeded", Duration::from_secs(5)).await;
    assert_eq!(paid["antom"]["payment_id"], payment_id, "{paid}");
    assert_eq!(
        h.calls("cancel", &prid),
        0,
        "a buyer who paid is not cancelled"
    );
    assert_eq!(h.payment(&prid).unwrap().status, "SUCCESS");
}

/// Seed 001: a method whose payments cannot be refunded (configured so here) gets its earlier
/// attempt cancelled at Antom before the new `pay` leaves — never merely queued.
#[tokio::test]
async fn a_new_attempt_of_a_non_refundable_method_waits_for_the_earlier_ones_cancel() {
    let h = Harness::start_with(|config, _| {
        config.timing.online_expiry_ms = 3_000;
        config.timing.online_close_margin_ms = 2_000;
        if let Some(rest) = config.rest.as_mut() {
            rest.allow_http_loopback_return_urls = true;
            rest.non_refundable_methods = vec!["GCASH".into()];
        }
    })
    .await;
    let order = wallet_payment("o-7", 800);
    let (_, first) = create(&h, "nr-1", &order).await;
    let (status, second) = create(&h, "nr-2", &order).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["status"], "requires_action");

    let (first_prid, second_prid) = (prid(&first), prid(&second));
    assert_eq!(h.payment(&first_prid).unwrap().status, "CANCELLED");
    let calls = h.sim.calls();
    let at = |api: &str, p: &str| {
        calls
            .iter()
            .position(|c| c.api == api && c.payment_request_id.as_deref() == Some(p))
            .unwrap_or_else(|| panic!("no {api} for {p}"))
    };
    assert!(
        at("cancel", &first_prid) < at("pay", &second_prid),
        "the earlier attempt is cancelled before the new pay"
    );
}

#[tokio::test]
async fn two_attempts_of_one_order_both_paid_at_antom_end_with_one_success() {
    // The first attempt's SUCCESS notification is held back, so the switch still sees it
    // awaiting its buyer when the shop starts a second attempt of the same order.
    let h = online_harness_notifying_after(Some(Duration::from_secs(4))).await;
    let order = wallet_payment("o-5", 1500);
    let (_, first) = create(&h, "t-1", &order).await;
    let first_pid = first["antom"]["payment_id"].as_str().unwrap().to_string();
    let hook = buyer(&h, &first_pid, "approve").await;
    assert_eq!(hook["status"], "SUCCESS", "the first buyer paid: {hook}");

    let (status, second) = create(&h, "t-2", &order).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["status"], "requires_action");
    let second_pid = second["antom"]["payment_id"].as_str().unwrap().to_string();
    buyer(&h, &second_pid, "approve").await;

    let first_id = first["id"].as_str().unwrap();
    let second_id = second["id"].as_str().unwrap();
    wait_for(&h, second_id, "succeeded", Duration::from_secs(10)).await;
    wait_for(&h, first_id, "cancelled", Duration::from_secs(10)).await;
    // The earlier attempt's cancel reaches Antom and takes its money back.
    let first_prid = prid(&first);
    h.wait_for_status(&first_prid, "CANCELLED", Duration::from_secs(15))
        .await;
    let paid: Vec<_> = [prid(&first), prid(&second)]
        .iter()
        .filter(|p| h.payment(p).is_some_and(|v| v.status == "SUCCESS"))
        .cloned()
        .collect();
    assert_eq!(
        paid,
        vec![prid(&second)],
        "one success for the order at Antom"
    );
    let attempts = json_of(
        reqwest::Client::new()
            .get(format!("http://{}/v1/orders/o-5", h.rest()))
            .bearer_auth(REST_SECRET)
            .send()
            .await
            .expect("order"),
    )
    .await;
    assert_eq!(
        attempts["attempts"].as_array().map(Vec::len),
        Some(2),
        "{attempts}"
    );
}
