//! Reversals, voids and the cancel → refund fallback end to end.

use std::time::Duration;

use asw_e2e::pos::Pos;
use asw_e2e::{Harness, code};
use asw_iso8583::Mti;
use asw_terminal_sim::{Answer, Original};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reversal_advice_and_its_repeat_cancel_exactly_once() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, sent) = t.purchase(101, 2100, &code("00")).await;
    assert_eq!(response.response_code(), "00");
    let prid = response.payment_request_id().expect("PR");
    let advice = t.reversal_message(&sent, Mti::REVERSAL_ADVICE);
    let ack = t.request(&advice).await;
    assert_eq!(ack.mti(), Mti::REVERSAL_ADVICE_RESPONSE);
    assert_eq!(ack.response_code(), "00");
    let repeat = t.reversal_message(&sent, Mti::REVERSAL_ADVICE_REPEAT);
    let ack = t.request(&repeat).await;
    assert_eq!(ack.mti(), Mti::REVERSAL_ADVICE_RESPONSE);
    assert_eq!(ack.response_code(), "00");
    h.wait_for_status(prid, "CANCELLED", Duration::from_secs(10))
        .await;
    h.wait_for_calls("cancel", prid, 1, Duration::from_secs(2))
        .await;
    // A repeated advice must not add a second cancel: give one a chance to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.calls("cancel", prid), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reversal_request_cancels_and_answers_0410() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, sent) = t.purchase(102, 2200, &code("00")).await;
    let prid = response.payment_request_id().expect("PR");
    let ack = t
        .request(&t.reversal_message(&sent, Mti::REVERSAL_REQUEST))
        .await;
    assert_eq!(ack.mti(), Mti::REVERSAL_RESPONSE);
    assert_eq!(ack.response_code(), "00");
    h.wait_for_status(prid, "CANCELLED", Duration::from_secs(10))
        .await;
    let cancels = h
        .wait_for_calls("cancel", prid, 1, Duration::from_secs(2))
        .await;
    assert_eq!(cancels, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reversal_before_its_original_declines_the_original() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (purchase, sent): (_, Original) = t.purchase_message(103, 2300, &code("00"));
    let ack = t
        .request(&t.reversal_message(&sent, Mti::REVERSAL_ADVICE))
        .await;
    assert_eq!(
        ack.response_code(),
        "00",
        "an advice for an unknown original is acknowledged"
    );
    let late = t.request(&purchase).await;
    assert_ne!(late.response_code(), "00");
    assert!(
        h.sim.calls().iter().all(|c| c.api != "pay"),
        "the late original never reaches Antom"
    );
    assert!(h.sim.payments().iter().all(|p| p.status != "SUCCESS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_window_exceeded_falls_back_to_a_full_refund() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, sent) = t.purchase(104, 2400, &code("54")).await;
    assert_eq!(response.response_code(), "00");
    let prid = response.payment_request_id().expect("PR");
    let ack = t
        .request(&t.reversal_message(&sent, Mti::REVERSAL_ADVICE))
        .await;
    assert_eq!(ack.response_code(), "00");
    let start = std::time::Instant::now();
    loop {
        let payment = h.payment(prid).expect("payment");
        if payment.refunded_total == 2400 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "never refunded: {payment:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(h.calls("cancel", prid), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn void_cancels_the_purchase() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, sent) = t.purchase(105, 2500, &code("00")).await;
    let prid = response.payment_request_id().expect("PR");
    let rrn = response.rrn().expect("RRN");
    let void = t.request(&t.void_message(106, sent.amount, rrn)).await;
    assert_eq!(void.response_code(), "00");
    h.wait_for_status(prid, "CANCELLED", Duration::from_secs(10))
        .await;
    // A void with another amount is refused.
    let (response, _) = t.purchase(107, 2600, &code("00")).await;
    let rrn = response.rrn().expect("RRN");
    let bad = t.request(&t.void_message(108, 1, rrn)).await;
    assert_eq!(bad.response_code(), "13");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_success_notification_after_a_cancel_is_ignored() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(109, 2700, &code("52")).await;
    assert_eq!(response.response_code(), "91");
    let prid = response.payment_request_id().expect("PR");
    h.wait_for_status(prid, "CANCELLED", Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.payment(prid).expect("payment").status, "CANCELLED");
    let status = t.request(&t.status_message(110, prid)).await;
    assert_eq!(
        status.response_code(),
        "91",
        "the terminal is never told approved"
    );
}
