//! Turning a decision of the state table into one atomic change of the journal.

use super::*;
use crate::state::{DeadlineWatch, Enqueue};

/// One atomic change of a record: compare the version, write the new record, queue the work,
/// update the deadline index, append the audit entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The version the record must still have.
    pub expected_version: u64,
    /// The record as it must be after the change (version already incremented).
    pub record: TransactionRecord,
    /// The event that caused it, for the audit stream.
    pub event: Event,
    /// A short human cause for the audit stream and the INFO log line.
    pub cause: String,
    /// Queued work, written in the same step.
    pub enqueue: Option<SafEntry>,
    /// What happens to the record's deadline index entry.
    pub deadline: DeadlineWatch,
    /// The merchant's event this change raises, written in the same step (the outbox).
    pub outbox: Option<MerchantEvent>,
    /// The first final answer to keep under the request's key (a REST front replays it byte
    /// for byte), written in the same step unless one is kept already.
    pub saved_answer: Option<SavedAnswer>,
}

impl Change {
    /// True when a REST approval goes back under the sweeper (every hand-over failed): an
    /// answer kept under the request's key says what nobody was told, and is dropped in the
    /// same step. (Terminals keep no answers.)
    pub fn forgets_saved_answer(&self) -> bool {
        matches!(self.event, Event::DeliveryFailed)
            && self.record.delivery == Delivery::Undelivered
            && self.record.origin.way_in == crate::domain::WayIn::Rest
    }
}

/// A front's first final answer, rendered from the record a commit writes. It is kept as long
/// as the record (a replay needs the record's duplicate key to find it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedAnswer {
    /// The bytes to keep (the front's own format).
    pub text: String,
}

/// The `refundRequestId` of the full refund that replaces a cancel refused with
/// `CANCEL_WINDOW_EXCEED`: derived from the payment so every retry and every instance uses it.
pub fn fallback_refund_request_id(payment: &PaymentRequestId) -> RefundRequestId {
    RefundRequestId::new(format!("RV{}", payment.as_str()))
}

/// Turns a decision into a [`Change`], or `None` when nothing must be written.
pub fn plan_change(
    current: &TransactionRecord,
    event: Event,
    now_ms: i64,
    cause: impl Into<String>,
) -> Result<Option<Change>, IllegalTransition> {
    match current.decide(event) {
        Next::Ignore => Ok(None),
        Next::Illegal => Err(IllegalTransition {
            state: current.state,
            event: event.name(),
        }),
        Next::Move {
            state,
            delivery,
            enqueue,
            deadline,
        } => {
            let mut record = current.clone();
            record.version += 1;
            record.state = state;
            record.delivery = delivery;
            record.updated_at_ms = now_ms;
            let mut deadline = deadline;
            count_handovers(current, &mut record, &mut deadline, event, now_ms);
            let reason = match event {
                Event::CancelRequested(reason) => Some(reason),
                Event::GatewayDeadline => Some(CancelReason::GatewayDeadline),
                Event::Succeeded | Event::Captured
                    if matches!(current.state, TxnState::Declined | TxnState::Expired) =>
                {
                    Some(CancelReason::UnexpectedSuccess)
                }
                _ => None,
            };
            if record.cancel_reason.is_none() && enqueue != Enqueue::Nothing {
                record.cancel_reason = reason;
            }
            let entry = |action: SafAction| SafEntry {
                action,
                payment_request_id: record.payment_request_id.clone(),
                journal_id: record.journal_id().to_string(),
                tag: record.tag.clone(),
                client: record.client.clone(),
                reason: record
                    .cancel_reason
                    .or(reason)
                    .unwrap_or(CancelReason::GatewayDeadline),
                enqueued_at_ms: now_ms,
                not_before_ms: record.call_over_at_ms,
                order_may_appear_until_ms: record.payment_expiry_ms,
                tombstone: false,
            };
            let enqueue = match enqueue {
                Enqueue::Nothing => None,
                Enqueue::Cancel => Some(entry(SafAction::Cancel)),
                Enqueue::RefundFallback => Some(entry(SafAction::Refund {
                    refund_request_id: fallback_refund_request_id(&record.payment_request_id),
                    payment_id: record.payment_id.clone(),
                    amount_minor: record.amount_minor.saturating_sub(record.refunded_minor),
                    currency: record.currency.clone(),
                })),
                Enqueue::RefundRetry => {
                    let Some(refund_request_id) = record.refund_request_id.clone() else {
                        return Err(IllegalTransition {
                            state: current.state,
                            event: "refund_retry_without_refund_id",
                        });
                    };
                    Some(entry(SafAction::Refund {
                        refund_request_id,
                        payment_id: record.payment_id.clone(),
                        amount_minor: record.amount_minor,
                        currency: record.currency.clone(),
                    }))
                }
            };
            let outbox = merchant_event(current, &record, now_ms);
            Ok(Some(Change {
                expected_version: current.version,
                record,
                event,
                cause: cause.into(),
                enqueue,
                deadline,
                outbox,
                saved_answer: None,
            }))
        }
    }
}

/// Keeps the hand-over counters of an approval: a mark counts one more hand-over (and starts
/// the settle window when the approval was not handed over), a failure counts one failed — and
/// leaves the approval handed over while another hand-over may have reached the merchant.
fn count_handovers(
    current: &TransactionRecord,
    record: &mut TransactionRecord,
    deadline: &mut DeadlineWatch,
    event: Event,
    now_ms: i64,
) {
    let marked = current.handovers_marked();
    match event {
        Event::DeliveryStarted if record.delivery == Delivery::Sending => {
            record.handovers = marked.saturating_add(1);
            if current.delivery != Delivery::Sending {
                record.handed_over_at_ms = now_ms;
            }
        }
        Event::DeliveryFailed if record.delivery == Delivery::Undelivered => {
            record.failed_handovers = current.failed_handovers.saturating_add(1).min(marked);
            if record.failed_handovers < marked {
                record.delivery = Delivery::Sending;
                *deadline = DeadlineWatch::Keep;
            }
        }
        _ => {}
    }
}

/// Folds `DeliveryStarted` into a planned change whose record ends approved, so that an
/// approval and its `SENDING` mark are one durable write. Any other change is left as it is.
pub fn mark_sending(change: &mut Change, now_ms: i64) {
    // Marked already (the change is itself a mark): folding another would count a second
    // hand-over that nobody makes.
    if change.enqueue.is_some() || change.record.delivery == Delivery::Sending {
        return;
    }
    if let Ok(Some(sending)) = plan_change(&change.record, Event::DeliveryStarted, now_ms, "") {
        change.record.delivery = sending.record.delivery;
        change.record.handovers = sending.record.handovers;
        change.record.handed_over_at_ms = sending.record.handed_over_at_ms;
        if sending.deadline != DeadlineWatch::Keep {
            change.deadline = sending.deadline;
        }
    }
}

/// An event that the state table rejects in the record's current state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("illegal transition: event {event} in state {}", state.as_str())]
pub struct IllegalTransition {
    /// The state the record was in.
    pub state: TxnState,
    /// The event's name.
    pub event: &'static str,
}
