//! The online side of `pay` (`productCode = CASHIER_PAYMENT`, wallet redirect payments and
//! hosted card authorizations, whose own rules are in `card.rs`):
//! reading and checking the request the way Antom does, what the simulator keeps about the
//! order, the continuation URLs of the `PAYMENT_IN_PROCESS` answer, and the body of the online
//! `notifyPayment` (sent on success, on the buyer's refusal and at expiry).
//!
//! Pure: no I/O and no clock. The buyer's side lives in `ledger/buyer.rs` (state changes),
//! `buyer.rs` (expiry watcher, shared by the page and the hook) and `pages.rs` (HTML).

use asw_antom::AntomResult;
use asw_antom::api::{CASHIER_PAYMENT, PayRequest, PayResponse};
use asw_antom::model::{CodeDetail, OrderCodeForm, PspCustomerInfo, RedirectActionForm};
use asw_antom::webhook::NotifyPayment;
use time::OffsetDateTime;

use crate::card::{self, CARD_METHOD, CARD_METHOD_TYPE, CaptureMode};
use crate::config::SimConfig;
use crate::ledger::{CardAuth, CardChecks, format_time, param_illegal};
use crate::wallets::{self, Wallet};

/// The `terminalType` values Antom accepts (`env.terminalType`).
pub const TERMINAL_TYPES: [&str; 4] = ["WEB", "WAP", "APP", "MINI_APP"];

/// The code answered for a `paymentMethodType` the simulator does not offer. Antom's code for
/// this case is not in the reference, so the simulator uses the documented protocol error.
pub const METHOD_NOT_OFFERED_CODE: &str = "PARAM_ILLEGAL";

/// The code of a payment the buyer declined on the wallet page (a buyer-side refusal listed
/// for online `notifyPayment`).
pub const DECLINE_CODE: &str = "USER_BALANCE_NOT_ENOUGH";

/// The code of an unpaid online payment that expired: the same `ORDER_IS_CLOSED` the in-store
/// side uses (the reference's default; Antom's exact code for an expiry notification is
/// unconfirmed).
pub const EXPIRED_CODE: &str = "ORDER_IS_CLOSED";

/// What the simulator keeps about an online payment besides the common payment fields.
#[derive(Debug, Clone)]
pub(crate) struct OnlineOrder {
    /// The wallet the buyer pays with.
    pub wallet: &'static Wallet,
    /// `paymentRedirectUrl`, exactly as given: the wallet page sends the buyer back there.
    pub redirect_url: String,
    /// `env.terminalType`.
    pub terminal_type: String,
    /// `order.referenceOrderId`.
    pub reference_order_id: String,
    /// `order.orderDescription`.
    pub order_description: String,
    /// What the wallet page calls the merchant (may be empty: online orders need no merchant).
    pub merchant_name: String,
    /// Whether the expiry notification was already produced (it is sent once).
    pub closed_notified: bool,
    /// Card payments only: the authorization and its captures.
    pub card: Option<CardAuth>,
}

impl OnlineOrder {
    /// The online part of a validated request; `None` for an in-store pay.
    pub fn from_request(req: &PayRequest) -> Option<Self> {
        if req.product_code != CASHIER_PAYMENT {
            return None;
        }
        let method_type = req.payment_method.payment_method_type.as_str();
        let (wallet, card) = if method_type == CARD_METHOD_TYPE {
            // Validated before; an unknown mode cannot reach here, AUTOMATIC is the default.
            let mode = CaptureMode::parse(req.payment_factor.capture_mode.as_deref())
                .unwrap_or(CaptureMode::Automatic);
            let checks = CardChecks::of(req.payment_method.payment_method_meta_data.as_ref());
            (&CARD_METHOD, Some(CardAuth::new(mode).with_checks(checks)))
        } else {
            let wallet = wallets::find(method_type)?;
            // A card-like wallet (PayPal, Apple Pay, …) asked as an authorization: held
            // like a card's and captured afterwards (seed 004).
            let auth = (req.payment_factor.is_authorization == Some(true)).then(|| {
                CardAuth::new(
                    CaptureMode::parse(req.payment_factor.capture_mode.as_deref())
                        .unwrap_or(CaptureMode::Automatic),
                )
            });
            (wallet, auth)
        };
        let merchant = &req.order.merchant;
        Some(Self {
            wallet,
            redirect_url: req.payment_redirect_url.clone().unwrap_or_default(),
            terminal_type: req
                .env
                .as_ref()
                .and_then(|e| e.terminal_type.clone())
                .unwrap_or_default(),
            reference_order_id: req.order.reference_order_id.clone().unwrap_or_default(),
            order_description: req.order.order_description.clone(),
            merchant_name: merchant
                .merchant_display_name
                .clone()
                .unwrap_or_else(|| merchant.merchant_name.clone()),
            closed_notified: false,
            card,
        })
    }
}

/// Parses a `pay` body that did not parse as is, when it is an online one: Antom's online
/// `pay` has no `order.merchant` and no `paymentFactor`, which the shared wire model (written
/// for in-store first) requires, so empty ones are filled in before parsing. `None` when the
/// body is not a `CASHIER_PAYMENT` one (the caller keeps its own error).
pub(crate) fn parse_lenient(raw: &[u8]) -> Option<Result<PayRequest, AntomResult>> {
    let mut value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    let object = value.as_object_mut()?;
    if object.get("productCode").and_then(|v| v.as_str()) != Some(CASHIER_PAYMENT) {
        return None;
    }
    object
        .entry("paymentFactor")
        .or_insert_with(|| serde_json::json!({}));
    if let Some(order) = object.get_mut("order").and_then(|o| o.as_object_mut()) {
        order.entry("merchant").or_insert_with(|| {
            serde_json::json!({"referenceMerchantId": "", "merchantMCC": "", "merchantName": ""})
        });
    }
    // serde's message names the field and position, never the value.
    Some(serde_json::from_value(value).map_err(|e| param_illegal(&format!("illegal body: {e}"))))
}

/// The online-only checks, after the ones shared with in-store (ids, amounts, lengths).
pub(crate) fn validate(req: &PayRequest) -> Result<(), AntomResult> {
    let Some(redirect) = req
        .payment_redirect_url
        .as_deref()
        .filter(|u| !u.is_empty())
    else {
        return Err(param_illegal("paymentRedirectUrl is required"));
    };
    if redirect.chars().count() > 2048 {
        return Err(param_illegal(
            "paymentRedirectUrl is longer than 2048 characters",
        ));
    }
    // The page answers with `Location: <paymentRedirectUrl>`, so it must be a URL that fits
    // in a header as is (app schemes such as `myshop://` are fine).
    if reqwest::Url::parse(redirect).is_err()
        || http::HeaderValue::from_str(redirect).is_err()
        || redirect.chars().any(char::is_whitespace)
    {
        return Err(param_illegal("paymentRedirectUrl must be a URL"));
    }
    let terminal = req.env.as_ref().and_then(|e| e.terminal_type.as_deref());
    match terminal {
        None | Some("") => return Err(param_illegal("env.terminalType is required")),
        Some(t) if !TERMINAL_TYPES.contains(&t) => {
            return Err(param_illegal(
                "env.terminalType must be WEB, WAP, APP or MINI_APP",
            ));
        }
        Some(_) => {}
    }
    if req
        .order
        .reference_order_id
        .as_deref()
        .is_none_or(str::is_empty)
    {
        return Err(param_illegal("order.referenceOrderId is required"));
    }
    if req.payment_method.payment_method_type == CARD_METHOD_TYPE {
        card::validate(req)?;
    } else if wallets::find(&req.payment_method.payment_method_type).is_none() {
        return Err(AntomResult::new(
            METHOD_NOT_OFFERED_CODE,
            asw_antom::ResultStatus::Failed,
            "paymentMethod.paymentMethodType is not supported",
        ));
    } else if req.payment_factor.is_authorization == Some(true)
        && CaptureMode::parse(req.payment_factor.capture_mode.as_deref()).is_none()
    {
        return Err(param_illegal(
            "paymentFactor.captureMode must be AUTOMATIC or MANUAL",
        ));
    }
    Ok(())
}

/// `normalUrl`: the wallet page, or the card page, of this payment.
pub(crate) fn normal_url(cfg: &SimConfig, payment_id: &str, is_card: bool) -> String {
    let page = if is_card { "card" } else { "wallet" };
    format!("{}/checkout/{page}/{payment_id}", cfg.public_base())
}

/// Adds the continuation of an open online payment to a `PAYMENT_IN_PROCESS` answer. Built
/// from the payment id only, so a re-sent `pay` gets exactly the same URLs.
pub(crate) fn add_continuation(
    body: &mut PayResponse,
    order: &OnlineOrder,
    payment_id: &str,
    expires_at: OffsetDateTime,
    cfg: &SimConfig,
) {
    // The card form for CARD; a card-like wallet (an authorization) keeps its wallet page.
    let is_card = order.wallet.method_type == CARD_METHOD_TYPE;
    let normal = normal_url(cfg, payment_id, is_card);
    // The QR of a wallet page; a card form is only ever opened as a page.
    body.order_code_form = (!is_card).then(|| OrderCodeForm {
        expire_time: Some(format_time(expires_at, cfg.response_utc_offset)),
        code_details: vec![
            CodeDetail {
                code_value: Some(normal.clone()),
                code_value_type: None,
                display_type: Some("TEXT".into()),
            },
            CodeDetail {
                code_value: Some(format!("{normal}/qr?picSize=L")),
                code_value_type: None,
                display_type: Some("BIGIMAGE".into()),
            },
        ],
        extend_info: None,
    });
    // Antom deprecated redirectActionForm in 2023 but still sends it next to the string form.
    body.redirect_action_form = Some(RedirectActionForm {
        method: Some("GET".into()),
        redirect_url: Some(normal.clone()),
    });
    body.payment_action_form = Some(
        serde_json::json!({
            "method": "GET",
            "paymentActionFormType": "RedirectActionForm",
            "redirectUrl": normal,
        })
        .to_string(),
    );
    // App links only for mobile terminals, as in Antom's WEB vs WAP/APP samples, and never
    // for cards, which have no app.
    if order.terminal_type != "WEB" && !is_card {
        body.applink_url = Some(format!("{normal}?entry=applink"));
        body.scheme_url = Some(format!(
            "{}://pay?paymentId={payment_id}",
            order.wallet.scheme
        ));
        body.app_identifier = Some(order.wallet.app_identifier.to_owned());
    }
    body.normal_url = Some(normal);
}

/// The buyer who paid, as the wallet reports it.
pub(crate) fn psp_customer(order: &OnlineOrder) -> PspCustomerInfo {
    PspCustomerInfo {
        psp_name: Some(order.wallet.method_type.to_owned()),
        psp_customer_id: Some("2088000000000000".into()),
        display_customer_id: Some("sim***@antom-sim.invalid".into()),
        display_customer_name: None,
    }
}

/// Serializes an online notification: the in-store body plus the method the buyer paid with
/// and, for a success, the acquirer (`acquirerInfo`, which seed 002 asks merchants to keep).
pub(crate) fn notify_body(mut notify: NotifyPayment, order: &OnlineOrder) -> Vec<u8> {
    add_online_details(
        &mut notify.payment,
        order,
        &notify.payment_request_id,
        notify.result.result_status == asw_antom::ResultStatus::Success,
    );
    // Serializing our own plain structs cannot fail; an empty body is refused by receivers.
    serde_json::to_vec(&notify).unwrap_or_default()
}

/// What an online payment's notification and inquiry say beyond the in-store ones: the
/// method, and once paid, the acquirer.
pub(crate) fn add_online_details(
    payment: &mut asw_antom::model::PaymentDetails,
    order: &OnlineOrder,
    payment_request_id: &str,
    paid: bool,
) {
    payment.payment_method_type = Some(order.wallet.method_type.to_owned());
    if paid {
        payment.acquirer_info = Some(asw_antom::buyer::AcquirerInfo {
            acquirer_name: Some("ALIPAY".to_owned()),
            reference_request_id: Some(payment_request_id.to_owned()),
            acquirer_transaction_id: payment.payment_id.clone(),
            acquirer_result_code: Some("SUCCESS".to_owned()),
            ..asw_antom::buyer::AcquirerInfo::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(edit: impl FnOnce(&mut serde_json::Value)) -> Result<PayRequest, AntomResult> {
        let mut body = serde_json::json!({
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": "p1",
            "paymentAmount": {"currency": "HKD", "value": "100"},
            "paymentMethod": {"paymentMethodType": "ALIPAY_HK"},
            "paymentRedirectUrl": "http://www.yourRedirectUrl.com",
            "env": {"terminalType": "WEB"},
            "order": {"orderAmount": {"currency": "HKD", "value": "100"},
                      "referenceOrderId": "o1", "orderDescription": "d"}
        });
        edit(&mut body);
        let raw = serde_json::to_vec(&body).unwrap_or_default();
        let req = parse_lenient(&raw).unwrap_or_else(|| Err(param_illegal("not online")))?;
        validate(&req).map(|()| req)
    }

    #[test]
    fn antoms_own_sample_request_is_accepted() {
        assert!(request(|_| {}).is_ok());
    }

    #[test]
    fn online_fields_are_required() {
        let code = |edit: fn(&mut serde_json::Value)| {
            request(edit)
                .err()
                .map(|r| r.result_code)
                .unwrap_or_default()
        };
        assert_eq!(
            code(|b| {
                b.as_object_mut().map(|o| o.remove("paymentRedirectUrl"));
            }),
            "PARAM_ILLEGAL"
        );
        assert_eq!(
            code(|b| b["paymentRedirectUrl"] = "not a url".into()),
            "PARAM_ILLEGAL"
        );
        assert_eq!(code(|b| b["env"] = serde_json::json!({})), "PARAM_ILLEGAL");
        assert_eq!(
            code(|b| b["env"]["terminalType"] = "TV".into()),
            "PARAM_ILLEGAL"
        );
        assert_eq!(
            code(|b| {
                b["order"]
                    .as_object_mut()
                    .map(|o| o.remove("referenceOrderId"));
            }),
            "PARAM_ILLEGAL"
        );
        assert_eq!(
            code(|b| b["paymentMethod"]["paymentMethodType"] = "NOPE".into()),
            METHOD_NOT_OFFERED_CODE
        );
        assert!(request(|b| b["paymentRedirectUrl"] = "myshop://orders/1".into()).is_ok());
    }

    #[test]
    fn in_store_bodies_are_left_alone() {
        assert!(parse_lenient(br#"{"productCode":"IN_STORE_PAYMENT"}"#).is_none());
        assert!(parse_lenient(b"[]").is_none());
    }
}
