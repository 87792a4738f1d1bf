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

use crate::domain::TxnKind;

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

fn to(state: TxnState, delivery: Delivery, enqueue: Enqueue) -> Next {
    let deadline = match (state, delivery) {
        // An approval stays watched until it is handed to the terminal: one never handed over
        // must be cancelled at the deadline. A failed write puts it back under watch.
        (TxnState::Approved, Delivery::None) => DeadlineWatch::Keep,
        (TxnState::Approved, Delivery::Sending) => DeadlineWatch::Stop,
        (TxnState::Approved, Delivery::Undelivered) => DeadlineWatch::Resume,
        (TxnState::Pending | TxnState::Unknown | TxnState::Authorized, _) => DeadlineWatch::Keep,
        _ => DeadlineWatch::Stop,
    };
    Next::Move {
        state,
        delivery,
        enqueue,
        deadline,
    }
}

/// The transition table. Pure; the same for every instance; property-tested below.
pub fn next(kind: TxnKind, state: TxnState, delivery: Delivery, event: Event) -> Next {
    let decided = match kind {
        TxnKind::Purchase => purchase(state, delivery, event),
        // A refund approval needs no active cancellation: once approved it leaves the index
        // whatever its delivery (which is recorded for operators only).
        TxnKind::Refund => match refund(state, delivery, event) {
            Next::Move {
                state: TxnState::Approved,
                delivery,
                enqueue,
                ..
            } => Next::Move {
                state: TxnState::Approved,
                delivery,
                enqueue,
                deadline: DeadlineWatch::Stop,
            },
            other => other,
        },
    };
    // Past its gateway deadline a transaction that needs nothing more must still leave the
    // deadline index, or the sweeper would find it again and again.
    if event == Event::GatewayDeadline && decided == Next::Ignore {
        return Next::Move {
            state,
            delivery,
            enqueue: Enqueue::Nothing,
            deadline: DeadlineWatch::Stop,
        };
    }
    // A move to exactly where we are, with nothing queued, is reported as Ignore so that no
    // empty write happens — except when it lets the deadline index entry go.
    match decided {
        Next::Move {
            state: s,
            delivery: d,
            enqueue: Enqueue::Nothing,
            deadline: DeadlineWatch::Keep,
        } if s == state && d == delivery => Next::Ignore,
        other => other,
    }
}

fn purchase(state: TxnState, delivery: Delivery, event: Event) -> Next {
    use Delivery as D;
    use Enqueue as E;
    use TxnState as S;
    match (state, event) {
        // Refund holds change no state: bookkeeping on the purchase, planned with their own
        // checks in `record`, never through this table.
        (_, Event::RefundHeld | Event::RefundReleased) => Next::Ignore,

        // Online payments: authorisation, capture, expiry. An authorisation is money held, not
        // taken: it is watched like a payment in flight (cancelled at the deadline unless
        // captured), and only a capture makes it a success.
        (S::Pending | S::Unknown, Event::Authorized) => to(S::Authorized, D::None, E::Nothing),
        (S::Pending | S::Unknown | S::Authorized, Event::Captured) => {
            to(S::Approved, D::None, E::Nothing)
        }
        (S::Authorized, Event::Succeeded) => to(S::Approved, D::None, E::Nothing),
        (S::Authorized, Event::Failed) => to(S::Declined, D::None, E::Nothing),
        (S::Authorized, Event::Authorized | Event::Uncertain) => Next::Ignore,
        (S::Authorized, Event::CancelRequested(_) | Event::GatewayDeadline) => {
            to(S::CancelPending, D::None, E::Cancel)
        }
        // An authorisation left to expire releases the money at Antom.
        (S::Pending | S::Unknown | S::Authorized, Event::Expired) => {
            to(S::Expired, D::None, E::Nothing)
        }
        (S::Expired, Event::Expired | Event::Failed | Event::Uncertain | Event::Authorized) => {
            Next::Ignore
        }
        // Closed unpaid, then paid: the requester was told it expired, so cancel (as after F).
        (S::Expired, Event::Succeeded | Event::Captured) => {
            to(S::CancelPending, D::None, E::Cancel)
        }
        (S::Expired, Event::CancelRequested(_) | Event::GatewayDeadline) => {
            to(S::Expired, delivery, E::Nothing)
        }
        (S::Declined, Event::Captured) => to(S::CancelPending, D::None, E::Cancel),
        (S::Approved, Event::Captured | Event::Authorized) => Next::Ignore,
        (S::Declined, Event::Authorized | Event::Expired) => Next::Ignore,
        // Paid, then reported expired: a contradiction we do not act on.
        (S::Approved, Event::Expired) => Next::Illegal,
        (
            S::CancelPending | S::Cancelled | S::RefundPending | S::Refunded | S::Failed,
            Event::Authorized | Event::Captured | Event::Expired,
        ) => Next::Ignore,

        // Learning the payment outcome.
        (S::Pending | S::Unknown, Event::Succeeded) => to(S::Approved, D::None, E::Nothing),
        (S::Pending | S::Unknown, Event::Failed) => to(S::Declined, D::None, E::Nothing),
        (S::Pending, Event::Uncertain) => to(S::Unknown, D::None, E::Nothing),
        (S::Unknown, Event::Uncertain) => Next::Ignore,
        (S::Approved, Event::Succeeded) => Next::Ignore,
        (S::Declined, Event::Failed) => Next::Ignore,
        // Antom said F and then SUCCESS: the terminal was told declined, so cancel.
        (S::Declined, Event::Succeeded) => to(S::CancelPending, D::None, E::Cancel),
        // A pay that timed out after a notification already approved it: nothing new.
        (S::Approved, Event::Uncertain) => Next::Ignore,
        // An approval that later reads as failed is a contradiction we do not act on.
        (S::Approved, Event::Failed) => Next::Illegal,
        (S::Declined, Event::Uncertain) => Next::Ignore,
        // Once a cancel is decided it wins over anything Antom says later (seed 003).
        (
            S::CancelPending | S::Cancelled | S::RefundPending | S::Refunded | S::Failed,
            Event::Succeeded | Event::Failed | Event::Uncertain,
        ) => Next::Ignore,

        // Cancels.
        (S::Pending | S::Unknown, Event::CancelRequested(_) | Event::GatewayDeadline) => {
            to(S::CancelPending, D::None, E::Cancel)
        }
        (S::Approved, Event::CancelRequested(reason)) if reason.is_from_downstream() => {
            to(S::CancelPending, delivery, E::Cancel)
        }
        (S::Approved, Event::CancelRequested(_)) => {
            if delivery.handed_to_terminal() {
                Next::Ignore
            } else {
                to(S::CancelPending, delivery, E::Cancel)
            }
        }
        (S::Approved, Event::GatewayDeadline) => {
            if delivery.handed_to_terminal() {
                to(S::Approved, delivery, E::Nothing)
            } else {
                to(S::CancelPending, delivery, E::Cancel)
            }
        }
        (S::Declined, Event::CancelRequested(_) | Event::GatewayDeadline) => {
            to(S::Declined, delivery, E::Nothing)
        }
        (
            S::CancelPending | S::Cancelled | S::RefundPending | S::Refunded | S::Failed,
            Event::CancelRequested(_) | Event::GatewayDeadline,
        ) => Next::Ignore,

        // Outcomes of queued cancels.
        (S::CancelPending, Event::CancelConfirmed) => to(S::Cancelled, delivery, E::Nothing),
        (S::CancelPending, Event::CancelWindowExceeded) => {
            to(S::RefundPending, delivery, E::RefundFallback)
        }
        (S::RefundPending, Event::RefundConfirmed) => to(S::Refunded, delivery, E::Nothing),
        // An operator replayed a dead letter and Antom finally answered.
        (S::Failed, Event::CancelConfirmed) => to(S::Cancelled, delivery, E::Nothing),
        (S::Failed, Event::RefundConfirmed) => to(S::Refunded, delivery, E::Nothing),
        (S::Failed, Event::CancelWindowExceeded) => {
            to(S::RefundPending, delivery, E::RefundFallback)
        }
        (S::CancelPending | S::RefundPending, Event::Abandoned) => {
            to(S::Failed, delivery, E::Nothing)
        }
        (S::Cancelled, Event::CancelConfirmed) | (S::Refunded, Event::RefundConfirmed) => {
            Next::Ignore
        }
        (
            _,
            Event::CancelConfirmed
            | Event::CancelWindowExceeded
            | Event::RefundConfirmed
            | Event::Abandoned,
        ) => Next::Illegal,

        // Delivery of an approval.
        (S::Approved, Event::DeliveryStarted) => match delivery {
            D::Sending => Next::Ignore,
            _ => to(S::Approved, D::Sending, E::Nothing),
        },
        (S::Approved, Event::DeliveryFailed) => match delivery {
            D::Undelivered => Next::Ignore,
            _ => to(S::Approved, D::Undelivered, E::Nothing),
        },
        (_, Event::DeliveryStarted | Event::DeliveryFailed) => Next::Illegal,
    }
}

fn refund(state: TxnState, delivery: Delivery, event: Event) -> Next {
    use Delivery as D;
    use Enqueue as E;
    use TxnState as S;
    match (state, event) {
        (_, Event::RefundHeld | Event::RefundReleased) => Next::Ignore,
        // Authorisation, capture and expiry are payment events: a refund has none.
        (_, Event::Authorized | Event::Captured | Event::Expired) => Next::Illegal,
        (S::Pending | S::Unknown | S::CancelPending, Event::Succeeded) => {
            to(S::Approved, delivery, E::Nothing)
        }
        (S::Pending | S::Unknown | S::CancelPending, Event::Failed) => {
            to(S::Declined, delivery, E::Nothing)
        }
        (S::Pending, Event::Uncertain) => to(S::Unknown, D::None, E::Nothing),
        (_, Event::Succeeded | Event::Failed | Event::Uncertain) => Next::Ignore,
        // A refund cannot be cancelled: an unresolved refund is completed (same id) instead.
        (S::Pending | S::Unknown, Event::CancelRequested(_) | Event::GatewayDeadline) => {
            to(S::CancelPending, delivery, E::RefundRetry)
        }
        (_, Event::CancelRequested(_) | Event::GatewayDeadline) => Next::Ignore,
        (S::CancelPending, Event::RefundConfirmed) => to(S::Approved, delivery, E::Nothing),
        (S::CancelPending, Event::Abandoned) => to(S::Failed, delivery, E::Nothing),
        (S::Failed, Event::RefundConfirmed) => to(S::Approved, delivery, E::Nothing),
        (_, Event::RefundConfirmed | Event::Abandoned) => Next::Ignore,
        (_, Event::CancelConfirmed | Event::CancelWindowExceeded) => Next::Illegal,
        (S::Approved, Event::DeliveryStarted) => to(S::Approved, D::Sending, E::Nothing),
        (S::Approved, Event::DeliveryFailed) => to(S::Approved, D::Undelivered, E::Nothing),
        (_, Event::DeliveryStarted | Event::DeliveryFailed) => Next::Ignore,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_names_lists_every_event_once() {
        // The match is exhaustive: a new event fails to compile here until it is listed.
        let all = |event: Event| match event {
            Event::Succeeded
            | Event::Failed
            | Event::Uncertain
            | Event::CancelRequested(_)
            | Event::GatewayDeadline
            | Event::CancelConfirmed
            | Event::CancelWindowExceeded
            | Event::RefundConfirmed
            | Event::Abandoned
            | Event::DeliveryStarted
            | Event::DeliveryFailed
            | Event::Authorized
            | Event::Captured
            | Event::Expired
            | Event::RefundHeld
            | Event::RefundReleased => event.name(),
        };
        let names: Vec<&str> = one_of_each_event().into_iter().map(all).collect();
        assert_eq!(names, Event::NAMES);
    }

    use super::*;
    use proptest::prelude::*;

    fn event_strategy() -> impl Strategy<Value = Event> {
        prop_oneof![
            Just(Event::Succeeded),
            Just(Event::Failed),
            Just(Event::Uncertain),
            Just(Event::CancelRequested(CancelReason::ResponseDeadline)),
            Just(Event::CancelRequested(CancelReason::ReversalAdvice)),
            Just(Event::CancelRequested(CancelReason::ReversalRequest)),
            Just(Event::CancelRequested(CancelReason::GatewayDeadline)),
            Just(Event::GatewayDeadline),
            Just(Event::CancelConfirmed),
            Just(Event::CancelWindowExceeded),
            Just(Event::RefundConfirmed),
            Just(Event::Abandoned),
            Just(Event::DeliveryStarted),
            Just(Event::DeliveryFailed),
            Just(Event::Authorized),
            Just(Event::Captured),
            Just(Event::Expired),
        ]
    }

    /// What the terminal and Antom each believe, tracked alongside the state machine.
    #[derive(Default, Debug)]
    struct World {
        antom_succeeded: bool,
        terminal_got_approval: bool,
        terminal_reversed: bool,
        /// Antom holds an authorisation (money held, not taken).
        antom_authorized: bool,
        /// Antom closed the payment unpaid at its expiry.
        antom_expired: bool,
    }

    proptest! {
        /// Random interleavings of outcomes, reversals, deadlines and delivery never end
        /// inconsistent once the gateway deadline has passed and the queue has drained.
        #[test]
        fn purchase_never_ends_inconsistent(events in proptest::collection::vec(event_strategy(), 0..24)) {
            let mut state = TxnState::Pending;
            let mut delivery = Delivery::None;
            let mut queued_cancel = false;
            // Whether the deadline index holds the transaction (begin puts it there).
            let mut watched = true;
            let mut world = World::default();
            for event in events {
                // Only feed events the real world can produce in this state.
                match event {
                    Event::CancelConfirmed | Event::CancelWindowExceeded | Event::Abandoned
                        if state != TxnState::CancelPending => continue,
                    Event::RefundConfirmed if state != TxnState::RefundPending => continue,
                    Event::DeliveryFailed if delivery != Delivery::Sending => continue,
                    Event::Succeeded => world.antom_succeeded = true,
                    // Antom authorises, captures and expires only payments still open there.
                    Event::Authorized if world.antom_succeeded || world.antom_expired => continue,
                    Event::Authorized => world.antom_authorized = true,
                    Event::Captured if !world.antom_authorized || world.antom_expired => continue,
                    Event::Captured => world.antom_succeeded = true,
                    Event::Expired if world.antom_succeeded => continue,
                    Event::Expired => {
                        world.antom_expired = true;
                        world.antom_authorized = false;
                    }
                    _ => {}
                }
                let before = state;
                match next(TxnKind::Purchase, state, delivery, event) {
                    Next::Move { state: s, delivery: d, enqueue, deadline } => {
                        match deadline {
                            DeadlineWatch::Keep => {}
                            DeadlineWatch::Stop => watched = false,
                            DeadlineWatch::Resume => watched = true,
                        }
                        if s == TxnState::Approved {
                            prop_assert!(
                                before == TxnState::Approved
                                    || matches!(event, Event::Succeeded | Event::Captured)
                            );
                        }
                        if enqueue == Enqueue::Cancel {
                            queued_cancel = true;
                        }
                        if event == Event::DeliveryStarted {
                            // The write follows this commit; a crash in between is the
                            // terminal's "no answer" case, covered by its own reversal.
                            world.terminal_got_approval = true;
                        }
                        if event == Event::DeliveryFailed {
                            world.terminal_got_approval = false;
                        }
                        if let Event::CancelRequested(r) = event && r.is_from_downstream() {
                            world.terminal_reversed = true;
                        }
                        state = s;
                        delivery = d;
                    }
                    Next::Ignore => {
                        if let Event::CancelRequested(r) = event && r.is_from_downstream() {
                            world.terminal_reversed = true;
                        }
                    }
                    Next::Illegal => {}
                }
            }
            // The sweeper runs at the gateway deadline, and sees only what the index holds.
            let swept = next(TxnKind::Purchase, state, delivery, Event::GatewayDeadline);
            if !watched {
                prop_assert!(
                    !matches!(swept, Next::Move { enqueue: Enqueue::Cancel, .. }),
                    "left the deadline index but still needs a cancel: {:?}/{:?}", state, delivery
                );
            }
            if let (true, Next::Move { state: s, delivery: d, enqueue, .. }) = (watched, swept) {
                if enqueue == Enqueue::Cancel { queued_cancel = true; }
                state = s;
                delivery = d;
            }
            // Drain: every queued cancel ends (confirmed, or via refund); a dead letter
            // (Failed) is surfaced to operators and counted as "no SUCCESS" here.
            if state.is_reversing() {
                prop_assert!(queued_cancel);
            }
            prop_assert!(!state.is_in_flight(), "still in flight after the gateway deadline");
            prop_assert_ne!(state, TxnState::Authorized, "an authorisation held past the deadline");
            if state == TxnState::Approved {
                prop_assert!(delivery.handed_to_terminal());
            }
            let antom_success_remains = state == TxnState::Approved && world.antom_succeeded;
            let terminal_approved = world.terminal_got_approval && !world.terminal_reversed;
            prop_assert_eq!(terminal_approved, antom_success_remains, "end state {:?}", state);
        }
    }

    #[test]
    fn late_success_after_cancel_is_ignored() {
        for s in [
            TxnState::CancelPending,
            TxnState::Cancelled,
            TxnState::RefundPending,
            TxnState::Refunded,
        ] {
            assert_eq!(
                next(TxnKind::Purchase, s, Delivery::None, Event::Succeeded),
                Next::Ignore
            );
        }
    }

    #[test]
    fn handed_over_approval_survives_the_sweeper_but_not_a_reversal() {
        let swept = next(
            TxnKind::Purchase,
            TxnState::Approved,
            Delivery::Sending,
            Event::GatewayDeadline,
        );
        assert!(matches!(
            swept,
            Next::Ignore
                | Next::Move {
                    state: TxnState::Approved,
                    ..
                }
        ));
        let reversed = next(
            TxnKind::Purchase,
            TxnState::Approved,
            Delivery::Sending,
            Event::CancelRequested(CancelReason::ReversalAdvice),
        );
        assert!(matches!(
            reversed,
            Next::Move {
                state: TxnState::CancelPending,
                enqueue: Enqueue::Cancel,
                ..
            }
        ));
    }

    #[test]
    fn undelivered_approvals_are_cancelled_at_the_deadline() {
        for d in [Delivery::None, Delivery::Undelivered] {
            assert!(matches!(
                next(
                    TxnKind::Purchase,
                    TxnState::Approved,
                    d,
                    Event::GatewayDeadline
                ),
                Next::Move {
                    state: TxnState::CancelPending,
                    enqueue: Enqueue::Cancel,
                    ..
                }
            ));
        }
    }

    #[test]
    fn a_failed_approval_write_puts_the_purchase_back_under_watch() {
        let handed = next(
            TxnKind::Purchase,
            TxnState::Approved,
            Delivery::None,
            Event::DeliveryStarted,
        );
        assert!(matches!(
            handed,
            Next::Move {
                delivery: Delivery::Sending,
                deadline: DeadlineWatch::Stop,
                ..
            }
        ));
        let failed = next(
            TxnKind::Purchase,
            TxnState::Approved,
            Delivery::Sending,
            Event::DeliveryFailed,
        );
        assert!(matches!(
            failed,
            Next::Move {
                delivery: Delivery::Undelivered,
                deadline: DeadlineWatch::Resume,
                ..
            }
        ));
        // A refund approval is never cancelled, so it never comes back.
        let refund = next(
            TxnKind::Refund,
            TxnState::Approved,
            Delivery::Sending,
            Event::DeliveryFailed,
        );
        assert!(matches!(
            refund,
            Next::Move {
                deadline: DeadlineWatch::Stop,
                ..
            }
        ));
    }

    #[test]
    fn records_written_as_delivered_by_earlier_versions_read_as_handed_over() {
        let read: Result<Delivery, _> = serde_json::from_str("\"DELIVERED\"");
        assert_eq!(read.ok(), Some(Delivery::Sending));
    }

    #[test]
    fn gateway_deadline_always_lets_settled_records_leave_the_index() {
        for kind in [TxnKind::Purchase, TxnKind::Refund] {
            for state in TxnState::ALL {
                for delivery in [Delivery::None, Delivery::Sending] {
                    let next = next(kind, state, delivery, Event::GatewayDeadline);
                    assert!(
                        matches!(
                            next,
                            Next::Move {
                                deadline: DeadlineWatch::Stop,
                                ..
                            }
                        ),
                        "{kind:?} {state:?} {delivery:?}: {next:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn cancel_window_exceeded_falls_back_to_refund() {
        assert!(matches!(
            next(
                TxnKind::Purchase,
                TxnState::CancelPending,
                Delivery::None,
                Event::CancelWindowExceeded
            ),
            Next::Move {
                state: TxnState::RefundPending,
                enqueue: Enqueue::RefundFallback,
                ..
            }
        ));
    }

    #[test]
    fn unresolved_refunds_are_completed_not_cancelled() {
        assert!(matches!(
            next(
                TxnKind::Refund,
                TxnState::Unknown,
                Delivery::None,
                Event::GatewayDeadline
            ),
            Next::Move {
                state: TxnState::CancelPending,
                enqueue: Enqueue::RefundRetry,
                ..
            }
        ));
    }

    /// Every event once, in declaration order (a cancel request for a void).
    fn one_of_each_event() -> [Event; 16] {
        [
            Event::Succeeded,
            Event::Failed,
            Event::Uncertain,
            Event::CancelRequested(CancelReason::Void),
            Event::GatewayDeadline,
            Event::CancelConfirmed,
            Event::CancelWindowExceeded,
            Event::RefundConfirmed,
            Event::Abandoned,
            Event::DeliveryStarted,
            Event::DeliveryFailed,
            Event::Authorized,
            Event::Captured,
            Event::Expired,
            Event::RefundHeld,
            Event::RefundReleased,
        ]
    }

    #[test]
    fn every_state_event_pair_is_decided() {
        let events = one_of_each_event();
        for kind in [TxnKind::Purchase, TxnKind::Refund] {
            for s in TxnState::ALL {
                for e in events {
                    let _ = next(kind, s, Delivery::None, e);
                }
            }
        }
    }
}
