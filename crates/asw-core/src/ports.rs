//! The ports: small traits the core drives. Adapters (Redis, the Antom HTTP client) implement
//! them; the core never knows which.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::domain::{MerchantProfile, Money, PaymentCode, PaymentRequestId, RefundRequestId};
use crate::record::{Change, SafEntry, TransactionRecord};

// ---------------------------------------------------------------------------------------------
// Upstream (Antom)

/// The three outcomes of any Antom call. A timeout, a reset, a 5xx, a `U`, an unsigned or badly
/// signed answer are all `Unknown`: never a decline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamOutcome<T> {
    /// Antom answered `S` (for inquiries: the inquiry worked; the status is inside).
    Success(T),
    /// Antom answered a definitive `F` with this result code.
    Failed {
        /// Antom `resultCode`.
        result_code: String,
        /// Antom `resultMessage` (human text; never parsed).
        message: String,
    },
    /// Nobody can tell what happened.
    Unknown {
        /// Short machine-friendly reason (`U:UNKNOWN_EXCEPTION`, `timeout`, `bad_signature`, …).
        reason: String,
    },
}

impl<T> UpstreamOutcome<T> {
    /// The outcome class as a metric label: `S`, `F` or `U`.
    pub fn status_label(&self) -> &'static str {
        match self {
            UpstreamOutcome::Success(_) => "S",
            UpstreamOutcome::Failed { .. } => "F",
            UpstreamOutcome::Unknown { .. } => "U",
        }
    }
}

/// Which in-store scenario a `pay` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayScenario {
    /// The customer shows a code, the merchant scans it (User-Presented Mode).
    PaymentCode,
    /// The merchant shows a dynamic QR (Order Code); no payment code.
    OrderCode,
}

/// Everything a `pay` needs, in domain terms.
#[derive(Clone, Debug)]
pub struct PayCommand {
    /// Configured Antom client to use.
    pub client: String,
    /// Idempotency key.
    pub payment_request_id: PaymentRequestId,
    /// Amount and currency.
    pub amount: Money,
    /// The scanned code (`None` for Order Code).
    pub payment_code: Option<PaymentCode>,
    /// Scenario.
    pub scenario: PayScenario,
    /// Merchant and store data (shared with the directory, not copied per payment).
    pub merchant: Arc<MerchantProfile>,
    /// F41 of the terminal (Antom `order.env.storeTerminalId`).
    pub terminal_id: String,
    /// Terminal local time of the request (Antom `order.env.storeTerminalRequestTime`).
    pub terminal_request_time: OffsetDateTime,
    /// Antom `order.referenceOrderId` (e.g. F62 invoice), when given.
    pub reference_order_id: Option<String>,
    /// Antom `order.orderDescription`.
    pub order_description: String,
    /// Where Antom sends `notifyPayment`.
    pub notify_url: Option<String>,
    /// Antom `paymentExpiryTime`: after it the payment can no longer succeed.
    pub payment_expiry: Option<OffsetDateTime>,
}

/// What a successful `pay` tells us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PayReceipt {
    /// Antom `paymentId`.
    pub payment_id: Option<String>,
    /// Antom `paymentTime`, as sent.
    pub payment_time: Option<String>,
    /// `pspCustomerInfo.pspName`, for the receipt.
    pub wallet: Option<String>,
    /// Order Code scenario: the code to display (`orderCodeForm.codeDetails[].codeValue`).
    /// An Order Code `pay` that answers one created the code: it is not paid.
    pub order_code: Option<String>,
    /// Order Code scenario: `orderCodeForm.expireTime`, as Antom sent it.
    pub order_code_expires_at: Option<String>,
}

/// An online Checkout Payment (`pay` with `CASHIER_PAYMENT`): the buyer pays on the method's
/// page, and the result comes by notification or inquiry.
#[derive(Clone, Debug)]
pub struct CheckoutCommand {
    /// Configured Antom client to use.
    pub client: String,
    /// Idempotency key of this attempt.
    pub payment_request_id: PaymentRequestId,
    /// Amount and currency.
    pub amount: Money,
    /// Merchant data (shared with the directory).
    pub merchant: Arc<MerchantProfile>,
    /// The method, environment and return URL.
    pub checkout: crate::record::OnlineCheckout,
    /// Antom `order.referenceOrderId`: the merchant's order, the same across attempts.
    pub reference_order_id: String,
    /// Antom `order.orderDescription`.
    pub order_description: String,
    /// Where Antom sends `notifyPayment` (the switch's own endpoint).
    pub notify_url: Option<String>,
    /// Antom `paymentExpiryTime`: the buyer may pay until then.
    pub payment_expiry: OffsetDateTime,
}

/// How an online payment started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckoutStarted {
    /// Created at Antom (`U PAYMENT_IN_PROCESS` with a page or code): the buyer goes on there.
    AwaitingBuyer {
        /// Antom `paymentId`, when given.
        payment_id: Option<String>,
        /// Where the buyer goes on.
        next: crate::record::NextAction,
    },
    /// Paid at once (`S`).
    Paid(PayReceipt),
}

/// `createPaymentSession` (APO Checkout Page, seed 002): the buyer picks the method on
/// Antom's page. Sent once per `paymentRequestId`: after a `U` or no answer the next session
/// needs a new id.
#[derive(Clone, Debug)]
pub struct SessionCommand {
    /// Configured Antom client to use.
    pub client: String,
    /// The id of the payment the session makes.
    pub payment_request_id: PaymentRequestId,
    /// Amount and currency.
    pub amount: Money,
    /// Merchant data (shared with the directory).
    pub merchant: Arc<MerchantProfile>,
    /// Antom `order.referenceOrderId`: the merchant's order, the same across attempts.
    pub reference_order_id: String,
    /// Antom `order.orderDescription`.
    pub order_description: String,
    /// Where the buyer's browser goes back to (`paymentRedirectUrl`).
    pub return_url: String,
    /// Where Antom sends `notifyPayment` (the switch's own endpoint).
    pub notify_url: Option<String>,
    /// Antom `paymentSessionExpiryTime`: the page takes no payment after it.
    pub session_expiry: OffsetDateTime,
    /// The methods the page offers (`paymentMethodType`s), in order; empty: all contracted.
    pub methods: Vec<String>,
    /// The buyer, when the merchant named one (`order.buyer`).
    pub buyer: Option<crate::record::BuyerDetails>,
}

/// What a created session gives the buyer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionCreated {
    /// `paymentSessionData`, for the page embedded with Antom's SDK.
    pub session_data: String,
    /// `normalUrl`: the hosted Checkout Page.
    pub url: Option<String>,
    /// `paymentSessionId`.
    pub session_id: Option<String>,
}

/// `capture` of an authorized card payment, in full.
#[derive(Clone, Debug)]
pub struct CaptureCommand {
    /// Configured Antom client.
    pub client: String,
    /// Idempotency key: the same for every attempt of this payment's capture.
    pub capture_request_id: String,
    /// Antom `paymentId` of the authorization.
    pub payment_id: String,
    /// What to capture.
    pub amount: Money,
}

/// What a successful capture tells us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureReceipt {
    /// Antom `captureId`.
    pub capture_id: Option<String>,
}

/// `inquiryPayment` by `paymentRequestId`.
#[derive(Clone, Debug)]
pub struct InquiryCommand {
    /// Configured Antom client.
    pub client: String,
    /// The payment to look up.
    pub payment_request_id: PaymentRequestId,
}

/// Antom's `paymentStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentStatus {
    /// Paid.
    Success,
    /// Failed: nothing charged.
    Fail,
    /// Still in progress.
    Processing,
    /// Cancelled (closed unpaid, or reversed with a full refund).
    Cancelled,
}

/// What a successful inquiry tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentReport {
    /// Payment status.
    pub status: PaymentStatus,
    /// Antom `paymentId`.
    pub payment_id: Option<String>,
    /// Antom `paymentResultCode` (reason of the status).
    pub result_code: Option<String>,
    /// `paymentAmount` as (minor units, alpha-3 currency), when present.
    pub amount: Option<(u64, String)>,
    /// Wallet name.
    pub wallet: Option<String>,
    /// Card authorizations: whether a capture of it succeeded (`Some(true)`), failed
    /// (`Some(false)`), or none is final yet (`None`), from the inquiry's transactions.
    pub captured: Option<bool>,
    /// Online payments: how the buyer paid (method, acquirer, card result), when reported.
    pub paid_with: Option<crate::record::PaidWith>,
}

/// `cancel` by `paymentRequestId`.
#[derive(Clone, Debug)]
pub struct CancelCommand {
    /// Configured Antom client.
    pub client: String,
    /// The payment to cancel.
    pub payment_request_id: PaymentRequestId,
}

/// What a successful cancel tells us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CancelReceipt {
    /// Antom `cancelTime`, as sent.
    pub cancel_time: Option<String>,
}

/// `refund` of a payment.
#[derive(Clone, Debug)]
pub struct RefundCommand {
    /// Configured Antom client.
    pub client: String,
    /// Idempotency key of the refund.
    pub refund_request_id: RefundRequestId,
    /// Antom `paymentId` of the payment to refund.
    pub payment_id: String,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// ISO 4217 alpha-3 currency of the payment.
    pub currency: String,
    /// Antom `refundReason`.
    pub reason: Option<String>,
}

/// What a successful refund tells us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundReceipt {
    /// Antom `refundId`.
    pub refund_id: Option<String>,
    /// Antom `refundTime`, as sent.
    pub refund_time: Option<String>,
}

/// The Antom side, as the core sees it. Implementations classify every answer and never retry:
/// retry policy belongs to the core and the reversal engine.
#[async_trait]
pub trait Upstream: Send + Sync + 'static {
    /// `pay`.
    async fn pay(&self, command: &PayCommand) -> UpstreamOutcome<PayReceipt>;
    /// `pay` for an online Checkout Payment.
    async fn checkout(&self, command: &CheckoutCommand) -> UpstreamOutcome<CheckoutStarted>;
    /// `capture` of an authorization.
    async fn capture(&self, command: &CaptureCommand) -> UpstreamOutcome<CaptureReceipt>;
    /// `inquiryPayment`.
    async fn inquire_payment(&self, command: &InquiryCommand) -> UpstreamOutcome<PaymentReport>;
    /// `cancel`.
    async fn cancel(&self, command: &CancelCommand) -> UpstreamOutcome<CancelReceipt>;
    /// `refund`.
    async fn refund(&self, command: &RefundCommand) -> UpstreamOutcome<RefundReceipt>;
    /// `createPaymentSession`. Adapters without it answer `Unknown`, which the session flow
    /// treats as "no session": its attempt is cancelled and the merchant asks again.
    async fn create_session(&self, command: &SessionCommand) -> UpstreamOutcome<SessionCreated> {
        let _ = command;
        UpstreamOutcome::Unknown {
            reason: "create_session_unsupported".to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Journal (the store)

/// Why the store could not do what was asked. Every variant means "nothing was written" unless
/// it says otherwise.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time; retrying later is safe.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The write may or may not have happened (the connection broke after sending it).
    /// Callers must re-read before deciding anything.
    #[error("store outcome unknown: {0}")]
    Indeterminate(String),
    /// The store answered something this version cannot read (a bug or a foreign writer).
    #[error("store data invalid: {0}")]
    Corrupt(String),
}

/// The answer to [`Journal::begin`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BeginOutcome {
    /// The record was created: the caller owns the transaction.
    Started,
    /// A record with the same duplicate-detection key exists (a re-sent request).
    Existing(Box<TransactionRecord>),
    /// A reversal for this key arrived first: the original must be declined, not sent.
    Tombstoned,
    /// Another attempt of the same merchant order is in flight or holds the success (the
    /// record of that attempt): at most one success per order, so this one is not started.
    OrderTaken(Box<TransactionRecord>),
}

/// The answer to [`Journal::commit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Written, with its side effects.
    Committed,
    /// The record changed meanwhile (or vanished): nothing written. Reload and decide again.
    Conflict(Option<Box<TransactionRecord>>),
}

/// A reversal whose original the journal has never seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// Journal shard tag derived from the original's key.
    pub tag: String,
    /// The original's duplicate-detection key.
    pub dedup_key: String,
    /// The original's `paymentRequestId`, derived from its key.
    pub payment_request_id: PaymentRequestId,
    /// When the reversal arrived.
    pub created_at_ms: i64,
}

/// The answer to [`Journal::reverse_unseen`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TombstoneOutcome {
    /// Tombstone and cancel written.
    Created,
    /// A tombstone for this key already existed: nothing new was written.
    AlreadyTombstoned,
    /// The original exists after all (it arrived meanwhile): handle it as a normal reversal.
    RecordExists(Box<TransactionRecord>),
}

/// The transaction journal. Every write is atomic with its side effects.
#[async_trait]
pub trait Journal: Send + Sync + 'static {
    /// Creates the record of a new transaction, unless its duplicate-detection key is already
    /// taken (by a record or a tombstone). Adds it to the deadline index. Durable before `pay`.
    async fn begin(&self, record: &TransactionRecord) -> Result<BeginOutcome, StoreError>;
    /// Loads a record by journal id (`paymentRequestId`, or `refundRequestId` for refunds).
    async fn load(
        &self,
        tag: &str,
        journal_id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError>;
    /// Loads a record after a write to it ended `Indeterminate`, returning only what is as
    /// durable as an acknowledged write: when the store confirms writes beyond the node that
    /// took them (replicas), a record that node merely holds is not proof, and the store answers
    /// `Indeterminate` until it can confirm. Stores whose reads only see durable data need not
    /// override it.
    async fn load_confirmed(
        &self,
        tag: &str,
        journal_id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.load(tag, journal_id).await
    }
    /// Every attempt of a merchant order (`<merchant>|<order id>`, see
    /// [`TransactionRecord::order_lock`]), oldest first; the order's tag names its shard.
    async fn order_attempts(
        &self,
        tag: &str,
        order: &str,
    ) -> Result<Vec<TransactionRecord>, StoreError>;
    /// A page of a merchant's REST payments, newest first: created strictly before `before`
    /// (created ms, journal id; ties ordered by journal id), and after `created_after` ms.
    async fn merchant_payments(
        &self,
        merchant_id: &str,
        before: Option<(i64, String)>,
        created_after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>, StoreError>;
    /// Loads the record that holds a duplicate-detection key.
    async fn load_by_dedup_key(
        &self,
        tag: &str,
        dedup_key: &str,
    ) -> Result<Option<TransactionRecord>, StoreError>;
    /// Compare-and-set on the record's version, with the change's side effects (SAF entry,
    /// deadline index, audit stream) in the same atomic step. When the change queues a SAF
    /// entry, `Committed` means it is durable as configured.
    async fn commit(&self, change: &Change) -> Result<CommitOutcome, StoreError>;
    /// Records a reversal for an original never seen: a tombstone (so a late original is
    /// declined) and its cancel, atomically with respect to [`Journal::begin`].
    async fn reverse_unseen(
        &self,
        tombstone: &Tombstone,
        cancel: &SafEntry,
    ) -> Result<TombstoneOutcome, StoreError>;
    /// Journal ids (with tags) whose gateway deadline is at or before `now_ms`.
    async fn due_for_sweep(
        &self,
        now_ms: i64,
        max: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Clock

/// Wall-clock time and waiting, behind a port so that tests can move it: every wait of the
/// core and the reversal engine goes through [`Clock::sleep`], so flows run in virtual time
/// under test.
#[async_trait]
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Waits for `duration`.
    async fn sleep(&self, duration: std::time::Duration);

    /// The current time as a date-time in UTC.
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.now_ms()) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
    }

    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The last look before closing

/// Asked by the deadline sweeper just before it closes a transaction: the core's chance to
/// learn from Antom an outcome it missed (a lost notification), so a buyer who paid is
/// reported paid instead of being cancelled and refunded. Whatever it does, the sweeper then
/// applies the gateway deadline through the state table, unless the look settled it.
#[async_trait]
pub trait ClosingLook: Send + Sync + 'static {
    /// Refreshes the transaction from Antom when it is one the switch closes on a buyer's
    /// behalf (an online payment or a terminal's order code still awaiting its buyer). Returns true when the look itself
    /// settled it (Antom had a final answer: paid, authorized, failed or expired), so the
    /// sweeper must leave it alone; false for everything it did not touch.
    async fn last_look(&self, tag: &str, journal_id: &str) -> bool;
}
