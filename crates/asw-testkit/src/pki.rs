//! Throwaway certificates for TLS tests: a CA and certificates it signs, written as PEM files
//! into a temp dir that disappears with the value. Generated per test; no key material lives
//! in the repository.

use std::path::{Path, PathBuf};

use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
    SanType,
};

/// Why test certificates could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused the parameters or could not generate a key.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// Writing a PEM file failed.
    #[error("writing test certificates: {0}")]
    Io(#[from] std::io::Error),
}

/// The names of a certificate issued with [`TestPki::issue_subject`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    /// The subject common name (CN), if any.
    pub common_name: Option<&'a str>,
    /// subjectAltName `dNSName` entries.
    pub dns_names: &'a [&'a str],
    /// subjectAltName `uniformResourceIdentifier` entries.
    pub uris: &'a [&'a str],
}

/// A test CA and the directory its files go to.
pub struct TestPki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// A new self-signed CA in a new temp dir.
    pub fn new() -> Result<TestPki, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(TestPki {
            dir: tempfile::tempdir()?,
            ca,
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` in the directory and returns the path.
    pub fn write(&self, name: &str, contents: &str) -> Result<PathBuf, PkiError> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents)?;
        Ok(path)
    }

    /// The CA certificate as a PEM file.
    pub fn ca_file(&self) -> Result<PathBuf, PkiError> {
        self.write("ca.crt", &self.ca.pem())
    }

    /// A certificate for `names` (DNS names or plain identifiers) signed by the CA, as PEM
    /// files `<stem>.crt` and `<stem>.key`.
    pub fn issue(&self, stem: &str, names: &[&str]) -> Result<(PathBuf, PathBuf), PkiError> {
        let key = KeyPair::generate()?;
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        let cert = params.signed_by(&key, &self.ca)?;
        Ok((
            self.write(&format!("{stem}.crt"), &cert.pem())?,
            self.write(&format!("{stem}.key"), &key.serialize_pem())?,
        ))
    }

    /// A certificate with exactly the names of `subject` (CN, DNS and URI SANs) signed by
    /// the CA, as PEM files `<stem>.crt` and `<stem>.key`: for tests of identity binding.
    pub fn issue_subject(
        &self,
        stem: &str,
        subject: &Subject<'_>,
    ) -> Result<(PathBuf, PathBuf), PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        if let Some(cn) = subject.common_name {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        for name in subject.dns_names {
            params
                .subject_alt_names
                .push(SanType::DnsName(Ia5String::try_from(*name)?));
        }
        for uri in subject.uris {
            params
                .subject_alt_names
                .push(SanType::URI(Ia5String::try_from(*uri)?));
        }
        let cert = params.signed_by(&key, &self.ca)?;
        Ok((
            self.write(&format!("{stem}.crt"), &cert.pem())?,
            self.write(&format!("{stem}.key"), &key.serialize_pem())?,
        ))
    }
}
