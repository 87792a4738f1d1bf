//! The one lookup of an original that every follow-up goes through, scoped to its sender.

use super::*;

impl Core {
    // -----------------------------------------------------------------------------------------
    // Void, refund, status inquiry

    /// Locates the purchase a void/refund/inquiry refers to, scoped to its sender: the one
    /// lookup every follow-up goes through. A payment the sender has no authority over (another
    /// merchant's, or another terminal's outside the merchant's `follow_ups` scope), or one
    /// whose references disagree (a payment id or receipt reference of another payment beside
    /// the `paymentRequestId`), is `None`: exactly what an original that does not exist gives,
    /// so the answer is no oracle.
    ///
    /// A `paymentRequestId` names any payment of the journal; an own-request key names the
    /// sender's own earlier request; a payment id alone names nothing, since the journal is not
    /// indexed by it: it only confirms what the others found.
    pub(super) async fn find_original(
        &self,
        sender: &Origin,
        original: &OriginalRef,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let found = match self.lookup_original(original).await? {
            Some(record) => record,
            None => return Ok(None),
        };
        let authorised =
            found.kind == TxnKind::Purchase && self.merchants.may_follow_up(sender, &found.origin);
        let consistent = original
            .payment_id
            .as_deref()
            .is_none_or(|pi| found.payment_id.as_deref() == Some(pi.trim()))
            && original
                .receipt_ref
                .as_deref()
                .is_none_or(|r| found.receipt_ref.trim() == r.trim());
        if authorised && consistent {
            Ok(Some(found))
        } else {
            if !authorised {
                metrics::counter!(metric::OUT_OF_SCOPE).increment(1);
                info!(
                    terminal_id = %sender.terminal_id,
                    "follow-up names a payment outside its scope: answered as unknown"
                );
            }
            Ok(None)
        }
    }

    /// A payment or refund as the journal holds it, when `sender` may see it (the same scope,
    /// and the same "not found" for what it may not see, as every follow-up): what a front
    /// reads to show a payment's details beside the answer of a flow.
    pub async fn find_payment(
        &self,
        sender: &Origin,
        payment_request_id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let original = OriginalRef {
            payment_request_id: Some(payment_request_id.to_string()),
            ..OriginalRef::default()
        };
        self.find_original(sender, &original).await
    }

    /// A refund as the journal holds it, when `sender` may see it (the same authority as over
    /// its payment; anything else is `None`, like a refund that does not exist).
    pub async fn find_refund(
        &self,
        sender: &Origin,
        refund_request_id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        // Refund ids end with the shard tag of their own request key, like payment ids.
        let Some(tag) = PaymentRequestId::new(refund_request_id)
            .key_tag()
            .map(str::to_string)
        else {
            return Ok(None);
        };
        let found = self.journal.load(&tag, refund_request_id).await?;
        Ok(found.filter(|record| {
            record.kind == TxnKind::Refund && self.merchants.may_follow_up(sender, &record.origin)
        }))
    }

    /// Every attempt of one of the sender's merchant orders, oldest first (the order's shard
    /// `tag` comes from the front that derived the attempts' ids); attempts the sender may not
    /// see are left out, so another merchant's order of the same id is empty.
    pub async fn order_attempts(
        &self,
        sender: &Origin,
        tag: &str,
        order_id: &str,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        let order = format!("{}|{order_id}", sender.merchant_id.trim_end());
        let attempts = self.journal.order_attempts(tag, &order).await?;
        Ok(attempts
            .into_iter()
            .filter(|r| self.merchants.may_follow_up(sender, &r.origin))
            .collect())
    }

    /// A page of the sender's merchant's REST payments, newest first (see
    /// [`crate::ports::Journal::merchant_payments`]); only what the sender may see.
    pub async fn merchant_payments(
        &self,
        sender: &Origin,
        before: Option<(i64, String)>,
        created_after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        let page = self
            .journal
            .merchant_payments(sender.merchant_id.trim_end(), before, created_after, limit)
            .await?;
        Ok(page
            .into_iter()
            .filter(|r| self.merchants.may_follow_up(sender, &r.origin))
            .collect())
    }

    async fn lookup_original(
        &self,
        original: &OriginalRef,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        if let Some(prid) = original.payment_request_id.as_deref() {
            let id = PaymentRequestId::new(prid);
            return match id.key_tag() {
                Some(tag) => self.journal.load(tag, prid).await,
                None => Ok(None),
            };
        }
        if let Some((dedup_key, tag)) = &original.own_request {
            return self.journal.load_by_dedup_key(tag, dedup_key).await;
        }
        Ok(None)
    }
}
