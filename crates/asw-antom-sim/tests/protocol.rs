//! Transport and protocol rules over real HTTP: paths, method, media type, client id, key
//! version, signature checks and response signing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic on bad fixtures

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn pay_success_is_signed_with_lowercase_headers() {
    let (sim, client) = start().await;
    let reply = client
        .call(PAY, &pay_body("p-1", &code("00"), "1234", None))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.signed_code(), "SUCCESS");
    let body = reply.json();
    assert_eq!(body["result"]["resultStatus"], "S");
    assert_eq!(body["paymentAmount"]["value"], "1234");
    assert!(body["paymentId"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(body["paymentTime"].as_str().is_some());
    assert_eq!(reply.headers["client-id"], CLIENT_ID);
    let time = reply.headers["response-time"].to_str().unwrap();
    assert!(time.ends_with("-08:00"), "{time}");
    let sig = reply.headers["signature"].to_str().unwrap();
    assert!(
        sig.starts_with("algorithm=RSA256,keyVersion=1,signature="),
        "{sig}"
    );
    // Base64 must be URL-encoded: no raw '+', '/', '='.
    let value = sig.split("signature=").nth(1).unwrap();
    assert!(!value.contains('+') && !value.contains('/') && !value.contains('='));
    sim.shutdown().await;
}

#[tokio::test]
async fn sandbox_path_is_served_and_signed_over_that_path() {
    let (sim, client) = start().await;
    let path = "/ams/sandbox/api/v1/payments/pay";
    let reply = client
        .call(path, &pay_body("p-sbx", &code("00"), "100", None))
        .await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    // The same answer does not verify over the production path.
    let time = reply.headers["response-time"].to_str().unwrap();
    let sig = reply.headers["signature"].to_str().unwrap();
    assert!(
        client
            .antom
            .verify_message(PAY, CLIENT_ID, time, &reply.body, sig)
            .is_err()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_path_is_no_interface_def() {
    let (sim, client) = start().await;
    let reply = client
        .call("/ams/api/v1/payments/capturez", &json!({}))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.signed_code(), "NO_INTERFACE_DEF");
    assert_eq!(reply.status_letter(), "F");
    sim.shutdown().await;
}

#[tokio::test]
async fn non_post_and_wrong_media_type() {
    let (sim, client) = start().await;
    let resp = client
        .http
        .get(format!("{}{PAY}", client.base))
        .send()
        .await
        .unwrap();
    let reply = client.reply(PAY, resp).await.unwrap();
    assert_eq!(reply.code(), "METHOD_NOT_SUPPORTED");

    let resp = client
        .http
        .post(format!("{}{PAY}", client.base))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    let reply = client.reply(PAY, resp).await.unwrap();
    assert_eq!(reply.code(), "MEDIA_TYPE_NOT_ACCEPTABLE");
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_client_and_key_version() {
    let (sim, mut client) = start().await;
    client.client_id = "SANDBOX_SOMEONE_ELSE".into();
    let reply = client
        .call(PAY, &pay_body("p-c", &code("00"), "100", None))
        .await;
    assert_eq!(reply.code(), "CLIENT_INVALID");

    client.client_id = CLIENT_ID.into();
    client.signer =
        asw_antom::Signer::from_private_key(&testdata("merchant_private_pkcs8.pem"), 7).unwrap();
    let reply = client
        .call(PAY, &pay_body("p-k", &code("00"), "100", None))
        .await;
    assert_eq!(reply.signed_code(), "KEY_NOT_FOUND");
    assert!(sim.payments().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_signature_is_answered_unsigned_in_both_spellings() {
    for (spelling, expected) in [
        (
            asw_antom_sim::SignatureErrorSpelling::InvalidSignature,
            "INVALID_SIGNATURE",
        ),
        (
            asw_antom_sim::SignatureErrorSpelling::SignatureInvalid,
            "SIGNATURE_INVALID",
        ),
    ] {
        let (sim, mut client) = start_with(|c| c.signature_error_spelling = spelling).await;
        // Signed with the wrong key (the Antom key instead of the merchant key).
        client.signer =
            asw_antom::Signer::from_private_key(&testdata("antom_private_pkcs1.pem"), 1).unwrap();
        let reply = client
            .call(PAY, &pay_body("p-s", &code("00"), "100", None))
            .await;
        assert_eq!(reply.code(), expected);
        assert_eq!(reply.verified, None, "must be unsigned");
        assert!(reply.headers.get("signature").is_none());
        assert!(sim.payments().is_empty(), "nothing processed");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn tampered_body_path_or_missing_headers_fail_verification() {
    let (sim, client) = start().await;
    let body = serde_json::to_vec(&pay_body("p-t", &code("00"), "100", None)).unwrap();
    let time = "1700000000000";
    let good = client
        .signer
        .signature_header(PAY, CLIENT_ID, time, &body)
        .unwrap();
    let client = &client;
    let send = move |path: &'static str,
                     body: Vec<u8>,
                     sig: Option<String>,
                     time: Option<&'static str>| {
        let mut req = client
            .http
            .post(format!("{}{path}", client.base))
            .header("content-type", "application/json")
            .header("client-id", CLIENT_ID)
            .body(body);
        if let Some(sig) = sig {
            req = req.header("signature", sig);
        }
        if let Some(time) = time {
            req = req.header("request-time", time);
        }
        async move { client.reply(path, req.send().await.unwrap()).await.unwrap() }
    };
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    for reply in [
        send(PAY, tampered, Some(good.clone()), Some(time)).await,
        send(
            "/ams/sandbox/api/v1/payments/pay",
            body.clone(),
            Some(good.clone()),
            Some(time),
        )
        .await,
        send(PAY, body.clone(), None, Some(time)).await,
        send(PAY, body.clone(), Some(good.clone()), None).await,
        send(
            PAY,
            body.clone(),
            Some("algorithm=RSA256,keyVersion=1,signature=%%%".into()),
            Some(time),
        )
        .await,
    ] {
        assert_eq!(reply.code(), "INVALID_SIGNATURE");
        assert_eq!(reply.verified, None);
    }
    // The untampered request with spaces after commas in the header is fine.
    let spaced = good.replace(',', ", ");
    let reply = send(PAY, body, Some(spaced), Some(time)).await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    assert_eq!(sim.payments().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn param_illegal_cases() {
    let (sim, client) = start().await;
    let mut cases = Vec::new();
    let mut b = pay_body("p-x1", &code("00"), "12.50", None);
    cases.push(("non-numeric amount", b.clone()));
    b = pay_body("p-x2", &code("00"), "100", None);
    b["order"]["orderAmount"]["currency"] = json!("USD");
    cases.push(("currency mismatch", b.clone()));
    b = pay_body(&"x".repeat(65), &code("00"), "100", None);
    cases.push(("id too long", b.clone()));
    b = pay_body("p-x4", &code("00"), "100", None);
    b.as_object_mut().unwrap().remove("order");
    cases.push(("missing order", b.clone()));
    b = pay_body("p-x5", &code("00"), "100", None);
    b["productCode"] = json!("CASHIER_PAYMENT");
    cases.push(("product code", b.clone()));
    b = pay_body("p-x6", &code("00"), "100", None);
    b["paymentExpiryTime"] = json!("tomorrow");
    cases.push(("expiry time", b.clone()));
    for (what, body) in cases {
        let reply = client.call(PAY, &body).await;
        assert_eq!(reply.signed_code(), "PARAM_ILLEGAL", "{what}");
    }
    let reply = client.call_raw(PAY, b"{not json".to_vec()).await.unwrap();
    assert_eq!(reply.signed_code(), "PARAM_ILLEGAL");
    let reply = client.call(INQUIRY, &json!({})).await;
    assert_eq!(reply.signed_code(), "PARAM_ILLEGAL");
    let reply = client
        .call(REFUND, &json!({"refundRequestId": "r", "paymentId": "p"}))
        .await;
    assert_eq!(reply.signed_code(), "PARAM_ILLEGAL");
    assert!(sim.payments().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn scalars_are_strings_and_numbers_are_accepted_leniently() {
    let (sim, client) = start().await;
    let mut body = pay_body("p-n", &code("00"), "100", None);
    body["paymentAmount"]["value"] = json!(100);
    body["order"]["orderAmount"]["value"] = json!(100);
    let reply = client.call(PAY, &body).await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    assert_eq!(reply.json()["paymentAmount"]["value"], json!("100"));
    sim.shutdown().await;
}

#[tokio::test]
async fn clock_skew_knob() {
    let (sim, client) =
        start_with(|c| c.max_clock_skew = Some(std::time::Duration::from_secs(60))).await;
    // The harness always sends 1700000000000 (Nov 2023): far from now.
    let reply = client
        .call(PAY, &pay_body("p-skew", &code("00"), "100", None))
        .await;
    assert_eq!(reply.signed_code(), "PARAM_ILLEGAL");
    sim.shutdown().await;
}

#[tokio::test]
async fn calls_are_logged_in_order() {
    let (sim, client) = start().await;
    client
        .call(PAY, &pay_body("p-l", &code("00"), "100", None))
        .await;
    client.call(INQUIRY, &by_prid("p-l")).await;
    client.call(CANCEL, &by_prid("p-l")).await;
    let calls = sim.calls();
    let apis: Vec<&str> = calls.iter().map(|c| c.api.as_str()).collect();
    assert_eq!(apis, ["pay", "inquiry_payment", "cancel"]);
    assert!(
        calls
            .iter()
            .all(|c| c.payment_request_id.as_deref() == Some("p-l"))
    );
    assert_eq!(calls[2].result_code, "SUCCESS");
    assert!(calls.windows(2).all(|w| w[0].seq < w[1].seq));
    sim.shutdown().await;
}
