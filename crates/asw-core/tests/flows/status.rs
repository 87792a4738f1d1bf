//! Status inquiries: answered from the journal, refreshed from Antom while not final.

use crate::common::*;

#[tokio::test(start_paused = true)]
async fn a_pending_purchase_is_refreshed_to_approved_and_the_approval_delivered() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    // The instance that journaled it died before `pay` answered.
    h.journal_pending(&purchase).await;
    h.sleep(ms(20_000)).await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Success)]);

    let answer = h.status(h.status_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(answer.payment_id.as_deref(), Some("P-INQUIRED"));
    assert!(answer.approval_code.is_some());
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery),
        (TxnState::Approved, Handed::Sending)
    );
    assert_eq!(h.events(&prid), ["begin", "succeeded", "delivery_started"]);
    assert!(h.deadlines().is_empty());
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_pending_purchase_is_refreshed_to_declined() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    h.journal_pending(&purchase).await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Fail)]);

    let answer = h.status(h.status_req(T1, &purchase)).await;

    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            result_code: Some("USER_BALANCE_NOT_ENOUGH".into())
        }
    );
    assert_eq!(h.record(&prid).state, TxnState::Declined);
}

#[tokio::test(start_paused = true)]
async fn a_purchase_still_processing_is_unresolved_and_left_to_the_sweeper() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    h.journal_pending(&purchase).await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Processing)]);

    let answer = h.status(h.status_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(h.record(&prid).state, TxnState::Pending);
    assert!(h.queue().is_empty(), "a status inquiry cancels nothing");
    assert_eq!(h.deadlines().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_final_purchase_is_answered_from_the_journal_without_an_inquiry() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let approved = h.approved_purchase(&purchase).await;

    let answer = h.status(h.status_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(answer.approval_code, approved.approval_code);
    assert_eq!(h.upstream.total(CallKind::Inquiry), 0);
    // Said within the hand-over's settle window: counted as one more hand-over.
    let after = h.record(&purchase.payment_request_id);
    assert_eq!(
        (after.version, after.handovers, after.state),
        (approved.version + 1, 2, TxnState::Approved)
    );
}

#[tokio::test(start_paused = true)]
async fn another_terminals_purchase_is_not_found_and_nothing_is_echoed() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.journal_pending(&purchase).await;

    let answer = h.status(h.status_req(T2, &purchase)).await;

    assert_eq!(answer, Answer::refused(Refusal::OriginalNotFound));
    assert_eq!(answer.receipt_ref, None);
    assert_eq!(answer.payment_request_id, None);
    assert!(
        h.upstream.calls().is_empty(),
        "no inquiry for a payment out of scope"
    );
    assert_eq!(
        h.record(&purchase.payment_request_id).state,
        TxnState::Pending
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_payment_is_answered_like_one_out_of_scope() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);

    let answer = h.status(h.status_req(T1, &purchase)).await;

    assert_eq!(answer, Answer::refused(Refusal::OriginalNotFound));
}

#[tokio::test(start_paused = true)]
async fn an_approval_learned_too_late_to_deliver_is_withheld_and_left_watched() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    let pending = h.journal_pending(&purchase).await;
    // The gateway deadline (90 s) minus the delivery margin (2 s).
    h.sleep(ms(88_000)).await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Success)]);

    let answer = h.status(h.status_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(answer.approval_code, None);
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery),
        (TxnState::Approved, Handed::None)
    );
    assert_eq!(
        h.deadlines(),
        [(prid.as_str().to_string(), pending.gateway_deadline_ms)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_delivered_approval_is_still_approved_long_after_its_deadlines() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let approved = h.approved_purchase(&purchase).await;
    assert_eq!(approved.delivery, Handed::Sending);
    // Far past the gateway deadline: nothing cancels a delivered approval, so saying it again
    // is still true (a REST read, a late status inquiry).
    h.sleep(ms(3_600_000)).await;

    let answer = h.status(h.status_req(T1, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(answer.approval_code, approved.approval_code);
    assert_eq!(h.record(&purchase.payment_request_id), approved);
}
