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

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asw_antom_sim::SimHandle;
use asw_core::domain::{
    MerchantProfile, Origin, PaymentCode, PaymentCodeRule, PaymentRequestId, RefundRequestId,
    TerminalProfile,
};
use asw_core::flows::{
    Answer, Core, CoreSettings, OriginalRef, Outcome, PurchaseRequest, RefundRequest, Reply,
    RequestKey, ReversalRequest, ReversedRequest, Timing, Undelivered, VoidRequest, WhileRunning,
};
use asw_core::ids::IdGenerator;
use asw_core::merchants::MerchantDirectory;
use asw_core::ports::{
    BeginOutcome, CancelCommand, CancelReceipt, CaptureCommand, CaptureReceipt, CheckoutCommand,
    CheckoutStarted, Clock, CommitOutcome, InquiryCommand, Journal, PayCommand, PayReceipt,
    PaymentReport, RefundCommand, RefundReceipt, StoreError, SystemClock, Tombstone,
    TombstoneOutcome, Upstream, UpstreamOutcome,
};
use asw_core::record::{Change, SafEntry, TransactionRecord};
use asw_core::saf::SafQueue;
use asw_core::state::TxnState;
use asw_reversal::{EngineConfig, ReversalEngine};
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_upstream::AntomClient;
use async_trait::async_trait;
use common::{client, sim, store_config};
use tokio_util::sync::CancellationToken;

/// Which side of the write the switch dies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    /// The write never reaches Redis.
    Before,
    /// The write is in Redis; the switch dies before it learns so.
    After,
}

/// The journal of a switch that dies at its `at`-th write: from then on nothing it asks
/// returns (the process is gone), whatever it asks.
struct Dying {
    inner: RedisStore,
    writes: AtomicUsize,
    at: usize,
    when: When,
    dead: AtomicBool,
}

impl Dying {
    fn new(inner: RedisStore, at: usize, when: When) -> Self {
        Self {
            inner,
            writes: AtomicUsize::new(0),
            at,
            when,
            dead: AtomicBool::new(false),
        }
    }

    async fn die<T>(&self) -> T {
        self.dead.store(true, Ordering::SeqCst);
        std::future::pending().await
    }

    async fn write<T>(&self, op: impl Future<Output = T>) -> T {
        if self.dead.load(Ordering::SeqCst) {
            return self.die().await;
        }
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.at && self.when == When::Before {
            return self.die().await;
        }
        let out = op.await;
        if n == self.at {
            return self.die().await;
        }
        out
    }

    async fn read<T>(&self, op: impl Future<Output = T>) -> T {
        if self.dead.load(Ordering::SeqCst) {
            return self.die().await;
        }
        op.await
    }
}

#[async_trait]
impl Journal for Dying {
    async fn begin(&self, record: &TransactionRecord) -> Result<BeginOutcome, StoreError> {
        self.write(self.inner.begin(record)).await
    }
    async fn load(&self, tag: &str, id: &str) -> Result<Option<TransactionRecord>, StoreError> {
        self.read(self.inner.load(tag, id)).await
    }
    async fn load_confirmed(
        &self,
        tag: &str,
        id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.read(self.inner.load_confirmed(tag, id)).await
    }
    async fn order_attempts(
        &self,
        tag: &str,
        order: &str,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        self.read(self.inner.order_attempts(tag, order)).await
    }
    async fn merchant_payments(
        &self,
        merchant_id: &str,
        before: Option<(i64, String)>,
        created_after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        self.read(
            self.inner
                .merchant_payments(merchant_id, before, created_after, limit),
        )
        .await
    }
    async fn load_by_dedup_key(
        &self,
        tag: &str,
        key: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.read(self.inner.load_by_dedup_key(tag, key)).await
    }
    async fn commit(&self, change: &Change) -> Result<CommitOutcome, StoreError> {
        self.write(self.inner.commit(change)).await
    }
    async fn reverse_unseen(
        &self,
        t: &Tombstone,
        c: &SafEntry,
    ) -> Result<TombstoneOutcome, StoreError> {
        self.write(self.inner.reverse_unseen(t, c)).await
    }
    async fn due_for_sweep(
        &self,
        now: i64,
        max: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.read(self.inner.due_for_sweep(now, max)).await
    }
}

/// Runs `flow` on a switch whose journal is `dying` until the flow ends or the switch dies,
/// then stops it like a `kill -9` (whatever it was doing stops there); returns the writes the
/// switch made.
async fn run_until_crash(dying: &Dying, flow: impl Future<Output = ()> + Send + 'static) -> usize {
    let running = tokio::spawn(flow);
    let start = Instant::now();
    while !running.is_finished() && !dying.dead.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the flow never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.abort();
    let _ = running.await;
    dying.writes.load(Ordering::SeqCst)
}

/// What the terminal was told.
#[derive(Clone, Default)]
struct Told(Arc<Mutex<Option<Answer>>>);

struct TerminalReply(Told);

#[async_trait]
impl Reply for TerminalReply {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        *self.0.0.lock().unwrap() = Some(answer.clone());
        Ok(())
    }
}

const MERCHANT: &str = "M1";
const TERMINAL: &str = "T1";

/// Short deadlines, in real time: a case is quiet a few seconds after its crash.
fn timing() -> Timing {
    Timing {
        terminal_timeout_ms: 3_000,
        response_deadline_ms: 2_500,
        gateway_deadline_ms: 4_000,
        inquiry_interval_ms: 300,
        pay_timeout_ms: 2_000,
        call_margin_ms: 200,
        payment_expiry_ms: 8_000,
        delivery_margin_ms: 200,
        duplicate_poll_ms: 100,
        ..Timing::default()
    }
}

fn merchant() -> MerchantProfile {
    MerchantProfile {
        merchant_id: MERCHANT.into(),
        client: "default".into(),
        reference_merchant_id: "RM1".into(),
        merchant_name: "Shop".into(),
        mcc: "5411".into(),
        store_id: "S1".into(),
        store_name: "Store".into(),
        store_mcc: None,
        settlement_currency: None,
        merchant_region: None,
        utc_offset_minutes: 0,
        follow_ups: Default::default(),
        allowed_networks: Vec::new(),
        api_keys: Vec::new(),
        rest_timeout_ms: None,
        webhook: None,
        terminals: vec![TerminalProfile {
            terminal_id: TERMINAL.into(),
            enabled: true,
            refunds: true,
            store_id: None,
        }],
    }
}

fn core(journal: Arc<dyn Journal>, upstream: Arc<dyn Upstream>) -> Core {
    Core::new(
        upstream,
        journal,
        Arc::new(SystemClock),
        IdGenerator::new(b"flow-crash"),
        MerchantDirectory::new(vec![merchant()]),
        CoreSettings {
            timing: timing(),
            payment_code_rule: PaymentCodeRule::default(),
            notify_url: None,
            order_description: "crash point test".into(),
            max_in_flight_payments: 0,
        },
    )
}

/// Purchase `n` of the terminal with the simulator scenario `suffix` (the code's last digits).
fn purchase(n: u32, suffix: &str) -> PurchaseRequest {
    let ids = IdGenerator::new(b"flow-crash");
    let dedup_key = format!("{MERCHANT}|{TERMINAL}|20261206|{n:06}");
    let request = RequestKey {
        origin: Origin::terminal(MERCHANT, TERMINAL),
        tag: ids.key_tag(&dedup_key),
        dedup_key: dedup_key.clone(),
        receipt_ref: format!("6340{n:08}"),
        local_time: None,
    };
    PurchaseRequest {
        payment_request_id: PaymentRequestId::new(format!(
            "261206{}{}",
            dedup_key.replace('|', ""),
            request.tag
        )),
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

fn advice(p: &PurchaseRequest) -> ReversalRequest {
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

fn engine_config(instance: &str) -> EngineConfig {
    EngineConfig {
        instance: instance.into(),
        fetch_block_ms: 50,
        claim_idle_ms: 2_000,
        promote_interval_ms: 20,
        sweep_interval_ms: 50,
        call_timeout_ms: 3_000,
        store_retry_ms: 50,
        fast_retry_min_ms: 100,
        fast_retry_max_ms: 200,
        ..EngineConfig::default()
    }
}

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
    let store = RedisStore::connect(StoreConfig {
        key_prefix: format!("crash{n}"),
        ..store_config(server)
    })
    .await
    .unwrap();
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
    until_quiet(&store, upstream, fresh, &tag, &id, n).await;
    let at_antom = sim
        .payment(&id)
        .map_or_else(|| "NONE".to_string(), |p| p.status);
    (writes, answer.map(|a| a.is_approval()), at_antom)
}

/// Runs a fresh engine (with the fresh core's last look) until the transaction is past its
/// closing time, settled, and the queue is empty.
async fn until_quiet(
    store: &RedisStore,
    upstream: Arc<AntomClient>,
    fresh: Arc<Core>,
    tag: &str,
    id: &str,
    n: u32,
) {
    let engine = Arc::new(
        ReversalEngine::new(
            upstream,
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            Arc::new(SystemClock),
            engine_config(&format!("fresh{n}")),
        )
        .with_closing_look(fresh.clone()),
    );
    let token = CancellationToken::new();
    let tasks = engine.start(token.clone());
    // Quiet: past the closing time, nothing in flight, the queue empty.
    let start = Instant::now();
    loop {
        let record = store.load(tag, id).await.unwrap();
        let settled = record.as_ref().is_none_or(|r| {
            !r.state.is_in_flight()
                && !matches!(r.state, TxnState::CancelPending | TxnState::RefundPending)
                && now_ms() > r.gateway_deadline_ms + 500
        });
        let depth = store.stats(now_ms()).await.unwrap().depth;
        if settled && depth == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "never quiet: {:?} depth {depth}",
            record.map(|r| (r.state, r.delivery))
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    token.cancel();
    tasks.wait().await;
}

fn now_ms() -> i64 {
    SystemClock.now_ms()
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
        let mut cases = Vec::new();
        for at in 1..=writes {
            for when in [When::Before, When::After] {
                n += 1;
                cases.push((n, at, when));
            }
        }
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

/// Purchase `n`, approved on a healthy switch and handed to the terminal.
async fn approved_purchase(
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

/// A refund of `amount` of `original`, request `n` of the terminal.
fn refund(n: u32, original: &PurchaseRequest, amount: u64) -> RefundRequest {
    let ids = IdGenerator::new(b"flow-crash");
    let dedup_key = format!("{MERCHANT}|{TERMINAL}|20261206|{n:06}");
    let request = RequestKey {
        origin: Origin::terminal(MERCHANT, TERMINAL),
        tag: ids.key_tag(&dedup_key),
        dedup_key,
        receipt_ref: format!("6341{n:08}"),
        local_time: None,
    };
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
    let store = RedisStore::connect(StoreConfig {
        key_prefix: format!("crashrf{n}"),
        ..store_config(server)
    })
    .await
    .unwrap();
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
    until_quiet(&store, upstream, fresh, &tag, &id, n + 10_000).await;
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
    let mut cases = Vec::new();
    let mut n = 1;
    for at in 1..=writes {
        for when in [When::Before, When::After] {
            n += 1;
            cases.push((n, at, when));
        }
    }
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
    let store = RedisStore::connect(StoreConfig {
        key_prefix: format!("crashvd{n}"),
        ..store_config(server)
    })
    .await
    .unwrap();
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
    until_quiet(&store, upstream, fresh, &tag, &id, n + 20_000).await;
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
    let mut cases = Vec::new();
    let mut n = 1;
    for at in 1..=writes {
        for when in [When::Before, When::After] {
            n += 1;
            cases.push((n, at, when));
        }
    }
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
    until_quiet(&store, upstream, fresh, &request.request.tag, &id, 9_001).await;
    assert_eq!(
        sim.payment(&id).map(|p| p.status).as_deref(),
        Some("CANCELLED"),
        "the payment Antom approved is cancelled: the terminal was never told 00"
    );
}
