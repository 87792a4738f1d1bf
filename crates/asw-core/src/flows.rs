//! The orchestration of every terminal flow, in domain terms (no ISO 8583 here; see
//! [`crate::iso`] for the translation).
//!
//! Every flow follows the same discipline: decide locally what can be decided without Antom,
//! journal before calling Antom, learn outcomes through the state table, and answer the terminal
//! only with what the journal already holds — so a crash at any instant leaves a record the
//! deadline sweeper and the reversal engine can finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use tracing::{Instrument, info, info_span, warn};

use crate::domain::{
    MerchantProfile, Money, OutcomeClass, PaymentCode, PaymentCodeRule, PaymentRequestId,
    RefundRequestId, TerminalKey, TxnKind, mask_middle,
};
use crate::ids::{DatedKey, IdGenerator, infer_year, parse_rrn, rrn};
use crate::merchants::{MerchantDirectory, MerchantError};
use crate::ports::{
    BeginOutcome, Clock, CommitOutcome, InquiryCommand, Journal, PayCommand, PayScenario,
    PaymentStatus, RefundCommand, StoreError, Tombstone, TombstoneOutcome, Upstream,
    UpstreamOutcome,
};
use crate::record::{
    Change, HoldRefused, IllegalTransition, SafAction, SafEntry, TransactionRecord, mark_sending,
    plan_change, plan_refund_hold, plan_refund_release,
};
use crate::response_code as rc;
use crate::state::{CancelReason, Delivery, Event, TxnState};

/// The time budget of a transaction. Start-up refuses a configuration unless
/// `response_deadline < terminal_timeout < gateway_deadline`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// How long terminals wait for an answer.
    pub terminal_timeout_ms: i64,
    /// The switch answers by then at the latest (91 and a queued cancel if still unknown).
    pub response_deadline_ms: i64,
    /// Active cancellation: anything not approved and handed to the terminal by then is cancelled.
    pub gateway_deadline_ms: i64,
    /// Interval between `inquiryPayment` polls while the outcome is unknown.
    pub inquiry_interval_ms: i64,
    /// The `pay` client timeout (the upstream adapter enforces it; the core needs it to know
    /// when a cancel may safely follow).
    pub pay_timeout_ms: i64,
    /// Safety margin added to the pay timeout before a cancel may be sent.
    pub call_margin_ms: i64,
    /// `paymentExpiryTime` sent to Antom, relative to the request: after it the payment can no
    /// longer succeed, so `ORDER_NOT_EXIST` becomes final.
    pub payment_expiry_ms: i64,
    /// An approval is never sent later than this before the terminal gives up or the sweeper
    /// runs, so "delivered" means the terminal could still use it.
    pub delivery_margin_ms: i64,
    /// How often a duplicate request re-reads the journal while its original is in flight.
    pub duplicate_poll_ms: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            terminal_timeout_ms: 60_000,
            response_deadline_ms: 50_000,
            gateway_deadline_ms: 90_000,
            inquiry_interval_ms: 3_000,
            pay_timeout_ms: 10_000,
            call_margin_ms: 2_000,
            payment_expiry_ms: 300_000,
            delivery_margin_ms: 2_000,
            duplicate_poll_ms: 200,
        }
    }
}

impl Timing {
    /// Every rule the timing must satisfy, as (key, message) pairs; empty when valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.response_deadline_ms >= self.terminal_timeout_ms {
            out.push((
                "timing.response_deadline_ms",
                "must be less than timing.terminal_timeout_ms".to_string(),
            ));
        }
        if self.terminal_timeout_ms >= self.gateway_deadline_ms {
            out.push((
                "timing.terminal_timeout_ms",
                "must be less than timing.gateway_deadline_ms".to_string(),
            ));
        }
        for (key, value) in [
            ("timing.inquiry_interval_ms", self.inquiry_interval_ms),
            ("timing.pay_timeout_ms", self.pay_timeout_ms),
            ("timing.duplicate_poll_ms", self.duplicate_poll_ms),
        ] {
            if value <= 0 {
                out.push((key, "must be greater than zero".to_string()));
            }
        }
        if self.pay_timeout_ms >= self.response_deadline_ms {
            out.push((
                "timing.pay_timeout_ms",
                "must be less than timing.response_deadline_ms".to_string(),
            ));
        }
        if self.payment_expiry_ms <= self.gateway_deadline_ms {
            out.push((
                "timing.payment_expiry_ms",
                "must be greater than timing.gateway_deadline_ms".to_string(),
            ));
        }
        if self.call_margin_ms < 0 || self.delivery_margin_ms < 0 {
            out.push(("timing", "margins must not be negative".to_string()));
        }
        out
    }
}

/// Settings of the core that come from the configuration.
#[derive(Clone, Debug)]
pub struct CoreSettings {
    /// Time budget.
    pub timing: Timing,
    /// Which payment codes are accepted before asking Antom.
    pub payment_code_rule: PaymentCodeRule,
    /// `paymentNotifyUrl` sent with every `pay`.
    pub notify_url: Option<String>,
    /// `order.orderDescription` sent with every `pay`.
    pub order_description: String,
}

/// What the core answers a terminal, before ISO 8583 encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Field 39.
    pub response_code: &'static str,
    /// Classification for metrics.
    pub class: OutcomeClass,
    /// F37.
    pub rrn: Option<String>,
    /// F38 (approvals only).
    pub approval_code: Option<String>,
    /// F48 `PR`.
    pub payment_request_id: Option<PaymentRequestId>,
    /// F48 `PI`.
    pub payment_id: Option<String>,
    /// F48 `RQ`.
    pub refund_request_id: Option<RefundRequestId>,
    /// F48 `RI`.
    pub refund_id: Option<String>,
    /// F48 `WN`.
    pub wallet: Option<String>,
    /// F48 `RM`: a short result text (the Antom result code when there is one).
    pub result_text: Option<String>,
}

impl Answer {
    /// An answer decided before anything reached the journal or Antom.
    pub fn rejected(code: &'static str, text: impl Into<String>) -> Self {
        Self {
            response_code: code,
            class: OutcomeClass::Rejected,
            rrn: None,
            approval_code: None,
            payment_request_id: None,
            payment_id: None,
            refund_request_id: None,
            refund_id: None,
            wallet: None,
            result_text: Some(text.into()),
        }
    }

    /// The answer that reflects a journal record's current state.
    pub fn from_record(record: &TransactionRecord) -> Self {
        let (code, class) = match record.state {
            TxnState::Approved => (rc::APPROVED, OutcomeClass::Approved),
            TxnState::Declined => (
                record
                    .response_code
                    .as_deref()
                    .map_or(rc::DO_NOT_HONOUR, static_code),
                OutcomeClass::Declined,
            ),
            _ => (rc::UNAVAILABLE, OutcomeClass::TimedOut),
        };
        Self {
            response_code: code,
            class,
            rrn: Some(record.rrn.clone()),
            approval_code: if code == rc::APPROVED {
                record.approval_code.clone()
            } else {
                None
            },
            payment_request_id: Some(record.payment_request_id.clone()),
            payment_id: record.payment_id.clone(),
            refund_request_id: record.refund_request_id.clone(),
            refund_id: record.refund_id.clone(),
            wallet: record.wallet.clone(),
            result_text: record.result_code.clone(),
        }
    }

    /// True for 39 = 00.
    pub fn is_approval(&self) -> bool {
        self.response_code == rc::APPROVED
    }
}

/// Maps a stored response code back to the static constant (unknown codes decline).
fn static_code(code: &str) -> &'static str {
    rc::ALL
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or(rc::DO_NOT_HONOUR)
}

/// The way back to the terminal. `send` resolves once the answer was written (or failed).
#[async_trait]
pub trait Reply: Send + 'static {
    /// Writes the answer to the terminal that asked.
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered>;
}

/// The answer could not be written (connection gone, write timed out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the answer could not be delivered to the terminal")]
pub struct Undelivered;

/// How a request names the original transaction it refers to (void, refund, inquiry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OriginalRef {
    /// F37 of the original (issued by this switch).
    pub rrn: Option<String>,
    /// F48 `PR`.
    pub payment_request_id: Option<String>,
    /// F48 `PI`.
    pub payment_id: Option<String>,
}

/// A 0200 purchase.
#[derive(Clone, Debug)]
pub struct PurchaseRequest {
    /// The terminal's key.
    pub key: TerminalKey,
    /// F4.
    pub amount_minor: u64,
    /// F49.
    pub currency_numeric: u16,
    /// F48 `PC`.
    pub payment_code: PaymentCode,
    /// F62, when present.
    pub reference_order_id: Option<String>,
    /// Digest of the request content (duplicate with other content → 94).
    pub content_digest: String,
}

/// A 0200 refund.
#[derive(Clone, Debug)]
pub struct RefundRequest {
    /// The refund's own key.
    pub key: TerminalKey,
    /// F4: the amount to refund.
    pub amount_minor: u64,
    /// F49.
    pub currency_numeric: u16,
    /// The purchase being refunded.
    pub original: OriginalRef,
    /// Digest of the request content.
    pub content_digest: String,
}

/// A 0200 void.
#[derive(Clone, Debug)]
pub struct VoidRequest {
    /// The void's own key (for its RRN).
    pub key: TerminalKey,
    /// F4: must equal the original amount.
    pub amount_minor: u64,
    /// The purchase being voided.
    pub original: OriginalRef,
}

/// A 0400/0401 reversal request or 0420/0421 reversal advice.
#[derive(Clone, Debug)]
pub struct ReversalRequest {
    /// The original's key (F11/F12/F13 of the original).
    pub original_key: TerminalKey,
    /// F4: the original amount.
    pub amount_minor: u64,
    /// F3 of the original.
    pub original_processing_code: String,
    /// True for 0420/0421 (advices are never answered 94 and always acknowledged once queued).
    pub advice: bool,
}

/// A 0100 status inquiry.
#[derive(Clone, Debug)]
pub struct StatusInquiry {
    /// The inquiry's own key.
    pub key: TerminalKey,
    /// The transaction asked about.
    pub original: OriginalRef,
}

/// What applying a `notifyPayment` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// The notification moved the transaction to approved.
    Applied,
    /// Already final, being cancelled, or a duplicate: nothing changed.
    Ignored,
    /// Amount or currency differ from the journal: not applied.
    Mismatch,
    /// No such transaction in the journal.
    Unknown,
}

impl NotifyOutcome {
    /// Stable metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyOutcome::Applied => "applied",
            NotifyOutcome::Ignored => "ignored",
            NotifyOutcome::Mismatch => "mismatch",
            NotifyOutcome::Unknown => "unknown_payment",
        }
    }
}

/// The core: flows over the ports.
pub struct Core {
    upstream: Arc<dyn Upstream>,
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    ids: IdGenerator,
    merchants: MerchantDirectory,
    settings: CoreSettings,
}

/// Metric names of the core (see docs/metrics.md).
pub mod metric {
    /// Terminal transactions by flow and outcome class.
    pub const TRANSACTIONS: &str = "antom_switch_core_transactions_total";
    /// End-to-end latency by flow.
    pub const LATENCY: &str = "antom_switch_core_transaction_duration_seconds";
    /// Transactions being processed.
    pub const IN_FLIGHT: &str = "antom_switch_core_in_flight";
    /// How Unknown outcomes ended.
    pub const UNKNOWN_RESOLVED: &str = "antom_switch_core_unknown_resolved_total";
    /// Events the state table rejected.
    pub const ILLEGAL: &str = "antom_switch_core_illegal_transitions_total";
    /// Store errors seen by the core, by flow.
    pub const STORE_FAILURES: &str = "antom_switch_core_store_failures_total";
    /// Follow-ups naming a payment outside the sender's scope (answered as unknown).
    pub const OUT_OF_SCOPE: &str = "antom_switch_core_follow_ups_out_of_scope_total";
}

struct InFlight(&'static str);

impl InFlight {
    fn enter(flow: &'static str) -> Self {
        metrics::gauge!(metric::IN_FLIGHT, "flow" => flow).increment(1.0);
        Self(flow)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(metric::IN_FLIGHT, "flow" => self.0).decrement(1.0);
    }
}

fn record_outcome(flow: &'static str, started: Instant, answer: &Answer) {
    let outcome = match answer.class {
        OutcomeClass::Approved => "approved",
        OutcomeClass::Declined => "declined",
        OutcomeClass::TimedOut => "timed_out",
        OutcomeClass::Rejected => "rejected",
    };
    metrics::counter!(metric::TRANSACTIONS, "flow" => flow, "outcome" => outcome).increment(1);
    metrics::histogram!(metric::LATENCY, "flow" => flow).record(started.elapsed().as_secs_f64());
}

impl Core {
    /// Wires the core to its ports.
    pub fn new(
        upstream: Arc<dyn Upstream>,
        journal: Arc<dyn Journal>,
        clock: Arc<dyn Clock>,
        ids: IdGenerator,
        merchants: MerchantDirectory,
        settings: CoreSettings,
    ) -> Self {
        Self {
            upstream,
            journal,
            clock,
            ids,
            merchants,
            settings,
        }
    }

    /// The configured time budget.
    pub fn timing(&self) -> &Timing {
        &self.settings.timing
    }

    /// The id generator (the reversal engine and tools derive the same ids).
    pub fn ids(&self) -> &IdGenerator {
        &self.ids
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn today(&self) -> Date {
        self.clock.now().date()
    }

    // -----------------------------------------------------------------------------------------
    // Purchase

    /// A customer-presented code purchase: journal, pay, inquire, cancel when still unknown.
    pub async fn purchase(&self, request: PurchaseRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _in_flight = InFlight::enter("purchase");
        let span = info_span!("purchase",
            terminal_id = %request.key.terminal_id, stan = %request.key.stan,
            payment_request_id = tracing::field::Empty);
        let answer = self
            .purchase_inner(request, reply, started, &span)
            .instrument(span.clone())
            .await;
        record_outcome("purchase", started, &answer);
    }

    async fn purchase_inner(
        &self,
        request: PurchaseRequest,
        reply: Box<dyn Reply>,
        started: Instant,
        span: &tracing::Span,
    ) -> Answer {
        let received_ms = self.now_ms();
        let prepared = match self.prepare_purchase(&request, received_ms) {
            Ok(p) => p,
            Err(answer) => return send_plain(reply, *answer).await,
        };
        span.record(
            "payment_request_id",
            prepared.record.payment_request_id.as_str(),
        );
        let record = prepared.record;
        match self.journal.begin(&record).await {
            Err(error) => {
                warn!(%error, "journal unavailable: declining without calling Antom");
                metrics::counter!(metric::STORE_FAILURES, "flow" => "purchase").increment(1);
                return send_plain(
                    reply,
                    Answer::rejected(rc::SYSTEM_ERROR, "STORE_UNAVAILABLE"),
                )
                .await;
            }
            Ok(BeginOutcome::Tombstoned) => {
                info!("original arrived after its reversal: declined without calling Antom");
                return send_plain(
                    reply,
                    Answer::rejected(rc::INVALID_TRANSACTION, "REVERSED_BEFORE_ARRIVAL"),
                )
                .await;
            }
            Ok(BeginOutcome::Existing(existing)) => {
                return self
                    .duplicate(*existing, &request.content_digest, received_ms, reply)
                    .await;
            }
            Ok(BeginOutcome::Started) => {}
        }
        info!(amount = request.amount_minor, currency = %record.currency,
              payment_code = %request.payment_code, "journaled; calling pay");
        let record = self
            .run_payment(record, prepared.command, received_ms, started)
            .await;
        self.answer_with_record(record, received_ms, reply, true)
            .await
    }

    fn prepare_purchase(
        &self,
        request: &PurchaseRequest,
        now_ms: i64,
    ) -> Result<PreparedPurchase, Box<Answer>> {
        let (merchant, _terminal) = self
            .merchants
            .lookup(&request.key.merchant_id, &request.key.terminal_id)
            .map_err(|e| Box::new(merchant_answer(e)))?;
        if let Err(why) = self
            .settings
            .payment_code_rule
            .check(request.payment_code.expose())
        {
            return Err(Box::new(Answer::rejected(rc::INVALID_CODE, why)));
        }
        let amount = Money::from_iso(request.amount_minor, request.currency_numeric)
            .map_err(|e| Box::new(Answer::rejected(rc::INVALID_AMOUNT, e.to_string())))?;
        let year = infer_year(&request.key.local_date, self.today())
            .ok_or_else(|| Box::new(Answer::rejected(rc::FORMAT_ERROR, "F13 is not a date")))?;
        let dated = DatedKey {
            key: &request.key,
            year,
        };
        let terminal_time = terminal_time(&request.key, year, merchant.utc_offset_minutes)
            .ok_or_else(|| {
                Box::new(Answer::rejected(rc::FORMAT_ERROR, "F12/F13 are not a time"))
            })?;
        let prid = self.ids.payment_request_id(&dated, request.amount_minor);
        let record = self.new_record(
            TxnKind::Purchase,
            &dated,
            prid.clone(),
            None,
            &merchant,
            amount,
            Some(request.payment_code.masked()),
            &request.content_digest,
            now_ms,
        )?;
        let timing = &self.settings.timing;
        let command = PayCommand {
            client: merchant.client.clone(),
            payment_request_id: prid,
            amount,
            payment_code: Some(request.payment_code.clone()),
            scenario: PayScenario::PaymentCode,
            merchant: Arc::clone(&merchant),
            terminal_id: request.key.terminal_id.clone(),
            terminal_request_time: terminal_time,
            reference_order_id: request.reference_order_id.clone(),
            order_description: self.settings.order_description.clone(),
            notify_url: self.settings.notify_url.clone(),
            payment_expiry: ms_to_datetime(now_ms + timing.payment_expiry_ms),
        };
        Ok(PreparedPurchase { record, command })
    }

    #[allow(clippy::too_many_arguments)]
    fn new_record(
        &self,
        kind: TxnKind,
        dated: &DatedKey<'_>,
        payment_request_id: PaymentRequestId,
        refund_request_id: Option<RefundRequestId>,
        merchant: &MerchantProfile,
        amount: Money,
        masked_payment_code: Option<String>,
        content_digest: &str,
        now_ms: i64,
    ) -> Result<TransactionRecord, Box<Answer>> {
        let timing = &self.settings.timing;
        let rrn = rrn(dated)
            .ok_or_else(|| Box::new(Answer::rejected(rc::FORMAT_ERROR, "bad F12/F13")))?;
        Ok(TransactionRecord {
            version: 1,
            kind,
            state: TxnState::Pending,
            delivery: Delivery::None,
            payment_request_id,
            refund_request_id,
            tag: self.ids.key_tag(dated),
            dedup_key: dated.dedup_string(),
            terminal_key: dated.key.clone(),
            content_digest: content_digest.to_string(),
            client: merchant.client.clone(),
            amount_minor: amount.minor_units,
            currency: amount.currency_code().to_string(),
            currency_numeric: amount.currency_numeric(),
            masked_payment_code,
            payment_id: None,
            refund_id: None,
            rrn,
            approval_code: None,
            response_code: None,
            result_code: None,
            wallet: None,
            refunded_minor: 0,
            refund_holds: Vec::new(),
            cancel_reason: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            call_over_at_ms: now_ms + timing.pay_timeout_ms + timing.call_margin_ms,
            response_deadline_ms: now_ms + timing.response_deadline_ms,
            terminal_deadline_ms: now_ms + timing.terminal_timeout_ms,
            gateway_deadline_ms: now_ms + timing.gateway_deadline_ms,
            payment_expiry_ms: now_ms + timing.payment_expiry_ms,
        })
    }

    /// Calls `pay`, then polls until a final answer or the response deadline; returns the record
    /// as the journal holds it afterwards.
    async fn run_payment(
        &self,
        mut record: TransactionRecord,
        command: PayCommand,
        received_ms: i64,
        started: Instant,
    ) -> TransactionRecord {
        let outcome = self.upstream.pay(&command).await;
        let call_over = self.now_ms();
        match outcome {
            UpstreamOutcome::Success(receipt) => {
                let approval = self.ids.approval_code(&record.payment_request_id);
                let cause = "pay answered S";
                return self
                    .settle_approval(record, received_ms, cause, |r| {
                        r.payment_id = receipt.payment_id.clone().or(r.payment_id.take());
                        r.wallet = receipt.wallet.clone().or(r.wallet.take());
                        r.approval_code = Some(approval.clone());
                        r.result_code = Some("SUCCESS".into());
                        r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                    })
                    .await;
            }
            UpstreamOutcome::Failed {
                result_code,
                message: _,
            } => {
                let code = rc::for_antom_failure(&result_code);
                let cause = format!("pay answered F {result_code}");
                return self
                    .settle(record, Event::Failed, &cause, |r| {
                        r.response_code = Some(code.to_string());
                        r.result_code = Some(result_code.clone());
                        r.call_over_at_ms = r.call_over_at_ms.min(call_over);
                    })
                    .await;
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
        self.poll_until_known(record, received_ms, started).await
    }

    async fn poll_until_known(
        &self,
        mut record: TransactionRecord,
        received_ms: i64,
        _started: Instant,
    ) -> TransactionRecord {
        let timing = &self.settings.timing;
        let deadline = received_ms + timing.response_deadline_ms;
        let mut inquiry_failed = false;
        loop {
            if !record.state.is_in_flight() {
                if record.state == TxnState::Approved {
                    metrics::counter!(metric::UNKNOWN_RESOLVED, "resolution" => "approved")
                        .increment(1);
                } else {
                    metrics::counter!(metric::UNKNOWN_RESOLVED, "resolution" => "declined")
                        .increment(1);
                }
                return record;
            }
            let now = self.now_ms();
            if now >= deadline || inquiry_failed {
                break;
            }
            let wait = timing.inquiry_interval_ms.min(deadline - now).max(0);
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
            // A notification may have settled it meanwhile.
            if let Ok(Some(fresh)) = self.journal.load(&record.tag, record.journal_id()).await {
                record = fresh;
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
                        let approval = self.ids.approval_code(&record.payment_request_id);
                        record = self
                            .settle_approval(record, received_ms, "inquiry SUCCESS", |r| {
                                r.payment_id = report.payment_id.clone().or(r.payment_id.take());
                                r.wallet = report.wallet.clone().or(r.wallet.take());
                                r.approval_code = Some(approval.clone());
                                r.result_code = Some("SUCCESS".into());
                            })
                            .await;
                    }
                    PaymentStatus::Fail | PaymentStatus::Cancelled => {
                        let result_code = report
                            .result_code
                            .clone()
                            .unwrap_or_else(|| "PAYMENT_FAILED".into());
                        let code = rc::for_antom_failure(&result_code);
                        record = self
                            .settle(record, Event::Failed, "inquiry FAIL/CANCELLED", |r| {
                                r.response_code = Some(code.to_string());
                                r.result_code = Some(result_code.clone());
                            })
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
                |r| r.response_code = Some(rc::UNAVAILABLE.to_string()),
            )
            .await;
        let resolution = match record.state {
            TxnState::Approved => "approved",
            TxnState::Declined => "declined",
            _ => "cancelled",
        };
        metrics::counter!(metric::UNKNOWN_RESOLVED, "resolution" => resolution).increment(1);
        record
    }

    /// Applies an event, retrying on version conflicts; on store failure returns the record as
    /// last known (the deadline sweeper finishes whatever the journal holds).
    async fn settle(
        &self,
        record: TransactionRecord,
        event: Event,
        cause: &str,
        patch: impl Fn(&mut TransactionRecord),
    ) -> TransactionRecord {
        match self.apply(record.clone(), event, cause, patch).await {
            Ok(r) => r,
            Err(error) => self.settle_failed(record, event, &error),
        }
    }

    /// What a flow continues with when the journal write of `event` failed.
    fn settle_failed(
        &self,
        record: TransactionRecord,
        event: Event,
        error: &StoreError,
    ) -> TransactionRecord {
        warn!(%error, event = event.name(), "journal write failed: the sweeper will finish this transaction");
        metrics::counter!(metric::STORE_FAILURES, "flow" => "settle").increment(1);
        // We do not know what the journal holds; answer as if unknown (never approve).
        let mut unknown = record;
        unknown.state = TxnState::Unknown;
        unknown.response_code = Some(rc::UNAVAILABLE.to_string());
        unknown
    }

    /// Records that Antom approved the payment. When the approval can still reach the terminal
    /// it is marked `SENDING` in the same compare-and-set (one durable write less per approval:
    /// the answer is written to the terminal right after); otherwise it stays undelivered and
    /// the sweeper cancels it.
    async fn settle_approval(
        &self,
        record: TransactionRecord,
        received_ms: i64,
        cause: &str,
        patch: impl Fn(&mut TransactionRecord),
    ) -> TransactionRecord {
        let deliverable = self.now_ms() < self.send_by(&record, received_ms);
        let result = self
            .commit_planned(record.clone(), Event::Succeeded, cause, |current, now| {
                let mut change = plan_change(current, Event::Succeeded, now, cause)?;
                if let Some(change) = change.as_mut() {
                    patch(&mut change.record);
                    if deliverable {
                        mark_sending(change, now);
                    }
                }
                Ok(change)
            })
            .await;
        match result {
            Ok(r) => r,
            Err(error) => self.settle_failed(record, Event::Succeeded, &error),
        }
    }

    /// The last moment an approval may be written to the terminal: before the terminal gives
    /// up and before the sweeper's gateway deadline, with a margin.
    fn send_by(&self, record: &TransactionRecord, received_ms: i64) -> i64 {
        let timing = &self.settings.timing;
        (received_ms + timing.terminal_timeout_ms).min(record.gateway_deadline_ms)
            - timing.delivery_margin_ms
    }

    /// Plans and commits one event with compare-and-set, reloading on conflicts.
    pub async fn apply(
        &self,
        record: TransactionRecord,
        event: Event,
        cause: &str,
        patch: impl Fn(&mut TransactionRecord),
    ) -> Result<TransactionRecord, StoreError> {
        self.commit_planned(record, event, cause, |current, now| {
            let mut change = plan_change(current, event, now, cause)?;
            if let Some(change) = change.as_mut() {
                patch(&mut change.record);
            }
            Ok(change)
        })
        .await
    }

    /// Commits what `plan` decides for the current record with compare-and-set; on a conflict
    /// or an unknown write outcome, reloads and plans again.
    async fn commit_planned(
        &self,
        mut record: TransactionRecord,
        event: Event,
        cause: &str,
        plan: impl Fn(&TransactionRecord, i64) -> Result<Option<Change>, IllegalTransition>,
    ) -> Result<TransactionRecord, StoreError> {
        for _ in 0..8 {
            let change = match plan(&record, self.now_ms()) {
                Ok(Some(change)) => change,
                Ok(None) => return Ok(record),
                Err(illegal) => {
                    warn!(%illegal, journal_id = record.journal_id(), "illegal transition ignored");
                    metrics::counter!(metric::ILLEGAL, "event" => event.name()).increment(1);
                    return Ok(record);
                }
            };
            match self.journal.commit(&change).await {
                Ok(CommitOutcome::Committed) => {
                    info!(
                        journal_id = change.record.journal_id(),
                        from = record.state.as_str(),
                        to = change.record.state.as_str(),
                        event = event.name(),
                        cause,
                        "transition"
                    );
                    return Ok(change.record);
                }
                Ok(CommitOutcome::Conflict(Some(current))) => record = *current,
                Ok(CommitOutcome::Conflict(None)) => {
                    return Err(StoreError::Corrupt(format!(
                        "record {} vanished",
                        record.journal_id()
                    )));
                }
                Err(StoreError::Indeterminate(why)) => {
                    // The write may have happened: re-read and decide again.
                    warn!(%why, "journal write indeterminate: re-reading");
                    match self.journal.load(&record.tag, record.journal_id()).await? {
                        Some(current) => record = current,
                        None => return Err(StoreError::Indeterminate(why)),
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Unavailable(
            "too many concurrent changes to one transaction".into(),
        ))
    }

    /// Answers the terminal from the journal's view of the transaction. Approvals go through
    /// the delivery protocol: marked `Sending` (handed over) before the write; only a failed
    /// write is journaled after it.
    ///
    /// `own_approval` is true when `record` is the result of this request's own approval write:
    /// then a `Sending` mark in it was committed by that write (after the delivery deadline was
    /// checked) and the approval must now be written, or the mark would promise the sweeper a
    /// delivery that never happens.
    async fn answer_with_record(
        &self,
        record: TransactionRecord,
        received_ms: i64,
        reply: Box<dyn Reply>,
        own_approval: bool,
    ) -> Answer {
        let answer = Answer::from_record(&record);
        if !answer.is_approval() {
            return send_plain(reply, answer).await;
        }
        let marked_here = own_approval && record.delivery == Delivery::Sending;
        if !marked_here && self.now_ms() >= self.send_by(&record, received_ms) {
            // The terminal has given up (or the sweeper is about to run): an approval now could
            // be read as delivered while the terminal treats it as failed. Leave it undelivered;
            // the sweeper cancels it.
            warn!("approval too late to deliver: leaving it to active cancellation");
            return send_plain(reply, Answer::from_state_unavailable(&record)).await;
        }
        // Already marked when `marked_here` (then this writes nothing). Whether this request's
        // own commit made the mark decides what a failed write means below.
        let marked_now = AtomicBool::new(false);
        let sending = match self
            .commit_planned(
                record.clone(),
                Event::DeliveryStarted,
                "sending approval",
                |current, now| {
                    let change =
                        plan_change(current, Event::DeliveryStarted, now, "sending approval")?;
                    marked_now.store(change.is_some(), Ordering::Relaxed);
                    Ok(change)
                },
            )
            .await
        {
            Ok(r) => r,
            Err(error) => {
                warn!(%error, "could not mark the approval as sending: not delivering it");
                return send_plain(reply, Answer::from_state_unavailable(&record)).await;
            }
        };
        if sending.state != TxnState::Approved {
            // A reversal or the sweeper won the race: answer what the journal now says.
            return send_plain(reply, Answer::from_record(&sending)).await;
        }
        let answer = Answer::from_record(&sending);
        if reply.send(&answer).await.is_err() {
            if marked_here || marked_now.load(Ordering::Relaxed) {
                warn!(
                    "approval could not be delivered: it will be cancelled at the gateway deadline"
                );
                self.record_failed_delivery(sending).await;
            } else {
                // A re-send of an approval an earlier write already handed over: the terminal may
                // hold that one, so this failure proves nothing and must not un-hand it. A
                // terminal that got neither reverses on its own timeout.
                warn!("re-sent approval could not be written: the earlier hand-over stands");
            }
        }
        answer
    }

    /// Records that the approval did not reach the terminal, which puts it back under the
    /// sweeper's watch.
    ///
    /// Until this commits the record says `SENDING` (handed over, not watched), so it is retried
    /// for as long as the payment can matter (its expiry); if the gateway deadline has passed
    /// by then, the cancel is requested here rather than at the sweeper's next pass.
    async fn record_failed_delivery(&self, sending: TransactionRecord) {
        let give_up_at = sending.payment_expiry_ms;
        let mut pause = Duration::from_millis(50);
        let recorded = loop {
            match self
                .apply(
                    sending.clone(),
                    Event::DeliveryFailed,
                    "approval write failed",
                    |_| {},
                )
                .await
            {
                Ok(record) => break record,
                Err(error) if self.now_ms() + 200 < give_up_at => {
                    warn!(%error, "could not record the failed approval write yet: retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(error) => {
                    warn!(%error, "could not record the failed approval write");
                    return;
                }
            }
        };
        if recorded.state == TxnState::Approved
            && recorded.delivery == Delivery::Undelivered
            && self.now_ms() >= recorded.gateway_deadline_ms
        {
            // Due already: do not wait for the sweeper's next pass.
            if let Err(error) = self
                .apply(
                    recorded,
                    Event::GatewayDeadline,
                    "undelivered after the gateway deadline",
                    |_| {},
                )
                .await
            {
                warn!(%error, "could not queue the cancel of an undelivered approval");
            }
        }
    }

    /// A re-sent request whose key is already journaled.
    async fn duplicate(
        &self,
        existing: TransactionRecord,
        content_digest: &str,
        received_ms: i64,
        reply: Box<dyn Reply>,
    ) -> Answer {
        if existing.content_digest != content_digest {
            info!(
                journal_id = existing.journal_id(),
                "same key, different content: 94"
            );
            return send_plain(reply, Answer::rejected(rc::DUPLICATE, "DUPLICATE_KEY")).await;
        }
        let timing = &self.settings.timing;
        let wait_until = received_ms + timing.response_deadline_ms;
        let mut record = existing;
        while record.state.is_in_flight() && self.now_ms() < wait_until {
            tokio::time::sleep(Duration::from_millis(
                u64::try_from(timing.duplicate_poll_ms).unwrap_or(200),
            ))
            .await;
            match self.journal.load(&record.tag, record.journal_id()).await {
                Ok(Some(fresh)) => record = fresh,
                Ok(None) | Err(_) => break,
            }
        }
        info!(
            journal_id = record.journal_id(),
            state = record.state.as_str(),
            "replaying to a duplicate"
        );
        self.answer_with_record(record, received_ms, reply, false)
            .await
    }

    // -----------------------------------------------------------------------------------------
    // Reversals

    /// A reversal request (0400/0401) or advice (0420/0421): acknowledged once the cancel is
    /// durably queued, even for an original never seen.
    pub async fn reverse(&self, request: ReversalRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let flow = if request.advice { "advice" } else { "reversal" };
        let _in_flight = InFlight::enter(flow);
        let span = info_span!("reversal", terminal_id = %request.original_key.terminal_id,
            stan = %request.original_key.stan, advice = request.advice);
        let answer = self.reverse_inner(&request).instrument(span).await;
        let answer = send_plain(reply, answer).await;
        record_outcome(flow, started, &answer);
    }

    async fn reverse_inner(&self, request: &ReversalRequest) -> Answer {
        let reason = if request.advice {
            CancelReason::ReversalAdvice
        } else {
            CancelReason::ReversalRequest
        };
        if request.original_processing_code != "000000" {
            // A void or refund cannot be undone at Antom: acknowledge, surface for reconciliation.
            warn!(processing_code = %request.original_processing_code,
                "reversal of a non-purchase acknowledged without action: reconcile manually");
            metrics::counter!("antom_switch_core_unreversible_reversals_total").increment(1);
            return Answer::rejected(rc::APPROVED, "NOT_REVERSIBLE_ACKNOWLEDGED");
        }
        let Some(year) = infer_year(&request.original_key.local_date, self.today()) else {
            return Answer::rejected(rc::FORMAT_ERROR, "F13 is not a date");
        };
        let dated = DatedKey {
            key: &request.original_key,
            year,
        };
        let tag = self.ids.key_tag(&dated);
        let dedup = dated.dedup_string();
        let existing = match self.journal.load_by_dedup_key(&tag, &dedup).await {
            Ok(r) => r,
            Err(error) => return store_down("reversal", &error),
        };
        let record = match existing {
            Some(record) => record,
            None => {
                let Some(merchant) = self.merchants.merchant(&request.original_key.merchant_id)
                else {
                    // Nothing can have been sent for an unknown merchant.
                    return Answer::rejected(rc::APPROVED, "UNKNOWN_ORIGINAL_ACKNOWLEDGED");
                };
                let now = self.now_ms();
                let timing = &self.settings.timing;
                let prid = self.ids.payment_request_id(&dated, request.amount_minor);
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
                |r| {
                    r.response_code
                        .get_or_insert_with(|| rc::UNAVAILABLE.to_string());
                },
            )
            .await
        {
            Ok(record) => self.reversal_ack(Some(&record)),
            Err(error) => store_down("reversal", &error),
        }
    }

    fn reversal_ack(&self, record: Option<&TransactionRecord>) -> Answer {
        let mut answer = Answer::rejected(rc::APPROVED, "REVERSAL_ACCEPTED");
        answer.class = OutcomeClass::Approved;
        if let Some(r) = record {
            answer.rrn = Some(r.rrn.clone());
            answer.payment_request_id = Some(r.payment_request_id.clone());
        }
        answer
    }

    // -----------------------------------------------------------------------------------------
    // Void, refund, status inquiry

    /// Locates the purchase a void/refund/inquiry refers to, scoped to its sender: the one
    /// lookup every follow-up goes through. A payment the sender has no authority over (another
    /// merchant's, or another terminal's outside the merchant's `follow_ups` scope), or one
    /// whose references disagree (a `PI` or RRN of another payment beside the `PR`), is `None`:
    /// exactly what an original that does not exist gives, so the answer is no oracle.
    ///
    /// `PR` names any payment of the journal; the RRN is unique per terminal only, so it names
    /// the sender's own purchases; `PI` (Antom's id) alone names nothing, since the journal is
    /// not indexed by it: it only confirms what `PR` or the RRN found.
    async fn find_original(
        &self,
        sender: &TerminalKey,
        original: &OriginalRef,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let found = match self.lookup_original(sender, original).await? {
            Some(record) => record,
            None => return Ok(None),
        };
        let owner = &found.terminal_key;
        let authorised = found.kind == TxnKind::Purchase
            && self.merchants.may_follow_up(
                &sender.merchant_id,
                &sender.terminal_id,
                &owner.merchant_id,
                &owner.terminal_id,
            );
        let consistent = original
            .payment_id
            .as_deref()
            .is_none_or(|pi| found.payment_id.as_deref() == Some(pi.trim()))
            && original
                .rrn
                .as_deref()
                .is_none_or(|rrn| found.rrn.trim() == rrn.trim());
        if authorised && consistent {
            Ok(Some(found))
        } else {
            if !authorised {
                metrics::counter!(metric::OUT_OF_SCOPE).increment(1);
                info!(
                    terminal_id = %sender.terminal_id,
                    "follow-up names a payment outside its scope: answered as unknown"
                );
            }
            Ok(None)
        }
    }

    async fn lookup_original(
        &self,
        sender: &TerminalKey,
        original: &OriginalRef,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        if let Some(prid) = original.payment_request_id.as_deref() {
            let id = PaymentRequestId::new(prid);
            return match id.key_tag() {
                Some(tag) => self.journal.load(tag, prid).await,
                None => Ok(None),
            };
        }
        if let Some(rrn_value) = original.rrn.as_deref()
            && let Some((local_date, year, stan)) = parse_rrn(rrn_value, self.today())
        {
            let key = TerminalKey {
                merchant_id: sender.merchant_id.clone(),
                terminal_id: sender.terminal_id.clone(),
                local_date,
                local_time: String::new(),
                stan,
            };
            let dated = DatedKey { key: &key, year };
            let tag = self.ids.key_tag(&dated);
            return self
                .journal
                .load_by_dedup_key(&tag, &dated.dedup_string())
                .await;
        }
        Ok(None)
    }

    /// A void (0200 `020000`): cancel of the original through the SAF queue, acknowledged once
    /// durably queued.
    pub async fn void(&self, request: VoidRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _in_flight = InFlight::enter("void");
        let span =
            info_span!("void", terminal_id = %request.key.terminal_id, stan = %request.key.stan);
        let answer = self.void_inner(&request).instrument(span).await;
        let answer = send_plain(reply, answer).await;
        record_outcome("void", started, &answer);
    }

    async fn void_inner(&self, request: &VoidRequest) -> Answer {
        if let Err(e) = self
            .merchants
            .lookup(&request.key.merchant_id, &request.key.terminal_id)
        {
            return merchant_answer(e);
        }
        let original = match self.find_original(&request.key, &request.original).await {
            Ok(Some(r)) => r,
            Ok(None) => return Answer::rejected(rc::NOT_FOUND, "ORIGINAL_NOT_FOUND"),
            Err(error) => return store_down("void", &error),
        };
        if original.amount_minor != request.amount_minor {
            return Answer::rejected(rc::INVALID_AMOUNT, "AMOUNT_DIFFERS_FROM_ORIGINAL");
        }
        if original.state == TxnState::Declined {
            return Answer::rejected(rc::INVALID_TRANSACTION, "ORIGINAL_DECLINED");
        }
        let own_rrn = infer_year(&request.key.local_date, self.today()).and_then(|year| {
            rrn(&DatedKey {
                key: &request.key,
                year,
            })
        });
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
            Ok(_) if refunded.load(Ordering::Relaxed) => {
                Answer::rejected(rc::INVALID_TRANSACTION, "ORIGINAL_REFUNDED_USE_REFUND")
            }
            Ok(record) if record.state.is_reversing() || record.state == TxnState::Failed => {
                let mut answer = self.reversal_ack(Some(&record));
                answer.rrn = own_rrn;
                answer.payment_id = record.payment_id.clone();
                answer
            }
            Ok(_) => Answer::rejected(rc::INVALID_TRANSACTION, "NOT_VOIDABLE"),
            Err(error) => store_down("void", &error),
        }
    }

    /// A refund (0200 `200000`), full or partial, idempotent by its own key.
    pub async fn refund(&self, request: RefundRequest, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _in_flight = InFlight::enter("refund");
        let span =
            info_span!("refund", terminal_id = %request.key.terminal_id, stan = %request.key.stan);
        let answer = self.refund_inner(request, reply).instrument(span).await;
        record_outcome("refund", started, &answer);
    }

    async fn refund_inner(&self, request: RefundRequest, reply: Box<dyn Reply>) -> Answer {
        let received_ms = self.now_ms();
        let (merchant, terminal) = match self
            .merchants
            .lookup(&request.key.merchant_id, &request.key.terminal_id)
        {
            Ok(found) => found,
            Err(e) => return send_plain(reply, merchant_answer(e)).await,
        };
        if !terminal.refunds {
            return send_plain(
                reply,
                Answer::rejected(rc::NOT_PERMITTED_TERMINAL, "REFUNDS_DISABLED"),
            )
            .await;
        }
        let amount = match Money::from_iso(request.amount_minor, request.currency_numeric) {
            Ok(a) => a,
            Err(e) => {
                return send_plain(reply, Answer::rejected(rc::INVALID_AMOUNT, e.to_string()))
                    .await;
            }
        };
        let Some(year) = infer_year(&request.key.local_date, self.today()) else {
            return send_plain(
                reply,
                Answer::rejected(rc::FORMAT_ERROR, "F13 is not a date"),
            )
            .await;
        };
        let original = match self.find_original(&request.key, &request.original).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                return send_plain(reply, Answer::rejected(rc::NOT_FOUND, "ORIGINAL_NOT_FOUND"))
                    .await;
            }
            Err(error) => return send_plain(reply, store_down("refund", &error)).await,
        };
        if original.currency_numeric != request.currency_numeric {
            return send_plain(
                reply,
                Answer::rejected(rc::INVALID_AMOUNT, "CURRENCY_DIFFERS_FROM_ORIGINAL"),
            )
            .await;
        }
        let Some(payment_id) = original.payment_id.clone() else {
            return send_plain(
                reply,
                Answer::rejected(rc::INVALID_TRANSACTION, "ORIGINAL_NOT_APPROVED"),
            )
            .await;
        };
        let original_prid = original.payment_request_id.clone();
        let dated = DatedKey {
            key: &request.key,
            year,
        };
        let refund_id = self.ids.refund_request_id(&dated, request.amount_minor);
        let record = match self.new_record(
            TxnKind::Refund,
            &dated,
            original_prid,
            Some(refund_id.clone()),
            &merchant,
            amount,
            None,
            &request.content_digest,
            received_ms,
        ) {
            Ok(mut r) => {
                r.payment_id = Some(payment_id.clone());
                r
            }
            Err(answer) => return send_plain(reply, *answer).await,
        };
        // The hold on the original comes first: once the refund record exists, the sweeper
        // may complete it through the queue, and by then the original must already count it.
        match self
            .hold_refund(original, &refund_id, amount.minor_units)
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(HoldRefused::NotApproved)) => {
                return send_plain(
                    reply,
                    Answer::rejected(rc::INVALID_TRANSACTION, "ORIGINAL_NOT_APPROVED"),
                )
                .await;
            }
            Ok(Err(HoldRefused::Exceeds)) => {
                return send_plain(
                    reply,
                    Answer::rejected(rc::INVALID_AMOUNT, "REFUND_EXCEEDS_PAYMENT"),
                )
                .await;
            }
            Err(error) => return send_plain(reply, store_down("refund", &error)).await,
        }
        match self.journal.begin(&record).await {
            Err(error) => return send_plain(reply, store_down("refund", &error)).await,
            Ok(BeginOutcome::Tombstoned) => {
                self.release_refund_hold(&record).await;
                return send_plain(reply, Answer::rejected(rc::INVALID_TRANSACTION, "REVERSED"))
                    .await;
            }
            Ok(BeginOutcome::Existing(existing)) => {
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
        let mut record = record;
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
                    let code = rc::for_antom_failure(&result_code);
                    record = self
                        .settle(record, Event::Failed, "refund answered F", |r| {
                            r.response_code = Some(code.to_string());
                            r.result_code = Some(result_code.clone());
                        })
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
                                |r| r.response_code = Some(rc::UNAVAILABLE.to_string()),
                            )
                            .await;
                        break;
                    }
                    tokio::time::sleep(retry_every).await;
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
    async fn hold_refund(
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
    async fn release_refund_hold(&self, refund: &TransactionRecord) {
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

    /// A status inquiry (0100 `900000`): answered from the journal, refreshed from Antom when
    /// the outcome is not final. An approval learned this way is delivered like any other.
    pub async fn status(&self, request: StatusInquiry, reply: Box<dyn Reply>) {
        let started = Instant::now();
        let _in_flight = InFlight::enter("inquiry");
        let span = info_span!("status_inquiry", terminal_id = %request.key.terminal_id, stan = %request.key.stan);
        let answer = self.status_inner(request, reply).instrument(span).await;
        record_outcome("inquiry", started, &answer);
    }

    async fn status_inner(&self, request: StatusInquiry, reply: Box<dyn Reply>) -> Answer {
        let received_ms = self.now_ms();
        if let Err(e) = self
            .merchants
            .lookup(&request.key.merchant_id, &request.key.terminal_id)
        {
            return send_plain(reply, merchant_answer(e)).await;
        }
        let mut record = match self.find_original(&request.key, &request.original).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return send_plain(reply, Answer::rejected(rc::NOT_FOUND, "ORIGINAL_NOT_FOUND"))
                    .await;
            }
            Err(error) => return send_plain(reply, store_down("inquiry", &error)).await,
        };
        if record.state.is_in_flight() && record.kind == TxnKind::Purchase {
            let inquiry = InquiryCommand {
                client: record.client.clone(),
                payment_request_id: record.payment_request_id.clone(),
            };
            if let UpstreamOutcome::Success(report) = self.upstream.inquire_payment(&inquiry).await
            {
                match report.status {
                    PaymentStatus::Success => {
                        let approval = self.ids.approval_code(&record.payment_request_id);
                        record = self
                            .settle(record, Event::Succeeded, "status inquiry SUCCESS", |r| {
                                r.payment_id = report.payment_id.clone().or(r.payment_id.take());
                                r.approval_code = Some(approval.clone());
                            })
                            .await;
                    }
                    PaymentStatus::Fail | PaymentStatus::Cancelled => {
                        let result_code = report.result_code.clone().unwrap_or_default();
                        let code = rc::for_antom_failure(&result_code);
                        record = self
                            .settle(record, Event::Failed, "status inquiry FAIL", |r| {
                                r.response_code = Some(code.to_string());
                                r.result_code = Some(result_code.clone());
                            })
                            .await;
                    }
                    PaymentStatus::Processing => {}
                }
            }
        }
        if record.kind == TxnKind::Purchase {
            self.answer_with_record(record, received_ms, reply, false)
                .await
        } else {
            send_plain(reply, Answer::from_record(&record)).await
        }
    }

    // -----------------------------------------------------------------------------------------
    // Notifications

    /// Applies a verified `notifyPayment` (SUCCESS) through the same transition as an inquiry.
    pub async fn apply_payment_notification(
        &self,
        payment_request_id: &str,
        payment_id: Option<String>,
        amount: Option<(u64, String)>,
        wallet: Option<String>,
    ) -> Result<NotifyOutcome, StoreError> {
        let id = PaymentRequestId::new(payment_request_id);
        let Some(tag) = id.key_tag() else {
            return Ok(NotifyOutcome::Unknown);
        };
        let Some(record) = self.journal.load(tag, payment_request_id).await? else {
            return Ok(NotifyOutcome::Unknown);
        };
        if record.kind != TxnKind::Purchase {
            return Ok(NotifyOutcome::Unknown);
        }
        match &amount {
            Some((value, currency))
                if *value == record.amount_minor && *currency == record.currency => {}
            _ => {
                warn!(
                    journal_id = record.journal_id(),
                    "notification amount/currency differ from the journal: not applied"
                );
                return Ok(NotifyOutcome::Mismatch);
            }
        }
        let before = record.state;
        let approval = self.ids.approval_code(&record.payment_request_id);
        let after = self
            .apply(record, Event::Succeeded, "notifyPayment SUCCESS", |r| {
                r.payment_id = payment_id.clone().or(r.payment_id.take());
                r.wallet = wallet.clone().or(r.wallet.take());
                r.approval_code = Some(approval.clone());
                r.result_code = Some("SUCCESS".into());
            })
            .await?;
        if after.state != before {
            Ok(NotifyOutcome::Applied)
        } else {
            Ok(NotifyOutcome::Ignored)
        }
    }
}

struct PreparedPurchase {
    record: TransactionRecord,
    command: PayCommand,
}

impl Answer {
    fn from_state_unavailable(record: &TransactionRecord) -> Self {
        let mut answer = Answer::from_record(record);
        answer.response_code = rc::UNAVAILABLE;
        answer.class = OutcomeClass::TimedOut;
        answer.approval_code = None;
        answer
    }
}

async fn send_plain(reply: Box<dyn Reply>, answer: Answer) -> Answer {
    if reply.send(&answer).await.is_err() {
        info!(
            response_code = answer.response_code,
            "terminal gone before the answer"
        );
    }
    answer
}

fn store_down(flow: &'static str, error: &StoreError) -> Answer {
    warn!(%error, flow, "journal unavailable");
    metrics::counter!(metric::STORE_FAILURES, "flow" => flow).increment(1);
    Answer::rejected(rc::SYSTEM_ERROR, "STORE_UNAVAILABLE")
}

fn merchant_answer(error: MerchantError) -> Answer {
    match error {
        MerchantError::UnknownMerchant => {
            Answer::rejected(rc::INVALID_MERCHANT, "UNKNOWN_MERCHANT")
        }
        MerchantError::UnknownTerminal => {
            Answer::rejected(rc::NOT_PERMITTED_TERMINAL, "UNKNOWN_TERMINAL")
        }
        MerchantError::TerminalDisabled => {
            Answer::rejected(rc::NOT_PERMITTED_TERMINAL, "TERMINAL_DISABLED")
        }
    }
}

/// The terminal's local request time from F13/F12, the inferred year and the store's offset.
fn terminal_time(key: &TerminalKey, year: i32, utc_offset_minutes: i16) -> Option<OffsetDateTime> {
    let month: u8 = key.local_date.get(..2)?.parse().ok()?;
    let day: u8 = key.local_date.get(2..4)?.parse().ok()?;
    let hour: u8 = key.local_time.get(..2)?.parse().ok()?;
    let minute: u8 = key.local_time.get(2..4)?.parse().ok()?;
    let second: u8 = key.local_time.get(4..6)?.parse().ok()?;
    let date = Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    let offset = UtcOffset::from_whole_seconds(i32::from(utc_offset_minutes) * 60).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn ms_to_datetime(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// Masks a payment code for logs (re-exported for adapters that only have a `&str`).
pub fn masked(code: &str) -> String {
    mask_middle(code)
}
