//! `/v1/payments/{id}/refunds` and `/v1/refunds/{id}`: partial or full refunds of a payment.
//!
//! The core holds each refund's amount on its payment in the same compare-and-set that checks
//! what remains, so concurrent refunds never exceed what was paid. A refund Antom does not
//! decide in time is completed through the queue with the same `refundRequestId`: it is never
//! cancelled, and stays `pending` until Antom says.

use std::time::Instant;

use asw_core::flows::{OriginalRef, RefundRequest};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::RestFront;
use crate::http::{
    Front, authenticate, fingerprint, finish, idempotency_key, json, read_json, replay, request_id,
    respond_saved, run_flow, store_problem,
};
use crate::ids::{self, parse_payment_id, parse_refund_id};
use crate::model::{CreateRefund, RefundJson};
use crate::problem::{Problem, ProblemJson};
use crate::responses::KeptAt;
use crate::view::refund_json;

/// What a refund's fingerprint covers: its body and the payment it names.
#[derive(serde::Serialize)]
struct Fingerprinted<'a> {
    payment: &'a str,
    refund: &'a CreateRefund,
}

/// `POST /v1/payments/{id}/refunds`.
#[utoipa::path(
    post,
    path = "/v1/payments/{id}/refunds",
    tag = "refunds",
    operation_id = "create_refund",
    request_body = CreateRefund,
    params(
        ("id" = String, Path, pattern = "^pay_P[0-9a-f]{32}$", description = "The payment's id (`pay_…`)"),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "One key per refund; a retry sends the same key and body"),
    ),
    responses(
        (status = 201, description = "The refund: final, or `pending` while Antom decides", body = RefundJson),
        (status = 400, description = "Malformed JSON, or a missing or invalid Idempotency-Key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 429, description = "This API key has too many requests in flight (`Retry-After`)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 404, description = "No such payment for this merchant", body = ProblemJson, content_type = "application/problem+json"),
        (status = 409, description = "The payment has not succeeded", body = ProblemJson, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemJson, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = ProblemJson, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid refund (amount, currency, more than remains), or the key was used with another body", body = ProblemJson, content_type = "application/problem+json"),
        (status = 503, description = "The journal is unreachable; nothing was done", body = ProblemJson, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create(
    State(front): Front,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Response {
    let (started, request_id) = (Instant::now(), request_id());
    // A path that cannot be decoded names nothing: the same 404 as an unknown id.
    let id = path.map(|Path(id)| id).unwrap_or_default();
    let result = create_refund(&front, &headers, &id, body).await;
    finish("create_refund", started, result, &request_id)
}

async fn create_refund(
    front: &RestFront,
    headers: &HeaderMap,
    payment: &str,
    body: Body,
) -> Result<Response, Problem> {
    let (caller, _permit) = authenticate(front, headers)?;
    let key = idempotency_key(headers)?;
    let create: CreateRefund = read_json(headers, body, front.settings.max_body_bytes).await?;
    let prid = parse_payment_id(payment).ok_or_else(|| Problem::not_found("no such payment"))?;
    let fingerprint = fingerprint(&Fingerprinted {
        payment,
        refund: &create,
    });
    let request = ids::refund_key(front.core.ids(), &caller, &key);
    let (tag, dedup_key) = (request.tag.clone(), request.dedup_key.clone());
    let rrid = ids::refund_request_id(&request);
    if let Some(saved) = front
        .responses
        .load(KeptAt {
            tag: &tag,
            journal_id: rrid.as_str(),
            dedup_key: &dedup_key,
        })
        .await
        .map_err(store_problem)?
    {
        return replay(&saved, &fingerprint);
    }
    let currency = iso_currency::Currency::from_code(create.amount.currency.trim())
        .ok_or_else(|| Problem::invalid("invalid_currency", "not an ISO 4217 currency code"))?;
    if create.amount.value == 0 {
        return Err(Problem::invalid(
            "invalid_amount",
            "amount.value must be at least 1 minor unit",
        ));
    }
    let refund = RefundRequest {
        request,
        refund_request_id: rrid.clone(),
        amount_minor: create.amount.value,
        currency_numeric: currency.numeric(),
        original: OriginalRef {
            payment_request_id: Some(prid.to_string()),
            ..OriginalRef::default()
        },
        content_digest: fingerprint.clone(),
    };
    let received_ms = front.core.clock().now_ms();
    // The refund's record says what became of it: the answer carries it, unless the POST
    // stopped waiting first.
    let answer = run_flow(front, |core, reply| async move {
        core.refund(refund, reply).await;
    })
    .await?;
    let record = match answer.and_then(|a| a.record) {
        Some(record) => record,
        None => std::sync::Arc::new(
            front
                .core
                .find_refund(&caller.origin(), rrid.as_str())
                .await
                .map_err(store_problem)?
                .ok_or_else(|| {
                    Problem::unavailable(
                        "the refund is not readable yet; retry with the same Idempotency-Key",
                    )
                })?,
        ),
    };
    let view = refund_json(&record);
    let is_final = view.status != "pending";
    let replayed = record.created_at_ms < received_ms;
    let body = serde_json::to_string(&view).unwrap_or_default();
    let created = StatusCode::CREATED;
    respond_saved(
        front,
        created,
        body,
        is_final,
        fingerprint,
        replayed,
        KeptAt {
            tag: &tag,
            journal_id: record.journal_id(),
            dedup_key: &dedup_key,
        },
        None,
    )
    .await
}

/// `GET /v1/refunds/{id}`.
#[utoipa::path(
    get,
    path = "/v1/refunds/{id}",
    tag = "refunds",
    operation_id = "get_refund",
    params(("id" = String, Path, pattern = "^ref_R[0-9a-f]{32}$", description = "The refund's id (`ref_…`)")),
    responses(
        (status = 200, description = "The refund", body = RefundJson),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 429, description = "This API key has too many requests in flight (`Retry-After`)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 404, description = "No such refund for this merchant", body = ProblemJson, content_type = "application/problem+json"),
        (status = 503, description = "The journal is unreachable", body = ProblemJson, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn show(
    State(front): Front,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let (started, request_id) = (Instant::now(), request_id());
    // A path that cannot be decoded names nothing: the same 404 as an unknown id.
    let id = path.map(|Path(id)| id).unwrap_or_default();
    let result = show_refund(&front, &headers, &id).await;
    finish("get_refund", started, result, &request_id)
}

async fn show_refund(
    front: &RestFront,
    headers: &HeaderMap,
    id: &str,
) -> Result<Response, Problem> {
    let (caller, _permit) = authenticate(front, headers)?;
    let rrid = parse_refund_id(id).ok_or_else(|| Problem::not_found("no such refund"))?;
    let record = front
        .core
        .find_refund(&caller.origin(), rrid.as_str())
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("no such refund"))?;
    let body = serde_json::to_string(&refund_json(&record)).unwrap_or_default();
    Ok(json(StatusCode::OK, body, false))
}
