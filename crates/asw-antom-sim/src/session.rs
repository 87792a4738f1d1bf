//! APO Checkout Page sessions (`createPaymentSession`, seed 002): checking the request the way
//! Antom does, what the simulator keeps about a session, its continuation (`normalUrl`, the
//! `paymentSessionData` an embedded page mounts) and the `pay` a buyer's choice on the page
//! becomes. Once the buyer picks a method the session is an ordinary online payment under the
//! session's `paymentRequestId` (wallet page or card page, notifications, inquiry, cancel);
//! before that inquiries answer `ORDER_NOT_EXIST` and no notification is ever sent.
//!
//! Pure: no I/O and no clock. State changes live in `ledger/session.rs`, the page in
//! `session_page.rs`.

use asw_antom::api::{CASHIER_PAYMENT, PayRequest};
use asw_antom::model::{Env, Merchant, Order, PaymentFactor};
use asw_antom::session::{CHECKOUT_PAYMENT, CreatePaymentSessionRequest};
use asw_antom::{Amount, AntomResult};
use time::OffsetDateTime;

use crate::card::CARD_METHOD_TYPE;
use crate::config::SimConfig;
use crate::ledger::param_illegal;
use crate::wallets;

/// What the page offers when the merchant lists no method.
pub const DEFAULT_METHODS: [&str; 4] = ["ALIPAY_CN", "GCASH", "DANA", CARD_METHOD_TYPE];

/// The methods a session's `paymentFactor` (authorization, capture mode) applies to: cards and
/// the methods that behave like them. Any other method picked on the page is paid at once.
pub const CARD_LIKE: [&str; 5] = [
    CARD_METHOD_TYPE,
    "MIXEDCARD",
    "APPLEPAY",
    "GOOGLEPAY",
    "PAYPAL",
];

/// The longest session Antom keeps (and its default).
pub const MAX_SESSION: time::Duration = time::Duration::hours(1);

/// Where sessions' pages live.
pub(crate) const PAGE_PREFIX: &str = "/checkout/session/";

/// What the simulator keeps about one session.
#[derive(Debug, Clone)]
pub(crate) struct SessionRecord {
    pub session_id: String,
    pub payment_request_id: String,
    pub client_id: String,
    pub amount: Amount,
    pub redirect_url: String,
    pub notify_url: Option<String>,
    pub reference_order_id: String,
    pub order_description: String,
    /// The methods on the page, in order.
    pub methods: Vec<String>,
    pub payment_factor: PaymentFactor,
    /// Whether `order.buyer` names the buyer (card payments on the page need it).
    pub buyer_identified: bool,
    /// `order.buyer`, passed on to the payment the buyer's choice makes.
    pub buyer: Option<asw_antom::buyer::Buyer>,
    pub expires_at: OffsetDateTime,
    /// The method the buyer submitted (the payment exists from then on).
    pub submitted: Option<String>,
    /// Closed by a cancel before anything was submitted.
    pub closed: bool,
}

impl SessionRecord {
    /// `OPEN`, `SUBMITTED`, `CLOSED` (cancelled) or `EXPIRED`.
    pub fn status(&self, now: OffsetDateTime) -> &'static str {
        if self.submitted.is_some() {
            "SUBMITTED"
        } else if self.closed {
            "CLOSED"
        } else if now >= self.expires_at {
            "EXPIRED"
        } else {
            "OPEN"
        }
    }

    /// `paymentSessionData`: what the embedded page mounts. Not encrypted here; it only has
    /// to name the session (its first `&&` field, as in Antom's samples).
    pub fn session_data(&self) -> String {
        format!("{}&&SIM&&188&&{}", self.session_id, self.payment_request_id)
    }

    /// The `pay` the buyer's choice of `method` becomes: the session's order, amount, return
    /// and notification URLs, and for a card-like method the session's payment factor
    /// (authorization and capture mode).
    pub fn pay_request(&self, method: &str) -> PayRequest {
        let order = Order {
            reference_order_id: Some(self.reference_order_id.clone()),
            order_description: self.order_description.clone(),
            order_amount: self.amount.clone(),
            merchant: Merchant::default(),
            env: None,
            buyer: self.buyer.clone(),
            extend_info: None,
        };
        let mut request = PayRequest::checkout(
            self.payment_request_id.clone(),
            order,
            self.amount.clone(),
            method,
            self.redirect_url.clone(),
            Env {
                terminal_type: Some("WEB".into()),
                ..Env::default()
            },
        );
        if CARD_LIKE.contains(&method) {
            request.payment_factor = self.payment_factor.clone();
        }
        request.payment_notify_url = self.notify_url.clone();
        request
    }
}

/// The session named by `paymentSessionData` (its first `&&` field).
pub(crate) fn session_id_of_data(data: &str) -> Option<&str> {
    data.split("&&").next().filter(|s| !s.is_empty())
}

/// `normalUrl`: the hosted Checkout Page of a session.
pub(crate) fn normal_url(cfg: &SimConfig, session_id: &str) -> String {
    format!("{}{PAGE_PREFIX}{session_id}", cfg.public_base())
}

/// Whether the simulator offers `method` on a page.
pub(crate) fn is_offered(method: &str) -> bool {
    method == CARD_METHOD_TYPE || wallets::find(method).is_some()
}

fn too_long(what: &str, value: &str, max: usize) -> Result<(), AntomResult> {
    if value.chars().count() > max {
        return Err(param_illegal(&format!(
            "{what} is longer than {max} characters"
        )));
    }
    Ok(())
}

fn valid_amount(what: &str, amount: &Amount) -> Result<(), AntomResult> {
    let currency_ok =
        amount.currency.len() == 3 && amount.currency.bytes().all(|b| b.is_ascii_uppercase());
    if !currency_ok || amount.minor_units().is_none_or(|v| v == 0) {
        return Err(param_illegal(&format!(
            "{what} must be a positive amount in minor units with an ISO 4217 currency"
        )));
    }
    Ok(())
}

/// The checks Antom applies to a session request (the time bound is checked by the ledger,
/// which knows the time).
pub(crate) fn validate(req: &CreatePaymentSessionRequest) -> Result<(), AntomResult> {
    if req.product_code != CASHIER_PAYMENT {
        return Err(param_illegal("productCode must be CASHIER_PAYMENT"));
    }
    if req.product_scene != CHECKOUT_PAYMENT {
        return Err(param_illegal("productScene must be CHECKOUT_PAYMENT"));
    }
    if req.payment_request_id.is_empty() {
        return Err(param_illegal("paymentRequestId is required"));
    }
    too_long("paymentRequestId", &req.payment_request_id, 64)?;
    valid_amount("paymentAmount", &req.payment_amount)?;
    valid_amount("order.orderAmount", &req.order.order_amount)?;
    if req.order.order_amount.currency != req.payment_amount.currency {
        return Err(param_illegal(
            "order.orderAmount and paymentAmount must use the same currency",
        ));
    }
    if req.order.reference_order_id.is_empty() {
        return Err(param_illegal("order.referenceOrderId is required"));
    }
    too_long("order.referenceOrderId", &req.order.reference_order_id, 64)?;
    if req.order.order_description.is_empty() {
        return Err(param_illegal("order.orderDescription is required"));
    }
    too_long("order.orderDescription", &req.order.order_description, 256)?;
    let redirect = req.payment_redirect_url.as_str();
    if redirect.is_empty()
        || redirect.chars().count() > 2048
        || reqwest::Url::parse(redirect).is_err()
        || http::HeaderValue::from_str(redirect).is_err()
        || redirect.chars().any(char::is_whitespace)
    {
        return Err(param_illegal(
            "paymentRedirectUrl is required and must be a URL of at most 2048 characters",
        ));
    }
    if let Some(url) = &req.payment_notify_url {
        too_long("paymentNotifyUrl", url, 2048)?;
    }
    if let Some(unknown) = req.offered_methods().iter().find(|m| !is_offered(m)) {
        return Err(param_illegal(&format!(
            "availablePaymentMethod lists {unknown}, which is not offered"
        )));
    }
    if let Some(t) = &req.payment_session_expiry_time
        && OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_err()
    {
        return Err(param_illegal(
            "paymentSessionExpiryTime must be ISO 8601 with an offset",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(edit: impl FnOnce(&mut serde_json::Value)) -> Result<(), AntomResult> {
        let mut body = serde_json::json!({
            "productCode": "CASHIER_PAYMENT", "productScene": "CHECKOUT_PAYMENT",
            "paymentRequestId": "p1",
            "paymentAmount": {"currency": "SGD", "value": "6000"},
            "paymentRedirectUrl": "http://localhost:8080/index.html?paymentRequestId=p1",
            "order": {"orderAmount": {"currency": "SGD", "value": "6000"},
                      "referenceOrderId": "o1", "orderDescription": "bag",
                      "buyer": {"referenceBuyerId": "b1"}}
        });
        edit(&mut body);
        let req: CreatePaymentSessionRequest =
            serde_json::from_value(body).map_err(|e| param_illegal(&e.to_string()))?;
        validate(&req)
    }

    #[test]
    fn the_seed_sample_is_accepted_and_bad_fields_are_refused() {
        assert!(request(|_| {}).is_ok());
        assert!(request(|b| b["productScene"] = "ELEMENT_PAYMENT".into()).is_err());
        assert!(request(|b| b["paymentRedirectUrl"] = "not a url".into()).is_err());
        assert!(request(|b| b["order"]["orderAmount"]["currency"] = "USD".into()).is_err());
        assert!(
            request(|b| b["availablePaymentMethod"] =
                serde_json::json!({"paymentMethodTypeList": [{"paymentMethodType": "NOPE"}]}))
            .is_err()
        );
        assert!(
            request(|b| b["availablePaymentMethod"] =
                serde_json::json!({"paymentMethodTypeList": [{"paymentMethodType": "GCASH"}]}))
            .is_ok()
        );
    }

    #[test]
    fn session_data_names_its_session() {
        assert_eq!(session_id_of_data("S1&&SIM&&188&&p1"), Some("S1"));
        assert_eq!(session_id_of_data(""), None);
    }
}
