//! Checkout Page sessions (seed 002): `createPaymentSession` makes the page; the buyer picks
//! the method there; the result comes by notification or inquiry; `U` or no answer makes the
//! attempt dead at once (the next session is a new attempt with a new `paymentRequestId`);
//! the switch closes the payment only after the session's expiry plus the method's timeout.

use asw_core::domain::Origin;
use asw_core::flows::{NotifyOutcome, SessionRequest, session_not_created};
use asw_core::ports::{
    CaptureReceipt, PaymentReport, PaymentStatus, SessionCreated, UpstreamOutcome,
};
use asw_core::record::{BuyerDetails, CaptureMode, OnlineCheckout, PaidWith};

use crate::common::*;

/// How long the page takes payments in these tests.
const SESSION_MS: i64 = 1_800_000;

fn session_req(h: &Harness, n: u32, order: &str) -> SessionRequest {
    let mut request = h.key(T1, n);
    request.origin = Origin::rest(MERCHANT, "k1");
    SessionRequest {
        payment_request_id: prid_of(&request),
        request,
        amount_minor: AMOUNT,
        currency_numeric: SGD,
        reference_order_id: order.into(),
        return_url: "https://shop.example/return?order=o-1".into(),
        methods: vec!["GCASH".into(), "CARD".into()],
        buyer: Some(BuyerDetails {
            reference_id: Some("buyer-7".into()),
            ..BuyerDetails::default()
        }),
        card_like: vec!["CARD".into(), "APPLEPAY".into()],
        expires_in_ms: Some(SESSION_MS),
        content_digest: DIGEST.into(),
        store: None,
        description: None,
        metadata: Default::default(),
    }
}

fn created(n: u32) -> UpstreamOutcome<SessionCreated> {
    UpstreamOutcome::Success(SessionCreated {
        session_data: format!("session-data-{n}&&SG&&188"),
        url: Some(format!("https://antom.example/checkout/S{n}")),
        session_id: Some(format!("S{n}")),
    })
}

async fn run(h: &Harness, request: SessionRequest) -> Answer {
    let (reply, sent) = reply(Delivery::Works);
    h.core.session(request, reply).await;
    sent.only()
}

fn paid_with(method: &str) -> Option<PaidWith> {
    Some(PaidWith {
        method_type: Some(method.into()),
        ..PaidWith::default()
    })
}

async fn notify(h: &Harness, req: &SessionRequest, method: &str) -> NotifyOutcome {
    h.core
        .apply_payment_notification(
            req.payment_request_id.as_str(),
            Some("P1".into()),
            Some((AMOUNT, "SGD".into())),
            None,
            paid_with(method),
        )
        .await
        .expect("applied")
}

#[tokio::test(start_paused = true)]
async fn a_created_session_hands_over_the_page_and_closes_only_after_expiry_plus_the_methods_timeout()
 {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_session(prid.as_str(), [created(1)]);

    let answer = run(&h, req).await;

    assert_eq!(answer.outcome, Outcome::Unresolved, "awaiting the buyer");
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Unknown);
    let online = record.online.clone().expect("online");
    assert_eq!(online.method_type, "", "the buyer has not picked a method");
    let session = online.session.expect("a session");
    assert_eq!(session.data.as_deref(), Some("session-data-1&&SG&&188"));
    assert_eq!(session.expires_at_ms, h.t0() + SESSION_MS);
    assert_eq!(session.methods, ["GCASH", "CARD"]);
    assert_eq!(
        online.next_action.and_then(|n| n.url).as_deref(),
        Some("https://antom.example/checkout/S1")
    );
    let timing = timing();
    assert_eq!(
        record.payment_expiry_ms,
        h.t0() + SESSION_MS + timing.session_method_timeout_ms,
        "a method picked at the last moment may still be paid until its own timeout"
    );
    assert_eq!(
        record.gateway_deadline_ms,
        record.payment_expiry_ms + timing.online_close_margin_ms
    );
    assert!(h.queue().is_empty(), "nothing to cancel");
    assert_eq!(h.upstream.count(CallKind::Session, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_session_is_cancelled_at_once_and_the_next_one_is_a_new_attempt() {
    for outcome in [
        unknown(),
        UpstreamOutcome::Unknown {
            reason: "timeout".into(),
        },
    ] {
        let h = Harness::new();
        let first = session_req(&h, 1, "o-1");
        h.upstream
            .script_session(first.payment_request_id.as_str(), [outcome]);

        let answer = run(&h, first.clone()).await;

        assert_ne!(answer.outcome, Outcome::Approved);
        let dead = h.record(&first.payment_request_id);
        assert!(session_not_created(&dead), "{dead:?}");
        assert_eq!(dead.state, TxnState::CancelPending);
        let queue = h.queue();
        let cancel = only_entry(&queue);
        assert!(is_cancel(cancel), "its cancel is queued at once");
        assert!(
            cancel.entry.not_before_ms <= h.t0() + h.elapsed_ms(),
            "the call is over: the cancel may leave now"
        );
        assert_eq!(
            h.upstream
                .count(CallKind::Session, first.payment_request_id.as_str()),
            1,
            "never sent again with the same id"
        );

        // The merchant's next session of the order: a new attempt, a new paymentRequestId.
        let second = session_req(&h, 2, "o-1");
        assert_ne!(second.payment_request_id, first.payment_request_id);
        h.upstream
            .script_session(second.payment_request_id.as_str(), [created(2)]);
        let answer = run(&h, second.clone()).await;
        assert_eq!(answer.outcome, Outcome::Unresolved);
        assert_eq!(notify(&h, &second, "GCASH").await, NotifyOutcome::Applied);
        // The dead attempt paid after all (it cannot be: nobody had its data) stays cancelled.
        notify(&h, &first, "GCASH").await;
        assert_eq!(
            h.record(&first.payment_request_id).state,
            TxnState::CancelPending
        );
        assert_eq!(
            h.record(&second.payment_request_id).state,
            TxnState::Approved
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_same_request_again_answers_the_same_session_without_a_second_call() {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_session(prid.as_str(), [created(1)]);
    run(&h, req.clone()).await;

    let again = run(&h, req).await;

    assert_eq!(again.outcome, Outcome::Unresolved);
    let record = again.record.expect("answered from the record");
    let session = record
        .online
        .clone()
        .and_then(|o| o.session)
        .expect("session");
    assert_eq!(session.data.as_deref(), Some("session-data-1&&SG&&188"));
    assert_eq!(h.upstream.count(CallKind::Session, prid.as_str()), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_session_is_failed_with_antoms_code() {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream
        .script_session(prid.as_str(), [failed("PARAM_ILLEGAL")]);

    let answer = run(&h, req).await;

    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            result_code: Some("PARAM_ILLEGAL".into())
        }
    );
    assert!(h.queue().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_wallet_paid_on_the_page_succeeds_and_the_method_is_kept() {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_session(prid.as_str(), [created(1)]);
    run(&h, req.clone()).await;

    assert_eq!(notify(&h, &req, "GCASH").await, NotifyOutcome::Applied);

    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Approved);
    assert_eq!(record.payment_id.as_deref(), Some("P1"));
    assert_eq!(
        record.online.map(|o| o.method_type).as_deref(),
        Some("GCASH")
    );
    // Applied once: the re-sent notification changes nothing.
    assert_eq!(notify(&h, &req, "GCASH").await, NotifyOutcome::Ignored);
}

#[tokio::test(start_paused = true)]
async fn a_card_paid_on_the_page_is_authorized_then_captured_by_the_switch() {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_session(prid.as_str(), [created(1)]);
    run(&h, req.clone()).await;

    assert_eq!(notify(&h, &req, "CARD").await, NotifyOutcome::Authorized);
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Authorized, "nothing succeeded yet");
    let online = record.online.expect("online");
    assert_eq!(online.method_type, "CARD");
    assert_eq!(online.capture, Some(CaptureMode::Automatic));

    let capture_id = OnlineCheckout::capture_request_id(prid.as_str());
    h.upstream.script_capture(
        &capture_id,
        [UpstreamOutcome::Success(CaptureReceipt {
            capture_id: Some("CAP1".into()),
        })],
    );
    h.core.capture_due(prid.as_str()).await;

    assert_eq!(
        h.record(&prid).state,
        TxnState::Approved,
        "paid once captured"
    );
    assert_eq!(h.upstream.count(CallKind::Capture, &capture_id), 1);
}

#[tokio::test(start_paused = true)]
async fn a_notification_with_another_amount_teaches_nothing() {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_session(prid.as_str(), [created(1)]);
    run(&h, req.clone()).await;

    let outcome = h
        .core
        .apply_payment_notification(
            prid.as_str(),
            Some("P1".into()),
            Some((AMOUNT + 1, "SGD".into())),
            None,
            paid_with("CARD"),
        )
        .await
        .expect("handled");

    assert_eq!(outcome, NotifyOutcome::Mismatch);
    let record = h.record(&prid);
    assert_eq!(record.state, TxnState::Unknown);
    assert_eq!(record.online.map(|o| o.method_type).as_deref(), Some(""));
}

/// Seed 002: a session the buyer never submitted answers `ORDER_NOT_EXIST` to an inquiry:
/// still pending (the buyer may yet pay), never failed.
#[tokio::test(start_paused = true)]
async fn a_session_never_submitted_stays_awaiting_its_buyer_on_a_read() {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_session(prid.as_str(), [created(1)]);
    run(&h, req.clone()).await;
    h.upstream
        .script_inquiry(prid.as_str(), [failed("ORDER_NOT_EXIST")]);

    let answer = h.status(read(&prid)).await;

    assert_eq!(answer.outcome, Outcome::Unresolved);
    assert_eq!(h.record(&prid).state, TxnState::Unknown);
    assert!(h.queue().is_empty());
}

/// A read that finds the session paid by card learns the method from the inquiry: an
/// authorization, captured by the switch.
#[tokio::test(start_paused = true)]
async fn a_read_learns_the_method_from_the_inquiry() {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_session(prid.as_str(), [created(1)]);
    run(&h, req.clone()).await;
    h.upstream.script_inquiry(
        prid.as_str(),
        [UpstreamOutcome::Success(PaymentReport {
            status: PaymentStatus::Success,
            payment_id: Some("P1".into()),
            result_code: Some("SUCCESS".into()),
            amount: Some((AMOUNT, "SGD".into())),
            wallet: None,
            captured: None,
            paid_with: paid_with("CARD"),
        })],
    );
    let capture_id = OnlineCheckout::capture_request_id(prid.as_str());
    h.upstream.script_capture(
        &capture_id,
        [UpstreamOutcome::Success(CaptureReceipt {
            capture_id: Some("CAP1".into()),
        })],
    );

    let answer = h.status(read(&prid)).await;

    assert_eq!(answer.outcome, Outcome::Approved);
    assert_eq!(h.upstream.count(CallKind::Capture, &capture_id), 1);
}

#[tokio::test(start_paused = true)]
async fn a_new_session_supersedes_an_attempt_awaiting_its_buyer_and_a_paid_order_is_refused() {
    let h = Harness::new();
    let first = session_req(&h, 1, "o-1");
    h.upstream
        .script_session(first.payment_request_id.as_str(), [created(1)]);
    run(&h, first.clone()).await;

    let second = session_req(&h, 2, "o-1");
    h.upstream
        .script_session(second.payment_request_id.as_str(), [created(2)]);
    run(&h, second.clone()).await;

    let earlier = h.record(&first.payment_request_id);
    assert_eq!(earlier.state, TxnState::CancelPending);
    assert_eq!(
        earlier.cancel_reason,
        Some(asw_core::state::CancelReason::Superseded)
    );
    assert!(!session_not_created(&earlier));
    notify(&h, &second, "GCASH").await;

    let third = session_req(&h, 3, "o-1");
    let answer = run(&h, third.clone()).await;
    assert_eq!(answer, Answer::refused(Refusal::OrderAlreadyPaid));
    assert_eq!(
        h.upstream
            .count(CallKind::Session, third.payment_request_id.as_str()),
        0
    );
}

/// A read of a session's payment by its `paymentRequestId`.
fn read(prid: &asw_core::domain::PaymentRequestId) -> asw_core::flows::StatusInquiry {
    asw_core::flows::StatusInquiry {
        origin: Origin::rest(MERCHANT, "k1"),
        original: asw_core::flows::OriginalRef {
            payment_request_id: Some(prid.to_string()),
            ..Default::default()
        },
    }
}

/// A success nobody names the method of is not taken: a card would be `succeeded` before its
/// capture. The notification asks Antom; when Antom names the method, it applies.
#[tokio::test(start_paused = true)]
async fn a_success_without_the_method_is_applied_only_once_antom_names_it() {
    let h = Harness::new();
    let req = session_req(&h, 1, "o-1");
    let prid = req.payment_request_id.clone();
    h.upstream.script_session(prid.as_str(), [created(1)]);
    run(&h, req.clone()).await;
    let report = |method: Option<&str>| {
        UpstreamOutcome::Success(PaymentReport {
            status: PaymentStatus::Success,
            payment_id: Some("P1".into()),
            result_code: Some("SUCCESS".into()),
            amount: Some((AMOUNT, "SGD".into())),
            wallet: None,
            captured: None,
            paid_with: method.and_then(paid_with),
        })
    };
    h.upstream
        .script_inquiry(prid.as_str(), [report(None), report(Some("CARD"))]);
    let nameless = || async {
        h.core
            .apply_payment_notification(
                prid.as_str(),
                Some("P1".into()),
                Some((AMOUNT, "SGD".into())),
                None,
                None,
            )
            .await
            .expect("handled")
    };

    assert_eq!(nameless().await, NotifyOutcome::Ignored);
    assert_eq!(h.record(&prid).state, TxnState::Unknown, "not succeeded");

    assert_eq!(nameless().await, NotifyOutcome::Authorized, "a card: held");
    assert_eq!(h.upstream.count(CallKind::Inquiry, prid.as_str()), 2);
}
