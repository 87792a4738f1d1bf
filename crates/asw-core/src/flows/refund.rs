//! Refunds, full or partial, each holding its amount on the original until Antom decides.

use super::*;

impl Core {
    /// A refund (0200 `200000`), full or partial, idempotent by its own key.
    pub async fn refund(&self, request: RefundRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _in_flight = InFlight::enter("refund");
        let span = info_span!("refund",
            terminal_id = %request.request.origin.terminal_id,
            refund_request_id = %request.refund_request_id);
        let answer = self.refund_inner(request, reply).instrument(span).await;
        record_outcome("refund", started, &answer);
    }

    pub(super) async fn refund_inner(
        &self,
        request: RefundRequest,
        reply: Box<dyn Reply>,
    ) -> Answer {
        let received_ms = self.now_ms();
        match self.start_refund(&request, received_ms).await {
            Err(refusal) => send_plain(reply, refusal).await,
            Ok(Started::Duplicate(existing)) => {
                self.duplicate(*existing, &request.content_digest, received_ms, reply)
                    .await
            }
            Ok(Started::Journaled(record, command)) => {
                let record = self.run_refund(*record, &command, received_ms).await;
                self.deliver_refund(record, reply).await
            }
        }
    }

    /// Everything decided before Antom: authority over the original, the hold on it, the
    /// journal. `Err` is the refusal to answer.
    async fn start_refund(
        &self,
        request: &RefundRequest,
        received_ms: i64,
    ) -> Result<Started<RefundCommand>, Answer> {
        let origin = &request.request.origin;
        let (merchant, terminal) = self
            .merchants
            .lookup_origin(origin)
            .map_err(merchant_answer)?;
        if !terminal.refunds {
            return Err(Answer::refused(Refusal::RefundsDisabled));
        }
        let amount = Money::from_numeric_currency(request.amount_minor, request.currency_numeric)
            .map_err(|e| Answer::refused(Refusal::InvalidAmount(e.to_string())))?;
        let original = self
            .find_original(origin, &request.original)
            .await
            .map_err(|error| store_down("refund", &error))?
            .ok_or_else(|| Answer::refused(Refusal::OriginalNotFound))?;
        if original.currency_numeric != request.currency_numeric {
            return Err(Answer::refused(Refusal::CurrencyDiffersFromOriginal));
        }
        let payment_id = original
            .payment_id
            .clone()
            .ok_or_else(|| Answer::refused(Refusal::OriginalNotApproved))?;
        let refund_id = request.refund_request_id.clone();
        let mut record = self.new_record(
            TxnKind::Refund,
            &request.request,
            original.payment_request_id.clone(),
            Some(refund_id.clone()),
            &merchant,
            amount,
            None,
            &request.content_digest,
            received_ms,
        );
        record.payment_id = Some(payment_id.clone());
        // The hold on the original comes first: once the refund record exists, the sweeper
        // may complete it through the queue, and by then the original must already count it.
        match self
            .hold_refund(original, &refund_id, amount.minor_units)
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(HoldRefused::NotApproved)) => {
                return Err(Answer::refused(Refusal::OriginalNotApproved));
            }
            Ok(Err(HoldRefused::Exceeds)) => {
                return Err(Answer::refused(Refusal::RefundExceedsPayment));
            }
            Err(error) => return Err(store_down("refund", &error)),
        }
        let begun = match self.begin(&record).await {
            Err(StoreError::Indeterminate(why)) => {
                // The record may exist, and a journaled refund is one the sweeper completes:
                // "nothing done" (96) would be false if it does. Read it back to know.
                match crate::commit::reread(self.journal.as_ref(), &record).await {
                    // Exactly what this begin wrote, untouched since: ours to run.
                    Ok(Some(existing)) if existing == record => {
                        warn!(%why, "refund journaled though its begin was not confirmed: going on");
                        Ok(BeginOutcome::Started)
                    }
                    // Moved on already (a re-send ran it): answered as a duplicate.
                    Ok(Some(existing)) => Ok(BeginOutcome::Existing(Box::new(existing))),
                    // Not there yet is no proof it never will be: a Redis Cluster client
                    // re-sends a command after the store stopped waiting on it, and such a
                    // begin can land seconds later (the sweeper then completes the refund).
                    Ok(None) => {
                        warn!(%why, "refund begin unconfirmed and not found: answering unknown");
                        return Err(Answer::withheld(&record));
                    }
                    Err(error) => {
                        // Cannot tell: it may be journaled, so it may yet be completed. Say
                        // "unknown", which is what a journaled refund without an answer is.
                        warn!(%error, "refund begin unconfirmed and unreadable: answering unknown");
                        return Err(Answer::withheld(&record));
                    }
                }
            }
            other => other,
        };
        match begun {
            Err(error) => Err(store_down("refund", &error)),
            Ok(BeginOutcome::Tombstoned) => {
                self.release_refund_hold(&record).await;
                Err(Answer::refused(Refusal::ReversedBeforeArrival))
            }
            // Refunds lock no order; a store that said so is answered like a store failure.
            Ok(BeginOutcome::OrderTaken(_)) => {
                self.release_refund_hold(&record).await;
                Err(Answer::refused(Refusal::StoreUnavailable))
            }
            Ok(BeginOutcome::Existing(existing)) => {
                if existing.state == TxnState::Declined {
                    // A re-sent refund Antom already declined: its hold was released then, and
                    // was taken again above; give it back (idempotent if not yet released).
                    self.release_refund_hold(&record).await;
                }
                Ok(Started::Duplicate(existing))
            }
            Ok(BeginOutcome::Started) => {
                let command = RefundCommand {
                    client: merchant.client.clone(),
                    refund_request_id: refund_id,
                    payment_id,
                    amount_minor: amount.minor_units,
                    currency: amount.currency_code().to_string(),
                    reason: Some("terminal refund".into()),
                };
                Ok(Started::Journaled(Box::new(record), command))
            }
        }
    }

    /// Sends the refund until Antom decides, or until the response deadline (then its
    /// completion is queued with the same `refundRequestId`). Seed 003: retry a `U` refund with
    /// the same id every 5–10 s.
    async fn run_refund(
        &self,
        mut record: TransactionRecord,
        command: &RefundCommand,
        received_ms: i64,
    ) -> TransactionRecord {
        let timing = &self.settings.timing;
        let deadline = received_ms + timing.response_deadline_ms;
        let retry_every = Duration::from_millis(
            5_000.min(u64::try_from(timing.inquiry_interval_ms.max(1)).unwrap_or(5_000)),
        );
        loop {
            match self.upstream.refund(command).await {
                UpstreamOutcome::Success(receipt) => {
                    return self
                        .settle(record, Event::Succeeded, "refund answered S", |r| {
                            r.refund_id = receipt.refund_id.clone();
                            r.result_code = Some("SUCCESS".into());
                            r.approval_code = Some(self.ids.approval_code(&r.payment_request_id));
                        })
                        .await;
                }
                UpstreamOutcome::Failed { result_code, .. } => {
                    let record = self
                        .settle(
                            record,
                            Event::Failed,
                            "refund answered F",
                            steps::failed(&result_code),
                        )
                        .await;
                    if record.state == TxnState::Declined {
                        self.release_refund_hold(&record).await;
                    }
                    return record;
                }
                UpstreamOutcome::Unknown { reason } => {
                    record = self
                        .settle(
                            record,
                            Event::Uncertain,
                            &format!("refund {reason}"),
                            |_| {},
                        )
                        .await;
                    let retry_ms = i64::try_from(retry_every.as_millis()).unwrap_or(5_000);
                    if self.now_ms() + retry_ms >= deadline {
                        return self
                            .settle(
                                record,
                                Event::CancelRequested(CancelReason::ResponseDeadline),
                                "refund still unknown: completion queued",
                                |_| {},
                            )
                            .await;
                    }
                    self.clock.sleep(retry_every).await;
                }
            }
        }
    }

    /// Answers with the refund's outcome. A refund approval needs no active cancellation: only
    /// a failed write is recorded, for operators.
    async fn deliver_refund(&self, record: TransactionRecord, reply: Box<dyn Reply>) -> Answer {
        let mut answer = Answer::from_record(&record);
        answer.refund_request_id = record.refund_request_id.clone();
        answer.payment_request_id = None;
        if !answer.is_approval() {
            return send_plain(reply, answer).await;
        }
        if reply.send(&answer).await.is_err() {
            let _ = self
                .apply(
                    record,
                    Event::DeliveryFailed,
                    "refund answer write failed",
                    |_| {},
                )
                .await;
        }
        answer
    }

    /// Takes the refund's hold on its original (compare-and-set): `Ok(Err(_))` when the
    /// original cannot be refunded by that much.
    pub(super) async fn hold_refund(
        &self,
        original: TransactionRecord,
        refund_id: &RefundRequestId,
        amount_minor: u64,
    ) -> Result<Result<(), HoldRefused>, StoreError> {
        // The closure runs once per compare-and-set attempt; the last run's verdict counts.
        let refused = std::sync::Mutex::new(None);
        self.commit_planned(
            original,
            Event::RefundHeld,
            "refund hold",
            |current, now| {
                let planned = plan_refund_hold(current, refund_id, amount_minor, now);
                if let Ok(mut verdict) = refused.lock() {
                    *verdict = planned.as_ref().err().copied();
                }
                Ok(planned.unwrap_or(None))
            },
        )
        .await?;
        let verdict = refused
            .lock()
            .map(|v| *v)
            .unwrap_or(Some(HoldRefused::NotApproved));
        Ok(verdict.map_or(Ok(()), Err))
    }

    /// Gives back a declined (or never sent) refund's hold on its original. A failure leaves
    /// the hold: conservative, it only refuses voids and refunds that would otherwise pass.
    pub(super) async fn release_refund_hold(&self, refund: &TransactionRecord) {
        let Some(refund_id) = refund.refund_request_id.as_ref() else {
            return;
        };
        let prid = &refund.payment_request_id;
        let Some(tag) = prid.key_tag() else {
            return;
        };
        let released = match self.journal.load(tag, prid.as_str()).await {
            Ok(Some(original)) => {
                self.commit_planned(
                    original,
                    Event::RefundReleased,
                    "refund declined",
                    |current, now| Ok(plan_refund_release(current, refund_id, now)),
                )
                .await
            }
            Ok(None) => return,
            Err(error) => Err(error),
        };
        if let Err(error) = released {
            warn!(%error, refund_request_id = %refund_id, "refund hold not released: the original stays held");
        }
    }
}
