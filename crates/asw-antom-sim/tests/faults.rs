//! Fault scenarios over real HTTP: answers lost after commit, slow answers, U results, 5xx /
//! HTML / empty / truncated bodies, bad response signatures, eventual consistency, and the
//! seeded random fault mix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic on bad fixtures

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test]
async fn lost_after_commit_drops_the_connection_but_keeps_the_payment() {
    let (sim, client) = start().await;
    let body = serde_json::to_vec(&pay_body("f-lost", &code("40"), "100", None)).unwrap();
    let err = client
        .call_raw(PAY, body.clone())
        .await
        .expect_err("no answer expected");
    assert!(!err.is_timeout(), "dropped, not slow: {err}");
    assert_eq!(sim.payment("f-lost").unwrap().status, "SUCCESS");
    let call = sim.calls().pop().unwrap();
    assert!(call.dropped);
    assert_eq!(call.result_code, "SUCCESS");
    // The gateway inquires and finds the success; a retried pay now gets its answer.
    let inq = client.call(INQUIRY, &by_prid("f-lost")).await;
    assert_eq!(inq.json()["paymentStatus"], "SUCCESS");
    assert_eq!(
        client.call_raw(PAY, body).await.unwrap().signed_code(),
        "SUCCESS"
    );
    // Other connections were not affected.
    assert_eq!(
        client.call(INQUIRY, &by_prid("f-lost")).await.signed_code(),
        "SUCCESS"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_answers_committed_late_committed_and_not_committed() {
    let (sim, mut client) = start().await;
    client.http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let slow = |suffix: &str, prid: &str| {
        serde_json::to_vec(&pay_body(prid, &code(suffix), "100", None)).unwrap()
    };

    // 41: committed first, answered late.
    let err = client
        .call_raw(PAY, slow("41", "f-slow-c"))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(sim.payment("f-slow-c").unwrap().status, "SUCCESS");
    // The call is logged once the simulator notices the closed connection, not before.
    let call = last_call_of(&sim, "f-slow-c").await;
    assert!(call.client_gone, "the client timed out first: {call:?}");
    assert_eq!(call.result_code, "SUCCESS");

    // 42: nothing exists during the delay, then it lands.
    let err = client
        .call_raw(PAY, slow("42", "f-slow-late"))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(sim.payment("f-slow-late").is_none(), "not yet committed");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sim.payment("f-slow-late").unwrap().status, "SUCCESS");

    // 43: slow and never committed.
    let err = client
        .call_raw(PAY, slow("43", "f-slow-never"))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(sim.payment("f-slow-never").is_none());

    // With a patient client, the slow answer does arrive and is signed.
    client.http = reqwest::Client::new();
    let started = Instant::now();
    let reply = client
        .call_raw(PAY, slow("41", "f-slow-patient"))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(550));
    assert_eq!(reply.signed_code(), "SUCCESS");
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_results_committed_or_not() {
    let (sim, client) = start().await;
    let r = client
        .call(PAY, &pay_body("f-u-c", &code("33"), "100", None))
        .await;
    assert_eq!(
        (r.signed_code(), r.status_letter()),
        ("UNKNOWN_EXCEPTION".into(), "U".into())
    );
    assert_eq!(sim.payment("f-u-c").unwrap().status, "SUCCESS");
    let r = client
        .call(PAY, &pay_body("f-u-n", &code("34"), "100", None))
        .await;
    assert_eq!(r.signed_code(), "UNKNOWN_EXCEPTION");
    assert!(sim.payment("f-u-n").is_none());
    assert_eq!(
        client.call(INQUIRY, &by_prid("f-u-n")).await.signed_code(),
        "ORDER_NOT_EXIST"
    );
    let r = client
        .call(PAY, &pay_body("f-traffic", &code("35"), "100", None))
        .await;
    assert_eq!(
        (r.signed_code(), r.status_letter()),
        ("REQUEST_TRAFFIC_EXCEED_LIMIT".into(), "U".into())
    );
    // The AMS sandbox amounts.
    let r = client
        .call(PAY, &pay_body("f-9901", &code("00"), "9901", None))
        .await;
    assert_eq!(r.signed_code(), "UNKNOWN_EXCEPTION");
    assert!(sim.payment("f-9901").is_none());
    let r = client
        .call(PAY, &pay_body("f-9903", &code("00"), "9903", None))
        .await;
    assert_eq!(r.signed_code(), "SUCCESS");
    let r = client.call(INQUIRY, &by_prid("f-9903")).await;
    assert_eq!(
        (r.signed_code(), r.status_letter()),
        ("UNKNOWN_EXCEPTION".into(), "U".into())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn garbage_answers() {
    let (sim, client) = start().await;
    let cases = [
        ("44", 500u16, true),
        ("45", 503, false),
        ("46", 200, true),
        ("47", 200, true),
    ];
    for (suffix, status, committed) in cases {
        let prid = format!("f-garbage-{suffix}");
        let reply = client
            .call(PAY, &pay_body(&prid, &code(suffix), "100", None))
            .await;
        assert_eq!(reply.status, status, "{suffix}");
        assert_eq!(reply.verified, None, "{suffix}: no signature on garbage");
        assert!(reply.json().is_null(), "{suffix}: not JSON");
        assert_eq!(sim.payment(&prid).is_some(), committed, "{suffix}");
    }
    // Truncated JSON, correctly signed over the truncated bytes.
    let reply = client
        .call(PAY, &pay_body("f-trunc", &code("48"), "100", None))
        .await;
    assert_eq!(reply.verified, Some(true));
    assert!(reply.json().is_null());
    // Bad signature.
    let reply = client
        .call(PAY, &pay_body("f-badsig", &code("50"), "100", None))
        .await;
    assert_eq!(reply.verified, Some(false));
    assert_eq!(reply.code(), "SUCCESS");
    assert_eq!(sim.payment("f-badsig").unwrap().status, "SUCCESS");
    // The repeat of the same pay is clean.
    let reply = client
        .call(PAY, &pay_body("f-badsig", &code("50"), "100", None))
        .await;
    assert_eq!(reply.signed_code(), "SUCCESS");
    let calls = sim.calls();
    assert!(calls.iter().any(|c| c.signing == "bad_signature"));
    assert!(
        calls
            .iter()
            .any(|c| c.signing == "raw" && c.http_status == 503)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn inquiry_not_found_at_first_then_visible() {
    let (sim, client) = start().await;
    let body = serde_json::to_vec(&pay_body("f-ec", &code("51"), "100", None)).unwrap();
    assert!(client.call_raw(PAY, body).await.is_err(), "answer dropped");
    assert_eq!(
        client.call(INQUIRY, &by_prid("f-ec")).await.signed_code(),
        "ORDER_NOT_EXIST"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    let r = client.call(INQUIRY, &by_prid("f-ec")).await;
    assert_eq!(r.json()["paymentStatus"], "SUCCESS");
    sim.shutdown().await;
}

#[tokio::test]
async fn inquiry_slow_amount() {
    let (sim, mut client) = start().await;
    client
        .call(PAY, &pay_body("f-9904", &code("00"), "9904", None))
        .await;
    client.http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .call_raw(INQUIRY, serde_json::to_vec(&by_prid("f-9904")).unwrap())
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // Cancel is not slowed.
    assert_eq!(
        client.call(CANCEL, &by_prid("f-9904")).await.signed_code(),
        "SUCCESS"
    );
    sim.shutdown().await;
}

fn chaos() -> asw_antom_sim::FaultMix {
    asw_antom_sim::FaultMix::from_toml(
        "u_rate = 0.2\nslow_rate = 0.1\nslow_ms = 1\nlost_after_commit_rate = 0.1\n\
         bad_signature_rate = 0.1\nhttp_5xx_rate = 0.1\nseed = 7\n",
    )
    .unwrap()
}

/// Runs 60 pays and returns a fingerprint of what happened to each.
async fn chaos_run() -> (Vec<String>, usize) {
    let (sim, client) = start_with(|c| c.faults = chaos()).await;
    let mut outcomes = Vec::new();
    for i in 0..60 {
        let prid = format!("chaos-{i}");
        let body = serde_json::to_vec(&pay_body(&prid, &code("00"), "100", None)).unwrap();
        let outcome = match client.call_raw(PAY, body).await {
            Err(_) => "dropped".to_owned(),
            Ok(r) => format!("{}:{}:{:?}", r.status, r.code(), r.verified),
        };
        outcomes.push(outcome);
    }
    let payments = sim.payments().len();
    sim.shutdown().await;
    (outcomes, payments)
}

#[tokio::test]
async fn fault_mix_is_seeded_and_reproducible() {
    let (first, stored_first) = chaos_run().await;
    let (second, stored_second) = chaos_run().await;
    assert_eq!(first, second, "same seed, same calls -> same faults");
    assert_eq!(stored_first, stored_second);
    let count = |p: &str| first.iter().filter(|o| o.contains(p)).count();
    assert!(count("dropped") > 0, "{first:?}");
    assert!(count("503") > 0, "{first:?}");
    assert!(count("PAYMENT_IN_PROCESS") > 0, "{first:?}");
    assert!(count("Some(false)") > 0, "{first:?}");
    assert!(count("200:SUCCESS:Some(true)") > 10, "{first:?}");
    // 5xx from the mix stores nothing; everything else was committed.
    assert_eq!(stored_first, 60 - count("503"));
}

#[tokio::test]
async fn fault_mix_leaves_scenario_codes_alone() {
    let (sim, client) = start_with(|c| {
        c.faults = asw_antom_sim::FaultMix::from_toml("http_5xx_rate = 1.0\nseed = 1").unwrap()
    })
    .await;
    let r = client
        .call(PAY, &pay_body("chaos-decline", &code("10"), "100", None))
        .await;
    assert_eq!(r.signed_code(), "USER_BALANCE_NOT_ENOUGH");
    let r = client
        .call(PAY, &pay_body("chaos-ok", &code("00"), "100", None))
        .await;
    assert_eq!(r.status, 503);
    sim.shutdown().await;
}

/// The last logged call for a payment, waiting (up to 5 s) for the simulator to log it.
async fn last_call_of(
    sim: &asw_antom_sim::SimHandle,
    payment_request_id: &str,
) -> asw_antom_sim::CallRecord {
    let start = Instant::now();
    loop {
        let found = sim
            .calls()
            .into_iter()
            .rev()
            .find(|c| c.payment_request_id.as_deref() == Some(payment_request_id));
        if let Some(call) = found {
            return call;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no call logged for {payment_request_id}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
