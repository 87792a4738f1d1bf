//! Card-like online payments (seed 004): an authorization holds the money, a capture takes it.
//! The switch owns the one `captureRequestId` of each payment (derived from it), so retries on
//! any instance capture at most once and a `CAPTURE_RESULT` names its payment; nothing is
//! `succeeded` before the capture succeeded.

use super::*;
use crate::ports::{CaptureCommand, CaptureReceipt};
use crate::record::{CaptureMode, OnlineCheckout};

/// `POST /v1/payments/{id}/capture`: capture an authorization in full.
#[derive(Clone, Debug)]
pub struct CaptureRequest {
    /// Who asks (a REST merchant).
    pub origin: Origin,
    /// The payment.
    pub payment_request_id: String,
    /// The amount asked (minor units, ISO 4217 alphabetic), when given: only the authorized
    /// amount is captured.
    pub amount: Option<(u64, String)>,
}

impl Core {
    /// Captures an authorized card payment (manual capture), or answers the capture already
    /// made; `succeeded` once Antom captured it.
    pub async fn capture(&self, request: CaptureRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _in_flight = InFlight::enter("capture");
        let span = info_span!("capture", payment_request_id = %request.payment_request_id);
        let answer = self.capture_inner(request, reply).instrument(span).await;
        record_outcome("capture", started, &answer);
    }

    async fn capture_inner(&self, request: CaptureRequest, reply: Box<dyn Reply>) -> Answer {
        let received_ms = self.now_ms();
        let record = match self
            .find_payment(&request.origin, &request.payment_request_id)
            .await
        {
            Ok(Some(record)) => record,
            Ok(None) => return send_plain(reply, Answer::refused(Refusal::OriginalNotFound)).await,
            Err(error) => return send_plain(reply, store_down("capture", &error)).await,
        };
        let needs_capture = record.online.as_ref().and_then(|o| o.capture).is_some();
        if !needs_capture {
            return send_plain(reply, Answer::refused(Refusal::NotCapturable)).await;
        }
        if request.amount.as_ref().is_some_and(|(value, currency)| {
            *value != record.amount_minor || *currency != record.currency
        }) {
            // Partial capture is contract-dependent at Antom: not offered.
            return send_plain(reply, Answer::refused(Refusal::AmountDiffersFromOriginal)).await;
        }
        let record = match record.state {
            TxnState::Authorized => self.run_capture(record, received_ms).await,
            // Captured already (a repeated request): the answer is the record as it stands.
            TxnState::Approved => record,
            _ => return send_plain(reply, Answer::refused(Refusal::NotCapturable)).await,
        };
        if record.state == TxnState::Authorized
            && let Some(code) = record.result_code.clone().filter(|c| c != "SUCCESS")
        {
            return send_plain(reply, Answer::refused(Refusal::CaptureRefused(code))).await;
        }
        self.answer_with_record(record, received_ms, reply, false)
            .await
    }

    /// Sends the capture with the payment's own `captureRequestId` until Antom decides, or
    /// until the response deadline (a later request, the `CAPTURE_RESULT` or an inquiry then
    /// settles it). Returns the record as the journal holds it afterwards; a refused capture
    /// leaves it authorized with Antom's code.
    pub(super) async fn run_capture(
        &self,
        record: TransactionRecord,
        received_ms: i64,
    ) -> TransactionRecord {
        let Some(payment_id) = record.payment_id.clone() else {
            warn!("authorization without a paymentId: cannot capture");
            return record;
        };
        let amount =
            match Money::from_numeric_currency(record.amount_minor, record.currency_numeric) {
                Ok(amount) => amount,
                Err(error) => {
                    warn!(%error, "journaled amount unusable: cannot capture");
                    return record;
                }
            };
        let command = CaptureCommand {
            client: record.client.clone(),
            capture_request_id: OnlineCheckout::capture_request_id(
                record.payment_request_id.as_str(),
            ),
            payment_id,
            amount,
        };
        let timing = &self.settings.timing;
        let deadline = received_ms + timing.response_deadline_ms;
        let pause =
            Duration::from_millis(u64::try_from(timing.inquiry_interval_ms).unwrap_or(2_000));
        loop {
            match self.upstream.capture(&command).await {
                UpstreamOutcome::Success(CaptureReceipt { .. }) => {
                    return self.captured(record, "capture answered S").await;
                }
                UpstreamOutcome::Failed { result_code, .. } => {
                    warn!(%result_code, "capture refused by Antom: the authorization stays");
                    let mut refused = record;
                    refused.result_code = Some(result_code);
                    return refused;
                }
                UpstreamOutcome::Unknown { reason } => {
                    // Seed 004: never a second capture with a new id; the same one again.
                    warn!(%reason, "capture outcome unknown: sending it again with the same id");
                    let pause_ms = i64::try_from(pause.as_millis()).unwrap_or(2_000);
                    if self.now_ms() + pause_ms >= deadline {
                        return record;
                    }
                    self.clock.sleep(pause).await;
                }
            }
        }
    }

    /// Records a capture Antom confirmed: the payment succeeded.
    pub(super) async fn captured(
        &self,
        record: TransactionRecord,
        cause: &str,
    ) -> TransactionRecord {
        let paid = self.paid(None, None);
        self.settle(record, Event::Captured, cause, paid).await
    }

    /// Records an authorization Antom confirmed (a card-like method): the money is held, not
    /// taken. A manual capture may then be asked until the capture window closes (the
    /// sweeper cancels an authorization left uncaptured). `reopen_until`: see
    /// [`Core::settle_until`].
    pub(super) async fn authorized(
        &self,
        record: TransactionRecord,
        payment_id: Option<String>,
        cause: &str,
        reopen_until: Option<i64>,
        paid_with: Option<&PaidWith>,
    ) -> TransactionRecord {
        let window = self.settings.timing.online_capture_window_ms;
        let manual = record.online.as_ref().and_then(|o| o.capture) == Some(CaptureMode::Manual);
        let result = self
            .commit_planned(record.clone(), Event::Authorized, cause, |current, now| {
                let mut change = plan_change(current, Event::Authorized, now, cause)?;
                if let Some(change) = change.as_mut() {
                    change.record.payment_id =
                        payment_id.clone().or(change.record.payment_id.take());
                    Self::keep_paid_with(&mut change.record, paid_with);
                    if manual {
                        // Closed when the merchant's time to capture is over, not at the
                        // buyer's expiry.
                        change.record.gateway_deadline_ms = now + window;
                        change.record.terminal_deadline_ms = now + window;
                        change.deadline = crate::state::DeadlineWatch::Resume;
                    } else if let Some(until) = reopen_until {
                        steps::reopen(change, until);
                    }
                }
                Ok(change)
            })
            .await;
        match result {
            Ok(record) => record,
            Err(error) => self.settle_failed(record, Event::Authorized, &error),
        }
    }

    /// After an authorization: an automatic capture is made at once.
    pub(super) async fn capture_if_automatic(
        &self,
        record: TransactionRecord,
        received_ms: i64,
    ) -> TransactionRecord {
        let automatic =
            record.online.as_ref().and_then(|o| o.capture) == Some(CaptureMode::Automatic);
        if automatic && record.state == TxnState::Authorized {
            self.run_capture(record, received_ms).await
        } else {
            record
        }
    }

    /// An automatic capture due for an authorization learned outside a request (a
    /// notification): the webhook runs it on its own task.
    pub async fn capture_due(&self, payment_request_id: &str) {
        let id = PaymentRequestId::new(payment_request_id);
        let Some(tag) = id.key_tag() else { return };
        match self.journal.load(tag, payment_request_id).await {
            Ok(Some(record)) => {
                let now = self.now_ms();
                let _ = self.capture_if_automatic(record, now).await;
            }
            Ok(None) => {}
            Err(error) => warn!(%error, "automatic capture postponed: store unavailable"),
        }
    }

    /// Applies a verified `CAPTURE_RESULT`: S makes the payment `succeeded`; F leaves the
    /// authorization (its capture window still closes it). Only captures the switch made (its
    /// own `captureRequestId`) name a payment.
    pub async fn apply_capture_notification(
        &self,
        capture_request_id: &str,
        success: bool,
    ) -> Result<NotifyOutcome, StoreError> {
        let Some(prid) = OnlineCheckout::payment_of_capture(capture_request_id) else {
            return Ok(NotifyOutcome::Unknown);
        };
        let id = PaymentRequestId::new(prid);
        let Some(tag) = id.key_tag() else {
            return Ok(NotifyOutcome::Unknown);
        };
        let Some(record) = self.journal.load(tag, prid).await? else {
            return Ok(NotifyOutcome::Unknown);
        };
        if !success || record.online.as_ref().and_then(|o| o.capture).is_none() {
            return Ok(NotifyOutcome::Ignored);
        }
        let before = record.state;
        let paid = self.paid(None, None);
        let after = self
            .apply(record, Event::Captured, "CAPTURE_RESULT SUCCESS", paid)
            .await?;
        Ok(if after.state != before {
            NotifyOutcome::Applied
        } else {
            NotifyOutcome::Ignored
        })
    }
}
