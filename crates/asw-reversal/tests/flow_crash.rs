//! Deterministic crash points in the terminal flows (purchase, refund, void), against the real antom-sim over
//! HTTP and a real Redis. The switch dies just before, or just after, each journal write the
//! flow makes (its `begin`, then every commit); a fresh core and engine start on the same
//! Redis; the terminal does what an ISO 8583 terminal does — no answer, so a reversal advice —
//! and once everything is quiet the promise must hold: approved at the terminal ⇔ SUCCESS at
//! Antom. Every write of every scenario below is a crash point, both sides of it; refunds and
//! voids too (what the terminal was told is what Antom did, and the journal ends agreeing with
//! Antom whatever the terminal was told).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use asw_antom_sim::SimHandle;
use asw_core::domain::{Origin, RefundRequestId};
use asw_core::flows::{Answer, OriginalRef, Outcome, PurchaseRequest, RefundRequest, VoidRequest};
use asw_core::ports::{
    CancelCommand, CancelReceipt, CaptureCommand, CaptureReceipt, CheckoutCommand, CheckoutStarted,
    InquiryCommand, Journal, PayCommand, PayReceipt, PaymentReport, RefundCommand, RefundReceipt,
    Upstream, UpstreamOutcome,
};
use asw_core::state::TxnState;
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_upstream::AntomClient;
use async_trait::async_trait;
use common::crash::{
    Dying, MERCHANT, TERMINAL, TerminalReply, Told, When, case_store, core, crash_points,
    run_until_crash, terminal_key, until_quiet,
};
use common::terminal::{advice, approved_purchase, purchase};
use common::{client, sim, store_config};

/// One case: the purchase runs on a switch that dies at write `at` (`When`), or never dies
/// (`at` = 0). Returns how many writes the first switch made, what the terminal was told and
/// what Antom holds once everything is quiet.
async fn case(
    server: &RedisServer,
    sim: &SimHandle,
    n: u32,
    suffix: &str,
    at: usize,
    when: When,
) -> (usize, Option<bool>, String) {
    let store = case_store(server, format!("crash{n}")).await;
    let upstream = client(sim);
    let dying = Arc::new(Dying::new(store.clone(), at, when));
    let first = Arc::new(core(dying.clone(), upstream.clone()));
    let request = purchase(n, suffix);
    let told = Told::default();
    let reply = Box::new(TerminalReply(told.clone()));
    let writes = {
        let (first, request) = (first.clone(), request.clone());
        run_until_crash(&dying, async move { first.purchase(request, reply).await }).await
    };
    let answer = told.0.lock().unwrap().clone();

    // A fresh switch on the same Redis. The terminal got no answer: it sends a reversal
    // advice, repeating it until acknowledged.
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    if answer.is_none() {
        let acked = Told::default();
        fresh
            .reverse(advice(&request), Box::new(TerminalReply(acked.clone())))
            .await;
        let ack = acked
            .0
            .lock()
            .unwrap()
            .clone()
            .expect("the advice is answered");
        assert_eq!(
            ack.outcome,
            Outcome::Accepted,
            "the advice is acknowledged: {ack:?}"
        );
    }
    let tag = request.request.tag.clone();
    let id = request.payment_request_id.as_str().to_string();
    until_quiet(&store, upstream, fresh, &[(tag.clone(), id.clone())], n).await;
    let at_antom = sim
        .payment(&id)
        .map_or_else(|| "NONE".to_string(), |p| p.status);
    (writes, answer.map(|a| a.is_approval()), at_antom)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_journal_write_of_a_purchase_keeps_the_terminal_and_antom_in_agreement() {
    let server = RedisServer::start().unwrap();
    let sim = sim().await;
    // 00: paid at once; 30: processing, then paid (found by inquiry); 40: paid, the answer lost.
    let mut n = 0u32;
    let mut checked = 0;
    for suffix in ["00", "30", "40"] {
        n += 1;
        let (writes, told, at_antom) = case(&server, &sim, n, suffix, 0, When::After).await;
        assert_eq!(
            told,
            Some(true),
            "scenario {suffix} without a crash approves"
        );
        assert_eq!(at_antom, "SUCCESS");
        assert!(writes >= 2, "scenario {suffix}: {writes} writes");
        let cases = crash_points(writes, n + 1);
        n += u32::try_from(cases.len()).unwrap();
        let results = futures::future::join_all(
            cases
                .iter()
                .map(|&(n, at, when)| case(&server, &sim, n, suffix, at, when)),
        )
        .await;
        for ((_, at, when), (_, told, at_antom)) in cases.iter().zip(results) {
            let approved = told == Some(true);
            assert_eq!(
                approved,
                at_antom == "SUCCESS",
                "scenario {suffix}, crash {when:?} write {at}: terminal told {told:?}, Antom {at_antom}"
            );
            eprintln!(
                "scenario {suffix}, crash {when:?} write {at}/{writes}: told {told:?}, Antom {at_antom}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked} crash points");
}

/// A refund of `amount` of `original`, request `n` of the terminal.
fn refund(n: u32, original: &PurchaseRequest, amount: u64) -> RefundRequest {
    let request = terminal_key("20261206", n, "6341");
    RefundRequest {
        refund_request_id: RefundRequestId::new(format!("RF{n:06}{}", request.tag)),
        request,
        amount_minor: amount,
        currency_numeric: 702,
        original: OriginalRef {
            payment_request_id: Some(original.payment_request_id.as_str().to_string()),
            ..OriginalRef::default()
        },
        content_digest: format!("refund-{n}"),
    }
}

/// One refund case: a purchase approved on a healthy switch, then its partial refund on a
/// switch that dies at write `at` (`When`), or never (`at` = 0). Returns the dying switch's
/// writes, what the terminal was told of the refund, what the journal ends with, and whether
/// Antom holds that refund as SUCCESS.
async fn refund_case(
    server: &RedisServer,
    sim: &SimHandle,
    n: u32,
    at: usize,
    when: When,
) -> (usize, Option<bool>, TxnState, bool) {
    let store = case_store(server, format!("crashrf{n}")).await;
    let upstream = client(sim);
    let paid = approved_purchase(&store, &upstream, 1_000 + n).await;

    let dying = Arc::new(Dying::new(store.clone(), at, when));
    let first = Arc::new(core(dying.clone(), upstream.clone()));
    let request = refund(2_000 + n, &paid, 400);
    let told = Told::default();
    let reply = Box::new(TerminalReply(told.clone()));
    let writes = {
        let (first, request) = (first.clone(), request.clone());
        run_until_crash(&dying, async move { first.refund(request, reply).await }).await
    };
    let answer = told.0.lock().unwrap().clone();

    // A fresh switch; the sweeper completes (never undoes) a refund left unresolved.
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    let tag = request.request.tag.clone();
    let id = request.refund_request_id.as_str().to_string();
    let records = [(tag.clone(), id.clone())];
    until_quiet(&store, upstream, fresh, &records, n + 10_000).await;
    let state = store
        .load(&tag, &id)
        .await
        .unwrap()
        .map_or(TxnState::Failed, |r| r.state);
    let refunded = sim
        .payment(paid.payment_request_id.as_str())
        .is_some_and(|p| {
            p.refunds
                .iter()
                .any(|r| r.refund_request_id == id && r.status == "SUCCESS")
        });
    (writes, answer.map(|a| a.is_approval()), state, refunded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_journal_write_of_a_refund_keeps_the_terminal_the_journal_and_antom_in_agreement()
 {
    let server = RedisServer::start().unwrap();
    let sim = sim().await;
    let (writes, told, state, refunded) = refund_case(&server, &sim, 1, 0, When::After).await;
    assert_eq!(
        (told, state, refunded),
        (Some(true), TxnState::Approved, true)
    );
    assert!(writes >= 2, "{writes} writes");
    let cases = crash_points(writes, 2);
    let results = futures::future::join_all(
        cases
            .iter()
            .map(|&(n, at, when)| refund_case(&server, &sim, n, at, when)),
    )
    .await;
    for ((_, at, when), (_, told, state, refunded)) in cases.iter().zip(results) {
        eprintln!(
            "refund, crash {when:?} write {at}/{writes}: told {told:?}, journal {state:?}, refunded {refunded}"
        );
        // What the terminal was told is what Antom did; and whatever it was told (or not), the
        // journal ends agreeing with Antom.
        if let Some(approved) = told {
            assert_eq!(
                approved, refunded,
                "crash {when:?} write {at}: told {told:?}"
            );
        }
        assert_eq!(
            state == TxnState::Approved,
            refunded,
            "crash {when:?} write {at}: journal {state:?}, refunded at Antom {refunded}"
        );
    }
}

/// One void case: a purchase approved on a healthy switch, then its void on a switch that dies
/// at write `at` (`When`), or never (`at` = 0). Returns the dying switch's writes, what the
/// terminal was told of the void, the purchase's final state and Antom's status.
async fn void_case(
    server: &RedisServer,
    sim: &SimHandle,
    n: u32,
    at: usize,
    when: When,
) -> (usize, Option<bool>, TxnState, String) {
    let store = case_store(server, format!("crashvd{n}")).await;
    let upstream = client(sim);
    let paid = approved_purchase(&store, &upstream, 3_000 + n).await;

    let dying = Arc::new(Dying::new(store.clone(), at, when));
    let first = Arc::new(core(dying.clone(), upstream.clone()));
    let request = VoidRequest {
        origin: Origin::terminal(MERCHANT, TERMINAL),
        receipt_ref: None,
        amount_minor: paid.amount_minor,
        original: OriginalRef {
            payment_request_id: Some(paid.payment_request_id.as_str().to_string()),
            ..OriginalRef::default()
        },
    };
    let told = Told::default();
    let reply = Box::new(TerminalReply(told.clone()));
    let writes = {
        let first = first.clone();
        run_until_crash(&dying, async move { first.void(request, reply).await }).await
    };
    let answer = told.0.lock().unwrap().clone();

    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    let tag = paid.request.tag.clone();
    let id = paid.payment_request_id.as_str().to_string();
    let records = [(tag.clone(), id.clone())];
    until_quiet(&store, upstream, fresh, &records, n + 20_000).await;
    let state = store.load(&tag, &id).await.unwrap().unwrap().state;
    let at_antom = sim
        .payment(&id)
        .map_or_else(|| "NONE".to_string(), |p| p.status);
    // A void is acknowledged (`00`) once its cancel is durably queued: `Accepted`.
    let acked = answer.map(|a| matches!(a.outcome, Outcome::Accepted | Outcome::Approved));
    (writes, acked, state, at_antom)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_journal_write_of_a_void_keeps_the_terminal_the_journal_and_antom_in_agreement()
 {
    let server = RedisServer::start().unwrap();
    let sim = sim().await;
    let (writes, told, state, at_antom) = void_case(&server, &sim, 1, 0, When::After).await;
    assert_eq!(told, Some(true), "a void without a crash is approved");
    assert_eq!(
        (state, at_antom.as_str()),
        (TxnState::Cancelled, "CANCELLED")
    );
    assert!(writes >= 1, "{writes} writes");
    let cases = crash_points(writes, 2);
    let results = futures::future::join_all(
        cases
            .iter()
            .map(|&(n, at, when)| void_case(&server, &sim, n, at, when)),
    )
    .await;
    for ((_, at, when), (_, told, state, at_antom)) in cases.iter().zip(results) {
        eprintln!(
            "void, crash {when:?} write {at}/{writes}: told {told:?}, purchase {state:?}, Antom {at_antom}"
        );
        let cancelled = at_antom == "CANCELLED";
        if let Some(approved) = told {
            assert_eq!(
                approved, cancelled,
                "crash {when:?} write {at}: told {told:?}"
            );
        }
        // The purchase the terminal holds as approved is paid at Antom unless the journal
        // reversed it, and the other way round.
        assert_eq!(
            state.is_reversing(),
            cancelled,
            "crash {when:?} write {at}: purchase {state:?}, Antom {at_antom}"
        );
    }
}

/// Antom as seen by a switch whose Redis is killed (SIGKILL) the moment a `pay` comes back
/// `S`: between Antom's SUCCESS and the journal's commit.
struct KillsRedisOnSuccess {
    inner: Arc<AntomClient>,
    redis: Arc<Mutex<RedisServer>>,
    killed: AtomicBool,
}

#[async_trait]
impl Upstream for KillsRedisOnSuccess {
    async fn pay(&self, command: &PayCommand) -> UpstreamOutcome<PayReceipt> {
        let outcome = self.inner.pay(command).await;
        if matches!(outcome, UpstreamOutcome::Success(_))
            && !self.killed.swap(true, Ordering::SeqCst)
        {
            self.redis.lock().unwrap().kill().unwrap();
        }
        outcome
    }
    async fn checkout(&self, c: &CheckoutCommand) -> UpstreamOutcome<CheckoutStarted> {
        self.inner.checkout(c).await
    }
    async fn capture(&self, c: &CaptureCommand) -> UpstreamOutcome<CaptureReceipt> {
        self.inner.capture(c).await
    }
    async fn inquire_payment(&self, c: &InquiryCommand) -> UpstreamOutcome<PaymentReport> {
        self.inner.inquire_payment(c).await
    }
    async fn cancel(&self, c: &CancelCommand) -> UpstreamOutcome<CancelReceipt> {
        self.inner.cancel(c).await
    }
    async fn refund(&self, c: &RefundCommand) -> UpstreamOutcome<RefundReceipt> {
        self.inner.refund(c).await
    }
}

/// Issue 18's "Redis SIGKILL between a pay's SUCCESS and its commit": the commit cannot be
/// written, so the terminal must not be told `00`; once Redis is back (AOF replayed: the
/// `begin` survived) the sweeper cancels the payment at Antom.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_between_a_pays_success_and_its_commit_never_approves() {
    let server = Arc::new(Mutex::new(RedisServer::start().unwrap()));
    let sim = sim().await;
    let config = store_config(&server.lock().unwrap());
    let store = RedisStore::connect(StoreConfig {
        key_prefix: "crashkill".into(),
        ..config
    })
    .await
    .unwrap();
    let upstream = client(&sim);
    let killing = Arc::new(KillsRedisOnSuccess {
        inner: upstream.clone(),
        redis: server.clone(),
        killed: AtomicBool::new(false),
    });
    let switch = core(Arc::new(store.clone()), killing.clone());
    let request = purchase(9_001, "00");
    let told = Told::default();
    switch
        .purchase(request.clone(), Box::new(TerminalReply(told.clone())))
        .await;
    assert!(killing.killed.load(Ordering::SeqCst), "Redis was killed");
    let answer = told.0.lock().unwrap().clone();
    assert!(
        !answer.as_ref().is_some_and(Answer::is_approval),
        "never approved without its commit: {answer:?}"
    );

    server.lock().unwrap().restart().unwrap();
    let id = request.payment_request_id.as_str().to_string();
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    if answer.is_none() {
        fresh
            .reverse(advice(&request), Box::new(TerminalReply(Told::default())))
            .await;
    }
    let records = [(request.request.tag.clone(), id.clone())];
    until_quiet(&store, upstream, fresh, &records, 9_001).await;
    assert_eq!(
        sim.payment(&id).map(|p| p.status).as_deref(),
        Some("CANCELLED"),
        "the payment Antom approved is cancelled: the terminal was never told 00"
    );
}
