//! The ids of a REST payment, all derived from the merchant and its `Idempotency-Key`.
//!
//! Like a terminal's ids they are a keyed hash of the request's natural key, so a retry with the
//! same key names the same payment on any instance, outsiders cannot predict them, and the last
//! eight characters are the journal shard tag.

use asw_core::domain::{PaymentRequestId, RefundRequestId};
use asw_core::flows::RequestKey;
use asw_core::ids::IdGenerator;

use crate::auth::Caller;

/// What a payment id shown to merchants starts with.
pub const PAYMENT_ID_PREFIX: &str = "pay_";

/// The longest `Idempotency-Key` accepted (Stripe's limit).
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Whether a merchant's `Idempotency-Key` is usable: 1 to 255 visible ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The journal's duplicate key of a merchant's idempotency key. The merchant is part of it, so
/// two merchants using the same key never meet.
fn dedup_key(caller: &Caller, idempotency_key: &str) -> String {
    format!("rest|{}|{}", caller.merchant_id, idempotency_key)
}

/// The journal shard tag of every attempt of one of the caller's orders.
pub fn order_tag(ids: &IdGenerator, caller: &Caller, order_id: &str) -> String {
    ids.key_tag(&format!("rest-order|{}|{order_id}", caller.merchant_id))
}

/// The request key of a payment of `order_id` created with `idempotency_key`. Its shard tag
/// comes from the order, so every attempt of one order lives in one shard, where the journal
/// keeps at most one of them live (the order lock of `begin`).
pub fn request_key(
    ids: &IdGenerator,
    caller: &Caller,
    idempotency_key: &str,
    order_id: &str,
) -> RequestKey {
    let dedup_key = dedup_key(caller, idempotency_key);
    let tag = order_tag(ids, caller, order_id);
    let prid = compose(ids, &dedup_key, &tag);
    RequestKey {
        origin: caller.origin(),
        dedup_key,
        tag,
        receipt_ref: prid,
        local_time: None,
    }
}

fn compose(ids: &IdGenerator, dedup_key: &str, tag: &str) -> String {
    format!("P{}{tag}", ids.mac_hex(&["rest-payment", dedup_key], 24))
}

/// What a refund id shown to merchants starts with.
pub const REFUND_ID_PREFIX: &str = "ref_";

/// The request key of a refund created with `idempotency_key`: its own key (not its
/// payment's), so a retried refund is the same refund at Antom (`refundRequestId`).
pub fn refund_key(ids: &IdGenerator, caller: &Caller, idempotency_key: &str) -> RequestKey {
    let dedup_key = format!("rest-refund|{}|{}", caller.merchant_id, idempotency_key);
    let tag = ids.key_tag(&dedup_key);
    let rrid = format!("R{}{tag}", ids.mac_hex(&["rest-refund", &dedup_key], 24));
    RequestKey {
        origin: caller.origin(),
        dedup_key,
        tag,
        receipt_ref: rrid,
        local_time: None,
    }
}

/// The `refundRequestId` a refund request key creates (its receipt reference).
pub fn refund_request_id(key: &RequestKey) -> RefundRequestId {
    RefundRequestId::new(key.receipt_ref.clone())
}

/// The id merchants see for a refund.
pub fn refund_id(rrid: &RefundRequestId) -> String {
    format!("{REFUND_ID_PREFIX}{}", rrid.as_str())
}

/// The `refundRequestId` a merchant's refund id names, when it has the shape of one.
pub fn parse_refund_id(id: &str) -> Option<RefundRequestId> {
    let rrid = id.strip_prefix(REFUND_ID_PREFIX)?;
    let shaped = rrid.len() == 33
        && rrid.starts_with('R')
        && rrid[1..].bytes().all(|b| b.is_ascii_hexdigit());
    shaped.then(|| RefundRequestId::new(rrid))
}

/// The `paymentRequestId` of the payment a request key creates (its receipt reference).
pub fn payment_request_id(key: &RequestKey) -> PaymentRequestId {
    PaymentRequestId::new(key.receipt_ref.clone())
}

/// The id merchants see for a payment.
pub fn payment_id(prid: &PaymentRequestId) -> String {
    format!("{PAYMENT_ID_PREFIX}{prid}")
}

/// The `paymentRequestId` a merchant's payment id names, when it has the shape of one.
pub fn parse_payment_id(id: &str) -> Option<PaymentRequestId> {
    let prid = id.strip_prefix(PAYMENT_ID_PREFIX)?;
    let shaped = prid.len() == 33
        && prid.starts_with('P')
        && prid[1..].bytes().all(|b| b.is_ascii_hexdigit());
    shaped.then(|| PaymentRequestId::new(prid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(merchant: &str) -> Caller {
        Caller {
            merchant_id: merchant.into(),
            key_id: "k1".into(),
        }
    }

    #[test]
    fn ids_are_stable_per_merchant_and_key_and_round_trip() {
        let ids = IdGenerator::new(b"secret");
        let a = request_key(&ids, &caller("M1"), "order-1", "o1");
        let again = request_key(&ids, &caller("M1"), "order-1", "o1");
        let other = request_key(&ids, &caller("M2"), "order-1", "o1");
        assert_eq!(a, again);
        assert_ne!(
            a.receipt_ref, other.receipt_ref,
            "merchants never share a payment"
        );
        let prid = payment_request_id(&a);
        assert_eq!(prid.key_tag(), Some(a.tag.as_str()));
        assert!(prid.as_str().len() <= 64);
        assert_eq!(parse_payment_id(&payment_id(&prid)), Some(prid));
        let refund = refund_key(&ids, &caller("M1"), "order-1");
        assert_ne!(refund.dedup_key, a.dedup_key, "a refund's key is its own");
        let rrid = refund_request_id(&refund);
        assert_eq!(parse_refund_id(&refund_id(&rrid)), Some(rrid));
        assert_eq!(parse_refund_id(&payment_id(&payment_request_id(&a))), None);
    }

    #[test]
    fn malformed_payment_ids_name_nothing() {
        for id in [
            "",
            "pay_",
            "P123",
            "pay_Pzz",
            "pay_../../etc",
            "pay_P00000000000000000000000000000000x",
        ] {
            assert_eq!(parse_payment_id(id), None, "{id}");
        }
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_up_to_255() {
        assert!(valid_idempotency_key("a"));
        assert!(valid_idempotency_key(&"k".repeat(255)));
        assert!(!valid_idempotency_key(&"k".repeat(256)));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key("has space"));
        assert!(!valid_idempotency_key("é"));
    }
}
