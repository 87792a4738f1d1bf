//! The metric catalogue of the whole switch, and its registration at start-up.
//!
//! Every crate emits its own metrics through the `metrics` facade; this module is the one place
//! that knows all of them. [`register_all`] gives each metric its description and unit and
//! creates every bounded label combination at zero, so that dashboards and alert rules see the
//! series (and `rate()`/`increase()` work) before the first event. [`CATALOGUE`] lists each
//! metric with its type, unit and the closed set of values each label may take; the
//! observability end-to-end test checks the live `/metrics` output against it, and
//! `docs/metrics.md` is its prose version.
//!
//! Names follow `antom_switch_<subsystem>_<name>_<unit>[_total]`; durations are in seconds.
//! Labels never carry terminal ids, STANs, payment ids or error text.

use std::sync::Once;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

/// What kind of series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic count (name ends in `_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations in buckets (exposed as `_bucket`, `_sum`, `_count`).
    Histogram,
}

/// One label of a metric and every value it may take.
#[derive(Debug, Clone, Copy)]
pub struct LabelSpec {
    /// Label name.
    pub name: &'static str,
    /// The closed set of values.
    pub values: &'static [&'static str],
}

/// One metric of the switch.
#[derive(Debug, Clone, Copy)]
pub struct MetricSpec {
    /// Full metric name as exposed (histograms without their suffixes).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Unit, when the value has one.
    pub unit: Option<Unit>,
    /// The crate that emits it.
    pub emitted_by: &'static str,
    /// One line on what it counts or measures.
    pub help: &'static str,
    /// Labels and their allowed values.
    pub labels: &'static [LabelSpec],
}

impl MetricSpec {
    /// The allowed values of `label`, if the metric has that label.
    pub fn allowed(&self, label: &str) -> Option<&'static [&'static str]> {
        self.labels
            .iter()
            .find(|l| l.name == label)
            .map(|l| l.values)
    }
}

/// Looks a metric up by its exposed name (histogram suffixes `_bucket`, `_sum`, `_count` are
/// stripped when the base name is a histogram).
pub fn find(exposed_name: &str) -> Option<&'static MetricSpec> {
    if let Some(spec) = CATALOGUE.iter().find(|m| m.name == exposed_name) {
        return Some(spec);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = exposed_name.strip_suffix(suffix)?;
        CATALOGUE
            .iter()
            .find(|m| m.name == base && m.kind == MetricKind::Histogram)
    })
}

// ---- label value sets -------------------------------------------------------------------

/// Flows of the core (`flow` label).
pub const FLOWS: &[&str] = &[
    "purchase", "reversal", "advice", "void", "refund", "inquiry",
];
/// Outcome classes of a terminal transaction.
pub const OUTCOME_CLASSES: &[&str] = &["approved", "declined", "timed_out", "rejected"];
/// How an Unknown pay outcome ended.
pub const UNKNOWN_RESOLUTIONS: &[&str] = &["approved", "declined", "cancelled"];
/// Where the core met a store failure.
pub const CORE_STORE_FAILURE_FLOWS: &[&str] = &[
    "purchase", "settle", "reversal", "void", "refund", "inquiry",
];
/// Journal event names (the core's `Event::name`).
pub const EVENTS: &[&str] = asw_core::state::Event::NAMES;
/// Antom APIs (`asw_antom::Api::label`).
pub const APIS: &[&str] = &[
    "pay",
    "inquiry_payment",
    "cancel",
    "refund",
    "inquiry_refund",
];
/// Antom's result status.
pub const RESULT_STATUSES: &[&str] = &["S", "F", "U"];
/// Message direction on the terminal side.
pub const DIRECTIONS: &[&str] = &["in", "out"];
/// MTIs the downstream labels by name (anything else is `other`).
pub const MTIS: &[&str] = &[
    "0100", "0110", "0200", "0210", "0220", "0230", "0400", "0401", "0410", "0420", "0421", "0430",
    "0500", "0510", "0800", "0810", "other",
];
/// Response codes (field 39) the downstream labels by name: the ISO 8583:1987 list, `none`
/// for requests and `other` for anything outside the list.
pub const RESPONSE_CODES: &[&str] = &[
    "00", "01", "02", "03", "04", "05", "06", "09", "10", "12", "13", "14", "15", "19", "21", "25",
    "30", "40", "51", "54", "55", "57", "58", "61", "62", "63", "65", "68", "75", "76", "77", "78",
    "90", "91", "92", "94", "95", "96", "98", "99", "none", "other",
];
/// How a connection attempt ended.
pub const CONNECTION_RESULTS: &[&str] = &[
    "accepted",
    "rejected_global_limit",
    "rejected_ip_limit",
    "tls_handshake_failed",
];
/// Why a frame was rejected (`asw_downstream::metrics::RejectReason`).
pub const FRAME_REJECT_REASONS: &[&str] = &[
    "bad_length_header",
    "too_large",
    "tpdu_truncated",
    "read_timeout",
    "format_error",
    "unreadable",
    "unsupported_mti",
    "unexpected_mti",
];
/// Why a message was refused for its claimed terminal (`asw_downstream::Refusal`).
pub const IDENTITY_REFUSAL_REASONS: &[&str] = &[
    "certificate_mismatch",
    "network_not_allowed",
    "terminal_switched",
    "not_carried",
];
/// SAF actions.
pub const SAF_ACTIONS: &[&str] = &["cancel", "refund"];
/// What happened to one SAF delivery attempt.
pub const SAF_DELIVERY_OUTCOMES: &[&str] = &[
    "settled",
    "obsolete",
    "deferred",
    "retried",
    "dead_lettered",
];
/// Antom's answer to a cancel, folded into a few classes.
pub const CANCEL_RESULTS: &[&str] = &[
    "success",
    "unknown",
    "order_not_exist",
    "cancel_window_exceed",
    "order_status_invalid",
    "process_fail",
    "other_failure",
];
/// What the deadline sweeper did with one overdue transaction.
pub const SWEEPER_ACTIONS: &[&str] = &[
    "cancel_queued",
    "refund_queued",
    "cleared",
    "unchanged",
    "failed",
];
/// Redis operations of the store (`op` label).
pub const STORE_OPS: &[&str] = &[
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
    "saf_replay",
    "saf_list",
    "saf_dead_list",
    "txn_audit",
    "ping",
    "group_create",
    "script_load",
    "info",
    "config_get",
];
/// Store operations on the payment path, whose error series are created at zero.
const STORE_HOT_OPS: &[&str] = &[
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
    "ping",
];
/// Store error classes.
pub const STORE_ERROR_KINDS: &[&str] = &["unavailable", "indeterminate", "corrupt"];
/// Compare-and-set results.
pub const CAS_OUTCOMES: &[&str] = &["committed", "conflict"];

// ---- the catalogue ------------------------------------------------------------------------

const fn label(name: &'static str, values: &'static [&'static str]) -> LabelSpec {
    LabelSpec { name, values }
}

/// Every metric the switch exposes.
pub const CATALOGUE: &[MetricSpec] = &[
    // downstream (asw-downstream)
    MetricSpec {
        name: asw_downstream::metrics::MESSAGES_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-downstream",
        help: "ISO 8583 messages read from and written to terminals, by direction, MTI and response code (out only).",
        labels: &[
            label("direction", DIRECTIONS),
            label("mti", MTIS),
            label("response_code", RESPONSE_CODES),
        ],
    },
    MetricSpec {
        name: asw_downstream::metrics::CONNECTIONS_OPEN,
        kind: MetricKind::Gauge,
        unit: None,
        emitted_by: "asw-downstream",
        help: "Terminal connections currently open.",
        labels: &[],
    },
    MetricSpec {
        name: asw_downstream::metrics::CONNECTIONS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-downstream",
        help: "Terminal connection attempts, by result (accepted or rejected and why).",
        labels: &[label("result", CONNECTION_RESULTS)],
    },
    MetricSpec {
        name: asw_downstream::metrics::FRAMES_REJECTED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-downstream",
        help: "Frames or messages from terminals not processed normally, by reason.",
        labels: &[label("reason", FRAME_REJECT_REASONS)],
    },
    MetricSpec {
        name: asw_downstream::metrics::IDENTITY_REFUSED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-downstream",
        help: "Messages refused with 63 because the connection may not speak for the terminal they claim, by reason.",
        labels: &[label("reason", IDENTITY_REFUSAL_REASONS)],
    },
    MetricSpec {
        name: asw_downstream::metrics::KEEPALIVES_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-downstream",
        help: "Zero-length keep-alive frames echoed to terminals.",
        labels: &[],
    },
    // core (asw-core)
    MetricSpec {
        name: asw_core::flows::metric::TRANSACTIONS,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-core",
        help: "Terminal transactions answered, by flow and outcome class.",
        labels: &[label("flow", FLOWS), label("outcome", OUTCOME_CLASSES)],
    },
    MetricSpec {
        name: asw_core::flows::metric::LATENCY,
        kind: MetricKind::Histogram,
        unit: Some(Unit::Seconds),
        emitted_by: "asw-core",
        help: "End-to-end time from the request read to the answer handed to the terminal, by flow.",
        labels: &[label("flow", FLOWS)],
    },
    MetricSpec {
        name: asw_core::flows::metric::IN_FLIGHT,
        kind: MetricKind::Gauge,
        unit: None,
        emitted_by: "asw-core",
        help: "Terminal transactions being processed now, by flow.",
        labels: &[label("flow", FLOWS)],
    },
    MetricSpec {
        name: asw_core::flows::metric::UNKNOWN_RESOLVED,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-core",
        help: "Pay calls whose outcome was Unknown, by how they ended (approved, declined, cancelled).",
        labels: &[label("resolution", UNKNOWN_RESOLUTIONS)],
    },
    MetricSpec {
        name: asw_core::flows::metric::ILLEGAL,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-core",
        help: "Events the state table refused for the record's state, by event.",
        labels: &[label("event", EVENTS)],
    },
    MetricSpec {
        name: asw_core::flows::metric::STORE_FAILURES,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-core",
        help: "Journal failures seen by the core, by where they happened.",
        labels: &[label("flow", CORE_STORE_FAILURE_FLOWS)],
    },
    MetricSpec {
        name: asw_core::flows::metric::OUT_OF_SCOPE,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-core",
        help: "Voids, refunds and status inquiries that named a payment outside the sender's follow-up scope (answered as unknown).",
        labels: &[],
    },
    MetricSpec {
        name: "antom_switch_core_unreversible_reversals_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-core",
        help: "Reversals of a void or refund, acknowledged without action (reconcile by hand).",
        labels: &[],
    },
    // upstream (asw-upstream)
    MetricSpec {
        name: asw_upstream::metrics::REQUEST_DURATION_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(Unit::Seconds),
        emitted_by: "asw-upstream",
        help: "Antom API call duration, from send to classified answer, by API and result status.",
        labels: &[label("api", APIS), label("result", RESULT_STATUSES)],
    },
    MetricSpec {
        name: asw_upstream::metrics::REQUESTS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-upstream",
        help: "Antom API calls, by API and result status (S, F, U; a timeout or bad answer is U).",
        labels: &[label("api", APIS), label("result", RESULT_STATUSES)],
    },
    MetricSpec {
        name: asw_upstream::metrics::SIGNATURE_FAILURES_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-upstream",
        help: "Antom answers not trusted because their signature was missing or wrong, by API.",
        labels: &[label("api", APIS)],
    },
    // webhook and admin (asw-app)
    MetricSpec {
        name: crate::webhook::METRIC_NOTIFICATIONS,
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-app",
        help: "notifyPayment requests received, by what the receiver did with them.",
        labels: &[label("outcome", &crate::webhook::OUTCOMES)],
    },
    MetricSpec {
        name: crate::admin::METRIC_READY,
        kind: MetricKind::Gauge,
        unit: None,
        emitted_by: "asw-app",
        help: "1 when the instance takes traffic (Redis reachable, consumers running, not draining).",
        labels: &[],
    },
    // reversal engine (asw-reversal)
    MetricSpec {
        name: "antom_switch_saf_deliveries_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-reversal",
        help: "SAF delivery attempts handled, by action and outcome.",
        labels: &[
            label("action", SAF_ACTIONS),
            label("outcome", SAF_DELIVERY_OUTCOMES),
        ],
    },
    MetricSpec {
        name: "antom_switch_saf_retries_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-reversal",
        help: "SAF entries rescheduled after an unsettled attempt, by action.",
        labels: &[label("action", SAF_ACTIONS)],
    },
    MetricSpec {
        name: "antom_switch_saf_dead_letters_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-reversal",
        help: "SAF entries given up and moved to the dead-letter stream, by action.",
        labels: &[label("action", SAF_ACTIONS)],
    },
    MetricSpec {
        name: "antom_switch_reversal_cancel_outcomes_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-reversal",
        help: "Antom answers to cancel calls, by result class.",
        labels: &[label("result", CANCEL_RESULTS)],
    },
    MetricSpec {
        name: "antom_switch_reversal_refund_fallbacks_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-reversal",
        help: "Cancels refused with CANCEL_WINDOW_EXCEED and replaced by a full refund.",
        labels: &[],
    },
    MetricSpec {
        name: "antom_switch_reversal_setup_errors_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-reversal",
        help: "Antom refusals that point at our own set-up (keys, access); the entry stays queued.",
        labels: &[],
    },
    MetricSpec {
        name: "antom_switch_sweeper_actions_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-reversal",
        help: "What the gateway-deadline sweeper did per overdue transaction.",
        labels: &[label("action", SWEEPER_ACTIONS)],
    },
    // store (asw-store)
    MetricSpec {
        name: "antom_switch_saf_depth",
        kind: MetricKind::Gauge,
        unit: None,
        emitted_by: "asw-store",
        help: "SAF entries not yet acknowledged (ready, in flight or waiting for a retry).",
        labels: &[],
    },
    MetricSpec {
        name: "antom_switch_saf_oldest_age_seconds",
        kind: MetricKind::Gauge,
        unit: Some(Unit::Seconds),
        emitted_by: "asw-store",
        help: "Age of the oldest unacknowledged SAF entry (0 when the queue is empty).",
        labels: &[],
    },
    MetricSpec {
        name: "antom_switch_saf_dead_letters",
        kind: MetricKind::Gauge,
        unit: None,
        emitted_by: "asw-store",
        help: "Entries currently in the SAF dead-letter stream.",
        labels: &[],
    },
    MetricSpec {
        name: "antom_switch_store_command_duration_seconds",
        kind: MetricKind::Histogram,
        unit: Some(Unit::Seconds),
        emitted_by: "asw-store",
        help: "Duration of one Redis command or script, by operation.",
        labels: &[label("op", STORE_OPS)],
    },
    MetricSpec {
        name: "antom_switch_store_errors_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-store",
        help: "Failed Redis operations, by operation and kind (unavailable, indeterminate, corrupt).",
        labels: &[label("op", STORE_OPS), label("kind", STORE_ERROR_KINDS)],
    },
    MetricSpec {
        name: "antom_switch_state_transitions_total",
        kind: MetricKind::Counter,
        unit: None,
        emitted_by: "asw-store",
        help: "Journal compare-and-set commits, by event and outcome (committed, conflict).",
        labels: &[label("event", EVENTS), label("outcome", CAS_OUTCOMES)],
    },
];

/// Names that predate the naming rule and are kept for compatibility; see docs/metrics.md.
pub const NAMING_EXCEPTIONS: &[&str] = &[
    // No subsystem: one process-wide readiness flag, named by the operations brief.
    "antom_switch_ready",
    // Emitted by the store; its subsystem should read `store`.
    "antom_switch_state_transitions_total",
];

static REGISTERED: Once = Once::new();

/// Describes every metric and creates every bounded label combination at zero. Call once at
/// start-up, after the recorder is installed; later calls do nothing.
///
/// Gauges are created with `increment(0.0)`, not `set(0.0)`: several switches may share one
/// process (the end-to-end tests), and resetting a live in-flight gauge would skew it.
pub fn register_all() {
    REGISTERED.call_once(|| {
        for spec in CATALOGUE {
            describe(spec);
        }
        create_series();
    });
}

fn describe(spec: &MetricSpec) {
    let (name, help) = (spec.name, spec.help);
    match (spec.kind, spec.unit) {
        (MetricKind::Counter, Some(unit)) => describe_counter!(name, unit, help),
        (MetricKind::Counter, None) => describe_counter!(name, help),
        (MetricKind::Gauge, Some(unit)) => describe_gauge!(name, unit, help),
        (MetricKind::Gauge, None) => describe_gauge!(name, help),
        (MetricKind::Histogram, Some(unit)) => describe_histogram!(name, unit, help),
        (MetricKind::Histogram, None) => describe_histogram!(name, help),
    }
}

/// Creates the zero-valued series. Histograms are left alone: a zero observation would be a
/// false data point, and `histogram_quantile` over an absent series is simply empty.
fn create_series() {
    use asw_core::flows::metric as core;
    use asw_downstream::metrics as down;
    use asw_upstream::metrics as up;

    // Downstream: connections, rejects and keep-alives.
    asw_downstream::metrics::describe();
    // Requests in, and every response MTI with every code the core can answer.
    for mti in [
        "0100", "0200", "0220", "0400", "0401", "0420", "0421", "0500", "0800",
    ] {
        counter!(down::MESSAGES_TOTAL, "direction" => "in", "mti" => mti, "response_code" => "none")
            .increment(0);
    }
    for mti in ["0110", "0210", "0230", "0410", "0430", "0510", "0810"] {
        for code in asw_front_iso::response_code::ALL {
            counter!(down::MESSAGES_TOTAL, "direction" => "out", "mti" => mti, "response_code" => code)
                .increment(0);
        }
        // The downstream's own refusal (identity): never a core code, but on every answer MTI.
        counter!(down::MESSAGES_TOTAL, "direction" => "out", "mti" => mti, "response_code" => "63")
            .increment(0);
    }

    for flow in FLOWS {
        for outcome in OUTCOME_CLASSES {
            counter!(core::TRANSACTIONS, "flow" => *flow, "outcome" => *outcome).increment(0);
        }
        gauge!(core::IN_FLIGHT, "flow" => *flow).increment(0.0);
    }
    for resolution in UNKNOWN_RESOLUTIONS {
        counter!(core::UNKNOWN_RESOLVED, "resolution" => *resolution).increment(0);
    }
    for event in EVENTS {
        counter!(core::ILLEGAL, "event" => *event).increment(0);
        for outcome in CAS_OUTCOMES {
            counter!("antom_switch_state_transitions_total", "event" => *event, "outcome" => *outcome)
                .increment(0);
        }
    }
    for flow in CORE_STORE_FAILURE_FLOWS {
        counter!(core::STORE_FAILURES, "flow" => *flow).increment(0);
    }
    counter!("antom_switch_core_unreversible_reversals_total").increment(0);
    counter!(core::OUT_OF_SCOPE).increment(0);

    for api in asw_antom::Api::ALL {
        for result in RESULT_STATUSES {
            counter!(up::REQUESTS_TOTAL, "api" => api.label(), "result" => *result).increment(0);
        }
        counter!(up::SIGNATURE_FAILURES_TOTAL, "api" => api.label()).increment(0);
    }

    for outcome in crate::webhook::OUTCOMES {
        counter!(crate::webhook::METRIC_NOTIFICATIONS, "outcome" => outcome).increment(0);
    }
    gauge!(crate::admin::METRIC_READY).increment(0.0);

    for action in SAF_ACTIONS {
        for outcome in SAF_DELIVERY_OUTCOMES {
            counter!("antom_switch_saf_deliveries_total", "action" => *action, "outcome" => *outcome)
                .increment(0);
        }
        counter!("antom_switch_saf_retries_total", "action" => *action).increment(0);
        counter!("antom_switch_saf_dead_letters_total", "action" => *action).increment(0);
    }
    for result in CANCEL_RESULTS {
        counter!("antom_switch_reversal_cancel_outcomes_total", "result" => *result).increment(0);
    }
    counter!("antom_switch_reversal_refund_fallbacks_total").increment(0);
    counter!("antom_switch_reversal_setup_errors_total").increment(0);
    for action in SWEEPER_ACTIONS {
        counter!("antom_switch_sweeper_actions_total", "action" => *action).increment(0);
    }

    for name in [
        "antom_switch_saf_depth",
        "antom_switch_saf_oldest_age_seconds",
        "antom_switch_saf_dead_letters",
    ] {
        gauge!(name).increment(0.0);
    }
    for op in STORE_HOT_OPS {
        for kind in STORE_ERROR_KINDS {
            counter!("antom_switch_store_errors_total", "op" => *op, "kind" => *kind).increment(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_suffix(unit: Unit) -> &'static str {
        match unit {
            Unit::Seconds => "_seconds",
            Unit::Bytes => "_bytes",
            _ => "",
        }
    }

    #[test]
    fn names_follow_the_convention() {
        for spec in CATALOGUE {
            if NAMING_EXCEPTIONS.contains(&spec.name) {
                continue;
            }
            let rest = spec
                .name
                .strip_prefix("antom_switch_")
                .unwrap_or_else(|| panic!("{} lacks the prefix", spec.name));
            let subsystem = rest.split('_').next().unwrap_or_default();
            assert!(
                [
                    "downstream",
                    "core",
                    "upstream",
                    "webhook",
                    "saf",
                    "reversal",
                    "sweeper",
                    "store"
                ]
                .contains(&subsystem),
                "{}: unknown subsystem {subsystem}",
                spec.name
            );
            match spec.kind {
                MetricKind::Counter => assert!(spec.name.ends_with("_total"), "{}", spec.name),
                MetricKind::Gauge | MetricKind::Histogram => {
                    assert!(!spec.name.ends_with("_total"), "{}", spec.name)
                }
            }
            if let Some(unit) = spec.unit {
                let base = spec.name.trim_end_matches("_total");
                assert!(
                    base.ends_with(unit_suffix(unit)),
                    "{}: unit not in name",
                    spec.name
                );
            }
            let words: Vec<&str> = spec.name.split('_').collect();
            if words.contains(&"duration") || words.contains(&"age") {
                assert_eq!(spec.unit, Some(Unit::Seconds), "{}", spec.name);
            }
        }
    }

    #[test]
    fn names_are_unique_and_labels_bounded() {
        let mut names: Vec<_> = CATALOGUE.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        for spec in CATALOGUE {
            for label in spec.labels {
                assert!(!label.values.is_empty(), "{}/{}", spec.name, label.name);
                assert!(label.values.len() <= 64, "{}/{}", spec.name, label.name);
                for forbidden in ["terminal_id", "stan", "tid", "error", "payment_request_id"] {
                    assert_ne!(label.name, forbidden, "{}", spec.name);
                }
            }
        }
    }

    #[test]
    fn histogram_suffixes_resolve_to_their_base() {
        let latency = asw_core::flows::metric::LATENCY;
        assert_eq!(
            find(&format!("{latency}_bucket")).map(|m| m.name),
            Some(latency)
        );
        assert_eq!(
            find(&format!("{latency}_count")).map(|m| m.name),
            Some(latency)
        );
        assert!(find("antom_switch_saf_depth_count").is_none());
        assert!(find("antom_switch_core_transactions_total").is_some());
    }

    #[test]
    fn the_written_spec_lists_every_metric() {
        let doc = include_str!("../../../docs/metrics.md");
        for spec in CATALOGUE {
            assert!(
                doc.contains(&format!("`{}`", spec.name)),
                "docs/metrics.md does not list {}",
                spec.name
            );
        }
    }

    #[test]
    fn the_label_sets_match_the_emitting_crates() {
        let apis: Vec<_> = asw_antom::Api::ALL.iter().map(|a| a.label()).collect();
        assert_eq!(apis, APIS);
        let reasons: Vec<_> = asw_downstream::metrics::RejectReason::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        assert_eq!(reasons, FRAME_REJECT_REASONS);
        let refusals: Vec<_> = asw_downstream::Refusal::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        assert_eq!(refusals, IDENTITY_REFUSAL_REASONS);
        for code in asw_front_iso::response_code::ALL {
            assert!(RESPONSE_CODES.contains(&code), "{code}");
        }
        for code in asw_front_iso::response_code::ALL {
            assert_eq!(
                asw_downstream::metrics::response_code_label(Some(code.as_bytes())),
                code
            );
        }
    }
}
