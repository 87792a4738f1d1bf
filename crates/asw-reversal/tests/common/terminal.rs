//! The terminal's requests in the crash-point tests: its purchases (a simulator scenario each),
//! their reversal advices, and a purchase approved on a healthy switch.

use std::sync::Arc;

use asw_antom_sim::SimHandle;
use asw_core::domain::PaymentCode;
use asw_core::flows::{
    Answer, Core, Outcome, PurchaseRequest, ReversalRequest, ReversedRequest, WhileRunning,
};
use asw_core::ports::Journal;
use asw_core::state::{Delivery, TxnState};
use asw_store::RedisStore;
use asw_upstream::AntomClient;

use super::crash::{
    Dying, TerminalReply, Told, When, core, run_until_crash, terminal_key, terminal_prid,
};

/// Purchase `n` of the terminal with the simulator scenario `suffix` (the code's last digits).
pub fn purchase(n: u32, suffix: &str) -> PurchaseRequest {
    let request = terminal_key("20261206", n, "6340");
    PurchaseRequest {
        payment_request_id: terminal_prid(&request),
        request,
        amount_minor: 1_000 + u64::from(n),
        currency_numeric: 702,
        payment_code: PaymentCode::new(format!("2810123456789012{suffix}")),
        reference_order_id: None,
        content_digest: format!("digest-{n}"),
        while_running: WhileRunning::WaitForOutcome,
        store_terminal: None,
        store: None,
        description: None,
        metadata: Default::default(),
    }
}

/// Where the journal keeps purchase `p`: its tag and journal id.
pub fn journal_key(p: &PurchaseRequest) -> (String, String) {
    (
        p.request.tag.clone(),
        p.payment_request_id.as_str().to_string(),
    )
}

/// The terminal's reversal advice (0420) of purchase `p`.
pub fn advice(p: &PurchaseRequest) -> ReversalRequest {
    ReversalRequest {
        origin: p.request.origin.clone(),
        original: ReversedRequest {
            dedup_key: p.request.dedup_key.clone(),
            tag: p.request.tag.clone(),
            payment_request_id: p.payment_request_id.clone(),
        },
        amount_minor: p.amount_minor,
        of_purchase: true,
        advice: true,
    }
}

/// Purchase `n`, approved on a healthy switch and handed to the terminal.
pub async fn approved_purchase(
    store: &RedisStore,
    upstream: &Arc<AntomClient>,
    n: u32,
) -> PurchaseRequest {
    let healthy = core(Arc::new(store.clone()), upstream.clone());
    let paid = purchase(n, "00");
    let told = Told::default();
    healthy
        .purchase(paid.clone(), Box::new(TerminalReply(told.clone())))
        .await;
    assert!(
        told.0
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(Answer::is_approval)
    );
    paid
}

/// Antom's status of `id` (`NONE`: never created).
pub fn at_antom(sim: &SimHandle, id: &str) -> String {
    sim.payment(id).map_or_else(|| "NONE".into(), |p| p.status)
}

pub fn acknowledged(told: &Told) -> bool {
    told.answer()
        .is_some_and(|a| a.outcome == Outcome::Accepted)
}

/// The terminal repeats its advice (0421) to `switch` until it is acknowledged.
pub async fn advise_until_acknowledged(switch: &Core, request: &PurchaseRequest) {
    for _ in 0..5 {
        let told = Told::default();
        switch
            .reverse(advice(request), Box::new(TerminalReply(told.clone())))
            .await;
        if acknowledged(&told) {
            return;
        }
    }
    panic!("the advice is never acknowledged");
}

/// What the journal and Antom hold of purchase `request` once quiet.
pub async fn settled(
    store: &RedisStore,
    sim: &SimHandle,
    request: &PurchaseRequest,
) -> (Option<(TxnState, Delivery)>, String) {
    let id = request.payment_request_id.as_str();
    let record = store.load(&request.request.tag, id).await.unwrap();
    (record.map(|r| (r.state, r.delivery)), at_antom(sim, id))
}

/// Purchase `n`, paid at Antom while its switch died before it could journal that.
pub async fn unknown_purchase(
    store: &RedisStore,
    upstream: &Arc<AntomClient>,
    sim: &SimHandle,
    n: u32,
) -> PurchaseRequest {
    let dying = Arc::new(Dying::new(store.clone(), 2, When::Before));
    let switch = Arc::new(core(dying.clone(), upstream.clone()));
    let request = purchase(n, "00");
    let reply = Box::new(TerminalReply(Told::default()));
    let flow = {
        let request = request.clone();
        async move { switch.purchase(request, reply).await }
    };
    run_until_crash(&dying, flow).await;
    assert_eq!(
        settled(store, sim, &request).await,
        (Some((TxnState::Pending, Delivery::None)), "SUCCESS".into()),
        "paid at Antom, unknown to the journal"
    );
    request
}
