//! Merchant-presented order codes end to end: the terminal asks for a dynamic QR (0200/910000),
//! the switch answers 09 with the code to display (F48 `QC`, `QE`), the buyer scans and pays it
//! (antom-sim's buyer hook), and the terminal's status inquiries answer 00 only once Antom holds
//! SUCCESS. An unpaid code is cancelled at Antom after its expiry; a reversal cancels it too.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use asw_e2e::pos::Pos;
use asw_e2e::{Harness, OTHER_MERCHANT_TID, OTHER_MID};
use asw_iso8583::{Message, Mti};
use asw_terminal_sim::Answer;

use crate::online::buyer;

/// Polls with status inquiries (new STANs from `first_stan`) until the answer is no longer
/// "in progress", or panics after `within`.
async fn poll_until_final(t: &Pos, first_stan: u32, prid: &str, within: Duration) -> Message {
    let start = Instant::now();
    let mut stan = first_stan;
    loop {
        let answer = t.request(&t.status_message(stan, prid)).await;
        if answer.response_code() != "09" {
            return answer;
        }
        assert!(
            start.elapsed() < within,
            "still in progress after {within:?}"
        );
        stan += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buyer_pays_the_displayed_code_and_the_poll_answers_00() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.order_code_message(301, 1250);

    let shown = t.request(&message).await;

    assert_eq!(shown.response_code(), "09", "shown, not paid");
    assert!(!shown.has(38), "no approval code");
    let code = shown.order_code().expect("QC").to_owned();
    assert!(code.starts_with("https://qr.antom-sim.invalid/"), "{code}");
    let expiry = shown.order_code_expiry().expect("QE");
    assert!(
        expiry.len() == 14 && expiry.bytes().all(|b| b.is_ascii_digit()),
        "{expiry}"
    );
    let prid = shown.payment_request_id().expect("PR").to_owned();
    let payment_id = shown.payment_id().expect("PI").to_owned();
    let at_antom = h.payment(&prid).expect("created at antom");
    assert_eq!(at_antom.status, "PROCESSING");
    assert_eq!(at_antom.scenario, "order_code");

    // A re-sent request gets the same code, not a second pay.
    let again = t.request(&message).await;
    assert_eq!(again.response_code(), "09");
    assert_eq!(again.order_code(), Some(code.as_str()));
    assert_eq!(h.calls("pay", &prid), 1);

    // Polling before the buyer paid: still in progress, never 00.
    let waiting = t.request(&t.status_message(302, &prid)).await;
    assert_eq!(waiting.response_code(), "09");
    assert_eq!(waiting.order_code(), Some(code.as_str()));

    let paid = buyer(&h, &payment_id, "approve").await;
    assert_eq!(paid["status"], "SUCCESS");

    let approved = poll_until_final(&t, 303, &prid, Duration::from_secs(10)).await;
    assert_eq!(approved.response_code(), "00");
    assert_eq!(approved.get_str(38).map(str::len), Some(6));
    assert!(approved.order_code().is_none());
    assert_eq!(h.payment(&prid).expect("payment").status, "SUCCESS");
    assert_eq!(h.calls("cancel", &prid), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_code_is_cancelled_at_antom_after_its_expiry_and_never_approved() {
    let h = Harness::start_with(|config, _| {
        config.timing.order_code_expiry_ms = 2_000;
        config.timing.order_code_close_margin_ms = 1_500;
        config.timing.order_code_max_open_ms = 10_000;
    })
    .await;
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.order_code_message(311, 1300);
    let shown = t.request(&message).await;
    assert_eq!(shown.response_code(), "09");
    let prid = shown.payment_request_id().expect("PR").to_owned();
    let payment_id = shown.payment_id().expect("PI").to_owned();
    assert_eq!(h.calls("cancel", &prid), 0, "open while the buyer may pay");

    h.wait_for_calls("cancel", &prid, 1, Duration::from_secs(15))
        .await;

    // A buyer who scans it now finds it closed; the terminal is told a decline, not 00.
    let late = buyer(&h, &payment_id, "approve").await;
    assert_eq!(late["changed"], false);
    assert_ne!(h.payment(&prid).expect("payment").status, "SUCCESS");
    let closed = t.request(&t.status_message(312, &prid)).await;
    assert_eq!(closed.response_code(), "05");
    assert!(closed.order_code().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reversal_advice_cancels_the_code_at_antom() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (message, original) = t.order_code_message(321, 1400);
    let shown = t.request(&message).await;
    assert_eq!(shown.response_code(), "09");
    let prid = shown.payment_request_id().expect("PR").to_owned();
    let payment_id = shown.payment_id().expect("PI").to_owned();

    let ack = t
        .request(&t.reversal_message(&original, Mti::REVERSAL_ADVICE))
        .await;
    assert_eq!(ack.response_code(), "00");

    h.wait_for_status(&prid, "CANCELLED", Duration::from_secs(10))
        .await;
    assert_eq!(buyer(&h, &payment_id, "approve").await["changed"], false);
    let after = t.request(&t.status_message(322, &prid)).await;
    assert_ne!(after.response_code(), "00");
    assert_ne!(after.response_code(), "09");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_merchants_terminal_cannot_poll_the_code() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.order_code_message(331, 1500);
    let shown = t.request(&message).await;
    let prid = shown.payment_request_id().expect("PR").to_owned();

    let other = Pos::connect_as(h.downstream(), OTHER_MID, OTHER_MERCHANT_TID).await;
    let answer = other.request(&other.status_message(332, &prid)).await;

    assert_eq!(answer.response_code(), "25");
    assert!(answer.order_code().is_none());
    assert_eq!(h.calls("inquiry_payment", &prid), 0);
}
