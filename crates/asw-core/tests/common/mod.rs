//! Shared set-up of the flow tests: a [`Core`] over the testkit's fakes (a `MemoryStore` journal
//! and queue, a strict `ScriptedUpstream`, a `VirtualClock` on paused tokio time), a [`Reply`]
//! that records what the core answered (and can fail the write), and request builders.
//!
//! Every test runs under `#[tokio::test(start_paused = true)]`: waits are virtual, so a flow that
//! polls for 50 s runs in microseconds and the times it reads are exact.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use asw_core::domain::{
    FollowUpScope, MerchantProfile, Origin, PaymentCode, PaymentCodeRule, PaymentRequestId,
    RefundRequestId, TerminalProfile,
};
use asw_core::flows::{
    CoreSettings, OriginalRef, PurchaseRequest, RefundRequest, Reply, RequestKey, ReversalRequest,
    ReversedRequest, StatusInquiry, Timing, Undelivered, VoidRequest, WhileRunning,
};
use asw_core::ids::IdGenerator;
use asw_core::merchants::MerchantDirectory;
use asw_core::ports::{
    BeginOutcome, CancelReceipt, Clock, Journal, PayReceipt, PaymentReport, PaymentStatus,
    RefundReceipt, UpstreamOutcome,
};
use asw_core::record::{SafAction, TransactionRecord};
use asw_core::state::Event;
use asw_testkit::fakes::{MemoryStore, QueuedItem, ScriptedUpstream, SkewedClock, VirtualClock};

pub use asw_core::flows::{Answer, Core, Outcome, Refusal};

/// The merchant every test uses.
pub const MERCHANT: &str = "M1";
/// The terminal that makes the payments.
pub const T1: &str = "T1";
/// Another terminal of the same store as [`T1`].
pub const T2: &str = "T2";
/// A terminal of the same merchant in another store (`S2`).
pub const T3: &str = "T3";
/// Another merchant, with a terminal called [`T1`] too.
pub const OTHER_MERCHANT: &str = "M2";

/// A payment code the default rule accepts.
pub const CODE: &str = "281012345678901234";
/// SGD.
pub const SGD: u16 = 702;
/// The amount of every purchase unless a test says otherwise.
pub const AMOUNT: u64 = 1_000;
/// The digest of every purchase's content unless a test says otherwise.
pub const DIGEST: &str = "digest-1";

/// The default timing, spelled out: the tests' deadlines are computed from it.
pub fn timing() -> Timing {
    Timing::default()
}

/// `Duration` from milliseconds (the timing is in `i64` ms).
pub fn ms(value: i64) -> Duration {
    Duration::from_millis(u64::try_from(value).unwrap_or(0))
}

fn terminal(id: &str, store_id: Option<&str>) -> TerminalProfile {
    TerminalProfile {
        terminal_id: id.into(),
        enabled: true,
        refunds: true,
        store_id: store_id.map(String::from),
    }
}

/// A merchant with terminals `T1`, `T2` (store `S1`, the merchant's) and `T3` (store `S2`).
pub fn merchant(id: &str, follow_ups: FollowUpScope) -> MerchantProfile {
    MerchantProfile {
        merchant_id: id.into(),
        client: "default".into(),
        reference_merchant_id: format!("R{id}"),
        merchant_name: "Shop".into(),
        mcc: "5411".into(),
        store_id: "S1".into(),
        store_name: "Store".into(),
        store_mcc: None,
        settlement_currency: None,
        merchant_region: None,
        utc_offset_minutes: 0,
        follow_ups,
        allowed_networks: Vec::new(),
        api_keys: Vec::new(),
        rest_timeout_ms: None,
        webhook: None,
        terminals: vec![
            terminal(T1, None),
            terminal(T2, None),
            terminal(T3, Some("S2")),
        ],
    }
}

/// `M1` (follow-ups: the default, terminal scope) and `M2`.
pub fn merchants() -> Vec<MerchantProfile> {
    vec![
        merchant(MERCHANT, FollowUpScope::default()),
        merchant(OTHER_MERCHANT, FollowUpScope::default()),
    ]
}

/// A core wired to the fakes, and the fakes themselves for scripting and inspection.
pub struct Harness {
    pub core: Core,
    pub store: MemoryStore,
    pub upstream: Arc<ScriptedUpstream>,
    /// The shared time line (the store's and Antom's clock); the core reads it shifted by
    /// `offset_ms`.
    pub clock: Arc<VirtualClock>,
    pub ids: IdGenerator,
    /// How far this instance's clock runs ahead of `clock` (negative: behind); 0 but for a
    /// [`Harness::twin`].
    pub offset_ms: i64,
}

impl Harness {
    /// The default merchants and timing. Create it inside the (paused) test runtime.
    pub fn new() -> Self {
        Self::with_merchants(merchants())
    }

    /// The given merchants, default timing.
    pub fn with_merchants(profiles: Vec<MerchantProfile>) -> Self {
        Self::with_budget(profiles, 0)
    }

    /// The given merchants and at most `max_in_flight_payments` payments at once (0: no limit).
    pub fn with_budget(profiles: Vec<MerchantProfile>, max_in_flight_payments: usize) -> Self {
        let clock = Arc::new(VirtualClock::at_test_epoch());
        let store = MemoryStore::new(clock.clone());
        let upstream = Arc::new(ScriptedUpstream::with_clock(clock.clone()));
        let core = core_over(
            &store,
            &upstream,
            clock.clone(),
            profiles,
            timing(),
            max_in_flight_payments,
        );
        Self {
            core,
            store,
            upstream,
            clock,
            ids: IdGenerator::new(b"flow-tests"),
            offset_ms: 0,
        }
    }

    /// The default merchants with this timing.
    pub fn with_timing(timing: Timing) -> Self {
        let mut h = Self::new();
        h.core = core_over(
            &h.store,
            &h.upstream,
            h.clock.clone(),
            merchants(),
            timing,
            0,
        );
        h
    }

    /// A second switch instance (the default merchants, this one's timing) sharing this one's
    /// store and Antom, whose clock runs `offset_ms` ahead of the shared time line (negative:
    /// behind).
    pub fn twin(&self, offset_ms: i64) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SkewedClock::new(self.clock.clone(), offset_ms));
        Self {
            core: core_over(
                &self.store,
                &self.upstream,
                clock,
                merchants(),
                self.core.timing().clone(),
                0,
            ),
            store: self.store.clone(),
            upstream: self.upstream.clone(),
            clock: self.clock.clone(),
            ids: IdGenerator::new(b"flow-tests"),
            offset_ms,
        }
    }

    /// What this instance's clock reads.
    pub fn now_ms(&self) -> i64 {
        self.core.clock().now_ms()
    }

    /// One pass of the deadline sweeper on this instance, as asw-reversal runs it: what is due
    /// by the clock-skew horizon, the core's last look first, then the gateway deadline unless
    /// the look settled it. Returns the journal ids it found due.
    pub async fn sweep(&self) -> Vec<String> {
        let horizon = self.core.timing().clock_skew().horizon(self.now_ms());
        let due = self.store.due_for_sweep(horizon, 100).await.expect("due");
        for (tag, id) in &due {
            if asw_core::ports::ClosingLook::last_look(&self.core, tag, id).await {
                continue;
            }
            let record = self
                .store
                .load(tag, id)
                .await
                .expect("load")
                .expect("record");
            self.core
                .apply(
                    record,
                    Event::GatewayDeadline,
                    "gateway deadline passed",
                    |_| {},
                )
                .await
                .expect("swept");
        }
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// Milliseconds since the test started (virtual).
    pub fn elapsed_ms(&self) -> i64 {
        self.clock.now_ms() - self.clock.epoch_ms()
    }

    /// The test's start, ms since the Unix epoch.
    pub fn t0(&self) -> i64 {
        self.clock.epoch_ms()
    }

    /// Waits `duration` of virtual time.
    pub async fn sleep(&self, duration: Duration) {
        self.clock.sleep(duration).await;
    }

    // -----------------------------------------------------------------------------------------
    // Requests

    /// The key of request number `n` of terminal `tid` of `M1`.
    pub fn key(&self, tid: &str, n: u32) -> RequestKey {
        self.key_of(MERCHANT, tid, n)
    }

    /// The key of request number `n` of a terminal of any merchant.
    pub fn key_of(&self, mid: &str, tid: &str, n: u32) -> RequestKey {
        let dedup_key = format!("{mid}|{tid}|20261122|{n:06}");
        RequestKey {
            origin: Origin::terminal(mid, tid),
            tag: self.ids.key_tag(&dedup_key),
            dedup_key,
            receipt_ref: format!("6326{n:08}"),
            local_time: None,
        }
    }

    /// A purchase of [`AMOUNT`] SGD, number `n` of `T1`.
    pub fn purchase_req(&self, n: u32) -> PurchaseRequest {
        self.purchase_from(T1, n)
    }

    /// A purchase of [`AMOUNT`] SGD, number `n` of terminal `tid`.
    pub fn purchase_from(&self, tid: &str, n: u32) -> PurchaseRequest {
        let request = self.key(tid, n);
        PurchaseRequest {
            payment_request_id: prid_of(&request),
            request,
            amount_minor: AMOUNT,
            currency_numeric: SGD,
            payment_code: PaymentCode::new(CODE),
            reference_order_id: None,
            content_digest: DIGEST.into(),
            while_running: WhileRunning::WaitForOutcome,
            store_terminal: None,
            store: None,
            description: None,
            metadata: Default::default(),
        }
    }

    /// A refund of `amount` of the purchase `original`, the refund being request `n` of `tid`.
    pub fn refund_req(
        &self,
        tid: &str,
        n: u32,
        original: &PurchaseRequest,
        amount: u64,
    ) -> RefundRequest {
        let request = self.key(tid, n);
        RefundRequest {
            refund_request_id: RefundRequestId::new(format!("RF{n:06}{}", request.tag)),
            request,
            amount_minor: amount,
            currency_numeric: SGD,
            original: by_prid(original),
            content_digest: format!("refund-{n}"),
        }
    }

    /// A void of `original` by terminal `tid`.
    pub fn void_req(&self, tid: &str, original: &PurchaseRequest) -> VoidRequest {
        VoidRequest {
            origin: Origin::terminal(MERCHANT, tid),
            receipt_ref: Some("VOID-RECEIPT".into()),
            amount_minor: original.amount_minor,
            original: by_prid(original),
        }
    }

    /// A reversal (request, not advice) by `T1` of its purchase `original`.
    pub fn reversal_req(&self, original: &PurchaseRequest) -> ReversalRequest {
        ReversalRequest {
            origin: original.request.origin.clone(),
            original: ReversedRequest {
                dedup_key: original.request.dedup_key.clone(),
                tag: original.request.tag.clone(),
                payment_request_id: original.payment_request_id.clone(),
            },
            amount_minor: original.amount_minor,
            of_purchase: true,
            advice: false,
        }
    }

    /// A status inquiry by terminal `tid` of `M1` about `original`.
    pub fn status_req(&self, tid: &str, original: &PurchaseRequest) -> StatusInquiry {
        StatusInquiry {
            origin: Origin::terminal(MERCHANT, tid),
            original: by_prid(original),
        }
    }

    /// A status inquiry by the original's own origin (a REST key, a terminal).
    pub fn status_req_for(&self, original: &PurchaseRequest) -> StatusInquiry {
        StatusInquiry {
            origin: original.request.origin.clone(),
            original: by_prid(original),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Running flows

    /// Runs a purchase and returns what the core answered.
    pub async fn purchase(&self, request: PurchaseRequest) -> Answer {
        let (reply, sent) = reply(Delivery::Works);
        self.core.purchase(request, reply).await;
        sent.only()
    }

    /// Runs a refund and returns what the core answered.
    pub async fn refund(&self, request: RefundRequest) -> Answer {
        let (reply, sent) = reply(Delivery::Works);
        self.core.refund(request, reply).await;
        sent.only()
    }

    /// Runs a void and returns what the core answered.
    pub async fn void(&self, request: VoidRequest) -> Answer {
        let (reply, sent) = reply(Delivery::Works);
        self.core.void(request, reply).await;
        sent.only()
    }

    /// Runs a reversal and returns what the core answered.
    pub async fn reverse(&self, request: ReversalRequest) -> Answer {
        let (reply, sent) = reply(Delivery::Works);
        self.core.reverse(request, reply).await;
        sent.only()
    }

    /// Runs a status inquiry and returns what the core answered.
    pub async fn status(&self, request: StatusInquiry) -> Answer {
        let (reply, sent) = reply(Delivery::Works);
        self.core.status(request, reply).await;
        sent.only()
    }

    /// Scripts `pay` S for `request` and runs it: an approved, handed-over purchase.
    pub async fn approved_purchase(&self, request: &PurchaseRequest) -> TransactionRecord {
        self.upstream
            .script_pay(request.payment_request_id.as_str(), [pay_ok("P-APPROVED")]);
        let answer = self.purchase(request.clone()).await;
        assert_eq!(answer.outcome, Outcome::Approved, "set-up purchase");
        self.record(&request.payment_request_id)
    }

    /// Scripts `pay` F for `request` and runs it: a declined purchase.
    pub async fn declined_purchase(&self, request: &PurchaseRequest) -> TransactionRecord {
        self.upstream.script_pay(
            request.payment_request_id.as_str(),
            [failed("USER_BALANCE_NOT_ENOUGH")],
        );
        let answer = self.purchase(request.clone()).await;
        assert!(
            matches!(answer.outcome, Outcome::Declined { .. }),
            "set-up purchase"
        );
        self.record(&request.payment_request_id)
    }

    /// Journals `request` as the purchase flow does before `pay`, and stops there: the record
    /// an instance leaves when it dies between `begin` and `pay` (or while `pay` is out).
    pub async fn journal_pending(&self, request: &PurchaseRequest) -> TransactionRecord {
        let now = self.now_ms();
        let t = self.core.timing().clone();
        let mut record = asw_testkit::fixtures::purchase(1, now);
        record.payment_request_id = request.payment_request_id.clone();
        record.tag = request.request.tag.clone();
        record.dedup_key = request.request.dedup_key.clone();
        record.origin = request.request.origin.clone();
        record.receipt_ref = request.request.receipt_ref.clone();
        record.content_digest = request.content_digest.clone();
        record.amount_minor = request.amount_minor;
        record.order_ref = request.reference_order_id.clone();
        record.call_over_at_ms = now + t.pay_timeout_ms + t.call_margin_ms;
        record.response_deadline_ms = now + t.response_deadline_ms;
        record.terminal_deadline_ms = now + t.terminal_timeout_ms;
        record.gateway_deadline_ms = now + t.gateway_deadline_ms;
        record.payment_expiry_ms = now + t.payment_expiry_ms;
        let begun = self.store.begin(&record).await;
        assert_eq!(begun, Ok(BeginOutcome::Started), "set-up begin");
        record
    }

    // -----------------------------------------------------------------------------------------
    // Inspection

    /// The journal record with this journal id (panics when there is none).
    pub fn record(&self, journal_id: &impl JournalId) -> TransactionRecord {
        let id = journal_id.journal_id();
        self.store
            .record(id)
            .unwrap_or_else(|| panic!("no journal record {id}"))
    }

    /// The queued SAF entries (ready, pending and delayed).
    pub fn queue(&self) -> Vec<QueuedItem> {
        self.store.snapshot().queue
    }

    /// The journal ids in the deadline index, with their due time.
    pub fn deadlines(&self) -> Vec<(String, i64)> {
        self.store
            .snapshot()
            .deadlines
            .into_iter()
            .map(|(_, id, due)| (id, due))
            .collect()
    }

    /// The events of one transaction's audit trail, oldest first.
    pub fn events(&self, journal_id: &impl JournalId) -> Vec<String> {
        self.store
            .audit_of(journal_id.journal_id())
            .into_iter()
            .map(|line| line.event)
            .collect()
    }
}

/// A core over the shared fakes with its own clock, merchants and timing.
fn core_over(
    store: &MemoryStore,
    upstream: &Arc<ScriptedUpstream>,
    clock: Arc<dyn Clock>,
    profiles: Vec<MerchantProfile>,
    timing: Timing,
    max_in_flight_payments: usize,
) -> Core {
    Core::new(
        upstream.clone(),
        Arc::new(store.clone()),
        clock,
        IdGenerator::new(b"flow-tests"),
        MerchantDirectory::new(profiles),
        CoreSettings {
            timing,
            payment_code_rule: PaymentCodeRule::default(),
            notify_url: None,
            order_description: "flow test".into(),
            max_in_flight_payments,
        },
    )
}

/// What a journal id can be read from.
pub trait JournalId {
    /// The id.
    fn journal_id(&self) -> &str;
}

impl JournalId for PaymentRequestId {
    fn journal_id(&self) -> &str {
        self.as_str()
    }
}

impl JournalId for RefundRequestId {
    fn journal_id(&self) -> &str {
        self.as_str()
    }
}

impl JournalId for str {
    fn journal_id(&self) -> &str {
        self
    }
}

/// The `paymentRequestId` a front derives for a key: anything ending with the key's tag.
pub fn prid_of(request: &RequestKey) -> PaymentRequestId {
    PaymentRequestId::new(format!(
        "261122{}{}",
        request.dedup_key.replace('|', ""),
        request.tag
    ))
}

/// Names `original` by its `paymentRequestId` alone.
pub fn by_prid(original: &PurchaseRequest) -> OriginalRef {
    OriginalRef {
        payment_request_id: Some(original.payment_request_id.as_str().to_string()),
        ..OriginalRef::default()
    }
}

/// The one SAF entry queued, as `(action, journal id, reason)` — panics unless exactly one.
pub fn only_entry(queue: &[QueuedItem]) -> &QueuedItem {
    assert_eq!(
        queue.len(),
        1,
        "expected exactly one queued entry: {queue:#?}"
    );
    &queue[0]
}

/// True for a `cancel` entry.
pub fn is_cancel(item: &QueuedItem) -> bool {
    item.entry.action == SafAction::Cancel
}

// ---------------------------------------------------------------------------------------------
// Antom answers

/// `pay` S with this `paymentId`.
pub fn pay_ok(payment_id: &str) -> UpstreamOutcome<PayReceipt> {
    UpstreamOutcome::Success(PayReceipt {
        payment_id: Some(payment_id.into()),
        wallet: Some("Alipay".into()),
        ..PayReceipt::default()
    })
}

/// Any call answered F with this result code.
pub fn failed<T>(result_code: &str) -> UpstreamOutcome<T> {
    UpstreamOutcome::Failed {
        result_code: result_code.into(),
        message: "scripted".into(),
    }
}

/// Any call answered U.
pub fn unknown<T>() -> UpstreamOutcome<T> {
    UpstreamOutcome::Unknown {
        reason: "U:UNKNOWN_EXCEPTION".into(),
    }
}

/// An inquiry that worked, reporting `status`.
pub fn inquiry(status: PaymentStatus) -> UpstreamOutcome<PaymentReport> {
    let success = status == PaymentStatus::Success;
    UpstreamOutcome::Success(PaymentReport {
        status,
        payment_id: success.then(|| "P-INQUIRED".to_string()),
        result_code: match status {
            PaymentStatus::Success => Some("SUCCESS".into()),
            PaymentStatus::Fail => Some("USER_BALANCE_NOT_ENOUGH".into()),
            PaymentStatus::Cancelled => Some("ORDER_IS_CLOSED".into()),
            PaymentStatus::Processing => None,
        },
        amount: Some((AMOUNT, "SGD".into())),
        wallet: success.then(|| "Alipay".to_string()),
        captured: None,
        paid_with: None,
    })
}

/// `refund` S.
pub fn refund_ok() -> UpstreamOutcome<RefundReceipt> {
    UpstreamOutcome::Success(RefundReceipt {
        refund_id: Some("RFD-1".into()),
        refund_time: None,
    })
}

/// `cancel` S.
pub fn cancel_ok() -> UpstreamOutcome<CancelReceipt> {
    UpstreamOutcome::Success(CancelReceipt::default())
}

// ---------------------------------------------------------------------------------------------
// The way back to the front

/// Whether writing the answer works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The write succeeds.
    Works,
    /// The write fails (connection gone): `Undelivered`.
    Fails,
}

/// What a [`TestReply`] was asked to write.
#[derive(Clone, Default)]
pub struct Sent(Arc<Mutex<Vec<Answer>>>);

impl Sent {
    /// Every answer written (or attempted), in order.
    pub fn all(&self) -> Vec<Answer> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The one answer written; panics unless exactly one was.
    pub fn only(&self) -> Answer {
        let all = self.all();
        assert_eq!(all.len(), 1, "expected exactly one answer: {all:#?}");
        all.into_iter().next().unwrap_or_else(|| unreachable!())
    }
}

/// A [`Reply`] that records the answer, and fails the write when told to.
pub struct TestReply {
    sent: Sent,
    delivery: Delivery,
}

#[async_trait]
impl Reply for TestReply {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        self.sent
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(answer.clone());
        match self.delivery {
            Delivery::Works => Ok(()),
            Delivery::Fails => Err(Undelivered),
        }
    }
}

/// A reply for one request, and the handle to read what it was sent.
pub fn reply(delivery: Delivery) -> (Box<dyn Reply>, Sent) {
    let sent = Sent::default();
    let reply = TestReply {
        sent: sent.clone(),
        delivery,
    };
    (Box::new(reply), sent)
}

/// Status report shorthand re-exported for the test modules.
pub use asw_core::ports::PaymentStatus as Status;
pub use asw_core::state::{CancelReason, Delivery as Handed, TxnState};
pub use asw_testkit::fakes::{CallKind, Fault, StoreOp};
