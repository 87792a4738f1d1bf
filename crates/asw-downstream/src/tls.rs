//! TLS on the terminal listener: server certificate and key from PEM files, optionally a CA
//! whose certificates every terminal must present (mutual TLS). rustls on aws-lc-rs, TLS 1.2
//! and 1.3.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

/// `[downstream.tls]`: when present the listener speaks TLS only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the server's certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM file with the server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM file with the CA certificates that sign terminal certificates. When set, a
    /// terminal without a certificate from one of them is refused (mutual TLS).
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// The handshake must finish within this, or the connection is closed.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// With `client_ca_file`: which certificate name binds a terminal (always enforced).
    #[serde(default)]
    pub client_identity: crate::identity_config::ClientIdentity,
}

impl TlsConfig {
    /// Loads the files and builds the TLS settings without serving anything (what
    /// `check-config` runs), so a bad certificate is found before deployment.
    pub fn check(&self) -> Result<(), TlsError> {
        TlsListener::load(self).map(|_| ())
    }

    /// The acceptor these settings describe (another listener of the switch, such as the
    /// REST API, serves TLS with the same rules: rustls on aws-lc-rs, TLS 1.2 and 1.3).
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        acceptor(self)
    }
}

/// What a TLS listener needs per connection: the acceptor and how long a handshake may take.
#[derive(Clone)]
pub(crate) struct TlsListener {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) handshake_timeout: std::time::Duration,
}

fn default_handshake_timeout_ms() -> u64 {
    10_000
}

/// Why the TLS settings cannot be used. Nothing is bound when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no PEM item of the expected kind.
    #[error("tls {what} {path}: {reason}")]
    File {
        /// Which setting.
        what: &'static str,
        /// The configured path.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the certificate, key or CA set (e.g. the key does not match).
    #[error("tls settings rejected: {0}")]
    Rejected(String),
}

fn certificates(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError::File {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("no CERTIFICATE in the file".to_string()));
    }
    Ok(certs)
}

impl TlsListener {
    /// Builds the acceptor once at start-up; every error names the setting and the file.
    pub(crate) fn load(config: &TlsConfig) -> Result<TlsListener, TlsError> {
        Ok(TlsListener {
            acceptor: acceptor(config)?,
            handshake_timeout: std::time::Duration::from_millis(config.handshake_timeout_ms),
        })
    }
}

fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, TlsError> {
    let chain = certificates("cert_file", &config.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&config.key_file).map_err(|e| TlsError::File {
        what: "key_file",
        path: config.key_file.clone(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rejected(e.to_string()))?;
    let builder = match &config.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates("client_ca_file", path)? {
                roots
                    .add(ca)
                    .map_err(|e| TlsError::Rejected(format!("client_ca_file: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Rejected(format!("client_ca_file: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let server = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rejected(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}
