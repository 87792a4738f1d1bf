//! Purchases end to end: terminal → switch → antom-sim, asserting the terminal's answer and the
//! simulator's ledger.

use std::time::Duration;

use asw_e2e::terminal::TestTerminal;
use asw_e2e::{Harness, code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_is_paid_at_antom_and_delivered() {
    let h = Harness::start().await;
    let mut t = TestTerminal::connect(h.downstream()).await;
    let (response, _) = t.purchase("000001", 1250, &code("00")).await;
    assert_eq!(response.code(), "00");
    assert_eq!(response.message.get_str(38).map(str::len), Some(6));
    let prid = response.payment_request_id().expect("PR in F48");
    let payment = h.payment(&prid).expect("payment at antom");
    assert_eq!(payment.status, "SUCCESS");
    assert_eq!(payment.amount, "1250");
    assert_eq!(payment.currency, "SGD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_map_to_terminal_codes_and_charge_nothing() {
    let h = Harness::start().await;
    let mut t = TestTerminal::connect(h.downstream()).await;
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
        let stan = format!("{:06}", 100 + i);
        let (response, _) = t.purchase(&stan, 500, &code(suffix)).await;
        assert_eq!(response.code(), expected, "scenario {suffix}");
        let prid = response.payment_request_id().expect("PR");
        assert_eq!(h.payment(&prid).expect("payment").status, "FAIL");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_then_approved_by_inquiry() {
    let h = Harness::start().await;
    let mut t = TestTerminal::connect(h.downstream()).await;
    let (response, _) = t.purchase("000002", 700, &code("30")).await;
    assert_eq!(response.code(), "00");
    let prid = response.payment_request_id().expect("PR");
    assert_eq!(h.payment(&prid).expect("payment").status, "SUCCESS");
    assert!(h.calls("inquiry_payment", &prid) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_payment_code_is_rejected_without_calling_antom() {
    let h = Harness::start().await;
    let mut t = TestTerminal::connect(h.downstream()).await;
    let (response, _) = t.purchase("000003", 700, "12345").await;
    assert_eq!(response.code(), "14");
    assert!(h.sim.calls().is_empty());
    let _ = Duration::from_secs(1);
}
