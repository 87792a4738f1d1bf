//! The client's metrics, declared once: the names its emitters use and their declarations
//! ([`METRICS`], registered by the binary at start-up). Labels come from small fixed sets:
//! `api` ∈ [`APIS`], `result` ∈ [`RESULTS`].

use std::time::Duration;

use asw_antom::{Api, Outcome, UnknownReason};
use asw_metrics::{HandleCache, MetricSpec, label};
use metrics::{Counter, Histogram, Unit, counter, histogram};

/// Histogram of whole-call durations, labelled `api` and `result`.
pub const REQUEST_DURATION_SECONDS: &str = "antom_switch_upstream_request_duration_seconds";
/// Counter of calls, labelled `api` and `result`.
pub const REQUESTS_TOTAL: &str = "antom_switch_upstream_requests_total";
/// Counter of answers not trusted because of their signature (missing, malformed, wrong, or
/// for another client id), labelled `api`.
pub const SIGNATURE_FAILURES_TOTAL: &str = "antom_switch_upstream_signature_failures_total";

/// `api` label values: [`Api::label`] of every [`Api::ALL`] (a test keeps them equal; the
/// declaration must be a constant).
pub const APIS: &[&str] = &[
    "pay",
    "inquiry_payment",
    "cancel",
    "refund",
    "inquiry_refund",
    "capture",
    "create_payment_session",
];
/// `result` label values: Antom's result status (a timeout or bad answer is U).
pub const RESULTS: &[&str] = &["S", "F", "U"];

/// Every metric of the Antom client (see docs/metrics.md).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::histogram(
        REQUEST_DURATION_SECONDS,
        "Antom API call duration, from send to classified answer, by API and result status.",
    )
    .unit(Unit::Seconds)
    .labels(&[label("api", APIS), label("result", RESULTS)]),
    MetricSpec::counter(
        REQUESTS_TOTAL,
        "Antom API calls, by API and result status (S, F, U; a timeout or bad answer is U).",
    )
    .labels(&[label("api", APIS), label("result", RESULTS)]),
    MetricSpec::counter(
        SIGNATURE_FAILURES_TOTAL,
        "Antom answers not trusted because their signature was missing or wrong, by API.",
    )
    .labels(&[label("api", APIS)]),
];

// Handles of the two series every call records (see `asw_metrics::HandleCache`).
static DURATIONS: HandleCache<Histogram> = HandleCache::new();
static REQUESTS: HandleCache<Counter> = HandleCache::new();

/// Records one finished call.
pub(crate) fn record_call<T>(api: Api, outcome: &Outcome<T>, elapsed: Duration) {
    let result = outcome.status().as_str();
    let api = api.label();
    DURATIONS.with(
        &[api, result],
        || histogram!(REQUEST_DURATION_SECONDS, "api" => api, "result" => result),
        |h| h.record(elapsed.as_secs_f64()),
    );
    REQUESTS.with(
        &[api, result],
        || counter!(REQUESTS_TOTAL, "api" => api, "result" => result),
        |c| c.increment(1),
    );
    if let Outcome::Unknown(reason) = outcome
        && reason.is_signature_failure()
    {
        counter!(SIGNATURE_FAILURES_TOTAL, "api" => api).increment(1);
    }
}

/// A short, bounded, machine-friendly reason for the core's `UpstreamOutcome::Unknown`.
pub fn reason_label(reason: &UnknownReason) -> String {
    match reason {
        UnknownReason::ResultUnknown { result_code, .. } => format!("U:{result_code}"),
        UnknownReason::HttpStatus(status) => format!("http_{status}"),
        UnknownReason::EmptyBody => "empty_body".to_owned(),
        UnknownReason::Unparsable(_) => "unparsable_body".to_owned(),
        UnknownReason::IncompleteSuccess(field) => format!("incomplete_success:{field}"),
        UnknownReason::Unsigned { claimed_code, .. } => match claimed_code {
            // Unverified text from the peer: keep it short.
            Some(code) => format!("unsigned:{}", code.chars().take(64).collect::<String>()),
            None => "unsigned".to_owned(),
        },
        UnknownReason::BadSignature(_) => "bad_signature".to_owned(),
        UnknownReason::ClientIdMismatch => "client_id_mismatch".to_owned(),
        UnknownReason::Timeout(_) => "timeout".to_owned(),
        UnknownReason::Connection(_) => "connection".to_owned(),
        UnknownReason::Transport(_) => "transport".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declarations_are_well_formed() {
        assert_eq!(asw_metrics::problems(METRICS), Vec::<String>::new());
    }

    #[test]
    fn the_declared_apis_are_the_emitted_ones() {
        let apis: Vec<_> = Api::ALL.iter().map(|a| a.label()).collect();
        assert_eq!(apis, APIS);
    }
}
