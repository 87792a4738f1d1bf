//! Voids: a cancel of the original through the SAF queue.

use super::*;

impl Core {
    /// A void (0200 `020000`): cancel of the original through the SAF queue, acknowledged once
    /// durably queued.
    pub async fn void(&self, request: VoidRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _in_flight = InFlight::enter("void");
        let span = info_span!("void", terminal_id = %request.origin.terminal_id);
        let answer = self.void_inner(&request).instrument(span).await;
        let answer = send_plain(reply, answer).await;
        record_outcome("void", started, &answer);
    }

    pub(super) async fn void_inner(&self, request: &VoidRequest) -> Answer {
        if let Err(e) = self.merchants.lookup_origin(&request.origin) {
            return merchant_answer(e);
        }
        let original = match self.find_original(&request.origin, &request.original).await {
            Ok(Some(r)) => r,
            Ok(None) => return Answer::refused(Refusal::OriginalNotFound),
            Err(error) => return store_down("void", &error),
        };
        if original.amount_minor != request.amount_minor {
            return Answer::refused(Refusal::AmountDiffersFromOriginal);
        }
        // Declined, or an online payment that expired unpaid: nothing to cancel.
        if matches!(original.state, TxnState::Declined | TxnState::Expired) {
            return Answer::refused(Refusal::OriginalDeclined);
        }
        // A void cancels the whole payment; Antom refuses to cancel one with a refund, so a
        // void is only acknowledged when no refund holds any of it. Decided inside the
        // compare-and-set, so a refund racing on another connection is ordered with it.
        let refunded = AtomicBool::new(false);
        let event = Event::CancelRequested(CancelReason::Void);
        let outcome = self
            .commit_planned(original, event, "void", |current, now| {
                refunded.store(current.refunded_minor > 0, Ordering::Relaxed);
                if current.refunded_minor > 0 {
                    Ok(None)
                } else {
                    plan_change(current, event, now, "void")
                }
            })
            .await;
        match outcome {
            Ok(_) if refunded.load(Ordering::Relaxed) => Answer::refused(Refusal::OriginalRefunded),
            Ok(record) if record.state.is_reversing() || record.state == TxnState::Failed => {
                let mut answer = self.reversal_ack(Some(&record));
                answer.receipt_ref = request.receipt_ref.clone();
                answer.payment_id = record.payment_id.clone();
                answer
            }
            Ok(_) => Answer::refused(Refusal::NotVoidable),
            // The cancel may be queued: "nothing done" would be false if it is. Unknown makes
            // the terminal re-send the void, which then finds it either way.
            Err(StoreError::Indeterminate(why)) => {
                warn!(%why, "void written but unconfirmed: answering unknown");
                metrics::counter!(metric::STORE_FAILURES, "flow" => "void").increment(1);
                Answer::bare(Outcome::Unresolved, "void outcome unknown")
            }
            Err(error) => store_down("void", &error),
        }
    }
}
