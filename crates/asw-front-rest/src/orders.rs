//! `GET /v1/orders/{order_id}`: a merchant order with its payment attempts (at most one of
//! them `succeeded`: the journal keeps one attempt of an order live at a time).

use std::time::Instant;

use asw_core::state::{Delivery, TxnState};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::RestFront;
use crate::http::{Front, authenticate, finish, json, request_id, store_problem};
use crate::ids;
use crate::model::OrderJson;
use crate::problem::{Problem, ProblemJson};
use crate::view::payment_json_told;

/// `GET /v1/orders/{order_id}`.
#[utoipa::path(
    get,
    path = "/v1/orders/{order_id}",
    tag = "payments",
    operation_id = "get_order",
    params(("order_id" = String, Path, description = "The merchant's order reference")),
    responses(
        (status = 200, description = "The order and every payment attempt of it, oldest first", body = OrderJson),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 404, description = "No payment of this order for this merchant", body = ProblemJson, content_type = "application/problem+json"),
        (status = 429, description = "This API key has too many requests in flight (`Retry-After`)", body = ProblemJson, content_type = "application/problem+json"),
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
    // A path that cannot be decoded names nothing: the same 404 as an unknown order.
    let order_id = path.map(|Path(id)| id).unwrap_or_default();
    let result = show_order(&front, &headers, &order_id).await;
    finish("get_order", started, result, &request_id)
}

async fn show_order(
    front: &RestFront,
    headers: &HeaderMap,
    order_id: &str,
) -> Result<Response, Problem> {
    let (caller, _permit) = authenticate(front, headers)?;
    let order_id = order_id.trim();
    if order_id.is_empty() || order_id.len() > 64 || order_id.chars().any(char::is_control) {
        return Err(Problem::not_found("no such order"));
    }
    let tag = ids::order_tag(front.core.ids(), &caller, order_id);
    let attempts = front
        .core
        .order_attempts(&caller.origin(), &tag, order_id)
        .await
        .map_err(store_problem)?;
    if attempts.is_empty() {
        return Err(Problem::not_found("no such order"));
    }
    // `succeeded` only for an approval already handed over (as a read never hands one over
    // here: reading the payment itself does).
    let attempts: Vec<_> = attempts
        .iter()
        .map(|r| {
            let told = r.state == TxnState::Approved && r.delivery == Delivery::Sending;
            payment_json_told(r, told)
        })
        .collect();
    let order = OrderJson {
        order_id: order_id.to_string(),
        paid: attempts
            .iter()
            .any(|a| a.status == "succeeded" || a.status.ends_with("refunded")),
        attempts,
    };
    let body = serde_json::to_string(&order).unwrap_or_default();
    Ok(json(StatusCode::OK, body, false))
}
