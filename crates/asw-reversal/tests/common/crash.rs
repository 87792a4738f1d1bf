//! Shared pieces of the crash-point tests (`flow_crash.rs`, `online_crash.rs`, …): the switch
//! that dies (its journal is [`Dying`]) and the fresh one after it, what the requester was
//! told, the terminal's request keys, and the wait until a fresh engine is quiet.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asw_core::domain::{
    MerchantProfile, Origin, PaymentCodeRule, PaymentRequestId, TerminalProfile,
};
use asw_core::flows::{Answer, Core, CoreSettings, Reply, RequestKey, Timing, Undelivered};
use asw_core::ids::IdGenerator;
use asw_core::merchants::MerchantDirectory;
use asw_core::ports::{Clock, Journal, SystemClock, Upstream};
use asw_core::saf::SafQueue;
use asw_core::state::TxnState;
use asw_reversal::{EngineConfig, ReversalEngine};
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_upstream::AntomClient;
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::store_config;

pub use super::dying::{Dying, When, crash_points, run_until_crash};

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
        handover_settle_ms: 3_000,
        duplicate_poll_ms: 100,
        online_expiry_ms: 1_500,
        online_close_margin_ms: 800,
        online_capture_window_ms: 2_000,
        order_code_expiry_ms: 1_500,
        order_code_close_margin_ms: 800,
        order_code_max_open_ms: 10_000,
        session_expiry_ms: 1_200,
        session_method_timeout_ms: 500,
        // One clock in one process, but the tolerance still applies as the switch applies it
        // (small, so the close margins keep room to tell a buyer found paid).
        max_clock_skew_ms: 100,
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
        .with_closing_look(fresh)
        .with_clock_skew(timing().clock_skew()),
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
