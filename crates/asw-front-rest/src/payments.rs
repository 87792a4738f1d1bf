//! `/v1/payments`: create (a scanned payment code, or an online wallet payment), read, cancel.
//!
//! Each handler authenticates, reads and checks its input, hands a domain request to the core
//! and renders what the core answered. The core runs on its own task, so a caller that hangs up
//! stops nothing: the payment goes on, and the caller learns its outcome by retrying with the
//! same `Idempotency-Key`, by reading it, or (later) by the event.

use std::sync::Arc;
use std::time::Instant;

use asw_core::domain::PaymentCode;
use asw_core::flows::{
    CheckoutRequest, OriginalRef, Outcome, PurchaseRequest, Refusal, StatusInquiry, VoidRequest,
    WhileRunning,
};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tracing::info;

use crate::RestFront;
use crate::buyer_json;
use crate::checks;
use crate::create;
use crate::http::{
    Front, authenticate, finish, idempotency_key, json, refusal_problem, request_id, respond_saved,
    store_problem,
};
use crate::ids::{self, parse_payment_id};
use crate::model::{CaptureJson, CreatePayment, MethodJson, PaymentJson};
use crate::online;
use crate::problem::{Problem, ProblemJson};
use crate::reply::{ChannelReply, KeptAnswer};
use crate::responses::KeptAt;
use crate::view::payment_json;
use asw_core::record::CaptureMode;

fn new_payment(
    create: &CreatePayment,
    request: asw_core::flows::RequestKey,
    fingerprint: String,
    settings: &crate::RestSettings,
) -> Result<NewPayment, Problem> {
    let allow_http_loopback = settings.allow_http_loopback_return_urls;
    let order_id = checks::order_id(&create.order_id)?;
    let currency_numeric = checks::amount(&create.amount)?;
    let terminal = match &create.terminal {
        Some(t) if t.is_empty() || t.len() > 32 || !t.bytes().all(|b| b.is_ascii_graphic()) => {
            return Err(Problem::invalid(
                "invalid_terminal",
                "terminal must be 1 to 32 visible ASCII characters",
            ));
        }
        other => other.clone(),
    };
    let description = checks::description(create.description.as_ref())?;
    let metadata = checks::metadata(create.metadata.as_ref())?;
    let payment_request_id = ids::payment_request_id(&request);
    match &create.method {
        MethodJson::PaymentCode { code } => {
            if create.return_url.is_some()
                || create.expires_in_s.is_some()
                || create.capture.is_some()
                || create.buyer.is_some()
            {
                return Err(Problem::invalid(
                    "not_for_payment_code",
                    "return_url, expires_in_s, capture and buyer are for online methods, not a scanned code",
                ));
            }
            Ok(NewPayment::InStore(Box::new(PurchaseRequest {
                request,
                payment_request_id,
                amount_minor: create.amount.value,
                currency_numeric,
                payment_code: PaymentCode::new(code.trim()),
                reference_order_id: Some(order_id.to_string()),
                content_digest: fingerprint,
                while_running: WhileRunning::Refuse,
                store_terminal: terminal,
                store: create.store.clone(),
                description,
                metadata,
            })))
        }
        MethodJson::CheckoutPage { .. } => Err(Problem::invalid(
            "use_sessions",
            "a Checkout Page payment is created with POST /v1/sessions",
        )),
        MethodJson::Wallet { .. } | MethodJson::Card { .. } => {
            if terminal.is_some() {
                return Err(Problem::invalid(
                    "not_for_online",
                    "terminal names an in-store till; an online payment has none",
                ));
            }
            let checkout = match &create.method {
                MethodJson::Card {
                    terminal_type,
                    three_ds,
                    billing_address,
                } => {
                    let mut checkout = online::card_checkout(
                        terminal_type,
                        capture_mode(create.capture),
                        create.return_url.as_deref(),
                        allow_http_loopback,
                    )?;
                    checkout.card_checks =
                        buyer_json::card_checks(*three_ds, billing_address.as_ref())?;
                    checkout
                }
                MethodJson::Wallet {
                    wallet,
                    terminal_type,
                    os_type,
                } => {
                    let mut checkout = online::wallet_checkout(
                        wallet,
                        terminal_type,
                        os_type.as_deref(),
                        create.return_url.as_deref(),
                        allow_http_loopback,
                    )?;
                    if settings.is_card_like(&checkout.method_type) {
                        // Paid only once captured, like a card (seed 004).
                        checkout.capture = Some(capture_mode(create.capture));
                    } else if create.capture.is_some() {
                        return Err(Problem::invalid(
                            "not_for_wallet",
                            format!(
                                "capture is for card-like methods ({}); a {} payment is taken at once",
                                settings.card_like_methods.join(", "),
                                checkout.method_type
                            ),
                        ));
                    }
                    checkout
                }
                MethodJson::PaymentCode { .. } | MethodJson::CheckoutPage { .. } => {
                    return Err(Problem::invalid("invalid_method", "not an online method"));
                }
            };
            let mut checkout = checkout;
            checkout.buyer = create.buyer.as_ref().map(buyer_json::buyer).transpose()?;
            checkout.cancel_before_retry = settings.is_non_refundable(&checkout.method_type);
            Ok(NewPayment::Online(Box::new(CheckoutRequest {
                request,
                payment_request_id,
                amount_minor: create.amount.value,
                currency_numeric,
                reference_order_id: order_id.to_string(),
                checkout,
                expires_in_ms: online::expires_in_ms(create.expires_in_s)?,
                content_digest: fingerprint,
                store: create.store.clone(),
                description,
                metadata,
            })))
        }
    }
}

/// When a card-like authorization is captured: automatic unless the merchant asked otherwise.
fn capture_mode(asked: Option<CaptureJson>) -> CaptureMode {
    match asked {
        Some(CaptureJson::Manual) => CaptureMode::Manual,
        _ => CaptureMode::Automatic,
    }
}

/// A checked `POST /v1/payments`: a scanned code (in-store) or an online method.
enum NewPayment {
    InStore(Box<PurchaseRequest>),
    Online(Box<CheckoutRequest>),
}

impl NewPayment {
    fn payment_request_id(&self) -> asw_core::domain::PaymentRequestId {
        match self {
            NewPayment::InStore(p) => p.payment_request_id.clone(),
            NewPayment::Online(c) => c.payment_request_id.clone(),
        }
    }
}

/// `POST /v1/payments`.
#[utoipa::path(
    post,
    path = "/v1/payments",
    tag = "payments",
    operation_id = "create_payment",
    request_body = CreatePayment,
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "One key per attempt of an order (1-255 visible ASCII characters); a retry sends the same key and body")),
    responses(
        (status = 201, description = "The payment: final, or `pending` when `sync_wait_ms` passed first", body = PaymentJson),
        (status = 400, description = "Malformed JSON, or a missing or invalid Idempotency-Key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 429, description = "This API key has too many requests in flight (`Retry-After`)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 409, description = "The first request with this Idempotency-Key is still running, or another payment of this order_id is in progress or succeeded (an order is paid at most once)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemJson, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = ProblemJson, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid payment, or the key was used with another body", body = ProblemJson, content_type = "application/problem+json"),
        (status = 503, description = "The journal is unreachable; nothing was done", body = ProblemJson, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create(State(front): Front, headers: HeaderMap, body: Body) -> Response {
    let (started, request_id) = (Instant::now(), request_id());
    let result = create_payment(&front, &headers, body).await;
    finish("create_payment", started, result, &request_id)
}

async fn create_payment(
    front: &RestFront,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let opened = create::open(front, headers, body, |c: &CreatePayment| &c.order_id).await?;
    let (tag, dedup_key) = (opened.request.tag.clone(), opened.request.dedup_key.clone());
    let payment = new_payment(
        &opened.create,
        opened.request,
        opened.fingerprint.clone(),
        &front.settings,
    )?;
    let prid = payment.payment_request_id();
    let received_ms = front.core.clock().now_ms();
    let kept = KeptAnswer::new(opened.fingerprint.clone());
    let (answer, record) = create::run(
        front,
        &opened.caller,
        &prid,
        "payment",
        Some(Arc::clone(&kept)),
        |core, reply| async move {
            match payment {
                NewPayment::InStore(purchase) => core.purchase(*purchase, reply).await,
                NewPayment::Online(checkout) => core.checkout(*checkout, reply).await,
            }
        },
    )
    .await?;
    let replayed = record.created_at_ms < received_ms;
    let view = payment_json(&record, answer.as_ref());
    let is_final = view.status != "pending";
    let body = serde_json::to_string(&view).unwrap_or_default();
    respond_saved(
        front,
        StatusCode::CREATED,
        body,
        is_final,
        opened.fingerprint,
        replayed,
        KeptAt {
            tag: &tag,
            journal_id: record.journal_id(),
            dedup_key: &dedup_key,
        },
        Some(&kept),
    )
    .await
}

/// `GET /v1/payments/{id}`: the payment, refreshed from Antom while not final; an approval
/// read here before the closing time is delivered (it will not be cancelled).
#[utoipa::path(
    get,
    path = "/v1/payments/{id}",
    tag = "payments",
    operation_id = "get_payment",
    params(("id" = String, Path, pattern = "^pay_P[0-9a-f]{32}$", description = "The payment's id (`pay_…`)")),
    responses(
        (status = 200, description = "The payment, refreshed from Antom while not final", body = PaymentJson),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 429, description = "This API key has too many requests in flight (`Retry-After`)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 404, description = "No such payment for this merchant", body = ProblemJson, content_type = "application/problem+json"),
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
    let result = show_payment(&front, &headers, &id).await;
    finish("get_payment", started, result, &request_id)
}

async fn show_payment(
    front: &RestFront,
    headers: &HeaderMap,
    id: &str,
) -> Result<Response, Problem> {
    let (caller, _permit) = authenticate(front, headers)?;
    let prid = parse_payment_id(id).ok_or_else(|| Problem::not_found("no such payment"))?;
    let (reply, answered) = ChannelReply::new();
    let inquiry = StatusInquiry {
        origin: caller.origin(),
        original: OriginalRef {
            payment_request_id: Some(prid.to_string()),
            ..OriginalRef::default()
        },
    };
    let core = Arc::clone(&front.core);
    tokio::spawn(async move { core.status(inquiry, reply).await });
    let answer = answered
        .await
        .map_err(|_| Problem::unavailable("the payment could not be read"))?;
    if let Outcome::Refused(refusal) = &answer.outcome {
        return Err(refusal_problem(refusal));
    }
    let record = match answer.record.clone() {
        Some(record) => record,
        None => Arc::new(
            front
                .core
                .find_payment(&caller.origin(), prid.as_str())
                .await
                .map_err(store_problem)?
                .ok_or_else(|| Problem::not_found("no such payment"))?,
        ),
    };
    let view = payment_json(&record, Some(&answer));
    Ok(json(
        StatusCode::OK,
        serde_json::to_string(&view).unwrap_or_default(),
        false,
    ))
}

/// `POST /v1/payments/{id}/cancel`: the merchant's safety net. Acknowledged (202) once the
/// cancel is durably queued; it always ends with Antom holding none of the money (a cancel, or
/// a refund outside the cancel window). Repeating it is harmless.
#[utoipa::path(
    post,
    path = "/v1/payments/{id}/cancel",
    tag = "payments",
    operation_id = "cancel_payment",
    params(
        ("id" = String, Path, pattern = "^pay_P[0-9a-f]{32}$", description = "The payment's id (`pay_…`)"),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "Required on every POST; repeating a cancel is harmless"),
    ),
    responses(
        (status = 202, description = "The cancel is durably queued: Antom will hold none of the money", body = PaymentJson),
        (status = 200, description = "The payment failed: nothing to cancel", body = PaymentJson),
        (status = 400, description = "A missing or invalid Idempotency-Key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 429, description = "This API key has too many requests in flight (`Retry-After`)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 404, description = "No such payment for this merchant", body = ProblemJson, content_type = "application/problem+json"),
        (status = 409, description = "The payment has a refund, or cannot be cancelled now", body = ProblemJson, content_type = "application/problem+json"),
        (status = 503, description = "The journal is unreachable; nothing was done", body = ProblemJson, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn cancel(
    State(front): Front,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let (started, request_id) = (Instant::now(), request_id());
    // A path that cannot be decoded names nothing: the same 404 as an unknown id.
    let id = path.map(|Path(id)| id).unwrap_or_default();
    let result = cancel_payment(&front, &headers, &id).await;
    finish("cancel_payment", started, result, &request_id)
}

async fn cancel_payment(
    front: &RestFront,
    headers: &HeaderMap,
    id: &str,
) -> Result<Response, Problem> {
    let (caller, _permit) = authenticate(front, headers)?;
    idempotency_key(headers)?;
    let prid = parse_payment_id(id).ok_or_else(|| Problem::not_found("no such payment"))?;
    let origin = caller.origin();
    let record = front
        .core
        .find_payment(&origin, prid.as_str())
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("no such payment"))?;
    let (reply, answered) = ChannelReply::new();
    let void = VoidRequest {
        origin: origin.clone(),
        receipt_ref: None,
        amount_minor: record.amount_minor,
        original: OriginalRef {
            payment_request_id: Some(prid.to_string()),
            ..OriginalRef::default()
        },
    };
    let core = Arc::clone(&front.core);
    tokio::spawn(async move { core.void(void, reply).await });
    let answer = answered
        .await
        .map_err(|_| Problem::unavailable("the cancel could not be queued"))?;
    let status = match &answer.outcome {
        Outcome::Refused(Refusal::OriginalDeclined) => StatusCode::OK,
        Outcome::Refused(refusal) => return Err(refusal_problem(refusal)),
        // Written or not, nobody knows yet: a re-sent cancel finds out (it is idempotent).
        Outcome::Unresolved => {
            return Err(Problem::unavailable(
                "the cancel's outcome is not known yet: send it again",
            ));
        }
        _ => StatusCode::ACCEPTED,
    };
    info!(payment_request_id = %prid, "cancel requested by the merchant");
    let record = front
        .core
        .find_payment(&origin, prid.as_str())
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("no such payment"))?;
    let view = payment_json(&record, None);
    Ok(json(
        status,
        serde_json::to_string(&view).unwrap_or_default(),
        false,
    ))
}
