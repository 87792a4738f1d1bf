//! The notifyPayment receiver: only genuine, untampered notifications are applied; the answer
//! is Antom's fixed body; bad input gets a clear 4xx.

// Test helpers: a failed set-up step must stop the test with a clear message.
#![allow(clippy::expect_used)]

use asw_antom::Signer;
use asw_e2e::pos::Pos;
use asw_e2e::{CLIENT_ID, Harness, code};
use asw_terminal_sim::Answer;

fn antom_signer() -> Signer {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/keys/antom_private_pkcs8.pem");
    Signer::from_private_key(&std::fs::read_to_string(path).expect("key"), 1).expect("signer")
}

fn merchant_signer() -> Signer {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/keys/merchant_private_pkcs8.pem");
    Signer::from_private_key(&std::fs::read_to_string(path).expect("key"), 1).expect("signer")
}

fn notify_body(prid: &str, value: &str, currency: &str) -> String {
    serde_json::json!({
        "notifyType": "PAYMENT_RESULT",
        "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success."},
        "paymentRequestId": prid,
        "paymentId": "2026112219401080010018800000001",
        "paymentAmount": {"currency": currency, "value": value},
        "paymentTime": "2026-11-22T01:00:00-08:00"
    })
    .to_string()
}

async fn post(h: &Harness, body: &str, signature: Option<String>) -> (u16, String) {
    let url = format!(
        "http://{}/antom/notify",
        h.switch.as_ref().expect("switch").webhook_addr
    );
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json; charset=UTF-8")
        .header("client-id", CLIENT_ID)
        .header("request-time", "2026-11-22T01:00:00-08:00")
        .body(body.to_string());
    if let Some(s) = signature {
        request = request.header("signature", s);
    }
    let response = request.send().await.expect("webhook reachable");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn sign(signer: &Signer, body: &str) -> String {
    signer
        .signature_header(
            "/antom/notify",
            CLIENT_ID,
            "2026-11-22T01:00:00-08:00",
            body.as_bytes(),
        )
        .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tampered_unsigned_and_malformed_notifications_are_rejected() {
    let h = Harness::start_with(|config, _| config.timing.inquiry_interval_ms = 3_500).await;
    // A payment that stays unknown until the response deadline: a forged success must not
    // approve it.
    let t = Pos::connect(h.downstream()).await;
    let (message, _) = t.purchase_message(501, 3100, &code("32"));
    let pending = t.send(&message).await;
    let prid = loop {
        if let Some(p) = h.sim.payments().into_iter().next() {
            break p.payment_request_id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let body = notify_body(&prid, "3100", "SGD");

    let (status, _) = post(&h, &body, None).await;
    assert_eq!(status, 401, "unsigned");
    let (status, _) = post(&h, &body, Some(sign(&merchant_signer(), &body))).await;
    assert_eq!(status, 401, "signed with the wrong key (forged)");
    let signed = sign(&antom_signer(), &body);
    let tampered = body.replace("3100", "3101");
    let (status, _) = post(&h, &tampered, Some(signed)).await;
    assert_eq!(status, 401, "tampered after signing");
    let garbage = "{not json";
    let (status, _) = post(&h, garbage, Some(sign(&antom_signer(), garbage))).await;
    assert_eq!(status, 400, "malformed JSON");
    let huge = "x".repeat(200_000);
    let (status, _) = post(&h, &huge, Some(sign(&antom_signer(), &huge))).await;
    assert_eq!(status, 413, "oversize body");
    // Genuine, but the amount differs from the journal: acknowledged, not applied.
    let wrong_amount = notify_body(&prid, "1", "SGD");
    let (status, text) = post(
        &h,
        &wrong_amount,
        Some(sign(&antom_signer(), &wrong_amount)),
    )
    .await;
    assert_eq!(status, 200);
    assert!(text.contains("SUCCESS"));

    let answer = pending
        .wait(std::time::Duration::from_secs(10))
        .await
        .expect("answer");
    assert_eq!(
        answer.response_code(),
        "91",
        "no forged notification approved the payment"
    );
    h.wait_for_status(&prid, "CANCELLED", std::time::Duration::from_secs(10))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genuine_notification_is_acknowledged_with_the_fixed_body() {
    let h = Harness::start().await;
    let body = notify_body("261122000000T00000011000000001deadbeef", "100", "SGD");
    let (status, text) = post(&h, &body, Some(sign(&antom_signer(), &body))).await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#
    );
}
