//! Refunds and status inquiries end to end.

use asw_e2e::terminal::TestTerminal;
use asw_e2e::{Harness, code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_refunds_then_over_the_limit() {
    let h = Harness::start().await;
    let mut t = TestTerminal::connect(h.downstream()).await;
    let (response, _) = t.purchase("000201", 1000, &code("00")).await;
    assert_eq!(response.code(), "00");
    let prid = response.payment_request_id().expect("PR");
    let first = t.request(&t.refund_message("000202", 400, &prid)).await;
    assert_eq!(first.code(), "00");
    assert!(first.tag(asw_iso8583::Tag::RefundRequestId).is_some());
    // A re-sent refund is idempotent: same answer, refunded once.
    let again = t.request(&t.refund_message("000202", 400, &prid)).await;
    assert_eq!(again.code(), "00");
    let over = t.request(&t.refund_message("000203", 700, &prid)).await;
    assert_eq!(over.code(), "13");
    let payment = h.payment(&prid).expect("payment");
    assert_eq!(payment.refunded_total, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_inquiry_reports_the_journal() {
    let h = Harness::start().await;
    let mut t = TestTerminal::connect(h.downstream()).await;
    let (approved, _) = t.purchase("000204", 1000, &code("00")).await;
    let prid = approved.payment_request_id().expect("PR");
    let status = t.request(&t.status_message("000205", &prid)).await;
    assert_eq!(status.code(), "00");
    let (declined, _) = t.purchase("000206", 1000, &code("10")).await;
    let prid = declined.payment_request_id().expect("PR");
    let status = t.request(&t.status_message("000207", &prid)).await;
    assert_eq!(status.code(), "51");
    let unknown = t
        .request(&t.status_message("000208", "261122000000T0000001100000999deadbeef"))
        .await;
    assert_eq!(unknown.code(), "25");
    assert_eq!(h.sim.payments().len(), 2);
}
