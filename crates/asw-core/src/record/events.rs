//! Events for merchants: which transition of a REST payment or refund tells its merchant
//! something, decided with the transition and written by the same atomic step (the outbox), so
//! an event exists if and only if its state change does.
//!
//! Terminal payments have none: a terminal learns everything from its answers.

use serde::{Deserialize, Serialize};

use crate::domain::{TxnKind, WayIn};
use crate::record::TransactionRecord;
use crate::state::TxnState;

/// One event for a merchant, as the outbox holds it. The payload (the payment or refund
/// object) is rendered when it is delivered, from the record it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantEvent {
    /// Stable id (`evt_<journal id>_<type>`): a redelivery carries the same `webhook-id`, so a
    /// merchant can drop duplicates.
    pub id: String,
    /// `payment.succeeded`, `payment.authorized`, `payment.failed`, `payment.cancelled`,
    /// `payment.expired`, `refund.succeeded` or `refund.failed`.
    pub kind: String,
    /// The merchant to tell.
    pub merchant_id: String,
    /// The record the event is about.
    pub journal_id: String,
    /// Its journal shard tag.
    pub tag: String,
    /// When the transition happened (ms since the epoch).
    pub created_at_ms: i64,
}

/// Every event type, for metric labels and documentation.
pub const EVENT_KINDS: [&str; 7] = [
    "payment.succeeded",
    "payment.authorized",
    "payment.failed",
    "payment.cancelled",
    "payment.expired",
    "refund.succeeded",
    "refund.failed",
];

/// The event a transition from `current` to `next` raises, if any.
pub fn merchant_event(
    current: &TransactionRecord,
    next: &TransactionRecord,
    now_ms: i64,
) -> Option<MerchantEvent> {
    if next.origin.way_in != WayIn::Rest || current.state == next.state {
        return None;
    }
    let kind = match (next.kind, current.state, next.state) {
        (TxnKind::Purchase, _, TxnState::Approved) => "payment.succeeded",
        (TxnKind::Purchase, _, TxnState::Declined) => "payment.failed",
        (TxnKind::Purchase, _, TxnState::Authorized) => "payment.authorized",
        (TxnKind::Purchase, _, TxnState::Expired) => "payment.expired",
        // Once, when the cancel is decided (queued: the switch sees it through); not for a
        // payment the merchant already knows failed or expired.
        // An online payment closed unpaid at its closing time expired (as its view says).
        (TxnKind::Purchase, TxnState::Pending | TxnState::Unknown, TxnState::CancelPending)
            if next.online.is_some()
                && next.cancel_reason == Some(crate::state::CancelReason::GatewayDeadline) =>
        {
            "payment.expired"
        }
        (
            TxnKind::Purchase,
            TxnState::Pending | TxnState::Unknown | TxnState::Approved | TxnState::Authorized,
            TxnState::CancelPending,
        ) => "payment.cancelled",
        (TxnKind::Refund, _, TxnState::Approved) => "refund.succeeded",
        (TxnKind::Refund, _, TxnState::Declined) => "refund.failed",
        _ => return None,
    };
    Some(MerchantEvent {
        id: format!("evt_{}_{}", next.journal_id(), kind.replace('.', "_")),
        kind: kind.to_string(),
        merchant_id: next.origin.merchant_id.clone(),
        journal_id: next.journal_id().to_string(),
        tag: next.tag.clone(),
        created_at_ms: now_ms,
    })
}
