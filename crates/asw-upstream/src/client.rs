//! The HTTP client: one keep-alive pool, one signed POST per call, a deadline per API, and a
//! classified [`Outcome`] for every call — never an error the caller could mistake for a
//! decline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use asw_antom::{
    AgentToken, AntomRequest, ClientCredentials, Outcome, Signer, UnknownReason, Verifier,
    build_request, parse_response,
};
use bytes::{Bytes, BytesMut};
use tracing::{Instrument, debug, info_span, warn};

use crate::config::{ClientGroupConfig, UpstreamSettings};
use crate::metrics::record_call;

/// Why the client could not be set up. Configuration problems, found at start-up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    /// A group's key material is unusable (the error never contains the key).
    #[error("client group {group}: {what}: {source}")]
    Key {
        /// The group's name.
        group: String,
        /// Which key.
        what: &'static str,
        /// Why.
        source: asw_antom::KeyError,
    },
    /// A group's base URL is not `http(s)://host[:port]`.
    #[error("client group {group}: base_url must be http(s)://host[:port] without a path")]
    BaseUrl {
        /// The group's name.
        group: String,
    },
    /// Two groups share a name.
    #[error("client group {0} is configured twice")]
    DuplicateGroup(String),
    /// The HTTP client could not be built (TLS set-up).
    #[error("HTTP client could not be built: {0}")]
    Http(String),
}

/// Result codes the client reports as `Failed` when it sent **nothing** upstream, so that a
/// decline is the truth. They start with `SWITCH_` so they never collide with Antom's.
pub mod local_codes {
    /// The request named a client group that is not configured.
    pub const CLIENT_NOT_CONFIGURED: &str = "SWITCH_CLIENT_NOT_CONFIGURED";
    /// The request could not be serialized or signed.
    pub const REQUEST_NOT_BUILT: &str = "SWITCH_REQUEST_NOT_BUILT";
    /// A payment-code pay without a payment code.
    pub const MISSING_PAYMENT_CODE: &str = "SWITCH_MISSING_PAYMENT_CODE";
}

/// A configured client group, ready to sign and verify.
#[derive(Debug)]
struct Group {
    base_url: String,
    credentials: ClientCredentials,
    verifier: Verifier,
}

/// The Antom HTTP client. Cheap to clone (shared pool and keys).
#[derive(Debug, Clone)]
pub struct AntomClient {
    http: reqwest::Client,
    settings: Arc<UpstreamSettings>,
    groups: Arc<HashMap<String, Group>>,
}

fn check_base_url(url: &str) -> Option<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.contains('/')).then(|| trimmed.to_owned())
}

impl AntomClient {
    /// Builds the client: parses every key now, so a bad key stops start-up rather than the
    /// first payment.
    pub fn new(
        settings: UpstreamSettings,
        groups: impl IntoIterator<Item = ClientGroupConfig>,
    ) -> Result<Self, UpstreamSetupError> {
        let mut map = HashMap::new();
        for g in groups {
            let key_err = |what, source| UpstreamSetupError::Key {
                group: g.name.clone(),
                what,
                source,
            };
            let signer = Signer::from_private_key(&g.merchant_private_key, g.key_version)
                .map_err(|e| key_err("merchant_private_key", e))?;
            let verifier = Verifier::from_public_keys(&g.antom_public_keys)
                .map_err(|e| key_err("antom_public_keys", e))?;
            let base_url =
                check_base_url(&g.base_url).ok_or_else(|| UpstreamSetupError::BaseUrl {
                    group: g.name.clone(),
                })?;
            let mut credentials = ClientCredentials::new(g.client_id.clone(), Arc::new(signer));
            if let Some(token) = &g.agent_token {
                credentials = credentials.with_agent_token(AgentToken::new(token.clone()));
            }
            let group = Group {
                base_url,
                credentials,
                verifier,
            };
            if map.insert(g.name.clone(), group).is_some() {
                return Err(UpstreamSetupError::DuplicateGroup(g.name));
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_millis(settings.pool_idle_timeout_ms))
            .pool_max_idle_per_host(settings.pool_max_idle_per_host)
            .tcp_nodelay(true)
            // Antom is reached directly; a proxy from the environment would be a surprise.
            .no_proxy()
            .build()
            .map_err(|e| UpstreamSetupError::Http(e.to_string()))?;
        Ok(Self {
            http,
            settings: Arc::new(settings),
            groups: Arc::new(map),
        })
    }

    /// The configured settings.
    pub fn settings(&self) -> &UpstreamSettings {
        &self.settings
    }

    /// Whether a client group is configured.
    pub fn has_group(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    /// Sends one request for client group `group` and classifies the answer.
    ///
    /// Never retries. A deadline hit, a refused or reset connection, a non-200, an unreadable
    /// or unsigned answer all come back as [`Outcome::Unknown`]; `Failed` is only Antom's
    /// signed `F` or a request that was never sent (see [`local_codes`]).
    pub async fn call<R: AntomRequest>(&self, group: &str, body: &R) -> Outcome<R::Response> {
        let api = R::API;
        let span = info_span!("antom_call", api = api.label(), group);
        async move {
            let started = Instant::now();
            let outcome = self.call_inner(group, body).await;
            let elapsed = started.elapsed();
            record_call(api, &outcome, elapsed);
            match &outcome {
                Outcome::InProcess(_) => {
                    debug!(elapsed_ms = elapsed.as_millis() as u64, "antom answered U PAYMENT_IN_PROCESS: awaiting the buyer")
                }
                Outcome::Success(_) => {
                    debug!(elapsed_ms = elapsed.as_millis() as u64, "antom answered S")
                }
                Outcome::Failed { result_code, .. } => {
                    debug!(elapsed_ms = elapsed.as_millis() as u64, result_code = %result_code, "antom answered F")
                }
                Outcome::Unknown(reason) if reason.is_signature_failure() => {
                    warn!(elapsed_ms = elapsed.as_millis() as u64, reason = %reason, "antom answer not trusted: signature problem")
                }
                Outcome::Unknown(reason) => {
                    warn!(elapsed_ms = elapsed.as_millis() as u64, reason = %reason, "antom outcome unknown")
                }
            }
            outcome
        }
        .instrument(span)
        .await
    }

    async fn call_inner<R: AntomRequest>(&self, group: &str, body: &R) -> Outcome<R::Response> {
        let Some(group) = self.groups.get(group) else {
            return Outcome::Failed {
                result_code: local_codes::CLIENT_NOT_CONFIGURED.to_owned(),
                message: "no such client group; nothing was sent".to_owned(),
            };
        };
        let built = if self.settings.sign_on_blocking_pool {
            sign_off_the_workers(&group.credentials, body).await
        } else {
            build_request(&group.credentials, body, now_ms())
        };
        let built = match built {
            Ok(built) => built,
            Err(e) => {
                return Outcome::Failed {
                    result_code: local_codes::REQUEST_NOT_BUILT.to_owned(),
                    message: format!("{e}; nothing was sent"),
                };
            }
        };
        let timeout = self.settings.timeout(R::API);
        let url = format!("{}{}", group.base_url, built.path);
        let (parts, body_bytes) = built.request.into_parts();
        let send = self
            .http
            .post(url)
            .headers(parts.headers)
            .body(body_bytes)
            .timeout(timeout)
            .send();
        // The reqwest deadline covers connect..headers; this one also covers reading the body.
        let response = match tokio::time::timeout(timeout, async {
            let response = send.await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = read_capped(response, self.settings.max_response_bytes).await?;
            Ok::<_, ReadError>((status, headers, body))
        })
        .await
        {
            Err(_elapsed) => return Outcome::Unknown(UnknownReason::Timeout(millis(timeout))),
            Ok(Err(e)) => return Outcome::Unknown(e.into_reason(timeout)),
            Ok(Ok((status, headers, body))) => {
                let mut response = http::Response::new(body);
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                response
            }
        };
        parse_response::<R::Response>(
            &group.verifier,
            group.credentials.client_id(),
            &built.path,
            &response,
        )
    }
}

/// Serializes `body` here and signs it on tokio's blocking pool (`sign_on_blocking_pool`).
async fn sign_off_the_workers<R: AntomRequest>(
    credentials: &asw_antom::ClientCredentials,
    body: &R,
) -> Result<asw_antom::BuiltRequest, asw_antom::BuildError> {
    let json =
        serde_json::to_vec(body).map_err(|e| asw_antom::BuildError::Serialize(e.to_string()))?;
    let credentials = credentials.clone();
    let signed = tokio::task::spawn_blocking(move || {
        asw_antom::wire::build_raw_request(&credentials, R::API.path(), json.into(), now_ms())
    })
    .await;
    // Lost only when the runtime shuts down: nothing was sent, and the call fails as unbuilt.
    signed.unwrap_or_else(|_| Err(asw_antom::BuildError::Serialize("signing task lost".into())))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}

enum ReadError {
    Http(reqwest::Error),
    TooLarge,
}

impl From<reqwest::Error> for ReadError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

impl ReadError {
    /// Every transport failure is Unknown: the request may have reached Antom.
    fn into_reason(self, timeout: Duration) -> UnknownReason {
        match self {
            ReadError::TooLarge => UnknownReason::Transport("response body too large".to_owned()),
            ReadError::Http(e) if e.is_timeout() => UnknownReason::Timeout(millis(timeout)),
            ReadError::Http(e) if e.is_connect() => {
                UnknownReason::Connection("could not connect".to_owned())
            }
            ReadError::Http(e) if e.is_request() || e.is_body() || e.is_decode() => {
                UnknownReason::Connection(describe_reqwest_error(&e))
            }
            ReadError::Http(e) => UnknownReason::Transport(describe_reqwest_error(&e)),
        }
    }
}

/// The innermost cause of a reqwest error, without the URL (kept short for logs).
fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Bytes, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_must_be_scheme_and_host() {
        assert_eq!(
            check_base_url("http://127.0.0.1:9000/").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            check_base_url("https://open-sea-global.alipay.com").as_deref(),
            Some("https://open-sea-global.alipay.com")
        );
        assert_eq!(check_base_url("https://host/ams/api"), None);
        assert_eq!(check_base_url("ftp://host"), None);
        assert_eq!(check_base_url("http://"), None);
    }
}
