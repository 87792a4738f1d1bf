//! The purchase flow: journal first, `pay`, inquire while unknown, cancel when still unknown at
//! the response deadline.

use super::*;

impl Core {
    // -----------------------------------------------------------------------------------------
    // Purchase

    /// A customer-presented code purchase: journal, pay, inquire, cancel when still unknown.
    pub async fn purchase(&self, request: PurchaseRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _admitted = match self.admit_payment() {
            Ok(permit) => permit,
            Err(refusal) => {
                let answer = send_plain(reply, Answer::refused(refusal)).await;
                record_outcome("purchase", started, &answer);
                return;
            }
        };
        let _in_flight = InFlight::enter("purchase");
        let span = info_span!("purchase",
            terminal_id = %request.request.origin.terminal_id,
            payment_request_id = %request.payment_request_id);
        let answer = self
            .purchase_inner(request, reply, started)
            .instrument(span)
            .await;
        record_outcome("purchase", started, &answer);
    }

    pub(super) async fn purchase_inner(
        &self,
        request: PurchaseRequest,
        reply: Box<dyn Reply>,
        started: Instant,
    ) -> Answer {
        let received_ms = self.now_ms();
        let (record, command) = match self.start_purchase(&request, received_ms).await {
            Err(refusal) => return send_plain(reply, refusal).await,
            Ok(Started::Duplicate(existing)) => {
                if request.while_running == WhileRunning::Refuse
                    && existing.content_digest == request.content_digest
                    && existing.state.is_in_flight()
                {
                    return send_plain(reply, Answer::refused(Refusal::StillRunning)).await;
                }
                // Boxed, as every rarely taken path here: inline, its state machine would make
                // every purchase's future (allocated and copied per request) carry it.
                return Box::pin(self.duplicate(
                    *existing,
                    &request.content_digest,
                    received_ms,
                    reply,
                ))
                .await;
            }
            Ok(Started::Journaled(record, command)) => (*record, command),
        };
        info!(amount = request.amount_minor, currency = %record.currency,
              payment_code = %request.payment_code, "journaled; calling pay");
        let first_answer = reply.first_answer();
        let (record, marked_here) = self
            .run_payment(
                record,
                command,
                received_ms,
                started,
                first_answer.as_deref(),
            )
            .await;
        if marked_here && let Some(first) = &first_answer {
            // The approval's commit carried the front's first answer (when it rendered one).
            first.committed();
        }
        self.answer_with_record(record, received_ms, reply, marked_here)
            .await
    }

    /// Everything decided before Antom, then the journal: nothing leaves before the record that
    /// will finish the payment is durable. `Err` is the refusal to answer.
    async fn start_purchase(
        &self,
        request: &PurchaseRequest,
        received_ms: i64,
    ) -> Result<Started<PayCommand>, Answer> {
        let prepared = self
            .prepare_purchase(request, received_ms)
            .map_err(|a| *a)?;
        match self.begin(&prepared.record).await {
            Err(error) => {
                warn!(%error, "journal unavailable: declining without calling Antom");
                metrics::counter!(metric::STORE_FAILURES, "flow" => "purchase").increment(1);
                Err(Answer::refused(Refusal::StoreUnavailable))
            }
            Ok(BeginOutcome::Tombstoned) => {
                info!("original arrived after its reversal: declined without calling Antom");
                Err(Answer::refused(Refusal::ReversedBeforeArrival))
            }
            Ok(BeginOutcome::Existing(existing)) => Ok(Started::Duplicate(existing)),
            Ok(BeginOutcome::OrderTaken(live)) => {
                info!(
                    live = live.journal_id(),
                    "another attempt of this order is live: refused"
                );
                Err(Answer::refused(if live.state.is_in_flight() {
                    Refusal::OrderInProgress
                } else {
                    Refusal::OrderAlreadyPaid
                }))
            }
            Ok(BeginOutcome::Started) => Ok(Started::Journaled(
                Box::new(prepared.record),
                prepared.command,
            )),
        }
    }

    pub(super) fn prepare_purchase(
        &self,
        request: &PurchaseRequest,
        now_ms: i64,
    ) -> Result<PreparedPurchase, Box<Answer>> {
        let origin = &request.request.origin;
        let (merchant, _terminal) = self
            .merchants
            .lookup_origin(origin)
            .map_err(|e| Box::new(merchant_answer(e)))?;
        let merchant = match request.store.as_deref() {
            None => merchant,
            Some(store) => self
                .merchants
                .in_store(&merchant, store)
                .ok_or_else(|| Box::new(Answer::refused(Refusal::UnknownStore)))?,
        };
        if let Err(why) = self
            .settings
            .payment_code_rule
            .check(request.payment_code.expose())
        {
            return Err(Box::new(Answer::refused(Refusal::InvalidPaymentCode(
                why.to_string(),
            ))));
        }
        let amount =
            Money::from_numeric_currency(request.amount_minor, request.currency_numeric)
                .map_err(|e| Box::new(Answer::refused(Refusal::InvalidAmount(e.to_string()))))?;
        // The requester's local time in the store's offset; a front that sends none gets now.
        let terminal_time = request
            .request
            .local_time
            .and_then(|local| {
                let offset =
                    UtcOffset::from_whole_seconds(i32::from(merchant.utc_offset_minutes) * 60)
                        .ok()?;
                Some(local.assume_offset(offset))
            })
            .unwrap_or_else(|| self.clock.now());
        let prid = request.payment_request_id.clone();
        let mut record = self.new_record(
            TxnKind::Purchase,
            &request.request,
            prid.clone(),
            None,
            &merchant,
            amount,
            Some(request.payment_code.masked()),
            &request.content_digest,
            now_ms,
        );
        record.order_ref = request.reference_order_id.clone();
        record.description = request.description.clone();
        record.metadata = request.metadata.clone();
        let timing = &self.settings.timing;
        let command = PayCommand {
            client: merchant.client.clone(),
            payment_request_id: prid,
            amount,
            payment_code: Some(request.payment_code.clone()),
            scenario: PayScenario::PaymentCode,
            merchant: Arc::clone(&merchant),
            terminal_id: request
                .store_terminal
                .clone()
                .unwrap_or_else(|| origin.terminal_id.clone()),
            terminal_request_time: terminal_time,
            reference_order_id: request.reference_order_id.clone(),
            order_description: request
                .description
                .clone()
                .unwrap_or_else(|| self.settings.order_description.clone()),
            notify_url: self.settings.notify_url.clone(),
            payment_expiry: ms_to_datetime(now_ms + timing.payment_expiry_ms),
        };
        Ok(PreparedPurchase { record, command })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_record(
        &self,
        kind: TxnKind,
        request: &RequestKey,
        payment_request_id: PaymentRequestId,
        refund_request_id: Option<RefundRequestId>,
        merchant: &MerchantProfile,
        amount: Money,
        masked_payment_code: Option<String>,
        content_digest: &str,
        now_ms: i64,
    ) -> TransactionRecord {
        let timing = &self.settings.timing;
        TransactionRecord {
            version: 1,
            kind,
            state: TxnState::Pending,
            delivery: Delivery::None,
            handovers: 0,
            failed_handovers: 0,
            handed_over_at_ms: 0,
            payment_request_id,
            refund_request_id,
            tag: request.tag.clone(),
            dedup_key: request.dedup_key.clone(),
            origin: request.origin.clone(),
            content_digest: content_digest.to_string(),
            client: merchant.client.clone(),
            amount_minor: amount.minor_units,
            currency: amount.currency_code().to_string(),
            currency_numeric: amount.currency_numeric(),
            masked_payment_code,
            payment_id: None,
            refund_id: None,
            receipt_ref: request.receipt_ref.clone(),
            approval_code: None,
            result_code: None,
            wallet: None,
            refunded_minor: 0,
            refund_holds: Vec::new(),
            order_ref: None,
            description: None,
            metadata: Default::default(),
            cancel_reason: None,
            created_at_ms: now_ms,
            begin_token: begin_token(),
            online: None,
            order_code: None,
            updated_at_ms: now_ms,
            call_over_at_ms: now_ms + timing.pay_timeout_ms + timing.call_margin_ms,
            response_deadline_ms: now_ms + timing.response_deadline_ms,
            terminal_deadline_ms: now_ms + timing.terminal_timeout_ms,
            gateway_deadline_ms: now_ms + timing.gateway_deadline_ms,
            payment_expiry_ms: now_ms + timing.payment_expiry_ms,
        }
    }

    /// Calls `pay`, then polls until a final answer or the response deadline; returns the record
    /// as the journal holds it afterwards, and whether this request's own commit marked its
    /// approval `SENDING` (see [`Core::settle_approval`]).
    pub(super) async fn run_payment(
        &self,
        mut record: TransactionRecord,
        command: PayCommand,
        received_ms: i64,
        started: Instant,
        first_answer: Option<&dyn FirstAnswer>,
    ) -> (TransactionRecord, bool) {
        let outcome = self.upstream.pay(&command).await;
        let call_over = self.now_ms();
        match outcome {
            UpstreamOutcome::Success(receipt) => {
                let paid = self.paid(receipt.payment_id, receipt.wallet);
                return self
                    .settle_approval(
                        record,
                        received_ms,
                        "pay answered S",
                        |r| {
                            paid(r);
                            r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                        },
                        first_answer,
                    )
                    .await;
            }
            UpstreamOutcome::Failed {
                result_code,
                message: _,
            } => {
                let cause = format!("pay answered F {result_code}");
                let failed = steps::failed(&result_code);
                let record = self
                    .settle(record, Event::Failed, &cause, |r| {
                        failed(r);
                        r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                    })
                    .await;
                return (record, false);
            }
            UpstreamOutcome::Unknown { reason } => {
                info!(%reason, "pay outcome unknown: inquiring");
                record = self
                    .settle(record, Event::Uncertain, &format!("pay {reason}"), |r| {
                        r.result_code = Some(reason.clone());
                    })
                    .await;
            }
        }
        Box::pin(self.poll_until_known(record, received_ms, started)).await
    }

    pub(super) async fn poll_until_known(
        &self,
        mut record: TransactionRecord,
        received_ms: i64,
        _started: Instant,
    ) -> (TransactionRecord, bool) {
        let timing = &self.settings.timing;
        let deadline = received_ms + timing.response_deadline_ms;
        let mut inquiry_failed = false;
        // Whether `record` is the result of this request's own approval commit that marked it
        // `SENDING`; a record read back from the journal was settled by someone else.
        let mut marked_here = false;
        loop {
            if !record.state.is_in_flight() {
                if record.state == TxnState::Approved {
                    metrics::counter!(metric::UNKNOWN_RESOLVED, "resolution" => "approved")
                        .increment(1);
                } else {
                    metrics::counter!(metric::UNKNOWN_RESOLVED, "resolution" => "declined")
                        .increment(1);
                }
                return (record, marked_here);
            }
            let now = self.now_ms();
            if now >= deadline || inquiry_failed {
                break;
            }
            let wait = timing.inquiry_interval_ms.min(deadline - now).max(0);
            self.clock
                .sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
                .await;
            // A notification may have settled it meanwhile.
            if let Ok(Some(fresh)) = self.journal.load(&record.tag, record.journal_id()).await {
                record = fresh;
                marked_here = false;
                if !record.state.is_in_flight() {
                    continue;
                }
            }
            if self.now_ms() >= deadline {
                break;
            }
            let inquiry = InquiryCommand {
                client: record.client.clone(),
                payment_request_id: record.payment_request_id.clone(),
            };
            match self.upstream.inquire_payment(&inquiry).await {
                UpstreamOutcome::Success(report) => match report.status {
                    PaymentStatus::Success => {
                        let paid = self.paid(report.payment_id, report.wallet);
                        (record, marked_here) = self
                            .settle_approval(record, received_ms, "inquiry SUCCESS", paid, None)
                            .await;
                    }
                    PaymentStatus::Fail | PaymentStatus::Cancelled => {
                        let code = report.result_code.as_deref();
                        let failed = steps::failed(code.unwrap_or(steps::FAILED_WITHOUT_CODE));
                        record = self
                            .settle(record, Event::Failed, "inquiry FAIL/CANCELLED", failed)
                            .await;
                    }
                    PaymentStatus::Processing => {}
                },
                UpstreamOutcome::Failed { result_code, .. } => {
                    // ORDER_NOT_EXIST: the pay may not have landed yet; keep polling. Any other
                    // F on an inquiry is not a payment outcome: stop and cancel (seed 003).
                    if result_code != "ORDER_NOT_EXIST" {
                        warn!(%result_code, "inquiry failed: cancelling");
                        inquiry_failed = true;
                    }
                }
                UpstreamOutcome::Unknown { .. } => {}
            }
        }
        let reason = if inquiry_failed {
            CancelReason::InquiryFailed
        } else {
            CancelReason::ResponseDeadline
        };
        let record = self
            .settle(
                record,
                Event::CancelRequested(reason),
                "still unknown at the response deadline",
                |_| {},
            )
            .await;
        let resolution = match record.state {
            TxnState::Approved => "approved",
            TxnState::Declined => "declined",
            _ => "cancelled",
        };
        metrics::counter!(metric::UNKNOWN_RESOLVED, "resolution" => resolution).increment(1);
        (record, false)
    }
}

pub(super) struct PreparedPurchase {
    pub(super) record: TransactionRecord,
    pub(super) command: PayCommand,
}

pub(super) fn ms_to_datetime(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// A random token for a new record (see `TransactionRecord::begin_token`); never 0, which
/// marks records written before tokens existed.
fn begin_token() -> u32 {
    let mut bytes = [0u8; 4];
    // A failed draw leaves a fixed token: only the re-sent-begin check loses its precision.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    u32::from_le_bytes(bytes).max(1)
}
