//! Reversals: a cancel queued for the original, seen or not (a tombstone then declines the
//! original when it arrives late).

use asw_core::flows::{NotifyOutcome, ReversalRequest};

use crate::common::*;

#[tokio::test(start_paused = true)]
async fn a_reversal_of_an_unseen_original_writes_a_tombstone_and_queues_its_cancel() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();

    let answer = h.reverse(h.reversal_req(&purchase)).await;

    assert_eq!(answer.outcome, Outcome::Accepted);
    assert_eq!(answer.payment_request_id, None, "nothing known to echo");
    let snapshot = h.store.snapshot();
    assert!(snapshot.records.is_empty());
    let tombstone = &snapshot.tombstones[&purchase.request.dedup_key];
    assert_eq!(tombstone.payment_request_id, prid);
    let cancel = only_entry(&snapshot.queue);
    assert!(is_cancel(cancel));
    assert!(cancel.entry.tombstone);
    assert_eq!(cancel.entry.reason, CancelReason::ReversalRequest);
    assert_eq!(cancel.entry.journal_id, prid.as_str());
    assert_eq!(cancel.entry.not_before_ms, h.t0());
    assert!(h.upstream.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_purchase_arriving_after_its_reversal_is_refused_without_calling_pay() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.reverse(h.reversal_req(&purchase)).await;
    h.sleep(ms(2_000)).await;

    let answer = h.purchase(purchase.clone()).await;

    assert_eq!(answer, Answer::refused(Refusal::ReversedBeforeArrival));
    assert!(h.upstream.calls().is_empty());
    assert!(h.store.snapshot().records.is_empty());
    assert_eq!(h.queue().len(), 1, "only the reversal's cancel");
}

#[tokio::test(start_paused = true)]
async fn a_repeated_reversal_of_an_unseen_original_queues_one_cancel() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.reverse(h.reversal_req(&purchase)).await;
    let mut advice = h.reversal_req(&purchase);
    advice.advice = true;

    let answer = h.reverse(advice).await;

    assert_eq!(answer.outcome, Outcome::Accepted);
    assert_eq!(h.queue().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_reversal_while_pay_is_in_flight_queues_the_cancel_and_the_late_success_is_ignored() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    h.upstream
        .script_pay_after(prid.as_str(), ms(5_000), pay_ok("P1"));
    let (reply, sent) = reply(Delivery::Works);

    let ((), reversal) = tokio::join!(h.core.purchase(purchase.clone(), reply), async {
        h.sleep(ms(1_000)).await;
        h.reverse(h.reversal_req(&purchase)).await
    });

    assert_eq!(reversal.outcome, Outcome::Accepted);
    assert_eq!(reversal.payment_request_id.as_ref(), Some(&prid));
    assert_eq!(sent.only().outcome, Outcome::Unresolved, "never approved");
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::CancelPending);
    assert_eq!(record.cancel_reason, Some(CancelReason::ReversalRequest));
    let queue = h.queue();
    let cancel = only_entry(&queue);
    assert!(is_cancel(cancel));
    assert!(!cancel.entry.tombstone);
    assert_eq!(
        cancel.entry.not_before_ms,
        h.t0() + timing().pay_timeout_ms + timing().call_margin_ms,
        "not before the pay call is over"
    );
    assert_eq!(h.events(&prid), ["begin", "cancel_requested"]);
}

#[tokio::test(start_paused = true)]
async fn a_reversal_cancels_even_an_approval_handed_to_the_terminal() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    h.approved_purchase(&purchase).await;

    let answer = h.reverse(h.reversal_req(&purchase)).await;

    assert_eq!(answer.outcome, Outcome::Accepted);
    assert_eq!(h.record(&prid).state, TxnState::CancelPending);
    assert!(is_cancel(only_entry(&h.queue())));
    // A notification after the cancel changes nothing.
    let late = h
        .core
        .apply_payment_notification(
            prid.as_str(),
            None,
            Some((AMOUNT, "SGD".into())),
            None,
            None,
        )
        .await;
    assert_eq!(late, Ok(NotifyOutcome::Ignored));
}

#[tokio::test(start_paused = true)]
async fn a_reversal_of_a_non_purchase_is_acknowledged_without_action() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let before = h.approved_purchase(&purchase).await;
    let reversal = ReversalRequest {
        of_purchase: false,
        ..h.reversal_req(&purchase)
    };

    let answer = h.reverse(reversal).await;

    assert_eq!(
        answer,
        Answer::bare(Outcome::Accepted, "NOT_REVERSIBLE_ACKNOWLEDGED")
    );
    assert_eq!(h.record(&purchase.payment_request_id), before);
    assert!(h.queue().is_empty());
    assert!(h.store.snapshot().tombstones.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_reversal_with_the_journal_down_is_not_acknowledged() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.store.set_down(true);

    let answer = h.reverse(h.reversal_req(&purchase)).await;

    h.store.set_down(false);
    assert_eq!(answer, Answer::refused(Refusal::StoreUnavailable));
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_reversal_advice_of_a_seen_original_queues_its_cancel_as_an_advice() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    h.approved_purchase(&purchase).await;
    let advice = ReversalRequest {
        advice: true,
        ..h.reversal_req(&purchase)
    };

    let answer = h.reverse(advice).await;

    assert_eq!(answer.outcome, Outcome::Accepted);
    assert_eq!(
        answer.receipt_ref.as_ref(),
        Some(&purchase.request.receipt_ref)
    );
    let record = h.record(&prid);
    assert_eq!(record.cancel_reason, Some(CancelReason::ReversalAdvice));
    assert_eq!(
        only_entry(&h.queue()).entry.reason,
        CancelReason::ReversalAdvice
    );
}
