//! Shared pieces of the crash-point tests (`flow_crash.rs`, `online_crash.rs`, …): a journal
//! that makes the switch "die" at its N-th write, the switch it dies in, what the requester was
//! told, and the wait until a fresh switch and engine are quiet.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asw_core::domain::{
    MerchantProfile, Origin, PaymentCodeRule, PaymentRequestId, TerminalProfile,
};
use asw_core::flows::{Answer, Core, CoreSettings, Reply, RequestKey, Timing, Undelivered};
use asw_core::ids::IdGenerator;
use asw_core::merchants::MerchantDirectory;
use asw_core::ports::{
    BeginOutcome, Clock, CommitOutcome, Journal, StoreError, SystemClock, Tombstone,
    TombstoneOutcome, Upstream,
};
use asw_core::record::{Change, SafEntry, TransactionRecord};
use asw_core::saf::SafQueue;
use asw_core::state::TxnState;
use asw_reversal::{EngineConfig, ReversalEngine};
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_upstream::AntomClient;
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::store_config;

/// Which side of the write the switch dies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// The write never reaches Redis.
    Before,
    /// The write is in Redis; the switch dies before it learns so.
    After,
}

/// Every crash point of a run that made `writes` writes: both sides of each, numbered from
/// `first` on (each case gets its own number, so its own keys).
pub fn crash_points(writes: usize, first: u32) -> Vec<(u32, usize, When)> {
    let mut n = first;
    let mut points = Vec::new();
    for at in 1..=writes {
        for when in [When::Before, When::After] {
            points.push((n, at, when));
            n += 1;
        }
    }
    points
}

/// The journal of a switch that dies at its `at`-th write: from then on nothing it asks
/// returns (the process is gone), whatever it asks.
pub struct Dying {
    inner: RedisStore,
    writes: AtomicUsize,
    at: usize,
    when: When,
    dead: AtomicBool,
}

impl Dying {
    /// Dies at write `at` (`When`); never when `at` is 0.
    pub fn new(inner: RedisStore, at: usize, when: When) -> Self {
        Self {
            inner,
            writes: AtomicUsize::new(0),
            at,
            when,
            dead: AtomicBool::new(false),
        }
    }

    /// Whether the switch has died.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// The writes it made (or was about to make when it died).
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    async fn die<T>(&self) -> T {
        self.dead.store(true, Ordering::SeqCst);
        std::future::pending().await
    }

    async fn write<T>(&self, op: impl Future<Output = T>) -> T {
        if self.is_dead() {
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
        if self.is_dead() {
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
pub async fn run_until_crash(
    dying: &Dying,
    flow: impl Future<Output = ()> + Send + 'static,
) -> usize {
    let running = tokio::spawn(flow);
    let start = Instant::now();
    while !running.is_finished() && !dying.is_dead() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the flow never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.abort();
    let _ = running.await;
    dying.writes()
}

/// What the requester (a terminal, a merchant's system) was told.
#[derive(Clone, Default)]
pub struct Told(pub Arc<Mutex<Option<Answer>>>);

impl Told {
    /// The answer, if one was sent.
    pub fn answer(&self) -> Option<Answer> {
        self.0.lock().unwrap().clone()
    }
}

/// The requester's end of a request: keeps the answer in its [`Told`].
pub struct TerminalReply(pub Told);

#[async_trait]
impl Reply for TerminalReply {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        *self.0.0.lock().unwrap() = Some(answer.clone());
        Ok(())
    }
}

/// A fresh reply and the place its answer lands.
pub fn reply() -> (Box<TerminalReply>, Told) {
    let told = Told::default();
    (Box::new(TerminalReply(told.clone())), told)
}

pub const MERCHANT: &str = "M1";
pub const TERMINAL: &str = "T1";

/// Short deadlines, in real time: a case is quiet a few seconds after its crash.
pub fn timing() -> Timing {
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
        online_expiry_ms: 1_500,
        online_close_margin_ms: 800,
        online_capture_window_ms: 2_000,
        order_code_expiry_ms: 1_500,
        order_code_close_margin_ms: 800,
        order_code_max_open_ms: 10_000,
        session_expiry_ms: 1_200,
        session_method_timeout_ms: 500,
    }
}

pub fn merchant() -> MerchantProfile {
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

/// A store of its own for one case: its keys under `prefix`, on `server`.
pub async fn case_store(server: &RedisServer, prefix: String) -> RedisStore {
    RedisStore::connect(StoreConfig {
        key_prefix: prefix,
        ..store_config(server)
    })
    .await
    .unwrap()
}

/// Request `n` of the terminal on `date` (`YYYYMMDD`), its receipt reference `receipt_prefix`
/// and the number.
pub fn terminal_key(date: &str, n: u32, receipt_prefix: &str) -> RequestKey {
    let dedup_key = format!("{MERCHANT}|{TERMINAL}|{date}|{n:06}");
    RequestKey {
        origin: Origin::terminal(MERCHANT, TERMINAL),
        tag: ids().key_tag(&dedup_key),
        dedup_key,
        receipt_ref: format!("{receipt_prefix}{n:08}"),
        local_time: None,
    }
}

/// The `paymentRequestId` the terminal front derives for a request's key.
pub fn terminal_prid(key: &RequestKey) -> PaymentRequestId {
    let date = key.dedup_key.split('|').nth(2).unwrap_or_default();
    PaymentRequestId::new(format!(
        "{}{}{}",
        date.get(2..).unwrap_or_default(),
        key.dedup_key.replace('|', ""),
        key.tag
    ))
}

/// The ids every switch of these tests derives.
pub fn ids() -> IdGenerator {
    IdGenerator::new(b"flow-crash")
}

/// A switch's core on `journal` and `upstream`. No `paymentNotifyUrl`: the tests play Antom's
/// notifications themselves, so they know which switch got each one.
pub fn core(journal: Arc<dyn Journal>, upstream: Arc<dyn Upstream>) -> Core {
    Core::new(
        upstream,
        journal,
        Arc::new(SystemClock),
        ids(),
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

/// Runs a fresh engine (with the fresh core's last look) until every one of `records` (tag,
/// journal id) is past its closing time and settled, and the queue is empty; then no entry
/// may be dead-lettered.
pub async fn until_quiet(
    store: &RedisStore,
    upstream: Arc<AntomClient>,
    fresh: Arc<Core>,
    records: &[(String, String)],
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
        .with_closing_look(fresh),
    );
    let token = CancellationToken::new();
    let tasks = engine.start(token.clone());
    // Quiet: past the closing time, nothing in flight, the queue empty.
    let start = Instant::now();
    loop {
        let mut unsettled = Vec::new();
        for (tag, id) in records {
            let record = store.load(tag, id).await.unwrap();
            let settled = record.as_ref().is_none_or(|r| {
                !r.state.is_in_flight()
                    && !matches!(r.state, TxnState::CancelPending | TxnState::RefundPending)
                    && now_ms() > r.gateway_deadline_ms + 500
            });
            if !settled {
                unsettled.push(record.map(|r| (r.state, r.delivery)));
            }
        }
        let stats = store.stats(now_ms()).await.unwrap();
        if unsettled.is_empty() && stats.depth == 0 {
            assert_eq!(stats.dead_letters, 0, "nothing is dead-lettered");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "never quiet: {unsettled:?} depth {}",
            stats.depth
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    token.cancel();
    tasks.wait().await;
}

pub fn now_ms() -> i64 {
    SystemClock.now_ms()
}
