//! `POST /v1/sessions`: an Antom Checkout Page session (seed 002). The payment the buyer makes
//! on the page is an attempt of the order like any online payment — read with
//! `GET /v1/payments/{id}`, listed by `GET /v1/orders/{order_id}`, told by its events — so this
//! handler only checks the request, hands the core a session request with ids derived from the
//! `Idempotency-Key`, and renders the session.

use std::collections::HashSet;
use std::time::Instant;

use asw_core::flows::{SessionRequest, session_not_created};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::RestFront;
use crate::checks;
use crate::create;
use crate::http::{Front, finish, request_id, respond_saved};
use crate::ids;
use crate::model::{CreateSession, SessionJson};
use crate::online::check_return_url;
use crate::problem::{Problem, ProblemJson};
use crate::responses::KeptAt;
use crate::view::session_json;

/// The session lengths a merchant may ask for: Antom keeps a session at most one hour.
const EXPIRES_IN_S: std::ops::RangeInclusive<u64> = 60..=3600;
/// The most methods one page lists.
const MAX_METHODS: usize = 20;

/// `POST /v1/sessions`.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    tag = "payments",
    operation_id = "create_session",
    request_body = CreateSession,
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "One key per session (1-255 visible ASCII characters); a retry sends the same key and body")),
    responses(
        (status = 201, description = "The session: `requires_action` with `url` and `payment_session_data`, `failed` when Antom refused it, or `pending` while it is being created (retry with the same key)", body = SessionJson),
        (status = 400, description = "Malformed JSON, or a missing or invalid Idempotency-Key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 409, description = "The first request with this Idempotency-Key is still running, or another payment of this order_id is in progress or succeeded (an order is paid at most once)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemJson, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = ProblemJson, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid session, or the key was used with another body", body = ProblemJson, content_type = "application/problem+json"),
        (status = 429, description = "This API key has too many requests in flight (`Retry-After`)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 502, description = "`session_not_created`: Antom's answer was unknown. That session is cancelled and never reaches a buyer; create a new one with a new Idempotency-Key (Antom wants a new paymentRequestId). `payment_id` names the cancelled attempt", body = ProblemJson, content_type = "application/problem+json"),
        (status = 503, description = "The journal is unreachable; nothing was done", body = ProblemJson, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn create(State(front): Front, headers: HeaderMap, body: Body) -> Response {
    let (started, request_id) = (Instant::now(), request_id());
    let result = create_session(&front, &headers, body).await;
    finish("create_session", started, result, &request_id)
}

async fn create_session(
    front: &RestFront,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let opened = create::open(front, headers, body, |c: &CreateSession| &c.order_id).await?;
    let (tag, dedup_key) = (opened.request.tag.clone(), opened.request.dedup_key.clone());
    let session = new_session(
        &opened.create,
        opened.request,
        opened.fingerprint.clone(),
        &front.settings,
    )?;
    let prid = session.payment_request_id.clone();
    let received_ms = front.core.clock().now_ms();
    let (answer, record) = create::run(
        front,
        &opened.caller,
        &prid,
        "session",
        None,
        |core, reply| async move {
            core.session(session, reply).await;
        },
    )
    .await?;
    if session_not_created(&record) {
        let mut problem = Problem::bad_gateway(
            "session_not_created",
            "Antom's answer was unknown: this session is cancelled and never reaches a buyer; \
             create a new session with a new Idempotency-Key",
        );
        problem.payment_id = Some(ids::payment_id(&prid));
        return Err(problem);
    }
    let replayed = record.created_at_ms < received_ms;
    let view = session_json(&record, answer.as_ref());
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
        None,
    )
    .await
}

/// A checked `POST /v1/sessions`, as the core's request.
fn new_session(
    create: &CreateSession,
    request: asw_core::flows::RequestKey,
    fingerprint: String,
    settings: &crate::RestSettings,
) -> Result<SessionRequest, Problem> {
    let order_id = checks::order_id(&create.order_id)?;
    let currency_numeric = checks::amount(&create.amount)?;
    let description = checks::description(create.description.as_ref())?;
    let metadata = checks::metadata(create.metadata.as_ref())?;
    check_return_url(&create.return_url, settings.allow_http_loopback_return_urls)?;
    let methods = methods(create.methods.as_deref())?;
    let buyer = create
        .buyer
        .as_ref()
        .map(crate::buyer_json::buyer)
        .transpose()?;
    let identified = buyer
        .as_ref()
        .is_some_and(|b| b.reference_id.is_some() || b.email.is_some() || b.phone.is_some());
    if !identified && methods.iter().any(|m| settings.is_card_like(m)) {
        return Err(Problem::invalid(
            "buyer_required",
            "a page offering cards needs buyer.reference_id, buyer.email or buyer.phone (Antom's page refuses the card otherwise)",
        ));
    }
    let expires_in_ms = match create.expires_in_s {
        None => None,
        Some(s) if EXPIRES_IN_S.contains(&s) => Some(i64::try_from(s * 1000).unwrap_or(3_600_000)),
        Some(_) => {
            return Err(Problem::invalid(
                "invalid_expires_in",
                format!(
                    "expires_in_s must be between {} and {} seconds",
                    EXPIRES_IN_S.start(),
                    EXPIRES_IN_S.end()
                ),
            ));
        }
    };
    Ok(SessionRequest {
        payment_request_id: ids::payment_request_id(&request),
        request,
        amount_minor: create.amount.value,
        currency_numeric,
        reference_order_id: order_id.to_string(),
        return_url: create.return_url.clone(),
        methods,
        buyer,
        card_like: settings.card_like_methods.clone(),
        expires_in_ms,
        content_digest: fingerprint,
        store: create.store.clone(),
        description,
        metadata,
    })
}

/// The page's methods: Antom `paymentMethodType`s (2 to 64 of `A-Z 0-9 _`), each once.
fn methods(methods: Option<&[String]>) -> Result<Vec<String>, Problem> {
    let Some(methods) = methods else {
        return Ok(Vec::new());
    };
    let shaped = |m: &str| {
        (2..=64).contains(&m.len())
            && m.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    };
    let mut seen = HashSet::new();
    if methods.is_empty()
        || methods.len() > MAX_METHODS
        || !methods.iter().all(|m| shaped(m) && seen.insert(m.as_str()))
    {
        return Err(Problem::invalid(
            "invalid_methods",
            "methods lists 1 to 20 different Antom payment method types such as GCASH or CARD (2 to 64 of A-Z, 0-9, _)",
        ));
    }
    Ok(methods.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_antom_types_listed_once() {
        assert_eq!(methods(None), Ok(Vec::new()));
        let ok = vec!["GCASH".to_string(), "CARD".to_string()];
        assert_eq!(methods(Some(&ok)), Ok(ok.clone()));
        for bad in [
            vec![],
            vec!["gcash".to_string()],
            vec!["GCASH".to_string(), "GCASH".to_string()],
            vec!["X".to_string()],
        ] {
            assert!(methods(Some(&bad)).is_err(), "{bad:?}");
        }
    }
}
