//! The purchase flow: journal first, `pay`, inquire while unknown, cancel at the response
//! deadline; the approval delivery protocol; duplicates; store faults between the steps.

use asw_core::flows::{NotifyOutcome, WhileRunning};

use crate::common::*;

/// With the default timing: the pay call is over (for a cancel) 10 s + 2 s after the request.
const CALL_OVER_MS: i64 = 12_000;
/// The response deadline.
const RESPONSE_DEADLINE_MS: i64 = 50_000;
/// The gateway deadline (active cancellation).
const GATEWAY_DEADLINE_MS: i64 = 90_000;
/// The last moment an approval may be written: terminal timeout (60 s) minus the margin (2 s).
const SEND_BY_MS: i64 = 58_000;

#[tokio::test(start_paused = true)]
async fn pay_s_is_approved_and_marked_sending_in_one_write_with_nothing_queued() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [pay_ok("P1")]);

    let answer = h.purchase(req.clone()).await;

    let record = h.record(&prid);
    assert_eq!(answer.outcome, Outcome::Approved);
    assert!(answer.approval_code.is_some());
    assert_eq!(answer.approval_code, record.approval_code);
    assert_eq!(answer.payment_id.as_deref(), Some("P1"));
    assert_eq!(answer.receipt_ref.as_ref(), Some(&req.request.receipt_ref));
    assert_eq!(answer.payment_request_id.as_ref(), Some(&prid));
    assert_eq!(
        (record.state, record.delivery, record.version),
        (TxnState::Approved, Handed::Sending, 2)
    );
    assert_eq!(h.events(&prid), ["begin", "succeeded"]);
    assert!(h.queue().is_empty(), "no cancel for a handed-over approval");
    assert!(
        h.deadlines().is_empty(),
        "handed over: left the deadline index"
    );
    assert_eq!(h.upstream.calls().len(), 1);
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn pay_f_is_declined_with_antoms_result_code() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_pay(prid.as_str(), [failed("USER_BALANCE_NOT_ENOUGH")]);

    let answer = h.purchase(req).await;

    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            result_code: Some("USER_BALANCE_NOT_ENOUGH".into())
        }
    );
    assert_eq!(answer.approval_code, None);
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Declined);
    assert_eq!(
        record.result_code.as_deref(),
        Some("USER_BALANCE_NOT_ENOUGH")
    );
    assert!(h.queue().is_empty());
    assert!(h.deadlines().is_empty());
    assert_eq!(h.upstream.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn pay_u_then_inquiry_success_is_approved_at_the_first_poll() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [unknown()]);
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Success)]);

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(answer.payment_id.as_deref(), Some("P-INQUIRED"));
    assert_eq!(h.elapsed_ms(), timing().inquiry_interval_ms);
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery),
        (TxnState::Approved, Handed::Sending)
    );
    assert_eq!(h.events(&prid), ["begin", "uncertain", "succeeded"]);
    assert!(h.queue().is_empty());
    assert!(h.deadlines().is_empty());
    assert_eq!(h.upstream.count(CallKind::Inquiry, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn pay_u_and_processing_until_the_response_deadline_is_unresolved_with_a_cancel_queued() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [unknown()]);
    // Polls every 3 s from 3 s to 48 s; the one due at 51 s is past the deadline.
    let polls = usize::try_from(RESPONSE_DEADLINE_MS / timing().inquiry_interval_ms).unwrap();
    h.upstream.script_inquiry(
        prid.as_str(),
        std::iter::repeat_n(inquiry(Status::Processing), polls),
    );

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(answer.approval_code, None);
    assert_eq!(
        h.elapsed_ms(),
        RESPONSE_DEADLINE_MS,
        "answered at the deadline"
    );
    assert_eq!(h.upstream.count(CallKind::Inquiry, prid.as_str()), 16);
    assert!(h.upstream.unused_answers().is_empty());
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::CancelPending);
    assert_eq!(record.cancel_reason, Some(CancelReason::ResponseDeadline));
    assert_eq!(h.events(&prid), ["begin", "uncertain", "cancel_requested"]);
    // The cancel was queued by the same write that moved the record (same instant, one audit
    // line), and may not overtake the pay call.
    let queue = h.queue();
    let cancel = only_entry(&queue);
    assert!(is_cancel(cancel));
    assert_eq!(cancel.entry.journal_id, prid.as_str());
    assert_eq!(cancel.entry.reason, CancelReason::ResponseDeadline);
    assert_eq!(cancel.entry.enqueued_at_ms, record.updated_at_ms);
    assert_eq!(cancel.entry.not_before_ms, h.t0() + CALL_OVER_MS);
    assert!(!cancel.entry.tombstone);
    assert!(h.deadlines().is_empty(), "the queue owns it now");
    assert_eq!(
        h.upstream.total(CallKind::Cancel),
        0,
        "the engine cancels, not the flow"
    );
}

#[tokio::test(start_paused = true)]
async fn an_inquiry_f_other_than_order_not_exist_cancels_at_once() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [unknown()]);
    h.upstream
        .script_inquiry(prid.as_str(), [failed("ACCESS_DENIED")]);

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(
        h.elapsed_ms(),
        timing().inquiry_interval_ms,
        "no more polls"
    );
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::CancelPending);
    assert_eq!(record.cancel_reason, Some(CancelReason::InquiryFailed));
    let queue = h.queue();
    let cancel = only_entry(&queue);
    assert!(is_cancel(cancel));
    assert_eq!(cancel.entry.reason, CancelReason::InquiryFailed);
    assert_eq!(h.upstream.count(CallKind::Inquiry, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn an_inquiry_order_not_exist_keeps_polling() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [unknown()]);
    h.upstream.script_inquiry(
        prid.as_str(),
        [failed("ORDER_NOT_EXIST"), inquiry(Status::Success)],
    );

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(h.elapsed_ms(), 2 * timing().inquiry_interval_ms);
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_inquiry_fail_is_declined_with_its_result_code() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [unknown()]);
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Fail)]);

    let answer = h.purchase(req).await;

    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            result_code: Some("USER_BALANCE_NOT_ENOUGH".into())
        }
    );
    assert_eq!(h.record(&prid).state, TxnState::Declined);
    assert!(h.queue().is_empty());
    assert!(h.deadlines().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_journal_down_at_begin_refuses_without_calling_pay() {
    let h = Harness::new();
    h.store.set_down(true);

    let answer = h.purchase(h.purchase_req(1)).await;

    assert_eq!(answer, Answer::refused(Refusal::StoreUnavailable));
    assert!(
        h.upstream.calls().is_empty(),
        "nothing leaves before the journal"
    );
    let snapshot = h.store.snapshot();
    assert!(snapshot.records.is_empty());
    assert!(snapshot.queue.is_empty());
}

/// The Redis Cluster client re-sends a `begin` whose connection dropped after it ran: the second
/// run finds the record (and the order) the first one took. Both are this request's own: it is
/// paid now, not left waiting on itself as a duplicate until the sweeper cancels it.
#[tokio::test(start_paused = true)]
async fn a_purchase_whose_begin_the_client_re_sent_is_paid_as_its_own() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.store.fail_next(StoreOp::Begin, 1, Fault::Resent);
    h.upstream.script_pay(prid.as_str(), [pay_ok("P1")]);

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
    assert_eq!(h.record(&prid).state, TxnState::Approved);
}

#[tokio::test(start_paused = true)]
async fn a_failed_approval_write_marks_it_undelivered_and_back_under_the_sweepers_watch() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [pay_ok("P1")]);
    let (reply, sent) = reply(Delivery::Fails);

    h.core.purchase(req, reply).await;

    assert_eq!(
        sent.only().outcome,
        Outcome::Approved,
        "the write was attempted"
    );
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery),
        (TxnState::Approved, Handed::Undelivered)
    );
    assert_eq!(h.events(&prid), ["begin", "succeeded", "delivery_failed"]);
    assert_eq!(
        h.deadlines(),
        [(prid.as_str().to_string(), h.t0() + GATEWAY_DEADLINE_MS)]
    );
    assert!(
        h.queue().is_empty(),
        "cancelled by the sweeper at the gateway deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resent_purchase_delivers_an_approval_whose_first_write_failed() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [pay_ok("P1")]);
    let (failing, _) = reply(Delivery::Fails);
    h.core.purchase(req.clone(), failing).await;
    h.sleep(ms(5_000)).await;

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    let record = h.record(&prid);
    assert_eq!(record.delivery, Handed::Sending);
    assert!(
        h.deadlines().is_empty(),
        "handed over again: out of the index"
    );
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn an_approval_in_time_is_delivered_even_after_the_response_deadline() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_pay_after(prid.as_str(), ms(SEND_BY_MS - 1), pay_ok("P1"));

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(h.record(&prid).delivery, Handed::Sending);
}

#[tokio::test(start_paused = true)]
async fn an_approval_too_late_to_deliver_is_unresolved_and_not_handed_over() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    // Terminal timeout (60 s) minus the delivery margin (2 s): from then on, never an approval.
    h.upstream
        .script_pay_after(prid.as_str(), ms(SEND_BY_MS), pay_ok("P1"));

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(answer.approval_code, None);
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery),
        (TxnState::Approved, Handed::None)
    );
    assert_eq!(h.events(&prid), ["begin", "succeeded"]);
    assert_eq!(
        h.deadlines(),
        [(prid.as_str().to_string(), h.t0() + GATEWAY_DEADLINE_MS)],
        "still watched: the sweeper cancels it"
    );
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_while_in_flight_waits_and_replays_the_approval() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_pay_after(prid.as_str(), ms(5_000), pay_ok("P1"));
    let (first_reply, first) = reply(Delivery::Works);
    let (second_reply, second) = reply(Delivery::Works);

    tokio::join!(h.core.purchase(req.clone(), first_reply), async {
        h.sleep(ms(1_000)).await;
        h.core.purchase(req.clone(), second_reply).await;
    });

    let (first, second) = (first.only(), second.only());
    assert_eq!(first.outcome, Outcome::Approved);
    assert_eq!(second, first, "the duplicate replays the same approval");
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
    // The replay is one more hand-over, counted before it is sent: while the first one may
    // still fail, its failure alone must not un-hand what the replay told.
    let record = h.record(&prid);
    assert_eq!((record.version, record.handovers), (3, 2));
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_with_other_content_is_refused() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    let before = h.approved_purchase(&req).await;
    let mut other = req.clone();
    other.content_digest = "digest-2".into();
    other.amount_minor = 2_000;

    let answer = h.purchase(other).await;

    assert_eq!(answer, Answer::refused(Refusal::DuplicateWithOtherContent));
    assert_eq!(h.record(&prid), before);
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn a_notification_settling_between_inquiries_ends_the_polling_approved() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [unknown()]);
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Processing)]);
    let (reply, sent) = reply(Delivery::Works);

    let ((), notified) = tokio::join!(h.core.purchase(req, reply), async {
        h.sleep(ms(4_000)).await;
        h.core
            .apply_payment_notification(
                prid.as_str(),
                Some("P-NOTIFIED".into()),
                Some((AMOUNT, "SGD".into())),
                Some("GCash".into()),
                None,
            )
            .await
    });

    assert_eq!(notified, Ok(NotifyOutcome::Applied));
    let answer = sent.only();
    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(answer.payment_id.as_deref(), Some("P-NOTIFIED"));
    assert_eq!(answer.wallet.as_deref(), Some("GCash"));
    assert_eq!(h.elapsed_ms(), 2 * timing().inquiry_interval_ms);
    assert_eq!(
        h.upstream.count(CallKind::Inquiry, prid.as_str()),
        1,
        "the next poll read the journal instead"
    );
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery),
        (TxnState::Approved, Handed::Sending)
    );
    assert_eq!(
        h.events(&prid),
        ["begin", "uncertain", "succeeded", "delivery_started"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_notification_with_another_amount_is_not_applied() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.journal_pending(&req).await;

    let notified = h
        .core
        .apply_payment_notification(
            prid.as_str(),
            None,
            Some((AMOUNT + 1, "SGD".into())),
            None,
            None,
        )
        .await;

    assert_eq!(notified, Ok(NotifyOutcome::Mismatch));
    assert_eq!(h.record(&prid).state, TxnState::Pending);
}

#[tokio::test(start_paused = true)]
async fn a_failed_commit_after_pay_s_is_never_answered_approved() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [pay_ok("P1")]);
    h.store.fail_next(StoreOp::Commit, 1, Fault::Unavailable);

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(answer.approval_code, None);
    // The journal still says PENDING: the sweeper cancels it at the gateway deadline.
    let record = h.record(&prid);
    assert_eq!((record.state, record.version), (TxnState::Pending, 1));
    assert_eq!(
        h.deadlines(),
        [(prid.as_str().to_string(), h.t0() + GATEWAY_DEADLINE_MS)]
    );
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_indeterminate_but_applied_commit_is_re_read_and_the_approval_delivered() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [pay_ok("P1")]);
    h.store
        .fail_next(StoreOp::Commit, 1, Fault::Indeterminate { applied: true });

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery, record.version),
        (TxnState::Approved, Handed::Sending, 3)
    );
    // Re-read after the unsure commit, the approval is answered as any re-read one: its
    // hand-over counted (one more write) before it is sent.
    assert_eq!(
        h.events(&prid),
        ["begin", "succeeded", "delivery_started"],
        "the approval written once"
    );
    assert!(h.deadlines().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_indeterminate_unapplied_commit_is_re_read_and_written_again() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [pay_ok("P1")]);
    h.store
        .fail_next(StoreOp::Commit, 1, Fault::Indeterminate { applied: false });

    let answer = h.purchase(req).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery, record.version),
        (TxnState::Approved, Handed::Sending, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn a_purchase_of_an_unknown_terminal_is_refused_before_the_journal() {
    let h = Harness::new();
    let mut req = h.purchase_req(1);
    req.request.origin.terminal_id = "T9".into();

    let answer = h.purchase(req).await;

    assert_eq!(answer, Answer::refused(Refusal::UnknownTerminal));
    assert!(h.store.snapshot().records.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_purchase_with_a_bad_payment_code_is_refused_before_the_journal() {
    let h = Harness::new();
    let mut req = h.purchase_req(1);
    req.payment_code = asw_core::domain::PaymentCode::new("2410123456789012345");

    let answer = h.purchase(req).await;

    assert!(matches!(
        answer.outcome,
        Outcome::Refused(Refusal::InvalidPaymentCode(_))
    ));
    assert!(h.store.snapshot().records.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_write_of_a_replayed_approval_leaves_the_hand_over_standing() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.approved_purchase(&req).await;
    let (failing, sent) = reply(Delivery::Fails);

    h.core.purchase(req, failing).await;

    assert_eq!(sent.only().outcome, Outcome::Approved);
    let record = h.record(&prid);
    assert_eq!(
        record.delivery,
        Handed::Sending,
        "the first copy may be held"
    );
    assert!(h.deadlines().is_empty());
}

/// The original request's write fails (its connection is gone: the terminal re-sent the
/// purchase on a new one), but the approval was handed over by the re-sent request, whose
/// commit made the `SENDING` mark: per ARCHITECTURE ("Guarantees"), only the failure of the
/// write whose own commit made the mark may un-hand it. The purchase flow passes
/// `own_approval = true` for any approved record its polling ends with, so a `SENDING` mark
/// made by another learner (here the re-sent request, after a notification approved the
/// payment; a status inquiry does the same) reads as its own: the failed write marks the
/// approval `UNDELIVERED` and the sweeper cancels a payment the terminal was told is approved.
#[tokio::test(start_paused = true)]
async fn a_failed_original_write_does_not_un_hand_an_approval_a_resent_request_delivered() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [unknown()]);
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Processing)]);
    let (original_reply, original) = reply(Delivery::Fails);
    let (resent_reply, resent) = reply(Delivery::Works);

    tokio::join!(
        h.core.purchase(req.clone(), original_reply),
        async {
            h.sleep(ms(1_000)).await;
            h.core.purchase(req.clone(), resent_reply).await;
        },
        async {
            h.sleep(ms(4_000)).await;
            h.core
                .apply_payment_notification(
                    prid.as_str(),
                    Some("P1".into()),
                    Some((AMOUNT, "SGD".into())),
                    None,
                    None,
                )
                .await
                .unwrap();
        }
    );

    assert_eq!(resent.only().outcome, Outcome::Approved, "handed over");
    assert_eq!(
        original.only().outcome,
        Outcome::Approved,
        "write attempted"
    );
    let record = h.record(&prid);
    assert_eq!(
        (record.state, record.delivery),
        (TxnState::Approved, Handed::Sending),
        "events: {:?}",
        h.events(&prid)
    );
    assert!(h.deadlines().is_empty(), "the sweeper must not cancel it");
}

#[tokio::test(start_paused = true)]
async fn the_journal_failing_at_the_response_deadline_leaves_the_cancel_to_the_sweeper() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [unknown()]);
    h.upstream.script_inquiry(
        prid.as_str(),
        std::iter::repeat_n(inquiry(Status::Processing), 16),
    );
    let (reply, sent) = reply(Delivery::Works);

    tokio::join!(h.core.purchase(req, reply), async {
        // Just before the deadline's cancel: the journal goes away.
        h.sleep(ms(RESPONSE_DEADLINE_MS - 1)).await;
        h.store.set_down(true);
    });

    h.store.set_down(false);
    assert_eq!(sent.only().outcome, Outcome::Unresolved);
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Unknown);
    assert!(h.queue().is_empty());
    assert_eq!(
        h.deadlines(),
        [(prid.as_str().to_string(), h.t0() + GATEWAY_DEADLINE_MS)],
        "the sweeper cancels it at the gateway deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resend_asked_not_to_wait_is_refused_while_running_and_replayed_once_final() {
    let h = Harness::new();
    let mut purchase = h.purchase_req(1);
    purchase.while_running = WhileRunning::Refuse;
    let prid = purchase.payment_request_id.clone();
    h.journal_pending(&purchase).await;

    let answer = h.purchase(purchase.clone()).await;

    assert_eq!(answer, Answer::refused(Refusal::StillRunning));
    assert!(h.upstream.calls().is_empty(), "a re-send calls nothing");
    assert_eq!(h.record(&prid).state, TxnState::Pending);

    // Once the first one is final, the same request is answered from the journal.
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(Status::Success)]);
    let status = h.status(h.status_req(T1, &purchase)).await;
    assert_eq!(status.outcome, Outcome::Approved);
    let replay = h.purchase(purchase).await;
    assert_eq!(replay.outcome, Outcome::Approved);
    assert_eq!(replay.approval_code, status.approval_code);
}

/// A REST attempt of merchant order `order`, with its own idempotency key `n`.
fn rest_attempt(h: &Harness, n: u32, order: &str) -> asw_core::flows::PurchaseRequest {
    let mut request = h.purchase_req(n);
    request.request.origin = asw_core::domain::Origin::rest(MERCHANT, "k1");
    request.reference_order_id = Some(order.to_string());
    request.while_running = WhileRunning::Refuse;
    request
}

#[tokio::test(start_paused = true)]
async fn one_live_attempt_per_merchant_order_and_at_most_one_success() {
    let h = Harness::new();
    let first = rest_attempt(&h, 1, "order-7");
    h.journal_pending(&first).await;

    // In flight: another attempt of the order is refused without calling Antom.
    let second = rest_attempt(&h, 2, "order-7");
    assert_eq!(
        h.purchase(second.clone()).await,
        Answer::refused(Refusal::OrderInProgress)
    );
    assert!(h.upstream.calls().is_empty());

    // Declined: the order is free again, and the next attempt succeeds.
    h.upstream
        .script_inquiry(first.payment_request_id.as_str(), [inquiry(Status::Fail)]);
    let status = h.status(h.status_req_for(&first)).await;
    assert!(matches!(status.outcome, Outcome::Declined { .. }));
    let approved = h.approved_purchase(&second).await;
    assert_eq!(approved.state, TxnState::Approved);

    // Paid: every further attempt is refused; another order is not affected.
    assert_eq!(
        h.purchase(rest_attempt(&h, 3, "order-7")).await,
        Answer::refused(Refusal::OrderAlreadyPaid)
    );
    let other = rest_attempt(&h, 4, "order-8");
    assert_eq!(h.approved_purchase(&other).await.state, TxnState::Approved);
}

#[tokio::test(start_paused = true)]
async fn past_the_in_flight_budget_a_new_payment_is_told_to_try_again_and_nothing_is_journaled() {
    let h = Harness::with_budget(merchants(), 1);
    let first = h.purchase_req(1);
    let second = h.purchase_req(2);
    let (first_prid, second_prid) = (
        first.payment_request_id.clone(),
        second.payment_request_id.clone(),
    );
    h.upstream
        .script_pay_after(first_prid.as_str(), ms(5_000), pay_ok("P1"));

    let (first, second) = tokio::join!(h.purchase(first), async {
        h.sleep(ms(100)).await;
        h.purchase(second).await
    });

    assert_eq!(first.outcome, Outcome::Approved);
    assert_eq!(second, Answer::refused(Refusal::Busy));
    assert_eq!(h.upstream.count(CallKind::Pay, second_prid.as_str()), 0);
    assert!(
        h.store.record(second_prid.as_str()).is_none(),
        "a shed payment leaves no record: its re-send is a first transmission, never a duplicate"
    );

    // The budget is free again once the first is answered.
    let third = h.purchase_req(3);
    h.upstream
        .script_pay(third.payment_request_id.as_str(), [pay_ok("P3")]);
    assert_eq!(h.purchase(third).await.outcome, Outcome::Approved);
}

#[tokio::test(start_paused = true)]
async fn a_purchase_future_stays_small() {
    // Every terminal request allocates its flow's future and copies it when it is boxed and
    // spawned: rarely taken paths are boxed so that the happy path does not carry them. The
    // record's online details are boxed for the same reason (1 KB of a 1.7 KB record).
    // It was 35.8 KB before; the bound catches a path inlined again, not a few bytes.
    let h = Harness::new();
    let req = h.purchase_req(1);
    let (reply, _sent) = reply(Delivery::Works);
    let future = h.core.purchase(req, reply);
    let size = std::mem::size_of_val(&future);
    assert!(size <= 16 * 1024, "purchase future is {size} bytes");
    assert!(std::mem::size_of::<asw_core::record::TransactionRecord>() <= 1024);
}

#[tokio::test(start_paused = true)]
async fn the_notification_of_a_purchase_this_switch_approved_needs_no_journal_read() {
    // Every approved purchase gets Antom's SUCCESS notification; once approved, SUCCESS can
    // change nothing (the state table ignores it in every state an approval leads to), so
    // the switch that approved it answers from memory instead of a Redis round trip. The
    // journal is down for the notification here: a read would fail it.
    let h = Harness::new();
    let req = h.purchase_req(1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [pay_ok("P1")]);
    assert_eq!(h.purchase(req).await.outcome, Outcome::Approved);
    h.store.set_down(true);

    let same = h
        .core
        .apply_payment_notification(
            prid.as_str(),
            Some("P1".into()),
            Some((AMOUNT, "SGD".into())),
            None,
            None,
        )
        .await;
    let other_amount = h
        .core
        .apply_payment_notification(
            prid.as_str(),
            Some("P1".into()),
            Some((AMOUNT + 1, "SGD".into())),
            None,
            None,
        )
        .await;

    assert_eq!(same, Ok(NotifyOutcome::Ignored));
    assert_eq!(other_amount, Ok(NotifyOutcome::Mismatch));
    h.store.set_down(false);
    assert_eq!(h.record(&prid).state, TxnState::Approved);
}
