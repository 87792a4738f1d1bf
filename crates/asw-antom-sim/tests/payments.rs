//! The per-payment state machine over real HTTP: idempotency, scenarios, cancel and refund
//! rules, windows, expiry, inquiryRefund and the control API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic on bad fixtures

mod common;

use common::*;
use serde_json::json;

async fn paid(client: &Client, prid: &str, value: &str) -> String {
    let reply = client
        .call(PAY, &pay_body(prid, &code("00"), value, None))
        .await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    reply.json()["paymentId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pay_is_idempotent_and_detects_inconsistent_repeats() {
    let (sim, client) = start().await;
    let body = pay_body("p-idem", &code("00"), "500", None);
    let first = client.call(PAY, &body).await;
    let again = client.call(PAY, &body).await;
    assert_eq!(again.signed_code(), "SUCCESS");
    assert_eq!(
        first.json(),
        again.json(),
        "same id + same body -> same result"
    );

    let other_amount = pay_body("p-idem", &code("00"), "501", None);
    assert_eq!(
        client.call(PAY, &other_amount).await.signed_code(),
        "REPEAT_REQ_INCONSISTENT"
    );
    let other_code = pay_body("p-idem", &code("01"), "500", None);
    assert_eq!(
        client.call(PAY, &other_code).await.signed_code(),
        "REPEAT_REQ_INCONSISTENT"
    );
    assert_eq!(sim.payments().len(), 1);
    assert_eq!(sim.payments()[0].status, "SUCCESS");
    sim.shutdown().await;
}

#[tokio::test]
async fn every_decline_code_is_reachable_and_sticky() {
    let (sim, client) = start().await;
    for row in asw_antom_sim::scenario::SCENARIOS {
        let (
            asw_antom_sim::scenario::Trigger::CodeSuffix(suffix),
            asw_antom_sim::Scenario::Decline(expected),
        ) = (row.trigger, row.scenario)
        else {
            continue;
        };
        let prid = format!("p-decline-{suffix}");
        let body = pay_body(&prid, &code(suffix), "100", None);
        let reply = client.call(PAY, &body).await;
        assert_eq!(reply.signed_code(), expected);
        assert_eq!(reply.status_letter(), "F");
        // Same id, same body: the same F again.
        assert_eq!(client.call(PAY, &body).await.signed_code(), expected);
        let inquiry = client.call(INQUIRY, &by_prid(&prid)).await;
        assert_eq!(inquiry.signed_code(), "SUCCESS");
        assert_eq!(inquiry.json()["paymentStatus"], "FAIL");
        assert_eq!(inquiry.json()["paymentResultCode"], expected);
    }
    // A code that no wallet issues.
    let reply = client
        .call(PAY, &pay_body("p-garbage", "12ab", "100", None))
        .await;
    assert_eq!(reply.signed_code(), "INVALID_PAYMENT_CODE");
    sim.shutdown().await;
}

#[tokio::test]
async fn processing_then_success_after_n_inquiries() {
    let (sim, client) = start_with(|c| c.settle_after_inquiries = 3).await;
    let body = pay_body("p-u", &code("30"), "100", None);
    let reply = client.call(PAY, &body).await;
    assert_eq!(reply.signed_code(), "PAYMENT_IN_PROCESS");
    assert_eq!(reply.status_letter(), "U");
    assert_eq!(
        client.call(PAY, &body).await.signed_code(),
        "PAYMENT_IN_PROCESS"
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = client.call(INQUIRY, &by_prid("p-u")).await;
        statuses.push(r.json()["paymentStatus"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses, ["PROCESSING", "PROCESSING", "SUCCESS", "SUCCESS"]);
    // Once known, a repeated pay returns the final result.
    assert_eq!(client.call(PAY, &body).await.signed_code(), "SUCCESS");
    sim.shutdown().await;
}

#[tokio::test]
async fn processing_then_fail_and_forever_until_expiry() {
    let (sim, client) = start().await;
    client
        .call(PAY, &pay_body("p-uf", &code("31"), "100", None))
        .await;
    client.call(INQUIRY, &by_prid("p-uf")).await;
    let r = client.call(INQUIRY, &by_prid("p-uf")).await;
    assert_eq!(r.json()["paymentStatus"], "FAIL");
    assert_eq!(r.json()["paymentResultCode"], "USER_BALANCE_NOT_ENOUGH");

    let body = pay_body("p-forever", &code("32"), "100", None);
    client.call(PAY, &body).await;
    for _ in 0..5 {
        let r = client.call(INQUIRY, &by_prid("p-forever")).await;
        assert_eq!(r.json()["paymentStatus"], "PROCESSING");
    }
    // Eleven minutes later the payment has expired (closed).
    sim.set_clock_offset_ms(11 * 60 * 1000);
    let r = client.call(INQUIRY, &by_prid("p-forever")).await;
    assert_eq!(r.json()["paymentStatus"], "FAIL");
    assert_eq!(r.json()["paymentResultCode"], "ORDER_IS_CLOSED");
    assert_eq!(
        client.call(PAY, &body).await.signed_code(),
        "ORDER_IS_CLOSED"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn payment_expiry_time_from_the_request_is_honoured() {
    let (sim, client) = start().await;
    let mut body = pay_body("p-exp", &code("32"), "100", None);
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    body["paymentExpiryTime"] = json!(
        soon.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    client.call(PAY, &body).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let r = client.call(INQUIRY, &by_prid("p-exp")).await;
    assert_eq!(r.json()["paymentResultCode"], "ORDER_IS_CLOSED");
    sim.shutdown().await;
}

#[tokio::test]
async fn inquiry_by_either_id_and_unknown() {
    let (sim, client) = start().await;
    let payment_id = paid(&client, "p-inq", "700").await;
    let by_id = client
        .call(INQUIRY, &json!({"paymentId": payment_id}))
        .await;
    assert_eq!(by_id.json()["paymentStatus"], "SUCCESS");
    assert_eq!(by_id.json()["paymentRequestId"], "p-inq");
    assert!(by_id.json()["paymentTime"].is_string());
    let unknown = client.call(INQUIRY, &by_prid("never-sent")).await;
    assert_eq!(unknown.signed_code(), "ORDER_NOT_EXIST");
    assert_eq!(unknown.status_letter(), "F");
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_rules() {
    let (sim, client) = start().await;
    // Unknown.
    assert_eq!(
        client.call(CANCEL, &by_prid("c-none")).await.signed_code(),
        "ORDER_NOT_EXIST"
    );
    // PROCESSING -> CANCELLED; a repeated pay is ORDER_IS_CANCELED; inquiry shows a CANCEL entry.
    let body = pay_body("c-proc", &code("32"), "100", None);
    client.call(PAY, &body).await;
    let first = client.call(CANCEL, &by_prid("c-proc")).await;
    assert_eq!(first.signed_code(), "SUCCESS");
    let again = client.call(CANCEL, &by_prid("c-proc")).await;
    assert_eq!(
        again.json()["cancelTime"],
        first.json()["cancelTime"],
        "same cancelTime"
    );
    assert_eq!(
        client.call(PAY, &body).await.signed_code(),
        "ORDER_IS_CANCELED"
    );
    let inq = client.call(INQUIRY, &by_prid("c-proc")).await;
    assert_eq!(inq.json()["paymentStatus"], "CANCELLED");
    assert_eq!(inq.json()["transactions"][0]["transactionType"], "CANCEL");
    // SUCCESS inside the window -> CANCELLED (reversed), by paymentId.
    let pid = paid(&client, "c-paid", "100").await;
    assert_eq!(
        client
            .call(CANCEL, &json!({"paymentId": pid}))
            .await
            .signed_code(),
        "SUCCESS"
    );
    let view = sim.payment("c-paid").unwrap();
    assert_eq!(view.status, "CANCELLED");
    assert!(view.cancelled_after_success);
    // A cancelled payment cannot be refunded.
    let r = client.call(REFUND, &refund_body("r-c", &pid, "10")).await;
    assert_eq!(r.signed_code(), "ORDER_IS_CANCELED");
    // SUCCESS with a refund -> PROCESS_FAIL.
    let pid = paid(&client, "c-refunded", "100").await;
    assert_eq!(
        client
            .call(REFUND, &refund_body("r-1", &pid, "10"))
            .await
            .signed_code(),
        "SUCCESS"
    );
    assert_eq!(
        client
            .call(CANCEL, &by_prid("c-refunded"))
            .await
            .signed_code(),
        "PROCESS_FAIL"
    );
    // Failed payment: S by default.
    client
        .call(PAY, &pay_body("c-failed", &code("10"), "100", None))
        .await;
    assert_eq!(
        client
            .call(CANCEL, &by_prid("c-failed"))
            .await
            .signed_code(),
        "SUCCESS"
    );
    assert_eq!(sim.payment("c-failed").unwrap().status, "FAIL");
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_of_closed_knob() {
    let (sim, client) =
        start_with(|c| c.cancel_of_closed = asw_antom_sim::CancelOfClosed::OrderStatusInvalid)
            .await;
    client
        .call(PAY, &pay_body("k-failed", &code("13"), "100", None))
        .await;
    assert_eq!(
        client
            .call(CANCEL, &by_prid("k-failed"))
            .await
            .signed_code(),
        "ORDER_STATUS_INVALID"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_window() {
    let (sim, client) = start().await;
    // The scenario code: outside the window from the start.
    client
        .call(PAY, &pay_body("w-code", &code("54"), "100", None))
        .await;
    assert_eq!(
        client.call(CANCEL, &by_prid("w-code")).await.signed_code(),
        "CANCEL_WINDOW_EXCEED"
    );
    // Any payment, once the clock passes the window; refund still works then.
    let pid = paid(&client, "w-clock", "100").await;
    sim.set_clock_offset_ms(25 * 3600 * 1000);
    assert_eq!(
        client.call(CANCEL, &by_prid("w-clock")).await.signed_code(),
        "CANCEL_WINDOW_EXCEED"
    );
    assert_eq!(
        client
            .call(REFUND, &refund_body("w-r", &pid, "100"))
            .await
            .signed_code(),
        "SUCCESS"
    );
    assert_eq!(sim.payment("w-clock").unwrap().status, "SUCCESS");
    sim.shutdown().await;
}

#[tokio::test]
async fn pre_cancel_knobs() {
    let (sim, client) = start_with(|c| c.pre_cancel = asw_antom_sim::PreCancel::PreClose).await;
    let first = client.call(CANCEL, &by_prid("pc-1")).await;
    assert_eq!(first.signed_code(), "SUCCESS");
    let reply = client
        .call(PAY, &pay_body("pc-1", &code("00"), "100", None))
        .await;
    assert_eq!(reply.signed_code(), "ORDER_IS_CANCELED");
    let view = sim.payment("pc-1").unwrap();
    assert_eq!(view.status, "CANCELLED");
    sim.shutdown().await;

    let (sim, client) = start_with(|c| c.pre_cancel = asw_antom_sim::PreCancel::Remember).await;
    assert_eq!(
        client.call(CANCEL, &by_prid("pc-2")).await.signed_code(),
        "ORDER_NOT_EXIST"
    );
    let reply = client
        .call(PAY, &pay_body("pc-2", &code("00"), "100", None))
        .await;
    assert_eq!(reply.signed_code(), "ORDER_IS_CANCELED");
    sim.shutdown().await;

    let (sim, client) = start().await;
    assert_eq!(
        client.call(CANCEL, &by_prid("pc-3")).await.signed_code(),
        "ORDER_NOT_EXIST"
    );
    let reply = client
        .call(PAY, &pay_body("pc-3", &code("00"), "100", None))
        .await;
    assert_eq!(reply.signed_code(), "SUCCESS", "off: nothing remembered");
    sim.shutdown().await;
}

#[tokio::test]
async fn refunds_partial_multiple_limits_and_idempotency() {
    let (sim, client) = start().await;
    let pid = paid(&client, "rf-1", "1000").await;
    let r1 = client
        .call(REFUND, &refund_body("rf-1-a", &pid, "300"))
        .await;
    assert_eq!(r1.signed_code(), "SUCCESS");
    assert_eq!(r1.json()["refundAmount"]["value"], "300");
    assert!(r1.json()["refundId"].is_string());
    // Replay: same result, same refundId, not counted twice.
    let again = client
        .call(REFUND, &refund_body("rf-1-a", &pid, "300"))
        .await;
    assert_eq!(again.json(), r1.json());
    // Same refundRequestId, other amount.
    let bad = client
        .call(REFUND, &refund_body("rf-1-a", &pid, "301"))
        .await;
    assert_eq!(bad.signed_code(), "REPEAT_REQ_INCONSISTENT");
    // Over the remainder.
    let over = client
        .call(REFUND, &refund_body("rf-1-b", &pid, "701"))
        .await;
    assert_eq!(over.signed_code(), "REFUND_AMOUNT_EXCEED");
    let rest = client
        .call(REFUND, &refund_body("rf-1-c", &pid, "700"))
        .await;
    assert_eq!(rest.signed_code(), "SUCCESS");
    let view = sim.payment("rf-1").unwrap();
    assert_eq!(view.refunded_total, 1000);
    assert_eq!(view.refunds.len(), 3);
    assert_eq!(view.refunds[1].result_code, "REFUND_AMOUNT_EXCEED");
    // inquiryRefund by request id and by refund id; unknown.
    let q = client
        .call(INQUIRY_REFUND, &json!({"refundRequestId": "rf-1-c"}))
        .await;
    assert_eq!(q.signed_code(), "SUCCESS");
    assert_eq!(q.json()["refundStatus"], "SUCCESS");
    let refund_id = rest.json()["refundId"].as_str().unwrap().to_owned();
    let q = client
        .call(INQUIRY_REFUND, &json!({"refundId": refund_id}))
        .await;
    assert_eq!(q.json()["refundRequestId"], "rf-1-c");
    let q = client
        .call(INQUIRY_REFUND, &json!({"refundRequestId": "rf-1-b"}))
        .await;
    assert_eq!(q.json()["refundStatus"], "FAIL");
    let q = client
        .call(INQUIRY_REFUND, &json!({"refundRequestId": "nope"}))
        .await;
    assert_eq!(q.signed_code(), "ORDER_NOT_EXIST");
    // The payment stays SUCCESS, its inquiry lists the refunds.
    let inq = client.call(INQUIRY, &by_prid("rf-1")).await;
    assert_eq!(inq.json()["paymentStatus"], "SUCCESS");
    assert_eq!(inq.json()["transactions"].as_array().unwrap().len(), 3);
    // Unknown payment; refund of a PROCESSING / failed payment.
    assert_eq!(
        client
            .call(REFUND, &refund_body("rf-x", "nope", "1"))
            .await
            .signed_code(),
        "ORDER_NOT_EXIST"
    );
    let proc = client
        .call(PAY, &pay_body("rf-proc", &code("32"), "100", None))
        .await;
    let proc_id = proc.json()["paymentId"].as_str().unwrap().to_owned();
    assert_eq!(
        client
            .call(REFUND, &refund_body("rf-p", &proc_id, "1"))
            .await
            .signed_code(),
        "ORDER_STATUS_INVALID"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn refund_knobs_and_window() {
    let (sim, client) = start_with(|c| c.multiple_refunds = false).await;
    let pid = paid(&client, "rk-1", "1000").await;
    assert_eq!(
        client
            .call(REFUND, &refund_body("rk-a", &pid, "100"))
            .await
            .signed_code(),
        "SUCCESS"
    );
    assert_eq!(
        client
            .call(REFUND, &refund_body("rk-b", &pid, "100"))
            .await
            .signed_code(),
        "MULTIPLE_REFUNDS_NOT_SUPPORTED"
    );
    let pid2 = paid(&client, "rk-2", "1000").await;
    sim.set_clock_offset_ms(400 * 24 * 3600 * 1000);
    assert_eq!(
        client
            .call(REFUND, &refund_body("rk-c", &pid2, "100"))
            .await
            .signed_code(),
        "REFUND_WINDOW_EXCEED"
    );
    sim.shutdown().await;
}

/// Order Code: `S` with the code to display; the payment then waits for the buyer (the
/// `/__sim/buyer/` hook plays the one who scans and pays it), however often it is inquired;
/// a re-sent pay answers the same code.
#[tokio::test]
async fn order_code_scenario() {
    let (sim, client) = start().await;
    let order_code = |prid: &str| {
        let mut body = pay_body(prid, "", "100", None);
        body["paymentMethod"] = json!({"paymentMethodType": "CONNECT_WALLET"});
        body["paymentFactor"]["inStorePaymentScenario"] = json!("OrderCode");
        body
    };
    let reply = client.call(PAY, &order_code("oc-1")).await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    let form = &reply.json()["orderCodeForm"];
    let qr = form["codeDetails"][0]["codeValue"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(form["expireTime"].is_string());
    for _ in 0..4 {
        let r = client.call(INQUIRY, &by_prid("oc-1")).await;
        assert_eq!(
            r.json()["paymentStatus"],
            "PROCESSING",
            "only the buyer pays it"
        );
    }
    let again = client.call(PAY, &order_code("oc-1")).await;
    assert_eq!(again.signed_code(), "SUCCESS");
    assert_eq!(
        again.json()["orderCodeForm"]["codeDetails"][0]["codeValue"],
        qr.as_str()
    );

    let payment_id = reply.json()["paymentId"].as_str().unwrap().to_owned();
    let hook = format!("{}/__sim/buyer/{payment_id}/approve", sim.base_url());
    let (status, paid) = post_json(&hook, &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(paid["status"], "SUCCESS");
    assert_eq!(paid["changed"], true);
    let r = client.call(INQUIRY, &by_prid("oc-1")).await;
    assert_eq!(r.json()["paymentStatus"], "SUCCESS");

    // Another code the buyer declines; a customer-presented payment is not the buyer's to pay.
    let declined = client.call(PAY, &order_code("oc-2")).await;
    let id = declined.json()["paymentId"].as_str().unwrap().to_owned();
    let hook = format!("{}/__sim/buyer/{id}/decline", sim.base_url());
    assert_eq!(post_json(&hook, &json!({})).await.1["status"], "FAIL");
    client
        .call(PAY, &pay_body("upm-1", &code("30"), "100", None))
        .await;
    let hook = format!("{}/__sim/buyer/upm-1/approve", sim.base_url());
    assert_eq!(post_json(&hook, &json!({})).await.0, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_over_http() {
    let (sim, client) = start().await;
    client
        .call(PAY, &pay_body("ctl-1", &code("32"), "100", None))
        .await;
    let base = sim.base_url();
    let (_, list) = get_json(&format!("{base}/__sim/payments")).await;
    assert_eq!(list["payments"][0]["paymentRequestId"], "ctl-1");
    assert_eq!(list["payments"][0]["status"], "PROCESSING");
    assert_eq!(list["payments"][0]["amount"], "100");
    assert_eq!(list["payments"][0]["currency"], "SGD");

    let (status, forced) = post_json(
        &format!("{base}/__sim/payments/ctl-1/force"),
        &json!({"status": "SUCCESS"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(forced["status"], "SUCCESS");
    let r = client.call(INQUIRY, &by_prid("ctl-1")).await;
    assert_eq!(r.json()["paymentStatus"], "SUCCESS");
    let (status, forced) = post_json(
        &format!("{base}/__sim/payments/ctl-1/force"),
        &json!({"status": "FAIL", "resultCode": "RISK_REJECT"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(forced["resultCode"], "RISK_REJECT");
    let (status, _) = post_json(
        &format!("{base}/__sim/payments/nope/force"),
        &json!({"status": "FAIL"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = post_json(
        &format!("{base}/__sim/payments/ctl-1/force"),
        &json!({"status": "MAYBE"}),
    )
    .await;
    assert_eq!(status, 400);

    let (_, calls) = get_json(&format!("{base}/__sim/calls")).await;
    assert_eq!(calls["calls"].as_array().unwrap().len(), 2);
    assert_eq!(calls["calls"][1]["api"], "inquiry_payment");
    assert_eq!(calls["calls"][1]["dropped"], false);

    let (_, clock) = post_json(&format!("{base}/__sim/clock"), &json!({"offsetMs": 5000})).await;
    assert_eq!(clock["offsetMs"], 5000);

    let (status, _) = post_json(&format!("{base}/__sim/reset"), &json!({})).await;
    assert_eq!(status, 200);
    assert!(sim.payments().is_empty());
    assert!(sim.calls().is_empty());
    sim.shutdown().await;
}
