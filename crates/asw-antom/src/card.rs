//! What Antom reports about the card of a card payment (`paymentResultInfo`), in `pay`,
//! `inquiryPayment` and `notifyPayment` answers. Every field is optional: which ones come
//! depends on the card scheme, the acquirer and whether 3-D Secure ran.

use serde::{Deserialize, Serialize};

use crate::model::optional_string_struct;

optional_string_struct! {
    /// `paymentResultInfo` of a card payment. `cardToken` is the saved card, to send later as
    /// `paymentMethod.paymentMethodId` instead of the buyer typing the card again.
    pub struct PaymentResultInfo {
        /// Masked card number, e.g. `************4242`.
        card_no: "cardNo",
        /// `VISA`, `MASTERCARD`, …
        card_brand: "cardBrand",
        /// The first digits of the card (up to 8).
        card_bin: "cardBin",
        /// The last four digits.
        last_four: "lastFour",
        /// Expiry month, `MM`.
        expiry_month: "expiryMonth",
        /// Expiry year, `YY`.
        expiry_year: "expiryYear",
        /// Name on the card.
        cardholder_name: "cardholderName",
        /// `CREDIT`, `DEBIT`, …
        funding: "funding",
        /// Country of the issuer (ISO 3166 alpha-2).
        issuing_country: "issuingCountry",
        /// The saved card's token (reuse as `paymentMethodId`).
        card_token: "cardToken",
        /// The scheme's id of the authorization (for merchant-initiated follow-ups).
        network_transaction_id: "networkTransactionId",
        /// Address verification result as the scheme sent it.
        avs_result_raw: "avsResultRaw",
        /// CVV check result as the scheme sent it.
        cvv_result_raw: "cvvResultRaw",
        /// The issuer's authorization code.
        authorization_code: "authorizationCode",
        /// The issuer's refusal code, on a decline.
        refusal_code_raw: "refusalCodeRaw",
        /// The issuer's refusal text, on a decline.
        refusal_reason_raw: "refusalReasonRaw",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hosted_mode_sample_and_leaves_absent_fields_out() {
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
                               "networkTransactionId":"sampleNetworkTransactionId123456"})
        );
    }
}
