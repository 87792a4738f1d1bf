//! Deterministic crash points in merchant-presented order codes (F3 `910000`): the Order
//! Code `pay`, the terminal's polls, the buyer paying the displayed code on antom-sim, Antom's
//! notification, and the closing time with its last look. The switch dies just before, or just
//! after, each journal write; a fresh switch takes over on the same Redis. The terminal does
//! what a terminal does: no answer to its request, so a reversal advice; no answer to a poll,
//! so another poll. Once quiet: 00 at the terminal (and in its last poll) ⇔ SUCCESS at Antom;
//! nothing left queued or dead-lettered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use asw_core::domain::Origin;
use asw_core::flows::{OrderCodeRequest, Outcome, ReversalRequest, ReversedRequest};
use common::crash::{MERCHANT, TERMINAL, terminal_key, terminal_prid};
use common::online::{Answers, buyer, read};
use common::scenario::{At, Flow, Step, every_crash_point};
use futures::future::BoxFuture;

/// The order code flow's own steps.
#[derive(Clone, Copy, Debug)]
enum Own {
    /// The terminal asks for a code (unanswered: a reversal advice instead).
    Code,
    /// The terminal polls with a status inquiry (unanswered: it polls again).
    Poll,
    /// The buyer scans the displayed code and pays, if a code was displayed.
    Buyer,
}

use Own::{Buyer, Code, Poll};
use Step::{Close, Notify, Own as O};

/// The buyer pays; Antom notifies; the terminal's poll learns it.
const PAID: &[Step<Own>] = &[O(Code), O(Poll), O(Buyer), Notify(1), O(Poll)];
/// The buyer pays, the notification never comes: the last look at the closing time finds it,
/// and the terminal's poll then learns it.
const PAID_UNNOTIFIED: &[Step<Own>] = &[O(Code), O(Buyer), Close(1), O(Poll)];
/// Nobody pays: closed (cancelled at Antom) after the expiry.
const UNPAID: &[Step<Own>] = &[O(Code), O(Poll), Close(1)];

fn terminal() -> Origin {
    Origin::terminal(MERCHANT, TERMINAL)
}

fn request(n: u32) -> OrderCodeRequest {
    let request = terminal_key("20261207", n, "6342");
    OrderCodeRequest {
        payment_request_id: terminal_prid(&request),
        request,
        amount_minor: 4_000 + u64::from(n),
        currency_numeric: 702,
        reference_order_id: None,
        content_digest: format!("order-code-{n}"),
    }
}

/// The terminal's reversal advice of its unanswered request.
fn advice(request: &OrderCodeRequest) -> ReversalRequest {
    ReversalRequest {
        origin: terminal(),
        original: ReversedRequest {
            dedup_key: request.request.dedup_key.clone(),
            tag: request.request.tag.clone(),
            payment_request_id: request.payment_request_id.clone(),
        },
        amount_minor: request.amount_minor,
        of_purchase: true,
        advice: true,
    }
}

/// Antom's `paymentId` of the code the terminal displays, if it displays one.
fn displayed(answers: &Answers, prid: &str) -> Option<String> {
    answers
        .of(prid)
        .iter()
        .filter(|a| a.outcome == Outcome::AwaitingBuyer)
        .find_map(|a| a.record.as_ref().and_then(|r| r.payment_id.clone()))
}

struct OrderCode;

impl Flow for OrderCode {
    type Own = Own;
    const NAME: &'static str = "order_code";

    fn origin() -> Origin {
        terminal()
    }

    fn prid(n: u32, _a: u8) -> String {
        request(n).payment_request_id.to_string()
    }

    fn act(at: At, step: Own) -> BoxFuture<'static, ()> {
        let At {
            world,
            core,
            n,
            again,
        } = at;
        let (request, prid) = (request(n), Self::prid(n, 1));
        Box::pin(async move {
            match step {
                Code if again => {
                    core.reverse(advice(&request), world.answers.reply(&prid))
                        .await
                }
                Code => core.order_code(request, world.answers.reply(&prid)).await,
                Poll => read(&core, &world.answers, terminal(), &prid).await,
                Buyer => {
                    if let Some(payment_id) = displayed(&world.answers, &prid) {
                        buyer(&world.sim, &payment_id, "approve").await;
                    }
                }
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_paid_order_code_keeps_the_terminal_and_antom_in_agreement() {
    every_crash_point::<OrderCode>(PAID, 100, &["SUCCESS"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_an_order_code_paid_without_a_notification_keeps_them_in_agreement()
{
    every_crash_point::<OrderCode>(PAID_UNNOTIFIED, 200, &["SUCCESS"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_an_unpaid_order_code_never_approves_and_closes_it() {
    every_crash_point::<OrderCode>(UNPAID, 300, &["CANCELLED|FAIL"]).await;
}
