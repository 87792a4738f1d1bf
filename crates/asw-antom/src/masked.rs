//! Wrappers for values that must reach the wire but never a log line.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Masks everything but the first and last four characters; short values are masked whole,
/// because keeping eight characters of a nine-character secret would reveal it.
fn mask(value: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&asw_mask::mask_middle(value))
}

/// The customer's wallet payment code (the scanned barcode), sent as
/// `paymentMethod.paymentMethodId`.
///
/// A payment code is a bearer credential for a short time: `Debug` and `Display` keep only the
/// first four and last four digits. Serialization writes it in clear because Antom needs it;
/// use [`PaymentCode::expose`] for any other deliberate access.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PaymentCode(String);

impl PaymentCode {
    /// Wraps a payment code. No validation: Antom is the judge (`INVALID_PAYMENT_CODE`).
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    /// The code in clear, for the request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the code has the shape Antom documents for wallet codes (digits only, 16–32
    /// long). A loose check for early rejection of garbage; Antom still decides.
    pub fn looks_plausible(&self) -> bool {
        (16..=32).contains(&self.0.len()) && self.0.bytes().all(|b| b.is_ascii_digit())
    }
}

impl fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaymentCode(")?;
        mask(&self.0, f)?;
        f.write_str(")")
    }
}

impl fmt::Display for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        mask(&self.0, f)
    }
}

impl Serialize for PaymentCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PaymentCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::lenient::string(deserializer).map(Self)
    }
}

/// The ISV `agent-token` header value: a credential granted by the merchant, masked like a
/// payment code in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentToken(String);

impl AgentToken {
    /// Wraps an agent token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token in clear, for the header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentToken(")?;
        mask(&self.0, f)?;
        f.write_str(")")
    }
}

impl fmt::Display for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        mask(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_keep_only_first_and_last_four() {
        let code = PaymentCode::new("281012345678901234");
        assert_eq!(format!("{code}"), "2810**********1234");
        assert_eq!(format!("{code:?}"), "PaymentCode(2810**********1234)");
        assert!(!format!("{code:?}").contains("12345678"));
    }

    #[test]
    fn short_values_are_masked_whole() {
        assert_eq!(format!("{}", PaymentCode::new("12345678")), "********");
        assert_eq!(format!("{}", AgentToken::new("abc")), "***");
    }

    #[test]
    fn serializes_in_clear_for_the_wire() {
        let code = PaymentCode::new("281012345678901234");
        assert_eq!(
            serde_json::to_string(&code).unwrap(),
            "\"281012345678901234\""
        );
        let back: PaymentCode = serde_json::from_str("\"281012345678901234\"").unwrap();
        assert_eq!(back, code);
    }

    #[test]
    fn plausibility_is_loose() {
        assert!(PaymentCode::new("281012345678901234").looks_plausible());
        assert!(!PaymentCode::new("28101234").looks_plausible());
        assert!(!PaymentCode::new("28101234567890123x").looks_plausible());
    }
}
