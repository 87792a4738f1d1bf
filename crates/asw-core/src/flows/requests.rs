//! The requests a front hands to the core, in domain terms: the front has already derived every
//! id from its own wire format (a terminal's key, an API call's idempotency key).

use super::*;

/// How a front names one request: the keys the journal finds it by, derived by the front from
/// its wire format and opaque to the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestKey {
    /// Who sent it.
    pub origin: Origin,
    /// The front's duplicate-detection key: a re-sent request carries the same one.
    pub dedup_key: String,
    /// The journal shard tag of every key of this request ([`IdGenerator::key_tag`]).
    pub tag: String,
    /// What the requester is given to name the transaction later (a terminal's RRN).
    pub receipt_ref: String,
    /// The requester's local time, as it sent it (in the merchant's UTC offset), when it sent
    /// one: Antom's `storeTerminalRequestTime`.
    pub local_time: Option<PrimitiveDateTime>,
}

/// How a follow-up names the original it acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OriginalRef {
    /// Antom `paymentRequestId`: names any payment of the journal (then the scope decides).
    pub payment_request_id: Option<String>,
    /// One of the sender's own earlier requests, by its duplicate-detection key and tag (a
    /// terminal's RRN turned back into its key).
    pub own_request: Option<(String, String)>,
    /// The receipt reference the requester quoted: when given, it must be the original's.
    pub receipt_ref: Option<String>,
    /// Antom `paymentId`: names nothing alone; when given, it must be the original's.
    pub payment_id: Option<String>,
}

/// A payment with a customer-presented code.
#[derive(Clone, Debug)]
pub struct PurchaseRequest {
    /// The request's identity.
    pub request: RequestKey,
    /// Its `paymentRequestId`, derived by the front.
    pub payment_request_id: PaymentRequestId,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// ISO 4217 numeric currency.
    pub currency_numeric: u16,
    /// The scanned code.
    pub payment_code: PaymentCode,
    /// The merchant's order reference, when given (Antom `referenceOrderId`).
    pub reference_order_id: Option<String>,
    /// Digest of the request content (a re-send with other content is refused).
    pub content_digest: String,
    /// What a re-send finds while the first is still running.
    pub while_running: WhileRunning,
    /// Antom's `storeTerminalId` when it is not the origin's terminal (a REST caller names the
    /// till it stands for, or none: then its API key id is sent).
    pub store_terminal: Option<String>,
    /// The merchant's store the payment is made in (Antom `store.referenceStoreId`), when the
    /// requester named one: it must be one of the merchant's configured stores.
    pub store: Option<String>,
    /// Antom's `orderDescription` when the requester gave one (else the configured default).
    pub description: Option<String>,
    /// The requester's key/value pairs, kept with the payment.
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// A merchant-presented order code: the terminal asks for a dynamic QR to display, the buyer
/// scans and pays it in the wallet (Antom's in-store `OrderCode` scenario). No payment code.
#[derive(Clone, Debug)]
pub struct OrderCodeRequest {
    /// The request's identity.
    pub request: RequestKey,
    /// Its `paymentRequestId`, derived by the front (as a purchase's: a reversal derives it).
    pub payment_request_id: PaymentRequestId,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// ISO 4217 numeric currency.
    pub currency_numeric: u16,
    /// The merchant's order reference, when given (Antom `referenceOrderId`).
    pub reference_order_id: Option<String>,
    /// Digest of the request content (a re-send with other content is refused).
    pub content_digest: String,
}

/// How a re-sent request is answered while the first one is still running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhileRunning {
    /// Wait for the outcome (up to the response deadline) and answer it: a terminal re-sends
    /// because it has no other way to learn the outcome.
    #[default]
    WaitForOutcome,
    /// Refuse at once with [`Refusal::StillRunning`]: a REST caller retries or reads the
    /// payment later (the Idempotency-Key draft's 409).
    Refuse,
}

/// A refund, full or partial.
#[derive(Clone, Debug)]
pub struct RefundRequest {
    /// The refund's own identity.
    pub request: RequestKey,
    /// Its `refundRequestId`, derived by the front from the refund's own key.
    pub refund_request_id: RefundRequestId,
    /// The amount to refund, in minor units.
    pub amount_minor: u64,
    /// ISO 4217 numeric currency.
    pub currency_numeric: u16,
    /// The purchase being refunded.
    pub original: OriginalRef,
    /// Digest of the request content.
    pub content_digest: String,
}

/// A void: the cancel of a whole payment.
#[derive(Clone, Debug)]
pub struct VoidRequest {
    /// Who sent it.
    pub origin: Origin,
    /// The void's own receipt reference, for the answer.
    pub receipt_ref: Option<String>,
    /// Must equal the original amount.
    pub amount_minor: u64,
    /// The purchase being voided.
    pub original: OriginalRef,
}

/// The original a reversal names, by the identity its front derived for it: a reversal names
/// the sender's own request, and may arrive before it (or after the journal lost it).
#[derive(Clone, Debug)]
pub struct ReversedRequest {
    /// The original's duplicate-detection key.
    pub dedup_key: String,
    /// Its journal shard tag.
    pub tag: String,
    /// Its `paymentRequestId`, derived from its key.
    pub payment_request_id: PaymentRequestId,
}

/// A reversal request or advice: cancel whatever the original did.
#[derive(Clone, Debug)]
pub struct ReversalRequest {
    /// Who sent it.
    pub origin: Origin,
    /// The original.
    pub original: ReversedRequest,
    /// The original amount.
    pub amount_minor: u64,
    /// Whether the original was a purchase (a void or a refund cannot be undone at Antom).
    pub of_purchase: bool,
    /// An advice is acknowledged once queued and never refused as a duplicate.
    pub advice: bool,
}

/// A status inquiry.
#[derive(Clone, Debug)]
pub struct StatusInquiry {
    /// Who asks.
    pub origin: Origin,
    /// The transaction asked about.
    pub original: OriginalRef,
}

/// What applying a `notifyPayment` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// The notification moved the transaction to approved.
    Applied,
    /// The notification authorized a card payment: an automatic capture is due
    /// ([`crate::flows::Core::capture_due`]).
    Authorized,
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
            NotifyOutcome::Applied | NotifyOutcome::Authorized => "applied",
            NotifyOutcome::Ignored => "ignored",
            NotifyOutcome::Mismatch => "mismatch",
            NotifyOutcome::Unknown => "unknown_payment",
        }
    }
}
