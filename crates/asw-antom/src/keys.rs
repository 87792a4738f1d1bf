//! RSA keys and the two operations on them: [`Signer`] (RSASSA-PKCS1-v1_5 with SHA-256 over
//! a private key) and [`Verifier`] (the same over one or more public keys).
//!
//! This is the only module that touches the crypto backend (aws-lc-rs), so swapping it is a
//! one-file change. Key material never appears in `Debug` output or in errors.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::signature::{SignatureError, SignatureHeader, content_to_sign, encode_signature};

/// Why key material was refused. Never contains the key itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Nothing left after removing PEM armour and whitespace.
    #[error("the key is empty")]
    Empty,
    /// The text between the armour lines is not base64.
    #[error("the key is not base64 (after removing PEM armour and whitespace)")]
    NotBase64,
    /// Not an RSA private key in PKCS#8 or PKCS#1 DER.
    #[error("not a usable RSA private key (PKCS#8 or PKCS#1): {0}")]
    PrivateKeyRejected(&'static str),
    /// Not an RSA public key (SubjectPublicKeyInfo, or PKCS#1 RSAPublicKey), or too short.
    #[error("not a usable RSA public key (SubjectPublicKeyInfo): {0}")]
    PublicKeyRejected(&'static str),
    /// A verifier needs at least one public key.
    #[error("no public key configured")]
    NoPublicKey,
    /// The crypto backend refused to sign (should not happen with a valid key).
    #[error("the RSA signing operation failed")]
    SigningFailed,
}

/// Turns key text into DER: accepts PEM (any `-----BEGIN …-----` armour) or bare base64,
/// with any whitespace or line breaks.
pub fn decode_key_text(text: &str) -> Result<Vec<u8>, KeyError> {
    let b64: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    if b64.is_empty() {
        return Err(KeyError::Empty);
    }
    STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| KeyError::NotBase64)
}

/// Signs Antom messages with an RSA private key: the merchant key for requests, or (in the
/// simulator) the Antom key for responses and notifications.
pub struct Signer {
    key: RsaKeyPair,
    key_version: u32,
    rng: SystemRandom,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key", &"<redacted>")
            .field("modulus_bits", &(self.key.public_modulus_len() * 8))
            .field("key_version", &self.key_version)
            .finish()
    }
}

impl Signer {
    /// Loads a private key from text: PKCS#8 or PKCS#1, PEM or bare base64.
    /// `key_version` is what goes into the header's `keyVersion` (Antom's default is 1).
    pub fn from_private_key(text: &str, key_version: u32) -> Result<Self, KeyError> {
        Self::from_private_key_der(&decode_key_text(text)?, key_version)
    }

    /// Loads a private key from DER bytes: PKCS#8 `PrivateKeyInfo` or PKCS#1 `RSAPrivateKey`.
    pub fn from_private_key_der(der: &[u8], key_version: u32) -> Result<Self, KeyError> {
        let key = match RsaKeyPair::from_pkcs8(der) {
            Ok(key) => key,
            // Not PKCS#8: try PKCS#1 (what the Python SDK and `openssl genrsa` produce).
            Err(pkcs8_err) => RsaKeyPair::from_der(der)
                .map_err(|_| KeyError::PrivateKeyRejected(pkcs8_err.description_()))?,
        };
        Ok(Self {
            key,
            key_version,
            rng: SystemRandom::new(),
        })
    }

    /// The `keyVersion` written into signature headers.
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The matching public key as SubjectPublicKeyInfo DER, e.g. to configure a verifier.
    pub fn public_key_der(&self) -> Result<Vec<u8>, KeyError> {
        use aws_lc_rs::encoding::AsDer as _;
        self.key
            .public_key()
            .as_der()
            .map(|der| der.as_ref().to_vec())
            .map_err(|_| KeyError::SigningFailed)
    }

    /// Signs arbitrary bytes: RSASSA-PKCS1-v1_5 with SHA-256, raw signature bytes.
    pub fn sign(&self, content: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, content, &mut signature)
            .map_err(|_| KeyError::SigningFailed)?;
        Ok(signature)
    }

    /// Signs `POST <path>\n<client-id>.<time>.<body>` and returns the URL-encoded base64
    /// value (what follows `signature=` in the header).
    pub fn sign_message(
        &self,
        path: &str,
        client_id: &str,
        time: &str,
        body: &[u8],
    ) -> Result<String, KeyError> {
        let raw = self.sign(&content_to_sign(path, client_id, time, body))?;
        Ok(encode_signature(&raw))
    }

    /// The full `signature` header value for a message.
    pub fn signature_header(
        &self,
        path: &str,
        client_id: &str,
        time: &str,
        body: &[u8],
    ) -> Result<String, KeyError> {
        let signature = self.sign_message(path, client_id, time, body)?;
        Ok(SignatureHeader::format(self.key_version, &signature))
    }
}

/// Verifies signatures with one or more RSA public keys. More than one key supports
/// rotation: a signature is accepted when any configured key verifies it.
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<ParsedPublicKey>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("public_keys", &self.keys.len())
            .finish()
    }
}

impl Verifier {
    /// One public key from text (SubjectPublicKeyInfo, PEM or bare base64).
    pub fn from_public_key(text: &str) -> Result<Self, KeyError> {
        Self::from_public_keys([text])
    }

    /// Several public keys from text; at least one is required.
    pub fn from_public_keys<I, S>(texts: I) -> Result<Self, KeyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let ders = texts
            .into_iter()
            .map(|t| decode_key_text(t.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_public_keys_der(ders)
    }

    /// Several public keys as DER (SubjectPublicKeyInfo; PKCS#1 `RSAPublicKey` also works).
    pub fn from_public_keys_der<I, B>(ders: I) -> Result<Self, KeyError>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let keys = ders
            .into_iter()
            .map(|der| {
                ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_ref())
                    .map_err(|e| KeyError::PublicKeyRejected(e.description_()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::NoPublicKey);
        }
        Ok(Self { keys })
    }

    /// How many keys are configured.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Checks a raw signature over arbitrary content against every configured key.
    pub fn verify_raw(&self, content: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        if self
            .keys
            .iter()
            .any(|key| key.verify_sig(content, signature).is_ok())
        {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// Checks a `signature` header value over `POST <path>\n<client-id>.<time>.<body>`.
    pub fn verify_message(
        &self,
        path: &str,
        client_id: &str,
        time: &str,
        body: &[u8],
        signature_header: &str,
    ) -> Result<(), SignatureError> {
        let header = SignatureHeader::parse(signature_header)?;
        self.verify_raw(
            &content_to_sign(path, client_id, time, body),
            &header.signature,
        )
    }
}
