//! The requests a front hands to the core.

use super::*;

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
    /// Whether the original was a purchase (a void or a refund cannot be undone at Antom).
    pub of_purchase: bool,
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
