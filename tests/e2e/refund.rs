//! Refunds and status inquiries end to end.

use asw_e2e::pos::Pos;
use asw_e2e::{Harness, code};
use asw_terminal_sim::Answer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_refunds_then_over_the_limit() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (response, _) = t.purchase(201, 1000, &code("00")).await;
    assert_eq!(response.response_code(), "00");
    let prid = response.payment_request_id().expect("PR");
    let first = t.request(&t.refund_message(202, 400, prid)).await;
    assert_eq!(first.response_code(), "00");
    assert!(
        first
            .private_tag(asw_iso8583::Tag::RefundRequestId)
            .is_some()
    );
    // A re-sent refund is idempotent: same answer, refunded once.
    let again = t.request(&t.refund_message(202, 400, prid)).await;
    assert_eq!(again.response_code(), "00");
    let over = t.request(&t.refund_message(203, 700, prid)).await;
    assert_eq!(over.response_code(), "13");
    let payment = h.payment(prid).expect("payment");
    assert_eq!(payment.refunded_total, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_inquiry_reports_the_journal() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let (approved, _) = t.purchase(204, 1000, &code("00")).await;
    let prid = approved.payment_request_id().expect("PR");
    let status = t.request(&t.status_message(205, prid)).await;
    assert_eq!(status.response_code(), "00");
    let (declined, _) = t.purchase(206, 1000, &code("10")).await;
    let prid = declined.payment_request_id().expect("PR");
    let status = t.request(&t.status_message(207, prid)).await;
    assert_eq!(status.response_code(), "51");
    let unknown = t
        .request(&t.status_message(208, "261122000000T0000001100000999deadbeef"))
        .await;
    assert_eq!(unknown.response_code(), "25");
    assert_eq!(h.sim.payments().len(), 2);
}
