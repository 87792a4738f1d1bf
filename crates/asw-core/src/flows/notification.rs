//! Antom's payment notifications, applied through the same transition as an inquiry.

use super::*;

impl Core {
    // -----------------------------------------------------------------------------------------
    // Notifications

    /// Applies a verified `notifyPayment` (SUCCESS) through the same transition as an inquiry.
    /// `paid_with` (online payments: the method, the acquirer, the card's result) is kept on
    /// the attempt.
    pub async fn apply_payment_notification(
        &self,
        payment_request_id: &str,
        payment_id: Option<String>,
        amount: Option<(u64, String)>,
        wallet: Option<String>,
        paid_with: Option<PaidWith>,
    ) -> Result<NotifyOutcome, StoreError> {
        let id = PaymentRequestId::new(payment_request_id);
        let Some(tag) = id.key_tag() else {
            return Ok(NotifyOutcome::Unknown);
        };
        if let Some(approved) = self.recent_approvals.get(payment_request_id) {
            // Approved here: SUCCESS can change nothing now (see `approved.rs`), so only the
            // amount check of the read below remains.
            if approved.matches(amount.as_ref()) {
                return Ok(NotifyOutcome::Ignored);
            }
            warn!(
                journal_id = payment_request_id,
                "notification amount/currency differ from the journal: not applied"
            );
            return Ok(NotifyOutcome::Mismatch);
        }
        let Some(record) = self.journal.load(tag, payment_request_id).await? else {
            return Ok(NotifyOutcome::Unknown);
        };
        if record.kind != TxnKind::Purchase {
            return Ok(NotifyOutcome::Unknown);
        }
        match &amount {
            Some((value, currency))
                if *value == record.amount_minor && *currency == record.currency => {}
            _ => {
                warn!(
                    journal_id = record.journal_id(),
                    "notification amount/currency differ from the journal: not applied"
                );
                return Ok(NotifyOutcome::Mismatch);
            }
        }
        let reported = paid_with.as_ref().and_then(|p| p.method_type.as_deref());
        let Some(record) = self.with_session_method(record, reported).await else {
            return Ok(NotifyOutcome::Ignored);
        };
        let before = record.state;
        if record.online.as_ref().and_then(|o| o.capture).is_some() {
            // A card-like method: SUCCESS here is the authorization; the capture makes it paid.
            let after = self
                .authorized(
                    record,
                    payment_id,
                    "notifyPayment SUCCESS (authorized)",
                    None,
                    paid_with.as_ref(),
                )
                .await;
            return Ok(
                if after.state != before && after.state == TxnState::Authorized {
                    NotifyOutcome::Authorized
                } else {
                    NotifyOutcome::Ignored
                },
            );
        }
        let paid = self.paid(payment_id, wallet);
        let patch = |r: &mut TransactionRecord| {
            paid(r);
            Self::keep_paid_with(r, paid_with.as_ref());
        };
        let after = self
            .apply(record, Event::Succeeded, "notifyPayment SUCCESS", patch)
            .await?;
        self.recent_approvals.note(&after);
        if after.state != before {
            Ok(NotifyOutcome::Applied)
        } else {
            Ok(NotifyOutcome::Ignored)
        }
    }
}

/// Antom's result codes that close an online payment left unpaid until its expiry: the
/// payment expired rather than failed (`ORDER_IS_CLOSED` is what the pay page documents).
const EXPIRY_CODES: [&str; 3] = ["ORDER_IS_CLOSED", "ORDER_CLOSED", "PAYMENT_EXPIRED"];

/// The event a final failure of an online payment means: expired, or failed with its code.
pub(super) fn online_failure_event(result_code: &str) -> Event {
    if EXPIRY_CODES.contains(&result_code) {
        Event::Expired
    } else {
        Event::Failed
    }
}

impl Core {
    /// Applies a verified `notifyPayment` with `F` to an online payment (the buyer declined on
    /// the method's page, or it expired unpaid). In-store payments learn failures from their
    /// own calls; a failure notification about one changes nothing.
    pub async fn apply_payment_failure_notification(
        &self,
        payment_request_id: &str,
        result_code: &str,
    ) -> Result<NotifyOutcome, StoreError> {
        let id = PaymentRequestId::new(payment_request_id);
        let Some(tag) = id.key_tag() else {
            return Ok(NotifyOutcome::Unknown);
        };
        let Some(record) = self.journal.load(tag, payment_request_id).await? else {
            return Ok(NotifyOutcome::Unknown);
        };
        if record.kind != TxnKind::Purchase || record.online.is_none() {
            return Ok(NotifyOutcome::Ignored);
        }
        let before = record.state;
        let event = online_failure_event(result_code);
        let cause = format!("notifyPayment FAIL {result_code}");
        let after = self
            .apply(record, event, &cause, steps::failed(result_code))
            .await?;
        self.recent_approvals.note(&after);
        if after.state != before {
            Ok(NotifyOutcome::Applied)
        } else {
            Ok(NotifyOutcome::Ignored)
        }
    }
}
