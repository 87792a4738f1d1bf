//! Deterministic crash points in online checkout (seed 001: `pay` with `CASHIER_PAYMENT`, the
//! buyer on the wallet's page, the notification, the sweeper's closing with its last look, and
//! a second attempt of the same order that supersedes the first), against the real antom-sim
//! over HTTP and a real Redis. The switch dies just before, or just after, each journal write
//! of a scenario; a fresh switch and engine take over on the same Redis; the merchant retries
//! what was not answered, Antom re-sends what was not acknowledged, the buyer does what the
//! page let them do. Once quiet: what the merchant was told, and what a read says, is what
//! Antom holds; at most one attempt of the order is paid; nothing is left queued or
//! dead-lettered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use asw_antom_sim::SimHandle;
use asw_core::domain::Origin;
use asw_core::flows::CheckoutRequest;
use asw_core::record::OnlineCheckout;
use asw_store::RedisStore;
use common::online::{
    Act, Answers, Flow, buyer, close, every_crash_point, notify_payment, read, rest_key,
    rest_origin,
};

/// What the world does next; attempts of the order are numbered from 1.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// The merchant creates attempt `a` (again: the same request, the same idempotency key).
    Pay(u8),
    /// The buyer of attempt `a` acts on the wallet's page, if the merchant got it.
    Buyer(u8, &'static str),
    /// Antom notifies attempt `a`'s result, once it has one.
    Notify(u8),
    /// The merchant reads attempt `a`.
    Read(u8),
    /// The sweeper's closing time of attempt `a`: its last look.
    Close(u8),
}

/// The buyer pays; Antom notifies; the merchant reads.
const PAID: &[Step] = &[
    Step::Pay(1),
    Step::Buyer(1, "approve"),
    Step::Notify(1),
    Step::Read(1),
];
/// The buyer pays but the notification never comes: the last look at the closing time finds
/// the success, and the merchant reads it then.
const PAID_UNNOTIFIED: &[Step] = &[
    Step::Pay(1),
    Step::Buyer(1, "approve"),
    Step::Close(1),
    Step::Read(1),
];
/// The buyer leaves: closed unpaid after the expiry.
const LEFT: &[Step] = &[Step::Pay(1), Step::Buyer(1, "leave"), Step::Close(1)];
/// The buyer leaves; a second attempt of the order supersedes the first and is paid.
const SECOND_ATTEMPT: &[Step] = &[
    Step::Pay(1),
    Step::Buyer(1, "leave"),
    Step::Pay(2),
    Step::Buyer(2, "approve"),
    Step::Notify(2),
    Step::Read(1),
    Step::Read(2),
];
/// The buyer declines; Antom notifies the failure.
const DECLINED: &[Step] = &[Step::Pay(1), Step::Buyer(1, "decline"), Step::Notify(1)];

fn attempt(n: u32, a: u8) -> CheckoutRequest {
    let order = format!("o{n}");
    let (request, payment_request_id) = rest_key(&format!("c{n}-k{a}"), &order);
    CheckoutRequest {
        payment_request_id,
        request,
        amount_minor: 1_000 + u64::from(n),
        currency_numeric: 702,
        reference_order_id: order,
        checkout: OnlineCheckout {
            method_type: "GCASH".into(),
            terminal_type: "WEB".into(),
            os_type: None,
            return_url: "https://shop.example/return".into(),
            next_action: None,
            capture: None,
            buyer: None,
            card_checks: None,
            paid_with: None,
            cancel_before_retry: false,
            session: None,
        },
        expires_in_ms: None,
        content_digest: format!("checkout-{n}-{a}"),
        store: None,
        description: None,
        metadata: Default::default(),
    }
}

fn prid(n: u32, a: u8) -> String {
    attempt(n, a).payment_request_id.as_str().to_string()
}

struct Wallet;

impl Flow for Wallet {
    type Step = Step;
    const NAME: &'static str = "online";

    fn origin() -> Origin {
        rest_origin()
    }

    fn attempts(n: u32, steps: &[Step]) -> Vec<(String, String)> {
        let last = steps
            .iter()
            .filter_map(|s| match s {
                Step::Pay(a) => Some(*a),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        (1..=last)
            .map(|a| attempt(n, a))
            .map(|r| {
                (
                    r.request.tag.clone(),
                    r.payment_request_id.as_str().to_string(),
                )
            })
            .collect()
    }

    fn act(sim: Arc<SimHandle>, store: RedisStore, answers: Answers, n: u32) -> Act<Step> {
        Arc::new(move |core, step, _again| {
            let (sim, store, answers) = (sim.clone(), store.clone(), answers.clone());
            Box::pin(async move {
                match step {
                    Step::Pay(a) => {
                        let request = attempt(n, a);
                        core.checkout(request, answers.reply(&prid(n, a))).await;
                    }
                    Step::Buyer(a, action) => {
                        if let Some(payment_id) = answers.payment_id(&prid(n, a)) {
                            buyer(&sim, &payment_id, action).await;
                        }
                    }
                    Step::Notify(a) => notify_payment(&core, &sim, &prid(n, a)).await,
                    Step::Read(a) => read(&core, &answers, rest_origin(), &prid(n, a)).await,
                    Step::Close(a) => {
                        let request = attempt(n, a);
                        let id = request.payment_request_id.as_str();
                        close(&core, &store, &request.request.tag, id).await;
                    }
                }
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_paid_wallet_payment_keeps_the_merchant_and_antom_in_agreement() {
    every_crash_point::<Wallet>(PAID, 100, &["SUCCESS"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_payment_whose_notification_is_lost_keeps_them_in_agreement() {
    every_crash_point::<Wallet>(PAID_UNNOTIFIED, 200, &["SUCCESS"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_second_attempt_keeps_at_most_one_success_per_order() {
    every_crash_point::<Wallet>(SECOND_ATTEMPT, 300, &["CANCELLED", "SUCCESS"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_declined_wallet_payment_never_tells_it_paid() {
    every_crash_point::<Wallet>(DECLINED, 400, &["FAIL"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_payment_its_buyer_left_closes_it_unpaid() {
    every_crash_point::<Wallet>(LEFT, 500, &["FAIL|CANCELLED"]).await;
}
