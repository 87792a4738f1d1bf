//! What an online payment may tell Antom about its buyer and card checks (`order.buyer`,
//! `paymentMethod.paymentMethodMetaData`: 3-D Secure and the billing address for AVS), and
//! what Antom tells back about the acquirer (`acquirerInfo`). Everything is optional and
//! passed through: the switch neither interprets nor enriches it.

use serde::{Deserialize, Serialize};

use crate::model::optional_string_struct;

/// `order.buyer`: who pays, for Antom's risk checks (seed 004: `referenceBuyerId`; phone or
/// e-mail help). `Debug` masks the e-mail and phone number.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    /// The merchant's id of the buyer.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference_buyer_id: Option<String>,
    /// The buyer's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<UserName>,
    /// The buyer's phone number.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub buyer_phone_no: Option<String>,
    /// The buyer's e-mail address.
    #[serde(
        default,
        deserialize_with = "crate::lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub buyer_email: Option<String>,
}

impl std::fmt::Debug for Buyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let masked = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("Buyer")
            .field("reference_buyer_id", &self.reference_buyer_id)
            .field("buyer_name", &self.buyer_name.as_ref().map(|_| "***"))
            .field("buyer_phone_no", &masked(&self.buyer_phone_no))
            .field("buyer_email", &masked(&self.buyer_email))
            .finish()
    }
}

optional_string_struct! {
    /// `buyerName`.
    pub struct UserName {
        /// First name.
        first_name: "firstName",
        /// Last name.
        last_name: "lastName",
        /// The whole name as the buyer gave it.
        full_name: "fullName",
    }
}

optional_string_struct! {
    /// An address (`billingAddress`, checked against the issuer's record by AVS).
    pub struct Address {
        /// Country or region, ISO 3166 alpha-2.
        region: "region",
        /// State or province.
        state: "state",
        /// City.
        city: "city",
        /// First address line.
        address1: "address1",
        /// Second address line.
        address2: "address2",
        /// Postal code.
        zip_code: "zipCode",
    }
}

/// `paymentMethod.paymentMethodMetaData` of a card payment: the checks the merchant asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethodMetaData {
    /// Ask for 3-D Secure authentication.
    #[serde(
        rename = "is3DSAuthentication",
        default,
        deserialize_with = "crate::lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_3ds_authentication: Option<bool>,
    /// The card holder's billing address, for the Address Verification System.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
}

optional_string_struct! {
    /// `acquirerInfo`: who acquired an online payment and what it said (seed 002 asks to
    /// keep it for order reconciliation).
    pub struct AcquirerInfo {
        /// The acquirer.
        acquirer_name: "acquirerName",
        /// The id the acquirer was sent.
        reference_request_id: "referenceRequestId",
        /// The acquirer's id of the transaction.
        acquirer_transaction_id: "acquirerTransactionId",
        /// The merchant's id at the acquirer.
        acquirer_merchant_id: "acquirerMerchantId",
        /// The acquirer's result code.
        acquirer_result_code: "acquirerResultCode",
        /// The acquirer's result text.
        acquirer_result_message: "acquirerResultMessage",
    }
}

optional_string_struct! {
    /// `paymentResultInfo.threeDSResult`: how 3-D Secure went, when it ran.
    pub struct ThreeDsResult {
        /// `1.0.2`, `2.1.0`, `2.2.0`.
        three_ds_version: "threeDSVersion",
        /// Electronic commerce indicator (02/05 authenticated, 01/06 attempted, 00/07 none).
        eci: "eci",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buyer_and_the_card_checks_have_antoms_spelling_and_debug_masks_contacts() {
        let buyer = Buyer {
            reference_buyer_id: Some("b-1".into()),
            buyer_email: Some("ann@example.com".into()),
            buyer_phone_no: Some("+6590000000".into()),
            buyer_name: Some(UserName {
                full_name: Some("Ann Lee".into()),
                ..UserName::default()
            }),
        };
        assert_eq!(
            serde_json::to_value(&buyer).unwrap(),
            serde_json::json!({"referenceBuyerId":"b-1","buyerName":{"fullName":"Ann Lee"},
                               "buyerPhoneNo":"+6590000000","buyerEmail":"ann@example.com"})
        );
        let debug = format!("{buyer:?}");
        assert!(!debug.contains("ann@") && !debug.contains("6590") && !debug.contains("Ann"));

        let meta = PaymentMethodMetaData {
            is_3ds_authentication: Some(true),
            billing_address: Some(Address {
                region: Some("SG".into()),
                zip_code: Some("018956".into()),
                ..Address::default()
            }),
        };
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            serde_json::json!({"is3DSAuthentication":true,
                               "billingAddress":{"region":"SG","zipCode":"018956"}})
        );
        let back: PaymentMethodMetaData =
            serde_json::from_str(r#"{"is3DSAuthentication":"true","tokenizeMode":"x"}"#).unwrap();
        assert_eq!(back.is_3ds_authentication, Some(true));
    }
}
