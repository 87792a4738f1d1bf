//! Deterministic crash points of the terminal's status inquiry (0100), against the real
//! antom-sim over HTTP and a real Redis. The purchase is paid at Antom while the journal still
//! says `PENDING` (its switch died before journaling the answer); the terminal asks for its
//! status on a switch that dies before or after each journal write the inquiry makes (it learns
//! SUCCESS from Antom and settles the purchase). A terminal told `00` keeps the payment; one
//! told anything else, or nothing, reverses it with an advice to a fresh switch. Once quiet:
//! told approved ⇔ SUCCESS at Antom, nothing queued or dead-lettered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use asw_antom_sim::SimHandle;
use asw_core::flows::{Answer, OriginalRef, PurchaseRequest, StatusInquiry};
use asw_testkit::RedisServer;
use common::crash::{
    Dying, TerminalReply, Told, When, case_store, core, crash_points, run_until_crash, until_quiet,
};
use common::terminal::{advise_until_acknowledged, at_antom, journal_key, unknown_purchase};
use common::{client, sim};

/// The terminal's status inquiry of its purchase `p`, by the purchase's own key.
fn status_of(p: &PurchaseRequest) -> StatusInquiry {
    StatusInquiry {
        origin: p.request.origin.clone(),
        original: OriginalRef {
            payment_request_id: None,
            own_request: Some((p.request.dedup_key.clone(), p.request.tag.clone())),
            receipt_ref: None,
            payment_id: None,
        },
    }
}

/// One case: the status inquiry on a switch that dies at write `at` (`When`), or never (`at`
/// = 0). Returns the dying switch's writes, whether the terminal was told approved, and
/// Antom's status once quiet.
async fn status_case(
    server: &RedisServer,
    sim: &SimHandle,
    n: u32,
    at: usize,
    when: When,
) -> (usize, bool, String) {
    let store = case_store(server, format!("status{n}")).await;
    let upstream = client(sim);
    let request = unknown_purchase(&store, &upstream, sim, n).await;
    let dying = Arc::new(Dying::new(store.clone(), at, when));
    let first = Arc::new(core(dying.clone(), upstream.clone()));
    let told = Told::default();
    let flow = {
        let (inquiry, reply) = (status_of(&request), Box::new(TerminalReply(told.clone())));
        async move { first.status(inquiry, reply).await }
    };
    let writes = run_until_crash(&dying, flow).await;
    let approved = told.answer().as_ref().is_some_and(Answer::is_approval);
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    if !approved {
        // Not told paid: the terminal reverses the purchase, as it would after a timeout.
        advise_until_acknowledged(&fresh, &request).await;
    }
    until_quiet(&store, upstream, fresh, &[journal_key(&request)], n).await;
    (
        writes,
        approved,
        at_antom(sim, request.payment_request_id.as_str()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_journal_write_of_a_status_inquiry_keeps_the_terminal_and_antom_in_agreement()
 {
    let server = RedisServer::start().unwrap();
    let sim = sim().await;
    let (writes, approved, status) = status_case(&server, &sim, 1, 0, When::After).await;
    assert!(
        approved,
        "without a crash the inquiry finds the payment and says 00"
    );
    assert_eq!(status, "SUCCESS");
    assert!(
        writes >= 1,
        "the inquiry settles the purchase: {writes} writes"
    );
    let cases = crash_points(writes, 2);
    let results = futures::future::join_all(
        cases
            .iter()
            .map(|&(n, at, when)| status_case(&server, &sim, n, at, when)),
    )
    .await;
    for ((_, at, when), (_, approved, status)) in cases.iter().zip(results) {
        eprintln!(
            "status inquiry, crash {when:?} write {at}/{writes}: told 00 {approved}, Antom {status}"
        );
        assert_eq!(
            status == "SUCCESS",
            approved,
            "crash {when:?} write {at}: told approved iff SUCCESS at Antom (Antom {status})"
        );
    }
}
