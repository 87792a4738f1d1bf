//! RFC 9457 problem details: every error the REST front answers, with a stable machine `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer: `application/problem+json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code (also the last segment of `type`).
    pub code: &'static str,
    /// Short human summary of the kind of problem.
    pub title: &'static str,
    /// What was wrong with this request.
    pub detail: String,
    /// Seconds to wait before retrying (`Retry-After`), for 409/429/503.
    pub retry_after: Option<u32>,
    /// The payment the request is about, when the problem names one the caller may not know
    /// yet (a first request still running: its id lets the caller read or cancel it).
    pub payment_id: Option<String>,
}

/// The body of every error answer (RFC 9457 problem details plus a stable `code` and the
/// request id).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemJson {
    /// A URI naming the kind of problem; its last segment is `code`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What was wrong with this request.
    pub detail: String,
    /// Stable machine code (`invalid_amount`, `idempotency_key_reused`, …).
    pub code: String,
    /// The request's id (also in `X-Request-Id`): quote it when asking about a request.
    pub request_id: String,
    /// `idempotency_key_in_use`: the payment the first request is creating (`pay_…`), to read
    /// or cancel while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, code: &'static str, title: &'static str, detail: String) -> Self {
        Self {
            status,
            code,
            title,
            detail,
            retry_after: None,
            payment_id: None,
        }
    }

    /// 400: the request cannot be read.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail.into())
    }

    /// 401: no valid API key.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "send a valid API key as `Authorization: Bearer <secret>`".into(),
        )
    }

    /// 404: nothing the caller may see has this name (also what another merchant's payment
    /// gives: no oracle).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            detail.into(),
        )
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            "this resource does not accept that method".into(),
        )
    }

    /// 409: the state of the resource does not allow it now.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict", detail.into())
    }

    /// 429: the API key has too many requests in flight.
    pub fn too_many(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Too many requests",
            detail.into(),
        );
        p.retry_after = Some(1);
        p
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "Request body too large",
            format!("the body must not exceed {limit} bytes"),
        )
    }

    /// 415.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "send the body as `Content-Type: application/json`".into(),
        )
    }

    /// 422: readable, but not a valid request.
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            "Invalid request",
            detail.into(),
        )
    }

    /// 502: Antom's answer could not be used.
    pub fn bad_gateway(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, code, "Bad gateway", detail.into())
    }

    /// 503: the switch cannot take the request now; nothing was done.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail.into(),
        );
        p.retry_after = Some(1);
        p
    }

    /// Sets `Retry-After`.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The response, carrying the request id.
    pub fn into_response_with(self, request_id: &str) -> Response {
        let body = ProblemJson {
            kind: format!("https://antom-switch.dev/problems/{}", self.code),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_string(),
            request_id: request_id.to_string(),
            payment_id: self.payment_id,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert("x-request-id", id);
        }
        response
    }
}
