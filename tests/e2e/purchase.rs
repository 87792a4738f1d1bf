//! Purchases end to end: terminal → switch → antom-sim, asserting the terminal's answer and the
//! simulator's ledger.

use std::time::Duration;

use asw_e2e::pos::Pos;
use asw_e2e::{Harness, code};
use asw_terminal_sim::Answer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_is_paid_at_antom_and_delivered() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(1, 1250, &code("00")).await;
    assert_eq!(response.response_code(), "00");
    assert_eq!(response.get_str(38).map(str::len), Some(6));
    let prid = response.payment_request_id().expect("PR in F48");
    let payment = h.payment(prid).expect("payment at antom");
    assert_eq!(payment.status, "SUCCESS");
    assert_eq!(payment.amount, "1250");
    assert_eq!(payment.currency, "SGD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_map_to_terminal_codes_and_charge_nothing() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    for (i, (suffix, expected)) in [
        ("10", "51"),
        ("11", "14"),
        ("13", "05"),
        ("14", "61"),
        ("18", "03"),
    ]
    .into_iter()
    .enumerate()
    {
        let stan = 100 + i as u32;
        let (response, _) = t.purchase(stan, 500, &code(suffix)).await;
        assert_eq!(response.response_code(), expected, "scenario {suffix}");
        let prid = response.payment_request_id().expect("PR");
        assert_eq!(h.payment(prid).expect("payment").status, "FAIL");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_then_approved_by_inquiry() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(2, 700, &code("30")).await;
    assert_eq!(response.response_code(), "00");
    let prid = response.payment_request_id().expect("PR");
    assert_eq!(h.payment(prid).expect("payment").status, "SUCCESS");
    assert!(h.calls("inquiry_payment", prid) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_payment_code_is_rejected_without_calling_antom() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(3, 700, "12345").await;
    assert_eq!(response.response_code(), "14");
    assert!(h.sim.calls().is_empty());
    let _ = Duration::from_secs(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_then_approved_by_notification_first() {
    // Inquiries are spaced far apart; the notification (300 ms) settles the payment first.
    let h = Harness::start_with(|config, _| config.timing.inquiry_interval_ms = 2_500).await;
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(4, 900, &code("33")).await;
    assert_eq!(response.response_code(), "00");
    let prid = response.payment_request_id().expect("PR");
    assert_eq!(h.payment(prid).expect("payment").status, "SUCCESS");
    assert_eq!(
        h.calls("inquiry_payment", prid),
        0,
        "the notification settled it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_forever_answers_91_and_cancels_at_antom() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(5, 1100, &code("32")).await;
    assert_eq!(response.response_code(), "91");
    let prid = response.payment_request_id().expect("PR");
    h.wait_for_status(prid, "CANCELLED", Duration::from_secs(10))
        .await;
    let cancels = h
        .wait_for_calls("cancel", prid, 1, Duration::from_secs(2))
        .await;
    assert_eq!(cancels, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_lost_after_commit_is_learned_by_inquiry() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    for (stan, suffix) in [(6, "40"), (7, "51"), (8, "44"), (9, "50")] {
        let (response, _) = t.purchase(stan, 1300, &code(suffix)).await;
        let prid = response.payment_request_id().expect("PR");
        // Antom holds SUCCESS in each; the switch learns it by inquiry (or the notification)
        // well inside the terminal's timeout, so the answer is an approval, and only that.
        assert_eq!(response.response_code(), "00", "scenario {suffix}");
        assert_eq!(h.payment(prid).expect("payment").status, "SUCCESS");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_disconnect_before_the_answer_is_cancelled_at_the_gateway_deadline() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.purchase_message(10, 1400, &code("30"));
    t.send(&message).await;
    drop(t);
    // The payment succeeds at Antom (inquiry), the approval cannot be delivered, and the sweeper
    // cancels it after the gateway deadline (8 s in tests).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let prid = loop {
        if let Some(p) = h.sim.payments().into_iter().find(|p| p.amount == "1400") {
            break p.payment_request_id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pay never reached antom"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    h.wait_for_status(&prid, "CANCELLED", Duration::from_secs(20))
        .await;
    assert!(h.payment(&prid).expect("payment").cancelled_after_success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_approval_is_not_cancelled_after_the_gateway_deadline() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(11, 1500, &code("00")).await;
    assert_eq!(response.response_code(), "00");
    let prid = response.payment_request_id().expect("PR");
    h.wait_until_the_sweeper_passed_now(12, 1501).await;
    assert_eq!(h.payment(prid).expect("payment").status, "SUCCESS");
    assert_eq!(h.calls("cancel", prid), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_resend_of_a_delivered_approval_does_not_cancel_it() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.purchase_message(14, 1550, &code("00"));
    let first = t.request(&message).await;
    assert_eq!(first.response_code(), "00");
    let prid = first.payment_request_id().expect("PR");
    // The same request again on a new connection that hangs up at once: the switch's re-send
    // of the approval fails, but the terminal holds the first one.
    let again = Pos::connect(h.downstream()).await;
    again.send(&message).await;
    drop(again);
    h.wait_until_the_sweeper_passed_now(15, 1551).await;
    assert_eq!(h.payment(prid).expect("payment").status, "SUCCESS");
    assert_eq!(h.calls("cancel", prid), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_replay_the_answer_or_get_94() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.purchase_message(12, 1600, &code("00"));
    let first = t.request(&message).await;
    let second = t.request(&message).await;
    assert_eq!(first.response_code(), "00");
    assert_eq!(second.response_code(), "00");
    assert_eq!(first.rrn(), second.rrn());
    let prid = first.payment_request_id().expect("PR");
    assert_eq!(
        h.calls("pay", prid),
        1,
        "a duplicate never calls Antom again"
    );
    // Same key, different content.
    let (other, _) = t.purchase_message(12, 9999, &code("00"));
    let third = t.request(&other).await;
    assert_eq!(third.response_code(), "94");
    assert_eq!(h.sim.payments().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_of_an_in_flight_purchase_waits_for_its_outcome() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.purchase_message(13, 1700, &code("30"));
    let first = t.send(&message).await;
    // The same request again while the first is outstanding: the switch answers both.
    t.terminal.send_again(&message).await.expect("send again");
    let a = first
        .wait(Duration::from_secs(10))
        .await
        .expect("first answer");
    let b = t
        .terminal
        .next_unmatched(Duration::from_secs(10))
        .await
        .expect("second answer");
    assert_eq!((a.response_code(), b.response_code()), ("00", "00"));
    let prid = a.payment_request_id().expect("PR");
    assert_eq!(h.calls("pay", prid), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_merchant_and_disabled_terminal_are_declined_locally() {
    let h = Harness::start().await;
    let t = Pos::connect_as(h.downstream(), "M99999999999999", asw_e2e::TID).await;
    let (response, _) = t.purchase(14, 100, &code("00")).await;
    assert_eq!(response.response_code(), "03");
    // One connection per terminal: a connection speaks for the first terminal it names.
    let t = Pos::connect_as(h.downstream(), asw_e2e::MID, asw_e2e::DISABLED_TID).await;
    let (response, _) = t.purchase(15, 100, &code("00")).await;
    assert_eq!(response.response_code(), "58");
    assert!(h.sim.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_declines_with_96_and_sends_nothing() {
    let mut h = Harness::start().await;
    h.redis.kill().expect("kill redis");
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(16, 100, &code("00")).await;
    assert_eq!(response.response_code(), "96");
    assert!(h.sim.calls().is_empty());
    // Recovery is automatic when Redis returns.
    h.redis.restart().expect("restart redis");
    let mut approved = false;
    for i in 0..50 {
        let (response, _) = t.purchase(200 + i, 100, &code("00")).await;
        if response.response_code() == "00" {
            approved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(approved, "the switch recovers when Redis returns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_transactions() {
    let mut h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.purchase_message(17, 1800, &code("30"));
    let in_flight = t.send(&message).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let admin = h.admin();
    let switch = h.switch.take().expect("running");
    let stopping = tokio::spawn(switch.shutdown());
    // Readiness goes false while draining.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ready = reqwest::get(format!("http://{admin}/health/ready")).await;
    assert!(ready.map(|r| !r.status().is_success()).unwrap_or(true));
    // The in-flight purchase still gets its answer, consistent with Antom.
    let answer = in_flight
        .wait(Duration::from_secs(10))
        .await
        .expect("answer during drain");
    assert_eq!(answer.response_code(), "00");
    let prid = answer.payment_request_id().expect("PR");
    assert_eq!(h.payment(prid).expect("payment").status, "SUCCESS");
    stopping.await.expect("shutdown completes");
}
