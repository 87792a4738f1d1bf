//! The order code request and its answers at the ISO edge: F3 `910000` read without a payment
//! code, and the answers' field 39 and field 48 (`QC`, `QE`, `PR`).

use asw_core::domain::{Origin, PaymentRequestId, TxnKind};
use asw_core::flows::{Answer, Outcome};
use asw_core::ids::IdGenerator;
use asw_core::record::{OrderCode, TransactionRecord};
use asw_core::state::{CancelReason, Delivery, TxnState};
use asw_iso8583::{Dialect, Message, MessageBuilder, Mti, PrivateData, PrivateDataBuilder, Tag};
use time::macros::date;

use crate::respond::{build_response, local_time};
use crate::translate::{Derive, order_code, purchase_request, reversal};

fn dialect() -> Dialect {
    Dialect::pos_binary().expect("dialect")
}

fn request(d: &Dialect, processing: &str, tlv: Option<(Tag, &str)>) -> Message {
    let mut b = MessageBuilder::new(d, Mti::FINANCIAL_REQUEST);
    b.set(3, processing.to_string()).unwrap();
    b.set_number(4, 1250).unwrap();
    b.set_number(11, 42).unwrap();
    b.set(12, "101500").unwrap();
    b.set(13, "1207").unwrap();
    b.set(22, "032").unwrap();
    b.set(25, "00").unwrap();
    b.set_padded(41, "T0000001").unwrap();
    b.set_padded(42, "M00000000000001").unwrap();
    b.set_number(49, 702).unwrap();
    if let Some((tag, value)) = tlv {
        let mut data = PrivateDataBuilder::new();
        data.push(tag, value).unwrap();
        b.set(48, data.build()).unwrap();
    }
    b.build()
}

fn derive(ids: &IdGenerator) -> Derive<'_> {
    Derive {
        ids,
        today: date!(2026 - 12 - 07),
    }
}

#[test]
fn an_order_code_request_reads_like_a_purchase_without_a_code() {
    let d = dialect();
    let ids = IdGenerator::new(b"test secret");
    let message = request(&d, "910000", None);
    let asked = order_code(&message, derive(&ids)).expect("readable");
    assert_eq!(asked.amount_minor, 1250);
    assert_eq!(asked.currency_numeric, 702);
    // The same ids a purchase with this key gets: a reversal derives them without the journal.
    let purchase = purchase_request(
        &request(&d, "000000", Some((Tag::PaymentCode, "281012345678901234"))),
        derive(&ids),
    )
    .expect("purchase");
    assert_eq!(asked.payment_request_id, purchase.payment_request_id);
    assert_eq!(asked.request.dedup_key, purchase.request.dedup_key);
    // ...but not the same content: a purchase re-using the key is a duplicate with other content.
    assert_ne!(asked.content_digest, purchase.content_digest);
}

#[test]
fn an_order_code_request_with_a_payment_code_is_a_format_error() {
    let d = dialect();
    let ids = IdGenerator::new(b"test secret");
    let message = request(&d, "910000", Some((Tag::PaymentCode, "281012345678901234")));
    assert!(order_code(&message, derive(&ids)).is_err());
}

#[test]
fn a_reversal_of_an_order_code_cancels_like_a_purchase_reversal() {
    let d = dialect();
    let ids = IdGenerator::new(b"test secret");
    let mut message = request(&d, "910000", None);
    message.set_mti(Mti::REVERSAL_ADVICE);
    let reversed = reversal(&message, derive(&ids)).expect("readable");
    assert!(reversed.of_purchase);
    let asked = order_code(&request(&d, "910000", None), derive(&ids)).unwrap();
    assert_eq!(
        reversed.original.payment_request_id,
        asked.payment_request_id
    );
}

fn record(state: TxnState, code: Option<&str>) -> TransactionRecord {
    TransactionRecord {
        version: 2,
        kind: TxnKind::Purchase,
        state,
        delivery: Delivery::None,
        handovers: 0,
        failed_handovers: 0,
        handed_over_at_ms: 0,
        payment_request_id: PaymentRequestId::new("P261207-OC-1"),
        refund_request_id: None,
        tag: "abcd0123".into(),
        dedup_key: "M|T|20261207|000042".into(),
        origin: Origin::terminal("M00000000000001", "T0000001"),
        content_digest: "d".into(),
        client: "default".into(),
        amount_minor: 1250,
        currency: "SGD".into(),
        currency_numeric: 702,
        masked_payment_code: None,
        payment_id: Some("2026120711940108001001000000000001".into()),
        refund_id: None,
        receipt_ref: "634110000042".into(),
        approval_code: Some("123456".into()),
        result_code: None,
        wallet: None,
        refunded_minor: 0,
        refund_holds: Vec::new(),
        order_ref: None,
        description: None,
        metadata: Default::default(),
        cancel_reason: None,
        online: None,
        order_code: Some(OrderCode {
            code_value: code.map(String::from),
            // 2026-12-07T02:18:00Z: 10:18:00 in the store (UTC+8).
            expires_at_ms: 1_796_609_880_000,
            antom_expire_time: None,
            utc_offset_minutes: 480,
        }),
        created_at_ms: 0,
        begin_token: 1,
        updated_at_ms: 0,
        call_over_at_ms: 0,
        response_deadline_ms: 0,
        terminal_deadline_ms: 0,
        gateway_deadline_ms: 0,
        payment_expiry_ms: 0,
    }
}

fn field_48(response: &Message) -> PrivateData<'_> {
    PrivateData::parse(response.get(48).expect("F48")).expect("TLV")
}

#[test]
fn a_code_on_display_is_answered_09_with_the_code_and_its_local_expiry() {
    let d = dialect();
    let message = request(&d, "910000", None);
    let answer = Answer::from_record(&record(TxnState::Unknown, Some("https://qr.example/2810X")));
    assert_eq!(answer.outcome, Outcome::AwaitingBuyer);
    let response = build_response(&d, &message, &answer).expect("response");
    assert_eq!(response.mti(), Mti::FINANCIAL_RESPONSE);
    assert_eq!(response.get_str(39), Some("09"));
    assert!(!response.has(38), "no approval code before SUCCESS");
    let tlv = field_48(&response);
    assert_eq!(tlv.get(Tag::OrderCode), Some("https://qr.example/2810X"));
    assert_eq!(tlv.get(Tag::OrderCodeExpiry), Some("20261207101800"));
    assert_eq!(tlv.get(Tag::PaymentRequestId), Some("P261207-OC-1"));
    assert_eq!(tlv.get(Tag::ResultMessage), Some("AWAITING_BUYER"));
}

#[test]
fn only_success_is_00_and_a_closed_or_failed_code_is_a_decline_without_the_code() {
    let d = dialect();
    let message = request(&d, "910000", None);
    let code = Some("https://qr.example/2810X");
    let answer = |r: TransactionRecord| {
        let response = build_response(&d, &message, &Answer::from_record(&r)).unwrap();
        let shows_code = response
            .get(48)
            .is_some_and(|v| PrivateData::parse(v).unwrap().get(Tag::OrderCode).is_some());
        (response.get_str(39).map(String::from), shows_code)
    };
    assert_eq!(
        answer(record(TxnState::Approved, code)),
        (Some("00".into()), false)
    );
    let mut declined = record(TxnState::Declined, code);
    declined.result_code = Some("USER_BALANCE_NOT_ENOUGH".into());
    assert_eq!(answer(declined), (Some("51".into()), false));
    let mut closed = record(TxnState::CancelPending, code);
    closed.cancel_reason = Some(CancelReason::GatewayDeadline);
    assert_eq!(answer(closed), (Some("05".into()), false));
    let mut reversed = record(TxnState::Cancelled, code);
    reversed.cancel_reason = Some(CancelReason::ReversalAdvice);
    assert_eq!(answer(reversed), (Some("91".into()), false));
    // Not created (the pay never answered with a code): unknown, cancelled.
    assert_eq!(
        answer(record(TxnState::CancelPending, None)),
        (Some("91".into()), false)
    );
}

#[test]
fn a_code_too_long_for_field_48_is_never_cut_and_never_in_progress() {
    let d = dialect();
    let message = request(&d, "910000", None);
    let long = "9".repeat(Tag::OrderCode.max_len() + 1);
    let answer = Answer::from_record(&record(TxnState::Unknown, Some(&long)));
    let response = build_response(&d, &message, &answer).expect("response");
    assert_eq!(response.get_str(39), Some("96"));
    assert!(!response.has(48));
}

#[test]
fn local_time_is_the_stores() {
    assert_eq!(
        local_time(1_796_609_880_000, 480).as_deref(),
        Some("20261207101800")
    );
    assert_eq!(
        local_time(1_796_609_880_000, 0).as_deref(),
        Some("20261207021800")
    );
    assert_eq!(
        local_time(1_796_609_880_000, -300).as_deref(),
        Some("20261206211800")
    );
}
