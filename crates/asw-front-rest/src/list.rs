//! `GET /v1/payments?order_id=…&status=…&created_after=…&limit=…&cursor=…`: the caller's
//! merchant's payments, newest first, a page at a time.
//!
//! The journal keeps an index of each merchant's REST payments per shard (written by `begin`);
//! a page merges the shards' newest entries after the cursor (created time, journal id). A
//! status filter is applied to what the index returns, scanning at most a bounded number of
//! entries per request: a page may then hold fewer than `limit` payments with a `next_cursor`
//! to continue from.

use std::time::Instant;

use asw_core::record::TransactionRecord;
use asw_core::state::{Delivery, TxnState};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::RestFront;
use crate::http::{Front, authenticate, finish, json, request_id, store_problem};
use crate::ids;
use crate::model::{PaymentJson, PaymentListJson};
use crate::problem::{Problem, ProblemJson};
use crate::view::payment_json_told;

/// The statuses a list can be filtered by.
const STATUSES: [&str; 9] = [
    "pending",
    "succeeded",
    "failed",
    "cancelled",
    "expired",
    "authorized",
    "partially_refunded",
    "refunded",
    "requires_action",
];
/// Index entries one request reads at most while filtering.
const MAX_SCANNED: usize = 1_000;

#[derive(Default)]
struct Params {
    order_id: Option<String>,
    status: Option<String>,
    created_after: Option<i64>,
    limit: usize,
    cursor: Option<(i64, String)>,
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem::bad_request("invalid_query", detail)
}

fn parse(query: Option<&str>) -> Result<Params, Problem> {
    let mut p = Params {
        limit: 20,
        ..Params::default()
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "order_id" => p.order_id = Some(value.trim().to_string()),
            "status" if STATUSES.contains(&value.as_ref()) => p.status = Some(value.to_string()),
            "status" => {
                return Err(bad(format!(
                    "status must be one of {}",
                    STATUSES.join(", ")
                )));
            }
            "created_after" => {
                let at = OffsetDateTime::parse(&value, &Rfc3339)
                    .map_err(|_| bad("created_after must be an RFC 3339 time"))?;
                p.created_after =
                    Some(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0));
            }
            "limit" => {
                p.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| bad("limit must be between 1 and 100"))?;
            }
            "cursor" => {
                p.cursor =
                    Some(parse_cursor(&value).ok_or_else(|| bad("not a cursor of this API"))?)
            }
            other => return Err(bad(format!("unknown parameter {other:?}"))),
        }
    }
    Ok(p)
}

fn cursor_of(record: &TransactionRecord) -> String {
    format!("cur_{}_{}", record.created_at_ms, record.journal_id())
}

fn parse_cursor(text: &str) -> Option<(i64, String)> {
    let rest = text.strip_prefix("cur_")?;
    let (ms, id) = rest.split_once('_')?;
    let ms = ms.parse().ok()?;
    (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| (ms, id.to_string()))
}

fn view(record: &TransactionRecord) -> PaymentJson {
    // `succeeded` only for an approval already handed over: a list never hands one over.
    let told = record.state == TxnState::Approved && record.delivery == Delivery::Sending;
    payment_json_told(record, told)
}

/// `GET /v1/payments`.
#[utoipa::path(
    get,
    path = "/v1/payments",
    tag = "payments",
    operation_id = "list_payments",
    params(
        ("order_id" = Option<String>, Query, description = "Only the attempts of this order"),
        ("status" = Option<String>, Query, description = "Only payments in this status"),
        ("created_after" = Option<String>, Query, description = "Only payments created after this RFC 3339 time"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of payments, newest first", body = PaymentListJson),
        (status = 400, description = "A parameter cannot be used", body = ProblemJson, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = ProblemJson, content_type = "application/problem+json"),
        (status = 429, description = "This API key has too many requests in flight (`Retry-After`)", body = ProblemJson, content_type = "application/problem+json"),
        (status = 503, description = "The journal is unreachable", body = ProblemJson, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list(
    State(front): Front,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (started, request_id) = (Instant::now(), request_id());
    let result = list_payments(&front, &headers, query.as_deref()).await;
    finish("list_payments", started, result, &request_id)
}

async fn list_payments(
    front: &RestFront,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, Problem> {
    let (caller, _permit) = authenticate(front, headers)?;
    let params = parse(query)?;
    let origin = caller.origin();
    let wanted = |r: &TransactionRecord| {
        params
            .created_after
            .is_none_or(|after| r.created_at_ms > after)
            && params.status.as_deref().is_none_or(|s| view(r).status == s)
    };
    let mut data = Vec::new();
    let mut next_cursor = None;
    if let Some(order_id) = &params.order_id {
        let tag = ids::order_tag(front.core.ids(), &caller, order_id);
        let mut attempts = front
            .core
            .order_attempts(&origin, &tag, order_id)
            .await
            .map_err(store_problem)?;
        attempts.reverse();
        data = attempts
            .iter()
            .filter(|r| wanted(r))
            .take(params.limit)
            .map(view)
            .collect();
    } else {
        let mut cursor = params.cursor.clone();
        let mut scanned = 0usize;
        'pages: loop {
            let page = front
                .core
                .merchant_payments(&origin, cursor.clone(), params.created_after, params.limit)
                .await
                .map_err(store_problem)?;
            let exhausted = page.len() < params.limit;
            for record in &page {
                scanned += 1;
                cursor = Some((record.created_at_ms, record.journal_id().to_string()));
                if wanted(record) {
                    data.push(view(record));
                    if data.len() == params.limit {
                        next_cursor = Some(cursor_of(record));
                        break 'pages;
                    }
                }
            }
            if exhausted {
                break;
            }
            if scanned >= MAX_SCANNED {
                next_cursor = cursor.as_ref().map(|(ms, id)| format!("cur_{ms}_{id}"));
                break;
            }
        }
    }
    let body = serde_json::to_string(&PaymentListJson { data, next_cursor }).unwrap_or_default();
    Ok(json(StatusCode::OK, body, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_checked_and_cursors_round_trip() {
        assert!(parse(None).is_ok());
        assert!(parse(Some("limit=0")).is_err());
        assert!(parse(Some("limit=101")).is_err());
        assert!(parse(Some("status=paid")).is_err());
        assert!(parse(Some("created_after=yesterday")).is_err());
        assert!(parse(Some("surprise=1")).is_err());
        assert!(parse(Some("cursor=cur_12_abc%20def")).is_err());
        let p = parse(Some("status=succeeded&limit=5&created_after=2026-12-06T10:00:00Z&cursor=cur_1765000000000_Pabc123"))
            .unwrap_or_default();
        assert_eq!(p.limit, 5);
        assert_eq!(p.cursor, Some((1_765_000_000_000, "Pabc123".to_string())));
        assert_eq!(p.created_after, Some(1_796_551_200_000));
    }
}
