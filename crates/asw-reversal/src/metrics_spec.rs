//! The engine's metrics: descriptions and label sets created at zero.

/// Registers descriptions and zero-valued series of the engine's metrics. Call once at
/// start-up, after the recorder is installed.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "antom_switch_saf_deliveries_total",
        "SAF entries handled, by action and outcome."
    );
    metrics::describe_counter!(
        "antom_switch_saf_retries_total",
        "SAF entries rescheduled after an unsettled attempt."
    );
    metrics::describe_counter!(
        "antom_switch_saf_dead_letters_total",
        "SAF entries given up (alert on any increase)."
    );
    metrics::describe_counter!(
        "antom_switch_reversal_cancel_outcomes_total",
        "Antom cancel answers by result."
    );
    metrics::describe_counter!(
        "antom_switch_reversal_refund_fallbacks_total",
        "Cancels refused with CANCEL_WINDOW_EXCEED, replaced by a full refund."
    );
    metrics::describe_counter!(
        "antom_switch_reversal_setup_errors_total",
        "Antom refusals that point at our set-up (keys, access); kept in the queue."
    );
    metrics::describe_counter!(
        "antom_switch_sweeper_actions_total",
        "What the deadline sweeper did per transaction."
    );
    for action in ["cancel", "refund"] {
        for outcome in [
            "settled",
            "obsolete",
            "deferred",
            "retried",
            "dead_lettered",
        ] {
            metrics::counter!("antom_switch_saf_deliveries_total", "action" => action, "outcome" => outcome).absolute(0);
        }
        metrics::counter!("antom_switch_saf_retries_total", "action" => action).absolute(0);
        metrics::counter!("antom_switch_saf_dead_letters_total", "action" => action).absolute(0);
    }
    for result in [
        "success",
        "unknown",
        "order_not_exist",
        "cancel_window_exceed",
        "order_status_invalid",
        "process_fail",
        "other_failure",
    ] {
        metrics::counter!("antom_switch_reversal_cancel_outcomes_total", "result" => result)
            .absolute(0);
    }
    metrics::counter!("antom_switch_reversal_refund_fallbacks_total").absolute(0);
    metrics::counter!("antom_switch_reversal_setup_errors_total").absolute(0);
    for action in [
        "cancel_queued",
        "refund_queued",
        "cleared",
        "unchanged",
        "failed",
    ] {
        metrics::counter!("antom_switch_sweeper_actions_total", "action" => action).absolute(0);
    }
}
