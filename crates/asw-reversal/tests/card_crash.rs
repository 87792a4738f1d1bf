//! Deterministic crash points in hosted card payments with manual capture (seed 004): the
//! buyer's card is authorized on antom-sim's page, Antom notifies the authorization, the
//! merchant captures, Antom sends `CAPTURE_RESULT`. The switch dies just before, or just after,
//! each journal write; a fresh switch takes over on the same Redis and the merchant retries
//! what was not answered — a capture again goes out with the payment's one
//! `captureRequestId`. Once quiet: never `succeeded` without a capture S at Antom, at most one
//! capture, and an authorization never captured is cancelled at the end of its capture window.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use asw_antom_sim::SimHandle;
use asw_core::domain::Origin;
use asw_core::flows::{CaptureRequest, CheckoutRequest};
use asw_core::record::{CaptureMode, OnlineCheckout};
use asw_store::RedisStore;
use common::online::{
    Act, Answers, Flow, buyer, every_crash_point, notify_payment, read, rest_key, rest_origin,
};

/// What the world does next.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// The merchant creates the card payment (again: the same request).
    Pay,
    /// The buyer types the approving card on the page, if the merchant got it.
    Buyer,
    /// Antom notifies the payment's result (SUCCESS: authorized), once it has one.
    Notify,
    /// The merchant captures (again: asks again).
    Capture,
    /// Antom sends `CAPTURE_RESULT` for every capture it made.
    NotifyCapture,
    /// The merchant reads the payment.
    Read,
}

/// Authorized, captured by the merchant, `CAPTURE_RESULT`, read.
const CAPTURED: &[Step] = &[
    Step::Pay,
    Step::Buyer,
    Step::Notify,
    Step::Capture,
    Step::NotifyCapture,
    Step::Read,
];
/// Authorized, never captured: cancelled when the capture window ends.
const NEVER_CAPTURED: &[Step] = &[Step::Pay, Step::Buyer, Step::Notify, Step::Read];

fn payment(n: u32) -> CheckoutRequest {
    let order = format!("co{n}");
    let (request, payment_request_id) = rest_key(&format!("card{n}"), &order);
    CheckoutRequest {
        payment_request_id,
        request,
        amount_minor: 2_000 + u64::from(n),
        currency_numeric: 702,
        reference_order_id: order,
        checkout: OnlineCheckout {
            method_type: "CARD".into(),
            terminal_type: "WEB".into(),
            os_type: None,
            return_url: "https://shop.example/return".into(),
            next_action: None,
            capture: Some(CaptureMode::Manual),
            buyer: None,
            card_checks: None,
            paid_with: None,
            cancel_before_retry: false,
            session: None,
        },
        expires_in_ms: None,
        content_digest: format!("card-{n}"),
        store: None,
        description: None,
        metadata: Default::default(),
    }
}

struct Card;

impl Flow for Card {
    type Step = Step;
    const NAME: &'static str = "card";

    fn origin() -> Origin {
        rest_origin()
    }

    fn attempts(n: u32, _steps: &[Step]) -> Vec<(String, String)> {
        let request = payment(n);
        let id = request.payment_request_id.as_str().to_string();
        vec![(request.request.tag, id)]
    }

    fn act(sim: Arc<SimHandle>, _store: RedisStore, answers: Answers, n: u32) -> Act<Step> {
        Arc::new(move |core, step, _again| {
            let (sim, answers) = (sim.clone(), answers.clone());
            let request = payment(n);
            let prid = request.payment_request_id.as_str().to_string();
            Box::pin(async move {
                match step {
                    Step::Pay => core.checkout(request, answers.reply(&prid)).await,
                    Step::Buyer => {
                        if let Some(payment_id) = answers.payment_id(&prid) {
                            buyer(&sim, &payment_id, "approve").await;
                        }
                    }
                    Step::Notify => notify_payment(&core, &sim, &prid).await,
                    Step::Capture => {
                        let capture = CaptureRequest {
                            origin: rest_origin(),
                            payment_request_id: prid.clone(),
                            amount: None,
                        };
                        core.capture(capture, answers.reply(&prid)).await;
                    }
                    Step::NotifyCapture => {
                        let captures = sim.payment(&prid).map(|p| p.captures).unwrap_or_default();
                        for capture in captures.iter().filter(|c| c.status == "SUCCESS") {
                            core.apply_capture_notification(&capture.capture_request_id, true)
                                .await
                                .expect("applied");
                        }
                    }
                    Step::Read => read(&core, &answers, rest_origin(), &prid).await,
                }
            })
        })
    }

    /// A card is paid once Antom captured it, not when it authorized it.
    fn paid_at_antom(sim: &SimHandle, id: &str) -> bool {
        sim.payment(id)
            .is_some_and(|p| p.status == "SUCCESS" && p.captured_total.unwrap_or(0) > 0)
    }

    /// Every capture Antom holds went out with the payment's one `captureRequestId`, and
    /// Antom holds at most one; a payment not captured holds no authorization either.
    fn check(sim: &SimHandle, id: &str, label: &str) {
        let Some(at_antom) = sim.payment(id) else {
            return;
        };
        let own = OnlineCheckout::capture_request_id(id);
        assert!(
            at_antom.captures.len() <= 1
                && at_antom
                    .captures
                    .iter()
                    .all(|c| c.capture_request_id == own),
            "{label}: captures {:?}",
            at_antom.captures
        );
        if at_antom.captured_total.unwrap_or(0) == 0 {
            assert_ne!(
                at_antom.status, "SUCCESS",
                "{label}: an authorization never captured is cancelled"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_captured_card_payment_never_says_succeeded_without_the_capture()
{
    every_crash_point::<Card>(CAPTURED, 100, &["SUCCESS"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_an_authorization_never_captured_ends_with_it_cancelled() {
    every_crash_point::<Card>(NEVER_CAPTURED, 200, &["CANCELLED"]).await;
}
