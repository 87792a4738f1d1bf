//! What an online payment keeps beyond an in-store one: how the buyer pays and where the buyer
//! goes on. Written when the payment is created, completed when Antom answers `pay`.

use serde::{Deserialize, Serialize};

/// An online payment's method and continuation (Antom Checkout Payment, seed 001).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineCheckout {
    /// Antom `paymentMethodType`: the wallet (`ALIPAY_CN`, `GCASH`, …).
    pub method_type: String,
    /// Antom `env.terminalType`: `WEB`, `WAP` or `APP`.
    pub terminal_type: String,
    /// Antom `env.osType` (`IOS`, `ANDROID`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// Where the buyer's browser goes back to (Antom `paymentRedirectUrl`). Proves nothing:
    /// only a verified notification or an inquiry sets the status.
    pub return_url: String,
    /// Where the buyer goes on, once Antom created the payment; passed on unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
    /// Card-like methods: an authorization first, captured automatically by the switch or on
    /// the merchant's request. Nothing is `succeeded` before the capture succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureMode>,
    /// The buyer, when the merchant named one (Antom `order.buyer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<super::BuyerDetails>,
    /// Cards: the checks the merchant asked for (3-D Secure, AVS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_checks: Option<super::CardChecks>,
    /// How the buyer paid, once Antom reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_with: Option<super::PaidWith>,
    /// The method's payments cannot be refunded: a new attempt of the order waits until
    /// Antom confirmed this one's cancel (seed 001), instead of queueing it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancel_before_retry: bool,
    /// A Checkout Page session (seed 002): the buyer picks the method on Antom's page, so
    /// `method_type` stays empty until a notification or an inquiry names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<CheckoutSession>,
}

/// What a Checkout Page session keeps besides the common online fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSession {
    /// The page takes no new payment after this (ms since the epoch); the payment made on it
    /// may still succeed until the method's own timeout after it (`payment_expiry_ms`).
    pub expires_at_ms: i64,
    /// The methods the merchant offered (empty: every contracted one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// `paymentSessionData`, once Antom created the session: for the embedded page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// `paymentSessionId`, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The acquirer's card-like methods when the session was made (`[rest]
    /// card_like_methods`): one of them picked on the page authorizes first and is captured
    /// by the switch. `CARD` always is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub card_like: Vec<String>,
}

impl CheckoutSession {
    /// Whether `method_type`, picked on this session's page, authorizes first.
    pub fn is_card_like(&self, method_type: &str) -> bool {
        method_type == "CARD" || self.card_like.iter().any(|m| m == method_type)
    }
}

impl OnlineCheckout {
    /// Whether this is a Checkout Page session whose method is not known yet.
    pub fn method_pending(&self) -> bool {
        self.session.is_some() && self.method_type.is_empty()
    }

    /// Records the method a session's buyer paid with: card-like methods become
    /// authorizations the switch captures at once (nothing is `succeeded` before the capture).
    /// False when nothing changed (not a session, or the method already known).
    pub fn learn_method(&mut self, method_type: &str) -> bool {
        if !self.method_pending() || method_type.trim().is_empty() {
            return false;
        }
        self.method_type = method_type.trim().to_string();
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.is_card_like(&self.method_type))
        {
            self.capture = Some(CaptureMode::Automatic);
        }
        true
    }
}

/// When an authorization of a card-like method is captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// The switch captures as soon as the authorization is known.
    Automatic,
    /// The merchant asks for it (`POST /v1/payments/{id}/capture`) before the capture deadline.
    Manual,
}

impl OnlineCheckout {
    /// The `captureRequestId` of this payment's one capture: derived from the payment, so
    /// every retry and every instance sends the same one and Antom captures at most once, and
    /// a `CAPTURE_RESULT` names its payment.
    pub fn capture_request_id(payment_request_id: &str) -> String {
        format!("C{payment_request_id}")
    }

    /// The payment a `captureRequestId` of [`OnlineCheckout::capture_request_id`] belongs to.
    pub fn payment_of_capture(capture_request_id: &str) -> Option<&str> {
        capture_request_id.strip_prefix('C')
    }
}

/// What Antom's `pay` answered with `PAYMENT_IN_PROCESS`: the method's page, app links, or a
/// code to show. Every URL and form is passed to the merchant unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextAction {
    /// `normalUrl`: the method's web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `applinkUrl`: a universal link into the method's app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applink_url: Option<String>,
    /// `schemeUrl`: the method's app scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_url: Option<String>,
    /// `appIdentifier`: the Android package of the method's app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_identifier: Option<String>,
    /// `orderCodeForm`'s first code value (a QR or text code to display).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_value: Option<String>,
    /// `orderCodeForm.expireTime`, as Antom sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_expires_at: Option<String>,
}

impl NextAction {
    /// True when the buyer has a page or app to go to (else only a code to show).
    pub fn is_redirect(&self) -> bool {
        self.url.is_some() || self.applink_url.is_some() || self.scheme_url.is_some()
    }
}
