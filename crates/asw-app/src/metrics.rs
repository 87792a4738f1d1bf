//! The app's own metrics, and the registration of every crate's metrics at start-up.
//!
//! Each emitting crate declares its metrics once, in its `src/metrics.rs`, beside the code
//! that emits them: the name constants its emitters use and `METRICS`, a list of
//! [`MetricSpec`] (kind, unit, help, labels and their closed value sets, which series start at
//! zero). This module declares the app's own (webhook, readiness) the same way, concatenates
//! every list into [`CATALOGUE`] and, in [`register_all`], describes each metric (so `/metrics`
//! carries `# HELP` and `# TYPE`) and creates the bounded label sets at zero, so dashboards and
//! alert rules see the series (and `rate()`/`increase()` work) before the first event. The
//! observability end-to-end test checks the live `/metrics` output against the catalogue, and
//! `docs/metrics.md` is its prose version.
//!
//! Names follow `antom_switch_<subsystem>_<name>_<unit>[_total]`; durations are in seconds.
//! Labels never carry terminal ids, STANs, payment ids or error text.

use std::sync::Once;

use asw_metrics::label;
pub use asw_metrics::{LabelSpec, MetricKind, MetricSpec, Zero};

// ---- the app's own metrics ------------------------------------------------------------------

/// Counter: notifyPayment requests received, by `outcome` ([`crate::webhook::OUTCOMES`]).
pub const WEBHOOK_NOTIFICATIONS_TOTAL: &str = "antom_switch_webhook_notifications_total";
/// Gauge: 1 when the instance is ready to take traffic.
pub const READY: &str = "antom_switch_ready";

/// Every metric the app itself emits (see docs/metrics.md).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::counter(
        WEBHOOK_NOTIFICATIONS_TOTAL,
        "notifyPayment requests received, by what the receiver did with them.",
    )
    .labels(&[label("outcome", &crate::webhook::OUTCOMES)]),
    MetricSpec::gauge(
        READY,
        "1 when the instance takes traffic (Redis reachable, consumers running, not draining).",
    ),
];

// ---- registration -----------------------------------------------------------------------------

/// Every crate's declarations, in the order of the request path.
const CRATES: &[&[MetricSpec]] = &[
    asw_downstream::metrics::METRICS,
    asw_front_rest::metrics::METRICS,
    asw_core::metrics::METRICS,
    asw_upstream::metrics::METRICS,
    METRICS,
    asw_reversal::metrics::METRICS,
    asw_store::metrics::METRICS,
];

/// Every metric the switch exposes: the concatenation of every crate's declarations (built at
/// compile time, so tools and tests can read it without a recorder).
pub const CATALOGUE: &[MetricSpec] =
    &asw_metrics::concat::<{ asw_metrics::total_len(CRATES) }>(CRATES);

/// Looks a metric up by its exposed name (histogram suffixes `_bucket`, `_sum`, `_count` are
/// stripped when the base name is a histogram).
pub fn find(exposed_name: &str) -> Option<&'static MetricSpec> {
    asw_metrics::find(CATALOGUE, exposed_name)
}

/// Names that predate the naming rule and are kept for compatibility; see docs/metrics.md.
pub const NAMING_EXCEPTIONS: &[&str] = &[
    // No subsystem: one process-wide readiness flag, named by the operations brief.
    READY,
    // Emitted by the store; its subsystem should read `store`.
    asw_store::metrics::STATE_TRANSITIONS_TOTAL,
];

/// The answers the wired ISO front sends, on every answer MTI: created at zero on top of the
/// downstream's own. Only the binary knows which front sits behind the downstream adapter, so
/// this one zero set is composed here.
const FRONT_ANSWERS: &[LabelSpec] = &[
    label("direction", &["out"]),
    label("mti", asw_downstream::metrics::RESPONSE_MTIS),
    label("response_code", &asw_front_iso::response_code::ALL),
];

static REGISTERED: Once = Once::new();

/// Describes every metric and creates every bounded label combination at zero. Call once at
/// start-up, after the recorder is installed; later calls do nothing (several switches may
/// share one process in the end-to-end tests).
pub fn register_all() {
    REGISTERED.call_once(register);
}

fn register() {
    asw_metrics::register(CATALOGUE);
    if let Some(messages) = find(asw_downstream::metrics::MESSAGES_TOTAL) {
        asw_metrics::create_combinations(messages, FRONT_ANSWERS);
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn the_catalogue_is_well_formed_across_crates() {
        // Per-crate rules run in each crate too; across crates, this also catches a name
        // declared by two crates.
        assert_eq!(asw_metrics::problems(CATALOGUE), Vec::<String>::new());
        assert_eq!(
            CATALOGUE.len(),
            CRATES.iter().map(|c| c.len()).sum::<usize>()
        );
    }

    #[test]
    fn names_name_a_known_subsystem() {
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
                    "rest",
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
        }
    }

    #[test]
    fn histogram_suffixes_resolve_to_their_base() {
        let latency = asw_core::metrics::LATENCY;
        assert_eq!(
            find(&format!("{latency}_bucket")).map(|m| m.name),
            Some(latency)
        );
        assert_eq!(
            find(&format!("{latency}_count")).map(|m| m.name),
            Some(latency)
        );
        let depth = asw_store::metrics::SAF_DEPTH;
        assert!(find(&format!("{depth}_count")).is_none());
        assert!(find(asw_core::metrics::TRANSACTIONS).is_some());
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
    fn the_front_answers_are_labelled_by_name() {
        let messages = find(asw_downstream::metrics::MESSAGES_TOTAL).unwrap();
        // The zero set composed here obeys the same rules as a crate's own.
        let with_front = MetricSpec {
            zero: Zero::Only(&[FRONT_ANSWERS]),
            ..*messages
        };
        assert_eq!(asw_metrics::problems(&[with_front]), Vec::<String>::new());
        for code in asw_front_iso::response_code::ALL {
            assert_eq!(
                asw_downstream::metrics::response_code_label(Some(code.as_bytes())),
                code
            );
        }
    }

    #[test]
    fn registration_describes_every_metric_and_creates_its_series() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, register);
        let text = handle.render();
        for spec in CATALOGUE {
            // A histogram is exposed (with its help) from its first observation only.
            if spec.kind == MetricKind::Histogram {
                continue;
            }
            let kind = match spec.kind {
                MetricKind::Counter => "counter",
                _ => "gauge",
            };
            for line in [
                format!("# HELP {} {}", spec.name, spec.help),
                format!("# TYPE {} {kind}", spec.name),
            ] {
                assert!(text.lines().any(|l| l == line), "{line} missing");
            }
            assert!(
                text.lines()
                    .any(|l| l.starts_with(spec.name) && l.ends_with(" 0")),
                "{} has no series at zero",
                spec.name
            );
        }
        // The front's answers, composed here, exist next to the downstream's own.
        let messages = asw_downstream::metrics::MESSAGES_TOTAL;
        for code in ["00", "91", "63"] {
            let series =
                format!(r#"{messages}{{direction="out",mti="0210",response_code="{code}"}} 0"#);
            assert!(text.lines().any(|l| l == series), "{series} missing");
        }
    }

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// A metric name is written once, in its crate's `src/metrics.rs`; emitters use the
    /// constant. Tests (a crate's `tests/`, unit tests after `#[cfg(test)]`) may spell names
    /// out: they check what operators see.
    #[test]
    fn metric_names_are_written_only_in_the_declaration_files() {
        let root = workspace();
        let mut files = Vec::new();
        for parent in ["crates", "tools"] {
            for member in std::fs::read_dir(root.join(parent)).unwrap().flatten() {
                rust_files(&member.path().join("src"), &mut files);
            }
        }
        rust_files(&root.join("benches"), &mut files);
        assert!(
            files.len() > 50,
            "the walk found only {} files",
            files.len()
        );

        let mut offenders = Vec::new();
        for file in &files {
            let relative = file.strip_prefix(&root).unwrap_or(file);
            let is_declaration = file.file_name().is_some_and(|n| n == "metrics.rs")
                && file.parent().and_then(Path::file_name) == Some("src".as_ref());
            if is_declaration {
                continue;
            }
            let text = std::fs::read_to_string(file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                let mut rest = line;
                while let Some(at) = rest.find("\"antom_switch_") {
                    rest = &rest[at + "\"antom_switch_".len()..];
                    // The prefix alone (`"antom_switch_"`) is not a name.
                    if rest.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                        offenders.push(format!(
                            "{}:{}: {}",
                            relative.display(),
                            n + 1,
                            line.trim()
                        ));
                        break;
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "metric names written outside a crate's src/metrics.rs (use its constant):\n{}",
            offenders.join("\n")
        );
    }
}
