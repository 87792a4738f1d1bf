//! Ready-made journal values for tests: a pending purchase, its tombstone and cancel.

use asw_core::domain::{Origin, PaymentRequestId, TxnKind};
use asw_core::ports::Tombstone;
use asw_core::record::{SafAction, SafEntry, TransactionRecord};
use asw_core::state::{CancelReason, Delivery, TxnState};

/// A pending purchase (version 1) created at `now_ms`, numbered `n`: its tag, journal id,
/// duplicate key and STAN all derive from `n`, so distinct numbers never collide. Deadlines:
/// call over at +10 s, response +25 s, terminal +30 s, gateway +60 s, payment expiry +600 s.
pub fn purchase(n: u32, now_ms: i64) -> TransactionRecord {
    // A multiplicative hash spreads the tags (and so the Redis shards) of consecutive numbers.
    let tag = format!("{:08x}", n.wrapping_mul(2_654_435_761));
    TransactionRecord {
        version: 1,
        kind: TxnKind::Purchase,
        state: TxnState::Pending,
        delivery: Delivery::None,
        payment_request_id: PaymentRequestId::new(format!("261122T1000{n:06}{tag}")),
        refund_request_id: None,
        tag,
        dedup_key: format!("M1|T1|20261122|{n:06}"),
        origin: Origin::terminal("M1", "T1"),
        content_digest: "digest".into(),
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
        cancel_reason: None,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
        call_over_at_ms: now_ms + 10_000,
        response_deadline_ms: now_ms + 25_000,
        terminal_deadline_ms: now_ms + 30_000,
        gateway_deadline_ms: now_ms + 60_000,
        payment_expiry_ms: now_ms + 600_000,
    }
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
