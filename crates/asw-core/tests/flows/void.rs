//! Voids: the cancel of a whole approved payment, queued and acknowledged; refused once a
//! refund holds part of it.

use crate::common::*;

#[tokio::test(start_paused = true)]
async fn a_void_of_an_approved_purchase_is_accepted_with_a_cancel_queued() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    let approved = h.approved_purchase(&purchase).await;

    let answer = h.void(h.void_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Accepted);
    assert_eq!(answer.receipt_ref.as_deref(), Some("VOID-RECEIPT"));
    assert_eq!(answer.payment_request_id.as_ref(), Some(&prid));
    assert_eq!(answer.payment_id.as_deref(), Some("P-APPROVED"));
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::CancelPending);
    assert_eq!(record.cancel_reason, Some(CancelReason::Void));
    let queue = h.queue();
    let cancel = only_entry(&queue);
    assert!(is_cancel(cancel));
    assert_eq!(cancel.entry.reason, CancelReason::Void);
    assert_eq!(cancel.entry.journal_id, prid.as_str());
    // The pay call was answered: the cancel may leave at once.
    assert_eq!(cancel.entry.not_before_ms, approved.call_over_at_ms);
    assert_eq!(approved.call_over_at_ms, h.t0());
    assert_eq!(
        h.upstream.calls().len(),
        1,
        "the engine cancels, not the flow"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_void_is_accepted_again_without_a_second_cancel() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    assert_eq!(
        h.void(h.void_req(T1, &purchase)).await.outcome,
        Outcome::Accepted
    );

    let answer = h.void(h.void_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Accepted);
    assert_eq!(h.queue().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_void_after_a_refund_hold_is_refused_and_nothing_is_queued() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 100);
    h.upstream
        .script_refund(refund.refund_request_id.as_str(), [refund_ok()]);
    assert_eq!(h.refund(refund).await.outcome, Outcome::Approved);

    let answer = h.void(h.void_req(T1, &purchase)).await;

    assert_eq!(answer, Answer::refused(Refusal::OriginalRefunded));
    assert_eq!(h.record(&prid).state, TxnState::Approved);
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_void_of_another_amount_is_refused() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let before = h.approved_purchase(&purchase).await;
    let mut void = h.void_req(T1, &purchase);
    void.amount_minor = AMOUNT - 1;

    let answer = h.void(void).await;

    assert_eq!(answer, Answer::refused(Refusal::AmountDiffersFromOriginal));
    assert_eq!(h.record(&purchase.payment_request_id), before);
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_void_of_a_declined_purchase_is_refused() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.declined_purchase(&purchase).await;

    let answer = h.void(h.void_req(T1, &purchase)).await;

    assert_eq!(answer, Answer::refused(Refusal::OriginalDeclined));
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_void_with_the_journal_down_is_refused_as_store_unavailable() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    h.store.set_down(true);

    let answer = h.void(h.void_req(T1, &purchase)).await;

    h.store.set_down(false);
    assert_eq!(answer, Answer::refused(Refusal::StoreUnavailable));
    assert!(h.queue().is_empty());
}

/// The void's write reached Redis but its answer was lost (a master killed right after it ran),
/// and the record cannot be read back yet. The cancel may be queued: "nothing done" (96) would
/// leave the terminal counting a payment the switch is about to cancel — the chaos run on a
/// Redis Cluster found exactly that. The terminal is told the outcome is unknown (91) and
/// re-sends the void, which then finds it queued.
#[tokio::test(start_paused = true)]
async fn a_void_whose_write_is_unconfirmed_and_unreadable_is_unknown_not_refused() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    h.approved_purchase(&purchase).await;
    h.store
        .fail_next(StoreOp::Commit, 1, Fault::Indeterminate { applied: true });
    // The first load finds the original; the re-read after the commit fails.
    h.store.fail_next(StoreOp::Load, 1, Fault::Pass);
    h.store.fail_next(StoreOp::Load, 1, Fault::Unavailable);

    let answer = h.void(h.void_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(h.record(&prid).state, TxnState::CancelPending);
    let again = h.void(h.void_req(T1, &purchase)).await;
    assert_eq!(again.outcome, Outcome::Accepted);
    assert_eq!(h.queue().len(), 1, "one cancel");
}

/// Every attempt of the void's write timed out, and every re-read still shows the payment
/// approved: a timed-out write may yet land (the cluster client re-sends it), so the void's
/// outcome is unknown (91), not "nothing done" (96).
#[tokio::test(start_paused = true)]
async fn a_void_whose_writes_all_timed_out_is_unknown_not_refused() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    h.store
        .fail_next(StoreOp::Commit, 8, Fault::Indeterminate { applied: false });

    let answer = h.void(h.void_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
}
