//! Shared test support: the testkit's scripted Antom (with the engine tests' defaults) and
//! manual clock, a record fixture and a drain loop. Redis is real (asw-testkit).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod crash;
pub mod dying;
pub mod online;
pub mod scenario;
pub mod terminal;

use std::sync::Arc;
use std::time::Duration;

use asw_antom_sim::{SimConfig, SimHandle, Simulator};
use asw_core::ports::{
    CancelReceipt, Clock, CommitOutcome, Journal, PaymentReport, PaymentStatus, RefundReceipt,
    UpstreamOutcome,
};
use asw_core::record::{TransactionRecord, plan_change};
use asw_core::saf::SafQueue;
pub use asw_core::skew::ClockSkew;
use asw_core::state::Event;
use asw_reversal::{EngineConfig, ReversalEngine};
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
pub use asw_testkit::fakes::{CallKind, ManualClock, ScriptedUpstream};
use asw_testkit::fixtures::{NOW_MS, purchase_record};
use asw_upstream::{AntomClient, ClientGroupConfig, UpstreamSettings};

pub const NOW: i64 = NOW_MS;

/// The engine tests' clock: moved by hand and by every wait (the testkit's manual clock).
pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
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

/// Antom's answers, scripted per payment (the testkit's strict upstream). What a test does not
/// script for cancels and refunds succeeds, and inquiries report SUCCESS with the payment id
/// `PAY-<paymentRequestId>`: the engine tests script only the answers they are about. `pay` has
/// no fallback: the engine never pays, and a pay would fail the test.
pub fn upstream() -> Arc<ScriptedUpstream> {
    let upstream = ScriptedUpstream::new();
    upstream.fallback_cancel(|_| s());
    upstream.fallback_refund(|_| UpstreamOutcome::Success(RefundReceipt::default()));
    upstream.fallback_inquiry(|command| {
        UpstreamOutcome::Success(PaymentReport {
            status: PaymentStatus::Success,
            payment_id: Some(format!("PAY-{}", command.payment_request_id)),
            result_code: None,
            amount: None,
            wallet: None,
            captured: None,
            paid_with: None,
        })
    });
    Arc::new(upstream)
}

/// How many refunds with this `refundRequestId` were sent for this `paymentId`.
pub fn refunds(upstream: &ScriptedUpstream, refund_id: &str, payment_id: &str) -> usize {
    upstream
        .calls()
        .iter()
        .filter(|c| {
            c.kind == CallKind::Refund
                && c.id == refund_id
                && c.payment_id.as_deref() == Some(payment_id)
        })
        .count()
}

/// The amount of the last refund sent with this `refundRequestId`.
pub fn refunded_amount(upstream: &ScriptedUpstream, refund_id: &str) -> Option<u64> {
    upstream
        .calls()
        .iter()
        .rev()
        .find(|c| c.kind == CallKind::Refund && c.id == refund_id)
        .and_then(|c| c.amount_minor)
}

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
            upstream: upstream(),
            clock: manual_clock(),
        }
    }

    pub fn engine(&self, instance: &str) -> Arc<ReversalEngine> {
        self.engine_with(instance, engine_config(instance))
    }

    /// An engine that judges instants by this one clock exactly (no skew tolerance): the
    /// policy tests set the clock to the very instant they are about.
    pub fn engine_with(&self, instance: &str, config: EngineConfig) -> Arc<ReversalEngine> {
        self.engine_allowing(instance, config, ClockSkew::from_ms(0))
    }

    /// An engine that allows for `skew` between its clock and the ones that wrote the records
    /// (the switch's default is [`ClockSkew::default`]).
    pub fn engine_allowing(
        &self,
        _instance: &str,
        config: EngineConfig,
        skew: ClockSkew,
    ) -> Arc<ReversalEngine> {
        Arc::new(
            ReversalEngine::new(
                self.upstream.clone(),
                Arc::new(self.store.clone()),
                Arc::new(self.store.clone()),
                self.clock.clone(),
                config,
            )
            .with_clock_skew(skew),
        )
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

// ---------------------------------------------------------------------------------------------
// The Antom simulator over real HTTP, and the real client (test-only keys)

pub const CLIENT_ID: &str = "SANDBOX_5YTEST00000000000";

pub fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub async fn sim() -> SimHandle {
    sim_with(|_| {}).await
}

/// antom-sim with the test client, configured further by `tune`.
pub async fn sim_with(tune: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig::from_antom_private_key(&key("antom_private_pkcs8.pem"))
        .unwrap()
        .with_client(CLIENT_ID, &key("merchant_public.pem"))
        .unwrap();
    tune(&mut config);
    Simulator::start(config).await.unwrap()
}

pub fn client(sim: &SimHandle) -> Arc<AntomClient> {
    client_with(sim, 2_000)
}

/// The real client of `sim`, giving up on a `pay` after `pay_timeout_ms`.
pub fn client_with(sim: &SimHandle, pay_timeout_ms: u64) -> Arc<AntomClient> {
    let group = ClientGroupConfig {
        name: "default".into(),
        base_url: sim.base_url(),
        client_id: CLIENT_ID.into(),
        merchant_private_key: key("merchant_private_pkcs8.pem"),
        key_version: 1,
        antom_public_keys: vec![key("antom_public.pem")],
        agent_token: None,
    };
    let settings = UpstreamSettings {
        pay_timeout_ms,
        inquiry_payment_timeout_ms: 1_000,
        cancel_timeout_ms: 1_000,
        refund_timeout_ms: 1_000,
        connect_timeout_ms: 500,
        ..UpstreamSettings::default()
    };
    Arc::new(AntomClient::new(settings, [group]).unwrap())
}
