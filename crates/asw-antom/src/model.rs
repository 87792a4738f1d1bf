//! Objects shared by several Antom APIs (`Result`, `Amount`, `Order`, …), with field names
//! spelled exactly as Antom spells them (note `merchantMCC`, `storeMCC`).
//!
//! Every scalar is serialized as a JSON string; optional fields are left out when `None`.
//! Reading is lenient: unknown fields are ignored and numbers or booleans are accepted where
//! a string is documented.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `result.resultStatus`: what happened to the API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResultStatus {
    /// The call succeeded.
    #[serde(rename = "S")]
    Success,
    /// The call failed definitively; nothing was done.
    #[serde(rename = "F")]
    Failed,
    /// The outcome is unknown; the caller must find out (inquire) or undo (cancel).
    #[serde(rename = "U")]
    Unknown,
}

impl ResultStatus {
    /// The one-letter form used on the wire and in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "S",
            Self::Failed => "F",
            Self::Unknown => "U",
        }
    }
}

impl fmt::Display for ResultStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `result` object present in every response and notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AntomResult {
    /// Machine-readable code, e.g. `SUCCESS`, `PAYMENT_IN_PROCESS`, `ORDER_NOT_EXIST`.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub result_code: String,
    /// S, F or U.
    pub result_status: ResultStatus,
    /// Human-readable text; never parsed.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_message: Option<String>,
}

impl AntomResult {
    /// Builds a result object (used by the simulator and in tests).
    pub fn new(code: &str, status: ResultStatus, message: &str) -> Self {
        Self {
            result_code: code.to_owned(),
            result_status: status,
            result_message: Some(message.to_owned()),
        }
    }

    /// The `SUCCESS` / `S` result.
    pub fn success() -> Self {
        Self::new("SUCCESS", ResultStatus::Success, "success.")
    }
}

/// A money amount: ISO 4217 alpha-3 currency and the value in minor units, as a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// ISO 4217 alpha-3 code, e.g. `SGD`.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub currency: String,
    /// Minor units as a decimal string (`"1234"` = SGD 12.34, `"1000"` = JPY 1000).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub value: String,
}

impl Amount {
    /// An amount from a currency code and minor units.
    pub fn minor(currency: impl Into<String>, minor_units: u64) -> Self {
        Self {
            currency: currency.into(),
            value: minor_units.to_string(),
        }
    }

    /// The value as minor units, or `None` when it is not a non-negative integer.
    pub fn minor_units(&self) -> Option<u64> {
        if self.value.is_empty() || !self.value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.value.parse().ok()
    }
}

/// Generates a struct whose fields are all optional strings, each read leniently and left out
/// of the JSON when absent. Saves repeating the same four serde attributes a hundred times.
macro_rules! optional_string_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $json:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(
                    rename = $json,
                    default,
                    deserialize_with = "crate::lenient::opt_string",
                    skip_serializing_if = "Option::is_none"
                )]
                pub $field: Option<String>,
            )*
        }
    };
}
pub(crate) use optional_string_struct;

/// A foreign-exchange quote (`paymentQuote`, `settlementQuote`).
///
/// Antom sends `quotePrice` as a JSON number and `guaranteed` as a JSON boolean; both are
/// accepted as strings too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    /// Antom's id of the quote.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub quote_id: Option<String>,
    /// Currency pair, e.g. `USD/CNY` or numeric `446/156`.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub quote_currency_pair: Option<String>,
    /// The rate, kept as text so no precision is lost.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub quote_price: Option<String>,
    /// Start of validity (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub quote_start_time: Option<String>,
    /// End of validity (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub quote_expiry_time: Option<String>,
    /// Whether the rate is guaranteed.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub guaranteed: Option<bool>,
}

optional_string_struct! {
    /// The wallet user who paid (`pspCustomerInfo`).
    pub struct PspCustomerInfo {
        /// Wallet name, e.g. `ALIPAYCN`.
        psp_name: "pspName",
        /// The wallet's id of the customer.
        psp_customer_id: "pspCustomerId",
        /// Masked customer id for display.
        display_customer_id: "displayCustomerId",
        /// Customer name for display.
        display_customer_name: "displayCustomerName",
    }
}

/// The merchant's store (`order.merchant.store`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    /// The acquirer's id of the store.
    #[serde(
        rename = "referenceStoreId",
        deserialize_with = "crate::lenient::string"
    )]
    pub reference_store_id: String,
    /// Store name.
    #[serde(rename = "storeName", deserialize_with = "crate::lenient::string")]
    pub store_name: String,
    /// Merchant category code of the store (note the capitals).
    #[serde(rename = "storeMCC", deserialize_with = "crate::lenient::string")]
    pub store_mcc: String,
    /// Name shown to the customer.
    #[serde(
        rename = "storeDisplayName",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub store_display_name: Option<String>,
    /// Terminal id inside the store.
    #[serde(
        rename = "storeTerminalId",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub store_terminal_id: Option<String>,
    /// Operator (cashier) id.
    #[serde(
        rename = "storeOperatorId",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub store_operator_id: Option<String>,
    /// Store phone number.
    #[serde(
        rename = "storePhoneNo",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub store_phone_no: Option<String>,
}

/// The merchant (`order.merchant`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    /// The acquirer's id of the merchant.
    #[serde(
        rename = "referenceMerchantId",
        deserialize_with = "crate::lenient::string"
    )]
    pub reference_merchant_id: String,
    /// Merchant category code (note the capitals).
    #[serde(rename = "merchantMCC", deserialize_with = "crate::lenient::string")]
    pub merchant_mcc: String,
    /// Merchant name.
    #[serde(rename = "merchantName", deserialize_with = "crate::lenient::string")]
    pub merchant_name: String,
    /// Name shown to the customer.
    #[serde(
        rename = "merchantDisplayName",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_display_name: Option<String>,
    /// Registration date (ISO 8601).
    #[serde(
        rename = "merchantRegisterDate",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_register_date: Option<String>,
    /// The store the payment happens in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Store>,
}

optional_string_struct! {
    /// The terminal environment (`order.env`).
    pub struct Env {
        /// Terminal id (required by the SDKs for in-store pay).
        store_terminal_id: "storeTerminalId",
        /// Terminal local time of the request, ISO 8601 with offset.
        store_terminal_request_time: "storeTerminalRequestTime",
        /// Terminal type.
        terminal_type: "terminalType",
        /// Operating system type.
        os_type: "osType",
        /// Wallet user agent (Entry Code scenario).
        user_agent: "userAgent",
        /// Device token.
        device_token_id: "deviceTokenId",
        /// Client IP address.
        client_ip: "clientIp",
        /// Free-form extension.
        extend_info: "extendInfo",
    }
}

/// The order the payment is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The merchant's order number (optional in-store).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference_order_id: Option<String>,
    /// Description (max 256).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub order_description: String,
    /// Order amount; normally equal to the payment amount in-store.
    pub order_amount: Amount,
    /// The merchant and its store (required in-store; online samples leave it out).
    #[serde(default)]
    pub merchant: Merchant,
    /// The terminal environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Env>,
    /// Online payments: the buyer, for Antom's risk checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<crate::buyer::Buyer>,
    /// Free-form extension.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub extend_info: Option<String>,
}

/// `paymentMethod`: how the customer pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod {
    /// `CONNECT_WALLET` for Alipay+ wallets in-store.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_method_type: String,
    /// The scanned payment code (User-Presented Mode only), masked in `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<crate::masked::PaymentCode>,
    /// Online cards: the checks asked for (3-D Secure, the billing address for AVS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_meta_data: Option<crate::buyer::PaymentMethodMetaData>,
    /// Free-form extension.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub extend_info: Option<String>,
}

/// `paymentFactor`: which in-store scenario this pay is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFactor {
    /// `PaymentCode`, `OrderCode` or `EntryCode`.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub in_store_payment_scenario: Option<String>,
    /// Online cards: `true` asks for an authorization (money held, captured later). Sent as a
    /// JSON boolean, as the SDKs do; read from a boolean or a string.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_authorization: Option<bool>,
    /// Online cards: `AUTOMATIC` (the default) or `MANUAL` (the merchant calls `capture`).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub capture_mode: Option<String>,
}

optional_string_struct! {
    /// `settlementStrategy`.
    pub struct SettlementStrategy {
        /// Settlement currency (needed with `CONNECT_WALLET` when several contracts exist).
        settlement_currency: "settlementCurrency",
    }
}

optional_string_struct! {
    /// One code to display (`orderCodeForm.codeDetails[]`).
    pub struct CodeDetail {
        /// The value to render, e.g. a URL to encode as a QR code.
        code_value: "codeValue",
        /// `QRCODE` or `BARCODE`.
        code_value_type: "codeValueType",
        /// `TEXT`, `SMALLIMAGE`, `MIDDLEIMAGE` or `BIGIMAGE`.
        display_type: "displayType",
    }
}

/// `orderCodeForm`: what to show the customer in the Order Code scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCodeForm {
    /// When the code stops being payable (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub expire_time: Option<String>,
    /// The codes to display.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_details: Vec<CodeDetail>,
    /// Free-form extension.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub extend_info: Option<String>,
}

optional_string_struct! {
    /// `redirectActionForm` (Entry Code scenario).
    pub struct RedirectActionForm {
        /// e.g. `SCAN`.
        method: "method",
        /// The URL the wallet opens.
        redirect_url: "redirectUrl",
    }
}

/// A payment's state as reported by `inquiryPayment` (`paymentStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PaymentStatus {
    /// Paid.
    Success,
    /// Failed; nothing charged.
    Fail,
    /// Still waiting (typically for the user).
    Processing,
    /// Closed unpaid, or reversed with a full refund.
    Cancelled,
    /// Online-only intermediate state.
    Pending,
    /// A value this crate does not know; never treated as final.
    Other(String),
}

impl PaymentStatus {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "SUCCESS",
            Self::Fail => "FAIL",
            Self::Processing => "PROCESSING",
            Self::Cancelled => "CANCELLED",
            Self::Pending => "PENDING",
            Self::Other(s) => s,
        }
    }

    /// Whether the payment can no longer change by itself (SUCCESS, FAIL, CANCELLED).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Success | Self::Fail | Self::Cancelled)
    }
}

impl From<String> for PaymentStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "SUCCESS" => Self::Success,
            "FAIL" => Self::Fail,
            "PROCESSING" => Self::Processing,
            "CANCELLED" => Self::Cancelled,
            "PENDING" => Self::Pending,
            _ => Self::Other(s),
        }
    }
}

impl From<PaymentStatus> for String {
    fn from(s: PaymentStatus) -> Self {
        s.as_str().to_owned()
    }
}

/// A refund's state (`refundStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RefundStatus {
    /// Refunded.
    Success,
    /// Refund failed.
    Fail,
    /// Still being processed.
    Processing,
    /// A value this crate does not know; never treated as final.
    Other(String),
}

impl RefundStatus {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "SUCCESS",
            Self::Fail => "FAIL",
            Self::Processing => "PROCESSING",
            Self::Other(s) => s,
        }
    }
}

impl From<String> for RefundStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "SUCCESS" => Self::Success,
            "FAIL" => Self::Fail,
            "PROCESSING" => Self::Processing,
            _ => Self::Other(s),
        }
    }
}

impl From<RefundStatus> for String {
    fn from(s: RefundStatus) -> Self {
        s.as_str().to_owned()
    }
}

/// What Antom says about a payment, the same in a `pay` answer, an `inquiryPayment` answer and a
/// `notifyPayment`: one struct, flattened into each, so each field is read (leniently) in one
/// place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDetails {
    /// Antom's id of the payment (needed for refunds).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_id: Option<String>,
    /// The payment amount; check it (and its currency) against what was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_amount: Option<Amount>,
    /// Amount in the wallet's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_payment_amount: Option<Amount>,
    /// Rate from the payment's to the wallet's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_quote: Option<Quote>,
    /// When the payment was created (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_create_time: Option<String>,
    /// When it succeeded (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_time: Option<String>,
    /// The wallet user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psp_customer_info: Option<PspCustomerInfo>,
    /// Settlement amount when the FX rate is locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_settlement_amount: Option<Amount>,
    /// Settlement rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_quote: Option<Quote>,
    /// Cards: what the scheme said about the card (masked number, brand, `cardToken`, AVS/CVV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_result_info: Option<crate::card::PaymentResultInfo>,
    /// Online payments: the acquirer and what it said (kept for reconciliation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer_info: Option<crate::buyer::AcquirerInfo>,
    /// Online payments: the method the buyer paid with (a Checkout Page buyer chooses it).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_method_type: Option<String>,
    /// Cards: after this time an authorization can no longer be captured (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_expiry_time: Option<String>,
}

/// A transaction related to a payment (`transactions[]` in `inquiryPayment`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// `PAYMENT`, `REFUND`, `CANCEL`, `CAPTURE`, …
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_type: Option<String>,
    /// `SUCCESS`, `FAIL`, `PROCESSING`, `CANCELLED`, `PENDING`.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_status: Option<String>,
    /// The merchant's id of the transaction.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_request_id: Option<String>,
    /// Antom's id of the transaction.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
    /// Amount of the transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_amount: Option<Amount>,
    /// When it happened (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_time: Option<String>,
    /// The transaction's own result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_result: Option<AntomResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_accepts_numbers_and_booleans() {
        let q: Quote = serde_json::from_str(
            r#"{"guaranteed":false,"quoteCurrencyPair":"446/156","quotePrice":0.88156063,"extra":1}"#,
        )
        .unwrap();
        assert_eq!(q.quote_price.as_deref(), Some("0.88156063"));
        assert_eq!(q.guaranteed, Some(false));
        let q: Quote = serde_json::from_str(r#"{"guaranteed":"true","quotePrice":"1.5"}"#).unwrap();
        assert_eq!(q.guaranteed, Some(true));
        assert_eq!(q.quote_price.as_deref(), Some("1.5"));
    }

    #[test]
    fn amount_minor_units() {
        assert_eq!(Amount::minor("SGD", 1234).minor_units(), Some(1234));
        let a: Amount = serde_json::from_str(r#"{"currency":"JPY","value":1000}"#).unwrap();
        assert_eq!(a.value, "1000");
        assert_eq!(
            Amount {
                currency: "X".into(),
                value: "-1".into()
            }
            .minor_units(),
            None
        );
    }

    #[test]
    fn unknown_status_values_are_kept_and_not_final() {
        let s: PaymentStatus = serde_json::from_str("\"WEIRD\"").unwrap();
        assert_eq!(s, PaymentStatus::Other("WEIRD".into()));
        assert!(!s.is_final());
        assert!(PaymentStatus::Cancelled.is_final());
        assert_eq!(
            serde_json::to_string(&PaymentStatus::Success).unwrap(),
            "\"SUCCESS\""
        );
    }

    #[test]
    fn result_status_is_strict() {
        assert!(serde_json::from_str::<ResultStatus>("\"X\"").is_err());
        assert_eq!(
            serde_json::from_str::<ResultStatus>("\"U\"").unwrap(),
            ResultStatus::Unknown
        );
    }
}
