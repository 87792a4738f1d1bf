//! API keys: `Authorization: Bearer <secret>`, compared by SHA-256 digest in constant time.
//!
//! Only digests are configured, so a leaked configuration does not leak a key. Every configured
//! digest is compared (no early exit), so the time taken says nothing about which key nearly
//! matched.

use asw_core::domain::{MerchantProfile, Origin};
use aws_lc_rs::digest;
use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// The caller a valid key names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The merchant the key belongs to.
    pub merchant_id: String,
    /// The key's public id.
    pub key_id: String,
}

impl Caller {
    /// The origin of this caller's requests (every lookup is scoped by it).
    pub fn origin(&self) -> Origin {
        Origin::rest(self.merchant_id.clone(), self.key_id.clone())
    }
}

/// A configured key that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("merchants[{merchant}].api_keys[{index}]: {why}")]
pub struct KeyError {
    /// The merchant id.
    pub merchant: String,
    /// The key's position in the merchant's list.
    pub index: usize,
    /// What is wrong.
    pub why: String,
}

struct Entry {
    caller: Caller,
    digest: [u8; 32],
}

/// Every merchant's API keys.
pub struct ApiKeys {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.entries.len())
            .finish()
    }
}

impl ApiKeys {
    /// Reads the keys of every merchant; every problem is reported at once.
    pub fn from_merchants(merchants: &[MerchantProfile]) -> Result<Self, Vec<KeyError>> {
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for merchant in merchants {
            for (index, key) in merchant.api_keys.iter().enumerate() {
                let error = |why: &str| KeyError {
                    merchant: merchant.merchant_id.clone(),
                    index,
                    why: why.to_string(),
                };
                if key.id.trim().is_empty() {
                    errors.push(error("id must not be empty"));
                    continue;
                }
                let mut digest = [0u8; 32];
                match hex::decode(key.sha256.trim()) {
                    Ok(bytes) if bytes.len() == 32 => digest.copy_from_slice(&bytes),
                    _ => {
                        errors.push(error("sha256 must be 64 hex characters"));
                        continue;
                    }
                }
                if !seen.insert(digest) {
                    errors.push(error("the same secret is configured twice"));
                    continue;
                }
                entries.push(Entry {
                    caller: Caller {
                        merchant_id: merchant.merchant_id.trim_end().to_string(),
                        key_id: key.id.clone(),
                    },
                    digest,
                });
            }
        }
        if errors.is_empty() {
            Ok(Self { entries })
        } else {
            Err(errors)
        }
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no merchant has a key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller named by the request's bearer secret, if it is a configured key.
    pub fn authenticate(&self, headers: &HeaderMap) -> Option<Caller> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, secret) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let secret = secret.trim();
        if secret.is_empty() {
            return None;
        }
        self.find(secret)
    }

    fn find(&self, secret: &str) -> Option<Caller> {
        let presented = digest::digest(&digest::SHA256, secret.as_bytes());
        let mut found = None;
        for entry in &self.entries {
            let equal: bool = entry.digest.ct_eq(presented.as_ref()).into();
            if equal && found.is_none() {
                found = Some(&entry.caller);
            }
        }
        found.cloned()
    }
}

/// The hex SHA-256 of a secret: what the configuration holds for it.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_core::domain::ApiKeyConfig;
    use axum::http::HeaderValue;

    fn merchant(id: &str, keys: &[(&str, &str)]) -> MerchantProfile {
        let keys: Vec<_> = keys
            .iter()
            .map(|(id, secret)| serde_json::json!({ "id": id, "sha256": sha256_hex(secret) }))
            .collect();
        let value = serde_json::json!({
            "merchant_id": id, "reference_merchant_id": "R", "merchant_name": "N",
            "mcc": "5812", "store_id": "S", "store_name": "S", "api_keys": keys,
        });
        serde_json::from_value(value).unwrap_or_else(|e| panic!("test profile: {e}"))
    }

    fn bearer(secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {secret}")) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn a_configured_secret_names_its_merchant_and_nothing_else_does() {
        let keys = ApiKeys::from_merchants(&[
            merchant("M1", &[("k1", "sk_one"), ("k1b", "sk_rotated")]),
            merchant("M2", &[("k2", "sk_two")]),
        ])
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(keys.len(), 3);
        let who = |s: &str| keys.authenticate(&bearer(s)).map(|c| c.merchant_id);
        assert_eq!(who("sk_one").as_deref(), Some("M1"));
        assert_eq!(who("sk_rotated").as_deref(), Some("M1"));
        assert_eq!(who("sk_two").as_deref(), Some("M2"));
        assert_eq!(
            who("sk_one "),
            Some("M1".into()),
            "surrounding spaces are not the key"
        );
        assert_eq!(who("sk_on"), None);
        assert_eq!(who(""), None);
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic c2tfb25lOg=="),
        );
        assert_eq!(keys.authenticate(&basic), None);
        assert_eq!(keys.authenticate(&HeaderMap::new()), None);
    }

    #[test]
    fn bad_digests_and_reused_secrets_are_reported_together() {
        let mut m = merchant("M1", &[("k1", "same"), ("k2", "same")]);
        m.api_keys.push(ApiKeyConfig {
            id: "k3".into(),
            sha256: "not-hex".into(),
        });
        let errors = ApiKeys::from_merchants(&[m]).err().unwrap_or_default();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].why.contains("twice"));
        assert!(errors[1].why.contains("64 hex"));
    }
}
