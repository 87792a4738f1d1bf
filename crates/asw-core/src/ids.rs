//! Keyed identifiers: the journal shard tag of a request key and approval codes.
//!
//! Fronts derive their requests' ids (`paymentRequestId`, `refundRequestId`, receipt references)
//! from their own wire format; they use this generator's keyed hash so that every instance of a
//! deployment derives the same ids and outsiders cannot predict them (Antom asks for ids that are
//! unique, never reset and not consecutive — seed 003).

use aws_lc_rs::hmac;

use crate::domain::PaymentRequestId;

/// Derives keyed ids with a deployment secret.
pub struct IdGenerator {
    key: hmac::Key,
}

impl std::fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdGenerator(<secret>)")
    }
}

impl IdGenerator {
    /// Creates a generator; the secret must be the same on every instance of a deployment.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The first `hex_len` hex characters of the keyed hash of `parts`.
    pub fn mac_hex(&self, parts: &[&str], hex_len: usize) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(part.as_bytes());
            ctx.update(b"\x1f");
        }
        let tag = ctx.sign();
        let mut out = hex::encode(tag.as_ref());
        out.truncate(hex_len);
        out
    }

    /// The 8-hex-character tag of a front's request key: it ends every id derived from the key
    /// and names the journal shard, so all of a transaction's Redis keys can be found from the
    /// key or from the id.
    pub fn key_tag(&self, request_key: &str) -> String {
        self.mac_hex(&["key", request_key], 8)
    }

    /// A six-character approval code for an approved payment, stable for its id.
    pub fn approval_code(&self, id: &PaymentRequestId) -> String {
        self.mac_hex(&["approval", id.as_str()], 6)
            .to_ascii_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_codes_are_six_alphanumerics() {
        let ids = IdGenerator::new(b"s");
        let code = ids.approval_code(&PaymentRequestId::new("x"));
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn tags_are_keyed_and_stable() {
        let a = IdGenerator::new(b"s").key_tag("M|T|20261121|000123");
        assert_eq!(a, IdGenerator::new(b"s").key_tag("M|T|20261121|000123"));
        assert_ne!(a, IdGenerator::new(b"t").key_tag("M|T|20261121|000123"));
        assert_eq!(a.len(), 8);
    }
}
