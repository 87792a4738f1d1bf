//! The checks every create request of a payment shares (`POST /v1/payments`, `POST
//! /v1/sessions`): the order id, the amount, the description and the metadata.

use std::collections::BTreeMap;

use crate::model::AmountJson;
use crate::problem::Problem;

/// The longest order id Antom takes as `referenceOrderId`.
const MAX_ORDER_ID: usize = 64;
/// The largest amount accepted: twelve digits, as ISO 8583's field 4.
const MAX_AMOUNT: u64 = 999_999_999_999;

/// The order id, trimmed: 1 to 64 characters without control characters.
pub(crate) fn order_id(raw: &str) -> Result<&str, Problem> {
    let order_id = raw.trim();
    if order_id.is_empty()
        || order_id.len() > MAX_ORDER_ID
        || order_id.chars().any(char::is_control)
    {
        return Err(Problem::invalid(
            "invalid_order_id",
            "order_id must be 1 to 64 characters without control characters",
        ));
    }
    Ok(order_id)
}

/// The amount's ISO 4217 numeric currency, once the currency and the value are valid.
pub(crate) fn amount(amount: &AmountJson) -> Result<u16, Problem> {
    let currency = iso_currency::Currency::from_code(amount.currency.trim())
        .ok_or_else(|| Problem::invalid("invalid_currency", "not an ISO 4217 currency code"))?;
    if amount.value == 0 || amount.value > MAX_AMOUNT {
        return Err(Problem::invalid(
            "invalid_amount",
            format!("amount.value must be between 1 and {MAX_AMOUNT} minor units"),
        ));
    }
    Ok(currency.numeric())
}

/// The description: at most 256 characters without control characters.
pub(crate) fn description(description: Option<&String>) -> Result<Option<String>, Problem> {
    match description {
        Some(d) if d.chars().count() > 256 || d.chars().any(char::is_control) => {
            Err(Problem::invalid(
                "invalid_description",
                "description must be at most 256 characters without control characters",
            ))
        }
        other => Ok(other.cloned()),
    }
}

/// The metadata: at most 20 keys of 1 to 40 letters, digits, `_ - .`, values of at most 500
/// characters without control characters.
pub(crate) fn metadata(
    metadata: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, Problem> {
    let metadata = metadata.cloned().unwrap_or_default();
    let key_ok = |k: &str| {
        (1..=40).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    };
    if metadata.len() > 20
        || metadata
            .iter()
            .any(|(k, v)| !key_ok(k) || v.chars().count() > 500 || v.chars().any(char::is_control))
    {
        return Err(Problem::invalid(
            "invalid_metadata",
            "metadata holds at most 20 keys of 1 to 40 letters, digits, _ - . and values of at most 500 characters",
        ));
    }
    Ok(metadata)
}
