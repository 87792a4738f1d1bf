//! Shared test data. [`switch_config`] renders the one switch configuration file of the tests.
//!
//! The one hand-built journal record of the tests and benches: a freshly journaled purchase
//! with realistic ids and the switch's default deadlines. Callers change what their case is
//! about with struct update syntax (`TransactionRecord { state, ..purchase_record(n) }`), so
//! a new field of [`TransactionRecord`] is added here once, not in every test crate.
//!
//! asw-core's own unit tests (inside its `src/`) cannot use this: they would see a second
//! copy of asw-core's types.

pub mod switch_config;

use asw_core::domain::{Origin, PaymentRequestId, TxnKind};
use asw_core::ports::Tombstone;
use asw_core::record::{SafAction, SafEntry, TransactionRecord};
use asw_core::state::{CancelReason, Delivery, TxnState};

/// The fixed "now" of the fixtures (2025-11-22 08:53:20 UTC), ms since the Unix epoch.
pub const NOW_MS: i64 = 1_763_800_000_000;

/// Merchant id of every fixture record.
pub const MERCHANT_ID: &str = "M1";

/// Terminal id of [`purchase_record`].
pub const TERMINAL_ID: &str = "T1";

/// The terminal's local date (`YYYYMMDD`) in every fixture's duplicate-detection key.
pub const LOCAL_DATE: &str = "20251122";

/// Purchase number `n` of terminal [`TERMINAL_ID`], journaled at [`NOW_MS`]: see
/// [`purchase_record_of`].
pub fn purchase_record(n: u32) -> TransactionRecord {
    purchase_record_of(TERMINAL_ID, n, NOW_MS)
}

/// A purchase just journaled (`PENDING`, version 1, nothing delivered) of 10.00 SGD by
/// terminal `terminal_id` of [`MERCHANT_ID`], STAN `n` (modulo 10⁶), created at `now_ms`
/// with the default deadlines (call over after 10 s, answer due after 25 s, terminal gone
/// after 30 s, gateway deadline after 60 s, payment expiry after 10 min). The shard tag,
/// `paymentRequestId` and duplicate-detection key are unique per (terminal, `n`), so many
/// records can share one Redis.
pub fn purchase_record_of(terminal_id: &str, n: u32, now_ms: i64) -> TransactionRecord {
    // n times an odd constant is a bijection whose low bits change with n, so consecutive
    // records spread over the store's shards (tag modulo the shard count); xor with a hash
    // of the terminal id (FNV-1a) keeps the terminals of one Redis apart.
    let salt = terminal_id.bytes().fold(0x811c_9dc5_u32, |acc, b| {
        (acc ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let tag = format!("{:08x}", n.wrapping_mul(2_654_435_761) ^ salt);
    TransactionRecord {
        version: 1,
        kind: TxnKind::Purchase,
        state: TxnState::Pending,
        delivery: Delivery::None,
        handovers: 0,
        failed_handovers: 0,
        handed_over_at_ms: 0,
        payment_request_id: PaymentRequestId::new(format!("251122{terminal_id}{n:08}{tag}")),
        refund_request_id: None,
        tag,
        dedup_key: format!("{MERCHANT_ID}|{terminal_id}|{LOCAL_DATE}|{n:06}"),
        origin: Origin::terminal(MERCHANT_ID, terminal_id),
        content_digest: "0123456789abcdef0123456789abcdef".into(),
        client: "default".into(),
        amount_minor: 1000,
        currency: "SGD".into(),
        currency_numeric: 702,
        masked_payment_code: Some("2810**********1234".into()),
        payment_id: None,
        refund_id: None,
        receipt_ref: "532610000001".into(),
        approval_code: None,
        result_code: None,
        wallet: None,
        refunded_minor: 0,
        refund_holds: Vec::new(),
        order_ref: None,
        description: None,
        metadata: Default::default(),
        cancel_reason: None,
        created_at_ms: now_ms,
        begin_token: 0,
        online: None,
        order_code: None,
        updated_at_ms: now_ms,
        call_over_at_ms: now_ms + 10_000,
        response_deadline_ms: now_ms + 25_000,
        terminal_deadline_ms: now_ms + 30_000,
        gateway_deadline_ms: now_ms + 60_000,
        payment_expiry_ms: now_ms + 600_000,
    }
}

/// Purchase number `n` of terminal [`TERMINAL_ID`] journaled at `now_ms` (the contract
/// suite's and the fakes' name for [`purchase_record_of`]).
pub fn purchase(n: u32, now_ms: i64) -> TransactionRecord {
    purchase_record_of(TERMINAL_ID, n, now_ms)
}

/// The tombstone and cancel a reversal of `original` writes when the journal never saw it.
pub fn tombstone_for(original: &TransactionRecord, now_ms: i64) -> (Tombstone, SafEntry) {
    let tombstone = Tombstone {
        tag: original.tag.clone(),
        dedup_key: original.dedup_key.clone(),
        payment_request_id: original.payment_request_id.clone(),
        created_at_ms: now_ms,
    };
    let cancel = SafEntry {
        action: SafAction::Cancel,
        payment_request_id: original.payment_request_id.clone(),
        journal_id: original.journal_id().to_string(),
        tag: original.tag.clone(),
        client: original.client.clone(),
        reason: CancelReason::ReversalAdvice,
        enqueued_at_ms: now_ms,
        not_before_ms: now_ms,
        order_may_appear_until_ms: original.payment_expiry_ms,
        tombstone: true,
    };
    (tombstone, cancel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_per_terminal_and_number() {
        let mut tags = HashSet::new();
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for terminal in ["T1", "T2", "T0000001"] {
            for n in 0..2_000 {
                let r = purchase_record_of(terminal, n, NOW_MS);
                assert!(tags.insert(r.tag.clone()), "tag of {terminal}/{n}");
                assert!(ids.insert(r.payment_request_id.to_string()));
                assert!(keys.insert(r.dedup_key.clone()));
                assert!(r.payment_request_id.to_string().ends_with(&r.tag));
            }
        }
    }

    #[test]
    fn consecutive_records_spread_over_shards() {
        let shards: HashSet<u32> = (200..216)
            .map(|n| u32::from_str_radix(&purchase_record(n).tag, 16).unwrap() % 4)
            .collect();
        assert_eq!(shards.len(), 4);
    }

    #[test]
    fn the_key_fields_agree_with_the_dedup_key() {
        let r = purchase_record(2);
        assert_eq!(r.dedup_key, "M1|T1|20251122|000002");
        assert_eq!(r.origin, Origin::terminal(MERCHANT_ID, TERMINAL_ID));
        assert_eq!(r.created_at_ms, NOW_MS);
        assert_eq!(r.state, TxnState::Pending);
    }
}
