//! The core's metrics, declared once: the names the flows emit under and their declarations
//! ([`METRICS`], registered by the binary at start-up), with their bounded label values.

use asw_metrics::{MetricSpec, Zero, label};
use metrics::Unit;

/// Terminal transactions by flow and outcome class.
pub const TRANSACTIONS: &str = "antom_switch_core_transactions_total";
/// End-to-end latency by flow.
pub const LATENCY: &str = "antom_switch_core_transaction_duration_seconds";
/// Transactions being processed.
pub const IN_FLIGHT: &str = "antom_switch_core_in_flight";
/// How Unknown outcomes ended.
pub const UNKNOWN_RESOLVED: &str = "antom_switch_core_unknown_resolved_total";
/// Events the state table rejected.
pub const ILLEGAL: &str = "antom_switch_core_illegal_transitions_total";
/// Store errors seen by the core, by flow.
pub const STORE_FAILURES: &str = "antom_switch_core_store_failures_total";
/// Follow-ups naming a payment outside the sender's scope (answered as unknown).
pub const OUT_OF_SCOPE: &str = "antom_switch_core_follow_ups_out_of_scope_total";
/// Reversals of a void or refund, acknowledged without action.
pub const UNREVERSIBLE_REVERSALS: &str = "antom_switch_core_unreversible_reversals_total";
/// Counter: payments refused at once because the switch was at its in-flight budget.
pub const SHED_TOTAL: &str = "antom_switch_core_shed_total";
/// Flows that can be shed (`flow` label of [`SHED_TOTAL`]).
pub const SHED_FLOWS: &[&str] = &["purchase"];

/// Flows of the core (`flow` label).
pub const FLOWS: &[&str] = &[
    "purchase",
    "order_code",
    "checkout",
    "session",
    "capture",
    "reversal",
    "advice",
    "void",
    "refund",
    "inquiry",
];
/// Outcome classes of a transaction ([`crate::domain::OutcomeClass`]), and `awaiting_buyer`:
/// an online payment answered with the buyer's page, or a terminal's order code answered with
/// the code to display (not final, and not a failure).
pub const OUTCOME_CLASSES: &[&str] = &[
    "approved",
    "declined",
    "timed_out",
    "rejected",
    "awaiting_buyer",
];
/// How an Unknown pay outcome ended.
pub const UNKNOWN_RESOLUTIONS: &[&str] = &["approved", "declined", "cancelled"];
/// Where the core met a store failure (the flows, and `settle`, their shared step).
pub const STORE_FAILURE_FLOWS: &[&str] = &[
    "purchase",
    "order_code",
    "checkout",
    "session",
    "capture",
    "settle",
    "reversal",
    "void",
    "refund",
    "inquiry",
];

/// Every metric of the core (see docs/metrics.md).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::counter(
        TRANSACTIONS,
        "Terminal transactions answered, by flow and outcome class.",
    )
    .labels(&[label("flow", FLOWS), label("outcome", OUTCOME_CLASSES)]),
    MetricSpec::histogram(
        LATENCY,
        "End-to-end time from the request read to the answer handed to the terminal, by flow.",
    )
    .unit(Unit::Seconds)
    .labels(&[label("flow", FLOWS)]),
    MetricSpec::gauge(
        IN_FLIGHT,
        "Terminal transactions being processed now, by flow.",
    )
    .labels(&[label("flow", FLOWS)]),
    MetricSpec::counter(
        UNKNOWN_RESOLVED,
        "Pay calls whose outcome was Unknown, by how they ended (approved, declined, cancelled).",
    )
    .labels(&[label("resolution", UNKNOWN_RESOLUTIONS)]),
    MetricSpec::counter(
        ILLEGAL,
        "Events the state table refused for the record's state, by event.",
    )
    .labels(&[label("event", crate::state::Event::NAMES)]),
    MetricSpec::counter(
        STORE_FAILURES,
        "Journal failures seen by the core, by where they happened.",
    )
    .labels(&[label("flow", STORE_FAILURE_FLOWS)]),
    MetricSpec::counter(
        OUT_OF_SCOPE,
        "Voids, refunds and status inquiries that named a payment outside the sender's follow-up scope (answered as unknown).",
    ),
    MetricSpec::counter(
        UNREVERSIBLE_REVERSALS,
        "Reversals of a void or refund, acknowledged without action (reconcile by hand).",
    ),
    MetricSpec::counter(
        SHED_TOTAL,
        "Payments refused at once (try again) because the switch was at its in-flight budget.",
    )
    .labels(&[label("flow", SHED_FLOWS)])
    .zero(Zero::Every),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declarations_are_well_formed() {
        assert_eq!(asw_metrics::problems(METRICS), Vec::<String>::new());
    }
}
