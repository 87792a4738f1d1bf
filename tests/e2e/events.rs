//! Events to merchants end to end: the outbox written with each state change, delivered to a
//! real HTTP receiver, signed per the Standard Webhooks spec (verified with the reference
//! Python library), retried on failure with a stable id, and never saying `succeeded` about a
//! payment the switch then cancels.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asw_core::domain::MerchantWebhookConfig;
use asw_e2e::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

/// The merchant's receiver: records every delivery, answers 500 while `failing` > 0 and to
/// every event of the `refused` type (after `refuse_after`).
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub(crate) seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    failing: Arc<Mutex<u32>>,
    refused: Arc<Mutex<Option<&'static str>>>,
    /// How long a refused event is held before it is answered (an endpoint timing out slowly).
    refuse_after: Arc<Mutex<Duration>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let refused = r
        .refused
        .lock()
        .unwrap()
        .is_some_and(|kind| body.contains(&format!("\"type\":\"{kind}\"")));
    r.seen.lock().unwrap().push((headers, body));
    if refused {
        let hold = *r.refuse_after.lock().unwrap();
        tokio::time::sleep(hold).await;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let mut failing = r.failing.lock().unwrap();
    if *failing > 0 {
        *failing -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

impl Receiver {
    pub(crate) async fn start(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn of_type(&self, kind: &str) -> Vec<(HeaderMap, Value)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(h, b)| (h.clone(), serde_json::from_str::<Value>(b).unwrap()))
            .filter(|(_, v)| v["type"] == kind)
            .collect()
    }

    pub(crate) async fn wait_for(
        &self,
        kind: &str,
        count: usize,
        within: Duration,
    ) -> Vec<(HeaderMap, Value)> {
        let start = Instant::now();
        loop {
            let found = self.of_type(kind);
            if found.len() >= count {
                return found;
            }
            assert!(
                start.elapsed() < within,
                "{count} × {kind} not received: {found:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn harness(receiver: &Receiver, sync_wait_ms: u64) -> (Harness, tempfile::TempDir) {
    let addr = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("merchant.whsec");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let h = Harness::start_with(|config, _| {
        config.merchants[0].webhook = Some(MerchantWebhookConfig {
            url: format!("http://{addr}/hooks"),
            secret_file,
        });
        if let Some(rest) = config.rest.as_mut() {
            rest.sync_wait_ms = sync_wait_ms;
            rest.webhooks.retry_schedule_ms = vec![0, 300, 300, 300, 300];
        }
    })
    .await;
    (h, dir)
}

async fn pay(h: &Harness, key: &str, value: u64, code: &str) -> Value {
    let body = json!({
        "order_id": key,
        "amount": { "currency": "SGD", "value": value },
        "method": { "type": "payment_code", "code": code },
    });
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/payments", h.rest()))
        .bearer_auth(REST_SECRET)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

pub(crate) fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_signed_retried_with_one_id_and_verified_by_the_reference_library() {
    let receiver = Receiver::default();
    // The first two deliveries fail: the third (300 ms later each) is acknowledged.
    *receiver.failing.lock().unwrap() = 2;
    let (h, dir) = harness(&receiver, 6_000).await;

    let paid = pay(&h, "evt-1", 1250, &code("00")).await;
    assert_eq!(paid["status"], "succeeded");
    let tries = receiver
        .wait_for("payment.succeeded", 3, Duration::from_secs(10))
        .await;
    let ids: Vec<String> = tries.iter().map(|(h, _)| header(h, "webhook-id")).collect();
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "one id for every try: {ids:?}"
    );
    let (_, event) = &tries[2];
    assert_eq!(event["data"]["id"], paid["id"]);
    assert_eq!(event["data"]["status"], "succeeded");
    assert!(event["created_at"].is_string());

    let declined = pay(&h, "evt-2", 700, &code("10")).await;
    assert_eq!(declined["status"], "failed");
    let failed = receiver
        .wait_for("payment.failed", 1, Duration::from_secs(10))
        .await;
    assert_eq!(
        failed[0].1["data"]["failure"]["code"],
        "USER_BALANCE_NOT_ENOUGH"
    );
    let refund = reqwest::Client::new()
        .post(format!(
            "http://{}/v1/payments/{}/refunds",
            h.rest(),
            paid["id"].as_str().unwrap()
        ))
        .bearer_auth(REST_SECRET)
        .header("idempotency-key", "evt-1-refund")
        .header("content-type", "application/json")
        .body(json!({ "amount": { "currency": "SGD", "value": 250 } }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refund.status().as_u16(), 201);
    let refunded = receiver
        .wait_for("refund.succeeded", 1, Duration::from_secs(10))
        .await;
    assert_eq!(refunded[0].1["data"]["payment_id"], paid["id"]);
    assert_eq!(refunded[0].1["data"]["amount"]["value"], 250);
    // Delivered once acknowledged: no more tries of the first event.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(receiver.of_type("payment.succeeded").len(), 3);

    // Every delivery verifies with the Standard Webhooks reference library.
    let file = write_deliveries(&receiver, dir.path());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/verify_webhooks.py");
    let out = std::process::Command::new(python_bin("python"))
        .arg(&script)
        .arg(SECRET)
        .arg(&file)
        .output()
        .expect("python (run scripts/ensure-deps.sh)");
    assert!(
        out.status.success(),
        "standardwebhooks refused a delivery: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A tampered body does not verify.
    let tampered = std::fs::read_to_string(&file)
        .unwrap()
        .replace("succeeded", "succeedeD");
    std::fs::write(&file, tampered).unwrap();
    let out = std::process::Command::new(python_bin("python"))
        .arg(&script)
        .arg(SECRET)
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a tampered delivery verified");
}

/// Writes every delivery the receiver saw (headers and body) to `deliveries.json` in `dir`,
/// the input of `testdata/verify_webhooks.py`.
pub(crate) fn write_deliveries(receiver: &Receiver, dir: &std::path::Path) -> std::path::PathBuf {
    let deliveries: Vec<Value> = receiver
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            json!({
                "headers": {
                    "webhook-id": header(headers, "webhook-id"),
                    "webhook-timestamp": header(headers, "webhook-timestamp"),
                    "webhook-signature": header(headers, "webhook-signature"),
                },
                "body": body,
            })
        })
        .collect();
    let file = dir.join("deliveries.json");
    std::fs::write(&file, Value::Array(deliveries).to_string()).unwrap();
    file
}

/// A payment Antom approves after the POST stopped waiting (the merchant was told `pending`):
/// the answer and its `paymentRequestId`, once Antom holds SUCCESS.
async fn paid_after_the_answer(h: &Harness, key: &str, value: u64) -> (Value, String) {
    let paid = pay(h, key, value, &code("30")).await;
    assert_eq!(paid["status"], "pending");
    let prid = paid["antom"]["payment_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    h.wait_for_status(&prid, "SUCCESS", Duration::from_secs(5))
        .await;
    (paid, prid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_nobody_acknowledged_is_cancelled_and_the_merchant_is_told_so() {
    let receiver = Receiver::default();
    // The endpoint refuses every success event (until long after the closing time).
    *receiver.refused.lock().unwrap() = Some("payment.succeeded");
    let (h, _dir) = harness(&receiver, 200).await;

    let (paid, prid) = paid_after_the_answer(&h, "evt-3", 1600).await;
    // Its success event is tried, never acknowledged, so the success is never delivered...
    receiver
        .wait_for("payment.succeeded", 1, Duration::from_secs(5))
        .await;
    // ...and at the closing time the switch cancels it, and tells the merchant.
    h.wait_for_status(&prid, "CANCELLED", Duration::from_secs(15))
        .await;
    let cancelled = receiver
        .wait_for("payment.cancelled", 1, Duration::from_secs(10))
        .await;
    assert_eq!(cancelled[0].1["data"]["status"], "cancelled");
    assert_eq!(cancelled[0].1["data"]["id"], paid["id"]);

    // The success event ran out of retries: a dead letter (what `antom-switch events dead`
    // lists). Replayed after the closing time it is not sent at all: superseded.
    let store = asw_store::RedisStore::connect(h.config.redis.clone())
        .await
        .unwrap();
    let dead = store.list_outbox_dead(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].1.kind, "payment.succeeded");
    assert!(dead[0].2.starts_with("retries exhausted"), "{}", dead[0].2);
    *receiver.refused.lock().unwrap() = None;
    let tries = receiver.of_type("payment.succeeded").len();
    assert!(store.replay_outbox_dead(&dead[0].0).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        receiver.of_type("payment.succeeded").len(),
        tries,
        "a success no longer true is never said"
    );
    assert!(store.list_outbox_dead(10).await.unwrap().is_empty());
    assert!(
        store.list_outbox(10).await.unwrap().is_empty(),
        "nothing left waiting"
    );
    assert_eq!(h.payment(&prid).unwrap().status, "CANCELLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_while_the_success_event_is_out_keeps_the_payment_when_the_event_fails() {
    let receiver = Receiver::default();
    // The endpoint holds every success event for a second, then refuses it.
    *receiver.refused.lock().unwrap() = Some("payment.succeeded");
    *receiver.refuse_after.lock().unwrap() = Duration::from_millis(1_000);
    let (h, _dir) = harness(&receiver, 200).await;

    let (paid, prid) = paid_after_the_answer(&h, "evt-4", 1700).await;
    let paid_at = Instant::now();
    // The success event is out (the endpoint holds it); meanwhile the merchant reads the
    // payment and is told it succeeded.
    receiver
        .wait_for("payment.succeeded", 1, Duration::from_secs(10))
        .await;
    let response = reqwest::Client::new()
        .get(format!(
            "http://{}/v1/payments/{}",
            h.rest(),
            paid["id"].as_str().unwrap()
        ))
        .bearer_auth(REST_SECRET)
        .send()
        .await
        .unwrap();
    let read: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(read["status"], "succeeded", "{read}");

    // Every try of the event then fails, until it is dead-lettered; the closing time passes.
    let store = asw_store::RedisStore::connect(h.config.redis.clone())
        .await
        .unwrap();
    let start = Instant::now();
    while store.list_outbox_dead(10).await.unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // As long as the payment above took to be cancelled when nobody had been told, and more.
    let closing = Duration::from_secs(16);
    tokio::time::sleep(closing.saturating_sub(paid_at.elapsed())).await;

    // What the read said stands: paid at Antom, never cancelled, no `payment.cancelled`.
    assert_eq!(h.payment(&prid).unwrap().status, "SUCCESS");
    assert_eq!(h.calls("cancel", &prid), 0);
    assert!(receiver.of_type("payment.cancelled").is_empty());
}
