//! The control API under `/__sim/` (unsigned JSON, for tests and demos only):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/__sim/payments` | every payment with its refunds and notification counts |
//! | GET | `/__sim/payments/{id}` | one payment (`paymentRequestId` or `paymentId`) |
//! | POST | `/__sim/payments/{id}/force` | `{"status":"SUCCESS"\|"FAIL"\|"CANCELLED"\|"PROCESSING","resultCode":"…"}` |
//! | POST | `/__sim/buyer/{paymentId}/{approve\|decline\|leave}` | what the wallet or card page's buttons do (and the buyer who scans an in-store order code and pays it), answered as JSON; for a card, an optional JSON or form body `{"card_number", "expiry", "cvv", "holder"}` (missing fields: the approving test card) |
//! | GET | `/__sim/sessions/{id}` | one Checkout Page session (`paymentSessionId` or `paymentRequestId`) |
//! | POST | `/__sim/sessions/{id}/{TYPE}` | what the session page's method buttons do: the session's payment is created; answers its `paymentId` and page (then `/__sim/buyer/{paymentId}/…`) |
//! | GET | `/__sim/calls` | every API call received, in order |
//! | POST | `/__sim/reset` | forget payments, refunds, calls, pending notifications, clock offset |
//! | GET, POST | `/__sim/clock` | read / set `{"offsetMs": n}` added to the simulator's clock |

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};

use crate::card::CardForm;
use crate::ledger::{BuyerAction, ForcedState};
use crate::server::Shared;

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "error": message }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ForceBody {
    status: String,
    result_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClockBody {
    offset_ms: i64,
}

async fn read_bytes(req: Request<Incoming>) -> Result<Bytes, String> {
    Ok(Limited::new(req.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|e| format!("cannot read body: {e}"))?
        .to_bytes())
}

async fn read_json<T: for<'de> Deserialize<'de>>(req: Request<Incoming>) -> Result<T, String> {
    let bytes = read_bytes(req).await?;
    serde_json::from_slice(&bytes).map_err(|e| format!("bad JSON: {e}"))
}

/// Serves one control request.
pub(crate) async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let rest = path.strip_prefix("/__sim").unwrap_or("");
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let now = shared.clock.now();
    let cfg = &shared.cfg;
    match (req.method().clone(), segments.as_slice()) {
        (Method::GET, ["payments"]) => json(
            StatusCode::OK,
            &serde_json::json!({ "payments": shared.ledger.snapshot(now, cfg) }),
        ),
        (Method::GET, ["payments", id]) => match shared.ledger.payment_view(id, now, cfg) {
            Some(v) => json(StatusCode::OK, &v),
            None => error(StatusCode::NOT_FOUND, "no such payment"),
        },
        (Method::POST, ["payments", id, "force"]) => {
            let id = (*id).to_owned();
            let body: ForceBody = match read_json(req).await {
                Ok(b) => b,
                Err(e) => return error(StatusCode::BAD_REQUEST, &e),
            };
            let target = match body.status.as_str() {
                "SUCCESS" => ForcedState::Success,
                "FAIL" => ForcedState::Fail(
                    body.result_code
                        .unwrap_or_else(|| "USER_BALANCE_NOT_ENOUGH".into()),
                ),
                "CANCELLED" => ForcedState::Cancelled,
                "PROCESSING" => ForcedState::Processing,
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "status must be SUCCESS, FAIL, CANCELLED or PROCESSING",
                    );
                }
            };
            match shared.ledger.force(&id, target, now, cfg) {
                Some((view, effects)) => {
                    shared.run_effects(effects, None);
                    json(StatusCode::OK, &view)
                }
                None => error(StatusCode::NOT_FOUND, "no such payment"),
            }
        }
        (Method::POST, ["buyer", id, action]) => {
            let Some(action) = BuyerAction::parse(action) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "the action must be approve, decline or leave",
                );
            };
            let id = (*id).to_owned();
            // Card payments take the typed card from the body (JSON or form, every field
            // optional, defaults to the approving test card); wallets ignore it.
            let card = match read_bytes(req).await {
                Ok(bytes) => CardForm::from_hook_body(&bytes),
                Err(e) => return error(StatusCode::BAD_REQUEST, &e),
            };
            match crate::buyer::act(shared, &id, action, Some(&card)) {
                Some(o) => json(
                    StatusCode::OK,
                    &serde_json::json!({
                        "paymentId": o.payment_id,
                        "paymentRequestId": o.payment_request_id,
                        "action": action.as_str(),
                        "changed": o.changed,
                        "status": o.status,
                        "resultCode": o.result_code,
                        "redirectUrl": o.redirect_url,
                    }),
                ),
                None => error(StatusCode::NOT_FOUND, "no such online payment"),
            }
        }
        (Method::GET, ["sessions", id]) => match shared.ledger.session_view(id, now, cfg) {
            Some(v) => json(StatusCode::OK, &v),
            None => error(StatusCode::NOT_FOUND, "no such session"),
        },
        (Method::POST, ["sessions", id, method]) => {
            match crate::session_page::submit(shared, id, method) {
                Ok((page, payment_id, payment_request_id)) => json(
                    StatusCode::OK,
                    &serde_json::json!({
                        "paymentId": payment_id,
                        "paymentRequestId": payment_request_id,
                        "paymentMethodType": method,
                        "page": page,
                    }),
                ),
                Err(crate::ledger::SubmitRefusal::Unknown) => {
                    error(StatusCode::NOT_FOUND, "no such session")
                }
                Err(refusal) => error(
                    StatusCode::CONFLICT,
                    crate::session_page::refusal_text(&refusal),
                ),
            }
        }
        (Method::GET, ["calls"]) => {
            let (calls, not_recorded) = shared.calls.list();
            json(
                StatusCode::OK,
                &serde_json::json!({ "calls": calls, "notRecorded": not_recorded }),
            )
        }
        (Method::POST, ["reset"]) => {
            shared.ledger.reset();
            shared.calls.clear();
            shared.clock.set_offset_ms(0);
            json(StatusCode::OK, &serde_json::json!({ "reset": true }))
        }
        (Method::GET, ["clock"]) => clock(shared),
        (Method::POST, ["clock"]) => match read_json::<ClockBody>(req).await {
            Ok(b) => {
                shared.clock.set_offset_ms(b.offset_ms);
                clock(shared)
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        _ => error(StatusCode::NOT_FOUND, "unknown control endpoint"),
    }
}

fn clock(shared: &Shared) -> Response<Full<Bytes>> {
    let now = shared
        .clock
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json(
        StatusCode::OK,
        &serde_json::json!({ "offsetMs": shared.clock.offset_ms(), "now": now }),
    )
}
