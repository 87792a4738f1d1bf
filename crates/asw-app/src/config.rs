//! The one configuration file: typed, layered (defaults → TOML file → `ANTOM_SWITCH__…`
//! environment variables) and validated whole before any port is bound.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use asw_core::domain::{MerchantProfile, PaymentCodeRule};
use asw_core::flows::Timing;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

/// Prefix of environment overrides: `ANTOM_SWITCH__REDIS__URL` sets `[redis] url`.
pub const ENV_PREFIX: &str = "ANTOM_SWITCH__";

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Terminal-facing ISO 8583 listener.
    pub downstream: DownstreamConfig,
    /// Antom client(s).
    pub upstream: UpstreamConfig,
    /// Redis (journal and SAF queue).
    pub redis: asw_store::StoreConfig,
    /// Antom's `notifyPayment` receiver.
    pub webhook: WebhookConfig,
    /// The merchant REST API; absent, no REST listener is started.
    pub rest: Option<RestConfig>,
    /// Metrics and health endpoints.
    pub admin: AdminConfig,
    /// The transaction time budget.
    pub timing: Timing,
    /// How much work the switch takes on at once.
    pub admission: AdmissionConfig,
    /// The reversal engine (SAF consumers, sweeper).
    pub reversal: asw_reversal::EngineConfig,
    /// Deterministic ids.
    pub ids: IdsConfig,
    /// Payment code validation.
    pub payment_code: PaymentCodeRule,
    /// Logging.
    pub log: LogConfig,
    /// Merchants and their terminals.
    pub merchants: Vec<MerchantProfile>,
}

/// `[admission]`: load shedding. Past its budget the switch refuses a new payment at once with
/// a "try again" answer (field 39 `19`, REST 503 with `Retry-After`) rather than queueing it
/// behind work that would then miss its deadlines too. Reversals, voids, refunds, advices and
/// inquiries are never shed: they settle money already moving.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionConfig {
    /// Payments in flight at once, from arrival to answer, over every way in; 0: no limit.
    pub max_in_flight_payments: usize,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self {
            max_in_flight_payments: 2_048,
        }
    }
}

/// `[downstream]`: the terminal listener. See `asw_downstream::ServerConfig` for the limits.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DownstreamConfig {
    /// Address terminals connect to.
    pub listen: SocketAddr,
    /// `pos-binary` (profile B, default) or `ascii` (profile A).
    pub profile: asw_downstream::Profile,
    /// Length header: `binary-exclusive` (default), `binary-inclusive`, `ascii4`, `bcd2`.
    pub framing: asw_downstream::FramePrefix,
    /// Whether frames carry a 5-byte TPDU.
    pub tpdu: bool,
    /// A custom dialect (TOML field table) replacing the profile's built-in one.
    pub dialect_file: Option<PathBuf>,
    /// Largest frame accepted.
    pub max_frame_bytes: usize,
    /// Open connections in total.
    pub max_connections: usize,
    /// Open connections per source IP.
    pub max_connections_per_ip: usize,
    /// Unanswered requests per connection.
    pub max_outstanding_per_connection: usize,
    /// Idle connection timeout.
    pub idle_timeout_ms: u64,
    /// A connection must complete a valid exchange (an answered sign-on, echo or
    /// transaction) within this after it is accepted, or it is closed.
    pub first_message_timeout_ms: u64,
    /// A started frame must complete within this.
    pub read_timeout_ms: u64,
    /// Writing one response must complete within this.
    pub write_timeout_ms: u64,
    /// How long shutdown waits for in-flight transactions.
    pub shutdown_grace_ms: u64,
    /// `[downstream.tls]`: TLS on the listener (certificate, key, optional client CA and
    /// `client_identity`, the certificate name that binds a terminal).
    pub tls: Option<asw_downstream::TlsConfig>,
    /// `[[downstream.concentrators]]`: hosts that speak for several declared terminals.
    pub concentrators: Vec<asw_downstream::ConcentratorConfig>,
}

impl Default for DownstreamConfig {
    fn default() -> Self {
        let d = asw_downstream::ServerConfig::default();
        Self {
            listen: d.listen,
            profile: d.profile,
            framing: d.frame_prefix,
            tpdu: d.tpdu,
            dialect_file: None,
            max_frame_bytes: d.max_frame_bytes,
            max_connections: d.max_connections,
            max_connections_per_ip: d.max_connections_per_ip,
            max_outstanding_per_connection: d.max_outstanding_per_connection,
            idle_timeout_ms: d.idle_timeout_ms,
            first_message_timeout_ms: d.first_message_timeout_ms,
            read_timeout_ms: d.read_timeout_ms,
            write_timeout_ms: d.write_timeout_ms,
            shutdown_grace_ms: d.shutdown_grace_ms,
            tls: None,
            concentrators: Vec::new(),
        }
    }
}

impl DownstreamConfig {
    /// The server configuration of the downstream adapter.
    pub fn server_config(&self) -> asw_downstream::ServerConfig {
        asw_downstream::ServerConfig {
            listen: self.listen,
            profile: self.profile,
            frame_prefix: self.framing,
            tpdu: self.tpdu,
            max_frame_bytes: self.max_frame_bytes,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            max_outstanding_per_connection: self.max_outstanding_per_connection,
            idle_timeout_ms: self.idle_timeout_ms,
            first_message_timeout_ms: self.first_message_timeout_ms,
            read_timeout_ms: self.read_timeout_ms,
            write_timeout_ms: self.write_timeout_ms,
            shutdown_grace_ms: self.shutdown_grace_ms,
            tls: self.tls.clone(),
            concentrators: self.concentrators.clone(),
        }
    }
}

/// `[upstream]`: the default Antom client, per-API timeouts, and more clients if needed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Scheme and host of Antom (or antom-sim), e.g. `https://open-sea-global.alipay.com`.
    pub base_url: String,
    /// Antom client id of the default client.
    pub client_id: String,
    /// File holding the merchant private key (PKCS#8 or PKCS#1, PEM or bare base64).
    pub merchant_private_key: PathBuf,
    /// File holding Antom's public key.
    pub antom_public_key: PathBuf,
    /// A second Antom public key accepted during a key rotation.
    pub antom_public_key_next: Option<PathBuf>,
    /// `keyVersion` of the signature header.
    pub key_version: u32,
    /// ISV `agent-token`, when acting for merchants.
    pub agent_token: Option<String>,
    /// `pay` deadline.
    pub pay_timeout_ms: u64,
    /// `inquiryPayment` deadline.
    pub inquiry_timeout_ms: u64,
    /// `cancel` deadline.
    pub cancel_timeout_ms: u64,
    /// `refund` deadline.
    pub refund_timeout_ms: u64,
    /// `createPaymentSession` deadline (Checkout Page sessions; no answer by then: the
    /// session is cancelled and the merchant creates a new one).
    pub session_timeout_ms: u64,
    /// Sign Antom requests on a pool of blocking threads instead of the runtime's workers.
    pub sign_on_blocking_pool: bool,
    /// Further clients, for merchants that use other Antom client ids.
    pub clients: Vec<ExtraClient>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            base_url: "https://open-sea-global.alipay.com".into(),
            client_id: String::new(),
            merchant_private_key: PathBuf::new(),
            antom_public_key: PathBuf::new(),
            antom_public_key_next: None,
            key_version: 1,
            agent_token: None,
            pay_timeout_ms: 10_000,
            inquiry_timeout_ms: 5_000,
            cancel_timeout_ms: 5_000,
            refund_timeout_ms: 5_000,
            session_timeout_ms: 10_000,
            sign_on_blocking_pool: false,
            clients: Vec::new(),
        }
    }
}

/// `[[upstream.clients]]`: another Antom client, chosen by merchants with `client = NAME`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraClient {
    /// The name merchants refer to.
    pub name: String,
    /// Base URL; defaults to `[upstream] base_url`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Antom client id.
    pub client_id: String,
    /// File holding this client's merchant private key.
    pub merchant_private_key: PathBuf,
    /// File(s) holding Antom's public key(s) for this client.
    pub antom_public_keys: Vec<PathBuf>,
    /// `keyVersion`.
    #[serde(default = "one")]
    pub key_version: u32,
    /// ISV `agent-token`.
    #[serde(default)]
    pub agent_token: Option<String>,
}

fn one() -> u32 {
    1
}

/// `[webhook]`: where Antom sends `notifyPayment`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Listen address of the notification receiver.
    pub listen: SocketAddr,
    /// Path Antom posts to.
    pub path: String,
    /// The public URL sent as `paymentNotifyUrl` (what Antom calls, through any proxy).
    pub public_url: Option<String>,
    /// The path Antom signs when a proxy rewrites it (defaults to the path received).
    pub signed_path: Option<String>,
    /// Largest body accepted.
    pub max_body_bytes: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            path: "/antom/notify".into(),
            public_url: None,
            signed_path: None,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// `[rest]`: the merchant REST API (`asw-front-rest`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestConfig {
    /// Listen address of the API.
    pub listen: SocketAddr,
    /// How long a `POST /v1/payments` waits for a final result before it answers `pending`
    /// (the payment goes on; the merchant reads it or retries with the same key).
    pub sync_wait_ms: u64,
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// How long the first final response under an `Idempotency-Key` is replayed; at least
    /// 24 h and at most `redis.retention_ms` (the key's journal record must outlive it).
    pub idempotency_ttl_ms: u64,
    /// Requests one API key may have in flight at once; more get 429 with `Retry-After`.
    pub max_in_flight_per_key: usize,
    /// `[rest.tls]`: when present the API speaks HTTPS only (else terminate TLS in front).
    pub tls: Option<RestTlsConfig>,
    /// `[rest.webhooks]`: how events are delivered to merchants' endpoints.
    pub webhooks: WebhookDelivery,
    /// Online payments: accept `http://` return URLs on loopback hosts (tests and demos only;
    /// every other return URL must be `https://`).
    pub allow_http_loopback_return_urls: bool,
    /// Antom method types that authorize first and are paid only once the switch captured
    /// them (seed 004's card-like methods); a wallet payment naming one takes `capture`.
    pub card_like_methods: Vec<String>,
    /// Antom method types whose payments cannot be refunded (see your Antom contract): a new
    /// attempt of an order waits until Antom confirmed the cancel of the earlier one.
    pub non_refundable_methods: Vec<String>,
}

/// The card-like methods of seed 004: an authorization first, paid only once captured.
pub const DEFAULT_CARD_LIKE_METHODS: [&str; 5] =
    ["CARD", "MIXEDCARD", "APPLEPAY", "GOOGLEPAY", "PAYPAL"];

/// `[rest.webhooks]`: the delivery of merchants' events (each merchant's endpoint is its
/// `[[merchants]] webhook`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookDelivery {
    /// Delay before each attempt, the first included; after the last, the event goes to the
    /// dead letters. Default: the Standard Webhooks schedule (0, 5 s, 5 min, 30 min, 2 h, 5 h,
    /// 10 h, 10 h).
    pub retry_schedule_ms: Vec<u64>,
    /// One delivery's time limit.
    pub timeout_ms: u64,
}

impl Default for WebhookDelivery {
    fn default() -> Self {
        Self {
            retry_schedule_ms: asw_front_rest::webhooks::STANDARD_SCHEDULE_MS.to_vec(),
            timeout_ms: 10_000,
        }
    }
}

/// `[rest.tls]`: the REST API's certificate (rustls on aws-lc-rs, TLS 1.2 and 1.3).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestTlsConfig {
    /// PEM file with the certificate chain, leaf first.
    pub cert_file: std::path::PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: std::path::PathBuf,
    /// The handshake must finish within this, or the connection is closed.
    #[serde(default = "default_rest_handshake_ms")]
    pub handshake_timeout_ms: u64,
}

fn default_rest_handshake_ms() -> u64 {
    10_000
}

impl RestTlsConfig {
    /// The same loader as the terminal listener's, without client certificates (merchants
    /// authenticate with their API keys).
    pub fn as_listener(&self) -> asw_downstream::TlsConfig {
        asw_downstream::TlsConfig {
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            client_ca_file: None,
            handshake_timeout_ms: self.handshake_timeout_ms,
            client_identity: Default::default(),
        }
    }
}

/// The shortest replay window of an idempotency key (the IETF draft's and Stripe's 24 h).
pub const MIN_IDEMPOTENCY_TTL_MS: u64 = 24 * 3600 * 1000;

impl Default for RestConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            sync_wait_ms: 20_000,
            max_body_bytes: 16 * 1024,
            idempotency_ttl_ms: MIN_IDEMPOTENCY_TTL_MS,
            max_in_flight_per_key: 64,
            tls: None,
            webhooks: WebhookDelivery::default(),
            allow_http_loopback_return_urls: false,
            card_like_methods: DEFAULT_CARD_LIKE_METHODS.map(str::to_string).to_vec(),
            non_refundable_methods: Vec::new(),
        }
    }
}

impl RestConfig {
    fn problems(&self, retention_ms: u64) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.sync_wait_ms == 0 || self.sync_wait_ms > 120_000 {
            problems.push(("rest.sync_wait_ms", "must be between 1 and 120000".into()));
        }
        if self.max_body_bytes < 1024 || self.max_body_bytes > 1024 * 1024 {
            problems.push((
                "rest.max_body_bytes",
                "must be between 1024 and 1048576".into(),
            ));
        }
        if self.webhooks.retry_schedule_ms.is_empty() {
            problems.push((
                "rest.webhooks.retry_schedule_ms",
                "must list at least the first attempt's delay".into(),
            ));
        }
        if self.webhooks.timeout_ms == 0 || self.webhooks.timeout_ms > 60_000 {
            problems.push((
                "rest.webhooks.timeout_ms",
                "must be between 1 and 60000".into(),
            ));
        }
        if self.max_in_flight_per_key == 0 || self.max_in_flight_per_key > 10_000 {
            problems.push((
                "rest.max_in_flight_per_key",
                "must be between 1 and 10000".into(),
            ));
        }
        if self.idempotency_ttl_ms < MIN_IDEMPOTENCY_TTL_MS {
            problems.push((
                "rest.idempotency_ttl_ms",
                format!("must be at least {MIN_IDEMPOTENCY_TTL_MS} (24 h)"),
            ));
        }
        if self.idempotency_ttl_ms > retention_ms {
            problems.push((
                "rest.idempotency_ttl_ms",
                format!(
                    "must not exceed redis.retention_ms ({retention_ms}): a replay needs the key's journal record"
                ),
            ));
        }
        let not_a_method = |m: &&String| {
            !(2..=64).contains(&m.len())
                || !m
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        };
        for (key, list) in [
            ("rest.card_like_methods", &self.card_like_methods),
            ("rest.non_refundable_methods", &self.non_refundable_methods),
        ] {
            if let Some(bad) = list.iter().find(not_a_method) {
                problems.push((
                    key,
                    format!("{bad:?} is not an Antom payment method type (2 to 64 of A-Z, 0-9, _)"),
                ));
            }
        }
        problems
    }
}

/// `[admin]`: `/metrics`, `/health/live`, `/health/ready`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Listen address (keep it private).
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// `[ids]`: the secret keying the deterministic `paymentRequestId`s.
#[derive(Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IdsConfig {
    /// The secret itself (prefer `secret_file` or `ANTOM_SWITCH__IDS__SECRET`).
    pub secret: Option<String>,
    /// A file holding the secret.
    pub secret_file: Option<PathBuf>,
}

impl std::fmt::Debug for IdsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdsConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_file", &self.secret_file)
            .finish()
    }
}

/// `[log]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `json` (default) or `pretty`.
    pub format: LogFormat,
    /// A tracing filter (`info`, `asw_core=debug,info`, …); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// Every problem of a configuration, each with its key path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors {
    /// `(key path, message)` pairs.
    pub problems: Vec<(String, String)>,
}

impl Config {
    /// Loads defaults, then `path`, then `ANTOM_SWITCH__SECTION__KEY` environment variables.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        Self::load_with_env(path, Env::prefixed(ENV_PREFIX).split("__"))
    }

    fn load_with_env(path: &Path, env: Env) -> Result<Self, ConfigErrors> {
        if !path.is_file() {
            return Err(ConfigErrors {
                problems: vec![(
                    "--config".into(),
                    format!("{} is not a readable file", path.display()),
                )],
            });
        }
        let figment = Figment::new().merge(Toml::file(path)).merge(env);
        figment.extract::<Config>().map_err(|errors| ConfigErrors {
            problems: errors
                .into_iter()
                .map(|e| {
                    let key = if e.path.is_empty() {
                        "(root)".to_string()
                    } else {
                        e.path.join(".")
                    };
                    (key, e.kind.to_string())
                })
                .collect(),
        })
    }

    /// Checks everything that can be checked without binding ports or connecting anywhere,
    /// including that the key files exist and parse. Returns every problem at once.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut problems: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, m: String| problems.push((k.to_string(), m));
        for (key, message) in self.timing.problems() {
            push(key, message);
        }
        if u64::try_from(self.timing.pay_timeout_ms).ok() != Some(self.upstream.pay_timeout_ms) {
            push(
                "timing.pay_timeout_ms",
                format!(
                    "must equal upstream.pay_timeout_ms ({}): a cancel must not overtake its pay",
                    self.upstream.pay_timeout_ms
                ),
            );
        }
        // A hand-over must be able to fail, and its failure be recorded, inside its settle
        // window: else a failed terminal write or merchant event could no longer put the
        // approval back under the sweeper.
        let settle = u64::try_from(self.timing.handover_settle_ms).unwrap_or(0);
        let longest = self.downstream.write_timeout_ms.max(
            self.rest
                .as_ref()
                .map_or(0, |rest| rest.webhooks.timeout_ms),
        );
        if settle <= longest.saturating_mul(2) {
            push(
                "timing.handover_settle_ms",
                format!(
                    "must be more than twice the longest hand-over ({longest} ms: downstream.write_timeout_ms, rest.webhooks.timeout_ms), so a failed one is still recorded"
                ),
            );
        }
        if let Err(e) = self.downstream.server_config().validate() {
            for p in e.problems {
                push("downstream", p);
            }
        }
        if let Some(tls) = &self.downstream.tls
            && let Err(e) = tls.check()
        {
            push("downstream.tls", e.to_string());
        }
        if let Err(list) = self.redis.validate() {
            for p in list {
                push("redis", p);
            }
        }
        if let Err(list) = self.reversal.validate() {
            for p in list {
                push("reversal", p);
            }
        }
        if let Some(rest) = &self.rest {
            for (key, message) in rest.problems(self.redis.retention_ms) {
                push(key, message);
            }
            if let Some(tls) = &rest.tls
                && let Err(e) = tls.as_listener().check()
            {
                push("rest.tls", e.to_string());
            }
        }
        for (i, m) in self.merchants.iter().enumerate() {
            if let Some(hook) = &m.webhook
                && let Err(why) = crate::merchant_events::endpoint(hook)
            {
                push(&format!("merchants[{i}].webhook"), why);
            }
        }
        if let Err(errors) = asw_front_rest::ApiKeys::from_merchants(&self.merchants) {
            for error in errors {
                push(
                    &format!("merchants[{}].api_keys[{}]", error.merchant, error.index),
                    error.why,
                );
            }
        }
        if self.upstream.client_id.is_empty() {
            push("upstream.client_id", "must be set".into());
        }
        if !(self.upstream.base_url.starts_with("https://")
            || self.upstream.base_url.starts_with("http://"))
        {
            push(
                "upstream.base_url",
                "must start with https:// or http://".into(),
            );
        }
        match std::fs::read_to_string(&self.upstream.merchant_private_key) {
            Ok(text) => {
                if let Err(e) =
                    asw_antom::Signer::from_private_key(&text, self.upstream.key_version)
                {
                    push(
                        "upstream.merchant_private_key",
                        format!("not a usable RSA private key: {e}"),
                    );
                }
            }
            Err(e) => push(
                "upstream.merchant_private_key",
                format!(
                    "cannot read {}: {e}",
                    self.upstream.merchant_private_key.display()
                ),
            ),
        }
        let mut public_keys = vec![("upstream.antom_public_key", &self.upstream.antom_public_key)];
        if let Some(next) = &self.upstream.antom_public_key_next {
            public_keys.push(("upstream.antom_public_key_next", next));
        }
        for (key, path) in public_keys {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    if let Err(e) = asw_antom::Verifier::from_public_key(&text) {
                        push(key, format!("not a usable RSA public key: {e}"));
                    }
                }
                Err(e) => push(key, format!("cannot read {}: {e}", path.display())),
            }
        }
        let mut client_names: HashSet<&str> = HashSet::from(["default"]);
        for (i, client) in self.upstream.clients.iter().enumerate() {
            if !client_names.insert(client.name.as_str()) {
                push(
                    &format!("upstream.clients[{i}].name"),
                    "duplicate client name".into(),
                );
            }
            if std::fs::read_to_string(&client.merchant_private_key).is_err() {
                push(
                    &format!("upstream.clients[{i}].merchant_private_key"),
                    "cannot read the file".into(),
                );
            }
            if client.antom_public_keys.is_empty() {
                push(
                    &format!("upstream.clients[{i}].antom_public_keys"),
                    "at least one key file".into(),
                );
            }
        }
        if !self.webhook.path.starts_with('/') {
            push("webhook.path", "must start with /".into());
        }
        if self.webhook.max_body_bytes == 0 {
            push("webhook.max_body_bytes", "must be greater than zero".into());
        }
        if self.ids.secret.is_none() && self.ids.secret_file.is_none() {
            push(
                "ids.secret",
                "set ids.secret, ids.secret_file or ANTOM_SWITCH__IDS__SECRET".into(),
            );
        }
        if let Some(path) = &self.ids.secret_file
            && std::fs::read(path).map(|s| s.len()).unwrap_or(0) < 16
        {
            push("ids.secret_file", "must hold at least 16 bytes".into());
        }
        if let Some(secret) = &self.ids.secret
            && secret.len() < 16
        {
            push("ids.secret", "must be at least 16 characters".into());
        }
        if self.payment_code.min_len == 0 || self.payment_code.min_len > self.payment_code.max_len {
            push("payment_code", "need 0 < min_len <= max_len".into());
        }
        if self.merchants.is_empty() {
            push("merchants", "at least one [[merchants]] entry".into());
        }
        let mut mids = HashSet::new();
        for (i, m) in self.merchants.iter().enumerate() {
            let at = |k: &str| format!("merchants[{i}].{k}");
            if !mids.insert(m.merchant_id.trim_end()) {
                push(&at("merchant_id"), "duplicate merchant id".into());
            }
            if m.merchant_id.is_empty() || m.merchant_id.len() > 15 {
                push(&at("merchant_id"), "1 to 15 characters (F42)".into());
            }
            if !client_names.contains(m.client.as_str()) {
                push(
                    &at("client"),
                    format!("no upstream client named {}", m.client),
                );
            }
            if m.mcc.len() != 4 || !m.mcc.bytes().all(|b| b.is_ascii_digit()) {
                push(&at("mcc"), "four digits".into());
            }
            if m.terminals.is_empty() {
                push(&at("terminals"), "at least one terminal".into());
            }
            let mut tids = HashSet::new();
            for (j, t) in m.terminals.iter().enumerate() {
                if t.store_id.as_deref().is_some_and(|s| s.trim().is_empty()) {
                    push(
                        &format!("merchants[{i}].terminals[{j}].store_id"),
                        "empty: leave it out to use the merchant's store_id".into(),
                    );
                }
                let at_tid = format!("merchants[{i}].terminals[{j}].terminal_id");
                if t.terminal_id.is_empty() || t.terminal_id.len() > 8 {
                    push(&at_tid, "1 to 8 characters (F41)".into());
                }
                if !tids.insert(t.terminal_id.trim_end()) {
                    push(&at_tid, "duplicate terminal id for this merchant".into());
                }
            }
            for (j, network) in m.allowed_networks.iter().enumerate() {
                if network.trim().parse::<ipnet::IpNet>().is_err() {
                    push(
                        &at(&format!("allowed_networks[{j}]")),
                        format!("{network:?} is not a CIDR network (one host: a.b.c.d/32)"),
                    );
                }
            }
            if let Some(c) = &m.settlement_currency
                && iso_currency::Currency::from_code(c).is_none()
            {
                push(
                    &at("settlement_currency"),
                    "not an ISO 4217 alpha-3 code".into(),
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors { problems })
        }
    }

    /// Each merchant's allowed source networks, for the downstream identity policy.
    pub fn merchant_networks(&self) -> BTreeMap<String, Vec<String>> {
        self.merchants
            .iter()
            .map(|m| (m.merchant_id.clone(), m.allowed_networks.clone()))
            .collect()
    }

    /// Who may speak for which terminal on the listener, in one line (for `check-config`).
    pub fn identity_mode(&self) -> Result<String, ConfigErrors> {
        asw_downstream::IdentityPolicy::new(
            &self.downstream.server_config(),
            &self.merchant_networks(),
        )
        .map(|policy| policy.describe())
        .map_err(|e| ConfigErrors {
            problems: e
                .problems
                .into_iter()
                .map(|p| ("downstream".to_string(), p))
                .collect(),
        })
    }

    /// What `check-config` prints after "ok": the settings that decide who may do what, in
    /// words, so an operator reads what the file means rather than what it says.
    pub fn summary(&self) -> Vec<String> {
        self.merchants
            .iter()
            .map(|m| {
                let who = match m.follow_ups {
                    asw_core::domain::FollowUpScope::Terminal => "the paying terminal only",
                    asw_core::domain::FollowUpScope::Store => {
                        "any of its terminals in the paying terminal's store"
                    }
                    asw_core::domain::FollowUpScope::Merchant => "any of its terminals",
                };
                format!(
                    "merchant {}: {} terminal(s); voids, refunds and status inquiries by {who} \
                     (follow_ups = \"{}\")",
                    m.merchant_id.trim_end(),
                    m.terminals.len(),
                    m.follow_ups.as_str()
                )
            })
            .collect()
    }

    /// What is valid but risky, for `check-config` and the start-up log: a merchant whose
    /// declared REST timeout is not longer than the switch's closing time (the gateway
    /// deadline) or than `[rest] sync_wait_ms`; a Redis Cluster with one shard.
    pub fn warnings(&self) -> Vec<String> {
        let closing = u64::try_from(self.timing.gateway_deadline_ms).unwrap_or(0);
        let mut warnings = self.redis.warnings();
        let Some(rest) = &self.rest else {
            return warnings;
        };
        for m in self.merchants.iter().filter(|m| !m.api_keys.is_empty()) {
            let Some(timeout) = m.rest_timeout_ms else {
                continue;
            };
            if timeout <= closing {
                warnings.push(format!(
                    "merchant {}: rest_timeout_ms ({timeout}) is not longer than the switch's closing time (timing.gateway_deadline_ms = {closing}): the merchant may give up on a payment the switch still delivers",
                    m.merchant_id.trim_end()
                ));
            }
            if timeout <= rest.sync_wait_ms {
                warnings.push(format!(
                    "merchant {}: rest_timeout_ms ({timeout}) is not longer than rest.sync_wait_ms ({}): its POSTs time out before the switch answers",
                    m.merchant_id.trim_end(),
                    rest.sync_wait_ms
                ));
            }
        }
        warnings
    }

    /// The ids secret, from the config or its file.
    pub fn ids_secret(&self) -> Result<Vec<u8>, String> {
        if let Some(secret) = &self.ids.secret {
            return Ok(secret.as_bytes().to_vec());
        }
        match &self.ids.secret_file {
            Some(path) => std::fs::read(path)
                .map(|mut s| {
                    while s.last().is_some_and(u8::is_ascii_whitespace) {
                        s.pop();
                    }
                    s
                })
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
            None => Err("no ids secret configured".into()),
        }
    }
}
