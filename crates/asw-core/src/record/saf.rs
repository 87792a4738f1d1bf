//! Work queued in the SAF stream, written in the same atomic step as the state change.

use super::*;

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
