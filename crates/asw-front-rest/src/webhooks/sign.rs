//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with each
//! of the merchant's `whsec_` secrets (several during a rotation, space-separated).

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A merchant's signing secret.
#[derive(Clone)]
pub struct WebhookSecret(hmac::Key);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Why a secret file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// A line is not `whsec_` followed by base64.
    #[error("line {0}: not a whsec_<base64> secret")]
    Malformed(usize),
    /// A secret shorter than 24 bytes (the spec asks for 24 to 64).
    #[error("line {0}: the secret must hold at least 24 bytes")]
    TooShort(usize),
    /// No secret at all.
    #[error("no secret in the file")]
    Empty,
}

/// Reads every secret of a secret file's text (blank lines and `#` comments ignored).
pub fn parse_secrets(text: &str) -> Result<Vec<WebhookSecret>, SecretError> {
    let mut secrets = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let encoded = line
            .strip_prefix("whsec_")
            .ok_or(SecretError::Malformed(n + 1))?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::Malformed(n + 1))?;
        if bytes.len() < 24 {
            return Err(SecretError::TooShort(n + 1));
        }
        secrets.push(WebhookSecret(hmac::Key::new(hmac::HMAC_SHA256, &bytes)));
    }
    if secrets.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(secrets)
}

/// The `webhook-signature` header value for one delivery.
pub fn signature(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &str) -> String {
    let content = format!("{id}.{timestamp}.{body}");
    secrets
        .iter()
        .map(|s| {
            let tag = hmac::sign(&s.0, content.as_bytes());
            format!("v1,{}", STANDARD.encode(tag.as_ref()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_specification_example() {
        // The Standard Webhooks specification's own example (spec/standard-webhooks.md).
        let secrets = parse_secrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn bad_secret_files_are_refused_and_rotations_sign_twice() {
        assert_eq!(parse_secrets("").err(), Some(SecretError::Empty));
        assert_eq!(
            parse_secrets("secret").err(),
            Some(SecretError::Malformed(1))
        );
        assert_eq!(
            parse_secrets("whsec_c2hvcnQ=").err(),
            Some(SecretError::TooShort(1))
        );
        let two = parse_secrets(
            "# old, then new\nwhsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\nwhsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
        )
        .unwrap_or_default();
        assert_eq!(signature(&two, "m", 1, "{}").split(' ').count(), 2);
        assert!(!format!("{:?}", two[0]).contains("MfKQ"));
    }
}
