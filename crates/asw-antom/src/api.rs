//! The APIs the switch calls (`capture` lives in [`crate::capture`], `createPaymentSession` in
//! [`crate::session`]), each a request type tied to its response type through
//! [`AntomRequest`], plus the [`Api`] enum naming them (paths, metric labels).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::masked::PaymentCode;
use crate::model::{
    Amount, AntomResult, OrderCodeForm, PaymentFactor, PaymentMethod, PaymentStatus, Quote,
    RedirectActionForm, RefundStatus, SettlementStrategy, Transaction,
};
use crate::model::{Env, Order, PaymentDetails, optional_string_struct};

/// One of the Antom APIs the switch calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `pay` (User-Presented Mode or Order Code).
    Pay,
    /// `inquiryPayment`.
    InquiryPayment,
    /// `cancel`.
    Cancel,
    /// `refund`.
    Refund,
    /// `inquiryRefund`.
    InquiryRefund,
    /// `capture` (online cards authorized with `captureMode = MANUAL`).
    Capture,
    /// `createPaymentSession` (APO Checkout Page, seed 002).
    CreatePaymentSession,
}

impl Api {
    /// Every API, in a fixed order (handy to pre-create metric label sets).
    pub const ALL: [Api; 7] = [
        Api::Pay,
        Api::InquiryPayment,
        Api::Cancel,
        Api::Refund,
        Api::InquiryRefund,
        Api::Capture,
        Api::CreatePaymentSession,
    ];

    /// The production path. Sandbox clients call the rewritten path
    /// (see [`crate::signature::path_for_client`]).
    pub fn path(self) -> &'static str {
        match self {
            Api::Pay => "/ams/api/v1/payments/pay",
            Api::InquiryPayment => "/ams/api/v1/payments/inquiryPayment",
            Api::Cancel => "/ams/api/v1/payments/cancel",
            Api::Refund => "/ams/api/v1/payments/refund",
            Api::InquiryRefund => "/ams/api/v1/payments/inquiryRefund",
            Api::Capture => "/ams/api/v1/payments/capture",
            Api::CreatePaymentSession => "/ams/api/v1/payments/createPaymentSession",
        }
    }

    /// A short snake_case name for metric labels and logs.
    pub fn label(self) -> &'static str {
        match self {
            Api::Pay => "pay",
            Api::InquiryPayment => "inquiry_payment",
            Api::Cancel => "cancel",
            Api::Refund => "refund",
            Api::InquiryRefund => "inquiry_refund",
            Api::Capture => "capture",
            Api::CreatePaymentSession => "create_payment_session",
        }
    }

    /// Recognises a production or sandbox path (ignoring any query string).
    pub fn from_path(path: &str) -> Option<Api> {
        let path = path.split('?').next().unwrap_or(path);
        let rest = path
            .strip_prefix("/ams/api/v1/payments/")
            .or_else(|| path.strip_prefix("/ams/sandbox/api/v1/payments/"))?;
        match rest {
            "pay" => Some(Api::Pay),
            "inquiryPayment" => Some(Api::InquiryPayment),
            "cancel" => Some(Api::Cancel),
            "refund" => Some(Api::Refund),
            "inquiryRefund" => Some(Api::InquiryRefund),
            "capture" => Some(Api::Capture),
            "createPaymentSession" => Some(Api::CreatePaymentSession),
            _ => None,
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A request body for one Antom API, tied to the response it gets.
pub trait AntomRequest: Serialize {
    /// Which API this request is for.
    const API: Api;
    /// The body Antom answers with.
    type Response: AntomResponse;
}

/// A response body: every one carries a `result`.
pub trait AntomResponse: DeserializeOwned {
    /// The `result` object.
    fn result(&self) -> &AntomResult;

    /// Checks that a success (`S`) answer carries what a caller needs to act on it; an `S`
    /// that does not is classified Unknown rather than trusted. Returns the missing field.
    fn missing_on_success(&self) -> Option<&'static str> {
        None
    }

    /// Whether a `U PAYMENT_IN_PROCESS` answer carries what the buyer needs to go on (a page
    /// URL or a code): then the payment exists and awaits the buyer ([`Outcome::InProcess`]).
    fn has_continuation(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------------------
// pay
// ---------------------------------------------------------------------------------------

/// `pay` request for the in-store product (`IN_STORE_PAYMENT`).
///
/// Use [`PayRequest::payment_code`] for User-Presented Mode (the cashier scans the
/// customer's code) and [`PayRequest::order_code`] for the merchant-presented dynamic QR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayRequest {
    /// Always `IN_STORE_PAYMENT` here.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub product_code: String,
    /// The idempotency key of this payment attempt (max 64).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_request_id: String,
    /// The order.
    pub order: Order,
    /// What the merchant wants to receive.
    pub payment_amount: Amount,
    /// `CONNECT_WALLET`, with the payment code in User-Presented Mode.
    pub payment_method: PaymentMethod,
    /// The in-store scenario (online: authorization and capture mode; often absent).
    #[serde(default)]
    pub payment_factor: PaymentFactor,
    /// Where `notifyPayment` should go (the Dashboard value is used when absent).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_notify_url: Option<String>,
    /// Online: where the buyer's browser goes back to once the method's page is done.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_redirect_url: Option<String>,
    /// Online: the buyer's environment (top level online; `order.env` in-store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Env>,
    /// Overrides the contract's expiry (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_expiry_time: Option<String>,
    /// Settlement currency choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_strategy: Option<SettlementStrategy>,
    /// ISO 3166 alpha-2 region of the merchant.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_region: Option<String>,
    /// When one client id serves several merchant accounts.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_account_id: Option<String>,
    /// Free-form extension.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub extend_info: Option<String>,
}

/// The product code of every in-store payment.
pub const IN_STORE_PAYMENT: &str = "IN_STORE_PAYMENT";
/// The payment method type for Alipay+ / connected wallets.
pub const CONNECT_WALLET: &str = "CONNECT_WALLET";
/// Scenario: the customer shows a code, the merchant scans it.
pub const SCENARIO_PAYMENT_CODE: &str = "PaymentCode";
/// Scenario: the merchant shows a dynamic QR code, the customer scans it.
pub const SCENARIO_ORDER_CODE: &str = "OrderCode";

/// The product code of online Checkout Payments (wallet redirects, hosted cards).
pub const CASHIER_PAYMENT: &str = "CASHIER_PAYMENT";
/// The payment method type of card payments.
pub const CARD: &str = "CARD";

impl PayRequest {
    /// An online Checkout Payment: the buyer finishes on the method's page (`normalUrl` and
    /// friends in the answer) and comes back to `redirect_url`; the result comes by
    /// notification or inquiry. `method_type` is the wallet (`ALIPAY_CN`, `GCASH`, …) or `CARD`.
    pub fn checkout(
        payment_request_id: impl Into<String>,
        order: Order,
        payment_amount: Amount,
        method_type: impl Into<String>,
        redirect_url: impl Into<String>,
        env: Env,
    ) -> Self {
        Self {
            product_code: CASHIER_PAYMENT.to_owned(),
            payment_request_id: payment_request_id.into(),
            order,
            payment_amount,
            payment_method: PaymentMethod {
                payment_method_type: method_type.into(),
                payment_method_id: None,
                payment_method_meta_data: None,
                extend_info: None,
            },
            payment_factor: PaymentFactor::default(),
            payment_notify_url: None,
            payment_redirect_url: Some(redirect_url.into()),
            env: Some(env),
            payment_expiry_time: None,
            settlement_strategy: None,
            merchant_region: None,
            merchant_account_id: None,
            extend_info: None,
        }
    }

    /// A User-Presented Mode pay: the scanned `code` becomes `paymentMethodId`.
    pub fn payment_code(
        payment_request_id: impl Into<String>,
        order: Order,
        payment_amount: Amount,
        code: PaymentCode,
    ) -> Self {
        Self::in_store(
            payment_request_id.into(),
            order,
            payment_amount,
            Some(code),
            SCENARIO_PAYMENT_CODE,
        )
    }

    /// An Order Code pay: no payment code; the answer carries `orderCodeForm` to display.
    pub fn order_code(
        payment_request_id: impl Into<String>,
        order: Order,
        payment_amount: Amount,
    ) -> Self {
        Self::in_store(
            payment_request_id.into(),
            order,
            payment_amount,
            None,
            SCENARIO_ORDER_CODE,
        )
    }

    fn in_store(
        payment_request_id: String,
        order: Order,
        payment_amount: Amount,
        code: Option<PaymentCode>,
        scenario: &str,
    ) -> Self {
        Self {
            product_code: IN_STORE_PAYMENT.to_owned(),
            payment_request_id,
            order,
            payment_amount,
            payment_method: PaymentMethod {
                payment_method_type: CONNECT_WALLET.to_owned(),
                payment_method_id: code,
                payment_method_meta_data: None,
                extend_info: None,
            },
            payment_factor: PaymentFactor {
                in_store_payment_scenario: Some(scenario.to_owned()),
                ..PaymentFactor::default()
            },
            payment_notify_url: None,
            payment_redirect_url: None,
            env: None,
            payment_expiry_time: None,
            settlement_strategy: None,
            merchant_region: None,
            merchant_account_id: None,
            extend_info: None,
        }
    }
}

impl AntomRequest for PayRequest {
    const API: Api = Api::Pay;
    type Response = PayResponse;
}

/// `pay` response. Only `result` is guaranteed; the rest comes with `S` (and partly `U`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayResponse {
    /// The call's result.
    pub result: AntomResult,
    /// What Antom says about the payment (shared with the other payment answers).
    #[serde(flatten)]
    pub payment: PaymentDetails,
    /// Echo of the merchant's id.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_request_id: Option<String>,
    /// What to display in the Order Code scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_code_form: Option<OrderCodeForm>,
    /// Where to send the user in the Entry Code scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_action_form: Option<RedirectActionForm>,
    /// Online: the method's web page (a browser or WebView opens it).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub normal_url: Option<String>,
    /// Online: a universal link into the method's app, falling back to its web page.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub applink_url: Option<String>,
    /// Online: the method's app scheme (fails when the app is missing).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub scheme_url: Option<String>,
    /// Online: the Android package of the method's app.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_identifier: Option<String>,
    /// Online: the redirect as a string holding JSON (parsed as a string, never an object).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_action_form: Option<String>,
    /// Free-form extension.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub extend_info: Option<String>,
}

impl PayResponse {
    /// A response carrying only `result` (what Antom sends on F and usually on U).
    pub fn from_result(result: AntomResult) -> Self {
        Self {
            result,
            payment: PaymentDetails::default(),
            payment_request_id: None,
            order_code_form: None,
            redirect_action_form: None,
            normal_url: None,
            applink_url: None,
            scheme_url: None,
            app_identifier: None,
            payment_action_form: None,
            extend_info: None,
        }
    }
}

impl AntomResponse for PayResponse {
    fn result(&self) -> &AntomResult {
        &self.result
    }

    /// Seed 001 / the pay page: with `PAYMENT_IN_PROCESS`, at least one of the URLs means the
    /// payment was created; none means creation failed. An order code counts too (Order Code).
    fn has_continuation(&self) -> bool {
        let given = |url: &Option<String>| url.as_deref().is_some_and(|u| !u.trim().is_empty());
        given(&self.normal_url)
            || given(&self.applink_url)
            || given(&self.scheme_url)
            || self
                .order_code_form
                .as_ref()
                .is_some_and(|form| form.code_details.iter().any(|d| given(&d.code_value)))
    }
}

// ---------------------------------------------------------------------------------------
// inquiryPayment
// ---------------------------------------------------------------------------------------

optional_string_struct! {
    /// `inquiryPayment` request: `paymentRequestId` or `paymentId` (Antom prefers
    /// `paymentId` when both are given). After a pay timeout only `paymentRequestId` is known.
    pub struct InquiryPaymentRequest {
        /// The merchant's id of the payment.
        payment_request_id: "paymentRequestId",
        /// Antom's id of the payment.
        payment_id: "paymentId",
        /// Merchant account, when one client id serves several.
        merchant_account_id: "merchantAccountId",
    }
}

impl InquiryPaymentRequest {
    /// Inquiry by the merchant's `paymentRequestId`.
    pub fn by_payment_request_id(id: impl Into<String>) -> Self {
        Self {
            payment_request_id: Some(id.into()),
            ..Self::default()
        }
    }
}

impl AntomRequest for InquiryPaymentRequest {
    const API: Api = Api::InquiryPayment;
    type Response = InquiryPaymentResponse;
}

/// `inquiryPayment` response. `result` is about the inquiry call; the payment's state is
/// `paymentStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryPaymentResponse {
    /// The inquiry call's result.
    pub result: AntomResult,
    /// What Antom says about the payment (shared with the other payment answers).
    #[serde(flatten)]
    pub payment: PaymentDetails,
    /// SUCCESS / FAIL / PROCESSING / CANCELLED (present on S).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<PaymentStatus>,
    /// Reason code for the status; never derive the state from it.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_result_code: Option<String>,
    /// Reason text for the status.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_result_message: Option<String>,
    /// The merchant's id.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_request_id: Option<String>,
    /// Related transactions (cancel, refunds…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Vec<Transaction>>,
}

impl InquiryPaymentResponse {
    /// A response carrying only `result`.
    pub fn from_result(result: AntomResult) -> Self {
        Self {
            result,
            payment: PaymentDetails::default(),
            payment_status: None,
            payment_result_code: None,
            payment_result_message: None,
            payment_request_id: None,
            transactions: None,
        }
    }
}

impl AntomResponse for InquiryPaymentResponse {
    fn result(&self) -> &AntomResult {
        &self.result
    }

    fn missing_on_success(&self) -> Option<&'static str> {
        match self.payment_status {
            None | Some(PaymentStatus::Other(_)) => Some("paymentStatus"),
            Some(_) => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// cancel
// ---------------------------------------------------------------------------------------

optional_string_struct! {
    /// `cancel` request: `paymentRequestId` or `paymentId`. Repeating it is safe.
    pub struct CancelRequest {
        /// Antom's id of the payment.
        payment_id: "paymentId",
        /// The merchant's id of the payment.
        payment_request_id: "paymentRequestId",
        /// Merchant account, when one client id serves several.
        merchant_account_id: "merchantAccountId",
    }
}

impl CancelRequest {
    /// Cancel by the merchant's `paymentRequestId` (the only id known after a timeout).
    pub fn by_payment_request_id(id: impl Into<String>) -> Self {
        Self {
            payment_request_id: Some(id.into()),
            ..Self::default()
        }
    }
}

impl AntomRequest for CancelRequest {
    const API: Api = Api::Cancel;
    type Response = CancelResponse;
}

/// `cancel` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelResponse {
    /// The call's result.
    pub result: AntomResult,
    /// Antom's id of the payment.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_id: Option<String>,
    /// The merchant's id of the payment.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_request_id: Option<String>,
    /// When it was cancelled (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub cancel_time: Option<String>,
}

impl CancelResponse {
    /// A response carrying only `result`.
    pub fn from_result(result: AntomResult) -> Self {
        Self {
            result,
            payment_id: None,
            payment_request_id: None,
            cancel_time: None,
        }
    }
}

impl AntomResponse for CancelResponse {
    fn result(&self) -> &AntomResult {
        &self.result
    }
}

// ---------------------------------------------------------------------------------------
// refund
// ---------------------------------------------------------------------------------------

/// `refund` request. `refundRequestId` is the idempotency key; `paymentId` (Antom's id) is
/// required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// The merchant's id of this refund (max 64).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub refund_request_id: String,
    /// Antom's id of the payment to refund.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_id: String,
    /// How much to refund, in the payment's currency.
    pub refund_amount: Amount,
    /// The merchant's own refund reference.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference_refund_id: Option<String>,
    /// Why (max 256).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_reason: Option<String>,
    /// Where `notifyRefund` goes (online asynchronous refunds).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_notify_url: Option<String>,
    /// Asynchronous refund (online); sent as the string `"true"`/`"false"`.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_bool",
        serialize_with = "crate::lenient::ser_opt_bool_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_async_refund: Option<bool>,
    /// When the refund was requested (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_request_time: Option<String>,
    /// Merchant account, when one client id serves several.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_account_id: Option<String>,
    /// Free-form extension.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub extend_info: Option<String>,
}

impl RefundRequest {
    /// A refund of `amount` of payment `payment_id`, keyed by `refund_request_id`.
    pub fn new(
        refund_request_id: impl Into<String>,
        payment_id: impl Into<String>,
        amount: Amount,
    ) -> Self {
        Self {
            refund_request_id: refund_request_id.into(),
            payment_id: payment_id.into(),
            refund_amount: amount,
            reference_refund_id: None,
            refund_reason: None,
            refund_notify_url: None,
            is_async_refund: None,
            refund_request_time: None,
            merchant_account_id: None,
            extend_info: None,
        }
    }
}

impl AntomRequest for RefundRequest {
    const API: Api = Api::Refund;
    type Response = RefundResponse;
}

/// `refund` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    /// The call's result.
    pub result: AntomResult,
    /// Echo of the merchant's refund id.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_request_id: Option<String>,
    /// Antom's id of the refund.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_id: Option<String>,
    /// The refunded payment.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_id: Option<String>,
    /// The refunded amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Amount>,
    /// When it reached its final state (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_time: Option<String>,
    /// Settlement amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_settlement_amount: Option<Amount>,
    /// Settlement rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_quote: Option<Quote>,
    /// Acquirer reference (online).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub acquirer_reference_no: Option<String>,
}

impl RefundResponse {
    /// A response carrying only `result`.
    pub fn from_result(result: AntomResult) -> Self {
        Self {
            result,
            refund_request_id: None,
            refund_id: None,
            payment_id: None,
            refund_amount: None,
            refund_time: None,
            gross_settlement_amount: None,
            settlement_quote: None,
            acquirer_reference_no: None,
        }
    }
}

impl AntomResponse for RefundResponse {
    fn result(&self) -> &AntomResult {
        &self.result
    }
}

// ---------------------------------------------------------------------------------------
// inquiryRefund
// ---------------------------------------------------------------------------------------

optional_string_struct! {
    /// `inquiryRefund` request: `refundRequestId` or `refundId` (Antom prefers `refundId`).
    pub struct InquiryRefundRequest {
        /// The merchant's id of the refund.
        refund_request_id: "refundRequestId",
        /// Antom's id of the refund.
        refund_id: "refundId",
        /// Merchant account, when one client id serves several.
        merchant_account_id: "merchantAccountId",
    }
}

impl InquiryRefundRequest {
    /// Inquiry by the merchant's `refundRequestId`.
    pub fn by_refund_request_id(id: impl Into<String>) -> Self {
        Self {
            refund_request_id: Some(id.into()),
            ..Self::default()
        }
    }
}

impl AntomRequest for InquiryRefundRequest {
    const API: Api = Api::InquiryRefund;
    type Response = InquiryRefundResponse;
}

/// `inquiryRefund` response; the refund's state is `refundStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryRefundResponse {
    /// The inquiry call's result.
    pub result: AntomResult,
    /// Antom's id of the refund.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_id: Option<String>,
    /// The merchant's id of the refund.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_request_id: Option<String>,
    /// The refund amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Amount>,
    /// When it succeeded (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_time: Option<String>,
    /// SUCCESS / PROCESSING / FAIL (present on S).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<RefundStatus>,
    /// Settlement amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_settlement_amount: Option<Amount>,
    /// Settlement rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_quote: Option<Quote>,
}

impl InquiryRefundResponse {
    /// A response carrying only `result`.
    pub fn from_result(result: AntomResult) -> Self {
        Self {
            result,
            refund_id: None,
            refund_request_id: None,
            refund_amount: None,
            refund_time: None,
            refund_status: None,
            gross_settlement_amount: None,
            settlement_quote: None,
        }
    }
}

impl AntomResponse for InquiryRefundResponse {
    fn result(&self) -> &AntomResult {
        &self.result
    }

    fn missing_on_success(&self) -> Option<&'static str> {
        match self.refund_status {
            None | Some(RefundStatus::Other(_)) => Some("refundStatus"),
            Some(_) => None,
        }
    }
}
