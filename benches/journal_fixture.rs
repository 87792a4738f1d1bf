//! What the store benches write: one approved terminal purchase as the switch journals it.
#![allow(dead_code)]

use asw_core::ports::Journal;
use asw_core::record::{TransactionRecord, mark_sending, plan_change};
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
    let rec = record(n);
    store.begin(&rec).await.unwrap();
    let mut approved = plan_change(&rec, Event::Succeeded, NOW, "bench")
        .unwrap()
        .unwrap();
    mark_sending(&mut approved, NOW);
    store.commit(&approved).await.unwrap();
    rec
}
