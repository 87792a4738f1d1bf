//! The client's metrics, through the `metrics` facade. Labels come from small fixed sets:
//! `api` ∈ pay | inquiry_payment | cancel | refund | inquiry_refund, `result` ∈ S | F | U.

use std::time::Duration;

use asw_antom::{Api, Outcome, UnknownReason};
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

/// Histogram of whole-call durations, labelled `api` and `result`.
pub const REQUEST_DURATION_SECONDS: &str = "antom_switch_upstream_request_duration_seconds";
/// Counter of calls, labelled `api` and `result`.
pub const REQUESTS_TOTAL: &str = "antom_switch_upstream_requests_total";
/// Counter of answers not trusted because of their signature (missing, malformed, wrong, or
/// for another client id), labelled `api`.
pub const SIGNATURE_FAILURES_TOTAL: &str = "antom_switch_upstream_signature_failures_total";

const RESULTS: [&str; 3] = ["S", "F", "U"];

/// Registers descriptions and creates every label set at zero, so dashboards and alerts see
/// the series before the first failure.
pub(crate) fn describe() {
    describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of Antom API calls, from send to classified answer."
    );
    describe_counter!(REQUESTS_TOTAL, "Antom API calls by API and S/F/U outcome.");
    describe_counter!(
        SIGNATURE_FAILURES_TOTAL,
        "Antom answers rejected because of a missing or invalid signature."
    );
    for api in Api::ALL {
        for result in RESULTS {
            counter!(REQUESTS_TOTAL, "api" => api.label(), "result" => result).increment(0);
        }
        counter!(SIGNATURE_FAILURES_TOTAL, "api" => api.label()).increment(0);
    }
}

/// Records one finished call.
pub(crate) fn record_call<T>(api: Api, outcome: &Outcome<T>, elapsed: Duration) {
    let result = outcome.status().as_str();
    histogram!(REQUEST_DURATION_SECONDS, "api" => api.label(), "result" => result)
        .record(elapsed.as_secs_f64());
    counter!(REQUESTS_TOTAL, "api" => api.label(), "result" => result).increment(1);
    if let Outcome::Unknown(reason) = outcome
        && reason.is_signature_failure()
    {
        counter!(SIGNATURE_FAILURES_TOTAL, "api" => api.label()).increment(1);
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
