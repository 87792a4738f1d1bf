//! Shared helpers for the criterion benchmarks under `benches/`.

use asw_core::domain::{Origin, PaymentRequestId, TxnKind};
use asw_core::record::TransactionRecord;
use asw_core::state::{Delivery, TxnState};

/// A freshly journaled purchase (`PENDING`) of terminal `terminal_id` (8 characters), number `n`,
/// created at `now_ms` with the switch's default deadlines. Ids and the shard tag are unique
/// per (terminal, n).
pub fn purchase_record(terminal_id: &str, n: u32, now_ms: i64) -> TransactionRecord {
    let seed = terminal_id
        .bytes()
        .fold(n, |acc, b| acc.rotate_left(5) ^ u32::from(b));
    let tag = format!("{:08x}", seed.wrapping_mul(2_654_435_761));
    TransactionRecord {
        version: 1,
        kind: TxnKind::Purchase,
        state: TxnState::Pending,
        delivery: Delivery::None,
        payment_request_id: PaymentRequestId::new(format!("261122{terminal_id}{n:08}{tag}")),
        refund_request_id: None,
        tag,
        dedup_key: format!("M1|{terminal_id}|20261122|{n:08}"),
        origin: Origin::terminal("M1", terminal_id),
        content_digest: "0123456789abcdef0123456789abcdef".into(),
        client: "default".into(),
        amount_minor: 1000,
        currency: "SGD".into(),
        currency_numeric: 702,
        masked_payment_code: Some("2810**********1234".into()),
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
