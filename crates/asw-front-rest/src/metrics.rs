//! The REST front's metrics, declared once (RED: rate, errors, duration per route), with their
//! bounded label values: a route outside the API is `other`, a status outside the list `other`,
//! so a caller cannot create new time series.

use std::time::Instant;

use asw_metrics::{HandleCache, MetricSpec, Zero, label};
use metrics::{Counter, Histogram, Unit};

/// Counter: requests answered, by `route` and `status`.
pub const REQUESTS_TOTAL: &str = "antom_switch_rest_requests_total";
/// Histogram: time from the request to the answer, by `route`.
pub const REQUEST_DURATION: &str = "antom_switch_rest_request_duration_seconds";

/// Counter: event deliveries to merchants, by `result`.
pub const WEBHOOK_DELIVERIES: &str = "antom_switch_rest_webhook_deliveries_total";
/// Gauge: events waiting for delivery (queued or scheduled for a retry).
pub const EVENTS_WAITING: &str = "antom_switch_rest_events_waiting";
/// Gauge: age of the oldest event waiting, seconds.
pub const EVENTS_OLDEST_AGE: &str = "antom_switch_rest_events_oldest_age_seconds";
/// Gauge: events given up on (dead letters).
pub const EVENTS_DEAD: &str = "antom_switch_rest_events_dead_letters";

/// Every `result` label value of [`WEBHOOK_DELIVERIES`].
pub const DELIVERY_RESULTS: &[&str] = &[
    "delivered",
    "failed",
    "gone",
    "dead",
    "superseded",
    "no_endpoint",
];

/// Every `route` label value.
pub const ROUTES: &[&str] = &[
    "create_payment",
    "get_payment",
    "cancel_payment",
    "create_refund",
    "get_refund",
    "get_order",
    "list_payments",
    "create_session",
    "other",
];
/// Every `status` label value: the statuses the front answers, then `other`.
pub const STATUSES: &[&str] = &[
    "200", "201", "202", "400", "401", "404", "405", "409", "413", "415", "422", "429", "500",
    "502", "503", "other",
];
/// The statuses whose series start at zero (so "any 5xx" alerts work from the first scrape).
const ZERO_STATUSES: &[&str] = &[
    "200", "201", "202", "400", "401", "404", "409", "422", "500", "503",
];

/// Every metric of the REST front (see docs/metrics.md).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::counter(
        REQUESTS_TOTAL,
        "REST API requests answered, by route and HTTP status.",
    )
    .labels(&[label("route", ROUTES), label("status", STATUSES)])
    .zero(Zero::Only(&[&[
        label("route", ROUTES),
        label("status", ZERO_STATUSES),
    ]])),
    MetricSpec::counter(
        WEBHOOK_DELIVERIES,
        "Event deliveries to merchants' endpoints, by result (failed: retried later; dead: retries exhausted; superseded: a success no longer to be told; no_endpoint: the merchant has none).",
    )
    .labels(&[label("result", DELIVERY_RESULTS)]),
    MetricSpec::gauge(EVENTS_WAITING, "Merchants' events waiting for delivery."),
    MetricSpec::gauge(
        EVENTS_OLDEST_AGE,
        "Age of the oldest merchant event waiting for delivery.",
    )
    .unit(Unit::Seconds),
    MetricSpec::gauge(EVENTS_DEAD, "Merchants' events given up on (dead letters)."),
    MetricSpec::histogram(
        REQUEST_DURATION,
        "Time from a REST request to its answer, by route (a POST waits at most sync_wait_ms).",
    )
    .unit(Unit::Seconds)
    .labels(&[label("route", ROUTES)]),
];

// Handles of the two series every request records (see `asw_metrics::HandleCache`).
static REQUESTS: HandleCache<Counter> = HandleCache::new();
static DURATIONS: HandleCache<Histogram> = HandleCache::new();

/// Counts one answered request.
pub(crate) fn record(route: &'static str, status: u16, started: Instant) {
    let status = STATUSES
        .iter()
        .find(|s| s.parse::<u16>().ok() == Some(status))
        .copied()
        .unwrap_or("other");
    REQUESTS.with(
        &[route, status],
        || metrics::counter!(REQUESTS_TOTAL, "route" => route, "status" => status),
        |c| c.increment(1),
    );
    DURATIONS.with(
        &[route],
        || metrics::histogram!(REQUEST_DURATION, "route" => route),
        |h| h.record(started.elapsed().as_secs_f64()),
    );
}
