//! The merchant's order and its tries at Antom.
//!
//! A *payment intent* is what the merchant asks its customer to pay: an order reference within
//! one merchant, an amount, and the at-most-one attempt that succeeded. An *attempt* is one try
//! at Antom with its own `paymentRequestId` (seeds 000/001: a failed, expired or abandoned try is
//! followed by a new one with a new id and the same `referenceOrderId`). A terminal purchase is
//! an intent with one attempt; the online products give an order several.
//!
//! The rules here are pure: which attempt the order's outcome is, whether a new attempt may
//! start, and which successes beyond the first must be taken back. Each journal record is an
//! attempt and names its order ([`crate::record::TransactionRecord::order_ref`]).

use crate::domain::{Money, PaymentRequestId};
use crate::state::TxnState;

/// One try at Antom, as far as its order is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Its `paymentRequestId`.
    pub payment_request_id: PaymentRequestId,
    /// Where it stands in the journal.
    pub state: TxnState,
    /// When it was created, ms since the epoch (attempts are ordered by it).
    pub created_at_ms: i64,
}

impl Attempt {
    /// Antom holds this attempt's money (taken, or held by an authorisation).
    fn holds_money(&self) -> bool {
        matches!(self.state, TxnState::Approved | TxnState::Authorized)
    }

    /// The attempt may still end in a success at Antom.
    fn may_still_succeed(&self) -> bool {
        self.state.is_in_flight()
    }
}

impl From<&crate::record::TransactionRecord> for Attempt {
    fn from(record: &crate::record::TransactionRecord) -> Self {
        Self {
            payment_request_id: record.payment_request_id.clone(),
            state: record.state,
            created_at_ms: record.created_at_ms,
        }
    }
}

/// The merchant's order: a reference unique within its merchant, the amount asked, and its
/// attempts in the order they were made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentIntent {
    /// The merchant.
    pub merchant_id: String,
    /// The merchant's order reference (Antom `referenceOrderId`).
    pub order_ref: String,
    /// What the customer is asked to pay.
    pub amount: Money,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
}

/// Why a new attempt of an order may not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttemptRefused {
    /// The order is paid (or its money is held by an authorisation): never a second success.
    #[error("the order is already paid")]
    AlreadyPaid,
    /// A new attempt must ask for the order's amount.
    #[error("the amount differs from the order's")]
    AmountDiffers,
}

impl PaymentIntent {
    /// The attempt that holds the order's money: the oldest that Antom took or holds. At most
    /// one may count; any other is for [`PaymentIntent::excess_successes`].
    pub fn succeeded(&self) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.holds_money())
    }

    /// Whether a new attempt for `amount` may start. After a failure, an expiry or an attempt
    /// still processing or abandoned, it may (seed 001: the merchant pays again with a new
    /// `paymentRequestId`); once an attempt holds the money, it may not.
    pub fn may_start_attempt(&self, amount: Money) -> Result<(), AttemptRefused> {
        if self.succeeded().is_some() {
            return Err(AttemptRefused::AlreadyPaid);
        }
        if amount != self.amount {
            return Err(AttemptRefused::AmountDiffers);
        }
        Ok(())
    }

    /// Earlier attempts that may still succeed and must be closed before (or while) a new one
    /// goes out, so the order cannot end with two successes.
    pub fn to_close_before_retry(&self) -> Vec<&PaymentRequestId> {
        self.attempts
            .iter()
            .filter(|a| a.may_still_succeed())
            .map(|a| &a.payment_request_id)
            .collect()
    }

    /// Successes beyond the one the order keeps: each must be cancelled (or refunded), and the
    /// merchant told. The order keeps the oldest.
    pub fn excess_successes(&self) -> Vec<&PaymentRequestId> {
        self.attempts
            .iter()
            .filter(|a| a.holds_money())
            .skip(1)
            .map(|a| &a.payment_request_id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: &str, state: TxnState, at: i64) -> Attempt {
        Attempt {
            payment_request_id: PaymentRequestId::new(id),
            state,
            created_at_ms: at,
        }
    }

    fn sgd(minor: u64) -> Money {
        Money::from_numeric_currency(minor, 702).unwrap_or_else(|e| panic!("{e}"))
    }

    fn order(attempts: Vec<Attempt>) -> PaymentIntent {
        PaymentIntent {
            merchant_id: "M1".into(),
            order_ref: "ORDER-1".into(),
            amount: sgd(1250),
            attempts,
        }
    }

    #[test]
    fn a_failed_expired_or_abandoned_try_allows_a_new_attempt() {
        let o = order(vec![
            attempt("A", TxnState::Declined, 1),
            attempt("B", TxnState::Expired, 2),
            attempt("C", TxnState::Unknown, 3),
        ]);
        assert_eq!(o.succeeded(), None);
        assert_eq!(o.may_start_attempt(sgd(1250)), Ok(()));
        assert_eq!(
            o.may_start_attempt(sgd(1251)),
            Err(AttemptRefused::AmountDiffers)
        );
        // The one still processing must be closed first.
        let ids: Vec<&str> = o
            .to_close_before_retry()
            .iter()
            .map(|p| p.as_str())
            .collect();
        assert_eq!(ids, ["C"]);
    }

    #[test]
    fn a_paid_or_authorised_order_refuses_another_attempt() {
        for state in [TxnState::Approved, TxnState::Authorized] {
            let o = order(vec![
                attempt("A", TxnState::Declined, 1),
                attempt("B", state, 2),
            ]);
            assert_eq!(
                o.succeeded().map(|a| a.payment_request_id.as_str()),
                Some("B")
            );
            assert_eq!(
                o.may_start_attempt(sgd(1250)),
                Err(AttemptRefused::AlreadyPaid)
            );
        }
    }

    #[test]
    fn two_successes_keep_the_oldest_and_give_back_the_others() {
        let o = order(vec![
            attempt("A", TxnState::Approved, 1),
            attempt("B", TxnState::Cancelled, 2),
            attempt("C", TxnState::Approved, 3),
            attempt("D", TxnState::Authorized, 4),
        ]);
        assert_eq!(
            o.succeeded().map(|a| a.payment_request_id.as_str()),
            Some("A")
        );
        let ids: Vec<&str> = o.excess_successes().iter().map(|p| p.as_str()).collect();
        assert_eq!(ids, ["C", "D"]);
    }
}
