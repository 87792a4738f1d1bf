//! Crash recovery against the Antom simulator over real HTTP (asw-antom-sim + the real
//! asw-upstream client, test-only keys): the switch dies at a crash point, a fresh engine
//! starts, and Antom's own view ends consistent with what the terminal was told.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use asw_core::domain::{Money, PaymentCode};
use asw_core::ports::{
    Clock, Journal, PayCommand, PayScenario, SystemClock, Upstream, UpstreamOutcome,
};
use asw_core::record::TransactionRecord;
use asw_core::state::{Event, TxnState};
use asw_reversal::{EngineConfig, ReversalEngine};
use asw_store::RedisStore;
use asw_testkit::RedisServer;
use asw_upstream::AntomClient;
use common::{client, record, sim, store_config};
use tokio_util::sync::CancellationToken;

/// A record whose deadlines are in real time: the engine runs on the system clock here.
fn live_record(n: u32) -> TransactionRecord {
    let now = SystemClock.now_ms();
    TransactionRecord {
        created_at_ms: now,
        updated_at_ms: now,
        call_over_at_ms: now,
        response_deadline_ms: now,
        terminal_deadline_ms: now,
        gateway_deadline_ms: now + 300,
        payment_expiry_ms: now + 1_500,
        ..record(n)
    }
}

fn pay_command(rec: &TransactionRecord) -> PayCommand {
    PayCommand {
        client: "default".into(),
        payment_request_id: rec.payment_request_id.clone(),
        amount: Money::from_numeric_currency(rec.amount_minor, 702).unwrap(),
        payment_code: Some(PaymentCode::new("281012345678901200")), // "00": paid at once
        scenario: PayScenario::PaymentCode,
        merchant: Arc::new(common::crash::merchant()),
        terminal_id: "T1".into(),
        terminal_request_time: time::OffsetDateTime::now_utc(),
        reference_order_id: None,
        order_description: "test purchase".into(),
        notify_url: None,
        payment_expiry: None,
    }
}

async fn recover(store: &RedisStore, upstream: Arc<AntomClient>, records: &[&TransactionRecord]) {
    let config = EngineConfig {
        instance: "fresh".into(),
        fetch_block_ms: 50,
        claim_idle_ms: 5_000,
        promote_interval_ms: 20,
        sweep_interval_ms: 20,
        call_timeout_ms: 3_000,
        store_retry_ms: 50,
        fast_retry_min_ms: 100,
        fast_retry_max_ms: 200,
        ..EngineConfig::default()
    };
    let engine = Arc::new(ReversalEngine::new(
        upstream,
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(SystemClock),
        config,
    ));
    let token = CancellationToken::new();
    let tasks = engine.start(token.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    'wait: loop {
        for rec in records {
            let state = store
                .load(&rec.tag, rec.journal_id())
                .await
                .unwrap()
                .unwrap()
                .state;
            if state != TxnState::Cancelled {
                assert!(std::time::Instant::now() < deadline, "stuck in {state:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue 'wait;
            }
        }
        break;
    }
    token.cancel();
    tasks.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_simulator_an_undelivered_approval_ends_cancelled_at_antom() {
    let server = RedisServer::start().unwrap();
    let store = RedisStore::connect(store_config(&server)).await.unwrap();
    let sim = sim().await;
    let upstream = client(&sim);
    let rec = live_record(1);
    store.begin(&rec).await.unwrap();
    // pay reaches Antom and succeeds; the switch journals it, starts delivering, and dies.
    let paid = upstream.pay(&pay_command(&rec)).await;
    assert!(matches!(paid, UpstreamOutcome::Success(_)), "{paid:?}");
    assert_eq!(
        sim.payment(rec.payment_request_id.as_str()).unwrap().status,
        "SUCCESS"
    );
    let rig = common::Rig {
        server,
        store: store.clone(),
        upstream: common::upstream(),
        clock: common::manual_clock(),
    };
    rig.clock.set(SystemClock.now_ms());
    // The write of the approval failed (connection gone): undelivered.
    rig.walk(
        &rec,
        &[
            Event::Succeeded,
            Event::DeliveryStarted,
            Event::DeliveryFailed,
        ],
    )
    .await;

    recover(&store, upstream, &[&rec]).await;
    let at_antom = sim.payment(rec.payment_request_id.as_str()).unwrap();
    assert_eq!(at_antom.status, "CANCELLED");
    assert!(
        at_antom.cancelled_after_success,
        "the paid payment was reversed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_simulator_a_pay_that_never_left_is_closed_without_a_payment() {
    let server = RedisServer::start().unwrap();
    let store = RedisStore::connect(store_config(&server)).await.unwrap();
    let sim = sim().await;
    let upstream = client(&sim);
    // Journaled, then the process died before `pay` left.
    let rec = live_record(2);
    store.begin(&rec).await.unwrap();
    recover(&store, upstream, &[&rec]).await;
    // ORDER_NOT_EXIST was retried until the payment could no longer appear, then settled.
    assert!(sim.payment(rec.payment_request_id.as_str()).is_none());
    let cancels = sim
        .calls()
        .iter()
        .filter(|c| format!("{c:?}").contains("cancel"))
        .count();
    assert!(
        cancels >= 2,
        "ORDER_NOT_EXIST must be retried before the expiry ({cancels})"
    );
}
