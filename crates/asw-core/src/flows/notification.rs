//! Antom's payment notifications, applied through the same transition as an inquiry.

use super::*;

impl Core {
    // -----------------------------------------------------------------------------------------
    // Notifications

    /// Applies a verified `notifyPayment` (SUCCESS) through the same transition as an inquiry.
    pub async fn apply_payment_notification(
        &self,
        payment_request_id: &str,
        payment_id: Option<String>,
        amount: Option<(u64, String)>,
        wallet: Option<String>,
    ) -> Result<NotifyOutcome, StoreError> {
        let id = PaymentRequestId::new(payment_request_id);
        let Some(tag) = id.key_tag() else {
            return Ok(NotifyOutcome::Unknown);
        };
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
        let before = record.state;
        let paid = self.paid(payment_id, wallet);
        let after = self
            .apply(record, Event::Succeeded, "notifyPayment SUCCESS", paid)
            .await?;
        if after.state != before {
            Ok(NotifyOutcome::Applied)
        } else {
            Ok(NotifyOutcome::Ignored)
        }
    }
}
