//! Online Checkout Payments (seed 001): journal, `pay` with `CASHIER_PAYMENT`, and hand the
//! merchant the page (or code) where the buyer pays. The result arrives later, by a verified
//! notification or an inquiry; the switch closes what is not paid after the payment's expiry.

use super::purchase::ms_to_datetime;
use super::*;
use crate::ports::{CancelCommand, CheckoutCommand, CheckoutStarted};
use crate::record::OnlineCheckout;

/// An online payment the buyer finishes on the method's page (REST `method.type = wallet`).
#[derive(Clone, Debug)]
pub struct CheckoutRequest {
    /// The request's identity.
    pub request: RequestKey,
    /// Its `paymentRequestId`, derived by the front.
    pub payment_request_id: PaymentRequestId,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// ISO 4217 numeric currency.
    pub currency_numeric: u16,
    /// The merchant's order (Antom `referenceOrderId`), the same across attempts.
    pub reference_order_id: String,
    /// The method, the buyer's environment and the return URL (no next action yet).
    pub checkout: OnlineCheckout,
    /// How long the buyer may take to pay; the configured default when `None`.
    pub expires_in_ms: Option<i64>,
    /// Digest of the request content (a re-send with other content is refused).
    pub content_digest: String,
    /// The merchant's store, when the requester named one.
    pub store: Option<String>,
    /// Antom's `orderDescription` when the requester gave one.
    pub description: Option<String>,
    /// The requester's key/value pairs, kept with the payment.
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl Core {
    /// An online payment: journal, `pay`, and answer with where the buyer goes on.
    pub async fn checkout(&self, request: CheckoutRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _admitted = match self.admit_payment() {
            Ok(permit) => permit,
            Err(refusal) => {
                let answer = send_plain(reply, Answer::refused(refusal)).await;
                record_outcome("checkout", started, &answer);
                return;
            }
        };
        let _in_flight = InFlight::enter("checkout");
        let span = info_span!("checkout",
            merchant_id = %request.request.origin.merchant_id,
            payment_request_id = %request.payment_request_id);
        let answer = self.checkout_inner(request, reply).instrument(span).await;
        record_outcome("checkout", started, &answer);
    }

    async fn checkout_inner(&self, request: CheckoutRequest, reply: Box<dyn Reply>) -> Answer {
        let received_ms = self.now_ms();
        let (record, command) = match self.start_checkout(&request, received_ms).await {
            Err(refusal) => return send_plain(reply, refusal).await,
            Ok(Started::Duplicate(existing)) => {
                if existing.content_digest != request.content_digest {
                    return self
                        .duplicate(*existing, &request.content_digest, received_ms, reply)
                        .await;
                }
                if existing.state == TxnState::Pending {
                    // Its `pay` is still out: the merchant retries or reads it.
                    return send_plain(reply, Answer::refused(Refusal::StillRunning)).await;
                }
                // Awaiting the buyer (for minutes, maybe), or final: the record as it stands,
                // at once — the buyer's page is in it.
                return self
                    .answer_with_record(*existing, received_ms, reply, false)
                    .await;
            }
            Ok(Started::Journaled(record, command)) => (*record, command),
        };
        info!(amount = request.amount_minor, currency = %record.currency,
              method = %request.checkout.method_type, "journaled; calling pay (checkout)");
        let record = self.run_checkout(record, &command, received_ms).await;
        self.answer_with_record(record, received_ms, reply, false)
            .await
    }

    async fn start_checkout(
        &self,
        request: &CheckoutRequest,
        received_ms: i64,
    ) -> Result<Started<CheckoutCommand>, Answer> {
        let (record, command) = self
            .prepare_checkout(request, received_ms)
            .map_err(|a| *a)?;
        let mut begun = self.begin(&record).await;
        if let Ok(BeginOutcome::OrderTaken(live)) = &begun
            && self.supersede(live).await
        {
            // The earlier attempt's cancel is queued: the order is free for this one.
            begun = self.begin(&record).await;
        }
        match begun {
            Err(error) => Err(store_down("checkout", &error)),
            // No reversal names an online payment; a tombstone here is a store that says so.
            Ok(BeginOutcome::Tombstoned) => Err(Answer::refused(Refusal::StoreUnavailable)),
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
            Ok(BeginOutcome::Started) => Ok(Started::Journaled(Box::new(record), command)),
        }
    }

    /// Cancels an earlier online attempt of the order that still awaits its buyer (or whose
    /// `pay` is unknown), so a new attempt may go out: seed 001's "not successful → pay again".
    /// The cancel is queued in the same write (a success that lands meanwhile is cancelled by
    /// it, so at most one attempt stays paid). Nothing for an attempt that is paid, or not
    /// online: the order stays taken. True when the earlier attempt no longer holds the order.
    pub(super) async fn supersede(&self, live: &TransactionRecord) -> bool {
        let Some(online) = live.online.as_ref() else {
            return false;
        };
        if !live.state.is_in_flight() {
            return false;
        }
        let cancelled_at_antom = online.cancel_before_retry;
        if cancelled_at_antom && !self.cancelled_at_antom(live).await {
            // Not confirmed: the earlier attempt keeps the order (its buyer may still pay,
            // and no refund could take that back); the merchant tries again later.
            return false;
        }
        let event = Event::CancelRequested(CancelReason::Superseded);
        let cause = "a new attempt of the order replaced it";
        let result = self
            .commit_planned(live.clone(), event, cause, |current, now| {
                // Once Antom confirmed the cancel, a success that landed meanwhile (sent
                // before the cancel) is cancelled too: the table keeps only an approval
                // already handed to the merchant.
                let cancellable = current.state.is_in_flight()
                    || (cancelled_at_antom && current.state == TxnState::Approved);
                if cancellable {
                    plan_change(current, event, now, cause)
                } else {
                    Ok(None)
                }
            })
            .await;
        match result {
            Ok(record) => {
                if cancelled_at_antom && record.state == TxnState::Approved {
                    // Its merchant was told paid in the instant between Antom's cancel and
                    // this write: nothing the switch can undo, so an operator must know.
                    tracing::error!(
                        superseded = record.journal_id(),
                        "an approval handed to its merchant was cancelled at Antom by a new attempt"
                    );
                }
                info!(
                    superseded = record.journal_id(),
                    state = record.state.as_str(),
                    "earlier attempt of the order cancelled for a new one"
                );
                record.state.is_reversing()
            }
            Err(error) => {
                warn!(%error, "earlier attempt of the order not cancelled: the order stays taken");
                false
            }
        }
    }

    /// Cancels `live` at Antom now, while it still holds its order: true only for Antom's
    /// `S`, after which no success of it can land. Anything else — `U`, or even
    /// `ORDER_NOT_EXIST` (its `pay` may still arrive) — leaves the order taken.
    async fn cancelled_at_antom(&self, live: &TransactionRecord) -> bool {
        let command = CancelCommand {
            client: live.client.clone(),
            payment_request_id: live.payment_request_id.clone(),
        };
        match self.upstream.cancel(&command).await {
            UpstreamOutcome::Success(_) => true,
            outcome => {
                info!(
                    live = live.journal_id(),
                    outcome = outcome.status_label(),
                    "the earlier, non-refundable attempt was not cancelled: the order stays taken"
                );
                false
            }
        }
    }

    fn prepare_checkout(
        &self,
        request: &CheckoutRequest,
        now_ms: i64,
    ) -> Result<(TransactionRecord, CheckoutCommand), Box<Answer>> {
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
        let amount =
            Money::from_numeric_currency(request.amount_minor, request.currency_numeric)
                .map_err(|e| Box::new(Answer::refused(Refusal::InvalidAmount(e.to_string()))))?;
        let timing = &self.settings.timing;
        let expires_in = request.expires_in_ms.unwrap_or(timing.online_expiry_ms);
        let mut record = self.new_record(
            TxnKind::Purchase,
            &request.request,
            request.payment_request_id.clone(),
            None,
            &merchant,
            amount,
            None,
            &request.content_digest,
            now_ms,
        );
        // The switch closes the payment only once the buyer can no longer pay it (seed 003's
        // RESTful gateway mode: never cancel a buyer who is still allowed to pay).
        record.payment_expiry_ms = now_ms + expires_in;
        record.gateway_deadline_ms = record.payment_expiry_ms + timing.online_close_margin_ms;
        record.terminal_deadline_ms = record.gateway_deadline_ms;
        record.order_ref = Some(request.reference_order_id.clone());
        record.description = request.description.clone();
        record.metadata = request.metadata.clone();
        record.wallet = Some(request.checkout.method_type.clone());
        record.online = Some(Box::new(request.checkout.clone()));
        let command = CheckoutCommand {
            client: merchant.client.clone(),
            payment_request_id: request.payment_request_id.clone(),
            amount,
            merchant: Arc::clone(&merchant),
            checkout: request.checkout.clone(),
            reference_order_id: request.reference_order_id.clone(),
            order_description: request
                .description
                .clone()
                .unwrap_or_else(|| self.settings.order_description.clone()),
            notify_url: self.settings.notify_url.clone(),
            payment_expiry: ms_to_datetime(record.payment_expiry_ms)
                .unwrap_or_else(|| self.clock.now()),
        };
        Ok((record, command))
    }

    /// Sends the `pay` until Antom created the payment (or decided it), re-sending the same
    /// request with the same `paymentRequestId` while nobody knows (seed 000), up to the
    /// response deadline. Returns the record as the journal holds it afterwards.
    async fn run_checkout(
        &self,
        mut record: TransactionRecord,
        command: &CheckoutCommand,
        received_ms: i64,
    ) -> TransactionRecord {
        let timing = &self.settings.timing;
        let deadline = received_ms + timing.response_deadline_ms;
        let pause =
            Duration::from_millis(u64::try_from(timing.inquiry_interval_ms).unwrap_or(2_000));
        loop {
            let outcome = self.upstream.checkout(command).await;
            let call_over = self.now_ms();
            match outcome {
                UpstreamOutcome::Success(CheckoutStarted::AwaitingBuyer { payment_id, next }) => {
                    let cause = "pay: awaiting the buyer";
                    let patch = |r: &mut TransactionRecord| {
                        r.payment_id = payment_id.clone().or(r.payment_id.take());
                        if let Some(online) = r.online.as_mut() {
                            online.next_action = Some(next.clone());
                        }
                        r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                    };
                    return match self
                        .commit_planned(record.clone(), Event::Uncertain, cause, |current, now| {
                            plan_awaiting(current, now, cause, &patch)
                        })
                        .await
                    {
                        Ok(record) => record,
                        Err(error) => self.settle_failed(record, Event::Uncertain, &error),
                    };
                }
                UpstreamOutcome::Success(CheckoutStarted::Paid(receipt))
                    if record.online.as_ref().and_then(|o| o.capture).is_some() =>
                {
                    // A card authorized at once: held, not taken, until its capture.
                    let record = self
                        .authorized(
                            record,
                            receipt.payment_id,
                            "pay answered S (authorized)",
                            None,
                            None,
                        )
                        .await;
                    return self.capture_if_automatic(record, received_ms).await;
                }
                UpstreamOutcome::Success(CheckoutStarted::Paid(receipt)) => {
                    let paid = self.paid(receipt.payment_id, receipt.wallet);
                    return self
                        .settle(record, Event::Succeeded, "pay answered S", |r| {
                            paid(r);
                            r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                        })
                        .await;
                }
                UpstreamOutcome::Failed { result_code, .. } => {
                    let cause = format!("pay answered F {result_code}");
                    return self
                        .settle(record, Event::Failed, &cause, steps::failed(&result_code))
                        .await;
                }
                UpstreamOutcome::Unknown { reason } => {
                    record = self
                        .settle(record, Event::Uncertain, &format!("pay {reason}"), |_| {})
                        .await;
                    if record.state != TxnState::Unknown {
                        // A notification or another learner settled it meanwhile.
                        return record;
                    }
                    let pause_ms = i64::try_from(pause.as_millis()).unwrap_or(2_000);
                    if self.now_ms() + pause_ms + timing.pay_timeout_ms >= deadline {
                        // Still unknown: the payment stays open; inquiries, a notification or
                        // the closing time settle it (an unknown one is cancelled then).
                        return record;
                    }
                    self.clock.sleep(pause).await;
                }
            }
        }
    }
}

/// The change that records where the buyer goes on: with the move to `UNKNOWN` from `PENDING`,
/// or on its own when an earlier unanswered `pay` already moved it there. Nothing once settled
/// (a notification may have been first).
pub(super) fn plan_awaiting(
    current: &TransactionRecord,
    now_ms: i64,
    cause: &str,
    patch: &impl Fn(&mut TransactionRecord),
) -> Result<Option<Change>, IllegalTransition> {
    match current.state {
        TxnState::Pending => {
            let mut change = plan_change(current, Event::Uncertain, now_ms, cause)?;
            if let Some(change) = change.as_mut() {
                patch(&mut change.record);
            }
            Ok(change)
        }
        TxnState::Unknown => {
            let mut record = current.clone();
            patch(&mut record);
            if record == *current {
                return Ok(None);
            }
            record.version += 1;
            record.updated_at_ms = now_ms;
            Ok(Some(Change {
                expected_version: current.version,
                record,
                event: Event::Uncertain,
                cause: cause.to_string(),
                enqueue: None,
                deadline: crate::state::DeadlineWatch::Keep,
                outbox: None,
                saved_answer: None,
            }))
        }
        _ => Ok(None),
    }
}
