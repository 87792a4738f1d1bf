//! The orchestration of every terminal flow, in domain terms (no ISO 8583 here; see
//! [`crate::iso`] for the translation).
//!
//! Every flow follows the same discipline: decide locally what can be decided without Antom,
//! journal before calling Antom, learn outcomes through the state table, and answer the terminal
//! only with what the journal already holds — so a crash at any instant leaves a record the
//! deadline sweeper and the reversal engine can finish.

mod answer;
mod approved;
mod capture;
mod checkout;
mod closing;
mod delivery;
mod lookup;
mod notification;
mod order_code;
mod purchase;
mod refund;
mod requests;
mod reversal;
mod session;
mod status;
mod steps;
mod timing;
mod void;

pub use answer::{Answer, FirstAnswer, Outcome, Refusal, Reply, Undelivered};
pub use capture::CaptureRequest;
pub use checkout::CheckoutRequest;
pub use delivery::HandOver;
pub use requests::{
    NotifyOutcome, OrderCodeRequest, OriginalRef, PurchaseRequest, RefundRequest, RequestKey,
    ReversalRequest, ReversedRequest, StatusInquiry, VoidRequest, WhileRunning,
};
pub use session::{SessionRequest, session_not_created};
pub use timing::Timing;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use tracing::{Instrument, info, info_span, warn};

use crate::commit::Committed;
use crate::domain::{
    MerchantProfile, Money, Origin, OutcomeClass, PaymentCode, PaymentCodeRule, PaymentRequestId,
    RefundRequestId, TxnKind, mask_middle,
};
use crate::ids::IdGenerator;
use crate::merchants::{MerchantDirectory, MerchantError};
use crate::ports::{
    BeginOutcome, Clock, InquiryCommand, Journal, PayCommand, PayScenario, PaymentStatus,
    RefundCommand, StoreError, Tombstone, TombstoneOutcome, Upstream, UpstreamOutcome,
};
use crate::record::{
    Change, HoldRefused, IllegalTransition, PaidWith, SafAction, SafEntry, TransactionRecord,
    mark_sending, plan_change, plan_refund_hold, plan_refund_release,
};
use crate::state::{CancelReason, Delivery, Event, TxnState};

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
    /// At most this many payments in flight at once (from arrival to answer); past it a new
    /// payment is refused at once with [`Refusal::Busy`] instead of queueing behind the others
    /// until every one of them misses its deadline. 0: no limit.
    pub max_in_flight_payments: usize,
}

/// The core: flows over the ports.
pub struct Core {
    upstream: Arc<dyn Upstream>,
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    ids: IdGenerator,
    merchants: MerchantDirectory,
    settings: CoreSettings,
    /// Permits of the payment budget (`None`: no limit).
    payment_budget: Option<Arc<tokio::sync::Semaphore>>,
    /// Plain purchases this switch approved recently: their SUCCESS notification needs no read.
    recent_approvals: approved::RecentApprovals,
}

// The metric names are declared once, in `crate::metrics`.
use crate::metrics as metric;
use asw_metrics::HandleCache;
use metrics::{Counter, Gauge, Histogram};

// Handles of the series every transaction records, by label values (see `asw_metrics::HandleCache`).
static IN_FLIGHT: HandleCache<Gauge> = HandleCache::new();
static TRANSACTIONS: HandleCache<Counter> = HandleCache::new();
static LATENCY: HandleCache<Histogram> = HandleCache::new();

fn in_flight(flow: &'static str, delta: f64) {
    IN_FLIGHT.with(
        &[flow],
        || metrics::gauge!(metric::IN_FLIGHT, "flow" => flow),
        |g| g.increment(delta),
    );
}

struct InFlight(&'static str);

impl InFlight {
    fn enter(flow: &'static str) -> Self {
        in_flight(flow, 1.0);
        Self(flow)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        in_flight(self.0, -1.0);
    }
}

fn record_outcome(flow: &'static str, started: Instant, answer: &Answer) {
    let awaiting_buyer = answer.outcome == Outcome::AwaitingBuyer
        || answer.outcome == Outcome::Unresolved
            && answer
                .record
                .as_ref()
                .and_then(|r| r.online.as_ref())
                .is_some_and(|o| o.next_action.is_some());
    let outcome = match answer.class() {
        _ if awaiting_buyer => "awaiting_buyer",
        OutcomeClass::Approved => "approved",
        OutcomeClass::Declined => "declined",
        OutcomeClass::TimedOut => "timed_out",
        OutcomeClass::Rejected => "rejected",
    };
    TRANSACTIONS.with(
        &[flow, outcome],
        || metrics::counter!(metric::TRANSACTIONS, "flow" => flow, "outcome" => outcome),
        |c| c.increment(1),
    );
    LATENCY.with(
        &[flow],
        || metrics::histogram!(metric::LATENCY, "flow" => flow),
        |h| h.record(started.elapsed().as_secs_f64()),
    );
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
        let payment_budget = (settings.max_in_flight_payments > 0).then(|| {
            Arc::new(tokio::sync::Semaphore::new(
                settings
                    .max_in_flight_payments
                    .min(tokio::sync::Semaphore::MAX_PERMITS),
            ))
        });
        Self {
            upstream,
            journal,
            clock,
            ids,
            merchants,
            settings,
            payment_budget,
            recent_approvals: approved::RecentApprovals::default(),
        }
    }

    /// A place in the payment budget, or `None` when the switch is full: it sheds the payment
    /// before doing any work for it, so what it has already accepted keeps its time.
    fn admit_payment(&self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, Refusal> {
        let Some(budget) = &self.payment_budget else {
            return Ok(None);
        };
        match budget.clone().try_acquire_owned() {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => {
                metrics::counter!(metric::SHED_TOTAL, "flow" => "purchase").increment(1);
                Err(Refusal::Busy)
            }
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

    /// The clock the core runs on (fronts read the date from it, so they agree with the core).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// How a flow's local decisions ended: the request is a re-send of one already journaled, or it
/// is journaled and goes to Antom with its command.
enum Started<C> {
    /// The request's key is already journaled: answer the duplicate.
    Duplicate(Box<TransactionRecord>),
    /// Journaled: the record and the command to send.
    Journaled(Box<TransactionRecord>, C),
}

async fn send_plain(reply: Box<dyn Reply>, answer: Answer) -> Answer {
    if reply.send(&answer).await.is_err() {
        info!(outcome = ?answer.outcome, "requester gone before the answer");
    }
    answer
}

fn store_down(flow: &'static str, error: &StoreError) -> Answer {
    warn!(%error, flow, "journal unavailable");
    metrics::counter!(metric::STORE_FAILURES, "flow" => flow).increment(1);
    Answer::refused(Refusal::StoreUnavailable)
}

fn merchant_answer(error: MerchantError) -> Answer {
    match error {
        MerchantError::UnknownMerchant => Answer::refused(Refusal::UnknownMerchant),
        MerchantError::UnknownTerminal => Answer::refused(Refusal::UnknownTerminal),
        MerchantError::TerminalDisabled => Answer::refused(Refusal::TerminalDisabled),
    }
}

/// Masks a payment code for logs (re-exported for adapters that only have a `&str`).
pub fn masked(code: &str) -> String {
    mask_middle(code)
}
