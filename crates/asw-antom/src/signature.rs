//! The pieces of Antom's signature scheme that are not cryptography: the content that gets
//! signed, the `signature` header format, and the sandbox path rewrite.
//!
//! Content to sign (requests, responses and notifications alike):
//! `POST <path>\n<client-id>.<time>.<raw body>`, where `<time>` is the `request-time` or
//! `response-time` header verbatim and `<raw body>` the exact bytes on the wire.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::SIGNATURE_ALGORITHM;

/// Prefix of sandbox client ids; requests from such a client go to the sandbox paths.
pub const SANDBOX_CLIENT_PREFIX: &str = "SANDBOX_";

/// Why a signature could not be checked or did not verify. Carries no key material and no
/// signature bytes, so it is safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The `signature` header is missing.
    #[error("the signature header is missing")]
    Missing,
    /// The time header the signature covers (`request-time` / `response-time`) is missing.
    #[error("the {0} header is missing, so the signature cannot be checked")]
    MissingTimeHeader(&'static str),
    /// The header is not `algorithm=…,keyVersion=…,signature=…`.
    #[error("malformed signature header: {0}")]
    MalformedHeader(&'static str),
    /// An algorithm other than `RSA256`.
    #[error("unsupported signature algorithm (only RSA256 is accepted)")]
    UnsupportedAlgorithm,
    /// The signature value is not URL-encoded base64.
    #[error("the signature value is not URL-encoded base64")]
    BadEncoding,
    /// Well-formed, but no configured public key verifies it over this content.
    #[error("the signature does not verify with any configured public key")]
    Mismatch,
}

/// Builds the exact bytes that are signed: `POST <path>\n<client-id>.<time>.<body>`.
///
/// `path` is the path (plus query, if any) without scheme or host — for requests the path
/// actually called, after the sandbox rewrite.
pub fn content_to_sign(path: &str, client_id: &str, time: &str, body: &[u8]) -> Vec<u8> {
    let mut content =
        Vec::with_capacity(8 + path.len() + client_id.len() + time.len() + body.len());
    content.extend_from_slice(b"POST ");
    content.extend_from_slice(path.as_bytes());
    content.push(b'\n');
    content.extend_from_slice(client_id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(time.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

/// Base64 (standard alphabet, padded) then form-URL-encoded, as it goes after `signature=`.
pub fn encode_signature(raw_signature: &[u8]) -> String {
    let b64 = STANDARD.encode(raw_signature);
    form_urlencoded::byte_serialize(b64.as_bytes()).collect()
}

/// Reverses [`encode_signature`]. Also accepts a value that was never URL-encoded (raw `+`,
/// `/`, `=`) and one whose `+` became a space on the way: the RSA check decides, not us.
pub fn decode_signature(value: &str) -> Result<Vec<u8>, SignatureError> {
    let decoded = percent_encoding::percent_decode_str(value.trim())
        .decode_utf8()
        .map_err(|_| SignatureError::BadEncoding)?;
    let b64: String = decoded
        .chars()
        .map(|c| if c == ' ' { '+' } else { c })
        .collect();
    STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| SignatureError::BadEncoding)
}

/// A parsed `signature` header: `algorithm=RSA256,keyVersion=1,signature=<url-encoded b64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `keyVersion`, when present.
    pub key_version: Option<u32>,
    /// The raw signature bytes (already URL- and base64-decoded).
    pub signature: Vec<u8>,
}

impl std::fmt::Debug for SignatureHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureHeader")
            .field("key_version", &self.key_version)
            .field(
                "signature",
                &format_args!("<{} bytes>", self.signature.len()),
            )
            .finish()
    }
}

impl SignatureHeader {
    /// Parses a header value. Spaces after the commas are allowed (the docs show both forms);
    /// the signature is everything after the first `signature=`, as every official SDK does.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        const MARKER: &str = "signature=";
        let at = value
            .find(MARKER)
            .ok_or(SignatureError::MalformedHeader("no signature= part"))?;
        let (params, rest) = value.split_at(at);
        let encoded = rest[MARKER.len()..].trim();
        if encoded.is_empty() {
            return Err(SignatureError::MalformedHeader("empty signature"));
        }
        let mut key_version = None;
        for param in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, val) = param
                .split_once('=')
                .ok_or(SignatureError::MalformedHeader("parameter without '='"))?;
            match name.trim() {
                "algorithm" if val.trim() != SIGNATURE_ALGORITHM => {
                    return Err(SignatureError::UnsupportedAlgorithm);
                }
                "keyVersion" => {
                    key_version = Some(
                        val.trim()
                            .parse()
                            .map_err(|_| SignatureError::MalformedHeader("keyVersion"))?,
                    );
                }
                // Unknown parameters are ignored: the SDKs ignore them too.
                _ => {}
            }
        }
        Ok(Self {
            key_version,
            signature: decode_signature(encoded)?,
        })
    }

    /// Formats a header value from a key version and an already URL-encoded signature.
    pub fn format(key_version: u32, urlencoded_signature: &str) -> String {
        format!(
            "algorithm={SIGNATURE_ALGORITHM},keyVersion={key_version},signature={urlencoded_signature}"
        )
    }
}

/// Whether a client id belongs to the sandbox.
pub fn is_sandbox_client(client_id: &str) -> bool {
    client_id.starts_with(SANDBOX_CLIENT_PREFIX)
}

/// The path to call and sign for this client: sandbox clients get the first `/ams/api`
/// replaced by `/ams/sandbox/api`, exactly as the official SDKs do, before signing.
pub fn path_for_client<'a>(client_id: &str, path: &'a str) -> Cow<'a, str> {
    if is_sandbox_client(client_id) && path.contains("/ams/api") {
        Cow::Owned(path.replacen("/ams/api", "/ams/sandbox/api", 1))
    } else {
        Cow::Borrowed(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_layout() {
        assert_eq!(
            content_to_sign("/p", "C", "1", b"{}"),
            b"POST /p\nC.1.{}".to_vec()
        );
    }

    #[test]
    fn header_with_and_without_spaces() {
        let sig = encode_signature(&[0xfb, 0xff, 0x01, 0x02]);
        assert_eq!(sig, "%2B%2F8BAg%3D%3D");
        for value in [
            format!("algorithm=RSA256,keyVersion=2,signature={sig}"),
            format!("algorithm=RSA256, keyVersion=2, signature={sig}"),
            format!("algorithm=RSA256 , keyVersion=2 ,signature={sig} "),
        ] {
            let h = SignatureHeader::parse(&value).unwrap();
            assert_eq!(h.key_version, Some(2));
            assert_eq!(h.signature, vec![0xfb, 0xff, 0x01, 0x02]);
        }
    }

    #[test]
    fn header_accepts_unencoded_and_space_mangled_values() {
        let h = SignatureHeader::parse("algorithm=RSA256,keyVersion=1,signature=+/8BAg==").unwrap();
        assert_eq!(h.signature, vec![0xfb, 0xff, 0x01, 0x02]);
        let h = SignatureHeader::parse("signature=A //").unwrap();
        assert_eq!(h.signature, vec![0x03, 0xef, 0xff]);
        assert_eq!(h.key_version, None);
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            SignatureHeader::parse("algorithm=RSA256,keyVersion=1"),
            Err(SignatureError::MalformedHeader("no signature= part"))
        );
        assert_eq!(
            SignatureHeader::parse("algorithm=RSA256,keyVersion=1,signature="),
            Err(SignatureError::MalformedHeader("empty signature"))
        );
        assert_eq!(
            SignatureHeader::parse("algorithm=HMAC,keyVersion=1,signature=AA%3D%3D"),
            Err(SignatureError::UnsupportedAlgorithm)
        );
        assert_eq!(
            SignatureHeader::parse("algorithm=RSA256,keyVersion=x,signature=AA%3D%3D"),
            Err(SignatureError::MalformedHeader("keyVersion"))
        );
        assert_eq!(
            SignatureHeader::parse("algorithm=RSA256,keyVersion=1,signature=%%%"),
            Err(SignatureError::BadEncoding)
        );
        assert_eq!(
            SignatureHeader::parse("signature=not*base64"),
            Err(SignatureError::BadEncoding)
        );
    }

    #[test]
    fn header_format_round_trip() {
        let value = SignatureHeader::format(3, &encode_signature(b"abc"));
        assert_eq!(value, "algorithm=RSA256,keyVersion=3,signature=YWJj");
        assert_eq!(SignatureHeader::parse(&value).unwrap().signature, b"abc");
    }

    #[test]
    fn sandbox_rewrite_only_first_occurrence_and_only_for_sandbox_ids() {
        assert_eq!(
            path_for_client("SANDBOX_5Y", "/ams/api/v1/payments/pay"),
            "/ams/sandbox/api/v1/payments/pay"
        );
        assert_eq!(
            path_for_client("SANDBOX_5Y", "/ams/api/x/ams/api"),
            "/ams/sandbox/api/x/ams/api"
        );
        assert_eq!(
            path_for_client("5YPROD", "/ams/api/v1/payments/pay"),
            "/ams/api/v1/payments/pay"
        );
        assert!(matches!(
            path_for_client("SANDBOX_5Y", "/antom/notify"),
            Cow::Borrowed(_)
        ));
    }
}
