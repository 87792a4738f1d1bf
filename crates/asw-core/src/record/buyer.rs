//! What an online payment carries beyond its method: the buyer and the card checks the
//! merchant asked for (passed to Antom as they are), and what Antom reported about how the
//! buyer paid (kept on the attempt for the merchant and for reconciliation).
//!
//! Contact data and card tokens are masked in `Debug`, so no log line carries them.

use serde::{Deserialize, Serialize};

/// Writes `Some("***")` for a present value: the field's presence without its content.
fn masked(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "***")
}

/// The buyer, for Antom's risk checks (`order.buyer`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerDetails {
    /// The merchant's id of the buyer (`referenceBuyerId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// The buyer's full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The buyer's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The buyer's phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl std::fmt::Debug for BuyerDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuyerDetails")
            .field("reference_id", &self.reference_id)
            .field("name", &masked(&self.name))
            .field("email", &masked(&self.email))
            .field("phone", &masked(&self.phone))
            .finish()
    }
}

/// The checks a merchant asks for on a card (`paymentMethodMetaData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardChecks {
    /// Ask for 3-D Secure (`is3DSAuthentication`).
    #[serde(default)]
    pub three_ds: bool,
    /// The card holder's billing address, for the Address Verification System.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<BillingAddress>,
}

/// A billing address (Antom `Address`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingAddress {
    /// Country, ISO 3166 alpha-2 (`region`).
    pub country: String,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// First line (`address1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    /// Second line (`address2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// Postal code (`zipCode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// How the buyer paid, as Antom reported it (notification or inquiry): the method a Checkout
/// Page buyer chose, the acquirer, and for cards what the scheme said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidWith {
    /// Antom `paymentMethodType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_type: Option<String>,
    /// Antom `acquirerInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer: Option<AcquirerDetails>,
    /// Antom `paymentResultInfo` (cards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardDetails>,
}

impl PaidWith {
    /// True when Antom reported nothing worth keeping.
    pub fn is_empty(&self) -> bool {
        self.method_type.is_none() && self.acquirer.is_none() && self.card.is_none()
    }

    /// `self`, completed with what `later` adds (a later report never erases an earlier one).
    pub fn merged(self, later: PaidWith) -> PaidWith {
        PaidWith {
            method_type: later.method_type.or(self.method_type),
            acquirer: later.acquirer.or(self.acquirer),
            card: later.card.or(self.card),
        }
    }
}

/// Antom `acquirerInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquirerDetails {
    /// `acquirerName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `referenceRequestId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_request_id: Option<String>,
    /// `acquirerTransactionId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// `acquirerMerchantId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// `acquirerResultCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_code: Option<String>,
    /// `acquirerResultMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_message: Option<String>,
}

/// What the card scheme reported (`paymentResultInfo`); never the card number itself.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDetails {
    /// `VISA`, `MASTERCARD`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// The masked number as Antom sent it (`************4242`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_number: Option<String>,
    /// The last four digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_four: Option<String>,
    /// `CREDIT`, `DEBIT`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<String>,
    /// The issuer's country (ISO 3166 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_country: Option<String>,
    /// The saved card's `cardToken`, reusable as `paymentMethodId` (masked in `Debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The scheme's id of the authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_transaction_id: Option<String>,
    /// The issuer's authorization code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<String>,
    /// Address verification result, as the scheme sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avs_result: Option<String>,
    /// CVV check result, as the scheme sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvv_result: Option<String>,
    /// 3-D Secure: the electronic commerce indicator, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_ds_eci: Option<String>,
    /// 3-D Secure: the protocol version, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_ds_version: Option<String>,
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardDetails")
            .field("brand", &self.brand)
            .field("last_four", &self.last_four)
            .field("funding", &self.funding)
            .field("token", &masked(&self.token))
            .field("avs_result", &self.avs_result)
            .field("cvv_result", &self.cvv_result)
            .field("three_ds_eci", &self.three_ds_eci)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_contacts_or_the_card_token() {
        let buyer = BuyerDetails {
            reference_id: Some("b-1".into()),
            name: Some("Ann Lee".into()),
            email: Some("ann@example.com".into()),
            phone: Some("+6590000000".into()),
        };
        let card = CardDetails {
            token: Some("TOKEN-SECRET".into()),
            last_four: Some("4242".into()),
            ..CardDetails::default()
        };
        let shown = format!("{buyer:?} {card:?}");
        for secret in ["Ann", "ann@", "6590", "TOKEN-SECRET"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("4242") && shown.contains("b-1"));
    }

    #[test]
    fn a_later_report_completes_an_earlier_one_without_erasing_it() {
        let first = PaidWith {
            method_type: Some("CARD".into()),
            card: Some(CardDetails {
                last_four: Some("4242".into()),
                ..CardDetails::default()
            }),
            ..PaidWith::default()
        };
        let later = PaidWith {
            acquirer: Some(AcquirerDetails {
                name: Some("ALIPAY".into()),
                ..AcquirerDetails::default()
            }),
            ..PaidWith::default()
        };
        let merged = first.clone().merged(later);
        assert_eq!(merged.method_type.as_deref(), Some("CARD"));
        assert_eq!(merged.card, first.card);
        assert!(merged.acquirer.is_some());
        assert!(PaidWith::default().is_empty());
    }
}
