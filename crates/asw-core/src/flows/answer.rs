//! What the core answers a front — a typed outcome and the payment's references — and the way
//! back to it. No wire format: each front has its one table from [`Outcome`] to its own codes
//! (ISO 8583 field 39, an HTTP status and problem type).

use super::*;

/// How a request ended, in domain terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Antom holds SUCCESS (a payment, a refund) and the front may say so.
    Approved,
    /// A cancel (reversal, void) is durably queued: acknowledged.
    Accepted,
    /// Antom declined; its result code, when it gave one, says why.
    Declined {
        /// Antom's `resultCode`.
        result_code: Option<String>,
    },
    /// Not known in time: the cancel (or, for a refund, its completion) is queued.
    Unresolved,
    /// Antom holds an authorisation, not captured yet: not a success.
    Authorized,
    /// The payment expired at Antom unpaid.
    Expired,
    /// Created at Antom and waiting for the buyer (a merchant-presented order code on
    /// display): not paid, not final. The record holds what to display.
    AwaitingBuyer,
    /// Refused by the switch itself, before or without Antom.
    Refused(Refusal),
}

/// Why the switch refused a request on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The merchant is not configured.
    UnknownMerchant,
    /// The terminal is not configured for the merchant.
    UnknownTerminal,
    /// The terminal is configured but disabled.
    TerminalDisabled,
    /// The terminal may not send refunds.
    RefundsDisabled,
    /// The payment code fails the configured rule.
    InvalidPaymentCode(String),
    /// The amount or currency is unusable.
    InvalidAmount(String),
    /// The request's own key cannot be read (a date or time that is none).
    Malformed(&'static str),
    /// The store cannot take the write: nothing was sent to Antom.
    StoreUnavailable,
    /// A reversal for this request arrived before it: declined without calling Antom.
    ReversedBeforeArrival,
    /// The request's key is journaled with other content.
    DuplicateWithOtherContent,
    /// The request's key is journaled and its first request is still running (asked not to
    /// wait, see [`WhileRunning`]).
    StillRunning,
    /// The store named is not one of the merchant's.
    UnknownStore,
    /// Another attempt of the same merchant order is still in flight: at most one is live.
    OrderInProgress,
    /// The switch is at its budget of payments in flight: nothing was journaled or sent, the
    /// payment may be tried again at once (a first transmission, not a duplicate).
    Busy,
    /// Another attempt of the same merchant order succeeded: at most one success per order.
    OrderAlreadyPaid,
    /// No original the sender may act on (or none at all: the two are answered alike).
    OriginalNotFound,
    /// The original was declined: nothing to void.
    OriginalDeclined,
    /// The original is not (or no longer) approved: nothing to refund.
    OriginalNotApproved,
    /// The original has a refund: a void cannot be honoured, refund the rest instead.
    OriginalRefunded,
    /// The original cannot be voided in its state.
    NotVoidable,
    /// A void's amount is not the original's.
    AmountDiffersFromOriginal,
    /// A refund's currency is not the original's.
    CurrencyDiffersFromOriginal,
    /// A refund above what remains of the payment.
    RefundExceedsPayment,
    /// Only an authorized card payment can be captured (not another method, nor one not yet
    /// authorized, failed or cancelled).
    NotCapturable,
    /// Antom refused the capture with this result code; the authorization stays.
    CaptureRefused(String),
}

impl Refusal {
    /// A stable short text for the front to show (`RM` on a terminal, `code` of a problem).
    pub fn text(&self) -> &str {
        match self {
            Refusal::UnknownMerchant => "UNKNOWN_MERCHANT",
            Refusal::UnknownTerminal => "UNKNOWN_TERMINAL",
            Refusal::TerminalDisabled => "TERMINAL_DISABLED",
            Refusal::RefundsDisabled => "REFUNDS_DISABLED",
            Refusal::InvalidPaymentCode(why) | Refusal::InvalidAmount(why) => why,
            Refusal::Malformed(why) => why,
            Refusal::StoreUnavailable => "STORE_UNAVAILABLE",
            Refusal::ReversedBeforeArrival => "REVERSED_BEFORE_ARRIVAL",
            Refusal::DuplicateWithOtherContent => "DUPLICATE_KEY",
            Refusal::StillRunning => "STILL_RUNNING",
            Refusal::Busy => "SWITCH_BUSY",
            Refusal::UnknownStore => "UNKNOWN_STORE",
            Refusal::OrderInProgress => "ORDER_IN_PROGRESS",
            Refusal::OrderAlreadyPaid => "ORDER_ALREADY_PAID",
            Refusal::OriginalNotFound => "ORIGINAL_NOT_FOUND",
            Refusal::OriginalDeclined => "ORIGINAL_DECLINED",
            Refusal::OriginalNotApproved => "ORIGINAL_NOT_APPROVED",
            Refusal::OriginalRefunded => "ORIGINAL_REFUNDED_USE_REFUND",
            Refusal::NotVoidable => "NOT_VOIDABLE",
            Refusal::NotCapturable => "NOT_CAPTURABLE",
            Refusal::CaptureRefused(code) => code,
            Refusal::AmountDiffersFromOriginal => "AMOUNT_DIFFERS_FROM_ORIGINAL",
            Refusal::CurrencyDiffersFromOriginal => "CURRENCY_DIFFERS_FROM_ORIGINAL",
            Refusal::RefundExceedsPayment => "REFUND_EXCEEDS_PAYMENT",
        }
    }
}

/// What the core answers a front: the outcome and the references of the payment it concerns.
#[derive(Clone, Debug)]
pub struct Answer {
    /// How the request ended.
    pub outcome: Outcome,
    /// The receipt reference the front gave the original request (a terminal's RRN).
    pub receipt_ref: Option<String>,
    /// The approval code for the receipt (approvals only).
    pub approval_code: Option<String>,
    /// Antom `paymentRequestId`.
    pub payment_request_id: Option<PaymentRequestId>,
    /// Antom `paymentId`.
    pub payment_id: Option<String>,
    /// Antom `refundRequestId`.
    pub refund_request_id: Option<RefundRequestId>,
    /// Antom `refundId`.
    pub refund_id: Option<String>,
    /// The wallet the customer paid with.
    pub wallet: Option<String>,
    /// A short result text (Antom's result code, or the refusal's text).
    pub result_text: Option<String>,
    /// The journal record the answer was made from, for a front that shows more than the
    /// outcome (so it need not read it back). Not part of what the answer says: two answers
    /// are equal when they say the same.
    pub record: Option<std::sync::Arc<TransactionRecord>>,
}

impl PartialEq for Answer {
    fn eq(&self, other: &Self) -> bool {
        self.outcome == other.outcome
            && self.receipt_ref == other.receipt_ref
            && self.approval_code == other.approval_code
            && self.payment_request_id == other.payment_request_id
            && self.payment_id == other.payment_id
            && self.refund_request_id == other.refund_request_id
            && self.refund_id == other.refund_id
            && self.wallet == other.wallet
            && self.result_text == other.result_text
    }
}

impl Eq for Answer {}

impl Answer {
    /// An answer that names no payment: a refusal, or an acknowledgement of nothing known.
    pub fn bare(outcome: Outcome, text: impl Into<String>) -> Self {
        Self {
            outcome,
            receipt_ref: None,
            approval_code: None,
            payment_request_id: None,
            payment_id: None,
            refund_request_id: None,
            refund_id: None,
            wallet: None,
            result_text: Some(text.into()),
            record: None,
        }
    }

    /// A refusal decided by the switch.
    pub fn refused(refusal: Refusal) -> Self {
        let text = refusal.text().to_string();
        Self::bare(Outcome::Refused(refusal), text)
    }

    /// The answer that reflects a journal record's current state.
    pub fn from_record(record: &TransactionRecord) -> Self {
        let outcome = match record.state {
            _ if record.order_code.is_some() => order_code_outcome(record),
            TxnState::Approved => Outcome::Approved,
            TxnState::Declined => Outcome::Declined {
                result_code: record.result_code.clone(),
            },
            TxnState::Authorized => Outcome::Authorized,
            TxnState::Expired => Outcome::Expired,
            _ => Outcome::Unresolved,
        };
        let result_text = match outcome {
            _ if record.order_code.is_none() => record.result_code.clone(),
            Outcome::AwaitingBuyer => Some("AWAITING_BUYER".into()),
            Outcome::Expired => Some("ORDER_CODE_EXPIRED".into()),
            _ => record.result_code.clone(),
        };
        Self {
            approval_code: if outcome == Outcome::Approved {
                record.approval_code.clone()
            } else {
                None
            },
            outcome,
            receipt_ref: Some(record.receipt_ref.clone()),
            payment_request_id: Some(record.payment_request_id.clone()),
            payment_id: record.payment_id.clone(),
            refund_request_id: record.refund_request_id.clone(),
            refund_id: record.refund_id.clone(),
            wallet: record.wallet.clone(),
            result_text,
            record: Some(std::sync::Arc::new(record.clone())),
        }
    }

    /// The answer for a record whose approval must not be handed over (too late, or its
    /// `SENDING` mark could not be written): unresolved, the sweeper cancels it.
    pub(super) fn withheld(record: &TransactionRecord) -> Self {
        let mut answer = Answer::from_record(record);
        answer.outcome = Outcome::Unresolved;
        answer.approval_code = None;
        answer
    }

    /// True when the front tells the merchant the payment (or refund) succeeded.
    pub fn is_approval(&self) -> bool {
        self.outcome == Outcome::Approved
    }

    /// The metric class of the outcome.
    pub fn class(&self) -> OutcomeClass {
        match self.outcome {
            Outcome::Approved | Outcome::Accepted => OutcomeClass::Approved,
            Outcome::Declined { .. } | Outcome::Expired => OutcomeClass::Declined,
            Outcome::Unresolved | Outcome::Authorized | Outcome::AwaitingBuyer => {
                OutcomeClass::TimedOut
            }
            Outcome::Refused(_) => OutcomeClass::Rejected,
        }
    }
}

/// What a merchant-presented order code's record says: waiting for its buyer while its code
/// is on display and in flight; expired once the switch closed it at its deadline (a late
/// success cancelled with it); otherwise as any purchase (`Approved` only from SUCCESS).
fn order_code_outcome(record: &TransactionRecord) -> Outcome {
    let displayable = record
        .order_code
        .as_ref()
        .is_some_and(crate::record::OrderCode::is_displayable);
    match record.state {
        TxnState::Pending | TxnState::Unknown if displayable => Outcome::AwaitingBuyer,
        TxnState::Approved => Outcome::Approved,
        TxnState::Declined => Outcome::Declined {
            result_code: record.result_code.clone(),
        },
        TxnState::Expired => Outcome::Expired,
        TxnState::CancelPending
        | TxnState::Cancelled
        | TxnState::RefundPending
        | TxnState::Refunded
            if displayable && record.cancel_reason == Some(CancelReason::GatewayDeadline) =>
        {
            Outcome::Expired
        }
        _ => Outcome::Unresolved,
    }
}

/// The way back to the front. `send` resolves once the answer was written (or failed).
#[async_trait]
pub trait Reply: Send + 'static {
    /// Writes the answer to whoever asked.
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered>;

    /// A front that keeps its first final answer under the request's key (REST, for byte-exact
    /// replays) gives the core a way to render it, so an approval and its kept answer are one
    /// durable write. `None` (the default): the front keeps nothing, or keeps it itself.
    fn first_answer(&self) -> Option<std::sync::Arc<dyn FirstAnswer>> {
        None
    }
}

/// Renders a front's first final answer from the record a commit is about to write.
pub trait FirstAnswer: Send + Sync {
    /// The answer to keep, rendered from `record`; called while planning the commit that
    /// approves (once per compare-and-set attempt: the last call is the one written).
    fn render(&self, record: &TransactionRecord) -> Option<crate::record::SavedAnswer>;
    /// The commit that carried the last rendering was written.
    fn committed(&self);
}

/// The answer could not be delivered (connection gone, write timed out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the answer could not be delivered")]
pub struct Undelivered;
