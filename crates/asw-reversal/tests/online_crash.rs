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

use asw_core::flows::CheckoutRequest;
use common::online::{buyer, checkout_request, online_checkout};
use common::scenario::{At, Flow, Step, every_crash_point};
use futures::future::BoxFuture;

/// The wallet flow's own steps; attempts of the order are numbered from 1.
#[derive(Clone, Copy, Debug)]
enum Own {
    /// The merchant creates attempt `a` (again: the same request, the same idempotency key).
    Pay(u8),
    /// The buyer of attempt `a` acts on the wallet's page, if the merchant got it.
    Buyer(u8, &'static str),
}

use Own::{Buyer, Pay};
use Step::{Close, Notify, Own as O, Read};

/// The buyer pays; Antom notifies; the merchant reads.
const PAID: &[Step<Own>] = &[O(Pay(1)), O(Buyer(1, "approve")), Notify(1), Read(1)];
/// The buyer pays but the notification never comes: the last look at the closing time finds
/// the success, and the merchant reads it then.
const PAID_UNNOTIFIED: &[Step<Own>] = &[O(Pay(1)), O(Buyer(1, "approve")), Close(1), Read(1)];
/// The buyer leaves; a second attempt of the order supersedes the first and is paid.
const SECOND_ATTEMPT: &[Step<Own>] = &[
    O(Pay(1)),
    O(Buyer(1, "leave")),
    O(Pay(2)),
    O(Buyer(2, "approve")),
    Notify(2),
    Read(1),
    Read(2),
];
/// The buyer declines; Antom notifies the failure.
const DECLINED: &[Step<Own>] = &[O(Pay(1)), O(Buyer(1, "decline")), Notify(1)];

fn attempt(n: u32, a: u8) -> CheckoutRequest {
    let checkout = online_checkout("GCASH", None);
    checkout_request(
        &format!("c{n}-k{a}"),
        &format!("o{n}"),
        1_000 + u64::from(n),
        checkout,
    )
}

struct Wallet;

impl Flow for Wallet {
    type Own = Own;
    const NAME: &'static str = "online";

    fn prid(n: u32, a: u8) -> String {
        attempt(n, a).payment_request_id.to_string()
    }

    fn creates(step: &Own) -> Option<u8> {
        match step {
            Pay(a) => Some(*a),
            Buyer(..) => None,
        }
    }

    fn act(at: At, step: Own) -> BoxFuture<'static, ()> {
        let At { world, core, n, .. } = at;
        Box::pin(async move {
            match step {
                Pay(a) => {
                    core.checkout(attempt(n, a), world.answers.reply(&Self::prid(n, a)))
                        .await
                }
                Buyer(a, action) => {
                    if let Some(payment_id) = world.answers.payment_id(&Self::prid(n, a)) {
                        buyer(&world.sim, &payment_id, action).await;
                    }
                }
            }
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
