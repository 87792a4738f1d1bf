//! What the world around the switch does in the crash-point tests of the flows where a buyer
//! acts at Antom: the REST merchant's keys and requests, reads, the buyer on antom-sim's hooks,
//! Antom's notifications (played by the test, so it knows which switch got each one), and the
//! sweeper's last look at the closing time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asw_antom_sim::SimHandle;
use asw_core::domain::{Origin, PaymentRequestId};
use asw_core::flows::{
    Answer, CheckoutRequest, Core, OriginalRef, Outcome, Reply, RequestKey, StatusInquiry,
    Undelivered,
};
use asw_core::ports::{ClosingLook, Journal};
use asw_core::record::{CaptureMode, OnlineCheckout};
use asw_store::RedisStore;
use async_trait::async_trait;
use serde_json::Value;

use super::crash::{MERCHANT, ids, now_ms};

/// Every answer the merchant (or terminal) got, per payment.
#[derive(Clone, Default)]
pub struct Answers(Arc<Mutex<Vec<(String, Answer)>>>);

impl Answers {
    /// A reply whose answer is kept as one about `prid`.
    pub fn reply(&self, prid: &str) -> Box<dyn Reply> {
        Box::new(Kept(self.clone(), prid.to_string()))
    }

    /// Every answer about `prid`, in order.
    pub fn of(&self, prid: &str) -> Vec<Answer> {
        let all = self.0.lock().unwrap();
        all.iter()
            .filter(|(p, _)| p == prid)
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// Whether the requester was ever told `prid` succeeded.
    pub fn told_paid(&self, prid: &str) -> bool {
        self.of(prid).iter().any(|a| a.outcome == Outcome::Approved)
    }

    /// Antom's `paymentId` of `prid`, once an answer handed it over (the page, the code).
    pub fn payment_id(&self, prid: &str) -> Option<String> {
        self.of(prid)
            .iter()
            .rev()
            .find_map(|a| a.record.as_ref().and_then(|r| r.payment_id.clone()))
    }
}

struct Kept(Answers, String);

#[async_trait]
impl Reply for Kept {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        self.0
            .0
            .lock()
            .unwrap()
            .push((self.1.clone(), answer.clone()));
        Ok(())
    }
}

/// Attempt `idempotency_key` of the merchant's `order`: an online payment of `amount_minor`
/// SGD with `checkout`.
pub fn checkout_request(
    idempotency_key: &str,
    order: &str,
    amount_minor: u64,
    checkout: OnlineCheckout,
) -> CheckoutRequest {
    let (request, payment_request_id) = rest_key(idempotency_key, order);
    CheckoutRequest {
        payment_request_id,
        request,
        amount_minor,
        currency_numeric: 702,
        reference_order_id: order.to_string(),
        checkout,
        expires_in_ms: None,
        content_digest: format!("checkout-{idempotency_key}"),
        store: None,
        description: None,
        metadata: Default::default(),
    }
}

/// An online payment with `method`, captured as `capture` when card-like.
pub fn online_checkout(method: &str, capture: Option<CaptureMode>) -> OnlineCheckout {
    OnlineCheckout {
        method_type: method.into(),
        terminal_type: "WEB".into(),
        os_type: None,
        return_url: "https://shop.example/return".into(),
        next_action: None,
        capture,
        buyer: None,
        card_checks: None,
        paid_with: None,
        cancel_before_retry: false,
        session: None,
    }
}

/// The REST merchant's API key.
pub fn rest_origin() -> Origin {
    Origin::rest(MERCHANT, "k1")
}

/// The key and `paymentRequestId` the REST front derives for `idempotency_key` on `order`
/// (attempts of one order share its shard tag, as there).
pub fn rest_key(idempotency_key: &str, order: &str) -> (RequestKey, PaymentRequestId) {
    let ids = ids();
    let dedup_key = format!("rest|{MERCHANT}|{idempotency_key}");
    let tag = ids.key_tag(&format!("rest-order|{MERCHANT}|{order}"));
    let prid = format!("P{}{tag}", ids.mac_hex(&["rest-payment", &dedup_key], 24));
    let key = RequestKey {
        origin: rest_origin(),
        dedup_key,
        tag,
        receipt_ref: prid.clone(),
        local_time: None,
    };
    (key, PaymentRequestId::new(prid))
}

/// A read of the payment (REST `GET /v1/payments/{id}`, a terminal's status inquiry): its
/// answer is kept.
pub async fn read(core: &Core, answers: &Answers, origin: Origin, prid: &str) {
    let inquiry = StatusInquiry {
        origin,
        original: OriginalRef {
            payment_request_id: Some(prid.to_string()),
            ..OriginalRef::default()
        },
    };
    core.status(inquiry, answers.reply(prid)).await;
}

/// POSTs to antom-sim's control API (the buyer's hooks); the answer's body.
pub async fn sim_post(sim: &SimHandle, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new().post(format!("{}{path}", sim.base_url()));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let text = request
        .send()
        .await
        .expect("the hook answers")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The buyer on the page of payment `payment_id`: `approve`, `decline` or `leave` (a card's
/// `approve` with the approving test card).
pub async fn buyer(sim: &SimHandle, payment_id: &str, action: &str) -> Value {
    sim_post(sim, &format!("/__sim/buyer/{payment_id}/{action}"), None).await
}

/// Antom's `notifyPayment` about `prid`, once it is final there (nothing while it is not, or
/// it does not exist): applied as the webhook applies it; `Err`: the journal failed (Antom
/// would re-send).
pub async fn notify_payment(core: &Core, sim: &SimHandle, prid: &str) {
    let Some(payment) = sim.payment(prid) else {
        return;
    };
    match payment.status.as_str() {
        "SUCCESS" => {
            let amount = payment
                .amount
                .parse()
                .ok()
                .map(|v| (v, payment.currency.clone()));
            core.apply_payment_notification(prid, Some(payment.payment_id), amount, None, None)
                .await
                .expect("applied");
        }
        "FAIL" => {
            let code = payment.result_code.unwrap_or_default();
            core.apply_payment_failure_notification(prid, &code)
                .await
                .expect("applied");
        }
        _ => {}
    }
}

/// What the sweeper does at the closing time of record `id`: waits (bounded) until its
/// closing time has passed, then takes the core's last look at it (the engine would then
/// cancel whatever the look did not settle; the fresh engine does that here).
pub async fn close(core: &Core, store: &RedisStore, id: &str) {
    let tag = tag_of(id);
    let Some(record) = store.load(&tag, id).await.unwrap() else {
        return;
    };
    if !record.state.is_in_flight() {
        // Settled before its closing time: the sweeper takes no look at it.
        return;
    }
    let start = Instant::now();
    while now_ms() <= record.gateway_deadline_ms {
        assert!(start.elapsed() < Duration::from_secs(15), "never closing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ClosingLook::last_look(core, &tag, id).await;
}

/// The shard tag a `paymentRequestId` ends with.
pub fn tag_of(id: &str) -> String {
    PaymentRequestId::new(id).key_tag().unwrap().to_string()
}
