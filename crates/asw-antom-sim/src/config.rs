//! The simulator's configuration: keys, accepted clients, timings, protocol knobs and the
//! random fault mix. Validated whole by [`SimConfig::validate`] before a port is bound.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asw_antom::{KeyError, Signer, Verifier};
use serde::Deserialize;

/// Why a configuration was refused. Nothing was started; fix the input and retry.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key file could not be read or parsed.
    #[error("key {what}: {source}")]
    Key {
        /// Which key (e.g. "antom private key").
        what: String,
        /// Why it was refused (never contains key material).
        source: KeyError,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The fault-mix TOML does not parse.
    #[error("fault mix file: {0}")]
    FaultToml(#[from] toml::de::Error),
    /// One or more values are out of range; every problem is listed.
    #[error("invalid configuration: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// One merchant client id the simulator accepts, with its public key per `keyVersion`.
#[derive(Debug, Clone)]
pub struct SimClient {
    /// The `client-id` header value.
    pub client_id: String,
    /// Public keys by `keyVersion` (a request without `keyVersion` uses the highest one).
    pub keys: BTreeMap<u32, Verifier>,
}

impl SimClient {
    /// A client with a single key, version 1.
    pub fn new(client_id: impl Into<String>, merchant_public_key: Verifier) -> Self {
        Self {
            client_id: client_id.into(),
            keys: BTreeMap::from([(1, merchant_public_key)]),
        }
    }
}

/// Which spelling the simulator uses for a signature that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
pub enum SignatureErrorSpelling {
    /// `INVALID_SIGNATURE` (current docs).
    #[default]
    InvalidSignature,
    /// `SIGNATURE_INVALID` (release notes 2019).
    SignatureInvalid,
}

impl SignatureErrorSpelling {
    /// The result code.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::SignatureInvalid => "SIGNATURE_INVALID",
        }
    }
}

/// What `cancel` does for a `paymentRequestId` the simulator has never seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
pub enum PreCancel {
    /// `ORDER_NOT_EXIST`, nothing remembered: a later pay with that id is processed.
    #[default]
    Off,
    /// `ORDER_NOT_EXIST`, but a tombstone is kept: a later pay gets `ORDER_IS_CANCELED`.
    Remember,
    /// `S` with a `cancelTime` ("pre-close"), and a later pay gets `ORDER_IS_CANCELED`.
    PreClose,
}

/// What `cancel` answers for a payment that already failed or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
pub enum CancelOfClosed {
    /// `S` (closing an already closed order); the status stays FAIL.
    #[default]
    Success,
    /// `F ORDER_STATUS_INVALID`.
    OrderStatusInvalid,
}

/// A fault on the first attempt of every new `captureRequestId` (retries with the same id
/// are answered normally), so a client's retry-with-the-same-id can be tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
pub enum CaptureFault {
    /// No fault.
    #[default]
    None,
    /// The capture is done, the answer is `U UNKNOWN_EXCEPTION`.
    UnknownCommitted,
    /// Nothing is done, the answer is `U UNKNOWN_EXCEPTION`.
    UnknownNotCommitted,
    /// The capture is done, then the connection is dropped without an answer.
    LostAfterCommit,
    /// The capture is done, the answer comes after `slow_answer`.
    SlowCommitted,
}

/// Random faults for chaos runs, read from TOML (`--faults FILE`). Rates are probabilities
/// in `[0, 1]`, drawn per call from a generator seeded with `seed` and the call's sequence
/// number, so a run with the same calls in the same order is reproducible.
///
/// Faults only touch payments whose code selects the plain success scenario, so the
/// deterministic scenarios keep working during a chaos run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultMix {
    /// pay answers `U PAYMENT_IN_PROCESS`; the payment settles SUCCESS after N inquiries.
    /// For cancel and refund: `U UNKNOWN_EXCEPTION`, nothing done.
    pub u_rate: f64,
    /// The answer (of any API) is delayed by `slow_ms`; the operation is committed first.
    pub slow_rate: f64,
    /// Delay for `slow_rate`, in milliseconds.
    pub slow_ms: u64,
    /// The operation is committed, then the connection is dropped without an answer.
    pub lost_after_commit_rate: f64,
    /// The operation is committed, the answer's signature does not verify.
    pub bad_signature_rate: f64,
    /// HTTP 503 with an HTML body; nothing is done.
    pub http_5xx_rate: f64,
    /// Notification delay drawn uniformly from `[min, max]` ms (overrides `notify_delay`).
    pub notify_delay_ms: Option<[u64; 2]>,
    /// A successful payment's notification is sent a second time after it was acknowledged.
    pub duplicate_notify_rate: f64,
    /// A PROCESSING payment that gets cancelled still sends a SUCCESS notification.
    pub late_notify_after_cancel_rate: f64,
    /// Seed of the per-call random generator.
    pub seed: u64,
}

impl FaultMix {
    /// Parses the TOML form.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let mix: FaultMix = toml::from_str(text)?;
        let problems = mix.problems();
        if problems.is_empty() {
            Ok(mix)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// Whether any fault can fire.
    pub fn is_active(&self) -> bool {
        self.u_rate > 0.0
            || self.slow_rate > 0.0
            || self.lost_after_commit_rate > 0.0
            || self.bad_signature_rate > 0.0
            || self.http_5xx_rate > 0.0
            || self.duplicate_notify_rate > 0.0
            || self.late_notify_after_cancel_rate > 0.0
            || self.notify_delay_ms.is_some()
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, rate) in [
            ("u_rate", self.u_rate),
            ("slow_rate", self.slow_rate),
            ("lost_after_commit_rate", self.lost_after_commit_rate),
            ("bad_signature_rate", self.bad_signature_rate),
            ("http_5xx_rate", self.http_5xx_rate),
            ("duplicate_notify_rate", self.duplicate_notify_rate),
            (
                "late_notify_after_cancel_rate",
                self.late_notify_after_cancel_rate,
            ),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                problems.push(format!("faults.{name} must be within [0, 1], got {rate}"));
            }
        }
        if let Some([min, max]) = self.notify_delay_ms
            && min > max
        {
            problems.push(format!(
                "faults.notify_delay_ms must be [min, max] with min <= max, got [{min}, {max}]"
            ));
        }
        problems
    }
}

/// Everything the simulator needs. Build with [`SimConfig::new`] and adjust the public
/// fields; [`crate::Simulator::start`] validates it.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port (see [`crate::SimHandle::addr`]).
    pub listen: SocketAddr,
    /// The "Antom" private key that signs responses and notifications.
    pub antom_signer: Arc<Signer>,
    /// Accepted client ids and their merchant public keys.
    pub clients: Vec<SimClient>,
    /// Delay between a payment's success and its first notification (Antom: ~3–5 s).
    pub notify_delay: Duration,
    /// Factor applied to the re-send schedule 0, 2m, 10m, 10m, 1h, 2h, 6h, 15h
    /// (e.g. 0.001 turns 2 minutes into 120 ms).
    pub notify_retry_scale: f64,
    /// Timeout of one notification POST.
    pub notify_timeout: Duration,
    /// How long after success a cancel still reverses a payment.
    pub cancel_window: Duration,
    /// How long after success a refund is accepted.
    pub refund_window: Duration,
    /// Default life of a PROCESSING payment (overridden by `paymentExpiryTime`).
    pub payment_expiry: Duration,
    /// Default life of an unpaid online (`CASHIER_PAYMENT`) payment, overridden by
    /// `paymentExpiryTime`. Antom: "generally 14 minutes" for wallets.
    pub online_expiry: Duration,
    /// Base of the URLs handed to buyers (`normalUrl`, `applinkUrl`, the QR image), without a
    /// trailing slash. `None`: the simulator's own `http://<bound address>`, filled in by
    /// [`crate::Simulator::start`]. Set it when buyers reach the simulator through another
    /// host name (a container, a tunnel, a phone on the LAN).
    pub public_url: Option<String>,
    /// Delay of the slow scenarios.
    pub slow_answer: Duration,
    /// Inquiries after which the "processing then …" scenarios settle.
    pub settle_after_inquiries: u32,
    /// How long the eventual-consistency scenario hides a new payment from inquiries.
    pub inquiry_not_found_for: Duration,
    /// Spelling of the bad-signature result code.
    pub signature_error_spelling: SignatureErrorSpelling,
    /// Cancel of an unknown `paymentRequestId`.
    pub pre_cancel: PreCancel,
    /// Cancel of a failed or expired payment.
    pub cancel_of_closed: CancelOfClosed,
    /// Whether a payment may be refunded more than once (`MULTIPLE_REFUNDS_NOT_SUPPORTED`).
    pub multiple_refunds: bool,
    /// How long a card authorization can be captured (Antom: seven days); after it `capture`
    /// answers `AUTH_EXPIRED`. It is also the window in which `cancel` voids the authorization.
    pub auth_expiry: Duration,
    /// Whether `capture` may take less than the authorized amount, in several captures up to
    /// the authorized total (`isLastCapture` closes it). Off: one full capture only, as the
    /// hosted card guide demands.
    pub partial_capture: bool,
    /// Fault on the first attempt of every new `captureRequestId`.
    pub capture_fault: CaptureFault,
    /// Reject requests whose `request-time` is further than this from the simulator's
    /// clock (`PARAM_ILLEGAL`). `None`: no check (Antom's tolerance is undocumented).
    pub max_clock_skew: Option<Duration>,
    /// The offset used in every time the simulator writes (Antom uses US Pacific).
    pub response_utc_offset: time::UtcOffset,
    /// Largest request body accepted (`PARAM_ILLEGAL` above).
    pub max_body_bytes: usize,
    /// How many calls the call log keeps; later calls are counted, not kept.
    pub max_recorded_calls: usize,
    /// The random fault mix (all zero by default).
    pub faults: FaultMix,
}

impl SimConfig {
    /// A configuration with default timings, listening on `127.0.0.1:0`, no clients yet.
    pub fn new(antom_signer: Signer) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            antom_signer: Arc::new(antom_signer),
            clients: Vec::new(),
            notify_delay: Duration::from_secs(3),
            notify_retry_scale: 1.0,
            notify_timeout: Duration::from_secs(10),
            cancel_window: Duration::from_secs(24 * 3600),
            refund_window: Duration::from_secs(365 * 24 * 3600),
            payment_expiry: Duration::from_secs(600),
            online_expiry: Duration::from_secs(14 * 60),
            public_url: None,
            slow_answer: Duration::from_secs(12),
            settle_after_inquiries: 2,
            inquiry_not_found_for: Duration::from_secs(5),
            signature_error_spelling: SignatureErrorSpelling::default(),
            pre_cancel: PreCancel::default(),
            cancel_of_closed: CancelOfClosed::default(),
            multiple_refunds: true,
            auth_expiry: Duration::from_secs(7 * 24 * 3600),
            partial_capture: false,
            capture_fault: CaptureFault::None,
            max_clock_skew: None,
            response_utc_offset: time::macros::offset!(-8),
            max_body_bytes: 64 * 1024,
            max_recorded_calls: 1_000_000,
            faults: FaultMix::default(),
        }
    }

    /// The base of the buyer-facing URLs: [`SimConfig::public_url`], or a loopback
    /// placeholder before the simulator has bound its port (the fuzz harness).
    pub fn public_base(&self) -> &str {
        self.public_url.as_deref().unwrap_or("http://127.0.0.1")
    }

    /// Loads the Antom private key from text (PKCS#1 or PKCS#8, PEM or bare base64).
    pub fn from_antom_private_key(text: &str) -> Result<Self, ConfigError> {
        let signer = Signer::from_private_key(text, 1).map_err(|source| ConfigError::Key {
            what: "antom private key".into(),
            source,
        })?;
        Ok(Self::new(signer))
    }

    /// Adds an accepted client with one merchant public key (version 1), given as text.
    pub fn with_client(
        mut self,
        client_id: impl Into<String>,
        merchant_public_key: &str,
    ) -> Result<Self, ConfigError> {
        let client_id = client_id.into();
        let verifier =
            Verifier::from_public_key(merchant_public_key).map_err(|source| ConfigError::Key {
                what: format!("merchant public key of {client_id}"),
                source,
            })?;
        self.clients.push(SimClient::new(client_id, verifier));
        Ok(self)
    }

    /// Checks every value; lists all problems at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = self.faults.problems();
        if self.clients.is_empty() {
            problems.push("at least one client id is required".into());
        }
        for client in &self.clients {
            if client.client_id.is_empty() {
                problems.push("a client id is empty".into());
            }
            if client.keys.is_empty() {
                problems.push(format!("client {} has no public key", client.client_id));
            }
        }
        if !(self.notify_retry_scale.is_finite()
            && (0.0..=1000.0).contains(&self.notify_retry_scale))
        {
            problems.push(format!(
                "notify_retry_scale must be within [0, 1000], got {}",
                self.notify_retry_scale
            ));
        }
        // Bounded so that "time + window" can never overflow.
        const TEN_YEARS: Duration = Duration::from_secs(10 * 366 * 24 * 3600);
        for (name, value) in [
            ("notify_delay", self.notify_delay),
            ("notify_timeout", self.notify_timeout),
            ("cancel_window", self.cancel_window),
            ("refund_window", self.refund_window),
            ("payment_expiry", self.payment_expiry),
            ("online_expiry", self.online_expiry),
            ("auth_expiry", self.auth_expiry),
            ("slow_answer", self.slow_answer),
            ("inquiry_not_found_for", self.inquiry_not_found_for),
            ("max_clock_skew", self.max_clock_skew.unwrap_or_default()),
            ("faults.slow_ms", Duration::from_millis(self.faults.slow_ms)),
            (
                "faults.notify_delay_ms",
                Duration::from_millis(self.faults.notify_delay_ms.map_or(0, |[_, max]| max)),
            ),
        ] {
            if value > TEN_YEARS {
                problems.push(format!("{name} must be at most 10 years"));
            }
        }
        if let Some(url) = &self.public_url {
            let ok = reqwest::Url::parse(url).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https") && u.query().is_none() && !url.ends_with('/')
            });
            if !ok {
                problems.push(format!(
                    "public_url must be an http(s) URL without query or trailing slash, got {url}"
                ));
            }
        }
        if self.max_body_bytes == 0 {
            problems.push("max_body_bytes must be > 0".into());
        }
        if self.settle_after_inquiries == 0 {
            problems.push("settle_after_inquiries must be >= 1".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

/// Reads a whole file, naming it in the error.
pub fn read_text(path: &std::path::Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_toml_parses_and_validates() {
        let mix = FaultMix::from_toml(
            "u_rate = 0.1\nslow_rate = 0.05\nslow_ms = 7000\nnotify_delay_ms = [10, 50]\nseed = 42\n",
        )
        .unwrap();
        assert_eq!(mix.u_rate, 0.1);
        assert_eq!(mix.notify_delay_ms, Some([10, 50]));
        assert!(mix.is_active());
        assert!(!FaultMix::default().is_active());
    }

    #[test]
    fn whole_config_is_validated_at_once() {
        let key = include_str!("../testdata/antom_private_pkcs8.pem");
        let mut cfg = SimConfig::from_antom_private_key(key).unwrap();
        cfg.payment_expiry = Duration::from_secs(u64::MAX);
        cfg.notify_retry_scale = f64::NAN;
        cfg.settle_after_inquiries = 0;
        cfg.online_expiry = Duration::from_secs(u64::MAX);
        cfg.public_url = Some("ftp://sim.example/".into());
        let text = cfg.validate().unwrap_err().to_string();
        for expected in [
            "client id",
            "payment_expiry",
            "online_expiry",
            "public_url",
            "notify_retry_scale",
            "settle_after",
        ] {
            assert!(text.contains(expected), "{expected} missing in {text}");
        }
        let cfg = cfg_with_client(key);
        cfg.validate().unwrap();
        assert!(SimConfig::from_antom_private_key("not a key").is_err());
    }

    fn cfg_with_client(key: &str) -> SimConfig {
        SimConfig::from_antom_private_key(key)
            .unwrap()
            .with_client("C", include_str!("../testdata/merchant_public.pem"))
            .unwrap()
    }

    #[test]
    fn fault_toml_rejects_bad_rates_and_unknown_keys() {
        let err = FaultMix::from_toml("u_rate = 1.5\nnotify_delay_ms = [9, 1]\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("u_rate"), "{text}");
        assert!(text.contains("notify_delay_ms"), "{text}");
        assert!(FaultMix::from_toml("typo_rate = 0.1").is_err());
    }
}
