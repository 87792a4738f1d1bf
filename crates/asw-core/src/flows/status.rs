//! Status inquiries: answered from the journal, refreshed from Antom when not final.

use super::*;

impl Core {
    /// A status inquiry (0100 `900000`): answered from the journal, refreshed from Antom when
    /// the outcome is not final. An approval learned this way is delivered like any other.
    pub async fn status(&self, request: StatusInquiry, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _in_flight = InFlight::enter("inquiry");
        let span = info_span!("status_inquiry", terminal_id = %request.origin.terminal_id);
        let answer = self.status_inner(request, reply).instrument(span).await;
        record_outcome("inquiry", started, &answer);
    }

    pub(super) async fn status_inner(
        &self,
        request: StatusInquiry,
        reply: Box<dyn Reply>,
    ) -> Answer {
        let received_ms = self.now_ms();
        let mut record = match self.find_status_original(&request).await {
            Ok(record) => record,
            Err(refusal) => return send_plain(reply, refusal).await,
        };
        if record.state.is_in_flight() && record.kind == TxnKind::Purchase {
            record = self.refresh_from_antom(record, received_ms, None).await;
        }
        // An automatic capture that did not happen yet (its first attempt unknown, or the
        // instance that owed it died): a read makes it.
        if record.state == TxnState::Authorized {
            record = self.capture_if_automatic(record, received_ms).await;
        }
        if record.kind == TxnKind::Purchase {
            self.answer_with_record(record, received_ms, reply, false)
                .await
        } else {
            send_plain(reply, Answer::from_record(&record)).await
        }
    }

    /// Asks Antom where a purchase that is not final stands and applies the answer through
    /// the state table (a card-like method's SUCCESS is an authorization, captured at once when
    /// automatic). No answer, or "still processing", leaves the record as it was. With
    /// `reopen_until` (the last look at the closing time), an approval or authorization it
    /// learns is closed no earlier than that, so its merchant has time to be told.
    pub(super) async fn refresh_from_antom(
        &self,
        mut record: TransactionRecord,
        received_ms: i64,
        reopen_until: Option<i64>,
    ) -> TransactionRecord {
        let inquiry = InquiryCommand {
            client: record.client.clone(),
            payment_request_id: record.payment_request_id.clone(),
        };
        if let UpstreamOutcome::Success(report) = self.upstream.inquire_payment(&inquiry).await {
            let method = report
                .paid_with
                .as_ref()
                .and_then(|p| p.method_type.as_deref());
            if let Some(method) = method
                && report.status == PaymentStatus::Success
            {
                // A Checkout Page session learns here what its buyer paid with.
                record = self.learn_method(record, method).await;
            }
            let method_unknown = record.online.as_ref().is_some_and(|o| o.method_pending());
            match report.status {
                // A session's success nobody names the method of: a card is not `succeeded`
                // before its capture, so it is not taken (when unsure, the closing time
                // cancels).
                PaymentStatus::Success if method_unknown => {
                    warn!("session success without a payment method: not applied");
                }
                PaymentStatus::Success
                    if record.online.as_ref().and_then(|o| o.capture).is_some() =>
                {
                    // A card-like method: authorized; paid only once captured.
                    record = if report.captured == Some(true) {
                        let cause = "status inquiry: captured";
                        let paid = self.paid(None, None);
                        self.settle_until(record, Event::Captured, cause, paid, reopen_until)
                            .await
                    } else {
                        let record = self
                            .authorized(
                                record,
                                report.payment_id,
                                "status inquiry SUCCESS",
                                reopen_until,
                                report.paid_with.as_ref(),
                            )
                            .await;
                        self.capture_if_automatic(record, received_ms).await
                    };
                }
                PaymentStatus::Success => {
                    let paid = self.paid(report.payment_id, report.wallet);
                    let paid_with = report.paid_with;
                    let cause = "status inquiry SUCCESS";
                    let patch = |r: &mut TransactionRecord| {
                        paid(r);
                        Self::keep_paid_with(r, paid_with.as_ref());
                    };
                    record = self
                        .settle_until(record, Event::Succeeded, cause, patch, reopen_until)
                        .await;
                }
                PaymentStatus::Fail | PaymentStatus::Cancelled => {
                    let code = report.result_code.as_deref();
                    let code = code.unwrap_or(steps::FAILED_WITHOUT_CODE);
                    // An online payment closed unpaid at its expiry expired.
                    let event = if record.online.is_some() {
                        notification::online_failure_event(code)
                    } else {
                        Event::Failed
                    };
                    record = self
                        .settle(record, event, "status inquiry FAIL", steps::failed(code))
                        .await;
                }
                PaymentStatus::Processing => {}
            }
        }
        record
    }

    /// The original the inquiry may see; `Err` is the refusal to answer.
    async fn find_status_original(
        &self,
        request: &StatusInquiry,
    ) -> Result<TransactionRecord, Answer> {
        self.merchants
            .lookup_origin(&request.origin)
            .map_err(merchant_answer)?;
        self.find_original(&request.origin, &request.original)
            .await
            .map_err(|error| store_down("inquiry", &error))?
            .ok_or_else(|| Answer::refused(Refusal::OriginalNotFound))
    }
}
