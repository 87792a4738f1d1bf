//! The `notifyPayment` receiver: verify, check against the journal, apply through the same
//! atomic transition as an inquiry result, answer Antom's fixed body.

use std::collections::HashMap;
use std::sync::Arc;

use asw_antom::{
    NOTIFY_ACK_RETRY_BODY, NOTIFY_ACK_SUCCESS_BODY, Notification, Verifier, WebhookError,
    verify_notification,
};
use asw_core::flows::{Core, NotifyOutcome};
use asw_core::ports::StoreError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tracing::{info, warn};

/// Every outcome label of `crate::metrics::WEBHOOK_NOTIFICATIONS_TOTAL`, created at zero by
/// `crate::metrics::register_all`.
pub const OUTCOMES: [&str; 11] = [
    "applied",
    "applied_failure",
    "applied_capture",
    "ignored",
    "mismatch",
    "unknown_payment",
    "rejected_signature",
    "unknown_client",
    "malformed",
    "not_a_payment",
    "store_unavailable",
];

/// What the receiver needs.
pub struct WebhookState {
    /// The core, to apply payment results.
    pub core: Arc<Core>,
    /// Antom public key(s) per client id.
    pub verifiers: HashMap<String, Verifier>,
    /// The path Antom signed, when a proxy rewrites the path (else the path received).
    pub signed_path: Option<String>,
}

/// The router serving `path` with a body limit.
pub fn router(state: Arc<WebhookState>, path: &str, max_body_bytes: usize) -> Router {
    Router::new()
        .route(path, post(notify))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// [`crate::metrics::WEBHOOK_NOTIFICATIONS_TOTAL`]'s handles by outcome: one per notification.
static NOTIFICATIONS: asw_metrics::HandleCache<metrics::Counter> = asw_metrics::HandleCache::new();

fn count(outcome: &'static str) {
    NOTIFICATIONS.with(
        &[outcome],
        || metrics::counter!(crate::metrics::WEBHOOK_NOTIFICATIONS_TOTAL, "outcome" => outcome),
        |c| c.increment(1),
    );
}

fn antom_body(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body,
    )
        .into_response()
}

fn success() -> Response {
    antom_body(StatusCode::OK, NOTIFY_ACK_SUCCESS_BODY)
}

async fn notify(
    State(state): State<Arc<WebhookState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = state.signed_path.clone().unwrap_or_else(|| {
        uri.path_and_query()
            .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
    });
    let Some(client_id) = asw_antom::webhook::notification_client_id(&headers) else {
        count("rejected_signature");
        return (StatusCode::UNAUTHORIZED, "missing client-id").into_response();
    };
    let Some(verifier) = state.verifiers.get(client_id) else {
        warn!("notification for an unknown client id");
        count("unknown_client");
        return (StatusCode::UNAUTHORIZED, "unknown client-id").into_response();
    };
    let notification = match verify_notification(verifier, &path, &headers, &body) {
        Ok(n) => n,
        Err(WebhookError::Unparsable(why)) => {
            count("malformed");
            return (
                StatusCode::BAD_REQUEST,
                format!("unreadable notification: {why}"),
            )
                .into_response();
        }
        Err(error) => {
            warn!(%error, "notification rejected");
            count("rejected_signature");
            return (StatusCode::UNAUTHORIZED, "signature rejected").into_response();
        }
    };
    let payment = match notification {
        Notification::Payment(p) if p.is_payment_success() => p,
        Notification::Payment(p) if p.is_payment_failure() => {
            return apply_failure(&state, &p.payment_request_id, &p.result.result_code).await;
        }
        Notification::Capture(c) => {
            return apply_capture(&state, &c.capture_request_id, c.is_capture_success()).await;
        }
        Notification::Payment(_) | Notification::Refund(_) | Notification::Other { .. } => {
            count("not_a_payment");
            return success();
        }
    };
    let amount = payment
        .payment
        .payment_amount
        .as_ref()
        .and_then(|a| a.value.parse::<u64>().ok().map(|v| (v, a.currency.clone())));
    let wallet = payment
        .payment
        .psp_customer_info
        .as_ref()
        .and_then(|p| p.psp_name.clone());
    let applied = state
        .core
        .apply_payment_notification(
            &payment.payment_request_id,
            payment.payment.payment_id.clone(),
            amount,
            wallet,
            asw_upstream::paid_with(&payment.payment),
        )
        .await;
    if let Ok(outcome) = &applied {
        info!(payment_request_id = %payment.payment_request_id, outcome = outcome.as_str(), "notifyPayment");
        if *outcome == NotifyOutcome::Authorized {
            // A card authorized: its automatic capture (if any) runs on its own task, so
            // Antom's notification is acknowledged at once.
            let core = Arc::clone(&state.core);
            let prid = payment.payment_request_id.clone();
            tokio::spawn(async move { core.capture_due(&prid).await });
        }
    }
    acknowledge(applied, "applied")
}

/// A verified payment failure: applied to an online payment (declined by the buyer, or expired
/// unpaid); acknowledged whatever its result, as Antom asks, unless the journal is down.
async fn apply_failure(
    state: &WebhookState,
    payment_request_id: &str,
    result_code: &str,
) -> Response {
    let applied = state
        .core
        .apply_payment_failure_notification(payment_request_id, result_code)
        .await;
    if let Ok(outcome) = &applied {
        info!(
            payment_request_id,
            result_code,
            outcome = outcome.as_str(),
            "notifyPayment FAIL"
        );
    }
    acknowledge(applied, "applied_failure")
}

/// A verified `CAPTURE_RESULT`: a success of a capture the switch made settles its payment;
/// acknowledged whatever its result, unless the journal is down.
async fn apply_capture(state: &WebhookState, capture_request_id: &str, captured: bool) -> Response {
    let applied = state
        .core
        .apply_capture_notification(capture_request_id, captured)
        .await;
    if let Ok(outcome) = &applied {
        info!(
            capture_request_id,
            captured,
            outcome = outcome.as_str(),
            "CAPTURE_RESULT"
        );
    }
    acknowledge(applied, "applied_capture")
}

/// Antom's answer to a notification the core applied: the fixed SUCCESS whatever it did
/// (counted, `applied` under its own label), or "re-send" when the journal is down.
fn acknowledge(
    applied: Result<NotifyOutcome, StoreError>,
    applied_label: &'static str,
) -> Response {
    match applied {
        Ok(outcome) => {
            count(match outcome {
                NotifyOutcome::Applied | NotifyOutcome::Authorized => applied_label,
                NotifyOutcome::Ignored => "ignored",
                NotifyOutcome::Mismatch => "mismatch",
                NotifyOutcome::Unknown => "unknown_payment",
            });
            success()
        }
        Err(error) => {
            warn!(%error, "store unavailable: asking Antom to re-send the notification");
            count("store_unavailable");
            antom_body(StatusCode::SERVICE_UNAVAILABLE, NOTIFY_ACK_RETRY_BODY)
        }
    }
}
