//! Shared test support: a scripted stand-in for Antom's answers, a manual clock, a record
//! fixture and a drain loop. Redis is real (asw-testkit).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_core::ports::{
    CancelCommand, CancelReceipt, Clock, CommitOutcome, InquiryCommand, Journal, PayCommand,
    PayReceipt, PaymentReport, PaymentStatus, RefundCommand, RefundReceipt, Upstream,
    UpstreamOutcome,
};
use asw_core::record::{TransactionRecord, plan_change};
use asw_core::saf::SafQueue;
use asw_core::state::Event;
use asw_reversal::{EngineConfig, ReversalEngine};
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_testkit::fixtures::{NOW_MS, purchase_record};
use async_trait::async_trait;

pub const NOW: i64 = NOW_MS;

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(pub AtomicI64);

impl ManualClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(NOW)))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Virtual time: waiting moves the clock by the wait.
    async fn sleep(&self, duration: Duration) {
        self.advance(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        tokio::task::yield_now().await;
    }
}

pub fn u() -> UpstreamOutcome<CancelReceipt> {
    UpstreamOutcome::Unknown {
        reason: "U:UNKNOWN_EXCEPTION".into(),
    }
}
pub fn f<T>(code: &str) -> UpstreamOutcome<T> {
    UpstreamOutcome::Failed {
        result_code: code.into(),
        message: code.into(),
    }
}
pub fn s() -> UpstreamOutcome<CancelReceipt> {
    UpstreamOutcome::Success(CancelReceipt::default())
}

/// Antom's answers, scripted per payment; every call is recorded. Unscripted cancels and
/// refunds succeed; unscripted inquiries report SUCCESS with a payment id.
#[derive(Default)]
pub struct ScriptedUpstream {
    pub cancels: Mutex<HashMap<String, VecDeque<UpstreamOutcome<CancelReceipt>>>>,
    pub refunds: Mutex<HashMap<String, VecDeque<UpstreamOutcome<RefundReceipt>>>>,
    pub inquiries: Mutex<HashMap<String, VecDeque<UpstreamOutcome<PaymentReport>>>>,
    pub calls: Mutex<Vec<(String, String)>>,
    pub refund_amounts: Mutex<HashMap<String, u64>>,
}

impl ScriptedUpstream {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn script_cancel(&self, prid: &str, answers: Vec<UpstreamOutcome<CancelReceipt>>) {
        self.cancels
            .lock()
            .unwrap()
            .insert(prid.into(), answers.into());
    }
    pub fn script_inquiry(&self, prid: &str, answers: Vec<UpstreamOutcome<PaymentReport>>) {
        self.inquiries
            .lock()
            .unwrap()
            .insert(prid.into(), answers.into());
    }
    pub fn script_refund(&self, refund_id: &str, answers: Vec<UpstreamOutcome<RefundReceipt>>) {
        self.refunds
            .lock()
            .unwrap()
            .insert(refund_id.into(), answers.into());
    }
    /// The amount of the last refund sent with this `refundRequestId`.
    pub fn refunded_amount(&self, refund_id: &str) -> Option<u64> {
        self.refund_amounts.lock().unwrap().get(refund_id).copied()
    }
    pub fn count(&self, op: &str, id: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, i)| o == op && i == id)
            .count()
    }
    pub fn total(&self, op: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, _)| o == op)
            .count()
    }
}

#[async_trait]
impl Upstream for ScriptedUpstream {
    async fn pay(&self, _command: &PayCommand) -> UpstreamOutcome<PayReceipt> {
        UpstreamOutcome::Unknown {
            reason: "not used".into(),
        }
    }
    async fn inquire_payment(&self, command: &InquiryCommand) -> UpstreamOutcome<PaymentReport> {
        let id = command.payment_request_id.as_str().to_string();
        self.calls
            .lock()
            .unwrap()
            .push(("inquiry".into(), id.clone()));
        self.inquiries
            .lock()
            .unwrap()
            .get_mut(&id)
            .and_then(VecDeque::pop_front)
            .unwrap_or(UpstreamOutcome::Success(PaymentReport {
                status: PaymentStatus::Success,
                payment_id: Some(format!("PAY-{id}")),
                result_code: None,
                amount: None,
                wallet: None,
            }))
    }
    async fn cancel(&self, command: &CancelCommand) -> UpstreamOutcome<CancelReceipt> {
        let id = command.payment_request_id.as_str().to_string();
        self.calls
            .lock()
            .unwrap()
            .push(("cancel".into(), id.clone()));
        self.cancels
            .lock()
            .unwrap()
            .get_mut(&id)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(s)
    }
    async fn refund(&self, command: &RefundCommand) -> UpstreamOutcome<RefundReceipt> {
        let id = command.refund_request_id.as_str().to_string();
        self.calls
            .lock()
            .unwrap()
            .push(("refund".into(), format!("{id}@{}", command.payment_id)));
        self.refund_amounts
            .lock()
            .unwrap()
            .insert(id.clone(), command.amount_minor);
        self.refunds
            .lock()
            .unwrap()
            .get_mut(&id)
            .and_then(VecDeque::pop_front)
            .unwrap_or(UpstreamOutcome::Success(RefundReceipt::default()))
    }
}

/// Purchase `n` of the shared fixture, with no masked code and a two-minute expiry (the
/// engine tests move the clock past it).
pub fn record(n: u32) -> TransactionRecord {
    TransactionRecord {
        masked_payment_code: None,
        payment_expiry_ms: NOW + 120_000,
        ..purchase_record(n)
    }
}

pub fn store_config(server: &RedisServer) -> StoreConfig {
    StoreConfig {
        url: server.url(),
        command_timeout_ms: 1_000,
        sweep_lease_ms: 5_000,
        ..StoreConfig::default()
    }
}

pub fn engine_config(instance: &str) -> EngineConfig {
    EngineConfig {
        instance: instance.into(),
        consumers: 2,
        fetch_block_ms: 50,
        claim_idle_ms: 300,
        claim_interval_ms: 100,
        promote_interval_ms: 20,
        sweep_interval_ms: 20,
        call_timeout_ms: 200,
        store_retry_ms: 50,
        max_age_ms: 3_600_000,
        ..EngineConfig::default()
    }
}

pub struct Rig {
    pub server: RedisServer,
    pub store: RedisStore,
    pub upstream: Arc<ScriptedUpstream>,
    pub clock: Arc<ManualClock>,
}

impl Rig {
    pub async fn new() -> Self {
        let server = RedisServer::start().unwrap();
        let store = RedisStore::connect(store_config(&server)).await.unwrap();
        Self {
            server,
            store,
            upstream: ScriptedUpstream::new(),
            clock: ManualClock::new(),
        }
    }

    pub fn engine(&self, instance: &str) -> Arc<ReversalEngine> {
        self.engine_with(instance, engine_config(instance))
    }

    pub fn engine_with(&self, _instance: &str, config: EngineConfig) -> Arc<ReversalEngine> {
        Arc::new(ReversalEngine::new(
            self.upstream.clone(),
            Arc::new(self.store.clone()),
            Arc::new(self.store.clone()),
            self.clock.clone(),
            config,
        ))
    }

    pub async fn load(&self, rec: &TransactionRecord) -> TransactionRecord {
        self.store
            .load(&rec.tag, rec.journal_id())
            .await
            .unwrap()
            .unwrap()
    }

    /// Applies events in order through the store (as the core's flows would).
    pub async fn walk(&self, rec: &TransactionRecord, events: &[Event]) -> TransactionRecord {
        let mut current = rec.clone();
        for event in events {
            if let Some(change) =
                plan_change(&current, *event, self.clock.now_ms(), "test").unwrap()
            {
                assert_eq!(
                    self.store.commit(&change).await.unwrap(),
                    CommitOutcome::Committed
                );
                current = change.record;
            }
        }
        current
    }

    /// Runs one engine by hand until the queue is empty: sweep, promote, fetch, handle, and
    /// move the clock 11 s whenever only delayed retries are left.
    pub async fn drain(&self, engine: &ReversalEngine, consumer: &str) {
        for _ in 0..400 {
            engine.sweep_once().await.unwrap();
            engine.promote_once().await.unwrap();
            let batch = self
                .store
                .fetch(consumer, 50, Duration::ZERO)
                .await
                .unwrap();
            for message in &batch {
                engine.handle(message).await.unwrap();
            }
            let stats = self.store.stats(self.clock.now_ms()).await.unwrap();
            if stats.depth == 0 && batch.is_empty() {
                return;
            }
            if batch.is_empty() {
                self.clock.advance(11_000);
            }
        }
        panic!("queue did not drain");
    }
}
