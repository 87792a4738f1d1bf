//! The transition table itself: for a kind of transaction, its state and delivery, what an
//! event means. Pure; the same for every instance; property-tested in `tests.rs`.

use super::{DeadlineWatch, Delivery, Enqueue, Event, Next, TxnState};
use crate::domain::TxnKind;

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

        // Delivery of an approval. Marking one already handed over counts one more hand-over
        // (a read, a re-sent request, an event): the record's counters decide whether a failed
        // one later un-hands it (`plan_change`).
        (S::Approved, Event::DeliveryStarted) => to(S::Approved, D::Sending, E::Nothing),
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
