//! How a terminal talks to the switch: encoding profile, length prefix, TPDU.

use std::str::FromStr;
use std::sync::Arc;

use asw_iso8583::{Dialect, DialectError, FrameCodec, LengthPrefix, Tpdu};

/// Encoding profile names accepted on the command line: `A`/`ascii`, `B`/`pos-binary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileName {
    /// Profile A, ASCII.
    Ascii,
    /// Profile B, POS binary with TPDU (the default).
    #[default]
    PosBinary,
}

impl FromStr for ProfileName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "A" | "a" | "ascii" => Ok(ProfileName::Ascii),
            "B" | "b" | "pos-binary" => Ok(ProfileName::PosBinary),
            other => Err(format!(
                "unknown profile {other:?}: use A/ascii or B/pos-binary"
            )),
        }
    }
}

impl ProfileName {
    /// The built-in dialect of the profile.
    pub fn dialect(self) -> Result<Dialect, DialectError> {
        match self {
            ProfileName::Ascii => Dialect::ascii(),
            ProfileName::PosBinary => Dialect::pos_binary(),
        }
    }
}

/// Everything needed to put messages on the wire the way the switch's listener expects.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Message encoding.
    pub dialect: Arc<Dialect>,
    /// Frame length header.
    pub prefix: LengthPrefix,
    /// TPDU sent with every request (`None`: the link has no TPDU).
    pub tpdu: Option<Tpdu>,
    /// Largest frame accepted from the switch.
    pub max_frame_bytes: usize,
    /// TLS to the switch's listener (`None`: plain TCP).
    pub tls: Option<TlsLink>,
}

/// TLS settings of a link: whom to trust, what name to expect, and the terminal's own
/// certificate when the switch asks for one (mutual TLS).
#[derive(Clone)]
pub struct TlsLink {
    pub(crate) connector: tokio_rustls::TlsConnector,
    pub(crate) server_name: rustls_pki_types::ServerName<'static>,
}

impl std::fmt::Debug for TlsLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsLink")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Why the TLS settings of a link cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("tls {what}: {reason}")]
pub struct TlsLinkError {
    what: &'static str,
    reason: String,
}

impl TlsLink {
    /// Trusts the CA certificates in PEM file `ca_file`, expects `server_name` in the
    /// switch's certificate, and presents `client` (certificate chain PEM, key PEM) when
    /// given.
    pub fn from_files(
        ca_file: &std::path::Path,
        server_name: &str,
        client: Option<(&std::path::Path, &std::path::Path)>,
    ) -> Result<TlsLink, TlsLinkError> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
        use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
        let fail = |what: &'static str, reason: String| TlsLinkError { what, reason };
        let certs = |what: &'static str, path: &std::path::Path| {
            CertificateDer::pem_file_iter(path)
                .map_err(|e| fail(what, format!("{}: {e}", path.display())))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail(what, format!("{}: {e}", path.display())))
        };
        let mut roots = RootCertStore::empty();
        for ca in certs("ca", ca_file)? {
            roots
                .add(ca)
                .map_err(|e| fail("ca", format!("{}: {e}", ca_file.display())))?;
        }
        if roots.is_empty() {
            return Err(fail("ca", format!("{}: no CERTIFICATE", ca_file.display())));
        }
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail("versions", e.to_string()))?
            .with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = certs("cert", cert)?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| fail("key", format!("{}: {e}", key.display())))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| fail("cert", e.to_string()))?
            }
        };
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|e| fail("server name", e.to_string()))?;
        Ok(TlsLink {
            connector: tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)),
            server_name,
        })
    }
}

impl LinkConfig {
    /// The usual link for a profile: B with TPDU `60 0001 0000` (NII 001), A without.
    pub fn for_profile(profile: ProfileName) -> Result<LinkConfig, DialectError> {
        let tpdu = match profile {
            ProfileName::PosBinary => Some(Tpdu::new([0x00, 0x01], [0x00, 0x00])),
            ProfileName::Ascii => None,
        };
        Ok(LinkConfig {
            dialect: Arc::new(profile.dialect()?),
            prefix: LengthPrefix::BinaryExclusive,
            tpdu,
            max_frame_bytes: asw_iso8583::frame::DEFAULT_MAX_FRAME,
            tls: None,
        })
    }

    /// The frame codec of the link.
    pub fn codec(&self) -> FrameCodec {
        FrameCodec::new(self.prefix, self.tpdu.is_some(), self.max_frame_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names() {
        assert_eq!("A".parse::<ProfileName>(), Ok(ProfileName::Ascii));
        assert_eq!(
            "pos-binary".parse::<ProfileName>(),
            Ok(ProfileName::PosBinary)
        );
        assert!("C".parse::<ProfileName>().is_err());
    }
}
