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
