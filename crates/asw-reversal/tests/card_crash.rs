//! Deterministic crash points in hosted card payments with manual capture (seed 004): the
//! buyer's card is authorized on antom-sim's page, Antom notifies the authorization, the
//! merchant captures, Antom sends `CAPTURE_RESULT`. The switch dies just before, or just after,
//! each journal write; a fresh switch takes over on the same Redis and the merchant retries
//! what was not answered — a capture again goes out with the payment's one
//! `captureRequestId`. Once quiet: never `succeeded` without a capture S at Antom, at most one
//! capture, and an authorization never captured is cancelled at the end of its capture window.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use asw_antom_sim::SimHandle;
use asw_core::flows::{CaptureRequest, CheckoutRequest};
use asw_core::record::{CaptureMode, OnlineCheckout};
use common::online::{buyer, checkout_request, online_checkout, rest_origin};
use common::scenario::{At, Flow, Step, every_crash_point};
use futures::future::BoxFuture;

/// The card flow's own steps.
#[derive(Clone, Copy, Debug)]
enum Own {
    /// The merchant creates the card payment (again: the same request).
    Pay,
    /// The buyer types the approving card on the page, if the merchant got it.
    Buyer,
    /// The merchant captures (again: asks again).
    Capture,
    /// Antom sends `CAPTURE_RESULT` for every capture it made.
    NotifyCapture,
}

use Own::{Buyer, Capture, NotifyCapture, Pay};
use Step::{Notify, Own as O, Read};

/// Authorized (Antom notifies it), captured by the merchant, `CAPTURE_RESULT`, read.
const CAPTURED: &[Step<Own>] = &[
    O(Pay),
    O(Buyer),
    Notify(1),
    O(Capture),
    O(NotifyCapture),
    Read(1),
];
/// Authorized, never captured: cancelled when the capture window ends.
const NEVER_CAPTURED: &[Step<Own>] = &[O(Pay), O(Buyer), Notify(1), Read(1)];

fn payment(n: u32) -> CheckoutRequest {
    let checkout = online_checkout("CARD", Some(CaptureMode::Manual));
    checkout_request(
        &format!("card{n}"),
        &format!("co{n}"),
        2_000 + u64::from(n),
        checkout,
    )
}

struct Card;

impl Flow for Card {
    type Own = Own;
    const NAME: &'static str = "card";

    fn prid(n: u32, _a: u8) -> String {
        payment(n).payment_request_id.to_string()
    }

    fn act(at: At, step: Own) -> BoxFuture<'static, ()> {
        let At { world, core, n, .. } = at;
        let prid = Self::prid(n, 1);
        Box::pin(async move {
            match step {
                Pay => core.checkout(payment(n), world.answers.reply(&prid)).await,
                Buyer => {
                    if let Some(payment_id) = world.answers.payment_id(&prid) {
                        buyer(&world.sim, &payment_id, "approve").await;
                    }
                }
                Capture => {
                    let capture = CaptureRequest {
                        origin: rest_origin(),
                        payment_request_id: prid.clone(),
                        amount: None,
                    };
                    core.capture(capture, world.answers.reply(&prid)).await;
                }
                NotifyCapture => {
                    let captures = world
                        .sim
                        .payment(&prid)
                        .map(|p| p.captures)
                        .unwrap_or_default();
                    for capture in captures.iter().filter(|c| c.status == "SUCCESS") {
                        core.apply_capture_notification(&capture.capture_request_id, true)
                            .await
                            .expect("applied");
                    }
                }
            }
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
