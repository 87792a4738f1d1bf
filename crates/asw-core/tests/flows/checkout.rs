//! Online Checkout Payments (seed 001): the `pay` creates the payment and hands the merchant
//! where the buyer goes on; the result comes later; the switch closes it only after expiry.

use asw_core::domain::Origin;
use asw_core::flows::CheckoutRequest;
use asw_core::ports::{CheckoutStarted, ClosingLook, PaymentStatus, UpstreamOutcome};
use asw_core::record::{NextAction, OnlineCheckout};

use crate::common::*;

/// How long the buyer may take in these tests.
const EXPIRES_IN_MS: i64 = 600_000;

fn checkout_req(h: &Harness, n: u32, order: &str) -> CheckoutRequest {
    let mut request = h.key(T1, n);
    request.origin = Origin::rest(MERCHANT, "k1");
    CheckoutRequest {
        payment_request_id: prid_of(&request),
        request,
        amount_minor: AMOUNT,
        currency_numeric: SGD,
        reference_order_id: order.into(),
        checkout: OnlineCheckout {
            method_type: "GCASH".into(),
            terminal_type: "WEB".into(),
            os_type: None,
            return_url: "https://shop.example/return?order=o-1".into(),
            next_action: None,
            buyer: None,
            card_checks: None,
            paid_with: None,
            cancel_before_retry: false,
            capture: None,
            session: None,
        },
        expires_in_ms: Some(EXPIRES_IN_MS),
        content_digest: DIGEST.into(),
        store: None,
        description: None,
        metadata: Default::default(),
    }
}

fn awaiting(payment_id: &str) -> UpstreamOutcome<CheckoutStarted> {
    UpstreamOutcome::Success(CheckoutStarted::AwaitingBuyer {
        payment_id: Some(payment_id.into()),
        next: page(),
    })
}

fn page() -> NextAction {
    NextAction {
        url: Some("https://wallet.example/pay/P1".into()),
        applink_url: Some("https://wallet.example/app/P1".into()),
        ..NextAction::default()
    }
}

async fn run(h: &Harness, request: CheckoutRequest) -> Answer {
    let (reply, sent) = reply(Delivery::Works);
    h.core.checkout(request, reply).await;
    sent.only()
}

#[tokio::test(start_paused = true)]
async fn a_created_payment_hands_over_the_page_and_stays_open_until_after_its_expiry() {
    let h = Harness::new();
    let req = checkout_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_checkout(prid.as_str(), [awaiting("P1")]);

    let answer = run(&h, req).await;

    assert_eq!(
        answer.outcome,
        Outcome::Unresolved,
        "not paid: awaiting the buyer"
    );
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Unknown);
    assert_eq!(record.payment_id.as_deref(), Some("P1"));
    let online = record.online.expect("an online payment");
    assert_eq!(online.next_action, Some(page()), "passed on unchanged");
    assert_eq!(record.payment_expiry_ms, h.t0() + EXPIRES_IN_MS);
    assert!(
        record.gateway_deadline_ms > record.payment_expiry_ms,
        "never closed while the buyer may still pay"
    );
    assert!(h.queue().is_empty(), "nothing to cancel yet");
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_pay_is_re_sent_with_the_same_id() {
    let h = Harness::new();
    let req = checkout_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_checkout(prid.as_str(), [unknown(), unknown(), awaiting("P1")]);

    let answer = run(&h, req).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 3);
    let record = h.record(&prid);
    assert_eq!(record.online.and_then(|o| o.next_action), Some(page()));
}

#[tokio::test(start_paused = true)]
async fn a_declined_pay_is_failed_with_antoms_code() {
    let h = Harness::new();
    let req = checkout_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_checkout(prid.as_str(), [failed("USER_AMOUNT_EXCEED_LIMIT")]);

    let answer = run(&h, req).await;

    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            result_code: Some("USER_AMOUNT_EXCEED_LIMIT".into())
        }
    );
    assert_eq!(h.record(&prid).state, TxnState::Declined);
}

#[tokio::test(start_paused = true)]
async fn the_buyer_paying_is_learned_from_the_verified_notification() {
    let h = Harness::new();
    let req = checkout_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_checkout(prid.as_str(), [awaiting("P1")]);
    run(&h, req).await;

    h.core
        .apply_payment_notification(
            prid.as_str(),
            Some("P1".into()),
            Some((AMOUNT, "SGD".into())),
            None,
            None,
        )
        .await
        .expect("applied");

    assert_eq!(h.record(&prid).state, TxnState::Approved);
}

/// Seed 001: a payment not successful is paid again — also one still awaiting its buyer (who
/// may have abandoned it). The earlier attempt's cancel is queued before the new `pay`, so if
/// its buyer pays after all, that cancel takes the money back: one success per order.
#[tokio::test(start_paused = true)]
async fn a_new_attempt_of_an_order_awaiting_its_buyer_cancels_the_earlier_one_first() {
    let h = Harness::new();
    let first = checkout_req(&h, 1, "o-1");
    h.upstream
        .script_checkout(first.payment_request_id.as_str(), [awaiting("P1")]);
    run(&h, first.clone()).await;

    let second = checkout_req(&h, 2, "o-1");
    h.upstream
        .script_checkout(second.payment_request_id.as_str(), [awaiting("P2")]);
    let answer = run(&h, second.clone()).await;

    assert_eq!(
        answer.outcome,
        Outcome::Unresolved,
        "awaiting its own buyer"
    );
    let earlier = h.record(&first.payment_request_id);
    assert_eq!(earlier.state, TxnState::CancelPending);
    assert_eq!(earlier.cancel_reason, Some(CancelReason::Superseded));
    let queue = h.queue();
    let cancel = only_entry(&queue);
    assert!(is_cancel(cancel));
    assert_eq!(cancel.entry.journal_id, first.payment_request_id.as_str());
    assert_eq!(
        h.upstream
            .count(CallKind::Pay, second.payment_request_id.as_str()),
        1
    );
    // A success of the earlier attempt that lands now is not taken: its cancel wins.
    h.core
        .apply_payment_notification(
            first.payment_request_id.as_str(),
            Some("P1".into()),
            Some((AMOUNT, "SGD".into())),
            None,
            None,
        )
        .await
        .expect("applied");
    assert_eq!(
        h.record(&first.payment_request_id).state,
        TxnState::CancelPending
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_attempt_of_a_paid_order_is_refused() {
    let h = Harness::new();
    let first = checkout_req(&h, 1, "o-1");
    h.upstream
        .script_checkout(first.payment_request_id.as_str(), [awaiting("P1")]);
    run(&h, first.clone()).await;
    h.core
        .apply_payment_notification(
            first.payment_request_id.as_str(),
            Some("P1".into()),
            Some((AMOUNT, "SGD".into())),
            None,
            None,
        )
        .await
        .expect("applied");

    let second = checkout_req(&h, 2, "o-1");
    let answer = run(&h, second.clone()).await;

    assert_eq!(answer, Answer::refused(Refusal::OrderAlreadyPaid));
    assert_eq!(
        h.upstream
            .count(CallKind::Pay, second.payment_request_id.as_str()),
        0
    );
    assert_eq!(
        h.record(&first.payment_request_id).state,
        TxnState::Approved
    );
    assert!(h.queue().is_empty(), "the paid attempt is not touched");
}

#[tokio::test(start_paused = true)]
async fn a_re_sent_create_answers_the_same_page_without_a_second_pay() {
    let h = Harness::new();
    let req = checkout_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_checkout(prid.as_str(), [awaiting("P1")]);
    run(&h, req.clone()).await;

    let before = h.elapsed_ms();
    let again = run(&h, req).await;

    assert_eq!(
        h.elapsed_ms(),
        before,
        "answered at once, not after waiting"
    );
    assert_eq!(again.outcome, Outcome::Unresolved);
    assert_eq!(h.upstream.count(CallKind::Pay, prid.as_str()), 1);
    let record = again.record.expect("answered from the record");
    assert_eq!(
        record.online.clone().and_then(|o| o.next_action),
        Some(page())
    );
}

/// The merchant's cancel of a payment that expired unpaid: nothing to cancel, said at once
/// (the REST front answers 200 with the payment), nothing written, nothing queued.
#[tokio::test(start_paused = true)]
async fn a_cancel_of_an_expired_payment_has_nothing_to_cancel() {
    let h = Harness::new();
    let req = checkout_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_checkout(prid.as_str(), [awaiting("P1")]);
    run(&h, req).await;
    h.core
        .apply_payment_failure_notification(prid.as_str(), "ORDER_IS_CLOSED")
        .await
        .expect("applied");
    assert_eq!(h.record(&prid).state, TxnState::Expired);
    let version = h.record(&prid).version;

    let void = asw_core::flows::VoidRequest {
        origin: Origin::rest(MERCHANT, "k1"),
        receipt_ref: None,
        amount_minor: AMOUNT,
        original: asw_core::flows::OriginalRef {
            payment_request_id: Some(prid.to_string()),
            ..Default::default()
        },
    };
    let answer = h.void(void).await;

    assert_eq!(answer, Answer::refused(Refusal::OriginalDeclined));
    assert_eq!(h.record(&prid).version, version, "nothing written");
    assert!(h.queue().is_empty());
}

/// Seed 003 (RESTful gateway mode): at the closing time the switch inquires first. A buyer who
/// paid but whose notification was lost is reported paid, not cancelled and refunded.
#[tokio::test(start_paused = true)]
async fn the_last_look_before_closing_finds_a_buyer_who_paid_without_a_notification() {
    let h = Harness::new();
    let req = checkout_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_checkout(prid.as_str(), [awaiting("P1")]);
    run(&h, req).await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    let tag = prid.key_tag().expect("tag").to_string();
    // The closing time: the expiry and the close margin passed.
    h.sleep(ms(EXPIRES_IN_MS + timing().online_close_margin_ms))
        .await;
    let now = h.t0() + h.elapsed_ms();

    let settled = h.core.last_look(&tag, prid.as_str()).await;

    assert!(settled, "the sweeper must leave it alone");
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Approved);
    // Found paid at the closing time: the merchant gets another close margin to learn it
    // (a read, or its event) before the rule for approvals never told applies.
    assert_eq!(
        h.deadlines(),
        vec![(
            prid.as_str().to_string(),
            now + timing().online_close_margin_ms
        )]
    );
    assert!(h.queue().is_empty(), "nothing to cancel: {:?}", h.queue());
    assert_eq!(h.upstream.count(CallKind::Inquiry, prid.as_str()), 1);
}

/// Still processing (or no answer) at the closing time: the look leaves it to the sweeper,
/// which cancels it through the queue.
#[tokio::test(start_paused = true)]
async fn the_last_look_leaves_a_payment_antom_still_calls_processing_to_the_sweeper() {
    let h = Harness::new();
    let req = checkout_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_checkout(prid.as_str(), [awaiting("P1")]);
    run(&h, req).await;
    h.upstream.script_inquiry(
        prid.as_str(),
        [inquiry(PaymentStatus::Processing), unknown()],
    );
    let tag = prid.key_tag().expect("tag").to_string();

    assert!(!h.core.last_look(&tag, prid.as_str()).await);
    assert!(!h.core.last_look(&tag, prid.as_str()).await);

    assert_eq!(h.record(&prid).state, TxnState::Unknown);
    assert!(h.queue().is_empty());
}

/// Only online payments get a last look: an in-store payment past its gateway deadline is
/// cancelled by the gateway's rule without another call.
#[tokio::test(start_paused = true)]
async fn an_in_store_payment_gets_no_last_look() {
    let h = Harness::new();
    let req = h.purchase_req(1);
    let record = h.journal_pending(&req).await;
    let tag = record.tag.clone();

    assert!(!h.core.last_look(&tag, record.journal_id()).await);
    assert_eq!(h.upstream.count(CallKind::Inquiry, record.journal_id()), 0);
}

/// Seed 001: for a method whose payments cannot be refunded, the earlier attempt is cancelled
/// at Antom (`S`) before the new `pay` goes out — a cancel merely queued could meet a success
/// that no refund can take back.
#[tokio::test(start_paused = true)]
async fn a_non_refundable_attempt_is_cancelled_at_antom_before_the_new_pay() {
    let h = Harness::new();
    let mut first = checkout_req(&h, 1, "o-1");
    first.checkout.cancel_before_retry = true;
    h.upstream
        .script_checkout(first.payment_request_id.as_str(), [awaiting("P1")]);
    run(&h, first.clone()).await;
    h.upstream
        .script_cancel(first.payment_request_id.as_str(), [cancel_ok()]);

    let second = checkout_req(&h, 2, "o-1");
    h.upstream
        .script_checkout(second.payment_request_id.as_str(), [awaiting("P2")]);
    let answer = run(&h, second.clone()).await;

    assert_eq!(answer.outcome, Outcome::Unresolved, "awaiting its buyer");
    let first_id = first.payment_request_id.as_str();
    assert_eq!(h.upstream.count(CallKind::Cancel, first_id), 1);
    let calls = h.upstream.calls();
    let cancelled_at = calls
        .iter()
        .position(|c| c.kind == CallKind::Cancel && c.id == first_id)
        .expect("cancelled");
    let paid_at = calls
        .iter()
        .position(|c| c.kind == CallKind::Pay && c.id == second.payment_request_id.as_str())
        .expect("new pay");
    assert!(
        cancelled_at < paid_at,
        "cancel S before the new pay: {calls:?}"
    );
    assert!(h.record(&first.payment_request_id).state.is_reversing());
}

/// The cancel of a non-refundable attempt is not confirmed: the new attempt is refused (try
/// again later) and nothing new goes to Antom; the earlier attempt stays as it was.
#[tokio::test(start_paused = true)]
async fn a_non_refundable_attempt_whose_cancel_is_unconfirmed_keeps_the_order() {
    let h = Harness::new();
    let mut first = checkout_req(&h, 1, "o-1");
    first.checkout.cancel_before_retry = true;
    h.upstream
        .script_checkout(first.payment_request_id.as_str(), [awaiting("P1")]);
    run(&h, first.clone()).await;
    h.upstream
        .script_cancel(first.payment_request_id.as_str(), [unknown()]);

    let second = checkout_req(&h, 2, "o-1");
    let answer = run(&h, second.clone()).await;

    assert_eq!(
        answer.outcome,
        Outcome::Refused(Refusal::OrderInProgress),
        "{answer:?}"
    );
    assert_eq!(
        h.upstream
            .count(CallKind::Pay, second.payment_request_id.as_str()),
        0
    );
    assert_eq!(h.record(&first.payment_request_id).state, TxnState::Unknown);
}

/// The earlier, non-refundable attempt's success notification (sent by Antom before it took
/// the cancel) lands while that cancel is out. Antom then holds it cancelled, so the switch
/// must not keep it `APPROVED` — a merchant reading it would be told paid for money Antom gave
/// back — and the new attempt goes on.
#[tokio::test(start_paused = true)]
async fn a_success_landing_during_a_non_refundable_attempts_cancel_is_not_kept() {
    let h = std::sync::Arc::new(Harness::new());
    let mut first = checkout_req(&h, 1, "o-1");
    first.checkout.cancel_before_retry = true;
    h.upstream
        .script_checkout(first.payment_request_id.as_str(), [awaiting("P1")]);
    run(&h, first.clone()).await;
    h.upstream.script_cancel_after(
        first.payment_request_id.as_str(),
        std::time::Duration::from_millis(100),
        cancel_ok(),
    );
    let second = checkout_req(&h, 2, "o-1");
    h.upstream
        .script_checkout(second.payment_request_id.as_str(), [awaiting("P2")]);

    let running = {
        let (h, second) = (h.clone(), second.clone());
        tokio::spawn(async move { run(&h, second).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    h.core
        .apply_payment_notification(
            first.payment_request_id.as_str(),
            Some("P1".into()),
            Some((AMOUNT, "SGD".into())),
            None,
            None,
        )
        .await
        .expect("applied");
    let answer = running.await.expect("the second attempt ran");

    assert_eq!(
        answer.outcome,
        Outcome::Unresolved,
        "awaiting its buyer: {answer:?}"
    );
    let earlier = h.record(&first.payment_request_id);
    assert!(
        earlier.state.is_reversing(),
        "cancelled at Antom, so never kept paid: {:?}",
        earlier.state
    );
}
