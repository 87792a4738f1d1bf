//! [`ScriptedUpstream`]: Antom's answers scripted per call kind and id, every call recorded,
//! and any call the test did not script reported as a failure.

mod answers;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use asw_core::ports::{
    CancelCommand, CancelReceipt, CaptureCommand, CaptureReceipt, CheckoutCommand, CheckoutStarted,
    Clock, InquiryCommand, PayCommand, PayReceipt, PaymentReport, RefundCommand, RefundReceipt,
    SessionCommand, SessionCreated, Upstream, UpstreamOutcome,
};
use async_trait::async_trait;

use answers::{Answer, Answers};

/// The kind of an Antom call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `pay`.
    Pay,
    /// `inquiryPayment`.
    Inquiry,
    /// `cancel`.
    Cancel,
    /// `refund`.
    Refund,
    /// `capture` (recorded under its payment's `paymentId`).
    Capture,
    /// `createPaymentSession`.
    Session,
}

/// One call the upstream received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamCall {
    /// Which call.
    pub kind: CallKind,
    /// The `paymentRequestId` (the `refundRequestId` for refunds).
    pub id: String,
    /// Refunds: the `paymentId` refunded.
    pub payment_id: Option<String>,
    /// Pay and refund: the amount in minor units.
    pub amount_minor: Option<u64>,
    /// When it arrived, by the upstream's clock (`None` without a clock).
    pub at_ms: Option<i64>,
    /// True when nothing was scripted for it: it was answered `Unknown` and fails the test.
    pub unexpected: bool,
}

/// The reason of the `Unknown` answer to an unscripted call.
pub const UNEXPECTED_CALL: &str = "unexpected call";

/// Antom as a script: answers are queued per call kind and id (`paymentRequestId`, or
/// `refundRequestId` for refunds) and handed out in order; every call is recorded.
///
/// A call with no scripted answer left (and no fallback for its kind) is answered
/// `Unknown { reason: "unexpected call" }` and recorded as unexpected;
/// [`ScriptedUpstream::assert_no_unexpected_calls`] panics listing them, and so does dropping
/// the upstream (unless the thread is already panicking), so an unplanned call cannot pass
/// unnoticed. A scripted answer can take time ([`ScriptedUpstream::script_cancel_after`] …),
/// waited on the clock given with [`ScriptedUpstream::with_clock`] (virtual under a paused
/// runtime).
pub struct ScriptedUpstream {
    pay: Mutex<Answers<PayCommand, PayReceipt>>,
    checkout: Mutex<Answers<CheckoutCommand, CheckoutStarted>>,
    session: Mutex<Answers<SessionCommand, SessionCreated>>,
    capture: Mutex<Answers<CaptureCommand, CaptureReceipt>>,
    inquiry: Mutex<Answers<InquiryCommand, PaymentReport>>,
    cancel: Mutex<Answers<CancelCommand, CancelReceipt>>,
    refund: Mutex<Answers<RefundCommand, RefundReceipt>>,
    calls: Mutex<Vec<UpstreamCall>>,
    clock: Option<Arc<dyn Clock>>,
}

impl std::fmt::Debug for ScriptedUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedUpstream")
            .field("calls", &*lock(&self.calls))
            .finish_non_exhaustive()
    }
}

impl Default for ScriptedUpstream {
    fn default() -> Self {
        Self::new()
    }
}

// A poisoned lock only means a test already panicked while holding it; the script and the
// record of calls are still usable, and a second panic would hide the first.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl ScriptedUpstream {
    /// An upstream with nothing scripted; delays use tokio's time.
    pub fn new() -> Self {
        Self {
            pay: Mutex::default(),
            checkout: Mutex::default(),
            session: Mutex::default(),
            capture: Mutex::default(),
            inquiry: Mutex::default(),
            cancel: Mutex::default(),
            refund: Mutex::default(),
            calls: Mutex::default(),
            clock: None,
        }
    }

    /// An upstream that stamps calls and waits its delays on `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let mut upstream = Self::new();
        upstream.clock = Some(clock);
        upstream
    }

    // -----------------------------------------------------------------------------------------
    // Scripting

    /// Queues answers to `pay` for this `paymentRequestId`, in order.
    pub fn script_pay(
        &self,
        id: &str,
        outcomes: impl IntoIterator<Item = UpstreamOutcome<PayReceipt>>,
    ) {
        push_all(&self.pay, id, outcomes);
    }
    /// Queues one answer to `pay` that arrives after `delay`.
    pub fn script_pay_after(
        &self,
        id: &str,
        delay: Duration,
        outcome: UpstreamOutcome<PayReceipt>,
    ) {
        lock(&self.pay).push(id, Answer { outcome, delay });
    }
    /// Queues answers to an online `pay` (`CASHIER_PAYMENT`) for this `paymentRequestId`, in
    /// order; its calls are recorded as [`CallKind::Pay`].
    pub fn script_checkout(
        &self,
        id: &str,
        outcomes: impl IntoIterator<Item = UpstreamOutcome<CheckoutStarted>>,
    ) {
        push_all(&self.checkout, id, outcomes);
    }
    /// Queues answers to `createPaymentSession` for this `paymentRequestId`, in order.
    pub fn script_session(
        &self,
        id: &str,
        outcomes: impl IntoIterator<Item = UpstreamOutcome<SessionCreated>>,
    ) {
        push_all(&self.session, id, outcomes);
    }

    /// Queues answers to `capture` for this `captureRequestId`, in order.
    pub fn script_capture(
        &self,
        capture_request_id: &str,
        outcomes: impl IntoIterator<Item = UpstreamOutcome<CaptureReceipt>>,
    ) {
        push_all(&self.capture, capture_request_id, outcomes);
    }
    /// Queues answers to `inquiryPayment` for this `paymentRequestId`, in order.
    pub fn script_inquiry(
        &self,
        id: &str,
        outcomes: impl IntoIterator<Item = UpstreamOutcome<PaymentReport>>,
    ) {
        push_all(&self.inquiry, id, outcomes);
    }
    /// Queues one answer to `inquiryPayment` that arrives after `delay`.
    pub fn script_inquiry_after(
        &self,
        id: &str,
        delay: Duration,
        outcome: UpstreamOutcome<PaymentReport>,
    ) {
        lock(&self.inquiry).push(id, Answer { outcome, delay });
    }
    /// Queues answers to `cancel` for this `paymentRequestId`, in order.
    pub fn script_cancel(
        &self,
        id: &str,
        outcomes: impl IntoIterator<Item = UpstreamOutcome<CancelReceipt>>,
    ) {
        push_all(&self.cancel, id, outcomes);
    }
    /// Queues one answer to `cancel` that arrives after `delay`.
    pub fn script_cancel_after(
        &self,
        id: &str,
        delay: Duration,
        outcome: UpstreamOutcome<CancelReceipt>,
    ) {
        lock(&self.cancel).push(id, Answer { outcome, delay });
    }
    /// Queues answers to `refund` for this `refundRequestId`, in order.
    pub fn script_refund(
        &self,
        id: &str,
        outcomes: impl IntoIterator<Item = UpstreamOutcome<RefundReceipt>>,
    ) {
        push_all(&self.refund, id, outcomes);
    }
    /// Queues one answer to `refund` that arrives after `delay`.
    pub fn script_refund_after(
        &self,
        id: &str,
        delay: Duration,
        outcome: UpstreamOutcome<RefundReceipt>,
    ) {
        lock(&self.refund).push(id, Answer { outcome, delay });
    }

    /// Answers every `pay` whose id has no queued answer left with `answer(command)`: such
    /// calls are then expected.
    pub fn fallback_pay(
        &self,
        answer: impl Fn(&PayCommand) -> UpstreamOutcome<PayReceipt> + Send + Sync + 'static,
    ) {
        lock(&self.pay).set_fallback(Box::new(answer));
    }
    /// Answers every `inquiryPayment` with no queued answer left with `answer(command)`.
    pub fn fallback_inquiry(
        &self,
        answer: impl Fn(&InquiryCommand) -> UpstreamOutcome<PaymentReport> + Send + Sync + 'static,
    ) {
        lock(&self.inquiry).set_fallback(Box::new(answer));
    }
    /// Answers every `cancel` with no queued answer left with `answer(command)`.
    pub fn fallback_cancel(
        &self,
        answer: impl Fn(&CancelCommand) -> UpstreamOutcome<CancelReceipt> + Send + Sync + 'static,
    ) {
        lock(&self.cancel).set_fallback(Box::new(answer));
    }
    /// Answers every `refund` with no queued answer left with `answer(command)`.
    pub fn fallback_refund(
        &self,
        answer: impl Fn(&RefundCommand) -> UpstreamOutcome<RefundReceipt> + Send + Sync + 'static,
    ) {
        lock(&self.refund).set_fallback(Box::new(answer));
    }

    // -----------------------------------------------------------------------------------------
    // Inspection

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<UpstreamCall> {
        lock(&self.calls).clone()
    }

    /// How many calls of `kind` for `id` arrived.
    pub fn count(&self, kind: CallKind, id: &str) -> usize {
        lock(&self.calls)
            .iter()
            .filter(|c| c.kind == kind && c.id == id)
            .count()
    }

    /// How many calls of `kind` arrived, any id.
    pub fn total(&self, kind: CallKind) -> usize {
        lock(&self.calls).iter().filter(|c| c.kind == kind).count()
    }

    /// The calls nothing was scripted for.
    pub fn unexpected_calls(&self) -> Vec<UpstreamCall> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.unexpected)
            .cloned()
            .collect()
    }

    /// Scripted answers nobody asked for, as `(kind, id, how many)`.
    pub fn unused_answers(&self) -> Vec<(CallKind, String, usize)> {
        let tag = |kind: CallKind, unused: Vec<(String, usize)>| {
            unused.into_iter().map(move |(id, n)| (kind, id, n))
        };
        tag(CallKind::Pay, lock(&self.pay).unused())
            .chain(tag(CallKind::Inquiry, lock(&self.inquiry).unused()))
            .chain(tag(CallKind::Cancel, lock(&self.cancel).unused()))
            .chain(tag(CallKind::Refund, lock(&self.refund).unused()))
            .collect()
    }

    /// Panics listing every unscripted call, if there was any.
    // Panicking is the point: this fails the test that made the call.
    #[allow(clippy::panic)]
    pub fn assert_no_unexpected_calls(&self) {
        let unexpected = self.unexpected_calls();
        if !unexpected.is_empty() {
            panic!(
                "{} unscripted upstream call(s): {}",
                unexpected.len(),
                describe(&unexpected)
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // Answering

    async fn answer<C, T>(
        &self,
        answers: &Mutex<Answers<C, T>>,
        command: &C,
        call: UpstreamCall,
    ) -> UpstreamOutcome<T> {
        let answer = lock(answers).next(&call.id, command);
        let (outcome, delay, unexpected) = match answer {
            Some(Answer { outcome, delay }) => (outcome, delay, false),
            None => (
                UpstreamOutcome::Unknown {
                    reason: UNEXPECTED_CALL.to_string(),
                },
                Duration::ZERO,
                true,
            ),
        };
        lock(&self.calls).push(UpstreamCall {
            at_ms: self.clock.as_ref().map(|c| c.now_ms()),
            unexpected,
            ..call
        });
        if !delay.is_zero() {
            match &self.clock {
                Some(clock) => clock.sleep(delay).await,
                None => tokio::time::sleep(delay).await,
            }
        }
        outcome
    }
}

fn push_all<C, T>(
    answers: &Mutex<Answers<C, T>>,
    id: &str,
    outcomes: impl IntoIterator<Item = UpstreamOutcome<T>>,
) {
    let mut answers = lock(answers);
    for outcome in outcomes {
        answers.push(
            id,
            Answer {
                outcome,
                delay: Duration::ZERO,
            },
        );
    }
}

fn describe(calls: &[UpstreamCall]) -> String {
    calls
        .iter()
        .map(|c| format!("{:?} {}", c.kind, c.id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn call(kind: CallKind, id: &str) -> UpstreamCall {
    UpstreamCall {
        kind,
        id: id.to_string(),
        payment_id: None,
        amount_minor: None,
        at_ms: None,
        unexpected: false,
    }
}

#[async_trait]
impl Upstream for ScriptedUpstream {
    async fn pay(&self, command: &PayCommand) -> UpstreamOutcome<PayReceipt> {
        let record = UpstreamCall {
            amount_minor: Some(command.amount.minor_units),
            ..call(CallKind::Pay, command.payment_request_id.as_str())
        };
        self.answer(&self.pay, command, record).await
    }

    async fn checkout(&self, command: &CheckoutCommand) -> UpstreamOutcome<CheckoutStarted> {
        let record = UpstreamCall {
            amount_minor: Some(command.amount.minor_units),
            ..call(CallKind::Pay, command.payment_request_id.as_str())
        };
        self.answer(&self.checkout, command, record).await
    }

    async fn create_session(&self, command: &SessionCommand) -> UpstreamOutcome<SessionCreated> {
        let record = UpstreamCall {
            amount_minor: Some(command.amount.minor_units),
            ..call(CallKind::Session, command.payment_request_id.as_str())
        };
        self.answer(&self.session, command, record).await
    }

    async fn capture(&self, command: &CaptureCommand) -> UpstreamOutcome<CaptureReceipt> {
        let record = UpstreamCall {
            amount_minor: Some(command.amount.minor_units),
            payment_id: Some(command.payment_id.clone()),
            ..call(CallKind::Capture, &command.capture_request_id)
        };
        self.answer(&self.capture, command, record).await
    }

    async fn inquire_payment(&self, command: &InquiryCommand) -> UpstreamOutcome<PaymentReport> {
        let record = call(CallKind::Inquiry, command.payment_request_id.as_str());
        self.answer(&self.inquiry, command, record).await
    }

    async fn cancel(&self, command: &CancelCommand) -> UpstreamOutcome<CancelReceipt> {
        let record = call(CallKind::Cancel, command.payment_request_id.as_str());
        self.answer(&self.cancel, command, record).await
    }

    async fn refund(&self, command: &RefundCommand) -> UpstreamOutcome<RefundReceipt> {
        let record = UpstreamCall {
            payment_id: Some(command.payment_id.clone()),
            amount_minor: Some(command.amount_minor),
            ..call(CallKind::Refund, command.refund_request_id.as_str())
        };
        self.answer(&self.refund, command, record).await
    }
}

impl Drop for ScriptedUpstream {
    // A test that made an unscripted call fails even if it never asked; not while already
    // unwinding, where a second panic would abort and hide the first failure.
    #[allow(clippy::panic)]
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let unexpected = self.unexpected_calls();
        if !unexpected.is_empty() {
            panic!(
                "ScriptedUpstream dropped after {} unscripted call(s): {}",
                unexpected.len(),
                describe(&unexpected)
            );
        }
    }
}
