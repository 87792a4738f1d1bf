//! The journal record of one transaction and the queued work (SAF entries) it can create.

use serde::{Deserialize, Serialize};

use crate::domain::{Origin, PaymentRequestId, RefundRequestId, TxnKind};
use crate::state::{CancelReason, Delivery, Event, Next, TxnState, next};

mod buyer;
mod events;
mod holds;
mod online;
mod order_code;
mod plan;
mod saf;
#[cfg(test)]
pub(crate) mod tests;

pub use buyer::{AcquirerDetails, BillingAddress, BuyerDetails, CardChecks, CardDetails, PaidWith};
pub use events::{EVENT_KINDS, MerchantEvent, merchant_event};
pub use holds::{HoldRefused, RefundHold, plan_refund_hold, plan_refund_release};
pub use online::{CaptureMode, CheckoutSession, NextAction, OnlineCheckout};
pub use order_code::OrderCode;
pub use plan::{
    Change, IllegalTransition, SavedAnswer, fallback_refund_request_id, mark_sending, plan_change,
};
pub use saf::{SafAction, SafEntry};

/// One transaction as the journal keeps it. Serialised as JSON inside Redis; fields at their
/// default (absent options, zero amounts, no delivery yet) are left out, because every byte is
/// written and fsync'd twice per purchase (at begin and at commit) and read back on the slow path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRecord {
    /// Compare-and-set version: every committed change increments it.
    pub version: u64,
    /// Purchase or refund.
    pub kind: TxnKind,
    /// Current state.
    pub state: TxnState,
    /// Whether the terminal received the approval.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delivery: Delivery,
    /// Hand-overs of the approval (answers, reads, events that said it) marked so far; with
    /// [`Self::failed_handovers`] it decides whether a failed one un-hands the approval: only
    /// when every one failed. 0 on records from before it (a `SENDING` one counts as one).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handovers: u32,
    /// Hand-overs known to have failed (a write refused, an event not acknowledged).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_handovers: u32,
    /// When the approval was last marked handed over from not handed over, ms since the Unix
    /// epoch: hand-overs are counted, and their failures recorded, only for a while after it
    /// (`timing.handover_settle_ms`). 0 when never.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handed_over_at_ms: i64,
    /// The Antom `paymentRequestId` (for a refund: the original payment's).
    pub payment_request_id: PaymentRequestId,
    /// For refunds: the `refundRequestId` (also the journal id of the refund record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_payment_code: Option<String>,
    /// Antom `paymentId`, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Antom `refundId`, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// The reference the requester was given to name the transaction later (a terminal's RRN;
    /// `rrn` in records of earlier releases).
    #[serde(alias = "rrn")]
    pub receipt_ref: String,
    /// The approval code for the receipt, when approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
    /// Last Antom `resultCode` seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_code: Option<String>,
    /// Wallet name for the receipt (`pspName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<String>,
    /// Total held by refunds of this purchase, pending or done (minor units): the sum of
    /// `refund_holds`. What a cancel that Antom refuses leaves to refund.
    #[serde(default, skip_serializing_if = "is_zero")]
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
    /// The requester's description of the purchase (Antom `orderDescription`), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The requester's own key/value pairs, kept with the payment and shown back to it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Why a cancel was queued, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<CancelReason>,
    /// Online payments only: the method, the return URL and where the buyer goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<Box<OnlineCheckout>>,
    /// Merchant-presented order codes only: the code the terminal displays and its expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_code: Option<OrderCode>,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// Drawn at random when the record is made: a `begin` that a store client re-sent finds
    /// the first run's record and knows it for its own by this (0 on records from before it).
    #[serde(default)]
    pub begin_token: u32,
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
            (_, S::Unknown, _) if self.order_code.is_some() => {
                "order code on the terminal's display, awaiting the buyer: cancelled at its \
                 closing time unless the buyer paid and the terminal was told"
            }
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

    /// Hand-overs marked so far; a `SENDING` record from before the counters counts one.
    pub fn handovers_marked(&self) -> u32 {
        if self.delivery == Delivery::Sending {
            self.handovers.max(self.failed_handovers.saturating_add(1))
        } else {
            self.handovers
        }
    }

    /// True while a hand-over of this approval may still be recorded as failed (its settle
    /// window is open on some clock within the tolerance): until then every further hand-over
    /// must be counted before it is sent.
    pub fn handover_may_fail(&self, now_ms: i64, timing: &crate::flows::Timing) -> bool {
        self.delivery == Delivery::Sending
            && !timing
                .clock_skew()
                .surely_past(now_ms, self.handed_over_at_ms + timing.handover_settle_ms)
    }

    /// True while a failed hand-over may still be recorded: the settle window is surely open
    /// on every clock within the tolerance, so no reader has yet said "approved" uncounted.
    pub fn handover_failure_countable(&self, now_ms: i64, timing: &crate::flows::Timing) -> bool {
        timing
            .clock_skew()
            .surely_before(now_ms, self.handed_over_at_ms + timing.handover_settle_ms)
    }

    /// The record's id in the journal: the `refundRequestId` for refunds, else the
    /// `paymentRequestId`.
    pub fn journal_id(&self) -> &str {
        match (&self.kind, &self.refund_request_id) {
            (TxnKind::Refund, Some(id)) => id.as_str(),
            _ => self.payment_request_id.as_str(),
        }
    }

    /// The merchant order this record locks while it is in flight or successful: REST
    /// payments with an order id (a terminal's invoice reference locks nothing). At most one
    /// attempt of an order is live at a time, so at most one can succeed.
    pub fn order_lock(&self) -> Option<String> {
        let order = self.order_ref.as_deref()?;
        (self.kind == TxnKind::Purchase && self.origin.way_in == crate::domain::WayIn::Rest)
            .then(|| format!("{}|{}", self.origin.merchant_id.trim_end(), order))
    }

    /// Whether an attempt in this state keeps its order taken: still in flight, paid or
    /// authorised, or a cancel the queue gave up on (Antom may hold the money).
    pub fn holds_its_order(&self) -> bool {
        matches!(
            self.state,
            TxnState::Pending
                | TxnState::Unknown
                | TxnState::Approved
                | TxnState::Authorized
                | TxnState::Failed
        )
    }

    /// True if Antom must be assumed to hold no SUCCESS for a purchase in this state.
    pub fn is_settled_without_success(&self) -> bool {
        matches!(
            self.state,
            TxnState::Declined | TxnState::Cancelled | TxnState::Refunded | TxnState::Expired
        )
    }
}

/// Serde's test for the fields left out of the JSON while at their default.
fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
