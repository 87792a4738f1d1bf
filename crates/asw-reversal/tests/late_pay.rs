//! A `pay` that lands after the switch gave up on it, driven through the switch: antom-sim
//! holds the pay (payment-code suffix 41: committed at once, answered late; 42: lands late,
//! after the switch has answered the terminal; 43: answered late with `U`, nothing stored)
//! longer than the switch's pay timeout, the switch inquires and cancels per its flow and
//! answers the terminal; then the slow pay completes at the simulator. Once quiet, against the
//! simulator: told approved ⇔ SUCCESS at Antom, and a late commit is cancelled.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use asw_core::flows::Answer;
use asw_testkit::RedisServer;
use common::crash::{TerminalReply, Told, case_store, core, timing, until_quiet};
use common::terminal::{journal_key, purchase};
use common::{client_with, sim_with};

/// The switch's `pay` timeout: well under the simulator's hold.
const PAY_TIMEOUT_MS: u64 = 800;

/// Purchase with scenario `suffix` through a switch that gives up on `pay` after
/// [`PAY_TIMEOUT_MS`], while antom-sim holds it past the response deadline. Returns what the
/// terminal was told and Antom's status once quiet.
async fn late_pay(suffix: &str) -> (Option<Answer>, String) {
    // Past the response deadline and the last inquiry's timeout (1 s), with a margin: no
    // inquiry the switch can still use sees a pay that lands late (42), however slow the run.
    let hold = u64::try_from(timing().response_deadline_ms).unwrap() + 1_200;
    let server = RedisServer::start().unwrap();
    let sim = sim_with(|config| config.slow_answer = Duration::from_millis(hold)).await;
    let store = case_store(&server, format!("late{suffix}")).await;
    let upstream = client_with(&sim, PAY_TIMEOUT_MS);
    let switch = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    let request = purchase(1, suffix);
    let told = Told::default();
    switch
        .purchase(request.clone(), Box::new(TerminalReply(told.clone())))
        .await;
    let id = request.payment_request_id.as_str().to_string();
    // Quiet comes no sooner than the cancel's last ORDER_NOT_EXIST, past the payment's expiry,
    // so well after the simulator's hold is over: a late pay has landed by then.
    until_quiet(&store, upstream, switch, &[journal_key(&request)], 1).await;
    let status = sim.payment(&id).map_or_else(|| "NONE".into(), |p| p.status);
    let answer = told.answer();
    eprintln!("scenario {suffix}: told {answer:?}, Antom {status}");
    assert!(answer.is_some(), "the terminal is answered");
    assert_eq!(
        answer.as_ref().is_some_and(Answer::is_approval),
        status == "SUCCESS",
        "told approved iff SUCCESS at Antom: told {answer:?}, Antom {status}"
    );
    (answer, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pay_committed_at_once_but_answered_late_is_found_by_inquiry_and_approved() {
    let (answer, status) = late_pay("41").await;
    assert!(answer.is_some_and(|a| a.is_approval()));
    assert_eq!(status, "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pay_that_lands_after_the_switch_gave_up_is_cancelled() {
    let (answer, status) = late_pay("42").await;
    assert!(answer.is_some_and(|a| !a.is_approval()));
    assert_eq!(
        status, "CANCELLED",
        "the late commit landed, and was cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pay_answered_late_with_nothing_stored_is_declined_and_nothing_is_paid() {
    let (answer, status) = late_pay("43").await;
    assert!(answer.is_some_and(|a| !a.is_approval()));
    assert_eq!(status, "NONE");
}

/// The "too late to deliver" branch: `pay` answers S (scenario 41, held) after the last moment
/// an approval may still be written to the terminal (its timeout minus the delivery margin) but
/// within the switch's pay timeout. The switch must not hand the approval over; it answers
/// without one, and the switch dies right after. A fresh switch's sweeper closes the payment:
/// cancelled at Antom, and the terminal was never told approved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_too_late_to_deliver_is_withheld_and_cancelled_after_a_restart() {
    let t = timing();
    let send_by = t.terminal_timeout_ms.min(t.gateway_deadline_ms) - t.delivery_margin_ms;
    // Held past the last moment to deliver; answered well inside the client's pay timeout.
    let hold = u64::try_from(send_by).unwrap() + 300;
    let server = RedisServer::start().unwrap();
    let sim = sim_with(|config| config.slow_answer = Duration::from_millis(hold)).await;
    let store = case_store(&server, "too-late".into()).await;
    let upstream = client_with(&sim, hold + 2_000);
    let first = core(Arc::new(store.clone()), upstream.clone());
    let request = purchase(1, "41");
    let told = Told::default();
    first
        .purchase(request.clone(), Box::new(TerminalReply(told.clone())))
        .await;
    drop(first); // the switch dies once it has answered
    let answer = told.answer();
    eprintln!("too late: told {answer:?}");
    assert!(
        answer.as_ref().is_some_and(|a| !a.is_approval()),
        "an approval too late to deliver is not handed over: {answer:?}"
    );
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    until_quiet(&store, upstream, fresh, &[journal_key(&request)], 1).await;
    let id = request.payment_request_id.as_str();
    let status = sim.payment(id).map_or_else(|| "NONE".into(), |p| p.status);
    assert_eq!(
        status, "CANCELLED",
        "paid at Antom, withheld from the terminal: cancelled"
    );
}
