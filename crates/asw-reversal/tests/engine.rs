//! Reversal engine policy against the real store and a scripted Antom.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use asw_core::ports::{
    CancelReceipt, Clock, Journal, PaymentReport, PaymentStatus, Tombstone, TombstoneOutcome,
    UpstreamOutcome,
};
use asw_core::record::{SafAction, SafEntry, fallback_refund_request_id};
use asw_core::saf::SafQueue;
use asw_core::state::{CancelReason, DeadlineWatch, Delivery, Event, TxnState};
use asw_reversal::Disposition;
use common::*;

const REVERSAL: Event = Event::CancelRequested(CancelReason::ReversalRequest);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_then_success_retries_with_the_same_cancel() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    let rec = record(1);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(
        &rec,
        &[
            Event::Uncertain,
            Event::CancelRequested(CancelReason::ResponseDeadline),
        ],
    )
    .await;
    rig.upstream
        .script_cancel(rec.payment_request_id.as_str(), vec![u(), u(), s()]);
    rig.clock.advance(10_000); // the pay call is over
    let first = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    let disposition = engine.handle(&first[0]).await.unwrap();
    let Disposition::Retried(at) = disposition else {
        panic!("{disposition:?}")
    };
    let delay = at - rig.clock.now_ms();
    assert!(
        (5_000..=10_000).contains(&delay),
        "jittered 5-10 s, got {delay}"
    );
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.load(&rec).await.state, TxnState::Cancelled);
    assert_eq!(
        rig.upstream
            .count(CallKind::Cancel, rec.payment_request_id.as_str()),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_not_exist_is_retried_until_the_payment_expired() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    let rec = record(2);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    let prid = rec.payment_request_id.as_str();
    rig.upstream
        .script_cancel(prid, vec![f("ORDER_NOT_EXIST"); 100]);
    rig.clock.advance(10_000);
    rig.drain(&engine, "e-0").await;
    let after = rig.load(&rec).await;
    assert_eq!(after.state, TxnState::Cancelled);
    assert!(rig.clock.now_ms() >= rec.payment_expiry_ms);
    let calls = rig.upstream.count(CallKind::Cancel, prid);
    // Every 5–10 s (the drain moves the clock 11 s per idle round) from +10 s to the expiry
    // at +120 s, never settled early.
    assert!(calls >= 9, "only {calls} cancels before the expiry");
    let view = rig.store.show_txn(rec.journal_id()).await.unwrap().unwrap();
    let last = view.audit.last().unwrap();
    assert!(
        last.cause
            .contains("ORDER_NOT_EXIST after the payment expiry"),
        "{last:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_not_exist_after_expiry_confirms_at_once() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    let rec = record(3);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    rig.upstream
        .script_cancel(rec.payment_request_id.as_str(), vec![f("ORDER_NOT_EXIST")]);
    rig.clock.set(rec.payment_expiry_ms + 1);
    let m = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    assert_eq!(engine.handle(&m[0]).await.unwrap(), Disposition::Settled);
    assert_eq!(rig.load(&rec).await.state, TxnState::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_window_exceeded_falls_back_to_a_stable_refund() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    // With the payment id known from the pay answer.
    let mut rec = record(4);
    rec.payment_id = Some("PAY-4".into());
    rig.store.begin(&rec).await.unwrap();
    rig.walk(
        &rec,
        &[
            Event::Succeeded,
            Event::DeliveryStarted,
            Event::DeliveryFailed,
            Event::GatewayDeadline,
        ],
    )
    .await;
    let prid = rec.payment_request_id.as_str();
    rig.upstream
        .script_cancel(prid, vec![f("CANCEL_WINDOW_EXCEED")]);
    let refund_id = fallback_refund_request_id(&rec.payment_request_id);
    rig.upstream.script_refund(
        refund_id.as_str(),
        vec![UpstreamOutcome::Unknown {
            reason: "timeout".into(),
        }],
    );
    rig.clock.advance(61_000);
    rig.drain(&engine, "e-0").await;
    let after = rig.load(&rec).await;
    assert_eq!(after.state, TxnState::Refunded);
    // Same refundRequestId on the retry.
    assert_eq!(refunds(&rig.upstream, refund_id.as_str(), "PAY-4"), 2);

    // Without a payment id: inquire first to learn it.
    let rec = record(5);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    rig.upstream.script_cancel(
        rec.payment_request_id.as_str(),
        vec![f("CANCEL_WINDOW_EXCEED")],
    );
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.load(&rec).await.state, TxnState::Refunded);
    let refund_id = fallback_refund_request_id(&rec.payment_request_id);
    assert_eq!(
        refunds(
            &rig.upstream,
            refund_id.as_str(),
            &format!("PAY-{}", rec.payment_request_id)
        ),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_refused_for_a_paid_payment_refunds_what_the_refunds_left() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    // 4.00 of the 10.00 payment was refunded before the reversal came: Antom refuses to
    // cancel a refunded payment (PROCESS_FAIL), so the engine refunds the 6.00 that remain.
    let mut rec = record(6);
    rec.refunded_minor = 400;
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    rig.upstream
        .script_cancel(rec.payment_request_id.as_str(), vec![f("PROCESS_FAIL")]);
    rig.clock.advance(10_000);
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.load(&rec).await.state, TxnState::Refunded);
    let refund_id = fallback_refund_request_id(&rec.payment_request_id);
    assert_eq!(
        refunds(
            &rig.upstream,
            refund_id.as_str(),
            &format!("PAY-{}", rec.payment_request_id)
        ),
        1
    );
    assert_eq!(
        refunded_amount(&rig.upstream, refund_id.as_str()),
        Some(600)
    );
    assert!(rig.store.list_dead(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_refused_when_the_refunds_took_everything_needs_nothing_more() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    let mut rec = record(16);
    rec.refunded_minor = rec.amount_minor;
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    rig.upstream
        .script_cancel(rec.payment_request_id.as_str(), vec![f("PROCESS_FAIL")]);
    rig.clock.advance(10_000);
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.load(&rec).await.state, TxnState::Cancelled);
    assert_eq!(rig.upstream.total(CallKind::Refund), 0);
    assert!(rig.store.list_dead(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_no_fallback_can_settle_is_dead_lettered_and_the_journal_says_failed() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    let rec = record(26);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    let prid = rec.payment_request_id.as_str();
    rig.upstream.script_cancel(prid, vec![f("PROCESS_FAIL")]);
    // Antom cannot even say what became of the payment.
    rig.upstream.script_inquiry(prid, vec![f("PROCESS_FAIL")]);
    rig.clock.advance(10_000);
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.load(&rec).await.state, TxnState::Failed);
    let dead = rig.store.list_dead(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("PROCESS_FAIL"));

    // An operator replays it; Antom now accepts. The journal keeps FAILED (the table has no
    // way out of it) but the cancel went through.
    assert!(
        rig.store
            .replay_dead(&dead[0].qualified_id())
            .await
            .unwrap()
    );
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.upstream.count(CallKind::Cancel, prid), 2);
    assert!(rig.store.list_dead(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_errors_stay_in_the_queue_until_the_maximum_age() {
    let rig = Rig::new().await;
    let mut config = engine_config("e");
    config.max_age_ms = 200_000;
    let engine = rig.engine_with("e", config);
    let rec = record(7);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    rig.upstream.script_cancel(
        rec.payment_request_id.as_str(),
        vec![f("ACCESS_DENIED"); 1000],
    );
    rig.clock.advance(10_000);
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.load(&rec).await.state, TxnState::Failed);
    assert!(
        rig.upstream
            .count(CallKind::Cancel, rec.payment_request_id.as_str())
            > 5
    );
    assert!(rig.clock.now_ms() - NOW >= 200_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_status_invalid_inquires_and_confirms_a_closed_payment() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    let rec = record(8);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    let prid = rec.payment_request_id.as_str();
    rig.upstream
        .script_cancel(prid, vec![f("ORDER_STATUS_INVALID")]);
    rig.upstream.script_inquiry(
        prid,
        vec![UpstreamOutcome::Success(PaymentReport {
            status: PaymentStatus::Cancelled,
            payment_id: None,
            result_code: None,
            amount: None,
            wallet: None,
            captured: None,
            paid_with: None,
        })],
    );
    rig.clock.advance(10_000);
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.load(&rec).await.state, TxnState::Cancelled);

    // A paid payment that cannot be cancelled is refunded instead.
    let rec = record(9);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    rig.upstream.script_cancel(
        rec.payment_request_id.as_str(),
        vec![f("ORDER_STATUS_INVALID")],
    );
    rig.drain(&engine, "e-0").await;
    assert_eq!(rig.load(&rec).await.state, TxnState::Refunded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstone_cancels_are_sent_and_acknowledged_without_a_record() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    let rec = record(10);
    let tomb = Tombstone {
        tag: rec.tag.clone(),
        dedup_key: rec.dedup_key.clone(),
        payment_request_id: rec.payment_request_id.clone(),
        created_at_ms: NOW,
    };
    let entry = SafEntry {
        action: SafAction::Cancel,
        payment_request_id: rec.payment_request_id.clone(),
        journal_id: rec.journal_id().into(),
        tag: rec.tag.clone(),
        client: "default".into(),
        reason: CancelReason::ReversalAdvice,
        enqueued_at_ms: NOW,
        not_before_ms: NOW + 5_000,
        order_may_appear_until_ms: NOW + 40_000,
        tombstone: true,
    };
    assert_eq!(
        rig.store.reverse_unseen(&tomb, &entry).await.unwrap(),
        TombstoneOutcome::Created
    );
    let prid = rec.payment_request_id.as_str();
    rig.upstream.script_cancel(
        prid,
        vec![
            u(),
            f("ORDER_NOT_EXIST"),
            f("ORDER_NOT_EXIST"),
            f("ORDER_NOT_EXIST"),
            s(),
        ],
    );
    rig.drain(&engine, "e-0").await;
    // Waited for not_before; kept retrying ORDER_NOT_EXIST until the original may no longer
    // appear; the late original is refused by its tombstone.
    let calls = rig.upstream.count(CallKind::Cancel, prid);
    assert!((3..=5).contains(&calls), "{calls}");
    assert!(
        rig.store
            .load(&rec.tag, rec.journal_id())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        rig.store.begin(&rec).await.unwrap(),
        asw_core::ports::BeginOutcome::Tombstoned
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_never_overtakes_its_pay() {
    let rig = Rig::new().await;
    let engine = rig.engine("e");
    // The pay call is still in flight (call over at +10 s): the cancel waits.
    let rec = record(11);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    let m = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    assert_eq!(
        engine.handle(&m[0]).await.unwrap(),
        Disposition::Deferred(NOW + 10_000)
    );
    assert_eq!(rig.upstream.total(CallKind::Cancel), 0);
    rig.clock.advance(9_999);
    assert_eq!(engine.promote_once().await.unwrap(), 0);
    rig.clock.advance(1);
    assert_eq!(engine.promote_once().await.unwrap(), 1);
    let m = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    assert_eq!(engine.handle(&m[0]).await.unwrap(), Disposition::Settled);
    assert_eq!(rig.upstream.total(CallKind::Cancel), 1);

    // The journal shows the call answered (the core lowered call_over_at_ms): no wait.
    let mut rec = record(12);
    rec.created_at_ms = rig.clock.now_ms();
    rec.call_over_at_ms = rig.clock.now_ms() + 10_000;
    rig.store.begin(&rec).await.unwrap();
    let mut answered = rec.clone();
    answered.call_over_at_ms = rig.clock.now_ms();
    // Simulate the core's answer handling: the record (not the queued entry) knows it.
    let change = asw_core::record::Change {
        expected_version: 1,
        record: asw_core::record::TransactionRecord {
            version: 2,
            ..answered
        },
        event: Event::Uncertain,
        cause: "pay answered U".into(),
        enqueue: None,
        deadline: DeadlineWatch::Keep,
        outbox: None,
        saved_answer: None,
    };
    rig.store.commit(&change).await.unwrap();
    let current = rig.load(&rec).await;
    rig.walk(&current, &[REVERSAL]).await;
    let m = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    assert_eq!(engine.handle(&m[0]).await.unwrap(), Disposition::Settled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_cancels_everything_not_delivered_approved_exactly_once() {
    let rig = Rig::new().await;
    let a = rig.engine("a");
    let b = rig.engine("b");
    let pending = record(20);
    let delivered = record(21);
    let undelivered = record(22);
    let declined = record(23);
    for r in [&pending, &delivered, &undelivered, &declined] {
        rig.store.begin(r).await.unwrap();
    }
    // Handed over: SENDING committed and the write succeeded (nothing more is journaled).
    rig.walk(&delivered, &[Event::Succeeded, Event::DeliveryStarted])
        .await;
    // Handed over, then the write failed: back under the sweeper's watch.
    rig.walk(
        &undelivered,
        &[
            Event::Succeeded,
            Event::DeliveryStarted,
            Event::DeliveryFailed,
        ],
    )
    .await;
    rig.walk(&declined, &[Event::Failed]).await;
    assert_eq!(
        a.sweep_once().await.unwrap(),
        0,
        "nothing is due before the deadline"
    );
    rig.clock.set(NOW + 60_000);
    let (x, y) = tokio::join!(a.sweep_once(), b.sweep_once());
    assert_eq!(x.unwrap() + y.unwrap(), 2);
    let queued = rig.store.fetch("a-0", 10, Duration::ZERO).await.unwrap();
    let mut ids: Vec<String> = queued.iter().map(|m| m.entry.journal_id.clone()).collect();
    ids.sort();
    let mut expected = vec![
        pending.journal_id().to_string(),
        undelivered.journal_id().to_string(),
    ];
    expected.sort();
    assert_eq!(ids, expected);
    for m in &queued {
        a.handle(m).await.unwrap();
    }
    assert_eq!(rig.load(&pending).await.state, TxnState::Cancelled);
    assert_eq!(rig.load(&undelivered).await.state, TxnState::Cancelled);
    let kept = rig.load(&delivered).await;
    assert_eq!(
        (kept.state, kept.delivery),
        (TxnState::Approved, Delivery::Sending)
    );
    assert_eq!(rig.load(&declined).await.state, TxnState::Declined);
    assert_eq!(rig.upstream.total(CallKind::Cancel), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_running_instances_lose_no_cancel_and_duplicate_none() {
    let rig = Rig::new().await;
    let token = tokio_util::sync::CancellationToken::new();
    // Claims only take over abandoned work: with a generous idle time (slow CI machines), live
    // handling is never stolen, so every extra cancel here would be a real duplicate.
    let patient = |instance: &str| asw_reversal::EngineConfig {
        claim_idle_ms: 10_000,
        call_timeout_ms: 3_000,
        ..common::engine_config(instance)
    };
    let a = rig
        .engine_with("inst-a", patient("inst-a"))
        .start(token.clone());
    let b = rig
        .engine_with("inst-b", patient("inst-b"))
        .start(token.clone());
    rig.clock.advance(10_000);
    let mut records = Vec::new();
    for n in 100..160 {
        let mut rec = record(n);
        rec.call_over_at_ms = NOW;
        rig.store.begin(&rec).await.unwrap();
        if n % 5 == 0 {
            // Some answers are unknown first: retried, which the rules allow.
            rig.upstream
                .script_cancel(rec.payment_request_id.as_str(), vec![u(), s()]);
        }
        rig.walk(
            &rec,
            &[Event::CancelRequested(CancelReason::ReversalAdvice)],
        )
        .await;
        records.push(rec);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut open = 0;
        for rec in &records {
            if rig.load(rec).await.state != TxnState::Cancelled {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} transactions still open"
        );
        rig.clock.advance(2_000);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    token.cancel();
    a.wait().await;
    b.wait().await;
    for (i, rec) in records.iter().enumerate() {
        let expected = if (100 + i) % 5 == 0 { 2 } else { 1 };
        assert_eq!(
            rig.upstream
                .count(CallKind::Cancel, rec.payment_request_id.as_str()),
            expected,
            "cancels for {}",
            rec.payment_request_id
        );
    }
    let stats = rig.store.stats(rig.clock.now_ms()).await.unwrap();
    assert_eq!((stats.depth, stats.dead_letters), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unscripted_default_is_success() {
    // Guards the test double's defaults (common::upstream).
    let upstream = upstream();
    use asw_core::ports::Upstream;
    let command = asw_core::ports::CancelCommand {
        client: "c".into(),
        payment_request_id: asw_core::domain::PaymentRequestId::new("x"),
    };
    assert_eq!(
        upstream.cancel(&command).await,
        UpstreamOutcome::Success(CancelReceipt::default())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_queued_while_an_instance_stops_is_claimed_at_once_by_another() {
    let rig = Rig::new().await;
    // One consumer blocking 3 s per read, and entries counted as abandoned only after 60 s:
    // without the hand-back, instance B could take A's entry only a minute later.
    let config = |instance: &str| asw_reversal::EngineConfig {
        consumers: 1,
        fetch_block_ms: 3_000,
        claim_idle_ms: 60_000,
        ..engine_config(instance)
    };
    let a = rig.engine_with("a", config("a"));
    let stop_a = tokio_util::sync::CancellationToken::new();
    let tasks_a = a.start(stop_a.clone());
    tokio::time::sleep(Duration::from_millis(500)).await; // A's read is blocked in Redis
    stop_a.cancel();
    // A cancel queued while that read is still blocked.
    let rec = record(31);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[Event::Uncertain, REVERSAL]).await;
    rig.clock.advance(10_000); // the pay call is over
    tokio::time::timeout(Duration::from_secs(10), tasks_a.wait())
        .await
        .expect("A stops within its read's block time");
    let prid = rec.payment_request_id.as_str();
    assert_eq!(
        rig.upstream.count(CallKind::Cancel, prid),
        0,
        "A stopped first"
    );

    let b = rig.engine_with("b", config("b"));
    let stop_b = tokio_util::sync::CancellationToken::new();
    let tasks_b = b.start(stop_b.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while rig.load(&rec).await.state != TxnState::Cancelled {
        assert!(
            std::time::Instant::now() < deadline,
            "B did not take over the entry A held: {:?}",
            rig.load(&rec).await.state
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rig.upstream.count(CallKind::Cancel, prid), 1);
    stop_b.cancel();
    tasks_b.wait().await;
}

// ---------------------------------------------------------------------------------------------
// Clock skew: every instant the engine judges was written by another instance's clock (or is
// judged by Antom's); it counts as passed only once it has passed on every clock within the
// tolerance (`timing.max_clock_skew_ms`, 500 ms by default).

const SKEW: i64 = asw_core::skew::ClockSkew::DEFAULT_MS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweeper_whose_clock_runs_ahead_waits_out_the_tolerance() {
    let rig = Rig::new().await;
    let engine = rig.engine_allowing("e", engine_config("e"), ClockSkew::default());
    let rec = record(40);
    rig.store.begin(&rec).await.unwrap();
    // This clock reads the deadline past by less than the tolerance: the writer's may not.
    rig.clock.set(rec.gateway_deadline_ms + SKEW - 1);
    assert_eq!(engine.sweep_once().await.unwrap(), 0, "closed early");
    rig.clock.set(rec.gateway_deadline_ms + SKEW);
    assert_eq!(engine.sweep_once().await.unwrap(), 1);
    assert_eq!(rig.load(&rec).await.state, TxnState::CancelPending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_not_exist_is_final_only_once_the_expiry_passed_on_every_clock() {
    let rig = Rig::new().await;
    let engine = rig.engine_allowing("e", engine_config("e"), ClockSkew::default());
    let rec = record(41);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    let prid = rec.payment_request_id.as_str();
    rig.upstream
        .script_cancel(prid, vec![f("ORDER_NOT_EXIST"), f("ORDER_NOT_EXIST")]);
    // Past the expiry by this clock, not by Antom's if it runs the tolerance behind.
    rig.clock.set(rec.payment_expiry_ms + SKEW - 1);
    let m = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    assert!(
        matches!(engine.handle(&m[0]).await.unwrap(), Disposition::Retried(_)),
        "the payment may still appear at Antom"
    );
    assert_eq!(rig.load(&rec).await.state, TxnState::CancelPending);
    rig.clock.set(rec.payment_expiry_ms + 60_000);
    engine.promote_once().await.unwrap();
    let m = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    assert_eq!(engine.handle(&m[0]).await.unwrap(), Disposition::Settled);
    assert_eq!(rig.load(&rec).await.state, TxnState::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_waits_until_its_pay_call_is_over_on_every_clock() {
    let rig = Rig::new().await;
    let engine = rig.engine_allowing("e", engine_config("e"), ClockSkew::default());
    let rec = record(42);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[REVERSAL]).await;
    // The pay call (over at +10 s by the writer's clock) may still be out if this clock runs
    // the tolerance ahead.
    rig.clock.set(rec.call_over_at_ms + SKEW - 1);
    let m = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    assert_eq!(
        engine.handle(&m[0]).await.unwrap(),
        Disposition::Deferred(rec.call_over_at_ms + SKEW)
    );
    assert_eq!(rig.upstream.total(CallKind::Cancel), 0);
    rig.clock.set(rec.call_over_at_ms + SKEW);
    assert_eq!(engine.promote_once().await.unwrap(), 1);
    let m = rig.store.fetch("e-0", 10, Duration::ZERO).await.unwrap();
    assert_eq!(engine.handle(&m[0]).await.unwrap(), Disposition::Settled);
    assert_eq!(rig.upstream.total(CallKind::Cancel), 1);
}
