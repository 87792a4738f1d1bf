//! What every handler shares: request ids, authentication, the `Idempotency-Key`, reading a
//! JSON body within its limit, the one table from the core's refusals to problems, saved
//! responses and their replay, RED metrics.

use std::sync::Arc;
use std::time::Instant;

use asw_core::flows::{Answer, Core, Outcome, Refusal};
use asw_core::ports::StoreError;
use aws_lc_rs::digest;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::warn;

use crate::RestFront;
use crate::auth::Caller;
use crate::ids::valid_idempotency_key;
use crate::limits::Permit;
use crate::problem::Problem;
use crate::responses::{KeptAt, StoredResponse};

pub(crate) type Front = State<Arc<RestFront>>;

pub(crate) fn request_id() -> String {
    format!("req_{:016x}", rand::random::<u64>())
}

pub(crate) fn finish(
    route: &'static str,
    started: Instant,
    result: Result<Response, Problem>,
    request_id: &str,
) -> Response {
    let response = match result {
        Ok(mut response) => {
            if let Ok(id) = HeaderValue::from_str(request_id) {
                response.headers_mut().insert("x-request-id", id);
            }
            response
        }
        Err(problem) => problem.into_response_with(request_id),
    };
    crate::metrics::record(route, response.status().as_u16(), started);
    response
}

pub(crate) fn json(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// The caller, with its place among its key's requests in flight (held until the answer).
pub(crate) fn authenticate(
    front: &RestFront,
    headers: &HeaderMap,
) -> Result<(Caller, Permit), Problem> {
    let caller = front
        .keys
        .authenticate(headers)
        .ok_or_else(Problem::unauthorized)?;
    let permit = front
        .in_flight
        .try_acquire(&format!("{}|{}", caller.merchant_id, caller.key_id))
        .ok_or_else(|| {
            Problem::too_many(format!(
                "this API key has {} requests in flight; retry shortly",
                front.settings.max_in_flight_per_key
            ))
        })?;
    Ok((caller, permit))
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, Problem> {
    let value = headers.get("idempotency-key").ok_or_else(|| {
        Problem::bad_request(
            "idempotency_key_missing",
            "every POST needs an `Idempotency-Key` header",
        )
    })?;
    let key = value.to_str().unwrap_or_default();
    if !valid_idempotency_key(key) {
        return Err(Problem::bad_request(
            "idempotency_key_invalid",
            "`Idempotency-Key` must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(key.to_string())
}

pub(crate) fn store_problem(error: StoreError) -> Problem {
    warn!(%error, "journal unavailable");
    Problem::unavailable("the switch cannot reach its journal; nothing was done, retry later")
}

/// Reads a JSON body within the limit.
pub(crate) async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(Problem::unsupported_media_type());
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Problem::too_large(limit));
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Problem::too_large(limit))?;
    serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            Problem::invalid("invalid_request", mask_digit_runs(&e.to_string()))
        }
        _ => Problem::bad_request("malformed_json", mask_digit_runs(&e.to_string())),
    })
}

/// Serde's messages may quote a value: long digit runs (a payment code sent as a number) are
/// masked before they reach an answer or a log.
fn mask_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 8 {
            out.push_str(&asw_core::flows::masked(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

pub(crate) fn fingerprint(request: &impl Serialize) -> String {
    // The parsed request re-serialised (fields in declaration order): two bodies that mean the
    // same thing have the same fingerprint, whatever their spacing or key order.
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    hex::encode(digest::digest(&digest::SHA256, &canonical))
}

pub(crate) fn refusal_problem(refusal: &Refusal) -> Problem {
    let text = refusal.text().to_string();
    match refusal {
        Refusal::UnknownMerchant
        | Refusal::UnknownTerminal
        | Refusal::TerminalDisabled
        | Refusal::RefundsDisabled => Problem::unauthorized(),
        Refusal::InvalidPaymentCode(_) => Problem::invalid("invalid_payment_code", text),
        Refusal::InvalidAmount(_) => Problem::invalid("invalid_amount", text),
        Refusal::Malformed(_) => Problem::bad_request("invalid_request", text),
        Refusal::StoreUnavailable => {
            Problem::unavailable("the switch cannot reach its journal; nothing was done")
        }
        Refusal::Busy => Problem::unavailable(
            "the switch is at its limit of payments in flight; nothing was done: retry after a second",
        ),
        Refusal::DuplicateWithOtherContent => Problem::invalid(
            "idempotency_key_reused",
            "this Idempotency-Key was used with another request body",
        ),
        Refusal::StillRunning => Problem::conflict(
            "idempotency_key_in_use",
            "the first request with this Idempotency-Key is still running; retry shortly",
        )
        .retry_after(1),
        Refusal::UnknownStore => Problem::invalid(
            "unknown_store",
            "store is not one of the merchant's configured stores",
        ),
        Refusal::OrderInProgress => Problem::conflict(
            "order_in_progress",
            "another payment of this order_id is still in progress: wait for its outcome (or cancel it)",
        )
        .retry_after(1),
        Refusal::OrderAlreadyPaid => Problem::conflict(
            "order_already_paid",
            "another payment of this order_id succeeded: an order is paid at most once",
        ),
        Refusal::OriginalNotFound => Problem::not_found("no such payment"),
        Refusal::ReversedBeforeArrival => Problem::conflict("payment_cancelled", text),
        Refusal::OriginalDeclined => Problem::conflict("payment_failed", "the payment failed"),
        Refusal::OriginalNotApproved => {
            Problem::conflict("payment_not_succeeded", "the payment has not succeeded")
        }
        Refusal::OriginalRefunded => Problem::conflict(
            "payment_refunded",
            "the payment has a refund: refund the rest instead of cancelling",
        ),
        Refusal::NotVoidable => {
            Problem::conflict("not_cancellable", "the payment cannot be cancelled now")
        }
        Refusal::AmountDiffersFromOriginal => Problem::invalid("invalid_amount", text),
        Refusal::CurrencyDiffersFromOriginal => Problem::invalid(
            "currency_mismatch",
            "a refund is in the currency of its payment",
        ),
        Refusal::RefundExceedsPayment => Problem::invalid(
            "refund_exceeds_payment",
            "the refunds of a payment never exceed what was paid",
        ),
        Refusal::NotCapturable => Problem::conflict(
            "not_capturable",
            "only an authorized card payment can be captured",
        ),
        Refusal::CaptureRefused(code) => Problem::conflict(
            "capture_refused",
            format!("Antom refused the capture ({code}); the authorization stays until its capture window closes"),
        ),
    }
}

pub(crate) fn replay(saved: &str, fingerprint: &str) -> Result<Response, Problem> {
    let saved = StoredResponse::from_text(saved)
        .ok_or_else(|| Problem::unavailable("a saved response cannot be read"))?;
    if saved.fingerprint != fingerprint {
        return Err(refusal_problem(&Refusal::DuplicateWithOtherContent));
    }
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::CREATED);
    Ok(json(status, saved.body, true))
}

/// Runs a flow of the core on its own task — a caller that hangs up (this future dropped)
/// stops nothing — and waits at most `sync_wait_ms` for its answer: `None` when it was not in
/// time (the flow goes on), a refusal turned into its problem.
pub(crate) async fn run_flow<F, Fut>(front: &RestFront, flow: F) -> Result<Option<Answer>, Problem>
where
    F: FnOnce(Arc<Core>, Box<crate::reply::ChannelReply>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    run_flow_keeping(front, None, flow).await
}

/// [`run_flow`], letting the core keep the first answer with the approval (`kept`).
pub(crate) async fn run_flow_keeping<F, Fut>(
    front: &RestFront,
    kept: Option<Arc<crate::reply::KeptAnswer>>,
    flow: F,
) -> Result<Option<Answer>, Problem>
where
    F: FnOnce(Arc<Core>, Box<crate::reply::ChannelReply>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (reply, answered) = crate::reply::ChannelReply::keeping(kept);
    tokio::spawn(flow(Arc::clone(&front.core), reply));
    let wait = std::time::Duration::from_millis(front.settings.sync_wait_ms);
    let answer = crate::reply::answer_within(answered, wait).await;
    if let Some(Answer {
        outcome: Outcome::Refused(refusal),
        ..
    }) = &answer
    {
        return Err(refusal_problem(refusal));
    }
    Ok(answer)
}

/// Answers `status` with `body`. A final answer is saved first under the idempotency key (the
/// first saved wins, so every replay is the same bytes); a `pending` one is not, so a retry
/// learns the outcome once there is one. An answer the approval's commit already kept
/// (`kept`, the same bytes) is not saved again.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn respond_saved(
    front: &RestFront,
    status: StatusCode,
    body: String,
    is_final: bool,
    fingerprint: String,
    replayed: bool,
    at: KeptAt<'_>,
    kept: Option<&crate::reply::KeptAnswer>,
) -> Result<Response, Problem> {
    if !is_final {
        return Ok(json(status, body, replayed));
    }
    let stored = StoredResponse {
        fingerprint,
        status: status.as_u16(),
        body,
    };
    let text = stored.to_text();
    if kept.and_then(|k| k.committed_text()).as_deref() == Some(text.as_str()) {
        return Ok(json(status, stored.body, replayed));
    }
    match front
        .responses
        .save_first(at, &text, front.settings.idempotency_ttl_ms)
        .await
    {
        Ok(standing) if standing != text => replay(&standing, &stored.fingerprint),
        Ok(_) => Ok(json(status, stored.body, replayed)),
        Err(error) => {
            // Not fatal: a retry renders the same final answer from the journal.
            warn!(%error, "could not save the first response");
            Ok(json(status, stored.body, replayed))
        }
    }
}

/// Any other path.
pub(crate) async fn not_found() -> Response {
    let problem = Problem::not_found("no such resource");
    finish("other", Instant::now(), Err(problem), &request_id())
}

/// A known path with a method it does not take.
pub(crate) async fn method_not_allowed() -> Response {
    let problem = Problem::method_not_allowed();
    finish("other", Instant::now(), Err(problem), &request_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_in_messages_are_masked() {
        let masked = mask_digit_runs(
            "invalid type: integer `281234567890123456`, expected a string at line 1 column 9",
        );
        assert!(!masked.contains("281234567890123456"), "{masked}");
        assert!(masked.contains("line 1 column 9"));
    }
}
