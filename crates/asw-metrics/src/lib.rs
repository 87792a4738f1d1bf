//! The shape of a metric declaration, shared by every crate that emits metrics, and the code
//! that registers declarations with the `metrics` recorder.
//!
//! Each emitting crate declares its metrics once, in its own `src/metrics.rs`, beside the code
//! that emits them (the style of vector's `internal_events`): one `const` per metric name, used
//! by the emitters, and `pub const METRICS: &[MetricSpec]` describing each one (kind, unit,
//! help, labels and the closed set of values each label may take). The binary concatenates
//! every crate's list ([`concat`]) and calls [`register`] once at start-up, so `/metrics` shows
//! `# HELP`/`# TYPE` for every metric and the bounded label sets exist at zero before the
//! first event.
//!
//! This crate is a leaf that depends only on the `metrics` facade: the emitting crates do not
//! share any other dependency (`asw-downstream` must not depend on the core), and the type must
//! not live in the binary, which depends on them.

mod handles;

pub use handles::{HandleCache, pin_to_global_recorder};

use metrics::{Label, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

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

/// One label of a metric and the values it may take (or, inside [`Zero::Only`], the values
/// whose series are created at zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSpec {
    /// Label name.
    pub name: &'static str,
    /// The closed set of values.
    pub values: &'static [&'static str],
}

/// Shorthand for a [`LabelSpec`], so declarations read as a table.
pub const fn label(name: &'static str, values: &'static [&'static str]) -> LabelSpec {
    LabelSpec { name, values }
}

/// Which series of a metric [`register`] creates at zero.
///
/// Series created at zero let `rate()`/`increase()` and "any increase" alerts work from the
/// first scrape; but creating every combination is not always right, hence the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zero {
    /// None: histograms (a zero observation would be a false data point) and metrics whose
    /// series should only appear when used.
    Never,
    /// Every combination of every label's allowed values (one series for a label-less metric).
    Every,
    /// The union of the combinations of each listed set. Each set names the metric's labels, in
    /// the metric's order, with a subset of their allowed values: for metrics where only some
    /// combinations can occur (a request MTI never carries a response code).
    Only(&'static [&'static [LabelSpec]]),
}

/// The declaration of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    /// Full metric name as exposed (histograms without their suffixes).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Unit, when the value has one.
    pub unit: Option<Unit>,
    /// One line on what it counts or measures (the `# HELP` text).
    pub help: &'static str,
    /// Labels, in the order the emitters pass them, and their allowed values.
    pub labels: &'static [LabelSpec],
    /// Which series are created at zero at start-up.
    pub zero: Zero,
}

impl MetricSpec {
    const fn new(kind: MetricKind, name: &'static str, help: &'static str, zero: Zero) -> Self {
        Self {
            name,
            kind,
            unit: None,
            help,
            labels: &[],
            zero,
        }
    }

    /// A counter without labels or unit, every series created at zero.
    pub const fn counter(name: &'static str, help: &'static str) -> Self {
        Self::new(MetricKind::Counter, name, help, Zero::Every)
    }

    /// A gauge without labels or unit, every series created at zero.
    pub const fn gauge(name: &'static str, help: &'static str) -> Self {
        Self::new(MetricKind::Gauge, name, help, Zero::Every)
    }

    /// A histogram without labels or unit, created by its first observation.
    pub const fn histogram(name: &'static str, help: &'static str) -> Self {
        Self::new(MetricKind::Histogram, name, help, Zero::Never)
    }

    /// The same declaration with a unit.
    pub const fn unit(mut self, unit: Unit) -> Self {
        self.unit = Some(unit);
        self
    }

    /// The same declaration with labels, in the order the emitters pass them.
    pub const fn labels(mut self, labels: &'static [LabelSpec]) -> Self {
        self.labels = labels;
        self
    }

    /// The same declaration with another choice of series created at zero.
    pub const fn zero(mut self, zero: Zero) -> Self {
        self.zero = zero;
        self
    }

    /// The allowed values of `label`, if the metric has that label.
    pub fn allowed(&self, label: &str) -> Option<&'static [&'static str]> {
        self.labels
            .iter()
            .find(|l| l.name == label)
            .map(|l| l.values)
    }
}

/// Looks a metric up by its exposed name: histogram suffixes `_bucket`, `_sum`, `_count` are
/// stripped when the base name is a histogram.
pub fn find<'a>(specs: &'a [MetricSpec], exposed_name: &str) -> Option<&'a MetricSpec> {
    if let Some(spec) = specs.iter().find(|m| m.name == exposed_name) {
        return Some(spec);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = exposed_name.strip_suffix(suffix)?;
        specs
            .iter()
            .find(|m| m.name == base && m.kind == MetricKind::Histogram)
    })
}

/// How many declarations `lists` hold together: the length for [`concat`].
pub const fn total_len(lists: &[&[MetricSpec]]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < lists.len() {
        total += lists[i].len();
        i += 1;
    }
    total
}

/// The declarations of several crates as one array, at compile time, so the binary's
/// catalogue stays a `const` slice: `concat::<{ total_len(LISTS) }>(LISTS)`.
///
/// # Panics
///
/// At compile time, when `N` is not [`total_len`] of `lists`.
pub const fn concat<const N: usize>(lists: &[&[MetricSpec]]) -> [MetricSpec; N] {
    // Every slot is overwritten below; the placeholder only gives the array a value to start.
    const PLACEHOLDER: MetricSpec = MetricSpec::counter("", "");
    let mut out = [PLACEHOLDER; N];
    let mut n = 0;
    let mut i = 0;
    while i < lists.len() {
        let mut j = 0;
        while j < lists[i].len() {
            assert!(n < N, "concat: N is smaller than the lists");
            out[n] = lists[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(n == N, "concat: N is larger than the lists");
    out
}

/// Describes every metric of `specs` and creates its [`Zero`] series. Call once at start-up,
/// after the recorder is installed.
pub fn register(specs: &[MetricSpec]) {
    for spec in specs {
        describe(spec);
        create_at_zero(spec);
    }
}

/// Gives the metric its `# HELP` text, its unit and its `# TYPE`.
pub fn describe(spec: &MetricSpec) {
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

/// Creates the series the declaration's [`Zero`] asks for.
pub fn create_at_zero(spec: &MetricSpec) {
    match spec.zero {
        Zero::Never => {}
        Zero::Every => create_combinations(spec, spec.labels),
        Zero::Only(sets) => {
            for set in sets {
                create_combinations(spec, set);
            }
        }
    }
}

/// Creates at zero every combination of the values in `set` (one label per entry, in the
/// metric's label order).
///
/// Counters and gauges are moved by `+0`, never set: several switches may share one process
/// (the end-to-end tests), and resetting a live in-flight gauge would skew it. Histograms are
/// left alone: a zero observation would be a false data point.
pub fn create_combinations(spec: &MetricSpec, set: &[LabelSpec]) {
    if spec.kind == MetricKind::Histogram {
        return;
    }
    let mut current = Vec::with_capacity(set.len());
    each_combination(set, &mut current, &mut |labels| match spec.kind {
        MetricKind::Counter => counter!(spec.name, labels).increment(0),
        MetricKind::Gauge => gauge!(spec.name, labels).increment(0.0),
        MetricKind::Histogram => {}
    });
}

fn each_combination(set: &[LabelSpec], current: &mut Vec<Label>, emit: &mut dyn FnMut(Vec<Label>)) {
    let Some((first, rest)) = set.split_first() else {
        emit(current.clone());
        return;
    };
    for value in first.values {
        current.push(Label::from_static_parts(first.name, value));
        each_combination(rest, current, emit);
        current.pop();
    }
}

/// Label names that would identify a transaction or carry free text: never allowed.
pub const FORBIDDEN_LABELS: &[&str] = &[
    "terminal_id",
    "tid",
    "merchant_id",
    "mid",
    "stan",
    "rrn",
    "payment_request_id",
    "payment_id",
    "error",
];

/// The most values one label may take: more would be an unbounded label in disguise.
pub const MAX_LABEL_VALUES: usize = 64;

/// What is wrong with a crate's declarations, one line per problem (empty when none). Each
/// emitting crate runs this in a unit test, so a bad declaration fails where it is written;
/// rules that span crates (unique names, subsystems) are the binary's.
pub fn problems(specs: &[MetricSpec]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let name = spec.name;
        if specs[..i].iter().any(|other| other.name == name) {
            out.push(format!("{name}: declared twice"));
        }
        if !name.starts_with("antom_switch_")
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            out.push(format!("{name}: not antom_switch_[a-z0-9_]+"));
        }
        match spec.kind {
            MetricKind::Counter if !name.ends_with("_total") => {
                out.push(format!("{name}: a counter's name ends in _total"));
            }
            MetricKind::Gauge | MetricKind::Histogram if name.ends_with("_total") => {
                out.push(format!("{name}: only counters end in _total"));
            }
            _ => {}
        }
        if let Some(suffix) = spec.unit.and_then(unit_suffix)
            && !name.trim_end_matches("_total").ends_with(suffix)
        {
            out.push(format!("{name}: the unit {suffix} is not in the name"));
        }
        let words: Vec<&str> = name.split('_').collect();
        if (words.contains(&"duration") || words.contains(&"age") || words.contains(&"seconds"))
            && spec.unit != Some(Unit::Seconds)
        {
            out.push(format!(
                "{name}: a duration is in seconds, with Unit::Seconds"
            ));
        }
        if spec.help.trim().is_empty() || spec.help.contains('\n') {
            out.push(format!("{name}: help is one non-empty line"));
        }
        for (j, label) in spec.labels.iter().enumerate() {
            if spec.labels[..j].iter().any(|l| l.name == label.name) {
                out.push(format!("{name}: label {} twice", label.name));
            }
            if FORBIDDEN_LABELS.contains(&label.name) {
                out.push(format!(
                    "{name}: label {} identifies a transaction",
                    label.name
                ));
            }
            if label.values.is_empty() || label.values.len() > MAX_LABEL_VALUES {
                out.push(format!(
                    "{name}: label {} takes 1..={MAX_LABEL_VALUES} values",
                    label.name
                ));
            }
        }
        match spec.zero {
            Zero::Never => {}
            Zero::Every | Zero::Only(_) if spec.kind == MetricKind::Histogram => {
                out.push(format!("{name}: a histogram is never created at zero"));
            }
            Zero::Every => {}
            Zero::Only(sets) => {
                for set in sets {
                    let names: Vec<_> = set.iter().map(|l| l.name).collect();
                    let declared: Vec<_> = spec.labels.iter().map(|l| l.name).collect();
                    if names != declared {
                        out.push(format!(
                            "{name}: zero set {names:?} does not name the labels {declared:?}"
                        ));
                    }
                    for label in *set {
                        let allowed = spec.allowed(label.name).unwrap_or_default();
                        for value in label.values {
                            if !allowed.contains(value) {
                                out.push(format!(
                                    "{name}: zero value {}={value} is not allowed",
                                    label.name
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn unit_suffix(unit: Unit) -> Option<&'static str> {
    match unit {
        Unit::Seconds => Some("_seconds"),
        Unit::Bytes => Some("_bytes"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: failing loudly is the point

    use super::*;

    const ONE: &[MetricSpec] = &[
        MetricSpec::counter("antom_switch_test_things_total", "Things.")
            .labels(&[label("kind", &["a", "b"]), label("side", &["l", "r"])]),
        MetricSpec::gauge("antom_switch_test_level", "Level."),
    ];
    const TWO: &[MetricSpec] = &[
        MetricSpec::histogram("antom_switch_test_duration_seconds", "Duration.")
            .unit(Unit::Seconds)
            .labels(&[label("kind", &["a", "b"])]),
        MetricSpec::counter("antom_switch_test_pairs_total", "Pairs.")
            .labels(&[label("kind", &["a", "b"]), label("side", &["l", "r"])])
            .zero(Zero::Only(&[&[
                label("kind", &["a"]),
                label("side", &["r"]),
            ]])),
    ];
    const LISTS: &[&[MetricSpec]] = &[ONE, TWO];
    const ALL: &[MetricSpec] = &concat::<{ total_len(LISTS) }>(LISTS);

    #[test]
    fn concat_keeps_every_declaration_in_order() {
        let names: Vec<_> = ALL.iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "antom_switch_test_things_total",
                "antom_switch_test_level",
                "antom_switch_test_duration_seconds",
                "antom_switch_test_pairs_total",
            ]
        );
    }

    #[test]
    fn histogram_suffixes_resolve_to_their_base() {
        let base = "antom_switch_test_duration_seconds";
        assert_eq!(
            find(ALL, &format!("{base}_bucket")).map(|m| m.name),
            Some(base)
        );
        assert_eq!(
            find(ALL, &format!("{base}_count")).map(|m| m.name),
            Some(base)
        );
        assert!(find(ALL, "antom_switch_test_level_count").is_none());
        assert_eq!(ALL[0].allowed("side"), Some(&["l", "r"][..]));
        assert_eq!(ALL[0].allowed("nope"), None);
    }

    #[test]
    fn register_describes_and_creates_the_zero_series() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || register(ALL));
        let text = handle.render();
        for line in [
            "# HELP antom_switch_test_things_total Things.",
            "# TYPE antom_switch_test_things_total counter",
            r#"antom_switch_test_things_total{kind="a",side="l"} 0"#,
            r#"antom_switch_test_things_total{kind="b",side="r"} 0"#,
            "antom_switch_test_level 0",
            r#"antom_switch_test_pairs_total{kind="a",side="r"} 0"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        // Only the listed combination, and no histogram until an observation.
        assert!(
            !text.contains(r#"antom_switch_test_pairs_total{kind="b""#),
            "{text}"
        );
        assert!(
            !text.contains("antom_switch_test_duration_seconds_count"),
            "{text}"
        );
    }

    #[test]
    fn good_declarations_have_no_problems() {
        assert_eq!(problems(ALL), Vec::<String>::new());
    }

    #[test]
    fn bad_declarations_are_reported() {
        // A `const`, as in the crates: the label lists must be `'static`.
        const BAD: &[MetricSpec] = &[
            MetricSpec::counter("antom_switch_test_things", "No _total."),
            MetricSpec::gauge("antom_switch_test_age", "Age without unit."),
            MetricSpec::gauge("antom_switch_test_level_total", "A gauge with _total."),
            MetricSpec::counter("antom_switch_test_x_total", "Bad label.")
                .labels(&[label("terminal_id", &["x"]), label("empty", &[])]),
            MetricSpec::counter("antom_switch_test_y_total", "Bad zero set.")
                .labels(&[label("kind", &["a"])])
                .zero(Zero::Only(&[
                    &[label("kind", &["z"])],
                    &[label("other", &["a"])],
                ])),
            MetricSpec::histogram("antom_switch_test_h_seconds", "Zero histogram.")
                .unit(Unit::Seconds)
                .zero(Zero::Every),
            MetricSpec::gauge("antom_switch_test_y_total", ""),
        ];
        let found = problems(BAD);
        for expected in [
            "antom_switch_test_things: a counter's name ends in _total",
            "antom_switch_test_age: a duration is in seconds, with Unit::Seconds",
            "antom_switch_test_level_total: only counters end in _total",
            "antom_switch_test_x_total: label terminal_id identifies a transaction",
            "antom_switch_test_x_total: label empty takes 1..=64 values",
            "antom_switch_test_y_total: zero value kind=z is not allowed",
            "antom_switch_test_h_seconds: a histogram is never created at zero",
            "antom_switch_test_y_total: declared twice",
            "antom_switch_test_y_total: help is one non-empty line",
        ] {
            assert!(
                found.iter().any(|p| p == expected),
                "{expected} not in {found:#?}"
            );
        }
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("antom_switch_test_y_total: zero set [\"other\"]")),
            "{found:#?}"
        );
    }
}
