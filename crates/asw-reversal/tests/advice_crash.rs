//! Deterministic crash points around the terminal's reversal advice (0420), against the real
//! antom-sim over HTTP and a real Redis: the advice handled by a switch that dies before or
//! after each journal write it makes (of a purchase approved, of one whose outcome the journal
//! never learnt, of one never seen — the tombstone — followed by the late original), and an
//! approval whose write to the terminal fails while the journal refuses to record that failure.
//! The terminal, lacking an answer, repeats its advice (0421) to a fresh switch until it is
//! acknowledged. Once quiet: nothing the terminal was not told approved is SUCCESS at Antom,
//! nothing queued or dead-lettered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use asw_antom_sim::SimHandle;
use asw_core::flows::{Answer, Core, PurchaseRequest, Reply, Undelivered};
use asw_core::state::{Delivery, TxnState};
use asw_store::RedisStore;
use asw_testkit::RedisServer;
use asw_upstream::AntomClient;
use async_trait::async_trait;
use common::crash::{
    Dying, TerminalReply, Told, When, case_store, core, crash_points, run_until_crash, until_quiet,
};
use common::terminal::{
    acknowledged, advice, advise_until_acknowledged, approved_purchase, at_antom, journal_key,
    purchase, settled, unknown_purchase,
};
use common::{client, sim};

/// The terminal's advice of `request` on a switch that dies at write `at` (`When`), or never
/// (`at` = 0); unacknowledged, repeated to a fresh switch until it is. Returns the dying
/// switch's writes and the fresh switch.
async fn advise_through_a_crash(
    store: &RedisStore,
    upstream: &Arc<AntomClient>,
    request: &PurchaseRequest,
    at: usize,
    when: When,
) -> (usize, Arc<Core>) {
    let dying = Arc::new(Dying::new(store.clone(), at, when));
    let first = Arc::new(core(dying.clone(), upstream.clone()));
    let told = Told::default();
    let flow = {
        let (advice, reply) = (advice(request), Box::new(TerminalReply(told.clone())));
        async move { first.reverse(advice, reply).await }
    };
    let writes = run_until_crash(&dying, flow).await;
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    if !acknowledged(&told) {
        advise_until_acknowledged(&fresh, request).await;
    }
    (writes, fresh)
}

/// The purchase the advice is about.
#[derive(Clone, Copy, Debug)]
enum Original {
    /// Approved and handed to the terminal (which then reverses it anyway: 0420 after a
    /// printer jam, say).
    Approved,
    /// Paid at Antom, but its switch died before journaling the answer: still `PENDING`.
    Unknown,
}

/// One case: the advice of `original` on a switch that dies at write `at` (`When`), or never
/// (`at` = 0); the terminal repeats it to a fresh switch until acknowledged. Returns the
/// dying switch's writes and Antom's status once quiet.
async fn advice_case(
    server: &RedisServer,
    sim: &SimHandle,
    n: u32,
    original: Original,
    at: usize,
    when: When,
) -> (usize, String) {
    let store = case_store(server, format!("advice{n}")).await;
    let upstream = client(sim);
    let request = match original {
        Original::Approved => approved_purchase(&store, &upstream, n).await,
        Original::Unknown => unknown_purchase(&store, &upstream, sim, n).await,
    };
    let (writes, fresh) = advise_through_a_crash(&store, &upstream, &request, at, when).await;
    until_quiet(&store, upstream, fresh, &[journal_key(&request)], n).await;
    (writes, settled(&store, sim, &request).await.1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_journal_write_of_a_reversal_advice_leaves_nothing_paid() {
    let server = RedisServer::start().unwrap();
    let sim = sim().await;
    let mut n = 0u32;
    for original in [Original::Approved, Original::Unknown] {
        n += 1;
        let (writes, status) = advice_case(&server, &sim, n, original, 0, When::After).await;
        assert_eq!(status, "CANCELLED", "{original:?} without a crash");
        assert!(writes >= 1, "{original:?}: {writes} writes");
        let cases = crash_points(writes, n + 1);
        n += u32::try_from(cases.len()).unwrap();
        let results = futures::future::join_all(
            cases
                .iter()
                .map(|&(n, at, when)| advice_case(&server, &sim, n, original, at, when)),
        )
        .await;
        for ((_, at, when), (_, status)) in cases.iter().zip(results) {
            eprintln!("advice of {original:?}, crash {when:?} write {at}/{writes}: Antom {status}");
            assert_eq!(
                status, "CANCELLED",
                "advice of {original:?}, crash {when:?} write {at}: the reversed purchase is cancelled"
            );
        }
    }
}

/// One case of an advice before its original: the advice on a switch that dies at write `at`
/// (`When`), or never; repeated to a fresh switch until acknowledged; then the original 0200
/// arrives late at the fresh switch. Returns the dying switch's writes, the late original's
/// answer and Antom's status once quiet.
async fn unseen_case(
    server: &RedisServer,
    sim: &SimHandle,
    n: u32,
    at: usize,
    when: When,
) -> (usize, Option<Answer>, String) {
    let store = case_store(server, format!("unseen{n}")).await;
    let upstream = client(sim);
    let request = purchase(n, "00");
    let (writes, fresh) = advise_through_a_crash(&store, &upstream, &request, at, when).await;
    let late = Told::default();
    fresh
        .purchase(request.clone(), Box::new(TerminalReply(late.clone())))
        .await;
    until_quiet(&store, upstream, fresh, &[journal_key(&request)], n).await;
    let status = at_antom(sim, request.payment_request_id.as_str());
    (writes, late.answer(), status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_around_the_tombstone_of_an_unseen_purchase_keeps_its_late_original_unpaid() {
    let server = RedisServer::start().unwrap();
    let sim = sim().await;
    let (writes, late, status) = unseen_case(&server, &sim, 1, 0, When::After).await;
    assert!(writes >= 1, "{writes} writes");
    let mut results = vec![((1, 0, When::After), (writes, late, status))];
    let cases = crash_points(writes, 2);
    let crashed = futures::future::join_all(
        cases
            .iter()
            .map(|&(n, at, when)| unseen_case(&server, &sim, n, at, when)),
    )
    .await;
    results.extend(cases.into_iter().zip(crashed));
    for ((_, at, when), (_, late, status)) in results {
        eprintln!(
            "unseen, crash {when:?} write {at}/{writes}: late original {late:?}, Antom {status}"
        );
        assert!(
            late.as_ref().is_some_and(|a| !a.is_approval()),
            "crash {when:?} write {at}: the late original is declined: {late:?}"
        );
        assert_ne!(status, "SUCCESS", "crash {when:?} write {at}");
    }
}

// ---------------------------------------------------------------------------------------------
// An approval that cannot be written to the terminal, whose failure cannot be journaled

/// The terminal's end of a connection gone: the write of the answer fails. The answer the
/// switch tried to write is kept (the terminal never saw it).
struct LostReply(Told);

#[async_trait]
impl Reply for LostReply {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        *self.0.0.lock().unwrap() = Some(answer.clone());
        Err(Undelivered)
    }
}

/// One case: purchase `n` approved at Antom; the approval's write to the terminal fails, and
/// the journal write that would record it is crash point `at` (`When`; `Refused`: the switch
/// lives on, every write from there fails). With `advise`, the terminal, having no answer,
/// repeats its advice to a fresh switch until acknowledged; without, it is gone. Returns the
/// journal's record and Antom's status once quiet.
async fn undelivered_case(
    server: &RedisServer,
    sim: &SimHandle,
    n: u32,
    at: usize,
    when: When,
    advise: bool,
) -> (usize, Option<(TxnState, Delivery)>, String) {
    let store = case_store(server, format!("undelivered{n}")).await;
    let upstream = client(sim);
    let dying = Arc::new(Dying::new(store.clone(), at, when));
    let first = Arc::new(core(dying.clone(), upstream.clone()));
    let request = purchase(n, "00");
    let tried = Told::default();
    let running = {
        let (first, request) = (first.clone(), request.clone());
        let reply = Box::new(LostReply(tried.clone()));
        tokio::spawn(async move { first.purchase(request, reply).await })
    };
    // The terminal's timeout: the switch tried its write and then died, refused or recorded it.
    // A switch that dies is waited for until it is dead, not until its fatal write is counted:
    // the count comes first, and a switch taken for alive here would be awaited forever.
    let stopped = || {
        if at == 0 || when == When::Refused {
            dying.writes() >= at.max(3)
        } else {
            dying.is_dead()
        }
    };
    let start = Instant::now();
    while !(tried.answer().is_some() && stopped()) {
        assert!(
            !running.is_finished() || tried.answer().is_some(),
            "the purchase ended without trying to answer"
        );
        assert!(start.elapsed() < Duration::from_secs(20), "no answer tried");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        tried.answer().is_some_and(|a| a.is_approval()),
        "an approval was tried: {:?}",
        tried.answer()
    );
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    if advise {
        advise_until_acknowledged(&fresh, &request).await;
    }
    if dying.is_dead() {
        running.abort();
        let _ = running.await;
    } else {
        // Alive: it retries recording the failed write until it gives up (or has done so).
        tokio::time::timeout(Duration::from_secs(60), running)
            .await
            .expect("the living switch's purchase ends")
            .unwrap();
    }
    let writes = dying.writes();
    until_quiet(&store, upstream, fresh, &[journal_key(&request)], n).await;
    let (record, status) = settled(&store, sim, &request).await;
    (writes, record, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undelivered_approval_whose_failure_cannot_be_journaled_is_cancelled_on_the_terminals_advice()
 {
    let server = RedisServer::start().unwrap();
    let sim = sim().await;
    // Undisturbed: begin, approval (marked SENDING), the failed write recorded.
    let (writes, record, status) = undelivered_case(&server, &sim, 1, 0, When::After, true).await;
    assert_eq!(
        writes, 3,
        "the failed write is the purchase's third journal write"
    );
    assert_eq!(status, "CANCELLED", "undisturbed: {record:?}");
    let modes = [When::Before, When::After, When::Refused];
    let results = futures::future::join_all(
        modes
            .iter()
            .zip(2..)
            .map(|(&when, n)| undelivered_case(&server, &sim, n, writes, when, true)),
    )
    .await;
    for (when, (_, record, status)) in modes.iter().zip(results) {
        eprintln!("undelivered, {when:?} its record, advice: journal {record:?}, Antom {status}");
        assert_eq!(
            status, "CANCELLED",
            "{when:?}: the terminal never got the approval and reversed it: {record:?}"
        );
    }
}

/// The same without the terminal's advice (it is gone). What the switch guarantees then: an
/// approval whose failed write is journaled is cancelled by the sweeper at the gateway
/// deadline; one whose failed write could not be journaled — the switch died first, or Redis
/// refused every write until the payment's expiry, when the switch stops trying — stays
/// `APPROVED`/`SENDING`, which counts as handed to the terminal and is no longer watched: the
/// money stays taken while the terminal was told nothing. This is the price of not writing
/// "delivered" after every approval (see `Delivery`): only the terminal's reversal covers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undelivered_approval_whose_failure_cannot_be_journaled_stays_paid_without_an_advice() {
    let server = RedisServer::start().unwrap();
    let sim = sim().await;
    let expected = [
        (
            When::Before,
            "SUCCESS",
            (TxnState::Approved, Delivery::Sending),
        ),
        (
            When::After,
            "CANCELLED",
            (TxnState::Cancelled, Delivery::Undelivered),
        ),
        (
            When::Refused,
            "SUCCESS",
            (TxnState::Approved, Delivery::Sending),
        ),
    ];
    let results = futures::future::join_all(
        expected
            .iter()
            .zip(1..)
            .map(|(&(when, _, _), n)| undelivered_case(&server, &sim, n, 3, when, false)),
    )
    .await;
    for ((when, status_then, record_then), (_, record, status)) in expected.iter().zip(results) {
        eprintln!(
            "undelivered, {when:?} its record, no advice: journal {record:?}, Antom {status}"
        );
        assert_eq!(
            (record, status.as_str()),
            (Some(*record_then), *status_then),
            "{when:?} the failed write's record, no advice"
        );
    }
}
