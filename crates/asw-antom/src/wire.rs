//! From typed request to signed [`http::Request`], and from [`http::Response`] to a verified,
//! classified [`Outcome`]. No I/O: the client adapter sends what this builds.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use serde::Deserialize;

use crate::JSON_CONTENT_TYPE;
use crate::api::{AntomRequest, AntomResponse};
use crate::keys::{KeyError, Signer, Verifier};
use crate::masked::AgentToken;
use crate::model::{AntomResult, ResultStatus};
use crate::outcome::{Outcome, UnknownReason};
use crate::signature::{SignatureError, path_for_client};

/// Header names, lower-case as Antom and the SDKs use them.
pub mod headers {
    /// The client id.
    pub const CLIENT_ID: &str = "client-id";
    /// Request time (epoch milliseconds, or ISO 8601 in older clients).
    pub const REQUEST_TIME: &str = "request-time";
    /// Response time (ISO 8601 with offset).
    pub const RESPONSE_TIME: &str = "response-time";
    /// `algorithm=RSA256,keyVersion=N,signature=…`.
    pub const SIGNATURE: &str = "signature";
    /// ISV agent token.
    pub const AGENT_TOKEN: &str = "agent-token";
}

/// Who we are towards Antom: one Antom client id with its merchant key. An acquirer may
/// hold several (one per client group).
#[derive(Clone)]
pub struct ClientCredentials {
    client_id: String,
    signer: Arc<Signer>,
    agent_token: Option<AgentToken>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("signer", &self.signer)
            .field("agent_token", &self.agent_token)
            .finish()
    }
}

impl ClientCredentials {
    /// Credentials for `client_id`, signing with `signer` (the merchant private key).
    pub fn new(client_id: impl Into<String>, signer: Arc<Signer>) -> Self {
        Self {
            client_id: client_id.into(),
            signer,
            agent_token: None,
        }
    }

    /// Adds the ISV `agent-token` header to every request.
    pub fn with_agent_token(mut self, token: AgentToken) -> Self {
        self.agent_token = Some(token);
        self
    }

    /// The Antom client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The signer (merchant key).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }
}

/// Why a request could not be built. Nothing was sent; retrying will not help.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The body could not be serialized (should not happen for the crate's types).
    #[error("request body could not be serialized: {0}")]
    Serialize(String),
    /// Signing failed.
    #[error("request could not be signed: {0}")]
    Sign(#[from] KeyError),
    /// A configured value (client id, agent token) is not a legal header value.
    #[error("{0} is not a valid HTTP header value")]
    InvalidHeader(&'static str),
}

/// A signed request, ready to send. Its `Debug` shows neither the body (it may hold a
/// payment code) nor the signature.
#[derive(Clone)]
pub struct BuiltRequest {
    /// Method POST, relative URI (the path), headers and body. Join the URI with a base URL.
    pub request: http::Request<Bytes>,
    /// The path that was signed (after the sandbox rewrite); needed to verify the answer.
    pub path: String,
}

impl std::fmt::Debug for BuiltRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltRequest")
            .field("method", self.request.method())
            .field("path", &self.path)
            .field("body_bytes", &self.request.body().len())
            .finish_non_exhaustive()
    }
}

/// Serializes `body`, signs it and wraps it in an [`http::Request`].
///
/// `request_time_ms` (Unix epoch milliseconds) goes into `request-time` and the signature;
/// the caller reads the clock so this function stays pure. The body bytes in the request are
/// exactly the bytes that were signed.
pub fn build_request<R: AntomRequest>(
    credentials: &ClientCredentials,
    body: &R,
    request_time_ms: u64,
) -> Result<BuiltRequest, BuildError> {
    let body = serde_json::to_vec(body).map_err(|e| BuildError::Serialize(e.to_string()))?;
    build_raw_request(
        credentials,
        R::API.path(),
        Bytes::from(body),
        request_time_ms,
    )
}

/// Like [`build_request`] for an already serialized body and a production path; the sandbox
/// rewrite still applies. For tests, tools and the simulator's own checks.
pub fn build_raw_request(
    credentials: &ClientCredentials,
    production_path: &str,
    body: Bytes,
    request_time_ms: u64,
) -> Result<BuiltRequest, BuildError> {
    let path = path_for_client(&credentials.client_id, production_path).into_owned();
    let time = request_time_ms.to_string();
    let signature =
        credentials
            .signer
            .signature_header(&path, &credentials.client_id, &time, &body)?;

    let client_id = HeaderValue::from_str(&credentials.client_id)
        .map_err(|_| BuildError::InvalidHeader("client-id"))?;
    let mut signature =
        HeaderValue::from_str(&signature).map_err(|_| BuildError::InvalidHeader("signature"))?;
    signature.set_sensitive(true);
    let mut builder = http::Request::builder()
        .method(http::Method::POST)
        .uri(path.as_str())
        .header(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE))
        .header(headers::CLIENT_ID, client_id)
        .header(headers::REQUEST_TIME, HeaderValue::from(request_time_ms))
        .header(headers::SIGNATURE, signature);
    if let Some(token) = &credentials.agent_token {
        let mut value = HeaderValue::from_str(token.expose())
            .map_err(|_| BuildError::InvalidHeader("agent-token"))?;
        value.set_sensitive(true);
        builder = builder.header(headers::AGENT_TOKEN, value);
    }
    let request = builder
        .body(body)
        .map_err(|_| BuildError::InvalidHeader("path"))?;
    Ok(BuiltRequest { request, path })
}

/// Only the `result` object, to classify before committing to the full response type.
#[derive(Deserialize)]
struct Envelope {
    result: AntomResult,
}

/// Describes a JSON error without quoting the input (it may carry data we must not log).
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Result<Option<&'a str>, ()> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| ()),
    }
}

/// Verifies and classifies Antom's answer to a call of `path` made as `expected_client_id`.
///
/// Order of checks: HTTP status (non-200 → Unknown), empty body, signature (missing or
/// wrong → Unknown, whatever the body claims), then `result.resultStatus`: `S` → Success
/// with the full typed body, `F` → Failed, `U` → Unknown.
pub fn parse_response<T: AntomResponse>(
    verifier: &Verifier,
    expected_client_id: &str,
    path: &str,
    response: &http::Response<Bytes>,
) -> Outcome<T> {
    if response.status() != http::StatusCode::OK {
        return Outcome::Unknown(UnknownReason::HttpStatus(response.status().as_u16()));
    }
    let body = response.body();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Outcome::Unknown(UnknownReason::EmptyBody);
    }
    if let Err(reason) = verify_signed_message(
        verifier,
        expected_client_id,
        path,
        response.headers(),
        crate::wire::headers::RESPONSE_TIME,
        body,
    ) {
        return Outcome::Unknown(reason);
    }
    classify_verified_body(body)
}

/// Checks the signature headers of a response (or a notification, with `time_header`
/// `request-time`). On failure, says why as an [`UnknownReason`].
pub(crate) fn verify_signed_message(
    verifier: &Verifier,
    expected_client_id: &str,
    path: &str,
    headers: &http::HeaderMap,
    time_header: &'static str,
    body: &[u8],
) -> Result<(), UnknownReason> {
    let unsigned = |error: SignatureError| {
        let claimed = serde_json::from_slice::<Envelope>(body).ok();
        UnknownReason::Unsigned {
            error,
            claimed_status: claimed.as_ref().map(|e| e.result.result_status),
            claimed_code: claimed.map(|e| e.result.result_code),
        }
    };
    let malformed = |_| UnknownReason::BadSignature(SignatureError::MalformedHeader("not text"));
    let signature = header_str(headers, crate::wire::headers::SIGNATURE)
        .map_err(malformed)?
        .ok_or_else(|| unsigned(SignatureError::Missing))?;
    let time = header_str(headers, time_header)
        .map_err(malformed)?
        .ok_or_else(|| unsigned(SignatureError::MissingTimeHeader(time_header)))?;
    let client_id = match header_str(headers, crate::wire::headers::CLIENT_ID).map_err(malformed)? {
        Some(id) if id != expected_client_id => return Err(UnknownReason::ClientIdMismatch),
        Some(id) => id,
        None => expected_client_id,
    };
    verifier
        .verify_message(path, client_id, time, body, signature)
        .map_err(UnknownReason::BadSignature)
}

/// Classifies a body whose signature has already been checked.
fn classify_verified_body<T: AntomResponse>(body: &[u8]) -> Outcome<T> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => return Outcome::Unknown(UnknownReason::Unparsable(describe_json_error(&e))),
    };
    match envelope.result.result_status {
        ResultStatus::Success => match serde_json::from_slice::<T>(body) {
            Ok(typed) => match typed.missing_on_success() {
                None => Outcome::Success(typed),
                Some(field) => Outcome::Unknown(UnknownReason::IncompleteSuccess(field)),
            },
            Err(e) => Outcome::Unknown(UnknownReason::Unparsable(describe_json_error(&e))),
        },
        ResultStatus::Failed => Outcome::Failed {
            result_code: envelope.result.result_code,
            message: envelope.result.result_message.unwrap_or_default(),
        },
        ResultStatus::Unknown => {
            if envelope.result.result_code == "PAYMENT_IN_PROCESS"
                && let Ok(typed) = serde_json::from_slice::<T>(body)
                && typed.has_continuation()
            {
                return Outcome::InProcess(typed);
            }
            Outcome::Unknown(UnknownReason::ResultUnknown {
                result_code: envelope.result.result_code,
                message: envelope.result.result_message.unwrap_or_default(),
            })
        }
    }
}
