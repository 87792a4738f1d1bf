//! The merchant-presented order code (Antom's in-store `OrderCode` scenario, seed 001's
//! `orderCodeForm`): the terminal asks for a dynamic QR, the switch journals it and calls `pay`
//! without a payment code, and answers with the code to display. The buyer scans and pays it in
//! the wallet; the terminal learns the result with status inquiries. The switch owns the
//! closing time (seed 003, RESTful gateway mode): never before the code's expiry, and at its
//! deadline whatever is not an approval handed to the terminal is cancelled through the queue.
//!
//! An Order Code `pay` that answers `S` (or `U PAYMENT_IN_PROCESS`) with a code created the
//! code: nothing is paid yet. An approval only ever comes from an inquiry or a notification
//! that says SUCCESS.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;

use super::checkout::plan_awaiting;
use super::purchase::ms_to_datetime;
use super::*;
use crate::ports::PayReceipt;
use crate::record::OrderCode;

/// `pay` attempts for one order code while nobody knows whether Antom created it: the same
/// request with the same `paymentRequestId` (the reference SDK's `maxOrderCodeRequestCount`).
const PAY_ATTEMPTS: u32 = 3;

impl Core {
    /// A merchant-presented order code: journal, `pay` (Order Code), answer with the code to
    /// display. Never an approval here unless Antom already reports SUCCESS for it.
    pub async fn order_code(&self, request: OrderCodeRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _admitted = match self.admit_payment() {
            Ok(permit) => permit,
            Err(refusal) => {
                let answer = send_plain(reply, Answer::refused(refusal)).await;
                record_outcome("order_code", started, &answer);
                return;
            }
        };
        let _in_flight = InFlight::enter("order_code");
        let span = info_span!("order_code",
            terminal_id = %request.request.origin.terminal_id,
            payment_request_id = %request.payment_request_id);
        let answer = self.order_code_inner(request, reply).instrument(span).await;
        record_outcome("order_code", started, &answer);
    }

    async fn order_code_inner(&self, request: OrderCodeRequest, reply: Box<dyn Reply>) -> Answer {
        let received_ms = self.now_ms();
        let (record, command) = match self.start_order_code(&request, received_ms).await {
            Err(refusal) => return send_plain(reply, refusal).await,
            Ok(Started::Duplicate(existing)) => {
                return self
                    .order_code_duplicate(*existing, &request.content_digest, received_ms, reply)
                    .await;
            }
            Ok(Started::Journaled(record, command)) => (*record, command),
        };
        info!(amount = request.amount_minor, currency = %record.currency,
              "journaled; calling pay (order code)");
        let record = self.create_order_code(record, &command, received_ms).await;
        self.answer_with_record(record, received_ms, reply, false)
            .await
    }

    /// Everything decided before Antom, then the journal (durable before `pay`).
    async fn start_order_code(
        &self,
        request: &OrderCodeRequest,
        received_ms: i64,
    ) -> Result<Started<PayCommand>, Answer> {
        let (record, command) = self
            .prepare_order_code(request, received_ms)
            .map_err(|a| *a)?;
        match self.begin(&record).await {
            Err(error) => Err(store_down("order_code", &error)),
            Ok(BeginOutcome::Tombstoned) => {
                info!("order code asked for after its reversal: declined without calling Antom");
                Err(Answer::refused(Refusal::ReversedBeforeArrival))
            }
            Ok(BeginOutcome::Existing(existing)) => Ok(Started::Duplicate(existing)),
            // A terminal's record locks no order (see `TransactionRecord::order_lock`); answered
            // as a purchase would be, should a store ever say so.
            Ok(BeginOutcome::OrderTaken(live)) => {
                Err(Answer::refused(if live.state.is_in_flight() {
                    Refusal::OrderInProgress
                } else {
                    Refusal::OrderAlreadyPaid
                }))
            }
            Ok(BeginOutcome::Started) => Ok(Started::Journaled(Box::new(record), command)),
        }
    }

    fn prepare_order_code(
        &self,
        request: &OrderCodeRequest,
        now_ms: i64,
    ) -> Result<(TransactionRecord, PayCommand), Box<Answer>> {
        let origin = &request.request.origin;
        let (merchant, _terminal) = self
            .merchants
            .lookup_origin(origin)
            .map_err(|e| Box::new(merchant_answer(e)))?;
        let amount =
            Money::from_numeric_currency(request.amount_minor, request.currency_numeric)
                .map_err(|e| Box::new(Answer::refused(Refusal::InvalidAmount(e.to_string()))))?;
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
        let timing = &self.settings.timing;
        let prid = request.payment_request_id.clone();
        let mut record = self.new_record(
            TxnKind::Purchase,
            &request.request,
            prid.clone(),
            None,
            &merchant,
            amount,
            None,
            &request.content_digest,
            now_ms,
        );
        // The buyer may pay until the expiry; the switch closes the code only after it.
        let expires_at_ms = now_ms + timing.order_code_expiry_ms;
        record.payment_expiry_ms = expires_at_ms;
        record.gateway_deadline_ms = timing.order_code_closing(now_ms, expires_at_ms);
        record.terminal_deadline_ms = record.gateway_deadline_ms;
        record.order_ref = request.reference_order_id.clone();
        record.order_code = Some(OrderCode {
            code_value: None,
            expires_at_ms,
            antom_expire_time: None,
            utc_offset_minutes: merchant.utc_offset_minutes,
        });
        let command = PayCommand {
            client: merchant.client.clone(),
            payment_request_id: prid,
            amount,
            payment_code: None,
            scenario: PayScenario::OrderCode,
            merchant: Arc::clone(&merchant),
            terminal_id: origin.terminal_id.clone(),
            terminal_request_time: terminal_time,
            reference_order_id: request.reference_order_id.clone(),
            order_description: self.settings.order_description.clone(),
            notify_url: self.settings.notify_url.clone(),
            payment_expiry: ms_to_datetime(expires_at_ms),
        };
        Ok((record, command))
    }

    /// Sends the Order Code `pay` until Antom created the code (or refused it), re-sending the
    /// same request while nobody knows, a few times within the response deadline. A code never
    /// created (or never readable) is cancelled through the queue: it was never displayed, and
    /// Antom may still hold the payment open. Returns the record as the journal holds it.
    async fn create_order_code(
        &self,
        mut record: TransactionRecord,
        command: &PayCommand,
        received_ms: i64,
    ) -> TransactionRecord {
        let timing = &self.settings.timing;
        let deadline = received_ms + timing.response_deadline_ms;
        let pause =
            Duration::from_millis(u64::try_from(timing.inquiry_interval_ms).unwrap_or(2_000));
        for attempt in 1..=PAY_ATTEMPTS {
            let outcome = self.upstream.pay(command).await;
            let call_over = self.now_ms();
            let reason = match outcome {
                UpstreamOutcome::Success(receipt)
                    if receipt
                        .order_code
                        .as_deref()
                        .is_some_and(|c| !c.trim().is_empty()) =>
                {
                    return self.code_created(record, receipt, call_over).await;
                }
                // `S` means "code created" in this scenario, never "paid": without a code there
                // is nothing to display, which is no better than not knowing.
                UpstreamOutcome::Success(_) => "S without orderCodeForm".to_string(),
                UpstreamOutcome::Failed { result_code, .. } => {
                    let cause = format!("pay answered F {result_code}");
                    return self
                        .settle(record, Event::Failed, &cause, |r| {
                            steps::failed(&result_code)(r);
                            r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                        })
                        .await;
                }
                UpstreamOutcome::Unknown { reason } => reason,
            };
            info!(%reason, attempt, "order code not created yet");
            record = self
                .settle(record, Event::Uncertain, &format!("pay {reason}"), |_| {})
                .await;
            if record.state != TxnState::Unknown {
                // Settled meanwhile (a notification, a reversal): answer what it says.
                return record;
            }
            let pause_ms = i64::try_from(pause.as_millis()).unwrap_or(2_000);
            if attempt == PAY_ATTEMPTS
                || self.now_ms() + pause_ms + timing.pay_timeout_ms >= deadline
            {
                break;
            }
            self.clock.sleep(pause).await;
        }
        warn!("order code not created: cancelling");
        metrics::counter!(metric::UNKNOWN_RESOLVED, "resolution" => "cancelled").increment(1);
        self.settle(
            record,
            Event::CancelRequested(CancelReason::ResponseDeadline),
            "order code not created in time",
            |_| {},
        )
        .await
    }

    /// Records the code Antom created (with the move to `UNKNOWN`: awaiting the buyer). The
    /// expiry shown is the one the switch asked for, or Antom's when that is earlier — never
    /// later, so the buyer is never shown a time past the switch's closing time.
    async fn code_created(
        &self,
        record: TransactionRecord,
        receipt: PayReceipt,
        call_over: i64,
    ) -> TransactionRecord {
        let antom_expiry_ms = receipt
            .order_code_expires_at
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok());
        let cause = "pay: order code created, awaiting the buyer";
        let patch = |r: &mut TransactionRecord| {
            r.payment_id = receipt.payment_id.clone().or(r.payment_id.take());
            r.call_over_at_ms = r.call_over_at_ms.min(call_over);
            if let Some(code) = r.order_code.as_mut() {
                code.code_value = receipt.order_code.clone();
                code.antom_expire_time = receipt.order_code_expires_at.clone();
                if let Some(antom) = antom_expiry_ms {
                    code.expires_at_ms = code.expires_at_ms.min(antom);
                }
            }
        };
        info!(payment_id = ?receipt.payment_id, "order code created");
        match self
            .commit_planned(record.clone(), Event::Uncertain, cause, |current, now| {
                plan_awaiting(current, now, cause, &patch)
            })
            .await
        {
            Ok(record) => record,
            Err(error) => self.settle_failed(record, Event::Uncertain, &error),
        }
    }

    /// The last look at an order code at its closing time (seed 003: "at the deadline,
    /// inquire; not SUCCESS → cancel"). Only a SUCCESS settles it: an approval the terminal
    /// was not told yet, whose closing time moves one close margin on so a terminal still
    /// polling is told 00 (else it is cancelled then, like any approval never told). Anything
    /// else — still processing, failed, closed, no answer — is left to the sweeper, which
    /// cancels it through the queue, so nothing stays open at Antom whatever it said.
    pub(super) async fn order_code_last_look(&self, record: TransactionRecord) -> bool {
        let inquiry = InquiryCommand {
            client: record.client.clone(),
            payment_request_id: record.payment_request_id.clone(),
        };
        let report = match self.upstream.inquire_payment(&inquiry).await {
            UpstreamOutcome::Success(report) if report.status == PaymentStatus::Success => report,
            _ => return false,
        };
        let until = self.now_ms() + self.settings.timing.order_code_close_margin_ms;
        let paid = self.paid(report.payment_id, report.wallet);
        let cause = "last look before closing: SUCCESS";
        let record = self
            .settle_until(record, Event::Succeeded, cause, paid, Some(until))
            .await;
        let settled = !record.state.is_in_flight();
        if settled {
            info!(
                state = record.state.as_str(),
                "last look before closing: the buyer had paid the order code"
            );
        }
        settled
    }

    /// A re-sent order code request: the same code again (never a second `pay`), once the
    /// first request's `pay` is answered; 94 when the key is journaled with other content.
    async fn order_code_duplicate(
        &self,
        existing: TransactionRecord,
        content_digest: &str,
        received_ms: i64,
        reply: Box<dyn Reply>,
    ) -> Answer {
        if existing.content_digest != content_digest || existing.order_code.is_none() {
            info!(
                journal_id = existing.journal_id(),
                "same key, different content: 94"
            );
            return send_plain(reply, Answer::refused(Refusal::DuplicateWithOtherContent)).await;
        }
        let timing = &self.settings.timing;
        let wait_until = received_ms + timing.response_deadline_ms;
        let mut record = existing;
        let poll = Duration::from_millis(u64::try_from(timing.duplicate_poll_ms).unwrap_or(200));
        // Until the first request's `pay` created the code (it may be re-sending it) there is
        // nothing to show: wait for it, up to the response deadline.
        let waiting = |r: &TransactionRecord| {
            r.state.is_in_flight() && !r.order_code.as_ref().is_some_and(OrderCode::is_displayable)
        };
        while waiting(&record) && self.now_ms() < wait_until {
            self.clock.sleep(poll).await;
            match self.journal.load(&record.tag, record.journal_id()).await {
                Ok(Some(fresh)) => record = fresh,
                Ok(None) | Err(_) => break,
            }
        }
        info!(
            journal_id = record.journal_id(),
            state = record.state.as_str(),
            "replaying the order code to a duplicate"
        );
        self.answer_with_record(record, received_ms, reply, false)
            .await
    }
}
