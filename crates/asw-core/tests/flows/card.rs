//! Card-like online payments (seed 004): the authorization holds the money, the capture takes
//! it; nothing is `succeeded` before the capture, and the switch's one `captureRequestId` per
//! payment makes every retry the same capture.

use asw_core::domain::Origin;
use asw_core::flows::{CaptureRequest, CheckoutRequest, NotifyOutcome};
use asw_core::ports::{
    CaptureReceipt, CheckoutStarted, ClosingLook, PaymentStatus, UpstreamOutcome,
};
use asw_core::record::{CaptureMode, NextAction, OnlineCheckout};

use crate::common::*;

fn card_req(h: &Harness, n: u32, capture: CaptureMode) -> CheckoutRequest {
    let mut request = h.key(T1, n);
    request.origin = Origin::rest(MERCHANT, "k1");
    CheckoutRequest {
        payment_request_id: prid_of(&request),
        request,
        amount_minor: AMOUNT,
        currency_numeric: SGD,
        reference_order_id: format!("card-{n}"),
        checkout: OnlineCheckout {
            method_type: "CARD".into(),
            terminal_type: "WEB".into(),
            os_type: None,
            return_url: "https://shop.example/return".into(),
            next_action: None,
            buyer: None,
            card_checks: None,
            paid_with: None,
            cancel_before_retry: false,
            capture: Some(capture),
            session: None,
        },
        expires_in_ms: Some(600_000),
        content_digest: DIGEST.into(),
        store: None,
        description: None,
        metadata: Default::default(),
    }
}

fn card_page() -> UpstreamOutcome<CheckoutStarted> {
    UpstreamOutcome::Success(CheckoutStarted::AwaitingBuyer {
        payment_id: Some("PC1".into()),
        next: NextAction {
            url: Some("https://antom.example/card/PC1".into()),
            ..NextAction::default()
        },
    })
}

fn captured() -> UpstreamOutcome<CaptureReceipt> {
    UpstreamOutcome::Success(CaptureReceipt {
        capture_id: Some("CAP1".into()),
    })
}

async fn start(h: &Harness, req: &CheckoutRequest) {
    h.upstream
        .script_checkout(req.payment_request_id.as_str(), [card_page()]);
    let (reply, _) = reply(Delivery::Works);
    h.core.checkout(req.clone(), reply).await;
}

async fn authorize(h: &Harness, req: &CheckoutRequest) -> NotifyOutcome {
    h.core
        .apply_payment_notification(
            req.payment_request_id.as_str(),
            Some("PC1".into()),
            Some((AMOUNT, "SGD".into())),
            None,
            None,
        )
        .await
        .expect("applied")
}

async fn capture(h: &Harness, req: &CheckoutRequest, amount: Option<u64>) -> Answer {
    let (reply, sent) = reply(Delivery::Works);
    h.core
        .capture(
            CaptureRequest {
                origin: Origin::rest(MERCHANT, "k1"),
                payment_request_id: req.payment_request_id.to_string(),
                amount: amount.map(|value| (value, "SGD".to_string())),
            },
            reply,
        )
        .await;
    sent.only()
}

fn capture_id(req: &CheckoutRequest) -> String {
    OnlineCheckout::capture_request_id(req.payment_request_id.as_str())
}

#[tokio::test(start_paused = true)]
async fn a_manual_authorization_is_not_succeeded_until_the_merchant_captures_it() {
    let h = Harness::new();
    let req = card_req(&h, 1, CaptureMode::Manual);
    start(&h, &req).await;

    assert_eq!(authorize(&h, &req).await, NotifyOutcome::Authorized);
    let record = h.record(&req.payment_request_id);
    assert_eq!(record.state, TxnState::Authorized, "held, not taken");
    assert!(
        record.gateway_deadline_ms > h.t0() + 24 * 3_600_000,
        "closed when the capture window ends, not at the buyer's expiry"
    );
    assert_eq!(
        h.upstream.total(CallKind::Capture),
        0,
        "manual: the merchant asks"
    );

    h.upstream
        .script_capture(&capture_id(&req), [unknown(), captured()]);
    let answer = capture(&h, &req, Some(AMOUNT)).await;

    assert_eq!(answer.outcome, Outcome::Approved, "succeeded once captured");
    assert_eq!(h.record(&req.payment_request_id).state, TxnState::Approved);
    assert_eq!(
        h.upstream.count(CallKind::Capture, &capture_id(&req)),
        2,
        "an unknown capture is sent again with the same id, never a new one"
    );
    // Asked again: the capture already made, no new call.
    let again = capture(&h, &req, None).await;
    assert_eq!(again.outcome, Outcome::Approved);
    assert_eq!(h.upstream.total(CallKind::Capture), 2);
}

#[tokio::test(start_paused = true)]
async fn an_automatic_capture_follows_the_authorization_without_the_merchant() {
    let h = Harness::new();
    let req = card_req(&h, 1, CaptureMode::Automatic);
    start(&h, &req).await;
    h.upstream.script_capture(&capture_id(&req), [captured()]);

    assert_eq!(authorize(&h, &req).await, NotifyOutcome::Authorized);
    h.core.capture_due(req.payment_request_id.as_str()).await;

    assert_eq!(h.record(&req.payment_request_id).state, TxnState::Approved);
    assert_eq!(h.upstream.count(CallKind::Capture, &capture_id(&req)), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_capture_leaves_the_authorization_and_says_why() {
    let h = Harness::new();
    let req = card_req(&h, 1, CaptureMode::Manual);
    start(&h, &req).await;
    authorize(&h, &req).await;
    h.upstream
        .script_capture(&capture_id(&req), [failed("AUTH_EXPIRED")]);

    let answer = capture(&h, &req, None).await;

    assert_eq!(
        answer,
        Answer::refused(Refusal::CaptureRefused("AUTH_EXPIRED".into()))
    );
    assert_eq!(
        h.record(&req.payment_request_id).state,
        TxnState::Authorized
    );
}

#[tokio::test(start_paused = true)]
async fn a_partial_capture_or_a_capture_before_authorization_is_refused_without_calling_antom() {
    let h = Harness::new();
    let req = card_req(&h, 1, CaptureMode::Manual);
    start(&h, &req).await;

    let early = capture(&h, &req, None).await;
    assert_eq!(early, Answer::refused(Refusal::NotCapturable));

    authorize(&h, &req).await;
    let partial = capture(&h, &req, Some(AMOUNT - 1)).await;
    assert_eq!(partial, Answer::refused(Refusal::AmountDiffersFromOriginal));
    assert_eq!(h.upstream.total(CallKind::Capture), 0);
}

#[tokio::test(start_paused = true)]
async fn a_capture_result_notification_makes_it_succeeded() {
    let h = Harness::new();
    let req = card_req(&h, 1, CaptureMode::Manual);
    start(&h, &req).await;
    authorize(&h, &req).await;

    let outcome = h
        .core
        .apply_capture_notification(&capture_id(&req), true)
        .await
        .expect("applied");

    assert_eq!(outcome, NotifyOutcome::Applied);
    assert_eq!(h.record(&req.payment_request_id).state, TxnState::Approved);
    // A capture the switch did not make names no payment.
    let unknown = h
        .core
        .apply_capture_notification("antom-own-capture-1", true)
        .await
        .expect("answered");
    assert_eq!(unknown, NotifyOutcome::Unknown);
}

/// The authorization's notification was lost: the last look at the closing time learns it,
/// captures it (automatic), and gives the merchant a close margin to be told before the rule
/// for approvals never told applies.
#[tokio::test(start_paused = true)]
async fn the_last_look_before_closing_authorizes_and_captures_a_card_paid_without_a_notification() {
    let h = Harness::new();
    let req = card_req(&h, 1, CaptureMode::Automatic);
    let prid = req.payment_request_id.clone();
    start(&h, &req).await;
    h.upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    h.upstream.script_capture(&capture_id(&req), [captured()]);
    h.sleep(ms(600_000 + timing().online_close_margin_ms)).await;
    let now = h.t0() + h.elapsed_ms();

    let tag = prid.key_tag().expect("tag").to_string();
    assert!(h.core.last_look(&tag, prid.as_str()).await);

    assert_eq!(h.record(&prid).state, TxnState::Approved);
    assert_eq!(h.upstream.count(CallKind::Capture, &capture_id(&req)), 1);
    assert_eq!(
        h.deadlines(),
        vec![(
            prid.as_str().to_string(),
            now + timing().online_close_margin_ms
        )]
    );
    assert!(h.queue().is_empty());
}
