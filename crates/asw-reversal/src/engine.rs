//! The engine: SAF consumers that settle each queued cancel or refund at Antom, and the deadline
//! sweeper. Everything goes through the core's ports; every outcome lands in the journal through
//! `plan_change` + `commit` before the queue entry is acknowledged, so a crash between the two
//! only causes a re-read that finds the journal already settled.

use std::sync::Arc;

use asw_core::commit::{Committed, commit_planned};
use asw_core::domain::TxnKind;
use asw_core::ports::{
    CancelCommand, Clock, ClosingLook, InquiryCommand, Journal, PaymentStatus, RefundCommand,
    StoreError, Upstream, UpstreamOutcome,
};
use asw_core::record::{SafAction, SafEntry, TransactionRecord, plan_change};
use asw_core::saf::{SafMessage, SafQueue};
use asw_core::skew::ClockSkew;
use asw_core::state::{Event, TxnState};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::EngineConfig;
use crate::policy::{RetryDecision, next_attempt};

/// Why handling an entry stopped before it was settled. The entry stays pending in the queue
/// and is handled again later (by this consumer's next read or by a claim).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed; retrying later is safe.
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
    /// The record kept changing under us; retrying later is safe.
    #[error("record {0} kept changing; will retry")]
    Contended(String),
}

/// What became of one SAF entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Antom settled it (or there was nothing to do); journal updated and entry acknowledged.
    Settled,
    /// The journal shows it is no longer needed; acknowledged without calling Antom.
    Obsolete,
    /// Too early (the original call may be in flight): rescheduled for this time.
    Deferred(i64),
    /// Rescheduled after an unsettled attempt.
    Retried(i64),
    /// Given up: in the dead-letter stream, journal marked failed.
    DeadLettered(String),
}

impl Disposition {
    fn label(&self) -> &'static str {
        match self {
            Disposition::Settled => "settled",
            Disposition::Obsolete => "obsolete",
            Disposition::Deferred(_) => "deferred",
            Disposition::Retried(_) => "retried",
            Disposition::DeadLettered(_) => "dead_lettered",
        }
    }
}

/// What a journal update did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Committed; the new state and the queued action, if any.
    Committed(TxnState, Option<&'static str>),
    /// The table says nothing changes (already there).
    Unchanged,
    /// The table rejects the event in the current state (logged).
    Rejected,
    /// No record (expired or never written).
    Missing,
}

/// The reversal engine. Share it in an `Arc`; [`ReversalEngine::start`] runs its tasks.
pub struct ReversalEngine {
    upstream: Arc<dyn Upstream>,
    journal: Arc<dyn Journal>,
    queue: Arc<dyn SafQueue>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    closing_look: Option<Arc<dyn ClosingLook>>,
    /// Every instant the engine judges (a closing time, the end of a pay call, a payment's
    /// expiry) was read from another clock: it counts as passed only once it has passed on
    /// every clock within this tolerance.
    skew: ClockSkew,
}

impl std::fmt::Debug for ReversalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReversalEngine")
            .field("instance", &self.config.instance)
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Settle(Event, String),
    Retry(String),
    GiveUp(String),
    /// Answered, but nothing for the journal (tombstones, or a replay of a failed record).
    Done,
}

impl ReversalEngine {
    /// Builds an engine over the ports.
    pub fn new(
        upstream: Arc<dyn Upstream>,
        journal: Arc<dyn Journal>,
        queue: Arc<dyn SafQueue>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Self {
        Self {
            upstream,
            journal,
            queue,
            clock,
            config,
            closing_look: None,
            skew: ClockSkew::default(),
        }
    }

    /// The clock-skew tolerance (`timing.max_clock_skew_ms`; default 500 ms) the engine allows
    /// for when it judges an instant another instance's clock wrote.
    #[must_use]
    pub fn with_clock_skew(mut self, skew: ClockSkew) -> Self {
        self.skew = skew;
        self
    }

    /// Lets the sweeper ask `look` (the core) for a last inquiry at Antom before it closes an
    /// online payment, so a buyer whose success notification was lost is reported paid
    /// instead of being cancelled and refunded.
    #[must_use]
    pub fn with_closing_look(mut self, look: Arc<dyn ClosingLook>) -> Self {
        self.closing_look = Some(look);
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Consumer name of task `n`.
    pub fn consumer_name(&self, n: usize) -> String {
        format!("{}-{n}", self.config.instance)
    }

    /// Spawns the consumers, the retry promoter and the deadline sweeper on a tracker. Cancel
    /// `token` and `wait()` the returned (closed) tracker to stop: an entry being handled when
    /// the token fires is finished first; one not yet acknowledged stays pending and is re-read.
    pub fn start(self: &Arc<Self>, token: CancellationToken) -> TaskTracker {
        let tracker = TaskTracker::new();
        for n in 0..self.config.consumers {
            let engine = Arc::clone(self);
            let token = token.clone();
            tracker.spawn(async move { engine.consume(n, token).await });
        }
        let engine = Arc::clone(self);
        let promote_token = token.clone();
        tracker.spawn(async move { engine.promote_loop(promote_token).await });
        let engine = Arc::clone(self);
        tracker.spawn(async move { engine.sweep_loop(token).await });
        tracker.close();
        tracker
    }

    async fn pause(&self, token: &CancellationToken, ms: u64) -> bool {
        tokio::select! {
            _ = token.cancelled() => false,
            _ = self.clock.sleep(EngineConfig::ms(ms)) => true,
        }
    }

    async fn consume(&self, n: usize, token: CancellationToken) {
        let consumer = self.consumer_name(n);
        let block = EngineConfig::ms(self.config.fetch_block_ms);
        let mut last_claim: Option<tokio::time::Instant> = None;
        tracing::info!(consumer = %consumer, "SAF consumer started");
        while !token.is_cancelled() {
            let claim_due = last_claim
                .is_none_or(|t| t.elapsed() >= EngineConfig::ms(self.config.claim_interval_ms));
            let batch = if claim_due {
                last_claim = Some(tokio::time::Instant::now());
                self.queue
                    .claim_stale(
                        &consumer,
                        EngineConfig::ms(self.config.claim_idle_ms),
                        self.config.fetch_batch,
                    )
                    .await
            } else {
                Ok(Vec::new())
            };
            // The read is awaited even when the token fires during it: dropping a blocked
            // XREADGROUP leaves it blocked in Redis, which then hands the next entry to a reader
            // nobody is listening to. The wait is bounded by `fetch_block_ms`.
            let batch = match batch {
                Ok(claimed) if !claimed.is_empty() => Ok(claimed),
                Ok(_) => {
                    self.queue
                        .fetch(&consumer, self.config.fetch_batch, block)
                        .await
                }
                Err(e) => Err(e),
            };
            match batch {
                Ok(messages) => {
                    let mut messages = messages.into_iter();
                    while let Some(message) = messages.next() {
                        if token.is_cancelled() {
                            let rest: Vec<SafMessage> =
                                std::iter::once(message).chain(messages).collect();
                            self.release(&consumer, &rest).await;
                            break;
                        }
                        match self.handle(&message).await {
                            Ok(_) => {}
                            Err(EngineError::Store(StoreError::Corrupt(reason))) => {
                                // Unreadable journal data does not get better by retrying.
                                let reason = format!("unreadable journal data: {reason}");
                                if let Err(e) = self.queue.dead_letter(&message, &reason).await {
                                    tracing::warn!(
                                        "dead-lettering an unreadable entry failed: {e}"
                                    );
                                }
                            }
                            Err(e) => {
                                tracing::warn!(
                                    journal_id = %message.entry.journal_id,
                                    "SAF entry left pending: {e}"
                                );
                                if !self.pause(&token, self.config.store_retry_ms).await {
                                    let rest: Vec<SafMessage> = messages.collect();
                                    self.release(&consumer, &rest).await;
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(consumer = %consumer, "SAF read failed: {e}");
                    if !self.pause(&token, self.config.store_retry_ms).await {
                        break;
                    }
                }
            }
        }
        tracing::info!(consumer = %consumer, "SAF consumer stopped");
    }

    /// Entries held but not to be handled (stopping): marked idle past `claim_idle_ms` so a
    /// running instance claims them on its next pass. If that fails they are still queued and
    /// are claimed once really idle, or re-read by this consumer after a restart.
    async fn release(&self, consumer: &str, messages: &[SafMessage]) {
        if messages.is_empty() {
            return;
        }
        let idle = EngineConfig::ms(self.config.claim_idle_ms.saturating_add(1_000));
        match self.queue.release(consumer, messages, idle).await {
            Ok(()) => tracing::info!(
                consumer,
                entries = messages.len(),
                "stopping: SAF entries handed back for another instance to claim"
            ),
            Err(e) => tracing::warn!(
                consumer,
                entries = messages.len(),
                "stopping: handing SAF entries back failed ({e}); they stay pending"
            ),
        }
    }

    async fn promote_loop(&self, token: CancellationToken) {
        while self.pause(&token, self.config.promote_interval_ms).await {
            let now = self.clock.now_ms();
            if let Err(e) = self.queue.promote_due(now, 500).await {
                tracing::warn!("promoting due SAF retries failed: {e}");
            }
            // Refreshes the depth/age/dead-letter gauges.
            if let Err(e) = self.queue.stats(now).await {
                tracing::debug!("SAF stats failed: {e}");
            }
        }
    }

    async fn sweep_loop(&self, token: CancellationToken) {
        while self.pause(&token, self.config.sweep_interval_ms).await {
            if let Err(e) = self.sweep_once().await {
                tracing::warn!("deadline sweep failed: {e}");
            }
        }
    }

    /// One pass of the deadline sweeper (active cancellation): every transaction past its
    /// gateway deadline gets `GatewayDeadline`; the table decides (cancel unless it is a
    /// an approval handed to the terminal or a settled failure). Returns how many transactions it looked at.
    pub async fn sweep_once(&self) -> Result<usize, EngineError> {
        // A closing time another instance wrote is due only once it has passed on every clock
        // within the tolerance: a sweeper whose clock runs ahead must not close early.
        let horizon = self.skew.horizon(self.clock.now_ms());
        let due = self
            .journal
            .due_for_sweep(horizon, self.config.sweep_batch)
            .await?;
        let count = due.len();
        for (tag, journal_id) in due {
            if let Some(look) = &self.closing_look
                && look.last_look(&tag, &journal_id).await
            {
                metrics::counter!(crate::metrics::SWEEPER_ACTIONS_TOTAL, "action" => "settled_by_inquiry")
                    .increment(1);
                continue;
            }
            let outcome = self
                .settle(
                    &tag,
                    &journal_id,
                    Event::GatewayDeadline,
                    "gateway deadline passed",
                )
                .await;
            let action = match &outcome {
                Ok(Settled::Committed(_, Some(queued))) => {
                    if *queued == "cancel" {
                        "cancel_queued"
                    } else {
                        "refund_queued"
                    }
                }
                Ok(Settled::Committed(_, None)) => "cleared",
                Ok(Settled::Unchanged | Settled::Rejected | Settled::Missing) => "unchanged",
                Err(_) => "failed",
            };
            metrics::counter!(crate::metrics::SWEEPER_ACTIONS_TOTAL, "action" => action)
                .increment(1);
            if let Err(e) = outcome {
                // The lease brings it back; nothing is lost.
                tracing::warn!(journal_id = %journal_id, "sweep of a transaction failed: {e}");
            }
        }
        Ok(count)
    }

    /// One promotion pass of due retries (what the promoter task does periodically).
    pub async fn promote_once(&self) -> Result<usize, EngineError> {
        Ok(self.queue.promote_due(self.clock.now_ms(), 500).await?)
    }

    /// Applies `event` to a record: load, plan with the core's table, compare-and-set; on a
    /// conflict or an unknown write outcome, reload and decide again — the core's one commit
    /// loop ([`asw_core::commit::commit_planned`]).
    pub async fn settle(
        &self,
        tag: &str,
        journal_id: &str,
        event: Event,
        cause: &str,
    ) -> Result<Settled, EngineError> {
        let Some(record) = self.journal.load(tag, journal_id).await? else {
            tracing::warn!(
                journal_id,
                event = event.name(),
                "no journal record to update"
            );
            return Ok(Settled::Missing);
        };
        let now = || self.clock.now_ms();
        let plan =
            |current: &TransactionRecord, now_ms: i64| plan_change(current, event, now_ms, cause);
        let attempts = self.config.commit_retries.saturating_add(1);
        match commit_planned(&*self.journal, now, record, event, cause, attempts, plan).await {
            Ok(Committed::Written(change)) => Ok(Settled::Committed(
                change.record.state,
                change.enqueue.as_ref().map(|e| e.action.name()),
            )),
            Ok(Committed::Unchanged(_)) => Ok(Settled::Unchanged),
            Ok(Committed::Illegal(_)) => Ok(Settled::Rejected),
            Ok(Committed::Vanished) => Ok(Settled::Missing),
            Ok(Committed::Contended(_)) => Err(EngineError::Contended(journal_id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Handles one SAF entry to a disposition. On `Err` the entry is left pending.
    pub async fn handle(&self, message: &SafMessage) -> Result<Disposition, EngineError> {
        let entry = &message.entry;
        let action = entry.action.name();
        let record = if entry.tombstone {
            None
        } else {
            self.journal.load(&entry.tag, &entry.journal_id).await?
        };
        if let Some(record) = &record
            && !still_needed(entry, record)
        {
            tracing::info!(
                journal_id = %entry.journal_id,
                action,
                state = record.state.as_str(),
                "SAF entry no longer needed; acknowledged"
            );
            self.queue.ack(message).await?;
            return Ok(self.count(action, Disposition::Obsolete));
        }
        let now = self.clock.now_ms();
        // A cancel must never overtake its pay: wait until the call is over, unless the journal
        // shows it was answered (the core lowers call_over_at_ms then). The end of the call was
        // read by the paying instance's clock: wait until it has passed on every clock within
        // the tolerance.
        let not_before = match &record {
            Some(record) => entry.not_before_ms.min(record.call_over_at_ms),
            None => entry.not_before_ms,
        };
        if !self.skew.surely_past(now, not_before) {
            let at = not_before.saturating_add(self.skew.ms());
            self.queue
                .retry_at(message, at, "waiting for the original call to end")
                .await?;
            return Ok(self.count(action, Disposition::Deferred(at)));
        }
        let attempt = match &entry.action {
            SafAction::Cancel => self.attempt_cancel(entry, record.as_ref(), now).await,
            SafAction::Refund {
                refund_request_id,
                payment_id,
                amount_minor,
                currency,
            } => {
                let payment_id = payment_id
                    .clone()
                    .or_else(|| record.as_ref().and_then(|r| r.payment_id.clone()));
                self.attempt_refund(
                    entry,
                    RefundCommand {
                        client: entry.client.clone(),
                        refund_request_id: refund_request_id.clone(),
                        payment_id: payment_id.unwrap_or_default(),
                        amount_minor: *amount_minor,
                        currency: currency.clone(),
                        reason: Some(format!("reversal ({})", entry.reason.as_str())),
                    },
                )
                .await
            }
        };
        let failed_record = record.as_ref().is_some_and(|r| r.state == TxnState::Failed);
        let disposition = match attempt {
            Attempt::Settle(event, cause) => {
                if !entry.tombstone && !failed_record {
                    self.settle(&entry.tag, &entry.journal_id, event, &cause)
                        .await?;
                } else if failed_record {
                    tracing::warn!(
                        journal_id = %entry.journal_id,
                        event = event.name(),
                        "replayed entry settled at Antom; the journal keeps FAILED: reconcile the record"
                    );
                }
                self.queue.ack(message).await?;
                Disposition::Settled
            }
            Attempt::Done => {
                self.queue.ack(message).await?;
                Disposition::Settled
            }
            Attempt::Retry(reason) => {
                match next_attempt(&self.config, entry.enqueued_at_ms, message.attempts, now) {
                    RetryDecision::At(at) => {
                        self.queue.retry_at(message, at, &reason).await?;
                        metrics::counter!(crate::metrics::SAF_RETRIES_TOTAL, "action" => action)
                            .increment(1);
                        tracing::info!(journal_id = %entry.journal_id, action, attempts = message.attempts + 1, reason = %reason, "SAF entry rescheduled");
                        Disposition::Retried(at)
                    }
                    RetryDecision::GiveUp => {
                        self.give_up(message, record.as_ref(), &format!("gave up: {reason}"))
                            .await?
                    }
                }
            }
            Attempt::GiveUp(reason) => self.give_up(message, record.as_ref(), &reason).await?,
        };
        Ok(self.count(action, disposition))
    }

    fn count(&self, action: &'static str, disposition: Disposition) -> Disposition {
        metrics::counter!(
            crate::metrics::SAF_DELIVERIES_TOTAL,
            "action" => action,
            "outcome" => disposition.label()
        )
        .increment(1);
        disposition
    }

    /// Dead-letters first (atomic with the ack): if the process dies before the journal says
    /// FAILED, the dead letter is still there for operators.
    async fn give_up(
        &self,
        message: &SafMessage,
        record: Option<&TransactionRecord>,
        reason: &str,
    ) -> Result<Disposition, EngineError> {
        let entry = &message.entry;
        self.queue.dead_letter(message, reason).await?;
        metrics::counter!(crate::metrics::SAF_DEAD_LETTERS_TOTAL, "action" => entry.action.name())
            .increment(1);
        tracing::error!(journal_id = %entry.journal_id, action = entry.action.name(), reason, "SAF entry dead-lettered; operator action needed");
        if record.is_some() {
            self.settle(&entry.tag, &entry.journal_id, Event::Abandoned, reason)
                .await?;
        }
        Ok(Disposition::DeadLettered(reason.to_string()))
    }

    async fn call<T>(
        &self,
        fut: impl std::future::Future<Output = UpstreamOutcome<T>>,
    ) -> UpstreamOutcome<T> {
        match tokio::time::timeout(EngineConfig::ms(self.config.call_timeout_ms), fut).await {
            Ok(outcome) => outcome,
            Err(_) => UpstreamOutcome::Unknown {
                reason: "engine_timeout".to_string(),
            },
        }
    }

    async fn attempt_cancel(
        &self,
        entry: &SafEntry,
        record: Option<&TransactionRecord>,
        now: i64,
    ) -> Attempt {
        let command = CancelCommand {
            client: entry.client.clone(),
            payment_request_id: entry.payment_request_id.clone(),
        };
        let outcome = self.call(self.upstream.cancel(&command)).await;
        let result = match &outcome {
            UpstreamOutcome::Success(_) => "SUCCESS".to_string(),
            UpstreamOutcome::Failed { result_code, .. } => result_code.clone(),
            UpstreamOutcome::Unknown { .. } => "UNKNOWN".to_string(),
        };
        metrics::counter!(crate::metrics::CANCEL_OUTCOMES_TOTAL, "result" => cancel_result_label(&result))
            .increment(1);
        tracing::info!(journal_id = %entry.journal_id, result = %result, tombstone = entry.tombstone, "cancel answered");
        match outcome {
            UpstreamOutcome::Success(_) => {
                if entry.tombstone {
                    Attempt::Done
                } else {
                    Attempt::Settle(Event::CancelConfirmed, "antom confirmed the cancel".into())
                }
            }
            UpstreamOutcome::Unknown { reason } => Attempt::Retry(format!("cancel: {reason}")),
            UpstreamOutcome::Failed { result_code, .. } => match result_code.as_str() {
                "ORDER_NOT_EXIST" => {
                    let may_appear_until = record
                        .map(|r| r.payment_expiry_ms.max(entry.order_may_appear_until_ms))
                        .unwrap_or(entry.order_may_appear_until_ms);
                    // The expiry is judged by Antom's clock: final only once it has passed on
                    // every clock within the tolerance.
                    if !self.skew.surely_past(now, may_appear_until) {
                        Attempt::Retry(
                            "cancel: ORDER_NOT_EXIST while the payment may still appear".into(),
                        )
                    } else if entry.tombstone {
                        Attempt::Done
                    } else {
                        Attempt::Settle(
                            Event::CancelConfirmed,
                            "ORDER_NOT_EXIST after the payment expiry: nothing to cancel".into(),
                        )
                    }
                }
                "CANCEL_WINDOW_EXCEED" => {
                    if entry.tombstone {
                        Attempt::GiveUp(
                            "CANCEL_WINDOW_EXCEED for a payment the journal never saw: refund by hand"
                                .into(),
                        )
                    } else {
                        metrics::counter!(crate::metrics::REFUND_FALLBACKS_TOTAL).increment(1);
                        Attempt::Settle(
                            Event::CancelWindowExceeded,
                            "cancel window exceeded: full refund queued".into(),
                        )
                    }
                }
                code if self.config.retry_on_result_codes.iter().any(|c| c == code) => {
                    metrics::counter!(crate::metrics::SETUP_ERRORS_TOTAL).increment(1);
                    tracing::error!(journal_id = %entry.journal_id, result_code = code, "cancel refused for a set-up reason; kept in the queue");
                    Attempt::Retry(format!("cancel: F {code} (set-up)"))
                }
                // ORDER_STATUS_INVALID, PROCESS_FAIL (a payment with a refund cannot be
                // cancelled), anything else final: the payment's own status decides.
                code => self.after_refused_cancel(entry, record, code).await,
            },
        }
    }

    /// Antom refused a cancel for good. An acknowledged cancel must still end with Antom
    /// holding none of the money, so the payment's status decides: closed unpaid → nothing to
    /// cancel; paid → refund what the refunds have not taken back yet (the same fallback as a
    /// passed cancel window) or, when they took it all, nothing left to do. Only what no
    /// fallback can settle is dead-lettered.
    async fn after_refused_cancel(
        &self,
        entry: &SafEntry,
        record: Option<&TransactionRecord>,
        code: &str,
    ) -> Attempt {
        let command = InquiryCommand {
            client: entry.client.clone(),
            payment_request_id: entry.payment_request_id.clone(),
        };
        let report = match self.call(self.upstream.inquire_payment(&command)).await {
            UpstreamOutcome::Success(report) => report,
            UpstreamOutcome::Unknown { reason } => {
                return Attempt::Retry(format!("inquiry after cancel F {code}: {reason}"));
            }
            UpstreamOutcome::Failed { result_code, .. } => {
                return Attempt::GiveUp(format!("cancel: F {code}; inquiry F {result_code}"));
            }
        };
        match (report.status, record) {
            (PaymentStatus::Cancelled | PaymentStatus::Fail, _) if entry.tombstone => Attempt::Done,
            (PaymentStatus::Cancelled | PaymentStatus::Fail, _) => Attempt::Settle(
                Event::CancelConfirmed,
                format!("cancel F {code} and the payment is closed unpaid"),
            ),
            (PaymentStatus::Processing, _) => {
                Attempt::Retry(format!("cancel F {code} while the payment is processing"))
            }
            (PaymentStatus::Success, Some(record))
                if record.refunded_minor >= record.amount_minor =>
            {
                Attempt::Settle(
                    Event::CancelConfirmed,
                    format!("cancel F {code}; the refunds took back the whole payment"),
                )
            }
            (PaymentStatus::Success, Some(record)) => {
                metrics::counter!(crate::metrics::REFUND_FALLBACKS_TOTAL).increment(1);
                tracing::warn!(
                    journal_id = %entry.journal_id,
                    result_code = code,
                    refund_minor = record.amount_minor - record.refunded_minor,
                    "cancel refused: refunding what remains of the payment"
                );
                Attempt::Settle(
                    Event::CancelWindowExceeded,
                    format!("cancel F {code}: refund of what remains queued"),
                )
            }
            (PaymentStatus::Success, None) => Attempt::GiveUp(format!(
                "cancel: F {code} for a paid payment the journal never saw: refund by hand"
            )),
        }
    }

    async fn attempt_refund(&self, entry: &SafEntry, mut command: RefundCommand) -> Attempt {
        if command.payment_id.is_empty() {
            // The refund needs Antom's paymentId; learn it first.
            let inquiry = InquiryCommand {
                client: entry.client.clone(),
                payment_request_id: entry.payment_request_id.clone(),
            };
            match self.call(self.upstream.inquire_payment(&inquiry)).await {
                UpstreamOutcome::Success(report) => match report.payment_id {
                    Some(id) => command.payment_id = id,
                    None => return Attempt::Retry("refund: paymentId not known yet".into()),
                },
                UpstreamOutcome::Unknown { reason } => {
                    return Attempt::Retry(format!("refund: inquiry {reason}"));
                }
                UpstreamOutcome::Failed { result_code, .. } => {
                    return Attempt::GiveUp(format!("refund: inquiry F {result_code}"));
                }
            }
        }
        let outcome = self.call(self.upstream.refund(&command)).await;
        tracing::info!(journal_id = %entry.journal_id, result = outcome.status_label(), "refund answered");
        match outcome {
            UpstreamOutcome::Success(_) if entry.tombstone => Attempt::Done,
            UpstreamOutcome::Success(_) => {
                Attempt::Settle(Event::RefundConfirmed, "antom confirmed the refund".into())
            }
            UpstreamOutcome::Unknown { reason } => Attempt::Retry(format!("refund: {reason}")),
            UpstreamOutcome::Failed { result_code, .. }
                if self.config.retry_on_result_codes.contains(&result_code) =>
            {
                metrics::counter!(crate::metrics::SETUP_ERRORS_TOTAL).increment(1);
                Attempt::Retry(format!("refund: F {result_code} (set-up)"))
            }
            UpstreamOutcome::Failed { result_code, .. } => {
                Attempt::GiveUp(format!("refund: F {result_code}"))
            }
        }
    }
}

/// Whether the journal still waits for this entry. A FAILED record proceeds: that is an
/// operator replaying a dead letter.
fn still_needed(entry: &SafEntry, record: &TransactionRecord) -> bool {
    use TxnState as S;
    match (&entry.action, record.kind) {
        (SafAction::Cancel, TxnKind::Purchase) => {
            matches!(record.state, S::CancelPending | S::Failed)
        }
        (SafAction::Refund { .. }, TxnKind::Purchase) => {
            matches!(record.state, S::RefundPending | S::Failed)
        }
        (SafAction::Refund { .. }, TxnKind::Refund) => {
            matches!(record.state, S::CancelPending | S::Failed)
        }
        (SafAction::Cancel, TxnKind::Refund) => false,
    }
}

/// Bounded label set for cancel outcomes.
fn cancel_result_label(code: &str) -> &'static str {
    match code {
        "SUCCESS" => "success",
        "UNKNOWN" => "unknown",
        "ORDER_NOT_EXIST" => "order_not_exist",
        "CANCEL_WINDOW_EXCEED" => "cancel_window_exceed",
        "ORDER_STATUS_INVALID" => "order_status_invalid",
        "PROCESS_FAIL" => "process_fail",
        _ => "other_failure",
    }
}
