//! The names a terminal's client certificate carries, read once after the TLS handshake.
//! rustls has already verified the chain against the client CA; this only reads names.

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::identity_config::NameSource;

/// Names of a verified client certificate, by where they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateNames {
    /// Subject common names (CN).
    pub common_names: Vec<String>,
    /// subjectAltName `dNSName` entries.
    pub dns_names: Vec<String>,
    /// subjectAltName `uniformResourceIdentifier` entries.
    pub uris: Vec<String>,
}

/// Why the names of a certificate could not be read.
#[derive(Debug, thiserror::Error)]
#[error("client certificate names unreadable: {0}")]
pub struct CertificateError(String);

impl CertificateNames {
    /// Reads the names of a DER certificate (the leaf of the peer's chain).
    pub fn from_der(der: &[u8]) -> Result<CertificateNames, CertificateError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| CertificateError(e.to_string()))?;
        let mut names = CertificateNames::default();
        for cn in cert.subject().iter_common_name() {
            // A CN that is not a string type is no name we could compare; skip it.
            if let Ok(text) = cn.as_str() {
                names.common_names.push(text.to_string());
            }
        }
        let san = cert
            .subject_alternative_name()
            .map_err(|e| CertificateError(e.to_string()))?;
        if let Some(san) = san {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(dns) => names.dns_names.push((*dns).to_string()),
                    GeneralName::URI(uri) => names.uris.push((*uri).to_string()),
                    _ => {}
                }
            }
        }
        Ok(names)
    }

    /// The names found at `source`.
    pub fn at(&self, source: NameSource) -> &[String] {
        match source {
            NameSource::SubjectCn => &self.common_names,
            NameSource::SanDns => &self.dns_names,
            NameSource::SanUri => &self.uris,
        }
    }

    /// Whether `name` is among the names at `source`. Exact comparison, case included: the
    /// names stand for terminal and merchant ids, which are compared exactly elsewhere too.
    pub fn carries(&self, source: NameSource, name: &str) -> bool {
        self.at(source).iter().any(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_testkit::{Subject, TestPki};
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn reads_the_common_name_and_the_alternative_names() {
        let pki = TestPki::new().unwrap();
        let (cert, _) = pki
            .issue_subject(
                "terminal",
                &Subject {
                    common_name: Some("T0000001 M1"),
                    dns_names: &["T0000001.M1", "backup.example"],
                    uris: &["urn:pos:M1:T0000001"],
                },
            )
            .unwrap();
        let der = CertificateDer::from_pem_file(cert).unwrap();
        let names = CertificateNames::from_der(der.as_ref()).unwrap();
        assert_eq!(names.common_names, ["T0000001 M1"]);
        assert_eq!(names.dns_names, ["T0000001.M1", "backup.example"]);
        assert_eq!(names.uris, ["urn:pos:M1:T0000001"]);
        assert!(names.carries(NameSource::SanDns, "backup.example"));
        assert!(!names.carries(NameSource::SubjectCn, "backup.example"));
        assert!(CertificateNames::from_der(b"not a certificate").is_err());
    }
}
