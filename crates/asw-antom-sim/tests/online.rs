//! Online wallet payments (`CASHIER_PAYMENT`) over real HTTP: the pay answer and its
//! continuation URLs, the hosted wallet page, the `/__sim/buyer/` hook, the notifications
//! (verified with the Antom public key by a small axum receiver), expiry and cancel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic on bad fixtures

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_antom::Notification;
use asw_antom::webhook::NotifyPayment;
use axum::body::Bytes;
use axum::http::HeaderMap;
use common::*;
use serde_json::{Value, json};

/// A merchant return URL with a query string and an escaped character: it must come back
/// byte for byte.
const REDIRECT: &str = "https://shop.example.com/return?ref=ORDER-1001&lang=en&note=a%20b";

/// An online pay body shaped like Antom's own WAP sample (no merchant, no paymentFactor).
fn online_body(prid: &str, value: &str, terminal: &str, notify: Option<&str>) -> Value {
    let mut body = json!({
        "productCode": "CASHIER_PAYMENT",
        "paymentRequestId": prid,
        "paymentAmount": {"currency": "SGD", "value": value},
        "paymentMethod": {"paymentMethodType": "ALIPAY_HK"},
        "paymentRedirectUrl": REDIRECT,
        "env": {"terminalType": terminal, "osType": "ANDROID", "clientIp": "203.0.113.7"},
        "order": {
            "referenceOrderId": "ORDER-1001",
            "orderDescription": "2 x T-shirt <blue>",
            "orderAmount": {"currency": "SGD", "value": value}
        }
    });
    if let Some(url) = notify {
        body["paymentNotifyUrl"] = json!(url);
    }
    body
}

/// One notification as received: the verified parse and the raw JSON.
type Received = (Result<Notification, String>, Value);

struct Receiver {
    url: String,
    inbox: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn count(&self) -> usize {
        self.inbox.lock().unwrap().len()
    }

    fn get(&self, i: usize) -> (NotifyPayment, Value) {
        let (verified, raw) = self.inbox.lock().unwrap()[i].clone();
        match verified {
            Ok(Notification::Payment(n)) => (*n, raw),
            other => panic!("not a verified payment notification: {other:?}"),
        }
    }
}

/// Verifies every notification with the Antom public key and acknowledges it.
async fn receiver() -> Receiver {
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let verifier = asw_antom::Verifier::from_public_key(&testdata("antom_public.pem")).unwrap();
    let state = Arc::clone(&inbox);
    let app = axum::Router::new().route(
        "/antom/notify",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let state = Arc::clone(&state);
            let verifier = verifier.clone();
            async move {
                let verified =
                    asw_antom::verify_notification(&verifier, "/antom/notify", &headers, &body)
                        .map_err(|e| e.to_string());
                let raw = serde_json::from_slice(&body).unwrap_or(Value::Null);
                state.lock().unwrap().push((verified, raw));
                (
                    axum::http::StatusCode::OK,
                    asw_antom::NOTIFY_ACK_SUCCESS_BODY,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url: format!("http://{addr}/antom/notify"),
        inbox,
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A browser that does not follow redirects, so the 303 itself can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Presses a button of the wallet page; returns the status and the Location header.
async fn press(page_url: &str, action: &str) -> (u16, Option<String>) {
    let resp = browser()
        .post(format!("{page_url}/{action}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), location)
}

async fn inquiry(client: &Client, prid: &str) -> Value {
    let reply = client.call(INQUIRY, &by_prid(prid)).await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    reply.json()
}

/// Pays online and returns the answer's JSON (asserting the normal `U PAYMENT_IN_PROCESS`).
async fn open_payment(client: &Client, prid: &str, notify: Option<&str>) -> Value {
    let reply = client
        .call(PAY, &online_body(prid, "1250", "WAP", notify))
        .await;
    assert_eq!(reply.signed_code(), "PAYMENT_IN_PROCESS", "{reply:?}");
    assert_eq!(reply.status_letter(), "U");
    reply.json()
}

#[tokio::test]
async fn pay_answers_in_process_with_the_continuation_and_again_on_a_resend() {
    let (sim, client) = start().await;
    let body = open_payment(&client, "on-1", None).await;
    let payment_id = body["paymentId"].as_str().unwrap().to_owned();
    assert_eq!(body["paymentRequestId"], "on-1");
    assert_eq!(
        body["paymentAmount"],
        json!({"currency": "SGD", "value": "1250"})
    );
    assert!(
        body["paymentCreateTime"]
            .as_str()
            .unwrap()
            .ends_with("-08:00")
    );
    let normal = format!("{}/checkout/wallet/{payment_id}", sim.base_url());
    assert_eq!(sim.public_url(), sim.base_url());
    assert_eq!(body["normalUrl"], json!(normal));
    assert_eq!(body["applinkUrl"], json!(format!("{normal}?entry=applink")));
    assert_eq!(
        body["schemeUrl"],
        json!(format!("alipayhk://pay?paymentId={payment_id}"))
    );
    assert_eq!(body["appIdentifier"], "hk.alipay.wallet");
    let form = &body["orderCodeForm"];
    assert!(form["expireTime"].as_str().unwrap().ends_with("-08:00"));
    let details = form["codeDetails"].as_array().unwrap();
    assert_eq!(details[0]["displayType"], "TEXT");
    assert_eq!(details[0]["codeValue"], json!(normal));
    assert_eq!(details[1]["displayType"], "BIGIMAGE");
    // A string holding JSON, never an object.
    let action: Value = serde_json::from_str(body["paymentActionForm"].as_str().unwrap()).unwrap();
    assert_eq!(action["paymentActionFormType"], "RedirectActionForm");
    assert_eq!(action["method"], "GET");
    assert_eq!(action["redirectUrl"], json!(normal));
    // It parses with the switch's own wire model.
    let typed: asw_antom::api::PayResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(typed.normal_url.as_deref(), Some(normal.as_str()));

    let inq = inquiry(&client, "on-1").await;
    assert_eq!(inq["paymentStatus"], "PROCESSING");

    let again = open_payment(&client, "on-1", None).await;
    for field in [
        "paymentId",
        "normalUrl",
        "applinkUrl",
        "schemeUrl",
        "appIdentifier",
        "orderCodeForm",
        "paymentActionForm",
        "paymentCreateTime",
    ] {
        assert_eq!(again[field], body[field], "{field} changed on a re-send");
    }
    let other = client
        .call(PAY, &online_body("on-1", "1300", "WAP", None))
        .await;
    assert_eq!(other.signed_code(), "REPEAT_REQ_INCONSISTENT");
    let mut other_wallet = online_body("on-1", "1250", "WAP", None);
    other_wallet["paymentMethod"]["paymentMethodType"] = json!("GCASH");
    assert_eq!(
        client.call(PAY, &other_wallet).await.signed_code(),
        "REPEAT_REQ_INCONSISTENT"
    );
    let view = sim.payment("on-1").unwrap();
    assert_eq!(view.status, "PROCESSING");
    assert_eq!(view.payment_method_type.as_deref(), Some("ALIPAY_HK"));
    assert_eq!(view.payment_redirect_url.as_deref(), Some(REDIRECT));
    sim.shutdown().await;
}

#[tokio::test]
async fn web_terminals_get_no_app_links_and_public_url_is_used() {
    let (sim, client) = start_with(|cfg| {
        cfg.public_url = Some("https://sim.example.test:8443".into());
    })
    .await;
    let reply = client
        .call(PAY, &online_body("on-web", "1250", "WEB", None))
        .await;
    assert_eq!(reply.signed_code(), "PAYMENT_IN_PROCESS");
    let body = reply.json();
    let id = body["paymentId"].as_str().unwrap();
    assert_eq!(
        body["normalUrl"],
        json!(format!(
            "https://sim.example.test:8443/checkout/wallet/{id}"
        ))
    );
    for absent in ["applinkUrl", "schemeUrl", "appIdentifier"] {
        assert!(body.get(absent).is_none(), "{absent} on a WEB answer");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn online_requests_are_validated_like_antom() {
    let (sim, client) = start().await;
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "no redirect url",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("paymentRedirectUrl");
            }),
            "PARAM_ILLEGAL",
        ),
        (
            "no terminal type",
            Box::new(|b| {
                b["env"].as_object_mut().unwrap().remove("terminalType");
            }),
            "PARAM_ILLEGAL",
        ),
        (
            "bad terminal type",
            Box::new(|b| b["env"]["terminalType"] = json!("POS")),
            "PARAM_ILLEGAL",
        ),
        (
            "no reference order id",
            Box::new(|b| {
                b["order"]
                    .as_object_mut()
                    .unwrap()
                    .remove("referenceOrderId");
            }),
            "PARAM_ILLEGAL",
        ),
        (
            "unknown wallet",
            Box::new(|b| b["paymentMethod"]["paymentMethodType"] = json!("NOT_A_WALLET")),
            asw_antom_sim::online::METHOD_NOT_OFFERED_CODE,
        ),
        (
            "currencies differ",
            Box::new(|b| b["order"]["orderAmount"]["currency"] = json!("HKD")),
            "PARAM_ILLEGAL",
        ),
        (
            "zero amount",
            Box::new(|b| b["paymentAmount"]["value"] = json!("0")),
            "PARAM_ILLEGAL",
        ),
    ];
    for (i, (what, edit, expected)) in cases.iter().enumerate() {
        let prid = format!("on-bad-{i}");
        let mut body = online_body(&prid, "1250", "WAP", None);
        edit(&mut body);
        let reply = client.call(PAY, &body).await;
        assert_eq!(reply.signed_code(), *expected, "{what}");
        assert_eq!(reply.status_letter(), "F", "{what}");
        assert!(sim.payment(&prid).is_none(), "{what}: something was stored");
    }
    // In-store bodies are still checked as before.
    let mut in_store = pay_body("on-bad-x", &code("00"), "100", None);
    in_store["productCode"] = json!("SOMETHING_ELSE");
    assert_eq!(
        client.call(PAY, &in_store).await.signed_code(),
        "PARAM_ILLEGAL"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_page_shows_the_order_and_approve_pays_redirects_and_notifies() {
    let (sim, client) = start().await;
    let rx = receiver().await;
    let body = open_payment(&client, "on-ok", Some(&rx.url)).await;
    let page_url = body["normalUrl"].as_str().unwrap().to_owned();

    let page = reqwest::get(&page_url).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    for needle in [
        "SGD 12.50",
        "AlipayHK",
        "ORDER-1001",
        "2 x T-shirt &lt;blue&gt;",
        r#"data-action="approve""#,
        r#"data-action="decline""#,
        r#"data-action="leave""#,
    ] {
        assert!(html.contains(needle), "{needle} missing in {html}");
    }
    assert!(!html.contains("<blue>"), "merchant text not escaped");
    // The applink variant is the same page.
    let applink = reqwest::get(body["applinkUrl"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(applink.status().as_u16(), 200);
    let qr = reqwest::get(format!("{page_url}/qr")).await.unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");

    assert_eq!(
        press(&page_url, "approve").await,
        (303, Some(REDIRECT.to_owned()))
    );
    let inq = inquiry(&client, "on-ok").await;
    assert_eq!(inq["paymentStatus"], "SUCCESS");
    assert!(inq["paymentTime"].is_string());

    wait_for("the success notification", || rx.count() == 1).await;
    let (n, raw) = rx.get(0);
    assert!(n.is_payment_success());
    assert_eq!(n.payment_request_id, "on-ok");
    assert_eq!(n.payment.payment_id.as_deref(), body["paymentId"].as_str());
    assert_eq!(n.payment.payment_amount.as_ref().unwrap().value, "1250");
    assert!(n.payment.payment_time.is_some());
    assert_eq!(
        n.payment
            .psp_customer_info
            .as_ref()
            .unwrap()
            .psp_name
            .as_deref(),
        Some("ALIPAY_HK")
    );
    assert_eq!(raw["paymentMethodType"], "ALIPAY_HK");
    wait_for("the ack", || {
        sim.payment("on-ok").unwrap().notifications_acked == 1
    })
    .await;

    // Pressing again (or declining) changes nothing, still redirects, notifies nothing more.
    assert_eq!(
        press(&page_url, "approve").await,
        (303, Some(REDIRECT.to_owned()))
    );
    assert_eq!(
        press(&page_url, "decline").await,
        (303, Some(REDIRECT.to_owned()))
    );
    // A re-sent pay now gets the final answer.
    let replay = client
        .call(PAY, &online_body("on-ok", "1250", "WAP", None))
        .await;
    assert_eq!(replay.signed_code(), "SUCCESS");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(rx.count(), 1);
    assert_eq!(sim.payment("on-ok").unwrap().status, "SUCCESS");
    sim.shutdown().await;
}

#[tokio::test]
async fn decline_fails_the_payment_and_sends_an_f_notification() {
    let (sim, client) = start().await;
    let rx = receiver().await;
    let body = open_payment(&client, "on-no", Some(&rx.url)).await;
    let page_url = body["normalUrl"].as_str().unwrap();
    assert_eq!(
        press(page_url, "decline").await,
        (303, Some(REDIRECT.to_owned()))
    );
    let inq = inquiry(&client, "on-no").await;
    assert_eq!(inq["paymentStatus"], "FAIL");
    assert_eq!(
        inq["paymentResultCode"],
        asw_antom_sim::online::DECLINE_CODE
    );

    wait_for("the failure notification", || rx.count() == 1).await;
    let (n, raw) = rx.get(0);
    assert!(!n.is_payment_success());
    assert_eq!(n.notify_type, "PAYMENT_RESULT");
    assert_eq!(n.result.result_status.as_str(), "F");
    assert_eq!(n.result.result_code, "USER_BALANCE_NOT_ENOUGH");
    assert_eq!(n.payment.payment_id.as_deref(), body["paymentId"].as_str());
    assert!(n.payment.payment_time.is_none());
    assert_eq!(raw["paymentMethodType"], "ALIPAY_HK");
    assert_eq!(press(page_url, "approve").await.0, 303);
    assert_eq!(sim.payment("on-no").unwrap().status, "FAIL");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_hook_plays_the_buyer_and_leave_changes_nothing() {
    let (sim, client) = start().await;
    let rx = receiver().await;
    let body = open_payment(&client, "on-hook", Some(&rx.url)).await;
    let id = body["paymentId"].as_str().unwrap();
    let hook = |action: &str| format!("{}/__sim/buyer/{id}/{action}", sim.base_url());

    let (status, left) = post_json(&hook("leave"), &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(left["status"], "PROCESSING");
    assert_eq!(left["changed"], false);
    assert_eq!(left["redirectUrl"], REDIRECT);
    assert_eq!(
        inquiry(&client, "on-hook").await["paymentStatus"],
        "PROCESSING"
    );

    let (_, paid) = post_json(&hook("approve"), &json!({})).await;
    assert_eq!(paid["status"], "SUCCESS");
    assert_eq!(paid["changed"], true);
    assert_eq!(paid["paymentRequestId"], "on-hook");
    wait_for("the success notification", || rx.count() == 1).await;
    assert!(rx.get(0).0.is_payment_success());

    let (_, again) = post_json(&hook("decline"), &json!({})).await;
    assert_eq!(
        (again["status"].as_str(), again["changed"].as_bool()),
        (Some("SUCCESS"), Some(false))
    );
    let (status, _) = post_json(&hook("dance"), &json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = post_json(
        &format!("{}/__sim/buyer/nope/approve", sim.base_url()),
        &json!({}),
    )
    .await;
    assert_eq!(status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_and_in_store_payments_have_no_wallet_page() {
    let (sim, client) = start().await;
    let resp = reqwest::get(format!("{}/checkout/wallet/123", sim.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert!(resp.text().await.unwrap().contains("<html"));
    assert_eq!(
        press(
            &format!("{}/checkout/wallet/123", sim.base_url()),
            "approve"
        )
        .await
        .0,
        404
    );
    let reply = client
        .call(PAY, &pay_body("in-store-1", &code("00"), "100", None))
        .await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    let id = reply.json()["paymentId"].as_str().unwrap().to_owned();
    let resp = reqwest::get(format!("{}/checkout/wallet/{id}", sim.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    // Pages are not API calls: the log only has the pay.
    assert_eq!(sim.calls().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unpaid_payment_closes_at_expiry_and_notifies_f() {
    let (sim, client) = start_with(|cfg| cfg.online_expiry = Duration::from_millis(300)).await;
    let rx = receiver().await;
    let body = open_payment(&client, "on-exp", Some(&rx.url)).await;
    // Nobody looks at the payment: the close and its notification come by themselves.
    wait_for("the expiry notification", || rx.count() == 1).await;
    let (n, _) = rx.get(0);
    assert_eq!(n.result.result_status.as_str(), "F");
    assert_eq!(n.result.result_code, asw_antom_sim::online::EXPIRED_CODE);
    assert_eq!(n.result.result_code, "ORDER_IS_CLOSED");
    let inq = inquiry(&client, "on-exp").await;
    assert_eq!(inq["paymentStatus"], "FAIL");
    assert_eq!(inq["paymentResultCode"], "ORDER_IS_CLOSED");
    // Too late to pay: the page only sends the buyer back.
    let page_url = body["normalUrl"].as_str().unwrap();
    assert_eq!(
        press(page_url, "approve").await,
        (303, Some(REDIRECT.to_owned()))
    );
    assert_eq!(inquiry(&client, "on-exp").await["paymentStatus"], "FAIL");
    let replay = client
        .call(PAY, &online_body("on-exp", "1250", "WAP", None))
        .await;
    assert_eq!(replay.signed_code(), "ORDER_IS_CLOSED");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(rx.count(), 1, "the expiry is notified once");
    sim.shutdown().await;
}

#[tokio::test]
async fn payment_expiry_time_wins_and_a_moved_clock_expires_at_once() {
    let (sim, client) = start().await; // 14-minute default
    let rx = receiver().await;
    let mut body = online_body("on-pet", "1250", "WAP", Some(&rx.url));
    body["paymentExpiryTime"] = json!("2099-01-01T00:00:00+08:00");
    let reply = client.call(PAY, &body).await;
    assert_eq!(reply.signed_code(), "PAYMENT_IN_PROCESS");
    assert_eq!(
        reply.json()["orderCodeForm"]["expireTime"],
        "2098-12-31T08:00:00-08:00"
    );
    let _ = open_payment(&client, "on-default", Some(&rx.url)).await;
    // 20 minutes later: the default-expiry payment closes, the 2099 one does not.
    let (status, _) = post_json(
        &format!("{}/__sim/clock", sim.base_url()),
        &json!({"offsetMs": 20 * 60 * 1000}),
    )
    .await;
    assert_eq!(status, 200);
    wait_for("the expiry notification", || rx.count() == 1).await;
    assert_eq!(rx.get(0).0.payment_request_id, "on-default");
    assert_eq!(
        inquiry(&client, "on-pet").await["paymentStatus"],
        "PROCESSING"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_closes_an_open_payment_and_a_later_approve_does_nothing() {
    let (sim, client) = start().await;
    let rx = receiver().await;
    let body = open_payment(&client, "on-cxl", Some(&rx.url)).await;
    let cancel = client.call(CANCEL, &by_prid("on-cxl")).await;
    assert_eq!(cancel.signed_code(), "SUCCESS");
    let page_url = body["normalUrl"].as_str().unwrap();
    assert_eq!(
        press(page_url, "approve").await,
        (303, Some(REDIRECT.to_owned()))
    );
    assert_eq!(
        inquiry(&client, "on-cxl").await["paymentStatus"],
        "CANCELLED"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(rx.count(), 0, "a cancelled payment notifies nothing");

    // A paid online payment is refunded by a cancel, as in-store.
    let paid = open_payment(&client, "on-cxl-2", None).await;
    assert_eq!(
        press(paid["normalUrl"].as_str().unwrap(), "approve")
            .await
            .0,
        303
    );
    assert_eq!(
        client
            .call(CANCEL, &by_prid("on-cxl-2"))
            .await
            .signed_code(),
        "SUCCESS"
    );
    let view = sim.payment("on-cxl-2").unwrap();
    assert_eq!(view.status, "CANCELLED");
    assert!(view.cancelled_after_success);
    sim.shutdown().await;
}

#[tokio::test]
async fn amount_scenarios_and_the_fault_mix_apply_to_online_pays() {
    let (sim, client) = start().await;
    // 9901: U UNKNOWN_EXCEPTION, nothing stored.
    let reply = client
        .call(PAY, &online_body("on-9901", "9901", "WAP", None))
        .await;
    assert_eq!(reply.signed_code(), "UNKNOWN_EXCEPTION");
    assert!(sim.payment("on-9901").is_none());
    sim.shutdown().await;

    // u_rate: U UNKNOWN_EXCEPTION with the order created; the re-send gets the URLs.
    let (sim, client) = start_with(|cfg| {
        cfg.faults = asw_antom_sim::FaultMix::from_toml("u_rate = 1.0\nseed = 7").unwrap();
    })
    .await;
    let reply = client
        .call(PAY, &online_body("on-u", "1250", "WAP", None))
        .await;
    assert_eq!(reply.signed_code(), "UNKNOWN_EXCEPTION");
    assert!(reply.json().get("normalUrl").is_none());
    assert_eq!(sim.payment("on-u").unwrap().status, "PROCESSING");
    let again = open_payment(&client, "on-u", None).await;
    assert!(again["normalUrl"].is_string());
    sim.shutdown().await;

    // lost_after_commit_rate: the answer is lost, the order exists, the re-send gets the URLs.
    let (sim, client) = start_with(|cfg| {
        cfg.faults =
            asw_antom_sim::FaultMix::from_toml("lost_after_commit_rate = 1.0\nseed = 7").unwrap();
    })
    .await;
    let body = serde_json::to_vec(&online_body("on-lost", "1250", "WAP", None)).unwrap();
    assert!(
        client.call_raw(PAY, body).await.is_err(),
        "the answer should be lost"
    );
    assert_eq!(sim.payment("on-lost").unwrap().status, "PROCESSING");
    let again = open_payment(&client, "on-lost", None).await;
    assert!(again["normalUrl"].is_string());
    sim.shutdown().await;
}
