//! Purchases this switch approved recently, kept in memory so that Antom's SUCCESS notification
//! of each one (one per approved purchase) is answered without a journal read.
//!
//! Why it is safe: once a purchase is `APPROVED`, the state table ignores `Succeeded` in that
//! state and in every state an approval can lead to (being cancelled, cancelled, refunded,
//! given up), so the notification can change nothing; what the journal read would still check
//! — that the amount and currency are the journal's — is kept here too. Only plain purchases
//! (no online checkout, no order code) are remembered: their notifications carry nothing else
//! to record. Losing the memory (a restart, another instance taking the notification, the
//! oldest entries evicted) costs only the read it would have saved.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::domain::TxnKind;
use crate::record::TransactionRecord;
use crate::state::TxnState;

/// How many approvals are remembered: the notifications come within seconds of the approval
/// (Antom's retries within hours), so a few seconds of peak traffic is plenty.
const CAPACITY: usize = 16_384;

/// The amount and currency an approved purchase was journaled with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Approved {
    amount_minor: u64,
    currency: Box<str>,
}

impl Approved {
    /// Whether a notification's amount is the journal's.
    pub(crate) fn matches(&self, amount: Option<&(u64, String)>) -> bool {
        amount.is_some_and(|(value, currency)| {
            *value == self.amount_minor && **currency == *self.currency
        })
    }
}

/// A bounded map of recent approvals (oldest evicted first).
#[derive(Debug, Default)]
pub(crate) struct RecentApprovals {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<Box<str>, Approved>,
    order: VecDeque<Box<str>>,
}

impl RecentApprovals {
    /// Remembers `record` when it is a plain purchase the journal now holds approved.
    pub(crate) fn note(&self, record: &TransactionRecord) {
        if record.kind != TxnKind::Purchase
            || record.state != TxnState::Approved
            || record.online.is_some()
            || record.order_code.is_some()
        {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let id: Box<str> = record.payment_request_id.as_str().into();
        if inner.by_id.contains_key(&id) {
            return;
        }
        if inner.order.len() >= CAPACITY
            && let Some(oldest) = inner.order.pop_front()
        {
            inner.by_id.remove(&oldest);
        }
        inner.order.push_back(id.clone());
        inner.by_id.insert(
            id,
            Approved {
                amount_minor: record.amount_minor,
                currency: record.currency.as_str().into(),
            },
        );
    }

    /// The approval of `payment_request_id`, when this switch made it recently.
    pub(crate) fn get(&self, payment_request_id: &str) -> Option<Approved> {
        self.inner
            .lock()
            .ok()?
            .by_id
            .get(payment_request_id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approved(n: usize) -> TransactionRecord {
        let mut r = crate::record::tests::pending();
        r.payment_request_id = crate::domain::PaymentRequestId::new(format!("P{n}"));
        r.state = TxnState::Approved;
        r
    }

    #[test]
    fn remembers_plain_approved_purchases_only_and_evicts_the_oldest() {
        let recent = RecentApprovals::default();
        let mut pending = approved(0);
        pending.state = TxnState::Pending;
        recent.note(&pending);
        assert!(recent.get(pending.payment_request_id.as_str()).is_none());
        let mut online = approved(1);
        online.online = Some(Box::default());
        recent.note(&online);
        assert!(recent.get(online.payment_request_id.as_str()).is_none());

        for n in 0..=CAPACITY {
            recent.note(&approved(n + 10));
        }
        assert!(
            recent
                .get(approved(10).payment_request_id.as_str())
                .is_none()
        );
        let last = approved(CAPACITY + 10);
        let got = recent.get(last.payment_request_id.as_str());
        assert!(
            got.as_ref()
                .is_some_and(|a| a.matches(Some(&(last.amount_minor, last.currency.clone()))))
        );
        assert!(!got.is_some_and(|a| a.matches(Some(&(last.amount_minor + 1, last.currency)))));
    }
}
