//! Reversal requests and advices: acknowledged once the cancel is durably queued.

use super::*;

impl Core {
    // -----------------------------------------------------------------------------------------
    // Reversals

    /// A reversal request (0400/0401) or advice (0420/0421): acknowledged once the cancel is
    /// durably queued, even for an original never seen.
    pub async fn reverse(&self, request: ReversalRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let flow = if request.advice { "advice" } else { "reversal" };
        let _in_flight = InFlight::enter(flow);
        let span = info_span!("reversal", terminal_id = %request.origin.terminal_id,
            payment_request_id = %request.original.payment_request_id, advice = request.advice);
        let answer = self.reverse_inner(&request).instrument(span).await;
        let answer = send_plain(reply, answer).await;
        record_outcome(flow, started, &answer);
    }

    pub(super) async fn reverse_inner(&self, request: &ReversalRequest) -> Answer {
        let reason = if request.advice {
            CancelReason::ReversalAdvice
        } else {
            CancelReason::ReversalRequest
        };
        if !request.of_purchase {
            // A void or refund cannot be undone at Antom: acknowledge, surface for reconciliation.
            warn!("reversal of a non-purchase acknowledged without action: reconcile manually");
            metrics::counter!(metric::UNREVERSIBLE_REVERSALS).increment(1);
            return Answer::bare(Outcome::Accepted, "NOT_REVERSIBLE_ACKNOWLEDGED");
        }
        let tag = request.original.tag.clone();
        let dedup = request.original.dedup_key.clone();
        let existing = match self.journal.load_by_dedup_key(&tag, &dedup).await {
            Ok(r) => r,
            Err(error) => return store_down("reversal", &error),
        };
        let record = match existing {
            Some(record) => record,
            None => {
                let Some(merchant) = self.merchants.merchant(&request.origin.merchant_id) else {
                    // Nothing can have been sent for an unknown merchant.
                    return Answer::bare(Outcome::Accepted, "UNKNOWN_ORIGINAL_ACKNOWLEDGED");
                };
                let now = self.now_ms();
                let timing = &self.settings.timing;
                let prid = request.original.payment_request_id.clone();
                let tombstone = Tombstone {
                    tag: tag.clone(),
                    dedup_key: dedup.clone(),
                    payment_request_id: prid.clone(),
                    created_at_ms: now,
                };
                let cancel = SafEntry {
                    action: SafAction::Cancel,
                    payment_request_id: prid.clone(),
                    journal_id: prid.as_str().to_string(),
                    tag: tag.clone(),
                    client: merchant.client.clone(),
                    reason,
                    enqueued_at_ms: now,
                    not_before_ms: now,
                    order_may_appear_until_ms: now + timing.pay_timeout_ms + timing.call_margin_ms,
                    tombstone: true,
                };
                match self.journal.reverse_unseen(&tombstone, &cancel).await {
                    Ok(TombstoneOutcome::Created) => {
                        info!(payment_request_id = %prid, "reversal before its original: tombstone and cancel queued");
                        return self.reversal_ack(None);
                    }
                    Ok(TombstoneOutcome::AlreadyTombstoned) => return self.reversal_ack(None),
                    Ok(TombstoneOutcome::RecordExists(record)) => *record,
                    Err(error) => return store_down("reversal", &error),
                }
            }
        };
        match self
            .apply(
                record,
                Event::CancelRequested(reason),
                reason.as_str(),
                |_| {},
            )
            .await
        {
            Ok(record) => self.reversal_ack(Some(&record)),
            Err(error) => store_down("reversal", &error),
        }
    }

    pub(super) fn reversal_ack(&self, record: Option<&TransactionRecord>) -> Answer {
        let mut answer = Answer::bare(Outcome::Accepted, "REVERSAL_ACCEPTED");
        if let Some(r) = record {
            answer.receipt_ref = Some(r.receipt_ref.clone());
            answer.payment_request_id = Some(r.payment_request_id.clone());
        }
        answer
    }
}
