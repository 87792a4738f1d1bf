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
        let origin = &request.request.origin;
        let (merchant, terminal) = match self
            .merchants
            .lookup(&origin.merchant_id, &origin.terminal_id)
        {
            Ok(found) => found,
            Err(e) => return send_plain(reply, merchant_answer(e)).await,
        };
        if !terminal.refunds {
            return send_plain(reply, Answer::refused(Refusal::RefundsDisabled)).await;
        }
        let amount =
            match Money::from_numeric_currency(request.amount_minor, request.currency_numeric) {
                Ok(a) => a,
                Err(e) => {
                    return send_plain(
                        reply,
                        Answer::refused(Refusal::InvalidAmount(e.to_string())),
                    )
                    .await;
                }
            };
        let original = match self.find_original(origin, &request.original).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                return send_plain(reply, Answer::refused(Refusal::OriginalNotFound)).await;
            }
            Err(error) => return send_plain(reply, store_down("refund", &error)).await,
        };
        if original.currency_numeric != request.currency_numeric {
            return send_plain(reply, Answer::refused(Refusal::CurrencyDiffersFromOriginal)).await;
        }
        let Some(payment_id) = original.payment_id.clone() else {
            return send_plain(reply, Answer::refused(Refusal::OriginalNotApproved)).await;
        };
        let original_prid = original.payment_request_id.clone();
        let refund_id = request.refund_request_id.clone();
        let mut record = self.new_record(
            TxnKind::Refund,
            &request.request,
            original_prid,
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
                return send_plain(reply, Answer::refused(Refusal::OriginalNotApproved)).await;
            }
            Ok(Err(HoldRefused::Exceeds)) => {
                return send_plain(reply, Answer::refused(Refusal::RefundExceedsPayment)).await;
            }
            Err(error) => return send_plain(reply, store_down("refund", &error)).await,
        }
        match self.journal.begin(&record).await {
            Err(error) => return send_plain(reply, store_down("refund", &error)).await,
            Ok(BeginOutcome::Tombstoned) => {
                self.release_refund_hold(&record).await;
                return send_plain(reply, Answer::refused(Refusal::ReversedBeforeArrival)).await;
            }
            Ok(BeginOutcome::Existing(existing)) => {
                if existing.state == TxnState::Declined {
                    // A re-sent refund Antom already declined: its hold was released then, and
                    // was taken again above; give it back (idempotent if not yet released).
                    self.release_refund_hold(&record).await;
                }
                return self
                    .duplicate(*existing, &request.content_digest, received_ms, reply)
                    .await;
            }
            Ok(BeginOutcome::Started) => {}
        }
        let command = RefundCommand {
            client: merchant.client.clone(),
            refund_request_id: refund_id,
            payment_id,
            amount_minor: amount.minor_units,
            currency: amount.currency_code().to_string(),
            reason: Some("terminal refund".into()),
        };
        let timing = &self.settings.timing;
        let deadline = received_ms + timing.response_deadline_ms;
        // Seed 003: retry a U refund with the same id every 5–10 s; our response deadline bounds
        // it, then the SAF queue completes it.
        let retry_every = Duration::from_millis(
            5_000.min(u64::try_from(timing.inquiry_interval_ms.max(1)).unwrap_or(5_000)),
        );
        loop {
            match self.upstream.refund(&command).await {
                UpstreamOutcome::Success(receipt) => {
                    record = self
                        .settle(record, Event::Succeeded, "refund answered S", |r| {
                            r.refund_id = receipt.refund_id.clone();
                            r.result_code = Some("SUCCESS".into());
                            r.approval_code = Some(self.ids.approval_code(&r.payment_request_id));
                        })
                        .await;
                    break;
                }
                UpstreamOutcome::Failed { result_code, .. } => {
                    record = self
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
                    break;
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
                    if self.now_ms() + i64::try_from(retry_every.as_millis()).unwrap_or(5_000)
                        >= deadline
                    {
                        record = self
                            .settle(
                                record,
                                Event::CancelRequested(CancelReason::ResponseDeadline),
                                "refund still unknown: completion queued",
                                |_| {},
                            )
                            .await;
                        break;
                    }
                    self.clock.sleep(retry_every).await;
                }
            }
        }
        let mut answer = Answer::from_record(&record);
        answer.refund_request_id = record.refund_request_id.clone();
        answer.payment_request_id = None;
        if answer.is_approval() {
            // A refund approval needs no active cancellation: only a failed write is recorded,
            // for operators.
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
        } else {
            send_plain(reply, answer).await
        }
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
