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
    // Asked again (a redelivery): already handed over, nothing to undo on failure.
    assert_eq!(
        h.core.hand_over_by_event(after).await.unwrap(),
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
