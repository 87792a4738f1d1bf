//! What the fakes add beyond the contract: fault injection, inspection, virtual time and the
//! scripted upstream's strictness.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use asw_core::domain::{PaymentRequestId, RefundRequestId};
use asw_core::ports::{
    CancelCommand, CancelReceipt, Clock, CommitOutcome, InquiryCommand, Journal, RefundCommand,
    RefundReceipt, StoreError, Upstream, UpstreamOutcome,
};
use asw_core::record::plan_change;
use asw_core::saf::SafQueue;
use asw_core::state::{CancelReason, Event, TxnState};
use asw_testkit::contract::NOW;
use asw_testkit::fakes::{
    CallKind, Fault, ManualClock, MemoryStore, QueuePlace, ScriptedUpstream, StoreOp,
    TEST_EPOCH_MS, UNEXPECTED_CALL, VirtualClock,
};
use asw_testkit::fixtures::purchase;

const REVERSAL: Event = Event::CancelRequested(CancelReason::ReversalRequest);

fn manual_store() -> (MemoryStore, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOW));
    (MemoryStore::new(clock.clone()), clock)
}

#[tokio::test]
async fn an_outage_writes_nothing_and_a_lost_answer_may_have_written() {
    let (store, _) = manual_store();
    let rec = purchase(1, NOW);
    store.fail_next(StoreOp::Begin, 1, Fault::Unavailable);
    assert!(matches!(
        store.begin(&rec).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(store.record(rec.journal_id()), None);
    store.begin(&rec).await.unwrap();

    // Written, then the connection broke: the change and its SAF entry are there.
    let change = plan_change(&rec, REVERSAL, NOW + 1, "t").unwrap().unwrap();
    store.fail_next(StoreOp::Commit, 1, Fault::Indeterminate { applied: true });
    assert!(matches!(
        store.commit(&change).await,
        Err(StoreError::Indeterminate(_))
    ));
    assert_eq!(store.record(rec.journal_id()), Some(change.record.clone()));
    assert_eq!(store.snapshot().queue.len(), 1);
    // Re-sending the same change is now a conflict carrying what was written.
    assert_eq!(
        store.commit(&change).await.unwrap(),
        CommitOutcome::Conflict(Some(Box::new(change.record.clone())))
    );

    // Lost before it ran: nothing.
    let other = purchase(2, NOW);
    store.fail_next(StoreOp::Begin, 1, Fault::Indeterminate { applied: false });
    assert!(store.begin(&other).await.is_err());
    assert_eq!(store.record(other.journal_id()), None);

    // A whole outage: every call fails, queued faults wait for after it.
    store.fail_next(StoreOp::Stats, 1, Fault::Unavailable);
    store.set_down(true);
    assert!(store.load(&rec.tag, rec.journal_id()).await.is_err());
    assert!(store.fetch("a", 1, Duration::ZERO).await.is_err());
    store.set_down(false);
    assert!(
        store.stats(NOW).await.is_err(),
        "the queued fault fires now"
    );
    assert_eq!(store.stats(NOW).await.unwrap().depth, 1);
    store.fail_next(StoreOp::Ack, 5, Fault::Unavailable);
    store.clear_faults();
    let held = store.fetch("a", 1, Duration::ZERO).await.unwrap();
    store.ack(&held[0]).await.unwrap();
}

#[tokio::test]
async fn the_snapshot_shows_records_index_queue_dead_letters_and_audit() {
    let (store, clock) = manual_store();
    let a = purchase(1, NOW);
    let b = purchase(2, NOW);
    store.begin(&a).await.unwrap();
    store.begin(&b).await.unwrap();
    let change = plan_change(&a, REVERSAL, NOW + 1, "reversal")
        .unwrap()
        .unwrap();
    store.commit(&change).await.unwrap();
    let snap = store.snapshot();
    assert_eq!(snap.records.len(), 2);
    assert_eq!(snap.dedup_keys[&a.dedup_key], a.journal_id());
    assert_eq!(
        snap.deadlines,
        vec![(
            b.tag.clone(),
            b.journal_id().to_string(),
            b.gateway_deadline_ms
        )]
    );
    assert_eq!(snap.queue.len(), 1);
    assert_eq!(snap.queue[0].place, QueuePlace::Ready);
    let trail: Vec<(String, String)> = store
        .audit_of(a.journal_id())
        .into_iter()
        .map(|l| (l.to, l.event))
        .collect();
    assert_eq!(
        trail,
        vec![
            ("PENDING".into(), "begin".into()),
            ("CANCEL_PENDING".into(), "cancel_requested".into())
        ]
    );

    let held = store.fetch("a", 1, Duration::ZERO).await.unwrap();
    clock.advance(1_500);
    assert_eq!(
        store.snapshot().queue[0].place,
        QueuePlace::Pending {
            consumer: "a".into(),
            idle_ms: 1_500,
            deliveries: 1
        }
    );
    store
        .retry_at(&held[0], NOW + 9_000, "U:TIMEOUT")
        .await
        .unwrap();
    let item = &store.snapshot().queue[0];
    assert_eq!(
        (&item.place, item.attempts, item.last_error.as_str()),
        (
            &QueuePlace::Delayed {
                due_at_ms: NOW + 9_000
            },
            1,
            "U:TIMEOUT"
        )
    );
    store.promote_due(NOW + 9_000, 10).await.unwrap();
    let again = store.fetch("a", 1, Duration::ZERO).await.unwrap();
    store.dead_letter(&again[0], "PROCESS_FAIL").await.unwrap();
    let dead = store.list_dead();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].dead_at_ms, NOW + 1_500, "the store's clock");
    assert_eq!(store.replay_all_dead().unwrap(), 1);
    assert!(store.snapshot().dead_letters.is_empty());
}

#[tokio::test]
async fn an_expired_record_leaves_the_deadline_index_on_the_next_sweep() {
    let (store, _) = manual_store();
    let rec = purchase(1, NOW);
    store.begin(&rec).await.unwrap();
    assert!(store.expire_record(rec.journal_id()));
    assert!(
        store
            .due_for_sweep(i64::MAX / 4, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.snapshot().deadlines.is_empty());
}

#[tokio::test(start_paused = true)]
async fn in_virtual_time_a_blocked_fetch_wakes_on_arrival_and_idle_time_is_virtual() {
    let clock = Arc::new(VirtualClock::at_test_epoch());
    let store = MemoryStore::new(clock.clone());
    let rec = purchase(1, TEST_EPOCH_MS);
    store.begin(&rec).await.unwrap();
    let reader = {
        let store = store.clone();
        tokio::spawn(async move { store.fetch("a", 10, Duration::from_secs(5)).await })
    };
    clock.sleep(Duration::from_secs(2)).await;
    let change = plan_change(&rec, REVERSAL, clock.now_ms(), "t")
        .unwrap()
        .unwrap();
    store.commit(&change).await.unwrap();
    let got = reader.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        clock.now_ms(),
        TEST_EPOCH_MS + 2_000,
        "woken by the arrival"
    );

    // Nothing arrives: the block time passes, virtually.
    let before = clock.now_ms();
    assert!(
        store
            .fetch("b", 10, Duration::from_secs(5))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(clock.now_ms(), before + 5_000);

    assert!(
        store
            .claim_stale("b", Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    clock.sleep(Duration::from_secs(55)).await;
    assert_eq!(
        store
            .claim_stale("b", Duration::from_secs(60), 10)
            .await
            .unwrap(),
        got
    );
}

fn cancel_cmd(id: &str) -> CancelCommand {
    CancelCommand {
        client: "default".into(),
        payment_request_id: PaymentRequestId::new(id),
    }
}

#[tokio::test]
async fn scripted_answers_come_in_order_and_every_call_is_recorded() {
    let upstream = ScriptedUpstream::new();
    let unknown = UpstreamOutcome::Unknown {
        reason: "U:UNKNOWN_EXCEPTION".into(),
    };
    upstream.script_cancel(
        "P1",
        [
            unknown.clone(),
            UpstreamOutcome::Success(CancelReceipt::default()),
        ],
    );
    upstream.script_refund("R1", [UpstreamOutcome::Success(RefundReceipt::default())]);
    assert_eq!(upstream.cancel(&cancel_cmd("P1")).await, unknown);
    assert_eq!(
        upstream.cancel(&cancel_cmd("P1")).await,
        UpstreamOutcome::Success(CancelReceipt::default())
    );
    let refund = RefundCommand {
        client: "default".into(),
        refund_request_id: RefundRequestId::new("R1"),
        payment_id: "PAY-1".into(),
        amount_minor: 600,
        currency: "SGD".into(),
        reason: None,
    };
    upstream.refund(&refund).await;
    assert_eq!(upstream.count(CallKind::Cancel, "P1"), 2);
    assert_eq!(upstream.total(CallKind::Refund), 1);
    let last = upstream.calls().pop().unwrap();
    assert_eq!(
        (last.payment_id.as_deref(), last.amount_minor),
        (Some("PAY-1"), Some(600))
    );
    assert!(upstream.unused_answers().is_empty());
    upstream.assert_no_unexpected_calls();

    // A fallback the test opted into answers what its queue does not.
    upstream.fallback_inquiry(|command| UpstreamOutcome::Failed {
        result_code: "ORDER_NOT_EXIST".into(),
        message: command.payment_request_id.as_str().into(),
    });
    let inquiry = InquiryCommand {
        client: "default".into(),
        payment_request_id: PaymentRequestId::new("P9"),
    };
    assert!(matches!(
        upstream.inquire_payment(&inquiry).await,
        UpstreamOutcome::Failed { message, .. } if message == "P9"
    ));
    upstream.assert_no_unexpected_calls();
}

#[tokio::test]
#[should_panic(expected = "unscripted upstream call(s): Cancel P2")]
async fn an_unscripted_call_is_unknown_and_fails_the_assertion() {
    let upstream = ScriptedUpstream::new();
    assert_eq!(
        upstream.cancel(&cancel_cmd("P2")).await,
        UpstreamOutcome::Unknown {
            reason: UNEXPECTED_CALL.into()
        }
    );
    assert_eq!(upstream.unexpected_calls().len(), 1);
    upstream.assert_no_unexpected_calls();
}

#[tokio::test]
#[should_panic(expected = "dropped after 1 unscripted call(s): Cancel P3")]
async fn dropping_an_upstream_that_saw_an_unscripted_call_fails_the_test() {
    let upstream = ScriptedUpstream::new();
    upstream.cancel(&cancel_cmd("P3")).await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_takes_virtual_time() {
    let clock = Arc::new(VirtualClock::at_test_epoch());
    let upstream = ScriptedUpstream::with_clock(clock.clone());
    upstream.script_cancel_after(
        "P4",
        Duration::from_secs(12),
        UpstreamOutcome::Success(CancelReceipt::default()),
    );
    let answer = upstream.cancel(&cancel_cmd("P4")).await;
    assert_eq!(answer, UpstreamOutcome::Success(CancelReceipt::default()));
    assert_eq!(clock.now_ms(), TEST_EPOCH_MS + 12_000);
    assert_eq!(
        upstream.calls()[0].at_ms,
        Some(TEST_EPOCH_MS),
        "stamped on arrival"
    );
    // The state table is reachable from here too: a sanity check of the fixture.
    assert_eq!(purchase(1, NOW).state, TxnState::Pending);
}
