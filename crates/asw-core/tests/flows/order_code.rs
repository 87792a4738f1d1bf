//! Merchant-presented order codes: the terminal asks for a dynamic QR, the switch answers the
//! code to display (never an approval), the terminal polls with status inquiries, and the
//! switch closes an unpaid code only after its expiry — a success that comes too late, or after
//! the close, is never told to the terminal.

use asw_core::domain::Origin;
use asw_core::flows::{OrderCodeRequest, OriginalRef, StatusInquiry};
use asw_core::ports::{Clock, PayReceipt, PaymentStatus, UpstreamOutcome};

use crate::common::*;

const QR: &str = "https://qr.example/281000000000000001";

fn order_code_req(h: &Harness, tid: &str, n: u32) -> OrderCodeRequest {
    let request = h.key(tid, n);
    OrderCodeRequest {
        payment_request_id: prid_of(&request),
        request,
        amount_minor: AMOUNT,
        currency_numeric: SGD,
        reference_order_id: None,
        content_digest: DIGEST.into(),
    }
}

/// Antom's answer to an Order Code `pay` that created the code: `S`, with the form.
fn code_created() -> UpstreamOutcome<PayReceipt> {
    UpstreamOutcome::Success(PayReceipt {
        payment_id: Some("P-OC".into()),
        order_code: Some(QR.into()),
        ..PayReceipt::default()
    })
}

async fn ask(h: &Harness, request: OrderCodeRequest) -> Answer {
    let (reply, sent) = reply(Delivery::Works);
    h.core.order_code(request, reply).await;
    sent.only()
}

fn poll_by(request: &OrderCodeRequest, mid: &str, tid: &str) -> StatusInquiry {
    StatusInquiry {
        origin: Origin::terminal(mid, tid),
        original: OriginalRef {
            payment_request_id: Some(request.payment_request_id.as_str().to_string()),
            ..OriginalRef::default()
        },
    }
}

fn poll(request: &OrderCodeRequest) -> StatusInquiry {
    poll_by(request, MERCHANT, T1)
}

fn shown_code(answer: &Answer) -> Option<String> {
    answer
        .record
        .as_ref()?
        .order_code
        .as_ref()?
        .code_value
        .clone()
}

/// One pass of the deadline sweeper (see [`Harness::sweep`]).
async fn sweep(h: &Harness) -> Vec<String> {
    h.sweep().await
}

#[tokio::test(start_paused = true)]
async fn the_code_is_displayed_then_paid_and_only_then_approved() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);

    let answer = ask(&h, req.clone()).await;

    assert_eq!(answer.outcome, Outcome::AwaitingBuyer, "shown, not paid");
    assert_eq!(answer.approval_code, None);
    assert_eq!(shown_code(&answer).as_deref(), Some(QR));
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Unknown);
    assert_eq!(record.masked_payment_code, None);
    let t = timing();
    let code = record.order_code.expect("an order code");
    assert_eq!(code.expires_at_ms, h.t0() + t.order_code_expiry_ms);
    assert_eq!(
        record.gateway_deadline_ms,
        code.expires_at_ms + t.order_code_close_margin_ms,
        "closed after the expiry, by the margin"
    );
    assert!(h.queue().is_empty(), "nothing to cancel yet");

    // The terminal polls: still waiting for the buyer.
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Processing)]);
    h.sleep(ms(5_000)).await;
    let pending = h.status(poll(&req)).await;
    assert_eq!(pending.outcome, Outcome::AwaitingBuyer);
    assert_eq!(shown_code(&pending).as_deref(), Some(QR));

    // The buyer paid: the next poll is the approval, handed over.
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    h.sleep(ms(5_000)).await;
    let paid = h.status(poll(&req)).await;
    assert_eq!(paid.outcome, Outcome::Approved);
    assert!(paid.approval_code.is_some());
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Approved);
    assert!(record.delivery.handed_to_terminal());
    assert!(
        h.deadlines().iter().all(|(id, _)| id != prid.as_str()),
        "a delivered approval is not cancelled at the deadline"
    );
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn a_code_never_paid_is_closed_after_its_expiry_never_before() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);
    ask(&h, req.clone()).await;
    let t = timing();

    // At the expiry the buyer could just have paid: nothing is due yet.
    h.sleep(ms(t.order_code_expiry_ms)).await;
    assert!(sweep(&h).await.is_empty(), "never closed before its expiry");
    h.sleep(ms(t.order_code_close_margin_ms - 1)).await;
    assert!(sweep(&h).await.is_empty());

    // At the closing time a clock within the tolerance may still read before it: not yet.
    h.sleep(ms(1)).await;
    assert!(sweep(&h).await.is_empty());
    // The last look once the closing time passed on every such clock: Antom still waits for
    // the buyer, so it is cancelled.
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Processing)]);
    h.sleep(ms(t.max_clock_skew_ms)).await;
    assert_eq!(sweep(&h).await, vec![prid.as_str().to_string()]);
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::CancelPending);
    let queue = h.queue();
    let cancel = only_entry(&queue);
    assert!(is_cancel(cancel));
    assert_eq!(cancel.entry.journal_id, prid.as_str());

    // The terminal's next poll: a decline, no code, no further call to Antom.
    let closed = h.status(poll(&req)).await;
    assert_eq!(closed.outcome, Outcome::Expired);
    assert_eq!(closed.result_text.as_deref(), Some("ORDER_CODE_EXPIRED"));
    assert_eq!(h.upstream.count(CallKind::Inquiry, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn a_success_after_the_close_is_never_approved() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);
    ask(&h, req.clone()).await;
    let t = timing();
    h.sleep(ms(t.order_code_expiry_ms
        + t.order_code_close_margin_ms
        + t.max_clock_skew_ms))
        .await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Processing)]);
    sweep(&h).await;

    // The buyer's payment lands after the close (a late notification).
    h.core
        .apply_payment_notification(
            prid.as_str(),
            Some("P-OC".into()),
            Some((AMOUNT, "SGD".into())),
            None,
            None,
        )
        .await
        .expect("applied");

    assert_eq!(h.record(&prid).state, TxnState::CancelPending);
    let answer = h.status(poll(&req)).await;
    assert_ne!(answer.outcome, Outcome::Approved);
    assert_eq!(answer.approval_code, None);
    assert!(is_cancel(only_entry(&h.queue())), "the cancel still runs");
}

#[tokio::test(start_paused = true)]
async fn a_success_learned_too_near_the_close_is_withheld_and_cancelled() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);
    ask(&h, req.clone()).await;
    let t = timing();
    let closing = h.record(&prid).gateway_deadline_ms;
    h.sleep(ms(closing - h.clock.now_ms() - t.delivery_margin_ms / 2))
        .await;

    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    let answer = h.status(poll(&req)).await;

    assert_eq!(answer.outcome, Outcome::Unresolved, "too late to say 00");
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Approved);
    assert!(!record.delivery.handed_to_terminal());
    h.sleep(ms(t.delivery_margin_ms)).await;
    sweep(&h).await;
    assert_eq!(h.record(&prid).state, TxnState::CancelPending);
    assert!(is_cancel(only_entry(&h.queue())));
}

/// Seed 003: at the closing time the switch inquires first. A buyer who paid but whose
/// notification was lost (and whose terminal has not polled since) is found paid: the terminal
/// gets another close margin to poll and be told 00; if it does not, the approval it was never
/// told is cancelled like any other.
#[tokio::test(start_paused = true)]
async fn the_last_look_finds_a_buyer_who_paid_and_gives_the_terminal_time_to_poll() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);
    ask(&h, req.clone()).await;
    let t = timing();
    h.sleep(ms(t.order_code_expiry_ms
        + t.order_code_close_margin_ms
        + t.max_clock_skew_ms))
        .await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);

    assert_eq!(sweep(&h).await, vec![prid.as_str().to_string()]);

    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Approved);
    assert!(h.queue().is_empty(), "found paid: not cancelled");
    let reopened = h.clock.now_ms() + t.order_code_close_margin_ms;
    assert_eq!(h.deadlines(), vec![(prid.as_str().to_string(), reopened)]);

    // The terminal polls within that margin: 00, handed over, never cancelled.
    h.sleep(ms(1_000)).await;
    let paid = h.status(poll(&req)).await;
    assert_eq!(paid.outcome, Outcome::Approved);
    assert!(h.deadlines().is_empty());
}

/// Not SUCCESS at the closing time — closed, failed or no answer — is cancelled through the
/// queue all the same: nothing stays open at Antom whatever it said.
#[tokio::test(start_paused = true)]
async fn anything_but_success_at_the_close_is_cancelled() {
    for last in [
        inquiry(PaymentStatus::Cancelled),
        inquiry(PaymentStatus::Fail),
        unknown(),
    ] {
        let h = Harness::new();
        let req = order_code_req(&h, T1, 1);
        let prid = req.payment_request_id.clone();
        h.upstream.script_pay(prid.as_str(), [code_created()]);
        ask(&h, req.clone()).await;
        let t = timing();
        h.sleep(ms(t.order_code_expiry_ms
            + t.order_code_close_margin_ms
            + t.max_clock_skew_ms))
            .await;
        h.upstream.script_inquiry(prid.as_str(), [last]);

        assert_eq!(sweep(&h).await, vec![prid.as_str().to_string()]);

        assert_eq!(h.record(&prid).state, TxnState::CancelPending);
        assert!(is_cancel(only_entry(&h.queue())));
        assert_eq!(h.status(poll(&req)).await.outcome, Outcome::Expired);
    }
}

#[tokio::test(start_paused = true)]
async fn a_success_found_at_the_close_but_never_polled_is_cancelled() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);
    ask(&h, req.clone()).await;
    let t = timing();
    h.sleep(ms(t.order_code_expiry_ms
        + t.order_code_close_margin_ms
        + t.max_clock_skew_ms))
        .await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    sweep(&h).await;

    h.sleep(ms(t.order_code_close_margin_ms + t.max_clock_skew_ms))
        .await;
    assert_eq!(sweep(&h).await, vec![prid.as_str().to_string()]);

    assert_eq!(h.record(&prid).state, TxnState::CancelPending);
    assert!(is_cancel(only_entry(&h.queue())));
    let answer = h.status(poll(&req)).await;
    assert_ne!(answer.outcome, Outcome::Approved, "never told 00");
}

#[tokio::test(start_paused = true)]
async fn a_reversal_cancels_the_code() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);
    ask(&h, req.clone()).await;

    let reversal = asw_core::flows::ReversalRequest {
        origin: req.request.origin.clone(),
        original: asw_core::flows::ReversedRequest {
            dedup_key: req.request.dedup_key.clone(),
            tag: req.request.tag.clone(),
            payment_request_id: prid.clone(),
        },
        amount_minor: AMOUNT,
        of_purchase: true,
        advice: true,
    };
    let answer = h.reverse(reversal).await;

    assert_eq!(answer.outcome, Outcome::Accepted);
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::CancelPending);
    assert_eq!(record.cancel_reason, Some(CancelReason::ReversalAdvice));
    assert!(is_cancel(only_entry(&h.queue())));
    let after = h.status(poll(&req)).await;
    assert_ne!(after.outcome, Outcome::Approved);
    assert_ne!(after.outcome, Outcome::AwaitingBuyer, "no longer payable");
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_gets_the_same_code_without_a_second_pay() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);
    ask(&h, req.clone()).await;

    let before = h.elapsed_ms();
    let again = ask(&h, req.clone()).await;

    assert_eq!(h.elapsed_ms(), before, "answered at once");
    assert_eq!(again.outcome, Outcome::AwaitingBuyer);
    assert_eq!(shown_code(&again).as_deref(), Some(QR));
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);

    let mut other = req.clone();
    other.content_digest = "another amount".into();
    let refused = ask(&h, other).await;
    assert_eq!(refused, Answer::refused(Refusal::DuplicateWithOtherContent));
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
}

/// A re-send while the first request's `pay` is still being retried waits for the code rather
/// than answering "unknown" (which the terminal would take for a failure and reverse).
#[tokio::test(start_paused = true)]
async fn a_duplicate_during_the_retries_waits_for_the_code() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_pay(prid.as_str(), [unknown(), code_created()]);

    let (first, again) = tokio::join!(ask(&h, req.clone()), async {
        h.sleep(ms(100)).await;
        ask(&h, req.clone()).await
    });

    for answer in [first, again] {
        assert_eq!(answer.outcome, Outcome::AwaitingBuyer);
        assert_eq!(shown_code(&answer).as_deref(), Some(QR));
    }
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 2);
}

#[tokio::test(start_paused = true)]
async fn a_code_never_created_is_cancelled_and_answered_unresolved() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    // `S` without a form is no code either: never read as paid.
    h.upstream
        .script_pay(prid.as_str(), [unknown(), pay_ok("P-NO-FORM"), unknown()]);

    let answer = ask(&h, req).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 3);
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::CancelPending);
    assert!(is_cancel(only_entry(&h.queue())));
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_pay_is_re_sent_and_the_code_shown() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_pay(prid.as_str(), [unknown(), code_created()]);

    let answer = ask(&h, req).await;

    assert_eq!(answer.outcome, Outcome::AwaitingBuyer);
    assert_eq!(shown_code(&answer).as_deref(), Some(QR));
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 2);
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refused_code_is_a_decline() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_pay(prid.as_str(), [failed("MERCHANT_NOT_REGISTERED")]);

    let answer = ask(&h, req).await;

    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            result_code: Some("MERCHANT_NOT_REGISTERED".into())
        }
    );
    assert_eq!(h.record(&prid).state, TxnState::Declined);
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn another_merchants_terminal_can_neither_see_nor_poll_it() {
    let h = Harness::new();
    let req = order_code_req(&h, T1, 1);
    let prid = req.payment_request_id.clone();
    h.upstream.script_pay(prid.as_str(), [code_created()]);
    ask(&h, req.clone()).await;

    let answer = h.status(poll_by(&req, OTHER_MERCHANT, T1)).await;

    assert_eq!(answer, Answer::refused(Refusal::OriginalNotFound));
    assert_eq!(h.upstream.count(CallKind::Inquiry, prid.as_str()), 0);
}

#[tokio::test(start_paused = true)]
async fn a_closing_time_past_the_maximum_is_cut_to_it_but_never_before_the_expiry() {
    let mut t = timing();
    t.order_code_expiry_ms = 100_000;
    t.order_code_close_margin_ms = 60_000;
    t.order_code_max_open_ms = 120_000;
    assert_eq!(t.order_code_closing(0, 100_000), 120_000);
    assert_eq!(t.order_code_closing(0, 50_000), 110_000);
    // An expiry past the maximum (a misconfiguration start-up refuses) still closes after it.
    assert_eq!(t.order_code_closing(0, 130_000), 130_000);
    t.order_code_max_open_ms = 100_000;
    assert!(
        t.problems()
            .iter()
            .any(|(key, _)| *key == "timing.order_code_max_open_ms")
    );
}
