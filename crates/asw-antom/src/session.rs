//! `createPaymentSession` — an APO Checkout Page session (seed 002, `productScene =
//! CHECKOUT_PAYMENT`): the buyer picks the method and pays on Antom's page (hosted, at
//! `normalUrl`) or in the page embedded by the merchant's front end (`paymentSessionData`).
//!
//! Unlike `pay`, a session is never re-sent: after a `U` or no answer, Antom asks for a new
//! `paymentRequestId` (seed 002, "Change the paymentRequestId and call the API again").

use serde::{Deserialize, Serialize};

use crate::api::{AntomRequest, AntomResponse, Api, CASHIER_PAYMENT};
use crate::buyer::Buyer;
use crate::model::{Amount, AntomResult, PaymentFactor, SettlementStrategy};

/// `productScene` of an APO Checkout Page session.
pub const CHECKOUT_PAYMENT: &str = "CHECKOUT_PAYMENT";

/// Whether `order.buyer` names the buyer: card payments on the page need
/// `referenceBuyerId`, `buyerPhoneNo` or `buyerEmail`, or the page errors when the buyer
/// picks a card (seed 002).
pub fn buyer_identified(buyer: &Buyer) -> bool {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    given(&buyer.reference_buyer_id) || given(&buyer.buyer_email) || given(&buyer.buyer_phone_no)
}

/// The `order` of a session: the online order plus its buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionOrder {
    /// The merchant's order id, the same across attempts (max 64).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub reference_order_id: String,
    /// What is bought (max 256).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub order_description: String,
    /// The order amount.
    pub order_amount: Amount,
    /// The buyer, when the merchant knows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
}

/// One entry of `availablePaymentMethod.paymentMethodTypeList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethodTypeItem {
    /// `GCASH`, `CARD`, …
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_method_type: String,
    /// Position on the page (1 first), when the merchant orders them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_order: Option<u32>,
}

/// `availablePaymentMethod`: which methods the page offers, in which order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailablePaymentMethod {
    /// The methods offered; all the contract's when absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_method_type_list: Vec<PaymentMethodTypeItem>,
}

/// `createPaymentSession` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentSessionRequest {
    /// `CASHIER_PAYMENT`.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub product_code: String,
    /// `CHECKOUT_PAYMENT`.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub product_scene: String,
    /// The merchant's id of the payment the session makes (max 64); never re-used after a
    /// `U` or a lost answer.
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_request_id: String,
    /// What the merchant receives.
    pub payment_amount: Amount,
    /// Where the buyer's browser goes back to (the page shows the server-side result).
    #[serde(deserialize_with = "crate::lenient::string")]
    pub payment_redirect_url: String,
    /// Where Antom sends `notifyPayment` and `CAPTURE_RESULT`.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_notify_url: Option<String>,
    /// The order and its buyer.
    pub order: SessionOrder,
    /// Cards picked on the page: authorization and capture mode.
    #[serde(default)]
    pub payment_factor: PaymentFactor,
    /// When the session stops taking payments (ISO 8601; at most 1 h, 1 h by default).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_session_expiry_time: Option<String>,
    /// The methods the page offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_payment_method: Option<AvailablePaymentMethod>,
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
    /// The page's language.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub locale: Option<String>,
}

impl CreatePaymentSessionRequest {
    /// A Checkout Page session of `amount` for `order`, sending the buyer back to
    /// `redirect_url`.
    pub fn checkout_page(
        payment_request_id: impl Into<String>,
        amount: Amount,
        redirect_url: impl Into<String>,
        order: SessionOrder,
    ) -> Self {
        Self {
            product_code: CASHIER_PAYMENT.to_owned(),
            product_scene: CHECKOUT_PAYMENT.to_owned(),
            payment_request_id: payment_request_id.into(),
            payment_amount: amount,
            payment_redirect_url: redirect_url.into(),
            payment_notify_url: None,
            order,
            payment_factor: PaymentFactor::default(),
            payment_session_expiry_time: None,
            available_payment_method: None,
            settlement_strategy: None,
            merchant_region: None,
            locale: None,
        }
    }

    /// The method types offered, in the merchant's order (empty: every method).
    pub fn offered_methods(&self) -> Vec<String> {
        let mut items: Vec<&PaymentMethodTypeItem> = self
            .available_payment_method
            .as_ref()
            .map(|a| a.payment_method_type_list.iter().collect())
            .unwrap_or_default();
        items.sort_by_key(|i| i.payment_method_order.unwrap_or(u32::MAX));
        items
            .into_iter()
            .map(|i| i.payment_method_type.clone())
            .collect()
    }
}

impl AntomRequest for CreatePaymentSessionRequest {
    const API: Api = Api::CreatePaymentSession;
    type Response = CreatePaymentSessionResponse;
}

/// `createPaymentSession` response. Only `result` is guaranteed; the rest comes with `S`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentSessionResponse {
    /// The call's result.
    pub result: AntomResult,
    /// The encrypted session for the embedded page (`mountComponent({sessionData})`).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_session_data: Option<String>,
    /// When the session expires (ISO 8601).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_session_expiry_time: Option<String>,
    /// The session's id.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_session_id: Option<String>,
    /// The hosted Checkout Page (ignorable in embedded mode).
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub normal_url: Option<String>,
}

impl CreatePaymentSessionResponse {
    /// A response carrying only `result`.
    pub fn from_result(result: AntomResult) -> Self {
        Self {
            result,
            payment_session_data: None,
            payment_session_expiry_time: None,
            payment_session_id: None,
            normal_url: None,
        }
    }
}

impl AntomResponse for CreatePaymentSessionResponse {
    fn result(&self) -> &AntomResult {
        &self.result
    }

    /// An `S` without `paymentSessionData` gives the buyer nothing to pay with: not trusted.
    fn missing_on_success(&self) -> Option<&'static str> {
        match self.payment_session_data.as_deref() {
            Some(data) if !data.trim().is_empty() => None,
            _ => Some("paymentSessionData"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_sample_request_reads_and_the_sample_answer_is_a_success() {
        let request: CreatePaymentSessionRequest = serde_json::from_str(
            r#"{"order":{"buyer":{"referenceBuyerId":"yourBuyerId"},
                "goods":[{"goodsName":"Classic Woman Bag"}],
                "orderAmount":{"currency":"SGD","value":"6000"},
                "orderDescription":"antom ckp testing order","referenceOrderId":"c3df9b82"},
               "paymentAmount":{"currency":"SGD","value":"6000"},
               "paymentFactor":{"isAuthorization":true},
               "paymentNotifyUrl":"http://www.yourNotifyUrl.com/payment/receiveNotify",
               "paymentRedirectUrl":"http://localhost:8080/index.html?paymentRequestId=597795b7",
               "paymentRequestId":"597795b7","productCode":"CASHIER_PAYMENT",
               "productScene":"CHECKOUT_PAYMENT"}"#,
        )
        .unwrap();
        assert_eq!(request.product_scene, CHECKOUT_PAYMENT);
        assert_eq!(request.payment_factor.is_authorization, Some(true));
        assert!(buyer_identified(request.order.buyer.as_ref().unwrap()));
        assert!(request.offered_methods().is_empty());

        let answer: CreatePaymentSessionResponse = serde_json::from_str(
            r#"{"normalUrl":"https://checkout.antom.com/checkout-page/pages/payment/index.html?sessionData=1iwX",
                "paymentSessionData":"1iwX2rH5kXnUGT5372d0kHD7PwcgPmRSMgAsvKs8hqRkqobbtWbep59PU2eO5w72h+/c278B+P+nDVNzrQySQQ==&&SG&&188&&eyJleHRlbmRJbmZvIjoie1wiT1BFTl9NVUxUSXXXX",
                "paymentSessionExpiryTime":"2025-03-19T16:21:06+08:00",
                "paymentSessionId":"1iwX2rH5kXnUGT5372d0kHD7PwcgPmRSMgAsvKs8hqSln4WiVZXXXX",
                "result":{"resultCode":"SUCCESS","resultMessage":"success.","resultStatus":"S"}}"#,
        )
        .unwrap();
        assert_eq!(answer.missing_on_success(), None);
        assert!(answer.normal_url.unwrap().starts_with("https://"));
    }

    #[test]
    fn a_success_without_session_data_is_not_trusted() {
        let answer = CreatePaymentSessionResponse::from_result(AntomResult::success());
        assert_eq!(answer.missing_on_success(), Some("paymentSessionData"));
    }

    #[test]
    fn offered_methods_follow_the_merchants_order() {
        let mut request = CreatePaymentSessionRequest::checkout_page(
            "p1",
            Amount::minor("SGD", 100),
            "https://shop.example/r",
            SessionOrder {
                reference_order_id: "o1".into(),
                order_description: "d".into(),
                order_amount: Amount::minor("SGD", 100),
                buyer: None,
            },
        );
        request.available_payment_method = Some(AvailablePaymentMethod {
            payment_method_type_list: vec![
                PaymentMethodTypeItem {
                    payment_method_type: "CARD".into(),
                    payment_method_order: Some(2),
                },
                PaymentMethodTypeItem {
                    payment_method_type: "GCASH".into(),
                    payment_method_order: Some(1),
                },
            ],
        });
        assert_eq!(request.offered_methods(), ["GCASH", "CARD"]);
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["productScene"], "CHECKOUT_PAYMENT");
        assert!(json["order"].get("buyer").is_none());
    }
}
