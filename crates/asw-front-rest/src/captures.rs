//! `POST /v1/payments/{id}/capture`: take the money of an authorized card payment (manual
//! capture). Repeating it is harmless: the switch has one capture per payment, with one
//! `captureRequestId`, so Antom captures at most once.

use std::sync::Arc;
use std::time::Instant;

use asw_core::flows::{CaptureRequest, Outcome};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tracing::info;

use crate::RestFront;
use crate::http::{
    Front, authenticate, finish, idempotency_key, json, read_json, refusal_problem, request_id,
    store_problem,
};
use crate::ids::parse_payment_id;
use crate::model::{CreateCapture, PaymentJson};
use crate::problem::{Problem, ProblemJson};
use crate::reply::ChannelReply;
use crate::view::payment_json;

/// `POST /v1/payments/{id}/capture`.
#[utoipa::path(
    post,
    path = "/v1/payments/{id}/capture",
    tag = "payments",
    operation_id = "capture_payment",
    request_body = CreateCapture,
    params(
        ("id" = String, Path, pattern = "^pay_P[0-9a-f]{32}$", description = "The payment's id (`pay_…`)"),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "Required on every POST; repeating a capture is harmless"),
    ),
    responses(
        (status = 200, description = "Captured: the payment `succeeded`", body = PaymentJson),
        (status = 202, description = "Not known yet whether Antom captured it: the payment is still `authorized`; send the same request again", body = PaymentJson),
        (status = 400, description = "Malformed JSON, or a missing or invalid Idempotency-Key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 404, description = "No such payment for this merchant", body = ProblemJson, content_type = "application/problem+json"),
        (status = 409, description = "Not an authorized card payment (`not_capturable`), or Antom refused the capture (`capture_refused`)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = ProblemJson, content_type = "application/problem+json"),
        (status = 422, description = "An amount other than the authorized one (partial capture is not offered)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 503, description = "The journal is unreachable", body = ProblemJson, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn capture(
    State(front): Front,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Response {
    let (started, request_id) = (Instant::now(), request_id());
    // A path that cannot be decoded names nothing: the same 404 as an unknown id.
    let id = path.map(|Path(id)| id).unwrap_or_default();
    let result = capture_payment(&front, &headers, &id, body).await;
    finish("capture_payment", started, result, &request_id)
}

async fn capture_payment(
    front: &RestFront,
    headers: &HeaderMap,
    id: &str,
    body: Body,
) -> Result<Response, Problem> {
    let (caller, _permit) = authenticate(front, headers)?;
    idempotency_key(headers)?;
    let asked: CreateCapture = read_json(headers, body, front.settings.max_body_bytes).await?;
    let prid = parse_payment_id(id).ok_or_else(|| Problem::not_found("no such payment"))?;
    let origin = caller.origin();
    let (reply, answered) = ChannelReply::new();
    let request = CaptureRequest {
        origin: origin.clone(),
        payment_request_id: prid.to_string(),
        amount: asked.amount.map(|a| (a.value, a.currency)),
    };
    let core = Arc::clone(&front.core);
    tokio::spawn(async move { core.capture(request, reply).await });
    let answer = answered
        .await
        .map_err(|_| Problem::unavailable("the capture could not be made"))?;
    let status = match &answer.outcome {
        Outcome::Refused(refusal) => return Err(refusal_problem(refusal)),
        Outcome::Approved => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    };
    info!(payment_request_id = %prid, status = status.as_u16(), "capture asked by the merchant");
    let record = match answer.record.clone() {
        Some(record) => record,
        None => Arc::new(
            front
                .core
                .find_payment(&origin, prid.as_str())
                .await
                .map_err(store_problem)?
                .ok_or_else(|| Problem::not_found("no such payment"))?,
        ),
    };
    let view = payment_json(&record, Some(&answer));
    Ok(json(
        status,
        serde_json::to_string(&view).unwrap_or_default(),
        false,
    ))
}
