//! Telling a REST merchant "succeeded" by an event: the approval is marked handed over first,
//! only before its closing time, and an event not acknowledged undoes only its own mark.

use asw_core::flows::{HandOver, PurchaseRequest};

use crate::common::*;

/// An approval whose answer could not be written: approved, not handed over.
async fn undelivered(h: &Harness) -> (PurchaseRequest, asw_core::record::TransactionRecord) {
    let purchase = h.purchase_req(1);
    h.upstream
        .script_pay(purchase.payment_request_id.as_str(), [pay_ok("P-1")]);
    let (reply, _) = reply(Delivery::Fails);
    h.core.purchase(purchase.clone(), reply).await;
    let record = h.record(&purchase.payment_request_id);
    assert_eq!(
        (record.state, record.delivery),
        (TxnState::Approved, Handed::Undelivered)
    );
    (purchase, record)
}

#[tokio::test(start_paused = true)]
async fn an_event_marks_an_undelivered_approval_handed_over_before_its_closing_time() {
    let h = Harness::new();
    let (purchase, record) = undelivered(&h).await;

    let verdict = h.core.hand_over_by_event(record).await.unwrap();

    assert_eq!(verdict, HandOver::MarkedNow);
    let after = h.record(&purchase.payment_request_id);
    assert_eq!(after.delivery, Handed::Sending);
    assert!(h.deadlines().is_empty(), "no longer watched by the sweeper");
    // Asked again (a redelivery) while the first may still fail: counted too.
    assert_eq!(
        h.core.hand_over_by_event(after).await.unwrap(),
        HandOver::MarkedNow
    );
    // Once the hand-over settled: already handed over, nothing to undo on failure.
    h.sleep(ms(timing().handover_settle_ms + 1_000)).await;
    assert_eq!(
        h.core
            .hand_over_by_event(h.record(&purchase.payment_request_id))
            .await
            .unwrap(),
        HandOver::AlreadyHanded
    );
}

#[tokio::test(start_paused = true)]
async fn too_near_the_closing_time_no_event_says_succeeded() {
    let h = Harness::new();
    let (purchase, record) = undelivered(&h).await;
    // The gateway deadline (90 s) minus the delivery margin (2 s).
    h.sleep(ms(88_000)).await;

    assert_eq!(
        h.core.hand_over_by_event(record).await.unwrap(),
        HandOver::TooLate
    );
    assert_eq!(
        h.record(&purchase.payment_request_id).delivery,
        Handed::Undelivered
    );
}

#[tokio::test(start_paused = true)]
async fn an_unacknowledged_event_puts_its_own_mark_back_under_the_sweeper() {
    let h = Harness::new();
    let (purchase, record) = undelivered(&h).await;
    assert_eq!(
        h.core.hand_over_by_event(record).await.unwrap(),
        HandOver::MarkedNow
    );

    h.core
        .event_not_acknowledged(h.record(&purchase.payment_request_id))
        .await;

    let after = h.record(&purchase.payment_request_id);
    assert_eq!(after.delivery, Handed::Undelivered);
    assert_eq!(
        h.deadlines().len(),
        1,
        "watched again: cancelled at the closing time"
    );
}

#[tokio::test(start_paused = true)]
async fn a_declined_payment_is_never_handed_over_by_an_event() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let declined = h.declined_purchase(&purchase).await;

    assert_eq!(
        h.core.hand_over_by_event(declined).await.unwrap(),
        HandOver::TooLate
    );
}

/// The merchant reads the payment (and is told it succeeded) while the event that marked it
/// handed over is still out; then the event fails. The read's "succeeded" must stand: the
/// failed event alone may not put the approval back under the sweeper.
#[tokio::test(start_paused = true)]
async fn a_read_while_an_event_is_out_is_not_undone_when_the_event_then_fails() {
    let h = Harness::new();
    let (purchase, record) = undelivered(&h).await;
    assert_eq!(
        h.core.hand_over_by_event(record).await.unwrap(),
        HandOver::MarkedNow
    );

    let read = h.status(h.status_req(T1, &purchase)).await;
    assert_eq!(read.outcome, Outcome::Approved, "the read says succeeded");
    h.core
        .event_not_acknowledged(h.record(&purchase.payment_request_id))
        .await;

    let after = h.record(&purchase.payment_request_id);
    assert_eq!(
        (after.state, after.delivery),
        (TxnState::Approved, Handed::Sending)
    );
    h.sleep(ms(timing().gateway_deadline_ms + 1_000)).await;
    h.sweep().await;
    assert!(h.queue().is_empty(), "nothing cancels what the read told");
    assert_eq!(
        h.record(&purchase.payment_request_id).state,
        TxnState::Approved
    );
}

/// Every hand-over failed (the event and a read whose answer could not be written): nobody was
/// told, so the approval is watched again and cancelled at its closing time.
#[tokio::test(start_paused = true)]
async fn when_every_hand_over_failed_the_approval_is_cancelled_at_its_closing_time() {
    let h = Harness::new();
    let (purchase, record) = undelivered(&h).await;
    assert_eq!(
        h.core.hand_over_by_event(record).await.unwrap(),
        HandOver::MarkedNow
    );
    let (failing, _) = reply(Delivery::Fails);
    h.core.status(h.status_req(T1, &purchase), failing).await;
    h.core
        .event_not_acknowledged(h.record(&purchase.payment_request_id))
        .await;

    assert_eq!(
        h.record(&purchase.payment_request_id).delivery,
        Handed::Undelivered
    );
    h.sleep(ms(timing().gateway_deadline_ms + 1_000)).await;
    h.sweep().await;
    assert!(is_cancel(only_entry(&h.queue())));
}

/// Long after the hand-over settled, a read says "succeeded" without writing anything: only a
/// hand-over still in flight needs its reads counted.
#[tokio::test(start_paused = true)]
async fn a_read_long_after_the_hand_over_writes_nothing() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let approved = h.approved_purchase(&purchase).await;
    h.sleep(ms(timing().handover_settle_ms + 1_000)).await;

    let read = h.status(h.status_req(T1, &purchase)).await;

    assert_eq!(read.outcome, Outcome::Approved);
    assert_eq!(
        h.record(&purchase.payment_request_id).version,
        approved.version
    );
}

/// A failure that could only be recorded after the settle window (Redis was unreachable) no
/// longer counts: a read may have said "approved" without writing by then, so the approval
/// stays handed over.
#[tokio::test(start_paused = true)]
async fn a_failure_recorded_after_the_settle_window_leaves_the_approval_handed_over() {
    let h = Harness::new();
    let (purchase, record) = undelivered(&h).await;
    assert_eq!(
        h.core.hand_over_by_event(record).await.unwrap(),
        HandOver::MarkedNow
    );
    h.sleep(ms(timing().handover_settle_ms + 1_000)).await;

    h.core
        .event_not_acknowledged(h.record(&purchase.payment_request_id))
        .await;

    assert_eq!(
        h.record(&purchase.payment_request_id).delivery,
        Handed::Sending
    );
    assert!(h.deadlines().is_empty());
}
