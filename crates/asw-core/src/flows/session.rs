//! Checkout Page sessions (seed 002): an online attempt of the order whose method the buyer
//! picks on Antom's page. Journaled like a wallet payment (so supersession, the closing time,
//! the SAF cancel, notifications and the order's attempts all apply), then
//! `createPaymentSession` — sent once: after a `U` or no answer Antom wants a new
//! `paymentRequestId`, so the attempt is cancelled at once and the merchant's next session is
//! a new attempt with a new id.

use super::checkout::plan_awaiting;
use super::purchase::ms_to_datetime;
use super::*;
use crate::ports::{SessionCommand, SessionCreated};
use crate::record::{BuyerDetails, CheckoutSession, NextAction, OnlineCheckout};

/// A Checkout Page session (REST `POST /v1/sessions`).
#[derive(Clone, Debug)]
pub struct SessionRequest {
    /// The request's identity.
    pub request: RequestKey,
    /// The `paymentRequestId` of the payment the session makes, derived by the front.
    pub payment_request_id: PaymentRequestId,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// ISO 4217 numeric currency.
    pub currency_numeric: u16,
    /// The merchant's order (Antom `referenceOrderId`), the same across attempts.
    pub reference_order_id: String,
    /// Where the buyer's browser goes back to (proves nothing).
    pub return_url: String,
    /// The methods the page offers, in order; empty: every contracted one.
    pub methods: Vec<String>,
    /// The buyer, when the merchant named one (Antom `order.buyer`; card payments on the page
    /// need it).
    pub buyer: Option<BuyerDetails>,
    /// The acquirer's card-like methods (`[rest] card_like_methods`): one of them picked on the
    /// page authorizes first and is captured by the switch.
    pub card_like: Vec<String>,
    /// How long the page takes payments; the configured default when `None`.
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

/// Whether a record is a session attempt whose `createPaymentSession` got no usable answer
/// (`U`, a timeout, a bad answer): it was cancelled at once and never reached a buyer.
pub fn session_not_created(record: &TransactionRecord) -> bool {
    record
        .online
        .as_ref()
        .and_then(|o| o.session.as_ref())
        .is_some_and(|s| s.data.is_none())
        && record.cancel_reason == Some(CancelReason::ResponseDeadline)
}

impl Core {
    /// A Checkout Page session: journal, `createPaymentSession`, answer with the page.
    pub async fn session(&self, request: SessionRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _admitted = match self.admit_payment() {
            Ok(permit) => permit,
            Err(refusal) => {
                let answer = send_plain(reply, Answer::refused(refusal)).await;
                record_outcome("session", started, &answer);
                return;
            }
        };
        let _in_flight = InFlight::enter("session");
        let span = info_span!("session",
            merchant_id = %request.request.origin.merchant_id,
            payment_request_id = %request.payment_request_id);
        let answer = self.session_inner(request, reply).instrument(span).await;
        record_outcome("session", started, &answer);
    }

    async fn session_inner(&self, request: SessionRequest, reply: Box<dyn Reply>) -> Answer {
        let received_ms = self.now_ms();
        let (record, command) = match self.prepare_session(&request, received_ms) {
            Ok(prepared) => prepared,
            Err(refusal) => return send_plain(reply, *refusal).await,
        };
        match self.begin_online(&record).await {
            Err(refusal) => send_plain(reply, refusal).await,
            Ok(Some(existing)) => {
                if existing.content_digest != request.content_digest {
                    return self
                        .duplicate(*existing, &request.content_digest, received_ms, reply)
                        .await;
                }
                if existing.state == TxnState::Pending {
                    return send_plain(reply, Answer::refused(Refusal::StillRunning)).await;
                }
                self.answer_with_record(*existing, received_ms, reply, false)
                    .await
            }
            Ok(None) => {
                info!(amount = request.amount_minor, currency = %record.currency,
                      "journaled; calling createPaymentSession");
                let record = self.run_session(record, &command).await;
                self.answer_with_record(record, received_ms, reply, false)
                    .await
            }
        }
    }

    /// Journals an online attempt, superseding an earlier one of its order that still awaits
    /// its buyer. `Ok(None)`: journaled, this request runs it; `Ok(Some)`: its key is already
    /// journaled (a re-send).
    async fn begin_online(
        &self,
        record: &TransactionRecord,
    ) -> Result<Option<Box<TransactionRecord>>, Answer> {
        let mut begun = self.begin(record).await;
        if let Ok(BeginOutcome::OrderTaken(live)) = &begun
            && self.supersede(live).await
        {
            begun = self.begin(record).await;
        }
        match begun {
            Err(error) => Err(store_down("session", &error)),
            Ok(BeginOutcome::Tombstoned) => Err(Answer::refused(Refusal::StoreUnavailable)),
            Ok(BeginOutcome::Existing(existing)) => Ok(Some(existing)),
            Ok(BeginOutcome::OrderTaken(live)) => {
                Err(Answer::refused(if live.state.is_in_flight() {
                    Refusal::OrderInProgress
                } else {
                    Refusal::OrderAlreadyPaid
                }))
            }
            Ok(BeginOutcome::Started) => Ok(None),
        }
    }

    fn prepare_session(
        &self,
        request: &SessionRequest,
        now_ms: i64,
    ) -> Result<(TransactionRecord, SessionCommand), Box<Answer>> {
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
        let session_expiry_ms = now_ms + request.expires_in_ms.unwrap_or(timing.session_expiry_ms);
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
        // A method picked at the session's last moment may still be paid until its own timeout
        // after it (seed 002): the switch closes the payment only after that, never before.
        record.payment_expiry_ms = session_expiry_ms + timing.session_method_timeout_ms;
        record.gateway_deadline_ms = record.payment_expiry_ms + timing.online_close_margin_ms;
        record.terminal_deadline_ms = record.gateway_deadline_ms;
        record.order_ref = Some(request.reference_order_id.clone());
        record.description = request.description.clone();
        record.metadata = request.metadata.clone();
        record.online = Some(Box::new(OnlineCheckout {
            method_type: String::new(),
            terminal_type: "WEB".into(),
            os_type: None,
            return_url: request.return_url.clone(),
            next_action: None,
            capture: None,
            buyer: request.buyer.clone(),
            card_checks: None,
            paid_with: None,
            // The method is not known yet; a later attempt's cancel is queued (it closes this
            // session at Antom), as for refundable methods.
            cancel_before_retry: false,
            session: Some(CheckoutSession {
                expires_at_ms: session_expiry_ms,
                methods: request.methods.clone(),
                data: None,
                id: None,
                card_like: request.card_like.clone(),
            }),
        }));
        let command = SessionCommand {
            client: merchant.client.clone(),
            payment_request_id: request.payment_request_id.clone(),
            amount,
            merchant: Arc::clone(&merchant),
            reference_order_id: request.reference_order_id.clone(),
            order_description: request
                .description
                .clone()
                .unwrap_or_else(|| self.settings.order_description.clone()),
            return_url: request.return_url.clone(),
            notify_url: self.settings.notify_url.clone(),
            session_expiry: ms_to_datetime(session_expiry_ms).unwrap_or_else(|| self.clock.now()),
            methods: request.methods.clone(),
            buyer: request.buyer.clone(),
        };
        Ok((record, command))
    }

    /// Sends `createPaymentSession` once. Created: the page is recorded and the attempt awaits
    /// its buyer. `F`: failed. Anything else: nobody will ever have this session's data, and
    /// the next one needs a new id — the attempt's cancel is queued at once (harmless if the
    /// session was never made; it closes it if it was).
    async fn run_session(
        &self,
        record: TransactionRecord,
        command: &SessionCommand,
    ) -> TransactionRecord {
        let outcome = self.upstream.create_session(command).await;
        let call_over = self.now_ms();
        match outcome {
            UpstreamOutcome::Success(created) => {
                let cause = "createPaymentSession: awaiting the buyer";
                let patch = |r: &mut TransactionRecord| {
                    if let Some(online) = r.online.as_mut() {
                        record_session(online, &created);
                    }
                    r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                };
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
            UpstreamOutcome::Failed { result_code, .. } => {
                let cause = format!("createPaymentSession answered F {result_code}");
                self.settle(record, Event::Failed, &cause, |r| {
                    r.result_code = Some(result_code.clone());
                    r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                })
                .await
            }
            UpstreamOutcome::Unknown { reason } => {
                warn!(%reason, "createPaymentSession unknown: cancelling this attempt; the next session needs a new paymentRequestId");
                let event = Event::CancelRequested(CancelReason::ResponseDeadline);
                let cause = format!("createPaymentSession {reason}: session not created");
                let result = self
                    .commit_planned(record.clone(), event, &cause, |current, now| {
                        // The call is over: the cancel may leave at once.
                        let mut over = current.clone();
                        over.call_over_at_ms = over.call_over_at_ms.min(call_over);
                        plan_change(&over, event, now, cause.as_str())
                    })
                    .await;
                match result {
                    Ok(record) => record,
                    Err(error) => self.settle_failed(record, event, &error),
                }
            }
        }
    }

    /// Records the method a session's buyer paid with (from a notification or an inquiry),
    /// before its result is applied: a card-like one is then an authorization the switch
    /// captures. Returns the record as the journal holds it (unchanged when not a session, or
    /// the method already known, or the store failed — the result is applied regardless).
    pub(super) async fn learn_method(
        &self,
        record: TransactionRecord,
        method_type: &str,
    ) -> TransactionRecord {
        if !record.online.as_ref().is_some_and(|o| o.method_pending()) {
            return record;
        }
        let cause = format!("session: the buyer paid with {method_type}");
        let result = self
            .commit_planned(record.clone(), Event::Uncertain, &cause, |current, now| {
                let mut next = current.clone();
                let learned = next
                    .online
                    .as_mut()
                    .is_some_and(|o| o.learn_method(method_type));
                if !learned {
                    return Ok(None);
                }
                next.version += 1;
                next.updated_at_ms = now;
                Ok(Some(Change {
                    expected_version: current.version,
                    record: next,
                    event: Event::Uncertain,
                    cause: cause.clone(),
                    enqueue: None,
                    deadline: crate::state::DeadlineWatch::Keep,
                    outbox: None,
                    saved_answer: None,
                }))
            })
            .await;
        match result {
            Ok(record) => record,
            Err(error) => {
                warn!(%error, "the session's method was not recorded");
                record
            }
        }
    }

    /// A success about to be applied to `record` (a notification): a Checkout Page session
    /// whose method is not known yet learns it first — from the report, or else from an
    /// inquiry — so a card-like one is an authorization. `None`: nobody names the method, and
    /// the success must not be applied (a card would be `succeeded` before its capture; when
    /// unsure, the closing time settles it). Any other record is returned as it is.
    pub(super) async fn with_session_method(
        &self,
        record: TransactionRecord,
        reported: Option<&str>,
    ) -> Option<TransactionRecord> {
        if !record.online.as_ref().is_some_and(|o| o.method_pending()) {
            return Some(record);
        }
        let method = match reported {
            Some(method) => Some(method.to_string()),
            None => self.inquired_method(&record).await,
        };
        let Some(method) = method else {
            warn!(
                journal_id = record.journal_id(),
                "session success without a payment method: not applied"
            );
            return None;
        };
        Some(self.learn_method(record, &method).await)
    }

    /// What the buyer of a session paid with, as an inquiry reports it (`None` when Antom does
    /// not say or cannot be asked now).
    async fn inquired_method(&self, record: &TransactionRecord) -> Option<String> {
        let inquiry = InquiryCommand {
            client: record.client.clone(),
            payment_request_id: record.payment_request_id.clone(),
        };
        match self.upstream.inquire_payment(&inquiry).await {
            UpstreamOutcome::Success(report) => report.paid_with.and_then(|p| p.method_type),
            _ => None,
        }
    }
}

/// What a created session gives the record: where the buyer goes, and the embedded page's data.
fn record_session(online: &mut OnlineCheckout, created: &SessionCreated) {
    online.next_action = Some(NextAction {
        url: created.url.clone(),
        ..NextAction::default()
    });
    if let Some(session) = online.session.as_mut() {
        session.data = Some(created.session_data.clone());
        session.id = created.session_id.clone();
    }
}
