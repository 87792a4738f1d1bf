//! The journal record of one transaction and the queued work (SAF entries) it can create.

use serde::{Deserialize, Serialize};

use crate::domain::{Origin, PaymentRequestId, RefundRequestId, TxnKind};
use crate::state::{CancelReason, DeadlineWatch, Delivery, Enqueue, Event, Next, TxnState, next};

/// One transaction as the journal keeps it. Serialised as JSON inside Redis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRecord {
    /// Compare-and-set version: every committed change increments it.
    pub version: u64,
    /// Purchase or refund.
    pub kind: TxnKind,
    /// Current state.
    pub state: TxnState,
    /// Whether the terminal received the approval.
    #[serde(default)]
    pub delivery: Delivery,
    /// The Antom `paymentRequestId` (for a refund: the original payment's).
    pub payment_request_id: PaymentRequestId,
    /// For refunds: the `refundRequestId` (also the journal id of the refund record).
    #[serde(default)]
    pub refund_request_id: Option<RefundRequestId>,
    /// The journal shard tag (8 hex chars) shared by all of this transaction's keys.
    pub tag: String,
    /// The front's duplicate-detection key (a terminal's `MID|TID|YYYYMMDD|STAN`).
    pub dedup_key: String,
    /// Who made the request. Records of earlier releases carry it as `terminal_key` (with the
    /// terminal's date, time and STAN, which this release no longer keeps: they are in
    /// `dedup_key`).
    #[serde(alias = "terminal_key")]
    pub origin: Origin,
    /// Digest of the request content: a re-sent request with another digest is answered 94.
    pub content_digest: String,
    /// Configured Antom client (client id + keys) that handles this transaction.
    pub client: String,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// ISO 4217 alpha-3 currency.
    pub currency: String,
    /// ISO 4217 numeric currency.
    pub currency_numeric: u16,
    /// The payment code, masked.
    #[serde(default)]
    pub masked_payment_code: Option<String>,
    /// Antom `paymentId`, once known.
    #[serde(default)]
    pub payment_id: Option<String>,
    /// Antom `refundId`, once known.
    #[serde(default)]
    pub refund_id: Option<String>,
    /// The reference the requester was given to name the transaction later (a terminal's RRN;
    /// `rrn` in records of earlier releases).
    #[serde(alias = "rrn")]
    pub receipt_ref: String,
    /// The approval code for the receipt, when approved.
    #[serde(default)]
    pub approval_code: Option<String>,
    /// Last Antom `resultCode` seen.
    #[serde(default)]
    pub result_code: Option<String>,
    /// Wallet name for the receipt (`pspName`).
    #[serde(default)]
    pub wallet: Option<String>,
    /// Total held by refunds of this purchase, pending or done (minor units): the sum of
    /// `refund_holds`. What a cancel that Antom refuses leaves to refund.
    #[serde(default)]
    pub refunded_minor: u64,
    /// The refunds holding part of this purchase. A hold is taken (compare-and-set on this
    /// record) before the refund can reach Antom and released only when Antom declines it, so a
    /// void and a refund racing on two connections are decided in one order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refund_holds: Vec<RefundHold>,
    /// The merchant's order this attempt belongs to (Antom `referenceOrderId`); `None` when the
    /// attempt is its own order (a terminal purchase without an ECR reference). See
    /// [`crate::intent`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    /// Why a cancel was queued, when one was.
    #[serde(default)]
    pub cancel_reason: Option<CancelReason>,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub updated_at_ms: i64,
    /// The Antom call is certainly over by then (its client timeout plus a margin), or when it
    /// was answered: a cancel must not overtake its `pay`.
    pub call_over_at_ms: i64,
    /// The answer to the terminal is due by then (just under the terminal's timeout).
    pub response_deadline_ms: i64,
    /// The terminal gives up waiting at this time: an approval is never sent after it.
    pub terminal_deadline_ms: i64,
    /// Active cancellation time: everything not approved and handed to the terminal is cancelled after it.
    pub gateway_deadline_ms: i64,
    /// After this time Antom can no longer turn the payment into SUCCESS (`paymentExpiryTime`).
    pub payment_expiry_ms: i64,
}

impl TransactionRecord {
    /// One sentence for operators (`txn show`): where this transaction stands and what the
    /// switch will still do about it. Derived from kind, state and delivery; never decides.
    pub fn outlook(&self) -> &'static str {
        use TxnState as S;
        match (self.kind, self.state, self.delivery) {
            (_, S::Failed, _) => {
                "the queue gave up (dead letter): reconcile with Antom by hand, see `saf dead`"
            }
            (TxnKind::Refund, S::Pending | S::Unknown | S::CancelPending, _) => {
                "refund not final yet: the switch completes it through the queue"
            }
            (TxnKind::Refund, S::Approved, _) => "refunded at Antom: final",
            (TxnKind::Refund, S::Declined, _) => "refund declined by Antom: nothing refunded",
            (_, S::Pending, _) => {
                "journaled; pay in flight or about to leave (cancelled at the gateway deadline \
                 unless settled first)"
            }
            (_, S::Unknown, _) => {
                "Antom's answer was not final: inquiring (cancelled if still unknown at the \
                 response deadline)"
            }
            (_, S::Approved, Delivery::Sending) => {
                "paid at Antom and the approval handed to the terminal: final"
            }
            (_, S::Approved, Delivery::None) => {
                "paid at Antom; the approval is not handed to the terminal yet (cancelled at \
                 the gateway deadline unless it is)"
            }
            (_, S::Approved, Delivery::Undelivered) => {
                "paid at Antom, but writing the approval to the terminal failed: cancelled at \
                 the gateway deadline unless a re-sent request gets it delivered first"
            }
            (_, S::Declined, _) => "declined by Antom: nothing charged",
            (_, S::CancelPending, _) => "a cancel is queued: the switch retries it until done",
            (_, S::Cancelled, _) => "cancelled at Antom: nothing charged",
            (_, S::RefundPending, _) => {
                "the cancel window had passed: a full refund is queued instead"
            }
            (_, S::Refunded, _) => "refunded in full at Antom: nothing charged",
            (_, S::Authorized, _) => {
                "authorized at Antom, not captured: captured on request, cancelled at the \
                 gateway deadline otherwise"
            }
            (_, S::Expired, _) => "expired at Antom unpaid: nothing charged",
        }
    }

    /// Asks the state table what `event` means for this record.
    pub fn decide(&self, event: Event) -> Next {
        next(self.kind, self.state, self.delivery, event)
    }

    /// The record's id in the journal: the `refundRequestId` for refunds, else the
    /// `paymentRequestId`.
    pub fn journal_id(&self) -> &str {
        match (&self.kind, &self.refund_request_id) {
            (TxnKind::Refund, Some(id)) => id.as_str(),
            _ => self.payment_request_id.as_str(),
        }
    }

    /// True if Antom must be assumed to hold no SUCCESS for a purchase in this state.
    pub fn is_settled_without_success(&self) -> bool {
        matches!(
            self.state,
            TxnState::Declined | TxnState::Cancelled | TxnState::Refunded | TxnState::Expired
        )
    }
}

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
    }
}

/// Work queued in the SAF stream; always written in the same atomic step as the state change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafEntry {
    /// What to do at Antom.
    pub action: SafAction,
    /// The payment concerned.
    pub payment_request_id: PaymentRequestId,
    /// The journal record to update with the outcome (see [`TransactionRecord::journal_id`]).
    pub journal_id: String,
    /// Journal shard tag of the transaction.
    pub tag: String,
    /// Configured Antom client to use.
    pub client: String,
    /// Why it was queued.
    pub reason: CancelReason,
    /// When it was queued, ms since the epoch.
    pub enqueued_at_ms: i64,
    /// Not to be sent before this time: the original call may still be in flight until then.
    pub not_before_ms: i64,
    /// `ORDER_NOT_EXIST` is not final before this time (the payment could still appear).
    pub order_may_appear_until_ms: i64,
    /// True when no journal record exists (a reversal for an original never seen).
    #[serde(default)]
    pub tombstone: bool,
}

/// The Antom call a SAF entry stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SafAction {
    /// `cancel` by `paymentRequestId`, retried with the same parameters.
    Cancel,
    /// `refund` of the full amount (a cancel whose window had passed), or the completion of a
    /// refund transaction whose answer stayed unknown; always the same `refundRequestId`.
    Refund {
        /// Idempotency key of the refund.
        refund_request_id: RefundRequestId,
        /// Antom `paymentId` of the payment to refund, when known.
        payment_id: Option<String>,
        /// Amount in minor units.
        amount_minor: u64,
        /// ISO 4217 alpha-3 currency.
        currency: String,
    },
}

impl SafAction {
    /// Stable label for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            SafAction::Cancel => "cancel",
            SafAction::Refund { .. } => "refund",
        }
    }
}

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
            Ok(Some(Change {
                expected_version: current.version,
                record,
                event,
                cause: cause.into(),
                enqueue,
                deadline,
            }))
        }
    }
}

/// Folds `DeliveryStarted` into a planned change whose record ends approved, so that an
/// approval and its `SENDING` mark are one durable write. Any other change is left as it is.
pub fn mark_sending(change: &mut Change, now_ms: i64) {
    if change.enqueue.is_some() {
        return;
    }
    if let Ok(Some(sending)) = plan_change(&change.record, Event::DeliveryStarted, now_ms, "") {
        change.record.delivery = sending.record.delivery;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PaymentRequestId;

    #[test]
    fn outlook_says_final_only_for_a_handed_over_approval() {
        let mut r = pending();
        assert!(r.outlook().starts_with("journaled"));
        r.state = TxnState::Approved;
        assert!(r.outlook().contains("not handed"));
        r.delivery = Delivery::Sending;
        assert!(r.outlook().ends_with("final"));
        r.delivery = Delivery::Undelivered;
        assert!(r.outlook().contains("cancelled at the gateway deadline"));
        r.kind = TxnKind::Refund;
        assert_eq!(r.outlook(), "refunded at Antom: final");
        for state in TxnState::ALL {
            r.state = state;
            assert!(!r.outlook().is_empty());
        }
    }

    fn pending() -> TransactionRecord {
        TransactionRecord {
            version: 3,
            kind: TxnKind::Purchase,
            state: TxnState::Pending,
            delivery: Delivery::None,
            payment_request_id: PaymentRequestId::new("261122100000T1000001000000001a2b3c4d"),
            refund_request_id: None,
            tag: "1a2b3c4d".into(),
            dedup_key: "M1|T1|20261122|000001".into(),
            origin: Origin::terminal("M1", "T1"),
            content_digest: "d".into(),
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
            created_at_ms: 0,
            updated_at_ms: 0,
            call_over_at_ms: 10,
            response_deadline_ms: 20,
            terminal_deadline_ms: 30,
            gateway_deadline_ms: 40,
            payment_expiry_ms: 50,
        }
    }

    #[test]
    fn an_approval_and_its_sending_mark_are_one_change() {
        let mut change = plan_change(&pending(), Event::Succeeded, 5, "pay S")
            .unwrap()
            .unwrap();
        mark_sending(&mut change, 5);
        assert_eq!(change.expected_version, 3);
        assert_eq!(change.record.version, 4, "one write, one version step");
        assert_eq!(change.record.state, TxnState::Approved);
        assert_eq!(change.record.delivery, Delivery::Sending);
        assert_eq!(change.enqueue, None);
        assert_eq!(
            change.deadline,
            DeadlineWatch::Stop,
            "handed over: the sweeper has nothing left to do"
        );
    }

    /// A record as the previous release wrote it (its `terminal_key` with the terminal's date,
    /// time and STAN, its `rrn`, the F39 it answered): a switch upgraded in place must read it.
    #[test]
    fn records_of_the_previous_release_still_load() {
        let old = r#"{"version":4,"kind":"purchase","state":"APPROVED","delivery":"SENDING",
            "payment_request_id":"261122100000T00000011000000001a2b3c4d","tag":"1a2b3c4d",
            "dedup_key":"M1|T0000001|20261122|000001",
            "terminal_key":{"merchant_id":"M1","terminal_id":"T0000001","local_date":"1122",
                "local_time":"100000","stan":"000001"},
            "content_digest":"d","client":"default","amount_minor":1000,"currency":"SGD",
            "currency_numeric":702,"masked_payment_code":"28**********1234",
            "payment_id":"P1","rrn":"632610000001","approval_code":"A1B2C3",
            "response_code":"00","result_code":"SUCCESS","wallet":"Alipay",
            "refunded_minor":0,"created_at_ms":1,"updated_at_ms":2,"call_over_at_ms":3,
            "response_deadline_ms":4,"terminal_deadline_ms":5,"gateway_deadline_ms":6,
            "payment_expiry_ms":7}"#;
        let record: TransactionRecord = serde_json::from_str(old).unwrap();
        assert_eq!(record.origin, Origin::terminal("M1", "T0000001"));
        assert_eq!(record.receipt_ref, "632610000001");
        assert_eq!(record.state, TxnState::Approved);
        assert_eq!(record.delivery, Delivery::Sending);
        assert!(record.refund_holds.is_empty());
        // Written back in this release's shape, it reads the same.
        let again: TransactionRecord =
            serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(again, record);
    }

    #[test]
    fn refund_holds_are_idempotent_bounded_by_the_payment_and_released_on_decline() {
        let approved = TransactionRecord {
            state: TxnState::Approved,
            ..pending()
        };
        let r1 = RefundRequestId::new("R1");
        let held = plan_refund_hold(&approved, &r1, 400, 7).unwrap().unwrap();
        assert_eq!(held.record.refunded_minor, 400);
        assert_eq!(held.record.version, approved.version + 1);
        assert_eq!(held.record.state, TxnState::Approved);
        assert_eq!(
            (held.enqueue.clone(), held.deadline),
            (None, DeadlineWatch::Keep)
        );
        // A re-sent refund holds nothing more.
        assert_eq!(plan_refund_hold(&held.record, &r1, 400, 8), Ok(None));
        let r2 = RefundRequestId::new("R2");
        assert_eq!(
            plan_refund_hold(&held.record, &r2, 601, 8),
            Err(HoldRefused::Exceeds)
        );
        let full = plan_refund_hold(&held.record, &r2, 600, 8)
            .unwrap()
            .unwrap();
        assert_eq!(full.record.refunded_minor, 1000);
        let released = plan_refund_release(&full.record, &r1, 9).unwrap();
        assert_eq!(released.record.refunded_minor, 600);
        assert_eq!(released.record.refund_holds.len(), 1);
        assert_eq!(plan_refund_release(&released.record, &r1, 9), None);
        let cancelled = TransactionRecord {
            state: TxnState::CancelPending,
            ..approved
        };
        assert_eq!(
            plan_refund_hold(&cancelled, &r1, 1, 9),
            Err(HoldRefused::NotApproved)
        );
    }

    #[test]
    fn a_success_that_becomes_a_cancel_is_not_marked_sending() {
        let declined = TransactionRecord {
            state: TxnState::Declined,
            ..pending()
        };
        let mut change = plan_change(&declined, Event::Succeeded, 5, "late S")
            .unwrap()
            .unwrap();
        let before = change.clone();
        mark_sending(&mut change, 5);
        assert_eq!(change, before);
        assert_eq!(change.record.state, TxnState::CancelPending);
        assert_eq!(change.record.delivery, Delivery::None);
    }
}
