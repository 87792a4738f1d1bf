//! What the core answers a front, and the way back to it.

use super::*;

/// What the core answers a terminal, before ISO 8583 encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Field 39.
    pub response_code: &'static str,
    /// Classification for metrics.
    pub class: OutcomeClass,
    /// F37.
    pub rrn: Option<String>,
    /// F38 (approvals only).
    pub approval_code: Option<String>,
    /// F48 `PR`.
    pub payment_request_id: Option<PaymentRequestId>,
    /// F48 `PI`.
    pub payment_id: Option<String>,
    /// F48 `RQ`.
    pub refund_request_id: Option<RefundRequestId>,
    /// F48 `RI`.
    pub refund_id: Option<String>,
    /// F48 `WN`.
    pub wallet: Option<String>,
    /// F48 `RM`: a short result text (the Antom result code when there is one).
    pub result_text: Option<String>,
}

impl Answer {
    /// An answer decided before anything reached the journal or Antom.
    pub fn rejected(code: &'static str, text: impl Into<String>) -> Self {
        Self {
            response_code: code,
            class: OutcomeClass::Rejected,
            rrn: None,
            approval_code: None,
            payment_request_id: None,
            payment_id: None,
            refund_request_id: None,
            refund_id: None,
            wallet: None,
            result_text: Some(text.into()),
        }
    }

    /// The answer that reflects a journal record's current state.
    pub fn from_record(record: &TransactionRecord) -> Self {
        let (code, class) = match record.state {
            TxnState::Approved => (rc::APPROVED, OutcomeClass::Approved),
            TxnState::Declined => (
                record
                    .response_code
                    .as_deref()
                    .map_or(rc::DO_NOT_HONOUR, static_code),
                OutcomeClass::Declined,
            ),
            _ => (rc::UNAVAILABLE, OutcomeClass::TimedOut),
        };
        Self {
            response_code: code,
            class,
            rrn: Some(record.rrn.clone()),
            approval_code: if code == rc::APPROVED {
                record.approval_code.clone()
            } else {
                None
            },
            payment_request_id: Some(record.payment_request_id.clone()),
            payment_id: record.payment_id.clone(),
            refund_request_id: record.refund_request_id.clone(),
            refund_id: record.refund_id.clone(),
            wallet: record.wallet.clone(),
            result_text: record.result_code.clone(),
        }
    }

    /// True for 39 = 00.
    pub fn is_approval(&self) -> bool {
        self.response_code == rc::APPROVED
    }
}

/// Maps a stored response code back to the static constant (unknown codes decline).
fn static_code(code: &str) -> &'static str {
    rc::ALL
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or(rc::DO_NOT_HONOUR)
}

/// The way back to the terminal. `send` resolves once the answer was written (or failed).
#[async_trait]
pub trait Reply: Send + 'static {
    /// Writes the answer to the terminal that asked.
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered>;
}

/// The answer could not be written (connection gone, write timed out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the answer could not be delivered to the terminal")]
pub struct Undelivered;

impl Answer {
    pub(super) fn from_state_unavailable(record: &TransactionRecord) -> Self {
        let mut answer = Answer::from_record(record);
        answer.response_code = rc::UNAVAILABLE;
        answer.class = OutcomeClass::TimedOut;
        answer.approval_code = None;
        answer
    }
}
