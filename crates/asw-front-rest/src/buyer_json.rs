//! The JSON of an online payment's extras: the buyer and a card's checks in a request (passed
//! to Antom as they are, after the length and shape checks here), and how the buyer paid in
//! an answer (the method, the acquirer, the card's result).

use asw_core::record::{
    AcquirerDetails, BillingAddress, BuyerDetails, CardChecks, CardDetails, PaidWith,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::Problem;

/// Who pays, for Antom's risk checks (Antom `order.buyer`); give at least one field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyerJson {
    /// Your id of the buyer (`referenceBuyerId`), up to 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, example = "customer-42")]
    pub reference_id: Option<String>,
    /// The buyer's name, up to 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 128)]
    pub name: Option<String>,
    /// The buyer's e-mail address, up to 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, example = "ann@example.com")]
    pub email: Option<String>,
    /// The buyer's phone number: up to 24 of digits, spaces, `+` and `-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9 +-]{1,24}$", example = "+65 9000 0000")]
    pub phone: Option<String>,
}

/// A card holder's billing address, for the Address Verification System.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressJson {
    /// Country, ISO 3166 alpha-2.
    #[schema(pattern = "^[A-Z]{2}$", example = "SG")]
    pub country: String,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// First address line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    /// Second address line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "018956")]
    pub postal_code: Option<String>,
}

/// How the buyer paid, as Antom reported it (online payments, once reported).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaidWithJson {
    /// Antom `paymentMethodType` (what a Checkout Page buyer chose, for instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_type: Option<String>,
    /// The card's result (cards and card-like methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardResultJson>,
    /// The acquirer and what it said (Antom `acquirerInfo`), kept for reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer: Option<AcquirerJson>,
}

/// What the card scheme reported; never the card number itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardResultJson {
    /// `VISA`, `MASTERCARD`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// The masked number, as Antom sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_number: Option<String>,
    /// The last four digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_four: Option<String>,
    /// `CREDIT`, `DEBIT`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<String>,
    /// The issuer's country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_country: Option<String>,
    /// Antom's `cardToken` of the saved card.
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
    /// 3-D Secure's electronic commerce indicator, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_ds_eci: Option<String>,
    /// 3-D Secure's protocol version, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_ds_version: Option<String>,
}

/// Antom `acquirerInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AcquirerJson {
    /// The acquirer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The id the acquirer was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_request_id: Option<String>,
    /// The acquirer's id of the transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Your merchant id at the acquirer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// The acquirer's result code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_code: Option<String>,
    /// The acquirer's result text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_message: Option<String>,
}

/// A text field of at most `max` characters without control characters, trimmed; empty is
/// refused like too long.
fn text(value: &Option<String>, field: &str, max: usize) -> Result<Option<String>, Problem> {
    let Some(raw) = value else {
        return Ok(None);
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control)
    {
        return Err(Problem::invalid(
            "invalid_buyer_data",
            format!("{field} must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(Some(trimmed.to_string()))
}

/// The buyer, checked.
pub(crate) fn buyer(json: &BuyerJson) -> Result<BuyerDetails, Problem> {
    let email = text(&json.email, "buyer.email", 64)?;
    if let Some(email) = &email
        && (email.contains(' ') || email.split('@').count() != 2 || email.starts_with('@'))
    {
        return Err(Problem::invalid(
            "invalid_buyer_data",
            "buyer.email is not an e-mail address",
        ));
    }
    let phone = text(&json.phone, "buyer.phone", 24)?;
    if let Some(phone) = &phone
        && !phone
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'+' | b'-'))
    {
        return Err(Problem::invalid(
            "invalid_buyer_data",
            "buyer.phone may hold digits, spaces, + and - only",
        ));
    }
    let details = BuyerDetails {
        reference_id: text(&json.reference_id, "buyer.reference_id", 64)?,
        name: text(&json.name, "buyer.name", 128)?,
        email,
        phone,
    };
    if details == BuyerDetails::default() {
        return Err(Problem::invalid(
            "invalid_buyer_data",
            "buyer needs at least one of reference_id, name, email, phone",
        ));
    }
    Ok(details)
}

/// A card's checks, checked.
pub(crate) fn card_checks(
    three_ds: Option<bool>,
    address: Option<&AddressJson>,
) -> Result<Option<CardChecks>, Problem> {
    let billing_address = match address {
        None => None,
        Some(a) => {
            if a.country.len() != 2 || !a.country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Problem::invalid(
                    "invalid_billing_address",
                    "billing_address.country must be an ISO 3166 alpha-2 code such as SG",
                ));
            }
            let field = |v: &Option<String>, name: &str| {
                text(v, &format!("billing_address.{name}"), 256).map_err(|_| {
                    Problem::invalid(
                        "invalid_billing_address",
                        format!("billing_address.{name} must be 1 to 256 characters"),
                    )
                })
            };
            Some(BillingAddress {
                country: a.country.clone(),
                state: field(&a.state, "state")?,
                city: field(&a.city, "city")?,
                line1: field(&a.line1, "line1")?,
                line2: field(&a.line2, "line2")?,
                postal_code: field(&a.postal_code, "postal_code")?,
            })
        }
    };
    let three_ds = three_ds.unwrap_or(false);
    Ok(
        (three_ds || billing_address.is_some()).then_some(CardChecks {
            three_ds,
            billing_address,
        }),
    )
}

/// A card's checks as the request gave them (for the payment's `method`).
pub(crate) fn address_json(address: &BillingAddress) -> AddressJson {
    AddressJson {
        country: address.country.clone(),
        state: address.state.clone(),
        city: address.city.clone(),
        line1: address.line1.clone(),
        line2: address.line2.clone(),
        postal_code: address.postal_code.clone(),
    }
}

/// How the buyer paid, for an answer.
pub(crate) fn paid_with_json(paid: &PaidWith) -> PaidWithJson {
    PaidWithJson {
        method_type: paid.method_type.clone(),
        card: paid.card.as_ref().map(card_json),
        acquirer: paid.acquirer.as_ref().map(acquirer_json),
    }
}

fn card_json(card: &CardDetails) -> CardResultJson {
    CardResultJson {
        brand: card.brand.clone(),
        masked_number: card.masked_number.clone(),
        last_four: card.last_four.clone(),
        funding: card.funding.clone(),
        issuing_country: card.issuing_country.clone(),
        token: card.token.clone(),
        network_transaction_id: card.network_transaction_id.clone(),
        authorization_code: card.authorization_code.clone(),
        avs_result: card.avs_result.clone(),
        cvv_result: card.cvv_result.clone(),
        three_ds_eci: card.three_ds_eci.clone(),
        three_ds_version: card.three_ds_version.clone(),
    }
}

fn acquirer_json(a: &AcquirerDetails) -> AcquirerJson {
    AcquirerJson {
        name: a.name.clone(),
        reference_request_id: a.reference_request_id.clone(),
        transaction_id: a.transaction_id.clone(),
        merchant_id: a.merchant_id.clone(),
        result_code: a.result_code.clone(),
        result_message: a.result_message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_data_is_checked_before_it_reaches_antom() {
        let ok = buyer(&BuyerJson {
            reference_id: Some(" customer-42 ".into()),
            email: Some("ann@example.com".into()),
            phone: Some("+65 9000-0000".into()),
            ..BuyerJson::default()
        })
        .unwrap();
        assert_eq!(ok.reference_id.as_deref(), Some("customer-42"));
        for bad in [
            BuyerJson::default(),
            BuyerJson {
                email: Some("not an email".into()),
                ..BuyerJson::default()
            },
            BuyerJson {
                phone: Some("call me".into()),
                ..BuyerJson::default()
            },
            BuyerJson {
                reference_id: Some("x".repeat(65)),
                ..BuyerJson::default()
            },
        ] {
            assert!(buyer(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn card_checks_need_a_country_and_are_absent_when_nothing_was_asked() {
        assert_eq!(card_checks(None, None).unwrap(), None);
        assert_eq!(card_checks(Some(false), None).unwrap(), None);
        let asked = card_checks(
            Some(true),
            Some(&AddressJson {
                country: "SG".into(),
                postal_code: Some("018956".into()),
                ..AddressJson::default()
            }),
        )
        .unwrap()
        .unwrap();
        assert!(asked.three_ds);
        assert!(
            card_checks(
                None,
                Some(&AddressJson {
                    country: "sg".into(),
                    ..AddressJson::default()
                })
            )
            .is_err()
        );
    }
}
