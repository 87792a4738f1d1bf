//! Deterministic crash points in Checkout Page sessions (seed 002): `createPaymentSession`,
//! the buyer picks a method on antom-sim's page and pays, Antom notifies, the merchant reads;
//! and a second session of the same order that supersedes the first. The switch dies just
//! before, or just after, each journal write; a fresh switch takes over on the same Redis, the
//! merchant retries what was not answered, Antom re-sends what was not acknowledged. Once
//! quiet: what the merchant was told, and what a read says, is what Antom holds; at most one
//! attempt of the order is paid; nothing is left queued or dead-lettered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use asw_core::flows::SessionRequest;
use common::online::{Answers, buyer, rest_key, sim_post};
use common::scenario::{At, Flow, Step, every_crash_point};
use futures::future::BoxFuture;

/// The session flow's own steps; sessions of the order are numbered from 1.
#[derive(Clone, Copy, Debug)]
enum Own {
    /// The merchant creates session `a` (again: the same request, the same idempotency key).
    Session(u8),
    /// The buyer picks GCASH on session `a`'s page, if the merchant got it.
    Pick(u8),
    /// The buyer approves on the wallet's page, if they picked it.
    Pay(u8),
}

use Own::{Pay, Pick, Session};
use Step::{Close, Notify, Own as O, Read};

/// The buyer picks a wallet and pays; Antom notifies; the merchant reads.
const PAID: &[Step<Own>] = &[O(Session(1)), O(Pick(1)), O(Pay(1)), Notify(1), Read(1)];
/// The first session is never used; a second one of the order supersedes it and is paid.
const SECOND_SESSION: &[Step<Own>] = &[
    O(Session(1)),
    O(Session(2)),
    O(Pick(2)),
    O(Pay(2)),
    Notify(2),
    Read(1),
    Read(2),
];
/// The buyer picks a wallet and leaves: closed unpaid after the session's time.
const ABANDONED: &[Step<Own>] = &[O(Session(1)), O(Pick(1)), Close(1)];

fn session(n: u32, a: u8) -> SessionRequest {
    let order = format!("so{n}");
    let (request, payment_request_id) = rest_key(&format!("s{n}-k{a}"), &order);
    SessionRequest {
        payment_request_id,
        request,
        amount_minor: 3_000 + u64::from(n),
        currency_numeric: 702,
        reference_order_id: order,
        return_url: "https://shop.example/return".into(),
        methods: vec!["GCASH".into(), "ALIPAY_CN".into()],
        buyer: None,
        card_like: Vec::new(),
        expires_in_ms: None,
        content_digest: format!("session-{n}-{a}"),
        store: None,
        description: None,
        metadata: Default::default(),
    }
}

/// Whether the merchant was handed session `prid`'s page.
fn page_handed_over(answers: &Answers, prid: &str) -> bool {
    answers.of(prid).iter().any(|a| {
        a.record
            .as_ref()
            .and_then(|r| r.online.as_ref())
            .and_then(|o| o.session.as_ref())
            .is_some_and(|s| s.data.is_some())
    })
}

struct Sessions;

impl Flow for Sessions {
    type Own = Own;
    const NAME: &'static str = "session";

    fn prid(n: u32, a: u8) -> String {
        session(n, a).payment_request_id.to_string()
    }

    fn creates(step: &Own) -> Option<u8> {
        match step {
            Session(a) => Some(*a),
            Pick(_) | Pay(_) => None,
        }
    }

    fn act(at: At, step: Own) -> BoxFuture<'static, ()> {
        let At { world, core, n, .. } = at;
        Box::pin(async move {
            match step {
                Session(a) => {
                    core.session(session(n, a), world.answers.reply(&Self::prid(n, a)))
                        .await
                }
                Pick(a) => {
                    let prid = Self::prid(n, a);
                    if page_handed_over(&world.answers, &prid) {
                        sim_post(&world.sim, &format!("/__sim/sessions/{prid}/GCASH"), None).await;
                    }
                }
                Pay(a) => {
                    if let Some(payment) = world.sim.payment(&Self::prid(n, a)) {
                        buyer(&world.sim, &payment.payment_id, "approve").await;
                    }
                }
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_paid_session_keeps_the_merchant_and_antom_in_agreement() {
    every_crash_point::<Sessions>(PAID, 100, &["SUCCESS"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_a_second_session_keeps_at_most_one_success_per_order() {
    every_crash_point::<Sessions>(SECOND_SESSION, 200, &["NONE", "SUCCESS"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_write_of_an_abandoned_session_closes_it_unpaid() {
    every_crash_point::<Sessions>(ABANDONED, 300, &["FAIL|CANCELLED"]).await;
}
