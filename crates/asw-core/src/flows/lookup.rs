//! The one lookup of an original that every follow-up goes through, scoped to its sender.

use super::*;

impl Core {
    // -----------------------------------------------------------------------------------------
    // Void, refund, status inquiry

    /// Locates the purchase a void/refund/inquiry refers to, scoped to its sender: the one
    /// lookup every follow-up goes through. A payment the sender has no authority over (another
    /// merchant's, or another terminal's outside the merchant's `follow_ups` scope), or one
    /// whose references disagree (a `PI` or RRN of another payment beside the `PR`), is `None`:
    /// exactly what an original that does not exist gives, so the answer is no oracle.
    ///
    /// `PR` names any payment of the journal; the RRN is unique per terminal only, so it names
    /// the sender's own purchases; `PI` (Antom's id) alone names nothing, since the journal is
    /// not indexed by it: it only confirms what `PR` or the RRN found.
    pub(super) async fn find_original(
        &self,
        sender: &TerminalKey,
        original: &OriginalRef,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let found = match self.lookup_original(sender, original).await? {
            Some(record) => record,
            None => return Ok(None),
        };
        let owner = &found.terminal_key;
        let authorised = found.kind == TxnKind::Purchase
            && self.merchants.may_follow_up(
                &sender.merchant_id,
                &sender.terminal_id,
                &owner.merchant_id,
                &owner.terminal_id,
            );
        let consistent = original
            .payment_id
            .as_deref()
            .is_none_or(|pi| found.payment_id.as_deref() == Some(pi.trim()))
            && original
                .rrn
                .as_deref()
                .is_none_or(|rrn| found.rrn.trim() == rrn.trim());
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

    pub(super) async fn lookup_original(
        &self,
        sender: &TerminalKey,
        original: &OriginalRef,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        if let Some(prid) = original.payment_request_id.as_deref() {
            let id = PaymentRequestId::new(prid);
            return match id.key_tag() {
                Some(tag) => self.journal.load(tag, prid).await,
                None => Ok(None),
            };
        }
        if let Some(rrn_value) = original.rrn.as_deref()
            && let Some((local_date, year, stan)) = parse_rrn(rrn_value, self.today())
        {
            let key = TerminalKey {
                merchant_id: sender.merchant_id.clone(),
                terminal_id: sender.terminal_id.clone(),
                local_date,
                local_time: String::new(),
                stan,
            };
            let dated = DatedKey { key: &key, year };
            let tag = self.ids.key_tag(&dated);
            return self
                .journal
                .load_by_dedup_key(&tag, &dated.dedup_string())
                .await;
        }
        Ok(None)
    }
}
