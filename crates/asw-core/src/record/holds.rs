//! Refund holds: a refund's claim on part of its original purchase, taken before the refund
//! can reach Antom and released when Antom declines it.

use super::*;
use crate::state::DeadlineWatch;

/// A refund's claim on part of its original purchase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundHold {
    /// The refund holding the amount.
    pub refund_request_id: RefundRequestId,
    /// Minor units held.
    pub amount_minor: u64,
}

/// Why a refund may not hold part of its original.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoldRefused {
    /// The purchase is not (or no longer) approved: nothing to refund.
    #[error("the original is not approved")]
    NotApproved,
    /// The refund is above what remains of the purchase.
    #[error("the refund exceeds what remains of the payment")]
    Exceeds,
}

/// Plans a refund's hold on its original purchase: `None` when the hold is already there (a
/// re-sent refund), an error when the refund cannot be honoured.
pub fn plan_refund_hold(
    current: &TransactionRecord,
    refund_request_id: &RefundRequestId,
    amount_minor: u64,
    now_ms: i64,
) -> Result<Option<Change>, HoldRefused> {
    if current
        .refund_holds
        .iter()
        .any(|h| &h.refund_request_id == refund_request_id)
    {
        return Ok(None);
    }
    if current.kind != TxnKind::Purchase || current.state != TxnState::Approved {
        return Err(HoldRefused::NotApproved);
    }
    let held = current.refunded_minor.saturating_add(amount_minor);
    if amount_minor == 0 || held > current.amount_minor {
        return Err(HoldRefused::Exceeds);
    }
    let mut record = current.clone();
    record.refund_holds.push(RefundHold {
        refund_request_id: refund_request_id.clone(),
        amount_minor,
    });
    record.refunded_minor = held;
    Ok(Some(bookkeeping(
        current,
        record,
        Event::RefundHeld,
        now_ms,
        format!("refund {refund_request_id} holds {amount_minor}"),
    )))
}

/// Plans the release of a declined refund's hold; `None` when it holds nothing.
pub fn plan_refund_release(
    current: &TransactionRecord,
    refund_request_id: &RefundRequestId,
    now_ms: i64,
) -> Option<Change> {
    let position = current
        .refund_holds
        .iter()
        .position(|h| &h.refund_request_id == refund_request_id)?;
    let mut record = current.clone();
    let hold = record.refund_holds.remove(position);
    record.refunded_minor = record.refunded_minor.saturating_sub(hold.amount_minor);
    Some(bookkeeping(
        current,
        record,
        Event::RefundReleased,
        now_ms,
        format!("refund {refund_request_id} declined: hold released"),
    ))
}

/// A change of fields only: same state, nothing queued, the deadline entry untouched.
fn bookkeeping(
    current: &TransactionRecord,
    mut record: TransactionRecord,
    event: Event,
    now_ms: i64,
    cause: String,
) -> Change {
    record.version = current.version + 1;
    record.updated_at_ms = now_ms;
    Change {
        expected_version: current.version,
        record,
        event,
        cause,
        enqueue: None,
        deadline: DeadlineWatch::Keep,
        outbox: None,
        saved_answer: None,
    }
}
