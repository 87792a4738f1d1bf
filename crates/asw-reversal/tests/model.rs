//! Model-based property test: random interleavings of outcomes, reversals, deliveries, stale
//! commits and engine steps over several transactions, against the real store (real Redis) and
//! a small model of Antom. Once the system is quiet, the rule above all must hold for every
//! transaction: terminal approved ⇔ Antom holds SUCCESS, nothing left in flight or queued,
//! and nothing dead-lettered (every fault of the model is one the engine must get through).
//! 256 cases in the suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_core::ports::{
    CancelCommand, CancelReceipt, CaptureCommand, CaptureReceipt, CheckoutCommand, CheckoutStarted,
    Clock, CommitOutcome, InquiryCommand, Journal, PayCommand, PayReceipt, PaymentReport,
    PaymentStatus, RefundCommand, RefundReceipt, Upstream, UpstreamOutcome,
};
use asw_core::record::{TransactionRecord, plan_change};
use asw_core::saf::SafQueue;
use asw_core::state::{CancelReason, Event, TxnState};
use asw_reversal::{ReversalEngine, Settled};
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use async_trait::async_trait;
use common::{engine_config, manual_clock, record};
use proptest::prelude::*;

/// What Antom holds for one payment.
#[derive(Clone, Debug, Default)]
struct Payment {
    arrived: bool,
    paid: bool,
    cancelled: bool,
    refunded: bool,
    window_exceeded: bool,
    unknown_budget: u32,
}

#[derive(Default)]
struct ModelAntom {
    payments: Mutex<HashMap<String, Payment>>,
}

impl ModelAntom {
    fn holds_success(&self, id: &str) -> bool {
        let p = self
            .payments
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .unwrap_or_default();
        p.paid && !p.cancelled && !p.refunded
    }
    fn take_unknown(&self, id: &str) -> bool {
        let mut all = self.payments.lock().unwrap();
        let p = all.entry(id.to_string()).or_default();
        if p.unknown_budget > 0 {
            p.unknown_budget -= 1;
            true
        } else {
            false
        }
    }
}

#[async_trait]
impl Upstream for ModelAntom {
    async fn pay(&self, _: &PayCommand) -> UpstreamOutcome<PayReceipt> {
        UpstreamOutcome::Unknown {
            reason: "unused".into(),
        }
    }
    async fn checkout(&self, _: &CheckoutCommand) -> UpstreamOutcome<CheckoutStarted> {
        UpstreamOutcome::Unknown {
            reason: "unused".into(),
        }
    }
    async fn capture(&self, _: &CaptureCommand) -> UpstreamOutcome<CaptureReceipt> {
        UpstreamOutcome::Unknown {
            reason: "unused".into(),
        }
    }
    async fn inquire_payment(&self, c: &InquiryCommand) -> UpstreamOutcome<PaymentReport> {
        let id = c.payment_request_id.as_str();
        let p = self
            .payments
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .unwrap_or_default();
        let status = if p.cancelled {
            PaymentStatus::Cancelled
        } else if p.paid {
            PaymentStatus::Success
        } else {
            PaymentStatus::Fail
        };
        UpstreamOutcome::Success(PaymentReport {
            status,
            payment_id: Some(format!("PAY-{id}")),
            result_code: None,
            amount: None,
            wallet: None,
            captured: None,
            paid_with: None,
        })
    }
    async fn cancel(&self, c: &CancelCommand) -> UpstreamOutcome<CancelReceipt> {
        let id = c.payment_request_id.as_str();
        let unknown = self.take_unknown(id);
        let mut all = self.payments.lock().unwrap();
        let p = all.entry(id.to_string()).or_default();
        if !p.arrived {
            return UpstreamOutcome::Failed {
                result_code: "ORDER_NOT_EXIST".into(),
                message: String::new(),
            };
        }
        if p.paid && p.window_exceeded && !p.cancelled {
            return UpstreamOutcome::Failed {
                result_code: "CANCEL_WINDOW_EXCEED".into(),
                message: String::new(),
            };
        }
        // A U may or may not have been applied: apply it (the worse case for double effects).
        p.cancelled = true;
        if unknown {
            UpstreamOutcome::Unknown { reason: "U".into() }
        } else {
            UpstreamOutcome::Success(CancelReceipt::default())
        }
    }
    async fn refund(&self, c: &RefundCommand) -> UpstreamOutcome<RefundReceipt> {
        let id = c.payment_id.trim_start_matches("PAY-").to_string();
        let unknown = self.take_unknown(&id);
        let mut all = self.payments.lock().unwrap();
        let p = all.entry(id).or_default();
        p.refunded = true;
        if unknown {
            UpstreamOutcome::Unknown { reason: "U".into() }
        } else {
            UpstreamOutcome::Success(RefundReceipt::default())
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    /// The pay outcome reaches the switch (consistent with what Antom holds).
    Outcome,
    Uncertain,
    Reversal,
    ResponseDeadline,
    /// SENDING committed; the write to the terminal follows (and if it succeeds, nothing more
    /// is journaled).
    DeliveryStarted,
    DeliveryFailed,
    Snapshot,
    StaleCommit(u8),
    EngineStep,
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Outcome),
        1 => Just(Op::Uncertain),
        1 => Just(Op::Reversal),
        1 => Just(Op::ResponseDeadline),
        2 => Just(Op::DeliveryStarted),
        1 => Just(Op::DeliveryFailed),
        1 => Just(Op::Snapshot),
        1 => (0u8..4).prop_map(Op::StaleCommit),
        3 => Just(Op::EngineStep),
        1 => Just(Op::Tick),
    ]
}

#[derive(Clone, Debug)]
struct Scenario {
    arrived: bool,
    paid: bool,
    window_exceeded: bool,
    unknown_budget: u32,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.3),
        0u32..3,
    )
        .prop_map(
            |(arrived, paid, window_exceeded, unknown_budget)| Scenario {
                arrived,
                paid: arrived && paid,
                window_exceeded,
                unknown_budget,
            },
        )
}

#[derive(Default, Clone)]
struct World {
    delivered_approval: bool,
    handovers: u32,
    failed: u32,
    reversed: bool,
    snapshot: Option<TransactionRecord>,
}

impl World {
    /// What the terminal holds after `event` was committed and left the record in `state`.
    /// SENDING is committed right before the write: from then on the terminal holds the
    /// approval (a crash before the write is its "no answer" case, which it reverses). A
    /// committed DeliveryFailed means one write failed: the terminal holds nothing once every
    /// write marked has failed.
    fn note_committed(&mut self, event: Event, state: TxnState) {
        if state != TxnState::Approved {
            return;
        }
        // Each mark is one hand-over that may reach the terminal, each failure one that did
        // not: the terminal holds the approval unless every hand-over failed.
        match event {
            Event::DeliveryStarted => self.handovers += 1,
            Event::DeliveryFailed => self.failed = (self.failed + 1).min(self.handovers),
            _ => {}
        }
        self.delivered_approval = self.failed < self.handovers;
    }
}

const TXNS: usize = 3;

async fn run_case(
    server: &RedisServer,
    case: u64,
    scenarios: Vec<Scenario>,
    ops: Vec<(usize, Op)>,
) -> Result<(), TestCaseError> {
    let store = RedisStore::connect(StoreConfig {
        url: server.url(),
        key_prefix: format!("model{case}"),
        sweep_lease_ms: 1_000,
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    let antom = Arc::new(ModelAntom::default());
    let clock = manual_clock();
    let engine = ReversalEngine::new(
        antom.clone(),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        clock.clone(),
        engine_config("m"),
    );
    let mut records = Vec::new();
    let mut worlds = vec![World::default(); TXNS];
    for (i, sc) in scenarios.iter().enumerate() {
        let rec = record(1_000 + i as u32);
        antom.payments.lock().unwrap().insert(
            rec.payment_request_id.as_str().to_string(),
            Payment {
                arrived: sc.arrived,
                paid: sc.paid,
                window_exceeded: sc.window_exceeded,
                unknown_budget: sc.unknown_budget,
                ..Payment::default()
            },
        );
        store.begin(&rec).await.unwrap();
        records.push(rec);
    }
    for (i, op) in ops {
        let rec = &records[i];
        let (tag, id) = (rec.tag.as_str(), rec.journal_id());
        let event = match op {
            Op::Outcome => Some(if scenarios[i].paid {
                Event::Succeeded
            } else if scenarios[i].arrived {
                Event::Failed
            } else {
                Event::Uncertain
            }),
            Op::Uncertain => Some(Event::Uncertain),
            Op::Reversal => Some(Event::CancelRequested(CancelReason::ReversalAdvice)),
            Op::ResponseDeadline => Some(Event::CancelRequested(CancelReason::ResponseDeadline)),
            Op::DeliveryStarted => Some(Event::DeliveryStarted),
            Op::DeliveryFailed => Some(Event::DeliveryFailed),
            Op::Snapshot => {
                worlds[i].snapshot = store.load(tag, id).await.unwrap();
                None
            }
            Op::StaleCommit(k) => {
                if let Some(snapshot) = worlds[i].snapshot.clone() {
                    let event = [
                        Event::Uncertain,
                        Event::CancelRequested(CancelReason::ResponseDeadline),
                        Event::DeliveryFailed,
                        Event::GatewayDeadline,
                    ][usize::from(k)];
                    if let Ok(Some(change)) = plan_change(&snapshot, event, clock.now_ms(), "stale")
                    {
                        let current = store.load(tag, id).await.unwrap().unwrap();
                        let outcome = store.commit(&change).await.unwrap();
                        if current.version == snapshot.version {
                            prop_assert_eq!(outcome, CommitOutcome::Committed);
                            // Not stale after all: it is that event, and the world follows it.
                            worlds[i].note_committed(event, change.record.state);
                        } else {
                            prop_assert!(matches!(outcome, CommitOutcome::Conflict(Some(_))));
                        }
                    }
                }
                None
            }
            Op::EngineStep => {
                engine.promote_once().await.unwrap();
                for m in store.fetch("m-0", 1, Duration::ZERO).await.unwrap() {
                    engine.handle(&m).await.unwrap();
                }
                None
            }
            Op::Tick => {
                clock.advance(7_000);
                engine.sweep_once().await.unwrap();
                None
            }
        };
        if let Some(event) = event {
            if let Event::CancelRequested(reason) = event
                && reason.is_from_downstream()
            {
                worlds[i].reversed = true;
            }
            if let Settled::Committed(state, _) =
                engine.settle(tag, id, event, "model").await.unwrap()
            {
                worlds[i].note_committed(event, state);
            }
        }
    }
    // Quiet down: past every deadline and expiry; sweep, retry and drain.
    clock.set(records.iter().map(|r| r.payment_expiry_ms).max().unwrap() + 1);
    for _ in 0..200 {
        engine.sweep_once().await.unwrap();
        engine.promote_once().await.unwrap();
        let batch = store.fetch("m-0", 50, Duration::ZERO).await.unwrap();
        for m in &batch {
            engine.handle(m).await.unwrap();
        }
        if batch.is_empty() {
            if store.stats(clock.now_ms()).await.unwrap().depth == 0 {
                break;
            }
            clock.advance(11_000);
        }
    }
    let stats = store.stats(clock.now_ms()).await.unwrap();
    prop_assert_eq!(stats.depth, 0);
    prop_assert_eq!(stats.dead_letters, 0, "nothing dead-lettered");
    for (i, rec) in records.iter().enumerate() {
        let end = store
            .load(&rec.tag, rec.journal_id())
            .await
            .unwrap()
            .unwrap();
        prop_assert!(!end.state.is_in_flight(), "{:?} still in flight", end.state);
        // Every fault of this model is one the engine must get through (a few `U`s, a passed
        // cancel window): a dead letter here is the engine giving up on something it could
        // have finished, and is judged like any other failure.
        prop_assert_ne!(
            end.state,
            TxnState::Failed,
            "txn {} dead-lettered; scenario {:?}",
            i,
            scenarios[i]
        );
        let terminal_approved = worlds[i].delivered_approval && !worlds[i].reversed;
        let antom_success = antom.holds_success(rec.payment_request_id.as_str());
        prop_assert_eq!(
            terminal_approved,
            antom_success,
            "txn {} ended {:?}/{:?}; scenario {:?}",
            i,
            end.state,
            end.delivery,
            scenarios[i]
        );
    }
    Ok(())
}

#[test]
fn random_interleavings_keep_terminal_and_antom_in_agreement() {
    let server = RedisServer::start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let case = std::sync::atomic::AtomicU64::new(0);
    let config = ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        scenarios in prop::collection::vec(scenario(), TXNS),
        ops in prop::collection::vec((0..TXNS, op()), 0..40),
    )| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        runtime.block_on(run_case(&server, n, scenarios, ops))?;
    });
}
