//! Checkout Page sessions end to end (seed 002) over real HTTP, Redis and antom-sim: a REST
//! merchant creates the session, the switch calls `createPaymentSession`, the buyer picks a
//! method on antom-sim's page (its session hook here; a real browser in `browser.rs`) and pays
//! or walks away; the merchant learns the result only from Antom. `U` or no answer makes the
//! session dead at once, and the merchant's next session is a new attempt with a new
//! `paymentRequestId`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use asw_e2e::*;
use serde_json::{Value, json};

use crate::online::{RETURN_URL, buyer, json_of, prid, wait_for};

/// The switch with short session timings: the page takes payments for 4 s, a method picked
/// then may take 2 s more, and the switch closes an unpaid session 2 s after that (8 s).
pub async fn session_harness(tweak: impl FnOnce(&mut asw_app::config::Config)) -> Harness {
    Harness::start_with(|config, _| {
        config.timing.online_expiry_ms = 3_000;
        config.timing.online_close_margin_ms = 2_000;
        config.timing.session_expiry_ms = 4_000;
        config.timing.session_method_timeout_ms = 2_000;
        if let Some(rest) = config.rest.as_mut() {
            rest.allow_http_loopback_return_urls = true;
        }
        tweak(config);
    })
    .await
}

/// A session request body.
pub fn session_body(order: &str, value: u64, return_url: &str) -> Value {
    json!({
        "order_id": order,
        "amount": { "currency": "SGD", "value": value },
        "return_url": return_url,
        "methods": ["GCASH", "ALIPAY_CN", "CARD"],
        "buyer": { "reference_id": "buyer-77" },
        "description": "Classic bag",
    })
}

/// POSTs a session as the test merchant; (status, body).
pub async fn create_session(h: &Harness, key: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/sessions", h.rest()))
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

/// The buyer picks `method` on the session's page (antom-sim's hook, what its buttons do);
/// the session's `paymentId` at Antom.
pub async fn pick(h: &Harness, payment_request_id: &str, method: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/__sim/sessions/{payment_request_id}/{method}",
            h.sim.base_url()
        ))
        .send()
        .await
        .expect("the session hook answers");
    assert_eq!(response.status().as_u16(), 200);
    let chosen = json_of(response).await;
    chosen["paymentId"].as_str().expect("paymentId").to_string()
}

/// `GET /v1/orders/{order}`.
pub async fn order(h: &Harness, order: &str) -> Value {
    json_of(
        reqwest::Client::new()
            .get(format!("http://{}/v1/orders/{order}", h.rest()))
            .bearer_auth(REST_SECRET)
            .send()
            .await
            .expect("order"),
    )
    .await
}

async fn read(h: &Harness, id: &str) -> Value {
    json_of(
        reqwest::Client::new()
            .get(format!("http://{}/v1/payments/{id}", h.rest()))
            .bearer_auth(REST_SECRET)
            .send()
            .await
            .expect("read"),
    )
    .await
}

#[tokio::test]
async fn a_session_paid_with_a_wallet_is_a_succeeded_attempt_of_the_order() {
    let h = session_harness(|_| {}).await;

    let (status, session) =
        create_session(&h, "s-1", &session_body("so-1", 1250, RETURN_URL)).await;

    assert_eq!(status, 201, "{session}");
    assert_eq!(session["status"], "requires_action");
    let url = session["url"].as_str().expect("the hosted page");
    assert!(url.starts_with(h.sim.public_url()), "{url}");
    assert!(
        session["payment_session_data"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(session["method"]["type"], "checkout_page");
    let prid = prid(&session);
    assert_eq!(h.sim.session(&prid).expect("at Antom").status, "OPEN");
    assert!(h.payment(&prid).is_none(), "nothing submitted yet");
    let id = session["id"].as_str().unwrap();
    // A read asks Antom: ORDER_NOT_EXIST for a session nobody submitted is not a failure.
    let waiting = read(&h, id).await;
    assert_eq!(waiting["status"], "requires_action", "{waiting}");
    assert!(h.calls("inquiry_payment", &prid) >= 1);
    // The same request again: the same session, no second createPaymentSession.
    let (_, again) = create_session(&h, "s-1", &session_body("so-1", 1250, RETURN_URL)).await;
    assert_eq!(again, session);
    assert_eq!(h.calls("create_payment_session", &prid), 1);

    let payment_id = pick(&h, &prid, "GCASH").await;
    let hook = buyer(&h, &payment_id, "approve").await;
    assert_eq!(hook["status"], "SUCCESS", "{hook}");

    let paid = wait_for(&h, id, "succeeded", Duration::from_secs(10)).await;
    assert_eq!(paid["paid_with"]["method_type"], "GCASH", "{paid}");
    assert_eq!(paid["antom"]["payment_id"], json!(payment_id));
    let at_antom = h.payment(&prid).unwrap();
    assert_eq!(at_antom.status, "SUCCESS");
    assert_eq!(at_antom.payment_redirect_url.as_deref(), Some(RETURN_URL));
    let attempts = order(&h, "so-1").await;
    assert_eq!(attempts["paid"], true, "{attempts}");
    assert_eq!(attempts["attempts"][0]["id"], json!(id));
    // Past its closing time it stays paid and is never cancelled.
    tokio::time::sleep(Duration::from_secs(9)).await;
    wait_for(&h, id, "succeeded", Duration::from_secs(1)).await;
    assert_eq!(h.calls("cancel", &prid), 0);
    // A paid order takes no new session.
    let (status, refused) =
        create_session(&h, "s-2", &session_body("so-1", 1250, RETURN_URL)).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "order_already_paid");
}

#[tokio::test]
async fn a_card_picked_on_the_page_is_captured_before_it_is_succeeded() {
    let h = session_harness(|_| {}).await;
    let (_, session) = create_session(&h, "c-1", &session_body("so-2", 4200, RETURN_URL)).await;
    let prid = prid(&session);

    let payment_id = pick(&h, &prid, "CARD").await;
    buyer(&h, &payment_id, "approve").await;

    let id = session["id"].as_str().unwrap();
    let paid = wait_for(&h, id, "succeeded", Duration::from_secs(10)).await;
    assert_eq!(paid["paid_with"]["method_type"], "CARD");
    assert_eq!(h.payment(&prid).unwrap().captured_total, Some(4200));
}

#[tokio::test]
async fn a_session_never_submitted_expires_at_its_closing_time_and_is_never_failed() {
    let h = session_harness(|_| {}).await;
    let (_, session) = create_session(&h, "e-1", &session_body("so-3", 700, RETURN_URL)).await;
    let prid = prid(&session);
    let id = session["id"].as_str().unwrap().to_string();
    let closes_at = session["closes_at"].as_str().unwrap().to_string();

    let start = Instant::now();
    let expired = loop {
        let now = read(&h, &id).await;
        assert_ne!(now["status"], "failed", "never failed: {now}");
        if now["status"] == "expired" {
            break now;
        }
        if h.calls("cancel", &prid) == 0 {
            assert_eq!(now["status"], "requires_action", "{now}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never expired: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        start.elapsed() >= Duration::from_secs(6),
        "not closed before the session's expiry plus the method's time ({closes_at})"
    );
    assert_eq!(expired["failure"]["code"], "expired");
    // "expired" is said once the close is journaled with its cancel queued; the queue's
    // consumer makes the call right after (under a loaded test run, a moment later).
    let queued = Instant::now();
    while h.calls("cancel", &prid) == 0 && queued.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        h.calls("cancel", &prid) >= 1,
        "cancelled at Antom, harmlessly"
    );
    assert!(h.payment(&prid).is_none(), "nothing was ever paid at Antom");
    assert_ne!(h.sim.session(&prid).unwrap().status, "SUBMITTED");
}

#[tokio::test]
async fn an_unknown_session_answers_502_and_the_next_session_is_a_new_attempt_paid_once() {
    let h = session_harness(|_| {}).await;

    // antom-sim answers createPaymentSession for 99.01 with U UNKNOWN_EXCEPTION.
    let (status, problem) =
        create_session(&h, "u-1", &session_body("so-4", 9901, RETURN_URL)).await;
    assert_eq!(status, 502, "{problem}");
    assert_eq!(problem["code"], "session_not_created");
    let dead = problem["payment_id"].as_str().unwrap().to_string();
    let dead_prid = dead.trim_start_matches("pay_").to_string();
    // The same key again: the same answer; the id is never sent to Antom again.
    let (status, _) = create_session(&h, "u-1", &session_body("so-4", 9901, RETURN_URL)).await;
    assert_eq!(status, 502);
    assert_eq!(h.calls("create_payment_session", &dead_prid), 1);

    let (status, next) = create_session(&h, "u-2", &session_body("so-4", 1250, RETURN_URL)).await;
    assert_eq!(status, 201, "{next}");
    let next_prid = prid(&next);
    assert_ne!(next_prid, dead_prid, "a new paymentRequestId");
    let payment_id = pick(&h, &next_prid, "GCASH").await;
    buyer(&h, &payment_id, "approve").await;
    wait_for(
        &h,
        next["id"].as_str().unwrap(),
        "succeeded",
        Duration::from_secs(10),
    )
    .await;

    let attempts = order(&h, "so-4").await;
    let statuses: Vec<_> = attempts["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["status"].as_str().unwrap().to_string(),
                a["failure"]["code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("cancelled".to_string(), json!("session_not_created")),
            ("succeeded".to_string(), Value::Null)
        ],
        "{attempts}"
    );
}

#[tokio::test]
async fn a_session_without_an_answer_is_closed_at_antom_and_never_paid() {
    // antom-sim creates the session for 99.02 but answers after 2.5 s; the switch gives up
    // after 1 s.
    let h = session_harness(|config| config.upstream.session_timeout_ms = 1_000).await;

    let (status, problem) =
        create_session(&h, "n-1", &session_body("so-5", 9902, RETURN_URL)).await;
    assert_eq!(status, 502, "{problem}");
    let lost = problem["payment_id"]
        .as_str()
        .unwrap()
        .trim_start_matches("pay_")
        .to_string();

    // The lost session exists at Antom, but its cancel closes it: nobody can pay it.
    let start = Instant::now();
    while h.sim.session(&lost).map(|s| s.status) != Some("CLOSED".into()) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "never closed at Antom"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = reqwest::Client::new()
        .post(format!("{}/__sim/sessions/{lost}/GCASH", h.sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 409);

    let (status, next) = create_session(&h, "n-2", &session_body("so-5", 1250, RETURN_URL)).await;
    assert_eq!(status, 201, "{next}");
    let payment_id = pick(&h, &prid(&next), "GCASH").await;
    buyer(&h, &payment_id, "approve").await;
    wait_for(
        &h,
        next["id"].as_str().unwrap(),
        "succeeded",
        Duration::from_secs(10),
    )
    .await;
    let paid: Vec<_> = [lost.clone(), prid(&next)]
        .iter()
        .filter(|p| h.payment(p).is_some_and(|v| v.status == "SUCCESS"))
        .cloned()
        .collect();
    assert_eq!(paid, vec![prid(&next)], "one success for the order");
}
