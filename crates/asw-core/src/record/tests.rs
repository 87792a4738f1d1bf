//! Tests of the record: its outlook sentences, planned changes, refund holds, and reading the
//! records earlier releases wrote.

use super::*;
use crate::domain::PaymentRequestId;
use crate::state::DeadlineWatch;

#[test]
fn outlook_says_final_only_for_a_handed_over_approval() {
    let mut r = pending();
    assert!(r.outlook().starts_with("journaled"));
    r.state = TxnState::Approved;
    assert!(r.outlook().contains("not handed"));
    r.delivery = Delivery::Sending;
    assert!(r.outlook().ends_with("final"));
    r.delivery = Delivery::Undelivered;
    assert!(r.outlook().contains("cancelled at the gateway deadline"));
    r.kind = TxnKind::Refund;
    assert_eq!(r.outlook(), "refunded at Antom: final");
    for state in TxnState::ALL {
        r.state = state;
        assert!(!r.outlook().is_empty());
    }
}

#[test]
fn outlook_of_an_order_code_on_display_says_who_closes_it() {
    let mut r = pending();
    r.state = TxnState::Unknown;
    assert!(r.outlook().contains("inquiring"));
    r.order_code = Some(OrderCode::default());
    assert!(
        r.outlook()
            .starts_with("order code on the terminal's display")
    );
    r.state = TxnState::Approved;
    assert!(r.outlook().contains("not handed"), "then as any purchase");
}

/// A record written before order codes existed reads without one; an order code's round-trips.
#[test]
fn order_code_part_is_optional_and_round_trips() {
    let plain = pending();
    let json = serde_json::to_string(&plain).unwrap();
    assert!(!json.contains("order_code"));
    let mut with_code = plain;
    with_code.order_code = Some(OrderCode {
        code_value: Some("https://qr.example/1".into()),
        expires_at_ms: 42,
        antom_expire_time: Some("2026-12-07T10:18:00+08:00".into()),
        utc_offset_minutes: 480,
    });
    let json = serde_json::to_string(&with_code).unwrap();
    let back: TransactionRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, with_code);
}

pub(crate) fn pending() -> TransactionRecord {
    TransactionRecord {
        version: 3,
        kind: TxnKind::Purchase,
        state: TxnState::Pending,
        delivery: Delivery::None,
        handovers: 0,
        failed_handovers: 0,
        handed_over_at_ms: 0,
        payment_request_id: PaymentRequestId::new("261122100000T1000001000000001a2b3c4d"),
        refund_request_id: None,
        tag: "1a2b3c4d".into(),
        dedup_key: "M1|T1|20261122|000001".into(),
        origin: Origin::terminal("M1", "T1"),
        content_digest: "d".into(),
        client: "default".into(),
        amount_minor: 1000,
        currency: "SGD".into(),
        currency_numeric: 702,
        masked_payment_code: None,
        payment_id: None,
        refund_id: None,
        receipt_ref: "632610000001".into(),
        approval_code: None,
        result_code: None,
        wallet: None,
        refunded_minor: 0,
        refund_holds: Vec::new(),
        order_ref: None,
        description: None,
        metadata: Default::default(),
        cancel_reason: None,
        created_at_ms: 0,
        begin_token: 0,
        online: None,
        order_code: None,
        updated_at_ms: 0,
        call_over_at_ms: 10,
        response_deadline_ms: 20,
        terminal_deadline_ms: 30,
        gateway_deadline_ms: 40,
        payment_expiry_ms: 50,
    }
}

#[test]
fn an_approval_and_its_sending_mark_are_one_change() {
    let mut change = plan_change(&pending(), Event::Succeeded, 5, "pay S")
        .unwrap()
        .unwrap();
    mark_sending(&mut change, 5);
    assert_eq!(change.expected_version, 3);
    assert_eq!(change.record.version, 4, "one write, one version step");
    assert_eq!(change.record.state, TxnState::Approved);
    assert_eq!(change.record.delivery, Delivery::Sending);
    assert_eq!(change.enqueue, None);
    assert_eq!(
        change.deadline,
        DeadlineWatch::Stop,
        "handed over: the sweeper has nothing left to do"
    );
}

/// A record as the previous release wrote it (its `terminal_key` with the terminal's date,
/// time and STAN, its `rrn`, the F39 it answered): a switch upgraded in place must read it.
#[test]
fn records_of_the_previous_release_still_load() {
    let old = r#"{"version":4,"kind":"purchase","state":"APPROVED","delivery":"SENDING",
        "payment_request_id":"261122100000T00000011000000001a2b3c4d","tag":"1a2b3c4d",
        "dedup_key":"M1|T0000001|20261122|000001",
        "terminal_key":{"merchant_id":"M1","terminal_id":"T0000001","local_date":"1122",
            "local_time":"100000","stan":"000001"},
        "content_digest":"d","client":"default","amount_minor":1000,"currency":"SGD",
        "currency_numeric":702,"masked_payment_code":"28**********1234",
        "payment_id":"P1","rrn":"632610000001","approval_code":"A1B2C3",
        "response_code":"00","result_code":"SUCCESS","wallet":"Alipay",
        "refunded_minor":0,"created_at_ms":1,"updated_at_ms":2,"call_over_at_ms":3,
        "response_deadline_ms":4,"terminal_deadline_ms":5,"gateway_deadline_ms":6,
        "payment_expiry_ms":7}"#;
    let record: TransactionRecord = serde_json::from_str(old).unwrap();
    assert_eq!(record.origin, Origin::terminal("M1", "T0000001"));
    assert_eq!(record.receipt_ref, "632610000001");
    assert_eq!(record.state, TxnState::Approved);
    assert_eq!(record.delivery, Delivery::Sending);
    assert!(record.refund_holds.is_empty());
    // Written back in this release's shape, it reads the same.
    let again: TransactionRecord =
        serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
    assert_eq!(again, record);
}

/// Every journal write carries the whole record, fsync'd: a fresh purchase's JSON names no
/// field that is still at its default, and reads back the same.
#[test]
fn a_fresh_record_leaves_its_defaults_out_of_the_json() {
    let record = pending();
    let json = serde_json::to_string(&record).unwrap();
    for absent in [
        "\"refund_request_id\"",
        "\"payment_id\"",
        "\"refund_id\"",
        "\"approval_code\"",
        "\"result_code\"",
        "\"wallet\"",
        "\"cancel_reason\"",
        "\"refunded_minor\"",
        "\"delivery\"",
        "null",
    ] {
        assert!(!json.contains(absent), "{absent} in {json}");
    }
    let again: TransactionRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(again, record);
    // Once set, they are written.
    let approved = TransactionRecord {
        payment_id: Some("P1".into()),
        refunded_minor: 5,
        delivery: Delivery::Sending,
        ..record
    };
    let json = serde_json::to_string(&approved).unwrap();
    assert!(json.contains("\"payment_id\":\"P1\""), "{json}");
    assert!(json.contains("\"refunded_minor\":5"), "{json}");
    assert!(json.contains("\"delivery\":\"SENDING\""), "{json}");
}

#[test]
fn refund_holds_are_idempotent_bounded_by_the_payment_and_released_on_decline() {
    let approved = TransactionRecord {
        state: TxnState::Approved,
        ..pending()
    };
    let r1 = RefundRequestId::new("R1");
    let held = plan_refund_hold(&approved, &r1, 400, 7).unwrap().unwrap();
    assert_eq!(held.record.refunded_minor, 400);
    assert_eq!(held.record.version, approved.version + 1);
    assert_eq!(held.record.state, TxnState::Approved);
    assert_eq!(
        (held.enqueue.clone(), held.deadline),
        (None, DeadlineWatch::Keep)
    );
    // A re-sent refund holds nothing more.
    assert_eq!(plan_refund_hold(&held.record, &r1, 400, 8), Ok(None));
    let r2 = RefundRequestId::new("R2");
    assert_eq!(
        plan_refund_hold(&held.record, &r2, 601, 8),
        Err(HoldRefused::Exceeds)
    );
    let full = plan_refund_hold(&held.record, &r2, 600, 8)
        .unwrap()
        .unwrap();
    assert_eq!(full.record.refunded_minor, 1000);
    let released = plan_refund_release(&full.record, &r1, 9).unwrap();
    assert_eq!(released.record.refunded_minor, 600);
    assert_eq!(released.record.refund_holds.len(), 1);
    assert_eq!(plan_refund_release(&released.record, &r1, 9), None);
    let cancelled = TransactionRecord {
        state: TxnState::CancelPending,
        ..approved
    };
    assert_eq!(
        plan_refund_hold(&cancelled, &r1, 1, 9),
        Err(HoldRefused::NotApproved)
    );
}

#[test]
fn a_success_that_becomes_a_cancel_is_not_marked_sending() {
    let declined = TransactionRecord {
        state: TxnState::Declined,
        ..pending()
    };
    let mut change = plan_change(&declined, Event::Succeeded, 5, "late S")
        .unwrap()
        .unwrap();
    let before = change.clone();
    mark_sending(&mut change, 5);
    assert_eq!(change, before);
    assert_eq!(change.record.state, TxnState::CancelPending);
    assert_eq!(change.record.delivery, Delivery::None);
}

#[test]
fn rest_transitions_raise_one_merchant_event_each_and_terminals_none() {
    let mut rest = pending();
    rest.origin = Origin::rest("M1", "k1");
    let event_of = |from: &TransactionRecord, e: Event| {
        plan_change(from, e, 5, "t")
            .ok()
            .flatten()
            .and_then(|c| c.outbox)
            .map(|o| o.kind)
    };
    assert_eq!(
        event_of(&rest, Event::Succeeded).as_deref(),
        Some("payment.succeeded")
    );
    assert_eq!(
        event_of(&rest, Event::Failed).as_deref(),
        Some("payment.failed")
    );
    assert_eq!(
        event_of(&rest, Event::Uncertain),
        None,
        "not final: nothing to tell"
    );
    let cancel = Event::CancelRequested(CancelReason::ResponseDeadline);
    assert_eq!(
        event_of(&rest, cancel).as_deref(),
        Some("payment.cancelled")
    );
    // The SENDING mark of an approval changes nothing the merchant sees.
    let mut approved = rest.clone();
    approved.state = TxnState::Approved;
    assert_eq!(event_of(&approved, Event::DeliveryStarted), None);
    assert_eq!(
        event_of(&approved, cancel).as_deref(),
        Some("payment.cancelled")
    );
    // An online payment closed unpaid at its closing time expired; cancelled otherwise.
    let mut online = rest.clone();
    online.online = Some(Box::default());
    assert_eq!(
        event_of(&online, Event::GatewayDeadline).as_deref(),
        Some("payment.expired")
    );
    assert_eq!(
        event_of(&online, cancel).as_deref(),
        Some("payment.cancelled")
    );
    assert_eq!(
        event_of(&rest, Event::GatewayDeadline).as_deref(),
        Some("payment.cancelled")
    );
    // A terminal's transitions raise none.
    assert_eq!(event_of(&pending(), Event::Succeeded), None);
    // The id is stable per record and type, so a redelivery is recognisable.
    let change = plan_change(&rest, Event::Succeeded, 5, "t").ok().flatten();
    let event = change
        .and_then(|c| c.outbox)
        .map(|o| (o.id, o.merchant_id, o.tag));
    assert_eq!(
        event,
        Some((
            format!("evt_{}_payment_succeeded", rest.journal_id()),
            "M1".to_string(),
            rest.tag.clone()
        ))
    );
}

#[test]
fn a_failed_hand_over_un_hands_the_approval_only_when_every_one_failed() {
    let mut approved = pending();
    approved.state = TxnState::Approved;
    let step = |from: &TransactionRecord, event: Event, now: i64| {
        plan_change(from, event, now, "t")
            .ok()
            .flatten()
            .expect("a change")
    };
    let first = step(&approved, Event::DeliveryStarted, 10);
    assert_eq!(
        (
            first.record.delivery,
            first.record.handovers,
            first.record.handed_over_at_ms
        ),
        (Delivery::Sending, 1, 10)
    );
    // Folding a mark into a change that is one already counts nothing more.
    let mut folded = first.clone();
    mark_sending(&mut folded, 11);
    assert_eq!(folded.record.handovers, 1);
    // A read says it again: counted, the settle window not moved.
    let second = step(&first.record, Event::DeliveryStarted, 20);
    assert_eq!(
        (second.record.handovers, second.record.handed_over_at_ms),
        (2, 10)
    );
    // One fails: the other may have reached the merchant.
    let one_failed = step(&second.record, Event::DeliveryFailed, 30);
    assert_eq!(
        (one_failed.record.delivery, one_failed.deadline),
        (Delivery::Sending, DeadlineWatch::Keep)
    );
    // Both failed: watched again.
    let both_failed = step(&one_failed.record, Event::DeliveryFailed, 40);
    assert_eq!(
        (both_failed.record.delivery, both_failed.deadline),
        (Delivery::Undelivered, DeadlineWatch::Resume)
    );
    // Marked again after that: a new settle window.
    let again = step(&both_failed.record, Event::DeliveryStarted, 50);
    assert_eq!(
        (
            again.record.delivery,
            again.record.handovers,
            again.record.handed_over_at_ms
        ),
        (Delivery::Sending, 3, 50)
    );
    // A SENDING record from before the counters counts one hand-over.
    let mut legacy = approved.clone();
    legacy.delivery = Delivery::Sending;
    let legacy_failed = step(&legacy, Event::DeliveryFailed, 60);
    assert_eq!(legacy_failed.record.delivery, Delivery::Undelivered);
    // Un-handing drops an answer kept for replays — REST's; a terminal keeps none.
    assert!(!legacy_failed.forgets_saved_answer());
    assert!(!one_failed.forgets_saved_answer());
    let mut rest = both_failed.clone();
    rest.record.origin = Origin::rest("M1", "k1");
    assert!(rest.forgets_saved_answer());
}
