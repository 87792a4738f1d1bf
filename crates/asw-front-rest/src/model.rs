//! The JSON of the merchant API: snake_case, amounts in minor units with an ISO 4217 code,
//! times in RFC 3339. Requests refuse unknown fields, so a typo is an error, not a default.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An amount: `{ "currency": "SGD", "value": 12345 }` (minor units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountJson {
    /// ISO 4217 alphabetic code.
    #[schema(pattern = "^[A-Z]{3}$", example = "SGD")]
    pub currency: String,
    /// Minor units (cents); at least 1 in a request.
    #[schema(minimum = 0, maximum = 999_999_999_999_u64, example = 1250)]
    pub value: u64,
}

/// How the customer pays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MethodJson {
    /// The code the customer's wallet shows, scanned at the till (seed 003's User-Presented
    /// Mode). In answers only its masked form is shown.
    PaymentCode {
        /// The scanned code: 17 to 32 digits starting 25 to 30 (the default rule; the acquirer
        /// may configure another). Masked in every answer, where `*` stands for hidden digits.
        #[schema(pattern = "^(2[5-9]|30)[0-9*]{15,30}$", example = "281012345678901200")]
        code: String,
    },
    /// Online: the buyer pays on the wallet's own page or app (Antom Checkout Payment, seed
    /// 001). The payment answers `requires_action` with `next_action`; the result comes later
    /// (event, or a read), never from the buyer's browser returning to `return_url`.
    Wallet {
        /// Antom `paymentMethodType` of the wallet: `ALIPAY_CN`, `ALIPAY_HK`, `GCASH`, `DANA`, …
        #[schema(pattern = "^[A-Z0-9_]{2,64}$", example = "GCASH")]
        wallet: String,
        /// Where the buyer is: `WEB` (desktop browser), `WAP` (mobile browser) or `APP`.
        #[schema(pattern = "^(WEB|WAP|APP)$", example = "WEB")]
        terminal_type: String,
        /// `IOS` or `ANDROID`; give it for `WAP` and `APP`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(pattern = "^(IOS|ANDROID)$", example = "ANDROID")]
        os_type: Option<String>,
    },
    /// Online, in answers only: a Checkout Page session (`POST /v1/sessions`, seed 002) — the
    /// buyer picks the method on Antom's page.
    CheckoutPage {
        /// The methods the page offered (empty: every contracted one). What the buyer paid
        /// with is `paid_with.method_type`, once Antom says.
        #[serde(default)]
        methods: Vec<String>,
    },
    /// Online: the buyer enters the card on Antom's hosted card page (seed 004): the card
    /// never touches you or the switch. An authorization first (`authorized`), `succeeded`
    /// only once captured — automatically, or when you ask (`capture: manual`).
    Card {
        /// Where the buyer is: `WEB`, `WAP` or `APP`.
        #[schema(pattern = "^(WEB|WAP|APP)$", example = "WEB")]
        terminal_type: String,
        /// Ask for 3-D Secure (Antom `is3DSAuthentication`); the result's
        /// `paid_with.card.three_ds_eci` tells how it went.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        three_ds: Option<bool>,
        /// The card holder's billing address, for the Address Verification System (the
        /// result's `paid_with.card.avs_result`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        billing_address: Option<crate::buyer_json::AddressJson>,
    },
}

/// When a card authorization is captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureJson {
    /// As soon as the authorization is known (the default).
    Automatic,
    /// When you ask: `POST /v1/payments/{id}/capture`, before the capture window closes.
    Manual,
}

/// What the buyer does next for a payment in `requires_action`: every URL and code exactly as
/// Antom gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NextActionJson {
    /// `redirect` (send the buyer to `url`, or open `applink_url` / `scheme_url` in an app) or
    /// `display_code` (show `code` until `code_expires_at`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The method's web page (Antom `normalUrl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A universal link into the method's app (Antom `applinkUrl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applink_url: Option<String>,
    /// The method's app scheme (Antom `schemeUrl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme_url: Option<String>,
    /// The Android package of the method's app (Antom `appIdentifier`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_identifier: Option<String>,
    /// A code to show the buyer (Antom `orderCodeForm`'s code value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When the code stops working (Antom `orderCodeForm.expireTime`, as sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_expires_at: Option<String>,
}

/// `POST /v1/payments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// The merchant's order reference (Antom `referenceOrderId`): 1 to 64 characters.
    #[schema(
        pattern = "^[!-~]([ -~]{0,62}[!-~])?$",
        max_length = 64,
        example = "order-1001"
    )]
    pub order_id: String,
    /// What to charge.
    pub amount: AmountJson,
    /// How the customer pays.
    pub method: MethodJson,
    /// The till the payment is made at (Antom `storeTerminalId`); the API key id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[!-~]{1,32}$", example = "till-7")]
    pub terminal: Option<String>,
    /// The merchant's store the payment is made in (Antom `store.referenceStoreId`), one of
    /// the stores the acquirer configured for the merchant; its main store when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[!-~]{1,64}$", example = "SG-STORE-0002")]
    pub store: Option<String>,
    /// What is bought, shown to the customer by the wallet (Antom `orderDescription`; the
    /// acquirer's default when absent): up to 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 256, example = "2 coffees")]
    pub description: Option<String>,
    /// Your own key/value pairs, kept with the payment and shown back: up to 20 keys of 1–40
    /// characters (letters, digits, `_`, `-`, `.`), values up to 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
    /// Online methods (required there, refused otherwise): where the buyer's browser comes
    /// back to, `https://` (at most 2048 characters). Its arrival proves nothing: read the
    /// payment or wait for its event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048, example = "https://shop.example/orders/1001/return")]
    pub return_url: Option<String>,
    /// Online methods: how long the buyer may take to pay, 60 to 840 seconds (default 840,
    /// Antom's own). The switch closes an unpaid payment only after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60, maximum = 840, example = 600)]
    pub expires_in_s: Option<u64>,
    /// Cards and card-like wallets (the acquirer's `rest.card_like_methods`, e.g. `PAYPAL`):
    /// `automatic` (default) or `manual` capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureJson>,
    /// Online methods: the buyer, for Antom's risk checks (Antom `order.buyer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<crate::buyer_json::BuyerJson>,
}

/// `POST /v1/sessions`: an Antom Checkout Page session (seed 002) — the buyer picks the method
/// on Antom's page (hosted at `url`, or embedded with `payment_session_data`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// The merchant's order reference (Antom `referenceOrderId`): 1 to 64 characters.
    #[schema(max_length = 64, example = "order-1001")]
    pub order_id: String,
    /// What to charge.
    pub amount: AmountJson,
    /// Where the buyer's browser comes back to, `https://` (at most 2048 characters). Its
    /// arrival proves nothing: read the payment or wait for its event.
    #[schema(max_length = 2048, example = "https://shop.example/orders/1001/return")]
    pub return_url: String,
    /// The methods the page offers, in this order (Antom `paymentMethodType`s such as `GCASH`,
    /// `CARD`); every contracted one when absent. At most 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// The buyer; needed when `methods` offers a card (`reference_id`, `email` or `phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<crate::buyer_json::BuyerJson>,
    /// How long the page takes payments, 60 to 3600 seconds (default 3600, Antom's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60, maximum = 3600, example = 1800)]
    pub expires_in_s: Option<u64>,
    /// The merchant's store (one the acquirer configured); its main store when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[!-~]{1,64}$", example = "SG-STORE-0002")]
    pub store: Option<String>,
    /// What is bought (Antom `orderDescription`; the acquirer's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 256, example = "Classic bag")]
    pub description: Option<String>,
    /// Your own key/value pairs, kept with the payment (same rules as for payments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
}

/// A Checkout Page session as the merchant sees it. The payment the buyer makes on it is the
/// payment `id` (`GET /v1/payments/{id}`), an attempt of the order (`GET /v1/orders/{order_id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionJson {
    /// The payment the session makes (`pay_…`).
    pub id: String,
    /// The merchant's order reference.
    pub order_id: Option<String>,
    /// The payment's status: `requires_action` (send the buyer to `url`, or mount
    /// `payment_session_data`), then `succeeded`, `authorized`, `failed`, `cancelled`,
    /// `expired`…; `pending` while the session is being created.
    pub status: String,
    /// The hosted Checkout Page (Antom `normalUrl`), while the buyer may act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For the page embedded with Antom's SDK (`mountComponent({ sessionData })`), while the
    /// buyer may act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_session_data: Option<String>,
    /// The page takes no new payment after this instant (RFC 3339).
    pub expires_at: String,
    /// The switch closes the payment at this instant if it is not paid (the session's expiry
    /// plus the slowest method's own time to pay, plus a margin): set your own order timeout
    /// after it (RFC 3339).
    pub closes_at: String,
    /// What is charged.
    pub amount: AmountJson,
    /// How the buyer pays: `checkout_page`, with the method once known.
    pub method: MethodJson,
    /// Why it did not succeed, when it did not.
    pub failure: Option<Failure>,
    /// Ids at Antom.
    pub antom: AntomRefs,
    /// When the switch received it (RFC 3339).
    pub created_at: String,
}

/// `POST /v1/payments/{id}/capture`: the whole authorized amount (partial capture is not
/// offered; an `amount` other than the payment's is refused).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCapture {
    /// The amount to capture: the payment's, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<AmountJson>,
}

/// Why a payment did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Failure {
    /// Antom's result code, or the switch's reason (`response_deadline`, `void`, …).
    pub code: String,
    /// A short explanation.
    pub message: String,
}

/// The payment's ids at Antom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AntomRefs {
    /// Antom `paymentRequestId`.
    pub payment_request_id: String,
    /// Antom `paymentId`, once Antom gave one.
    pub payment_id: Option<String>,
}

/// A payment as the merchant sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentJson {
    /// The switch's id of the payment (`pay_…`).
    pub id: String,
    /// The merchant's order reference.
    pub order_id: Option<String>,
    /// `pending`, `requires_action` (online: the buyer must act, see `next_action`),
    /// `succeeded`, `failed`, `cancelled`, `expired`, `authorized`, `partially_refunded` or
    /// `refunded`.
    pub status: String,
    /// Online payments in `requires_action`: where the buyer goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextActionJson>,
    /// What was charged (or asked).
    pub amount: AmountJson,
    /// What of it was refunded.
    pub amount_refunded: AmountJson,
    /// How the customer paid (the payment code masked).
    pub method: MethodJson,
    /// The description given with the payment.
    pub description: Option<String>,
    /// The key/value pairs given with the payment.
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Why it did not succeed, when it did not.
    pub failure: Option<Failure>,
    /// The wallet the customer paid with, when known.
    pub wallet: Option<String>,
    /// Online payments: how the buyer paid (method, card result, acquirer), once Antom
    /// reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_with: Option<crate::buyer_json::PaidWithJson>,
    /// Ids at Antom.
    pub antom: AntomRefs,
    /// When the switch received it (RFC 3339).
    pub created_at: String,
    /// After this instant it can no longer succeed (RFC 3339).
    pub expires_at: String,
}

/// A page of payments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentListJson {
    /// The payments, newest first.
    pub data: Vec<PaymentJson>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A merchant order and its payment attempts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderJson {
    /// The merchant's order reference.
    pub order_id: String,
    /// Whether one attempt succeeded (at most one can).
    pub paid: bool,
    /// Every attempt, oldest first.
    pub attempts: Vec<PaymentJson>,
}

/// `POST /v1/payments/{id}/refunds`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// How much to give back: at most what remains of the payment, in its currency.
    pub amount: AmountJson,
}

/// A refund as the merchant sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundJson {
    /// The switch's id of the refund (`ref_…`).
    pub id: String,
    /// The payment it refunds (`pay_…`).
    pub payment_id: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// The amount refunded (or asked).
    pub amount: AmountJson,
    /// Why it failed, when it did.
    pub failure: Option<Failure>,
    /// Ids at Antom.
    pub antom: RefundAntomRefs,
    /// When the switch received it (RFC 3339).
    pub created_at: String,
}

/// A refund's ids at Antom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundAntomRefs {
    /// Antom `refundRequestId`.
    pub refund_request_id: String,
    /// Antom `refundId`, once Antom gave one.
    pub refund_id: Option<String>,
}
