//! Authority over the original: which terminal may void, refund, reverse or inquire about a
//! payment. A payment outside the sender's scope is answered exactly like one that does not
//! exist, and nothing changes at Antom.

// A failed step must stop the test with a clear message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use asw_core::domain::FollowUpScope;
use asw_e2e::pos::Pos;
use asw_e2e::{Harness, MID, OTHER_MERCHANT_TID, OTHER_MID, OTHER_STORE_TID, SAME_STORE_TID, code};
use asw_iso8583::Message;
use asw_iso8583::{Mti, Tag};
use asw_terminal_sim::{Answer, Reference};

const REFUND: &str = "200000";
const VOID: &str = "020000";
const STATUS: &str = "900000";

/// An approved purchase of the test terminal, with every way of naming it.
struct Paid {
    prid: String,
    rrn: String,
    payment_id: String,
    sent: asw_terminal_sim::Original,
}

async fn paid(h: &Harness, stan: u32, amount: u64) -> Paid {
    let owner = Pos::connect(h.downstream()).await;
    let (response, sent) = owner.purchase(stan, amount, &code("00")).await;
    assert_eq!(response.response_code(), "00");
    Paid {
        prid: response.payment_request_id().expect("PR").to_owned(),
        rrn: response.rrn().expect("RRN").to_owned(),
        payment_id: response.private_tag(Tag::PaymentId).expect("PI").to_owned(),
        sent,
    }
}

/// Each way of naming the original, with the code a sender outside the scope gets: `25` as
/// for a payment that does not exist, or `30` for a `PI` alone (which names nothing, whoever
/// sends it).
fn references(p: &Paid) -> [(&'static str, Reference, &'static str); 3] {
    [
        (
            "PR",
            Reference {
                payment_request_id: Some(p.prid.clone()),
                ..Reference::default()
            },
            "25",
        ),
        (
            "RRN",
            Reference {
                rrn: Some(p.rrn.clone()),
                ..Reference::default()
            },
            "25",
        ),
        (
            "PI",
            Reference {
                payment_id: Some(p.payment_id.clone()),
                ..Reference::default()
            },
            "30",
        ),
    ]
}

/// The answer to an original that does not exist: 25 with the same text, and nothing of the
/// original echoed.
fn assert_unknown(response: &Message, what: &str, p: &Paid) {
    assert_eq!(response.response_code(), "25", "{what}");
    assert_eq!(
        response.private_tag(Tag::ResultMessage),
        Some("ORIGINAL_NOT_FOUND"),
        "{what}: the same text as for a payment that does not exist"
    );
    assert_nothing_echoed(response, what, p);
}

/// Nothing of the original in the answer: no ids, no RRN, no approval code.
fn assert_nothing_echoed(response: &Message, what: &str, p: &Paid) {
    assert_eq!(response.payment_request_id(), None, "{what}: PR echoed");
    assert_eq!(
        response.private_tag(Tag::PaymentId),
        None,
        "{what}: PI echoed"
    );
    assert_ne!(response.rrn(), Some(p.rrn.as_str()), "{what}: RRN echoed");
    assert_eq!(response.get(38), None, "{what}: approval code");
}

/// Sends every follow-up with every reference kind from `mid`/`tid` and expects each to be
/// answered as unknown, with nothing changed at Antom.
async fn assert_outside_scope(h: &Harness, p: &Paid, mid: &str, tid: &str, stan_base: u32) {
    let mut stan = stan_base;
    let mut next = || {
        stan += 1;
        stan
    };
    let sender = Pos::connect_as(h.downstream(), mid, tid).await;
    for (kind, original, expected) in references(p) {
        for (name, processing, amount) in [
            ("refund", REFUND, 1_000),
            ("void", VOID, p.sent.amount),
            ("status", STATUS, 0),
        ] {
            let message = sender.follow_up_message(processing, next(), amount, &original);
            let response = sender.request(&message).await;
            let what = format!("{name} by {kind} from {mid}/{tid}");
            if expected == "25" {
                assert_unknown(&response, &what, p);
            } else {
                assert_eq!(response.response_code(), expected, "{what}");
                assert_nothing_echoed(&response, &what, p);
            }
        }
    }
    // A reversal names its original by the sender's own key: from another terminal it can only
    // ever name that terminal's own transactions. It is acknowledged like any unseen original.
    for mti in [Mti::REVERSAL_REQUEST, Mti::REVERSAL_ADVICE] {
        let response = sender.request(&sender.reversal_message(&p.sent, mti)).await;
        assert_eq!(response.response_code(), "00", "{mti} from {mid}/{tid}");
        assert_eq!(response.payment_request_id(), None);
    }
    let payment = h.payment(&p.prid).expect("payment at Antom");
    assert_eq!(payment.status, "SUCCESS", "from {mid}/{tid}");
    assert_eq!(payment.refunded_total, 0, "from {mid}/{tid}");
}

async fn settle_queue(h: &Harness, p: &Paid, reversals: usize) {
    // The reversals above queued cancels of the payments their own keys name (none exists);
    // once the engine has sent them, the original must still be untouched.
    let start = std::time::Instant::now();
    while h.sim.calls().iter().filter(|c| c.api == "cancel").count() < reversals {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the queued cancels were not sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.calls("cancel", &p.prid), 0, "no cancel of the original");
    assert_eq!(h.calls("refund", &p.prid), 0, "no refund of the original");
    assert_eq!(h.payment(&p.prid).expect("payment").status, "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_only_the_paying_terminal_may_follow_up() {
    let h = Harness::start().await;
    let p = paid(&h, 100001, 5_000).await;
    assert_outside_scope(&h, &p, MID, SAME_STORE_TID, 100_100).await;
    assert_outside_scope(&h, &p, MID, OTHER_STORE_TID, 100_200).await;
    assert_outside_scope(&h, &p, OTHER_MID, OTHER_MERCHANT_TID, 100_300).await;
    settle_queue(&h, &p, 6).await;
    // The paying terminal itself still may: status by PR, refund by PR.
    let owner = Pos::connect(h.downstream()).await;
    let by_pr = Reference {
        payment_request_id: Some(p.prid.clone()),
        ..Reference::default()
    };
    let status = owner
        .request(&owner.follow_up_message(STATUS, 100401, 0, &by_pr))
        .await;
    assert_eq!(status.response_code(), "00");
    let refund = owner
        .request(&owner.follow_up_message(REFUND, 100402, 1_000, &by_pr))
        .await;
    assert_eq!(refund.response_code(), "00");
    assert_eq!(h.payment(&p.prid).expect("payment").refunded_total, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_id_alone_names_nothing_and_must_match_the_original() {
    let h = Harness::start().await;
    let p = paid(&h, 110001, 5_000).await;
    let owner = Pos::connect(h.downstream()).await;
    // PI alone: the switch cannot scope it, so it names nothing (a format error, whoever sends
    // it; it used to refund any merchant's payment).
    let by_pi = Reference {
        payment_id: Some(p.payment_id.clone()),
        ..Reference::default()
    };
    let refund = owner
        .request(&owner.follow_up_message(REFUND, 110002, 1_000, &by_pi))
        .await;
    assert_eq!(refund.response_code(), "30");
    assert_nothing_echoed(&refund, "refund by PI alone", &p);
    // PR with a PI of another payment: the two do not name the same original.
    let other = paid(&h, 110003, 3_000).await;
    let mixed = Reference {
        payment_request_id: Some(p.prid.clone()),
        payment_id: Some(other.payment_id.clone()),
        ..Reference::default()
    };
    let refund = owner
        .request(&owner.follow_up_message(REFUND, 110004, 1_000, &mixed))
        .await;
    assert_unknown(&refund, "refund by PR with a foreign PI", &p);
    assert_eq!(h.payment(&p.prid).expect("payment").refunded_total, 0);
    assert_eq!(h.payment(&other.prid).expect("payment").refunded_total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_scope_admits_the_terminals_of_the_same_store_only() {
    let h = Harness::start_with(|c, _| c.merchants[0].follow_ups = FollowUpScope::Store).await;
    let p = paid(&h, 120001, 5_000).await;
    assert_outside_scope(&h, &p, MID, OTHER_STORE_TID, 120_100).await;
    assert_outside_scope(&h, &p, OTHER_MID, OTHER_MERCHANT_TID, 120_200).await;
    let colleague = Pos::connect_as(h.downstream(), MID, SAME_STORE_TID).await;
    let by_pr = Reference {
        payment_request_id: Some(p.prid.clone()),
        ..Reference::default()
    };
    let status = colleague
        .request(&colleague.follow_up_message(STATUS, 120301, 0, &by_pr))
        .await;
    assert_eq!(status.response_code(), "00");
    let refund = colleague
        .request(&colleague.follow_up_message(REFUND, 120302, 2_000, &by_pr))
        .await;
    assert_eq!(refund.response_code(), "00");
    assert_eq!(h.payment(&p.prid).expect("payment").refunded_total, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_scope_admits_every_terminal_of_the_merchant_and_no_other_merchant() {
    let h = Harness::start_with(|c, _| c.merchants[0].follow_ups = FollowUpScope::Merchant).await;
    let p = paid(&h, 130001, 5_000).await;
    assert_outside_scope(&h, &p, OTHER_MID, OTHER_MERCHANT_TID, 130_100).await;
    let desk = Pos::connect_as(h.downstream(), MID, OTHER_STORE_TID).await;
    let by_pr = Reference {
        payment_request_id: Some(p.prid.clone()),
        ..Reference::default()
    };
    let void = desk
        .request(&desk.follow_up_message(VOID, 130201, 5_000, &by_pr))
        .await;
    assert_eq!(void.response_code(), "00");
    h.wait_for_status(&p.prid, "CANCELLED", Duration::from_secs(10))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_after_a_partial_refund_is_declined_and_antom_keeps_the_rest() {
    let h = Harness::start().await;
    let p = paid(&h, 140001, 5_000).await;
    let owner = Pos::connect(h.downstream()).await;
    let by_pr = Reference {
        payment_request_id: Some(p.prid.clone()),
        ..Reference::default()
    };
    let refund = owner
        .request(&owner.follow_up_message(REFUND, 140002, 2_000, &by_pr))
        .await;
    assert_eq!(refund.response_code(), "00");
    let by_rrn = Reference {
        rrn: Some(p.rrn.clone()),
        ..Reference::default()
    };
    let void = owner
        .request(&owner.follow_up_message(VOID, 140003, 5_000, &by_rrn))
        .await;
    assert_eq!(
        void.response_code(),
        "12",
        "a void of a refunded payment cannot be honoured"
    );
    let payment = h.payment(&p.prid).expect("payment");
    assert_eq!(payment.status, "SUCCESS");
    assert_eq!(payment.refunded_total, 2_000);
    assert_eq!(h.calls("cancel", &p.prid), 0);
    // Refunds beyond what remains are refused by the switch itself.
    let over = owner
        .request(&owner.follow_up_message(REFUND, 140004, 3_001, &by_pr))
        .await;
    assert_eq!(over.response_code(), "13");
    let rest = owner
        .request(&owner.follow_up_message(REFUND, 140005, 3_000, &by_pr))
        .await;
    assert_eq!(rest.response_code(), "00");
    assert_eq!(h.payment(&p.prid).expect("payment").refunded_total, 5_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_and_a_void_racing_on_two_connections_never_both_succeed() {
    let h = Harness::start().await;
    for round in 0..6u32 {
        let p = paid(&h, 150_000 + round * 10, 5_000).await;
        let by_pr = Reference {
            payment_request_id: Some(p.prid.clone()),
            ..Reference::default()
        };
        let a = Pos::connect(h.downstream()).await;
        let b = Pos::connect(h.downstream()).await;
        let refund = a.follow_up_message(REFUND, 150_001 + round * 10, 2_000, &by_pr);
        let void = b.follow_up_message(VOID, 150_002 + round * 10, 5_000, &by_pr);
        let (refund, void) = tokio::join!(a.request(&refund), b.request(&void));
        let (refund, void) = (
            refund.response_code().to_string(),
            void.response_code().to_string(),
        );
        assert!(
            !(refund == "00" && void == "00"),
            "round {round}: both the refund and the void were approved"
        );
        if void == "00" {
            h.wait_for_status(&p.prid, "CANCELLED", Duration::from_secs(10))
                .await;
            assert_eq!(h.payment(&p.prid).expect("payment").refunded_total, 0);
        } else {
            assert_eq!(refund, "00", "round {round}: neither succeeded");
            let payment = h.payment(&p.prid).expect("payment");
            assert_eq!(
                (payment.status.as_str(), payment.refunded_total),
                ("SUCCESS", 2_000)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reversal_after_a_partial_refund_refunds_what_remains() {
    let h = Harness::start().await;
    let p = paid(&h, 160001, 5_000).await;
    let owner = Pos::connect(h.downstream()).await;
    let by_pr = Reference {
        payment_request_id: Some(p.prid.clone()),
        ..Reference::default()
    };
    let refund = owner
        .request(&owner.follow_up_message(REFUND, 160002, 2_000, &by_pr))
        .await;
    assert_eq!(refund.response_code(), "00");
    // An advice must be acknowledged; Antom refuses the cancel of a refunded payment, so the
    // engine refunds the 30.00 that remain.
    let advice = owner
        .request(&owner.reversal_message(&p.sent, Mti::REVERSAL_ADVICE))
        .await;
    assert_eq!(advice.response_code(), "00");
    let start = std::time::Instant::now();
    loop {
        let payment = h.payment(&p.prid).expect("payment");
        if payment.refunded_total == 5_000 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "Antom still holds {} of 5000",
            5_000 - payment.refunded_total
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
