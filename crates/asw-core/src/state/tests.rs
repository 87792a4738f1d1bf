//! The table's tests: exhaustive pairs, named rules, and a model-based property test.

use super::*;
use crate::domain::TxnKind;

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
