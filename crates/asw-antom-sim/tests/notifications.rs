//! notifyPayment over real HTTP: a tiny axum receiver verifies each notification with the
//! Antom public key and acknowledges (or not, to exercise re-sends).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic on bad fixtures

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_antom::Notification;
use axum::body::Bytes;
use axum::http::HeaderMap;
use common::*;

/// What the receiver saw, and how many of the first deliveries it should refuse.
#[derive(Default)]
struct Inbox {
    received: Vec<(Result<Notification, String>, String)>,
    refuse_first: usize,
    /// Answer refusals with a wrong body (200 + U) instead of HTTP 500.
    refuse_with_wrong_body: bool,
}

struct Receiver {
    url: String,
    inbox: Arc<Mutex<Inbox>>,
}

async fn receiver(refuse_first: usize, refuse_with_wrong_body: bool) -> Receiver {
    let inbox = Arc::new(Mutex::new(Inbox {
        refuse_first,
        refuse_with_wrong_body,
        ..Inbox::default()
    }));
    let verifier = asw_antom::Verifier::from_public_key(&testdata("antom_public.pem")).unwrap();
    let state = Arc::clone(&inbox);
    let app = axum::Router::new().route(
        "/antom/notify",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let state = Arc::clone(&state);
            let verifier = verifier.clone();
            async move {
                let verified = asw_antom::verify_notification(&verifier, "/antom/notify", &headers, &body)
                    .map_err(|e| e.to_string());
                let time = headers
                    .get("request-time")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let mut inbox = state.lock().unwrap();
                inbox.received.push((verified, time));
                if inbox.received.len() <= inbox.refuse_first {
                    if inbox.refuse_with_wrong_body {
                        (
                            axum::http::StatusCode::OK,
                            r#"{"result":{"resultCode":"UNKNOWN_EXCEPTION","resultStatus":"U","resultMessage":"later"}}"#,
                        )
                    } else {
                        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "oops")
                    }
                } else {
                    (axum::http::StatusCode::OK, asw_antom::NOTIFY_ACK_SUCCESS_BODY)
                }
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

#[tokio::test]
async fn success_sends_one_signed_notification_that_verifies() {
    let (sim, client) = start().await;
    let rx = receiver(0, false).await;
    let reply = client
        .call(PAY, &pay_body("n-1", &code("00"), "1234", Some(&rx.url)))
        .await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    wait_for("notification", || {
        rx.inbox.lock().unwrap().received.len() == 1
    })
    .await;
    wait_for("ack recorded", || {
        sim.payment("n-1").unwrap().notifications_acked == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let received = rx.inbox.lock().unwrap().received.clone();
    assert_eq!(received.len(), 1, "no re-send after an ack");
    let (verified, time) = &received[0];
    assert!(time.ends_with("-08:00"), "ISO request-time: {time}");
    let Ok(Notification::Payment(n)) = verified else {
        panic!("not a verified payment notification: {verified:?}");
    };
    assert!(n.is_payment_success());
    assert_eq!(n.payment_request_id, "n-1");
    assert_eq!(n.payment.payment_amount.as_ref().unwrap().value, "1234");
    assert_eq!(n.payment.payment_amount.as_ref().unwrap().currency, "SGD");
    assert_eq!(
        n.payment.payment_id.as_deref(),
        reply.json()["paymentId"].as_str()
    );
    let view = sim.payment("n-1").unwrap();
    assert_eq!((view.notifications_sent, view.notifications_acked), (1, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn re_sent_until_acknowledged_with_the_exact_body() {
    let (sim, client) = start().await;
    // 500 twice, then 200 + a U body twice (wrong acknowledgement), then the real ack.
    let rx = receiver(2, false).await;
    client
        .call(PAY, &pay_body("n-retry", &code("00"), "100", Some(&rx.url)))
        .await;
    wait_for("third attempt", || {
        rx.inbox.lock().unwrap().received.len() == 3
    })
    .await;
    wait_for("ack recorded", || {
        sim.payment("n-retry").unwrap().notifications_acked == 1
    })
    .await;
    let view = sim.payment("n-retry").unwrap();
    assert_eq!(view.notifications_sent, 3);

    let rx = receiver(2, true).await;
    client
        .call(PAY, &pay_body("n-wrong", &code("00"), "100", Some(&rx.url)))
        .await;
    wait_for("third attempt", || {
        rx.inbox.lock().unwrap().received.len() == 3
    })
    .await;
    wait_for("ack recorded", || {
        sim.payment("n-wrong").unwrap().notifications_acked == 1
    })
    .await;
    // All copies are identical bodies with valid signatures.
    assert!(
        rx.inbox
            .lock()
            .unwrap()
            .received
            .iter()
            .all(|(v, _)| v.is_ok())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn gives_up_after_eight_attempts() {
    // x0.00001: the whole 24 h schedule takes under a second.
    let (sim, client) = start_with(|c| c.notify_retry_scale = 0.000_01).await;
    let rx = receiver(usize::MAX, false).await;
    client
        .call(PAY, &pay_body("n-never", &code("00"), "100", Some(&rx.url)))
        .await;
    wait_for("eight attempts", || {
        rx.inbox.lock().unwrap().received.len() == 8
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.inbox.lock().unwrap().received.len(), 8);
    let view = sim.payment("n-never").unwrap();
    assert_eq!((view.notifications_sent, view.notifications_acked), (8, 0));
    sim.shutdown().await;
}

#[tokio::test]
async fn none_for_failures_and_for_payments_cancelled_before_success() {
    let (sim, client) = start().await;
    let rx = receiver(0, false).await;
    client
        .call(PAY, &pay_body("n-fail", &code("10"), "100", Some(&rx.url)))
        .await;
    client
        .call(PAY, &pay_body("n-proc", &code("32"), "100", Some(&rx.url)))
        .await;
    client.call(CANCEL, &by_prid("n-proc")).await;
    client
        .call(PAY, &pay_body("n-u", &code("30"), "100", Some(&rx.url)))
        .await;
    client.call(CANCEL, &by_prid("n-u")).await;
    for _ in 0..3 {
        client.call(INQUIRY, &by_prid("n-u")).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(rx.inbox.lock().unwrap().received.is_empty());
    assert_eq!(sim.payment("n-u").unwrap().status, "CANCELLED");
    sim.shutdown().await;
}

#[tokio::test]
async fn processing_then_success_notifies_on_settlement() {
    let (sim, client) = start().await;
    let rx = receiver(0, false).await;
    client
        .call(
            PAY,
            &pay_body("n-settle", &code("30"), "100", Some(&rx.url)),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        rx.inbox.lock().unwrap().received.is_empty(),
        "not before success"
    );
    client.call(INQUIRY, &by_prid("n-settle")).await;
    client.call(INQUIRY, &by_prid("n-settle")).await;
    wait_for("notification", || {
        rx.inbox.lock().unwrap().received.len() == 1
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn late_success_after_cancel_and_duplicates() {
    let (sim, client) = start().await;
    let rx = receiver(0, false).await;
    client
        .call(PAY, &pay_body("n-late", &code("52"), "100", Some(&rx.url)))
        .await;
    assert_eq!(
        client.call(CANCEL, &by_prid("n-late")).await.signed_code(),
        "SUCCESS"
    );
    wait_for("late notification", || {
        rx.inbox.lock().unwrap().received.len() == 1
    })
    .await;
    // The payment stays CANCELLED whatever the notification says.
    assert_eq!(sim.payment("n-late").unwrap().status, "CANCELLED");
    let inq = client.call(INQUIRY, &by_prid("n-late")).await;
    assert_eq!(inq.json()["paymentStatus"], "CANCELLED");

    let rx = receiver(0, false).await;
    client
        .call(PAY, &pay_body("n-dup", &code("53"), "100", Some(&rx.url)))
        .await;
    wait_for("duplicate", || rx.inbox.lock().unwrap().received.len() == 2).await;
    let received = rx.inbox.lock().unwrap().received.clone();
    let ids: Vec<String> = received
        .iter()
        .map(|(v, _)| match v {
            Ok(Notification::Payment(n)) => n.payment_request_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, ["n-dup", "n-dup"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn forcing_success_notifies_and_reset_stops_pending_notifications() {
    let (sim, client) = start_with(|c| c.notify_delay = Duration::from_millis(300)).await;
    let rx = receiver(0, false).await;
    client
        .call(PAY, &pay_body("n-force", &code("32"), "100", Some(&rx.url)))
        .await;
    let (status, _) = post_json(
        &format!("{}/__sim/payments/n-force/force", sim.base_url()),
        &serde_json::json!({"status": "SUCCESS"}),
    )
    .await;
    assert_eq!(status, 200);
    wait_for("forced notification", || {
        rx.inbox.lock().unwrap().received.len() == 1
    })
    .await;

    client
        .call(PAY, &pay_body("n-reset", &code("00"), "100", Some(&rx.url)))
        .await;
    sim.reset();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        rx.inbox.lock().unwrap().received.len(),
        1,
        "reset cancels pending sends"
    );
    sim.shutdown().await;
}
