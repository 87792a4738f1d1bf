//! Configuration of the client: timeouts per API and one entry per Antom client group.

use std::time::Duration;

use asw_antom::Api;
use serde::Deserialize;

/// Per-API deadlines and connection-pool settings. Milliseconds in names, as everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    /// Whole-call deadline for `pay` (Antom's recommendation: 10 s).
    pub pay_timeout_ms: u64,
    /// Whole-call deadline for `inquiryPayment`.
    pub inquiry_payment_timeout_ms: u64,
    /// Whole-call deadline for `cancel`.
    pub cancel_timeout_ms: u64,
    /// Whole-call deadline for `refund`.
    pub refund_timeout_ms: u64,
    /// Whole-call deadline for `inquiryRefund`.
    pub inquiry_refund_timeout_ms: u64,
    /// Whole-call deadline for `capture` (Antom's 10 s advice for every online call).
    pub capture_timeout_ms: u64,
    /// Whole-call deadline for `createPaymentSession` (Antom's 10 s advice for online calls).
    pub session_timeout_ms: u64,
    /// TCP + TLS connect deadline (inside the per-API deadline).
    pub connect_timeout_ms: u64,
    /// How long an idle keep-alive connection is kept.
    pub pool_idle_timeout_ms: u64,
    /// Idle keep-alive connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// Largest response body read; a larger one is Unknown (and not read into memory).
    pub max_response_bytes: usize,
    /// Sign requests on tokio's blocking pool instead of the worker thread that builds them.
    /// A signature holds a worker for its whole duration (0.1–1 ms by CPU); off the workers,
    /// the other requests' I/O is not held up behind it, at the price of a hand-off between
    /// threads. See benches/RESULTS.md for which gives the better tail here.
    pub sign_on_blocking_pool: bool,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            pay_timeout_ms: 10_000,
            inquiry_payment_timeout_ms: 5_000,
            cancel_timeout_ms: 5_000,
            refund_timeout_ms: 5_000,
            inquiry_refund_timeout_ms: 5_000,
            capture_timeout_ms: 10_000,
            session_timeout_ms: 10_000,
            connect_timeout_ms: 3_000,
            pool_idle_timeout_ms: 90_000,
            pool_max_idle_per_host: 64,
            max_response_bytes: 1 << 20,
            sign_on_blocking_pool: false,
        }
    }
}

impl UpstreamSettings {
    /// The deadline of one call of `api`.
    pub fn timeout(&self, api: Api) -> Duration {
        Duration::from_millis(match api {
            Api::Pay => self.pay_timeout_ms,
            Api::InquiryPayment => self.inquiry_payment_timeout_ms,
            Api::Cancel => self.cancel_timeout_ms,
            Api::Refund => self.refund_timeout_ms,
            Api::InquiryRefund => self.inquiry_refund_timeout_ms,
            Api::Capture => self.capture_timeout_ms,
            Api::CreatePaymentSession => self.session_timeout_ms,
        })
    }
}

/// One Antom client id with its keys: what a request names by `group`.
///
/// Key fields hold the key text (PEM or bare base64); the application reads files or secrets
/// into them. `Debug` hides them.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGroupConfig {
    /// The name requests use to pick this group (e.g. `default`).
    pub name: String,
    /// Scheme and host (and port) of Antom or the simulator, e.g.
    /// `https://open-sea-global.alipay.com` or `http://127.0.0.1:9000`. No path.
    pub base_url: String,
    /// The Antom client id (`SANDBOX_…` ids call the sandbox paths).
    pub client_id: String,
    /// The merchant private key: PKCS#8 or PKCS#1, PEM or bare base64.
    pub merchant_private_key: String,
    /// `keyVersion` sent in the signature header.
    #[serde(default = "default_key_version")]
    pub key_version: u32,
    /// Antom's public key(s), SubjectPublicKeyInfo PEM or bare base64. Several during a
    /// rotation: an answer verifying with any of them is accepted.
    pub antom_public_keys: Vec<String>,
    /// ISV `agent-token`, when the acquirer acts for the merchant.
    #[serde(default)]
    pub agent_token: Option<String>,
}

fn default_key_version() -> u32 {
    1
}

impl std::fmt::Debug for ClientGroupConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientGroupConfig")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("merchant_private_key", &"<redacted>")
            .field("key_version", &self.key_version)
            .field("antom_public_keys", &self.antom_public_keys.len())
            .field(
                "agent_token",
                &self.agent_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
