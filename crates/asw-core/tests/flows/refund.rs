//! The refund flow: a hold on the original first, then `refund`; U retried with the same id
//! until the response deadline, then the completion queued.

use asw_core::domain::FollowUpScope;
use asw_core::record::SafAction;

use crate::common::*;

/// Refunds are retried every `min(5 s, inquiry interval)` = 3 s with the default timing.
const RETRY_MS: i64 = 3_000;

#[tokio::test(start_paused = true)]
async fn refund_s_is_approved_and_its_hold_stays_on_the_original() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    h.upstream.script_refund(rid.as_str(), [refund_ok()]);

    let answer = h.refund(refund).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert!(answer.approval_code.is_some());
    assert_eq!(answer.refund_request_id.as_ref(), Some(&rid));
    assert_eq!(answer.refund_id.as_deref(), Some("RFD-1"));
    assert_eq!(answer.payment_request_id, None);
    let record = h.record(&rid);
    assert_eq!(record.state, TxnState::Approved);
    assert_eq!(record.payment_request_id, purchase.payment_request_id);
    let original = h.record(&purchase.payment_request_id);
    assert_eq!(original.state, TxnState::Approved);
    assert_eq!(original.refunded_minor, 400);
    assert_eq!(original.refund_holds.len(), 1);
    let call = &h.upstream.calls()[1];
    assert_eq!(
        (call.kind, call.payment_id.as_deref(), call.amount_minor),
        (CallKind::Refund, Some("P-APPROVED"), Some(400))
    );
    assert!(h.queue().is_empty());
    assert!(h.deadlines().is_empty());
}

#[tokio::test(start_paused = true)]
async fn refund_f_is_declined_and_its_hold_released() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    h.upstream
        .script_refund(rid.as_str(), [failed("REFUND_AMOUNT_EXCEED")]);

    let answer = h.refund(refund).await;

    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            result_code: Some("REFUND_AMOUNT_EXCEED".into())
        }
    );
    assert_eq!(h.record(&rid).state, TxnState::Declined);
    let original = h.record(&purchase.payment_request_id);
    assert_eq!(original.refunded_minor, 0);
    assert!(original.refund_holds.is_empty());
    assert_eq!(
        h.events(&purchase.payment_request_id),
        ["begin", "succeeded", "refund_held", "refund_released"]
    );
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn refund_u_is_retried_with_the_same_id_and_approved_within_the_window() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    h.upstream
        .script_refund(rid.as_str(), [unknown(), refund_ok()]);

    let answer = h.refund(refund).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(h.elapsed_ms(), RETRY_MS);
    assert_eq!(h.upstream.count(CallKind::Refund, rid.as_str()), 2);
    assert_eq!(h.record(&rid).state, TxnState::Approved);
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn refund_u_until_the_deadline_queues_its_completion_and_keeps_the_hold() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    // Tries at 0, 3, …, 48 s; one more would end past the 50 s response deadline.
    h.upstream
        .script_refund(rid.as_str(), std::iter::repeat_n(unknown(), 17));

    let answer = h.refund(refund).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(answer.refund_request_id.as_ref(), Some(&rid));
    assert_eq!(h.elapsed_ms(), 48_000);
    assert!(h.upstream.unused_answers().is_empty());
    let record = h.record(&rid);
    assert_eq!(record.state, TxnState::CancelPending);
    assert_eq!(h.events(&rid), ["begin", "uncertain", "cancel_requested"]);
    let queue = h.queue();
    let completion = only_entry(&queue);
    assert_eq!(
        completion.entry.action,
        SafAction::Refund {
            refund_request_id: rid.clone(),
            payment_id: Some("P-APPROVED".into()),
            amount_minor: 400,
            currency: "SGD".into(),
        }
    );
    assert_eq!(completion.entry.journal_id, rid.as_str());
    assert_eq!(h.record(&purchase.payment_request_id).refunded_minor, 400);
}

#[tokio::test(start_paused = true)]
async fn a_refund_over_what_remains_is_refused_without_calling_refund() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let first = h.refund_req(T1, 2, &purchase, 600);
    h.upstream
        .script_refund(first.refund_request_id.as_str(), [refund_ok()]);
    assert_eq!(h.refund(first).await.outcome, Outcome::Approved);
    let second = h.refund_req(T1, 3, &purchase, 401);

    let answer = h.refund(second.clone()).await;

    assert_eq!(answer, Answer::refused(Refusal::RefundExceedsPayment));
    assert_eq!(h.upstream.total(CallKind::Refund), 1);
    assert!(h.store.record(second.refund_request_id.as_str()).is_none());
    assert_eq!(h.record(&purchase.payment_request_id).refunded_minor, 600);
}

#[tokio::test(start_paused = true)]
async fn a_refund_from_a_terminal_without_refunds_is_refused() {
    let mut m1 = merchant(MERCHANT, FollowUpScope::default());
    m1.terminals[0].refunds = false;
    let h = Harness::with_merchants(vec![m1]);
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;

    let answer = h.refund(h.refund_req(T1, 2, &purchase, 400)).await;

    assert_eq!(answer, Answer::refused(Refusal::RefundsDisabled));
    assert_eq!(h.upstream.total(CallKind::Refund), 0);
    assert_eq!(h.record(&purchase.payment_request_id).refunded_minor, 0);
}

#[tokio::test(start_paused = true)]
async fn a_refund_of_a_declined_purchase_is_refused() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.declined_purchase(&purchase).await;

    let answer = h.refund(h.refund_req(T1, 2, &purchase, 400)).await;

    assert_eq!(answer, Answer::refused(Refusal::OriginalNotApproved));
    assert_eq!(h.upstream.total(CallKind::Refund), 0);
}

#[tokio::test(start_paused = true)]
async fn a_refund_of_a_voided_purchase_is_refused() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    assert_eq!(
        h.void(h.void_req(T1, &purchase)).await.outcome,
        Outcome::Accepted
    );

    let answer = h.refund(h.refund_req(T1, 2, &purchase, 400)).await;

    assert_eq!(answer, Answer::refused(Refusal::OriginalNotApproved));
    assert_eq!(h.upstream.total(CallKind::Refund), 0);
    assert_eq!(h.record(&purchase.payment_request_id).refunded_minor, 0);
}

#[tokio::test(start_paused = true)]
async fn a_refund_in_another_currency_is_refused() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let mut refund = h.refund_req(T1, 2, &purchase, 400);
    refund.currency_numeric = 840;

    let answer = h.refund(refund).await;

    assert_eq!(
        answer,
        Answer::refused(Refusal::CurrencyDiffersFromOriginal)
    );
    assert_eq!(h.record(&purchase.payment_request_id).refunded_minor, 0);
}

/// Crash between the steps: the hold is written, then the journal fails `begin`. The terminal
/// is told the store is unavailable and nothing reaches Antom; the hold stays (released only
/// when Antom declines), and a re-sent refund with the same key reuses it.
#[tokio::test(start_paused = true)]
async fn the_journal_failing_after_the_hold_keeps_it_for_the_resent_refund() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    h.store.fail_next(StoreOp::Begin, 1, Fault::Unavailable);

    let answer = h.refund(refund.clone()).await;

    assert_eq!(answer, Answer::refused(Refusal::StoreUnavailable));
    assert_eq!(h.upstream.total(CallKind::Refund), 0);
    assert!(h.store.record(rid.as_str()).is_none());
    assert_eq!(h.record(&purchase.payment_request_id).refunded_minor, 400);

    h.upstream.script_refund(rid.as_str(), [refund_ok()]);
    let again = h.refund(refund).await;

    assert_eq!(again.outcome, Outcome::Approved);
    let original = h.record(&purchase.payment_request_id);
    assert_eq!(original.refunded_minor, 400, "held once");
    assert_eq!(original.refund_holds.len(), 1);
}

/// The journal takes the refund record but its answer is lost (a master failing over): the
/// record exists, and a journaled refund is one the switch completes. Telling the terminal the
/// store was unavailable (96, "nothing done") would then be false — the chaos run on a Redis
/// Cluster found exactly that, refunded at Antom. The flow finds its own record and goes on.
#[tokio::test(start_paused = true)]
async fn a_refund_whose_begin_was_written_but_not_confirmed_goes_on_and_is_not_answered_96() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    h.store
        .fail_next(StoreOp::Begin, 1, Fault::Indeterminate { applied: true });
    h.upstream.script_refund(rid.as_str(), [refund_ok()]);

    let answer = h.refund(refund).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(h.record(&rid).state, TxnState::Approved);
    assert_eq!(h.upstream.total(CallKind::Refund), 1);
}

/// The same lost answer when nothing is there yet: that is no proof nothing will be — a Redis
/// Cluster client keeps re-sending a command after the store gave up waiting on it, and the
/// chaos run saw such a `begin` land seconds later, the refund then completed by the sweeper
/// while the terminal had been told 96. Unknown (91) is the true answer; a re-send of the same
/// refund finds out and runs it.
#[tokio::test(start_paused = true)]
async fn a_refund_whose_begin_timed_out_and_is_not_there_yet_is_unknown_not_refused() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    h.store
        .fail_next(StoreOp::Begin, 1, Fault::Indeterminate { applied: false });

    let answer = h.refund(refund.clone()).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert!(h.store.record(rid.as_str()).is_none());
    assert_eq!(h.upstream.total(CallKind::Refund), 0);

    h.upstream.script_refund(rid.as_str(), [refund_ok()]);
    let again = h.refund(refund).await;
    assert_eq!(again.outcome, Outcome::Approved);
    assert_eq!(h.upstream.total(CallKind::Refund), 1);
    assert_eq!(
        h.record(&purchase.payment_request_id).refunded_minor,
        400,
        "held once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resent_refund_replays_the_approval_without_a_second_refund_call() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    h.upstream.script_refund(rid.as_str(), [refund_ok()]);
    let first = h.refund(refund.clone()).await;

    let again = h.refund(refund).await;

    assert_eq!(again.outcome, Outcome::Approved);
    assert_eq!(again.approval_code, first.approval_code);
    assert_eq!(again.refund_request_id, first.refund_request_id);
    assert_eq!(h.upstream.count(CallKind::Refund, rid.as_str()), 1);
    assert_eq!(h.record(&purchase.payment_request_id).refunded_minor, 400);
}

/// A terminal that did not get the answer to a declined refund re-sends it (same key, same
/// content). The hold was released when Antom declined; the re-sent refund takes it again
/// (`hold_refund` runs before `begin` finds the existing record) and replays the decline. It
/// must give that hold back, or the original stays held for a refund that does not exist: a
/// void refused (`OriginalRefunded`) and less left to refund.
#[tokio::test(start_paused = true)]
async fn a_resent_declined_refund_leaves_no_hold_on_the_original() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    let prid = purchase.payment_request_id.clone();
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    h.upstream.script_refund(
        refund.refund_request_id.as_str(),
        [failed("REFUND_AMOUNT_EXCEED")],
    );
    let first = h.refund(refund.clone()).await;
    assert!(matches!(first.outcome, Outcome::Declined { .. }));

    let again = h.refund(refund).await;

    assert_eq!(again.outcome, first.outcome, "the decline is replayed");
    assert_eq!(h.upstream.total(CallKind::Refund), 1);
    let original = h.record(&prid);
    assert_eq!(
        original.refunded_minor, 0,
        "holds: {:?}",
        original.refund_holds
    );
    assert_eq!(
        h.void(h.void_req(T1, &purchase)).await.outcome,
        Outcome::Accepted
    );
}

/// The Redis Cluster client re-sends a command whose connection dropped: the refund's `begin`
/// ran, and its second run finds the record the first one wrote. That record is this request's
/// own, not a re-sent refund's: the flow runs it instead of waiting on itself as a duplicate.
#[tokio::test(start_paused = true)]
async fn a_refund_whose_begin_the_client_re_sent_runs_as_its_own() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    let refund = h.refund_req(T1, 2, &purchase, 400);
    let rid = refund.refund_request_id.clone();
    h.store.fail_next(StoreOp::Begin, 1, Fault::Resent);
    h.upstream.script_refund(rid.as_str(), [refund_ok()]);

    let answer = h.refund(refund).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(h.upstream.total(CallKind::Refund), 1);
    assert_eq!(h.record(&purchase.payment_request_id).refunded_minor, 400);
}
