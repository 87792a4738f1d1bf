//! The store's metrics: descriptions and label sets created at zero, so dashboards and alerts
//! see every series from the start.

/// Registers descriptions and zero-valued series of the store's metrics. Call once at start-up,
/// after the recorder is installed.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        "antom_switch_store_command_duration_seconds",
        metrics::Unit::Seconds,
        "Duration of one Redis command or script, by operation."
    );
    metrics::describe_counter!(
        "antom_switch_store_errors_total",
        "Failed store operations by operation and kind (unavailable, indeterminate, corrupt)."
    );
    metrics::describe_counter!(
        "antom_switch_state_transitions_total",
        "Compare-and-set commits by event and outcome (committed, conflict)."
    );
    metrics::describe_gauge!(
        "antom_switch_saf_depth",
        "SAF entries not yet acknowledged (ready, in flight, delayed)."
    );
    metrics::describe_gauge!(
        "antom_switch_saf_oldest_age_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest unacknowledged SAF entry."
    );
    metrics::describe_gauge!(
        "antom_switch_saf_dead_letters",
        "Entries in the SAF dead-letter stream."
    );
    for op in [
        "begin",
        "commit",
        "reverse_unseen",
        "load",
        "saf_read",
        "saf_ack",
        "saf_retry",
    ] {
        for kind in ["unavailable", "indeterminate", "corrupt"] {
            metrics::counter!("antom_switch_store_errors_total", "op" => op, "kind" => kind)
                .absolute(0);
        }
    }
    for &event in asw_core::state::Event::NAMES {
        for outcome in ["committed", "conflict"] {
            metrics::counter!("antom_switch_state_transitions_total", "event" => event, "outcome" => outcome).absolute(0);
        }
    }
    metrics::gauge!("antom_switch_saf_depth").set(0.0);
    metrics::gauge!("antom_switch_saf_oldest_age_seconds").set(0.0);
    metrics::gauge!("antom_switch_saf_dead_letters").set(0.0);
}
