//! The store's metrics, declared once: the names its emitters use and their declarations
//! ([`METRICS`], registered by the binary at start-up), with their bounded label values.

use asw_metrics::{MetricSpec, Zero, label};
use metrics::Unit;

/// Gauge: SAF entries not yet acknowledged.
pub const SAF_DEPTH: &str = "antom_switch_saf_depth";
/// Gauge: age of the oldest unacknowledged SAF entry.
pub const SAF_OLDEST_AGE_SECONDS: &str = "antom_switch_saf_oldest_age_seconds";
/// Gauge: entries in the SAF dead-letter stream.
pub const SAF_DEAD_LETTERS: &str = "antom_switch_saf_dead_letters";
/// Histogram: duration of one Redis command or script, by `op`.
pub const COMMAND_DURATION_SECONDS: &str = "antom_switch_store_command_duration_seconds";
/// Counter: failed Redis operations, by `op` and `kind`.
pub const ERRORS_TOTAL: &str = "antom_switch_store_errors_total";
/// Counter: journal compare-and-set commits, by `event` and `outcome`. Its name predates the
/// naming rule (it would be `antom_switch_store_state_transitions_total`); renaming it would
/// break dashboards, see docs/metrics.md.
pub const STATE_TRANSITIONS_TOTAL: &str = "antom_switch_state_transitions_total";
/// Counter: times the store followed a Sentinel group's master to another node.
pub const MASTER_CHANGES_TOTAL: &str = "antom_switch_store_master_changes_total";

/// Counter: times the store replaced its Redis Cluster connection (re-reading the topology).
pub const RECONNECTS_TOTAL: &str = "antom_switch_store_cluster_reconnects_total";

/// Redis operations of the store (`op` label).
pub const OPS: &[&str] = &[
    "begin",
    "commit",
    "reverse_unseen",
    "due_for_sweep",
    "load",
    "load_confirmed",
    "load_dedup",
    "saf_read",
    "saf_ack",
    "saf_retry",
    "saf_promote",
    "saf_dead_letter",
    "saf_claim",
    "saf_stats",
    "saf_replay",
    "saf_list",
    "saf_dead_list",
    "saf_release",
    "response_load",
    "response_save",
    "order_attempts",
    "merchant_payments",
    "outbox_read",
    "outbox_ack",
    "outbox_retry",
    "outbox_promote",
    "outbox_dead_letter",
    "outbox_claim",
    "outbox_stats",
    "outbox_list",
    "outbox_dead_list",
    "outbox_replay",
    "txn_audit",
    "ping",
    "group_create",
    "script_load",
    "info",
    "config_get",
];
/// The operations on the payment path, whose error series are created at zero (the others are
/// operator tools and start-up checks, where an alert on the first error is not wanted).
pub const HOT_OPS: &[&str] = &[
    "begin",
    "commit",
    "reverse_unseen",
    "due_for_sweep",
    "load",
    "load_dedup",
    "saf_read",
    "saf_ack",
    "saf_retry",
    "saf_promote",
    "saf_dead_letter",
    "saf_claim",
    "saf_stats",
    "response_load",
    "response_save",
    "outbox_read",
    "outbox_ack",
    "outbox_retry",
    "outbox_promote",
    "outbox_dead_letter",
    "ping",
];
/// Store error classes (`kind` label).
pub const ERROR_KINDS: &[&str] = &["unavailable", "indeterminate", "corrupt"];
/// Compare-and-set results (`outcome` label of [`STATE_TRANSITIONS_TOTAL`]).
pub const CAS_OUTCOMES: &[&str] = &["committed", "conflict"];

/// Every metric of the store (see docs/metrics.md).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::gauge(
        SAF_DEPTH,
        "SAF entries not yet acknowledged (ready, in flight or waiting for a retry).",
    ),
    MetricSpec::gauge(
        SAF_OLDEST_AGE_SECONDS,
        "Age of the oldest unacknowledged SAF entry (0 when the queue is empty).",
    )
    .unit(Unit::Seconds),
    MetricSpec::gauge(
        SAF_DEAD_LETTERS,
        "Entries currently in the SAF dead-letter stream.",
    ),
    MetricSpec::histogram(
        COMMAND_DURATION_SECONDS,
        "Duration of one Redis command or script, by operation.",
    )
    .unit(Unit::Seconds)
    .labels(&[label("op", OPS)]),
    MetricSpec::counter(
        ERRORS_TOTAL,
        "Failed Redis operations, by operation and kind (unavailable, indeterminate, corrupt).",
    )
    .labels(&[label("op", OPS), label("kind", ERROR_KINDS)])
    .zero(Zero::Only(&[&[
        label("op", HOT_OPS),
        label("kind", ERROR_KINDS),
    ]])),
    MetricSpec::counter(
        STATE_TRANSITIONS_TOTAL,
        "Journal compare-and-set commits, by event and outcome (committed, conflict).",
    )
    .labels(&[
        label("event", asw_core::state::Event::NAMES),
        label("outcome", CAS_OUTCOMES),
    ]),
    MetricSpec::counter(
        RECONNECTS_TOTAL,
        "Times the store replaced its Redis Cluster connection after timeouts or topology errors.",
    ),
    MetricSpec::counter(
        MASTER_CHANGES_TOTAL,
        "Times the store followed its Sentinel group's master to another node.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declarations_are_well_formed() {
        assert_eq!(asw_metrics::problems(METRICS), Vec::<String>::new());
    }
}
