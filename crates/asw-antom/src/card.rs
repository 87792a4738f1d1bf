//! What Antom reports about the card of a card payment (`paymentResultInfo`), in `pay`,
//! `inquiryPayment` and `notifyPayment` answers. Every field is optional: which ones come
//! depends on the card scheme, the acquirer and whether 3-D Secure ran.

use serde::{Deserialize, Serialize};

/// `paymentResultInfo` of a card payment. `cardToken` is the saved card, to send later as
/// `paymentMethod.paymentMethodId` instead of the buyer typing the card again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResultInfo {
    /// Masked card number, e.g. `************4242`.
    #[serde(
        rename = "cardNo",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub card_no: Option<String>,
    /// `VISA`, `MASTERCARD`, …
    #[serde(
        rename = "cardBrand",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub card_brand: Option<String>,
    /// The first digits of the card (up to 8).
    #[serde(
        rename = "cardBin",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub card_bin: Option<String>,
    /// The last four digits.
    #[serde(
        rename = "lastFour",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_four: Option<String>,
    /// Expiry month, `MM`.
    #[serde(
        rename = "expiryMonth",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry_month: Option<String>,
    /// Expiry year, `YY`.
    #[serde(
        rename = "expiryYear",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry_year: Option<String>,
    /// Name on the card.
    #[serde(
        rename = "cardholderName",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub cardholder_name: Option<String>,
    /// `CREDIT`, `DEBIT`, …
    #[serde(
        rename = "funding",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub funding: Option<String>,
    /// Country of the issuer (ISO 3166 alpha-2).
    #[serde(
        rename = "issuingCountry",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub issuing_country: Option<String>,
    /// The saved card's token (reuse as `paymentMethodId`).
    #[serde(
        rename = "cardToken",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub card_token: Option<String>,
    /// The scheme's id of the authorization (for merchant-initiated follow-ups).
    #[serde(
        rename = "networkTransactionId",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_transaction_id: Option<String>,
    /// Address verification result as the scheme sent it.
    #[serde(
        rename = "avsResultRaw",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub avs_result_raw: Option<String>,
    /// CVV check result as the scheme sent it.
    #[serde(
        rename = "cvvResultRaw",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub cvv_result_raw: Option<String>,
    /// The issuer's authorization code.
    #[serde(
        rename = "authorizationCode",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub authorization_code: Option<String>,
    /// The issuer's refusal code, on a decline.
    #[serde(
        rename = "refusalCodeRaw",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refusal_code_raw: Option<String>,
    /// The issuer's refusal text, on a decline.
    #[serde(
        rename = "refusalReasonRaw",
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refusal_reason_raw: Option<String>,
    /// How 3-D Secure went, when it ran.
    #[serde(
        rename = "threeDSResult",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub three_ds_result: Option<crate::buyer::ThreeDsResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hosted_mode_sample_with_its_3ds_result_and_leaves_absent_fields_out() {
        let info: PaymentResultInfo = serde_json::from_str(
            r#"{"avsResultRaw":"A","cvvResultRaw":"Y","networkTransactionId":"sampleNetworkTransactionId123456",
                "threeDSResult":{"eci":"02"}}"#,
        )
        .unwrap();
        assert_eq!(info.avs_result_raw.as_deref(), Some("A"));
        assert_eq!(info.cvv_result_raw.as_deref(), Some("Y"));
        assert!(info.card_token.is_none());
        let back = serde_json::to_value(&info).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"avsResultRaw":"A","cvvResultRaw":"Y",
                               "networkTransactionId":"sampleNetworkTransactionId123456",
                               "threeDSResult":{"eci":"02"}})
        );
    }
}
