//! Shared pieces of the crash-point tests of the flows where a buyer acts at Antom (online
//! checkout, cards, Checkout Page sessions, order codes): a scenario is a list of steps the
//! outside world takes (the merchant's requests, the buyer on antom-sim's hooks, Antom's
//! notifications); they run on a switch that dies at one journal write, and the rest of them —
//! the interrupted one again, as a merchant retries and Antom re-sends — on a fresh switch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asw_antom_sim::SimHandle;
use asw_core::domain::{Origin, PaymentRequestId};
use asw_core::flows::{
    Answer, Core, OriginalRef, Outcome, Reply, RequestKey, StatusInquiry, Undelivered,
};
use asw_core::ports::{ClosingLook, Journal};
use asw_core::state::TxnState;
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use async_trait::async_trait;
use futures::future::BoxFuture;
use serde_json::Value;

use super::crash::{
    Dying, MERCHANT, When, core, crash_points, ids, now_ms, run_until_crash, until_quiet,
};
use super::{client, sim, store_config};

/// What the world does at one step, on the switch `core`; `again`: the step was interrupted by
/// the crash and is repeated on the fresh switch.
pub type Act<S> = Arc<dyn Fn(Arc<Core>, S, bool) -> BoxFuture<'static, ()> + Send + Sync>;

/// Runs `steps` on `first` (whose journal is `dying`) until it dies, then the rest — the
/// interrupted step again — on `fresh`. Returns the writes the first switch made.
pub async fn play<S: Clone + Send + Sync + 'static>(
    dying: &Dying,
    first: Arc<Core>,
    fresh: Arc<Core>,
    steps: &[S],
    act: Act<S>,
) -> usize {
    let progress = Arc::new(AtomicUsize::new(0));
    let writes = {
        let (progress, steps, act) = (progress.clone(), steps.to_vec(), act.clone());
        run_until_crash(dying, async move {
            for (i, step) in steps.into_iter().enumerate() {
                progress.store(i, Ordering::SeqCst);
                act(first.clone(), step, false).await;
            }
            progress.store(usize::MAX, Ordering::SeqCst);
        })
        .await
    };
    let interrupted = progress.load(Ordering::SeqCst);
    if interrupted < steps.len() {
        for (i, step) in steps.iter().enumerate().skip(interrupted) {
            act(fresh.clone(), step.clone(), i == interrupted).await;
        }
    }
    writes
}

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

/// At most one attempt of an order holds SUCCESS at Antom.
pub fn at_most_one_success(sim: &SimHandle, attempts: &[String], label: &str) {
    let paid: Vec<_> = attempts
        .iter()
        .filter(|p| sim.payment(p).is_some_and(|v| v.status == "SUCCESS"))
        .collect();
    assert!(paid.len() <= 1, "{label}: more than one success: {paid:?}");
}

/// What the sweeper does at the closing time of record `id`: waits (bounded) until its
/// closing time has passed, then takes the core's last look at it (the engine would then
/// cancel whatever the look did not settle; the fresh engine does that here).
pub async fn close(core: &Core, store: &RedisStore, tag: &str, id: &str) {
    let Some(record) = store.load(tag, id).await.unwrap() else {
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
    ClosingLook::last_look(core, tag, id).await;
}

/// Whether Antom's status `status` is one of `expected` (`|`-separated).
pub fn one_of(status: &str, expected: &str) -> bool {
    expected.split('|').any(|e| e == status)
}

/// One flow under test: its steps, what they do, and how its attempts are found.
pub trait Flow: Send + Sync + 'static {
    /// What the world does next.
    type Step: Clone + Send + Sync + 'static;
    /// Prefix of the case's Redis keys.
    const NAME: &'static str;
    /// Who reads the payments (the REST merchant, the terminal).
    fn origin() -> Origin;
    /// The (tag, `paymentRequestId`) of every attempt `steps` of case `n` make.
    fn attempts(n: u32, steps: &[Self::Step]) -> Vec<(String, String)>;
    /// What the world does at a step of case `n`.
    fn act(sim: Arc<SimHandle>, store: RedisStore, answers: Answers, n: u32) -> Act<Self::Step>;
    /// Whether Antom holds what makes `id` a success (a card: captured).
    fn paid_at_antom(sim: &SimHandle, id: &str) -> bool {
        sim.payment(id).is_some_and(|p| p.status == "SUCCESS")
    }
    /// Checks particular to the flow, once quiet.
    fn check(_sim: &SimHandle, _id: &str, _label: &str) {}
}

/// One case: `steps` on a switch that dies at write `at` (`When`), or never (`at` = 0), the
/// rest on a fresh one. Checks the promise: told paid ⇒ paid at Antom; a read once quiet,
/// and the journal, say paid ⇔ paid at Antom; at most one success per order; nothing queued
/// or dead-lettered. Returns the first switch's writes and Antom's status of each attempt.
pub async fn case<F: Flow>(
    server: &RedisServer,
    sim: &Arc<SimHandle>,
    n: u32,
    steps: &'static [F::Step],
    at: usize,
    when: When,
) -> (usize, Vec<String>) {
    let store = RedisStore::connect(StoreConfig {
        key_prefix: format!("{}{n}", F::NAME),
        ..store_config(server)
    })
    .await
    .unwrap();
    let upstream = client(sim);
    let dying = Arc::new(Dying::new(store.clone(), at, when));
    let first = Arc::new(core(dying.clone(), upstream.clone()));
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    let answers = Answers::default();
    let act = F::act(sim.clone(), store.clone(), answers.clone(), n);
    let writes = play(&dying, first, fresh.clone(), steps, act).await;

    let records = F::attempts(n, steps);
    until_quiet(&store, upstream, fresh.clone(), &records, n).await;
    let label = format!("{} case {n}, crash {when:?} write {at}", F::NAME);
    let mut statuses = Vec::new();
    for (tag, id) in &records {
        read(&fresh, &answers, F::origin(), id).await;
        let at_antom = sim.payment(id).map_or_else(|| "NONE".into(), |p| p.status);
        let paid = F::paid_at_antom(sim, id);
        let told = answers.of(id);
        let read_now = told.last().map(|a| a.outcome.clone());
        let journal = store.load(tag, id).await.unwrap().map(|r| r.state);
        let outcomes: Vec<_> = told.iter().map(|a| &a.outcome).collect();
        eprintln!("{label}: {id} told {outcomes:?}, journal {journal:?}, Antom {at_antom}");
        assert!(
            !answers.told_paid(id) || paid,
            "{label}: {id} told paid, Antom {at_antom}"
        );
        assert_eq!(
            read_now == Some(Outcome::Approved),
            paid,
            "{label}: {id} reads {read_now:?}, Antom {at_antom}"
        );
        assert_eq!(
            journal == Some(TxnState::Approved),
            paid,
            "{label}: {id} journal {journal:?}, Antom {at_antom}"
        );
        F::check(sim, id, &label);
        statuses.push(at_antom);
    }
    let ids: Vec<_> = records.into_iter().map(|(_, id)| id).collect();
    at_most_one_success(sim, &ids, &label);
    (writes, statuses)
}

/// Runs `steps` without a crash (Antom must end with `expected`, one `|`-separated choice
/// per attempt), then with a crash at each side of each of its writes, all at once.
pub async fn every_crash_point<F: Flow>(steps: &'static [F::Step], first: u32, expected: &[&str]) {
    let server = RedisServer::start().unwrap();
    let sim = Arc::new(sim().await);
    let (writes, statuses) = case::<F>(&server, &sim, first, steps, 0, When::After).await;
    assert_eq!(statuses.len(), expected.len(), "{statuses:?}");
    for (status, expected) in statuses.iter().zip(expected) {
        assert!(one_of(status, expected), "without a crash: {statuses:?}");
    }
    assert!(writes >= 2, "{writes} writes");
    let points = crash_points(writes, first + 1);
    futures::future::join_all(
        points
            .iter()
            .map(|&(n, at, when)| case::<F>(&server, &sim, n, steps, at, when)),
    )
    .await;
}
