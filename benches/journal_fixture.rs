//! What the store benches write: one approved terminal purchase (or REST payment) as the switch
//! journals it.
#![allow(dead_code)]

use asw_core::domain::Origin;
use asw_core::ports::Journal;
use asw_core::record::{SavedAnswer, TransactionRecord, mark_sending, plan_change};
use asw_core::state::Event;
use asw_store::RedisStore;
use asw_testkit::fixtures::purchase_record_of;

/// The fixtures' fixed "now".
pub const NOW: i64 = asw_testkit::fixtures::NOW_MS;

/// Purchase `n` of one terminal, paid (its payment id and wallet filled in).
pub fn record(n: u32) -> TransactionRecord {
    TransactionRecord {
        payment_id: Some("202511221940108001001888A0000000001".into()),
        wallet: Some("Alipay".into()),
        ..purchase_record_of("T1000000", n, NOW)
    }
}

/// The two durable writes of an approved purchase: `begin`, then APPROVED + SENDING in one
/// compare-and-set. Returns the record as begun.
pub async fn approved_purchase(store: &RedisStore, n: u32) -> TransactionRecord {
    begin_and_approve(store, record(n), None).await
}

/// `begin`, then APPROVED + SENDING in one compare-and-set (keeping `answer` with it).
async fn begin_and_approve(
    store: &RedisStore,
    rec: TransactionRecord,
    answer: Option<SavedAnswer>,
) -> TransactionRecord {
    store.begin(&rec).await.unwrap();
    let mut approved = plan_change(&rec, Event::Succeeded, NOW, "bench")
        .unwrap()
        .unwrap();
    mark_sending(&mut approved, NOW);
    approved.saved_answer = answer;
    store.commit(&approved).await.unwrap();
    rec
}

/// A REST payment's first answer as the front keeps it for replays (its size is what matters).
const REST_ANSWER: &str = r#"{"fingerprint":"67bd989211e8cafb4ddad80202386657a85a49f1ec6cc064cf862471b1cb4753","status":201,"body":{"id":"pay_P696f912e8de97c97b210c43e924be606","order_id":"run1-23572-0","status":"succeeded","amount":{"currency":"SGD","value":100},"amount_refunded":{"currency":"SGD","value":0},"method":{"type":"payment_code","code":"2810**********0000"},"description":null,"metadata":{},"failure":null,"wallet":"ALIPAYCN","antom":{"payment_request_id":"P696f912e8de97c97b210c43e924be606","payment_id":"2026120719401080010010000000000000001"},"created_at":"2026-12-07T14:25:48.49Z","expires_at":"2026-12-07T14:30:48.49Z"}}"#;

/// REST payment `n` of one merchant: its own order (the order lock and the merchant's payment
/// index are written by `begin`), paid.
pub fn rest_record(n: u32) -> TransactionRecord {
    TransactionRecord {
        origin: Origin::rest("M00000000000001", "bench"),
        dedup_key: format!("rest|M00000000000001|idem-{n}"),
        order_ref: Some(format!("order-{n}")),
        ..record(n)
    }
}

/// A REST payment's two durable writes: `begin` (with the order lock), then APPROVED +
/// SENDING with the first answer kept in the same commit.
pub async fn approved_rest_payment(store: &RedisStore, n: u32) -> TransactionRecord {
    let answer = SavedAnswer {
        text: REST_ANSWER.to_string(),
    };
    begin_and_approve(store, rest_record(n), Some(answer)).await
}
