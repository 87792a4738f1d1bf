//! The reversal engine's metrics, declared once: the names its emitters use and their
//! declarations ([`METRICS`], registered by the binary at start-up), with their bounded label
//! values.

use asw_metrics::{MetricSpec, label};

/// Counter: SAF delivery attempts handled, by `action` and `outcome`.
pub const SAF_DELIVERIES_TOTAL: &str = "antom_switch_saf_deliveries_total";
/// Counter: SAF entries rescheduled after an unsettled attempt, by `action`.
pub const SAF_RETRIES_TOTAL: &str = "antom_switch_saf_retries_total";
/// Counter: SAF entries given up and dead-lettered, by `action`.
pub const SAF_DEAD_LETTERS_TOTAL: &str = "antom_switch_saf_dead_letters_total";
/// Counter: Antom answers to cancel calls, by `result` class.
pub const CANCEL_OUTCOMES_TOTAL: &str = "antom_switch_reversal_cancel_outcomes_total";
/// Counter: cancels refused with CANCEL_WINDOW_EXCEED and replaced by a full refund.
pub const REFUND_FALLBACKS_TOTAL: &str = "antom_switch_reversal_refund_fallbacks_total";
/// Counter: Antom refusals that point at our own set-up.
pub const SETUP_ERRORS_TOTAL: &str = "antom_switch_reversal_setup_errors_total";
/// Counter: what the deadline sweeper did per overdue transaction, by `action`.
pub const SWEEPER_ACTIONS_TOTAL: &str = "antom_switch_sweeper_actions_total";

/// SAF actions (`action` label of the SAF metrics).
pub const SAF_ACTIONS: &[&str] = &["cancel", "refund"];
/// What happened to one SAF delivery attempt (`Disposition::label`).
pub const SAF_DELIVERY_OUTCOMES: &[&str] = &[
    "settled",
    "obsolete",
    "deferred",
    "retried",
    "dead_lettered",
];
/// Antom's answer to a cancel, folded into a few classes (`cancel_result_label`).
pub const CANCEL_RESULTS: &[&str] = &[
    "success",
    "unknown",
    "order_not_exist",
    "cancel_window_exceed",
    "order_status_invalid",
    "process_fail",
    "other_failure",
];
/// What the deadline sweeper did with one overdue transaction (`action` label).
pub const SWEEPER_ACTIONS: &[&str] = &[
    "cancel_queued",
    "refund_queued",
    "cleared",
    "settled_by_inquiry",
    "unchanged",
    "failed",
];

/// Every metric of the reversal engine (see docs/metrics.md).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::counter(
        SAF_DELIVERIES_TOTAL,
        "SAF delivery attempts handled, by action and outcome.",
    )
    .labels(&[
        label("action", SAF_ACTIONS),
        label("outcome", SAF_DELIVERY_OUTCOMES),
    ]),
    MetricSpec::counter(
        SAF_RETRIES_TOTAL,
        "SAF entries rescheduled after an unsettled attempt, by action.",
    )
    .labels(&[label("action", SAF_ACTIONS)]),
    MetricSpec::counter(
        SAF_DEAD_LETTERS_TOTAL,
        "SAF entries given up and moved to the dead-letter stream, by action.",
    )
    .labels(&[label("action", SAF_ACTIONS)]),
    MetricSpec::counter(
        CANCEL_OUTCOMES_TOTAL,
        "Antom answers to cancel calls, by result class.",
    )
    .labels(&[label("result", CANCEL_RESULTS)]),
    MetricSpec::counter(
        REFUND_FALLBACKS_TOTAL,
        "Cancels refused with CANCEL_WINDOW_EXCEED and replaced by a full refund.",
    ),
    MetricSpec::counter(
        SETUP_ERRORS_TOTAL,
        "Antom refusals that point at our own set-up (keys, access); the entry stays queued.",
    ),
    MetricSpec::counter(
        SWEEPER_ACTIONS_TOTAL,
        "What the gateway-deadline sweeper did per overdue transaction.",
    )
    .labels(&[label("action", SWEEPER_ACTIONS)]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declarations_are_well_formed() {
        assert_eq!(asw_metrics::problems(METRICS), Vec::<String>::new());
    }
}
