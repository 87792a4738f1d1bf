//! The transaction state machine: one pure table, applied through optimistic compare-and-set.
//!
//! The journal (Redis) stores each transaction with a version number. Whoever learns something
//! about a transaction — the purchase flow, an inquiry, a notification, a reversal, the deadline
//! sweeper, the reversal engine — loads the record, asks [`next`] what the event means in the
//! record's current state, and commits the result with "only if the version is still N". A lost
//! race reloads and asks again, so concurrent learners never corrupt a transaction, and the
//! side effects (a cancel queued, the deadline index cleared) are written in the same atomic step.
//!
//! The rule above all is encoded here: `Approved` is reached only from an Antom SUCCESS, and the
//! deadline sweeper cancels everything that is not an approval the terminal received.

use serde::{Deserialize, Serialize};

mod table;

pub use table::next;
#[cfg(test)]
mod tests;

/// Where a transaction stands. See ARCHITECTURE.md for the full table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TxnState {
    /// Journaled; the Antom call is about to leave or is in flight.
    Pending,
    /// Antom answered `U`, timed out or failed in transport; inquiring.
    Unknown,
    /// Antom holds SUCCESS (payment paid, or refund done).
    Approved,
    /// Antom answered a definitive failure: nothing charged (or nothing refunded).
    Declined,
    /// A cancel (or a refund completion) is durably queued in the SAF queue.
    CancelPending,
    /// Antom confirmed the cancel: no SUCCESS remains.
    Cancelled,
    /// The cancel window had passed: a full refund is durably queued.
    RefundPending,
    /// The full refund that replaced a cancel is confirmed.
    Refunded,
    /// The SAF queue gave up (dead letter): an operator must reconcile.
    Failed,
    /// Antom holds an authorisation (a card payment with manual capture): the money is held,
    /// not taken. Captured → `Approved`; not captured by the deadline → cancelled.
    Authorized,
    /// The payment expired at Antom unpaid (its expiry time passed): nothing charged.
    Expired,
}

impl TxnState {
    /// Every state, for exhaustive tests and metric label sets.
    pub const ALL: [TxnState; 11] = [
        TxnState::Pending,
        TxnState::Unknown,
        TxnState::Approved,
        TxnState::Declined,
        TxnState::CancelPending,
        TxnState::Cancelled,
        TxnState::RefundPending,
        TxnState::Refunded,
        TxnState::Failed,
        TxnState::Authorized,
        TxnState::Expired,
    ];

    /// The name stored in the journal and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            TxnState::Pending => "PENDING",
            TxnState::Unknown => "UNKNOWN",
            TxnState::Approved => "APPROVED",
            TxnState::Declined => "DECLINED",
            TxnState::CancelPending => "CANCEL_PENDING",
            TxnState::Cancelled => "CANCELLED",
            TxnState::RefundPending => "REFUND_PENDING",
            TxnState::Refunded => "REFUNDED",
            TxnState::Failed => "FAILED",
            TxnState::Authorized => "AUTHORIZED",
            TxnState::Expired => "EXPIRED",
        }
    }

    /// True once the switch has nothing left to do for the transaction.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TxnState::Approved
                | TxnState::Declined
                | TxnState::Cancelled
                | TxnState::Refunded
                | TxnState::Failed
                | TxnState::Expired
        )
    }

    /// True while the outcome at Antom is still being settled (pay or inquiry in progress).
    pub fn is_in_flight(self) -> bool {
        matches!(self, TxnState::Pending | TxnState::Unknown)
    }

    /// True once a cancel or its refund fallback has been decided (it wins over a late success).
    pub fn is_reversing(self) -> bool {
        matches!(
            self,
            TxnState::CancelPending
                | TxnState::Cancelled
                | TxnState::RefundPending
                | TxnState::Refunded
        )
    }
}

/// Whether the terminal received the approval (only meaningful in `Approved`).
///
/// `Sending` is committed immediately before the approval is written and counts as handed to
/// the terminal: a crash can then only lose the approval *before* it reached the wire, a case
/// the terminal covers with its own reversal (no answer in time → 0400/0420), exactly as for an
/// answer lost in the network. Counting `Sending` as unsure instead would cancel approvals the
/// terminal did receive whenever the process died, or Redis was unreachable, between the write
/// and a later commit — a window of a whole Redis round trip.
///
/// So a successful write is not journaled at all: it would change nothing the switch decides
/// and cost every approval one more durable write. Only a failed write is (`Undelivered`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Delivery {
    /// Nothing sent yet.
    #[default]
    None,
    /// Committed right before the approval is written to the terminal: handed over.
    /// (`DELIVERED`, written by earlier versions after a successful write, reads as this.)
    #[serde(alias = "DELIVERED")]
    Sending,
    /// The write failed or the connection was gone: cancelled at the gateway deadline unless a
    /// re-sent request gets the approval delivered first.
    Undelivered,
}

impl Delivery {
    /// True once the approval was handed to the terminal (`Sending`).
    pub fn handed_to_terminal(self) -> bool {
        self == Delivery::Sending
    }
}

/// What a transition does to the transaction's entry in the deadline index, the list the
/// sweeper (active cancellation) works through.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeadlineWatch {
    /// Leave the entry as it is.
    Keep,
    /// The transaction needs no more watching: remove the entry.
    Stop,
    /// Watch it again (an approval handed over whose write then failed): put the entry back,
    /// due at the gateway deadline.
    Resume,
}

/// Why a cancel was queued; stored with the SAF entry and the journal for operators.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// Still unknown at the response deadline: the terminal is told 91.
    ResponseDeadline,
    /// The polling found a failure it could not classify as a decline.
    InquiryFailed,
    /// Past the gateway deadline without an approval handed to the terminal (active cancellation).
    GatewayDeadline,
    /// A 0400/0401 reversal request from the terminal.
    ReversalRequest,
    /// A 0420/0421 reversal advice.
    ReversalAdvice,
    /// A 0200 void of the purchase.
    Void,
    /// Antom reported a SUCCESS after it had answered a definitive failure.
    UnexpectedSuccess,
    /// A new attempt of the same online order replaced this one while it awaited its buyer
    /// (seed 001: a payment not successful is paid again): it is cancelled before the new
    /// `pay`, so at most one attempt of the order can stay paid.
    Superseded,
}

impl CancelReason {
    /// Stable name for logs, the audit stream and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::ResponseDeadline => "response_deadline",
            CancelReason::InquiryFailed => "inquiry_failed",
            CancelReason::GatewayDeadline => "gateway_deadline",
            CancelReason::ReversalRequest => "reversal_request",
            CancelReason::ReversalAdvice => "reversal_advice",
            CancelReason::Void => "void",
            CancelReason::UnexpectedSuccess => "unexpected_success",
            CancelReason::Superseded => "superseded",
        }
    }

    /// True for reversals the terminal (or a downstream system) asked for: these cancel even a
    /// approval handed to the terminal, because the terminal itself no longer considers it approved.
    pub fn is_from_downstream(self) -> bool {
        matches!(
            self,
            CancelReason::ReversalRequest | CancelReason::ReversalAdvice | CancelReason::Void
        )
    }
}

/// Something the switch learned about a transaction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// Antom holds SUCCESS (pay answer, inquiry, notification, or refund answer).
    Succeeded,
    /// Antom answered a definitive failure.
    Failed,
    /// The Antom call ended without a definitive answer.
    Uncertain,
    /// A cancel must be queued for this reason.
    CancelRequested(CancelReason),
    /// The gateway deadline passed (the sweeper).
    GatewayDeadline,
    /// Antom confirmed the cancel, or proved there is nothing to cancel.
    CancelConfirmed,
    /// Antom refused the cancel with `CANCEL_WINDOW_EXCEED`: refund instead.
    CancelWindowExceeded,
    /// A queued refund (fallback of a cancel, or a refund transaction's completion) succeeded.
    RefundConfirmed,
    /// The SAF queue gave up on this transaction.
    Abandoned,
    /// The approval is about to be written to the terminal.
    DeliveryStarted,
    /// Writing the approval failed.
    DeliveryFailed,
    /// Antom holds an authorisation of the payment, not yet captured.
    Authorized,
    /// Antom captured the payment (`CAPTURE_RESULT` S): it is paid.
    Captured,
    /// Antom closed the payment unpaid at its expiry.
    Expired,
    /// A refund took a hold on part of this purchase (bookkeeping, not a transition: planned
    /// by [`crate::record::plan_refund_hold`]).
    RefundHeld,
    /// Antom declined a refund: its hold on the purchase is released (bookkeeping, planned by
    /// [`crate::record::plan_refund_release`]).
    RefundReleased,
}

impl Event {
    /// Every event's [`Event::name`], in declaration order: the label values of the journal's
    /// metrics, created at zero at start-up.
    pub const NAMES: &'static [&'static str] = &[
        "succeeded",
        "failed",
        "uncertain",
        "cancel_requested",
        "gateway_deadline",
        "cancel_confirmed",
        "cancel_window_exceeded",
        "refund_confirmed",
        "abandoned",
        "delivery_started",
        "delivery_failed",
        "authorized",
        "captured",
        "expired",
        "refund_held",
        "refund_released",
    ];

    /// Stable name for the audit stream and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Event::Succeeded => "succeeded",
            Event::Failed => "failed",
            Event::Uncertain => "uncertain",
            Event::CancelRequested(_) => "cancel_requested",
            Event::GatewayDeadline => "gateway_deadline",
            Event::CancelConfirmed => "cancel_confirmed",
            Event::CancelWindowExceeded => "cancel_window_exceeded",
            Event::RefundConfirmed => "refund_confirmed",
            Event::Abandoned => "abandoned",
            Event::DeliveryStarted => "delivery_started",
            Event::DeliveryFailed => "delivery_failed",
            Event::Authorized => "authorized",
            Event::Captured => "captured",
            Event::Expired => "expired",
            Event::RefundHeld => "refund_held",
            Event::RefundReleased => "refund_released",
        }
    }
}

/// What queued work a transition creates, written atomically with the state change.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Enqueue {
    /// Nothing.
    Nothing,
    /// A `cancel` of the payment.
    Cancel,
    /// A full `refund` of the payment (cancel window exceeded).
    RefundFallback,
    /// Completing a refund transaction whose answer stayed unknown (same `refundRequestId`).
    RefundRetry,
}

/// The decision of the table for one (state, delivery, event).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Next {
    /// Move to a new state/delivery, queue work, and say what happens to the deadline entry.
    Move {
        /// New state.
        state: TxnState,
        /// New delivery flag.
        delivery: Delivery,
        /// Work queued in the same atomic step.
        enqueue: Enqueue,
        /// What happens to the deadline index entry.
        deadline: DeadlineWatch,
    },
    /// Legal, nothing changes (a duplicate, a late notification after a cancel, …).
    Ignore,
    /// The event makes no sense in this state; counted and logged, nothing changes.
    Illegal,
}
