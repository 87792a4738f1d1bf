//! Domain types shared by every flow. Nothing here knows ISO 8583 framing, HTTP or Redis.

use std::fmt;

use iso_currency::Currency;
use serde::{Deserialize, Serialize};

/// Antom's `paymentRequestId`: the idempotency key of one payment attempt (at most 64 chars).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentRequestId(String);

impl PaymentRequestId {
    /// Wraps an id that was produced by [`crate::ids`] or read back from the journal.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as sent to Antom.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The journal shard tag embedded in the id (its last 8 hex characters), see [`crate::ids`].
    pub fn key_tag(&self) -> Option<&str> {
        let len = self.0.len();
        if len < 8 {
            return None;
        }
        let tag = self.0.get(len - 8..)?;
        tag.bytes().all(|b| b.is_ascii_hexdigit()).then_some(tag)
    }
}

impl fmt::Debug for PaymentRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentRequestId({})", self.0)
    }
}

impl fmt::Display for PaymentRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Antom's `refundRequestId`: the idempotency key of one refund.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RefundRequestId(String);

impl RefundRequestId {
    /// Wraps an id produced by [`crate::ids`].
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as sent to Antom.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RefundRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer's wallet payment code: a bearer token, so it is never shown in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentCode(String);

impl PaymentCode {
    /// Wraps a scanned code; validation is [`PaymentCodeRule::check`]'s job.
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    /// The code in clear, for the one place that must send it (the Antom `pay` request).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The code with all but the first 4 and last 4 characters replaced by `*`.
    pub fn masked(&self) -> String {
        mask_middle(&self.0)
    }
}

/// Masks all but the first and last four characters (everything when shorter than 12).
pub fn mask_middle(value: &str) -> String {
    asw_mask::mask_middle(value)
}

impl fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentCode({})", self.masked())
    }
}

impl fmt::Display for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Which payment codes the switch accepts before asking Antom (seed 003: 17–32 digits, 25–30).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentCodeRule {
    /// Shortest accepted code, in digits.
    pub min_len: usize,
    /// Longest accepted code, in digits (Antom asks acquirers to stay open to longer codes).
    pub max_len: usize,
    /// Accepted two-digit prefixes; empty accepts any prefix.
    pub prefixes: Vec<String>,
}

impl Default for PaymentCodeRule {
    fn default() -> Self {
        Self {
            min_len: 17,
            max_len: 32,
            prefixes: ["25", "26", "27", "28", "29", "30"]
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }
}

impl PaymentCodeRule {
    /// Checks a scanned code; the error says what is wrong without echoing the code.
    pub fn check(&self, code: &str) -> Result<(), &'static str> {
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("payment code must be digits only");
        }
        if code.len() < self.min_len || code.len() > self.max_len {
            return Err("payment code length out of range");
        }
        if !self.prefixes.is_empty() && !self.prefixes.iter().any(|p| code.starts_with(p.as_str()))
        {
            return Err("payment code prefix not accepted");
        }
        Ok(())
    }
}

/// An amount in minor units of an ISO 4217 currency, as Antom expects it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Money {
    /// Value in the currency's smallest unit.
    pub minor_units: u64,
    /// The currency.
    pub currency: Currency,
}

/// Why an amount/currency pair cannot be turned into [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a known ISO 4217 numeric code.
    #[error("unknown ISO 4217 numeric currency code {0}")]
    UnknownCurrency(u16),
    /// The currency has no minor-unit exponent (e.g. gold, testing codes): not payable.
    #[error("currency {0} has no minor unit and cannot be used for payments")]
    NotACurrency(&'static str),
    /// Zero amounts are not payments.
    #[error("amount must be greater than zero")]
    Zero,
}

impl Money {
    /// Builds money from minor units and an ISO 4217 numeric currency code.
    pub fn from_numeric_currency(
        minor_units: u64,
        numeric_currency: u16,
    ) -> Result<Self, MoneyError> {
        let currency = Currency::from_numeric(numeric_currency)
            .ok_or(MoneyError::UnknownCurrency(numeric_currency))?;
        if currency.exponent().is_none() {
            return Err(MoneyError::NotACurrency(currency.code()));
        }
        if minor_units == 0 {
            return Err(MoneyError::Zero);
        }
        Ok(Self {
            minor_units,
            currency,
        })
    }

    /// ISO 4217 alpha-3 code, as Antom wants it.
    pub fn currency_code(&self) -> &'static str {
        self.currency.code()
    }

    /// ISO 4217 numeric code.
    pub fn currency_numeric(&self) -> u16 {
        self.currency.numeric()
    }

    /// Antom's `value`: minor units as a decimal string.
    pub fn value_string(&self) -> String {
        self.minor_units.to_string()
    }
}

/// Which way in a request came.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WayIn {
    /// A terminal over ISO 8583.
    #[default]
    Terminal,
    /// A merchant's system over the REST API.
    Rest,
}

/// Who made a request: the merchant, and the terminal (or, for the REST front, the API key) it
/// came through. Every lookup of a payment is scoped by it: no origin reads or acts on another
/// merchant's payment, nor on another terminal's beyond the merchant's follow-up scope.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Origin {
    /// The merchant, trailing spaces removed.
    pub merchant_id: String,
    /// The terminal it came through (for the REST front: the API key id), trailing spaces
    /// removed.
    pub terminal_id: String,
    /// The way in.
    #[serde(default)]
    pub way_in: WayIn,
}

impl Origin {
    /// A terminal of a merchant.
    pub fn terminal(merchant_id: impl Into<String>, terminal_id: impl Into<String>) -> Self {
        Self {
            merchant_id: merchant_id.into(),
            terminal_id: terminal_id.into(),
            way_in: WayIn::Terminal,
        }
    }

    /// A merchant's system calling the REST API with one of the merchant's API keys.
    pub fn rest(merchant_id: impl Into<String>, api_key_id: impl Into<String>) -> Self {
        Self {
            merchant_id: merchant_id.into(),
            terminal_id: api_key_id.into(),
            way_in: WayIn::Rest,
        }
    }
}

/// What kind of transaction a journal record describes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TxnKind {
    /// A customer-presented code purchase (`pay`).
    Purchase,
    /// A refund of an earlier purchase (`refund`).
    Refund,
}

/// How the core's answer to a terminal is classified, for metrics and replay.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeClass {
    /// 39 = 00.
    Approved,
    /// A definitive decline: nothing charged.
    Declined,
    /// Unknown after the polling budget: cancel queued, 91 answered.
    TimedOut,
    /// Rejected before anything was sent upstream (format, merchant, store down…).
    Rejected,
}

/// Merchant and store data Antom needs in `pay`, configured per merchant id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantProfile {
    /// The merchant id its terminals and API keys send.
    pub merchant_id: String,
    /// Which configured Antom client (client id + keys) serves this merchant.
    #[serde(default = "default_client")]
    pub client: String,
    /// Antom `referenceMerchantId`.
    pub reference_merchant_id: String,
    /// Antom `merchantName`.
    pub merchant_name: String,
    /// Antom `merchantMCC` (and `storeMCC` unless overridden).
    pub mcc: String,
    /// Antom `store.referenceStoreId`.
    pub store_id: String,
    /// Antom `store.storeName`.
    pub store_name: String,
    /// Antom `store.storeMCC`; defaults to `mcc`.
    #[serde(default)]
    pub store_mcc: Option<String>,
    /// Antom `settlementStrategy.settlementCurrency` (alpha-3), sent with `CONNECT_WALLET`.
    #[serde(default)]
    pub settlement_currency: Option<String>,
    /// Antom `merchantRegion` (ISO 3166 alpha-2), when the contract needs it.
    #[serde(default)]
    pub merchant_region: Option<String>,
    /// The store's UTC offset in minutes, to turn a terminal's local time into
    /// `storeTerminalRequestTime`.
    #[serde(default)]
    pub utc_offset_minutes: i16,
    /// Which of the merchant's terminals may act on a payment after it was made (void, refund,
    /// status inquiry): only the terminal that made it (the default), any terminal of the same
    /// store, or any terminal of the merchant (a returns desk).
    #[serde(default)]
    pub follow_ups: FollowUpScope,
    /// Source networks (CIDR, e.g. `10.20.0.0/16`) the merchant's terminals may connect from.
    /// Empty: any source. Checked on every message, whatever the listener's TLS settings.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
    /// The merchant's keys to the REST API: an id and the SHA-256 of the secret (never the
    /// secret itself). Several keys let a merchant rotate without downtime.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    /// How long the merchant's own system waits for a REST payment before it gives up, when the
    /// merchant declared it. The switch's closing time must be shorter (seed 003), or the
    /// merchant could give up on a payment the switch still means to deliver; `check-config`
    /// warns when it is not.
    #[serde(default)]
    pub rest_timeout_ms: Option<u64>,
    /// Where the merchant receives its events (signed per the Standard Webhooks spec), when it
    /// wants them.
    #[serde(default)]
    pub webhook: Option<MerchantWebhookConfig>,
    /// Terminals allowed to transact for this merchant. As configured; the
    /// [`crate::merchants::MerchantDirectory`] moves them into its index, so profiles handed out
    /// by the directory carry none.
    #[serde(default)]
    pub terminals: Vec<TerminalProfile>,
}

/// One REST API key of a merchant, as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The key's public id (in logs and the audit trail; never secret).
    pub id: String,
    /// Lowercase hex SHA-256 of the secret the merchant sends as `Authorization: Bearer`.
    pub sha256: String,
}

/// A merchant's event endpoint, as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantWebhookConfig {
    /// The URL events are POSTed to (`https://` in production).
    pub url: String,
    /// A file holding the signing secret(s), one `whsec_<base64>` per line: during a rotation
    /// both are listed and every event carries a signature by each.
    pub secret_file: std::path::PathBuf,
}

fn default_client() -> String {
    "default".to_string()
}

/// One terminal of a merchant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalProfile {
    /// The terminal id.
    pub terminal_id: String,
    /// A disabled terminal is declined with 58.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Whether this terminal may send refunds (0200 `200000`).
    #[serde(default = "enabled")]
    pub refunds: bool,
    /// The store the terminal stands in, for `follow_ups = "store"`; defaults to the
    /// merchant's `store_id`.
    #[serde(default)]
    pub store_id: Option<String>,
}

/// Who may act on a payment after it was made: the authority of follow-ups (void, refund,
/// status inquiry) over an original. A payment outside the sender's scope is answered exactly
/// like one that does not exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FollowUpScope {
    /// Only the terminal that made the payment.
    #[default]
    Terminal,
    /// Any terminal of the merchant in the same store.
    Store,
    /// Any terminal of the merchant.
    Merchant,
}

impl FollowUpScope {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FollowUpScope::Terminal => "terminal",
            FollowUpScope::Store => "store",
            FollowUpScope::Merchant => "merchant",
        }
    }
}

fn enabled() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_payment_codes() {
        let code = PaymentCode::new("281012345678901234");
        assert_eq!(code.masked(), "2810**********1234");
        assert_eq!(format!("{code:?}"), "PaymentCode(2810**********1234)");
        assert_eq!(format!("{code}"), "2810**********1234");
        assert_eq!(mask_middle("12345"), "*****");
    }

    #[test]
    fn payment_code_rule_follows_seed_003() {
        let rule = PaymentCodeRule::default();
        assert!(rule.check("281012345678901234").is_ok());
        assert!(rule.check("30123456789012345").is_ok());
        assert!(rule.check("2410123456789012345").is_err());
        assert!(rule.check("2810123456789012a").is_err());
        assert!(rule.check("2810").is_err());
        assert!(rule.check(&"2".repeat(33)).is_err());
        let open = PaymentCodeRule {
            max_len: 64,
            prefixes: vec![],
            ..PaymentCodeRule::default()
        };
        assert!(open.check(&"9".repeat(40)).is_ok());
    }

    #[test]
    fn money_uses_iso4217_exponents() {
        let sgd = Money::from_numeric_currency(1234, 702).unwrap();
        assert_eq!(sgd.currency_code(), "SGD");
        assert_eq!(sgd.value_string(), "1234");
        let jpy = Money::from_numeric_currency(1000, 392).unwrap();
        assert_eq!(jpy.currency.exponent(), Some(0));
        assert_eq!(
            Money::from_numeric_currency(1, 1),
            Err(MoneyError::UnknownCurrency(1))
        );
        assert!(matches!(
            Money::from_numeric_currency(1, 999),
            Err(MoneyError::NotACurrency("XXX"))
        ));
        assert_eq!(Money::from_numeric_currency(0, 702), Err(MoneyError::Zero));
        assert!(matches!(
            Money::from_numeric_currency(1, 959),
            Err(MoneyError::NotACurrency(_))
        ));
    }

    #[test]
    fn key_tag_is_the_hex_suffix() {
        let id = PaymentRequestId::new("251121143015T0000001000000001250000123a1b2c3d4");
        assert_eq!(id.key_tag(), Some("a1b2c3d4"));
        assert_eq!(PaymentRequestId::new("short").key_tag(), None);
    }
}
