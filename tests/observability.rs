//! The operators' side, checked against the running switch: every metric the dashboard and the
//! alert rules use exists in the live `/metrics` output, live label values stay inside their
//! written sets, promtool accepts and unit-tests the rules, and the deployment files parse.

// Test code: a failed step must stop the test with a clear message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use asw_app::metrics::{CATALOGUE, MetricKind, find};
use asw_e2e::pos::Pos;
use asw_e2e::{Harness, MID, TID, code};
use asw_iso8583::Mti;
use asw_terminal_sim::Answer;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> serde_json::Value {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

// ---- PromQL and exposition parsing -----------------------------------------------------------

/// Series names Prometheus makes itself; they never appear in an exporter's output.
const SYNTHETIC: &[&str] = &["up", "scrape_duration_seconds", "scrape_samples_scraped"];

const PROMQL_WORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
    // Aggregation operators, which may be followed by `by (...)` instead of `(`.
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];

/// The metric names an expression selects: identifiers that are not functions, keywords,
/// label names in `{…}` or `by (…)`, strings, durations or numbers.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    // Set after `by`/`without`/`on`/`ignoring`/`group_*`: the next (...) holds label names.
    let mut label_list_next = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while i < chars.len() && chars[i] != close {
                    if chars[i] == '"' {
                        i += 1;
                        while i < chars.len() && chars[i] != '"' {
                            i += 1;
                        }
                    }
                    i += 1;
                }
                i += 1;
            }
            '(' if label_list_next => {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                i += 1;
                label_list_next = false;
            }
            '$' => {
                // A Grafana variable such as $__rate_interval.
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut next = i;
                while next < chars.len() && chars[next].is_whitespace() {
                    next += 1;
                }
                let is_call = chars.get(next) == Some(&'(');
                let lower = word.to_ascii_lowercase();
                if [
                    "by",
                    "without",
                    "on",
                    "ignoring",
                    "group_left",
                    "group_right",
                ]
                .contains(&lower.as_str())
                {
                    label_list_next = true;
                } else if !is_call && !PROMQL_WORDS.contains(&lower.as_str()) {
                    names.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// One sample line of the Prometheus text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
}

fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(at) => line.split_at(at),
            None => panic!("unparsable sample line: {line}"),
        };
        let mut labels = Vec::new();
        if let Some(body) = rest.strip_prefix('{') {
            let end = body.rfind('}').expect("closing brace");
            let mut body = &body[..end];
            while !body.is_empty() {
                let eq = body.find('=').expect("label =");
                let key = body[..eq].trim_start_matches(',').trim().to_string();
                let after = &body[eq + 1..];
                assert!(after.starts_with('"'), "quoted label value in {line}");
                let mut value = String::new();
                let mut chars = after[1..].char_indices();
                let mut consumed = 0;
                while let Some((at, ch)) = chars.next() {
                    match ch {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            consumed = at + 2;
                            break;
                        }
                        other => value.push(other),
                    }
                }
                labels.push((key, value));
                body = after[consumed..].trim_start_matches(',');
            }
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
        });
    }
    samples
}

fn dashboard_exprs() -> Vec<String> {
    let text = read("deploy/grafana/dashboards/antom-switch.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    let mut exprs = Vec::new();
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    if key == "expr" {
                        out.push(v.as_str().expect("expr is text").to_string());
                    } else if key == "definition" {
                        // Template variable queries: label_values(metric, label).
                        out.push(v.as_str().expect("definition is text").to_string());
                    } else {
                        walk(v, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&dashboard, &mut exprs);
    assert!(exprs.len() > 20, "the dashboard has its queries");
    exprs
}

fn alert_exprs() -> Vec<String> {
    let rules = yaml("deploy/prometheus/alerts.yml");
    let mut exprs = Vec::new();
    for group in rules["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            exprs.push(rule["expr"].as_str().expect("expr").to_string());
        }
    }
    assert!(exprs.len() >= 7, "the alert rules are there");
    exprs
}

/// `label_values(metric, label)` names its metric as the first argument of a call; the
/// general extractor skips calls' names but not their arguments, so this works unchanged.
fn names_used(exprs: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for expr in exprs {
        for name in metric_names(expr) {
            // The second argument of label_values is a label, not a metric.
            if expr.starts_with("label_values(") && !expr.contains(&format!("({name}")) {
                continue;
            }
            names.insert(name);
        }
    }
    names
}

#[test]
fn the_promql_name_extractor_handles_the_shapes_we_use() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (api, le) (rate(antom_switch_upstream_request_duration_seconds_bucket{instance=~"$instance",api="pay"}[$__rate_interval]))) > 8"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["antom_switch_upstream_request_duration_seconds_bucket"]
    );
    let names = metric_names(
        "sum by (job) (rate(a_total{result=~\"x|y\"}[15m])) / sum by (job) (rate(b_total[15m])) > 0.2 and on(job) up == 1",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["a_total", "b_total", "up"]
    );
    assert_eq!(
        names_used(&["label_values(antom_switch_ready, instance)".to_string()])
            .into_iter()
            .collect::<Vec<_>>(),
        ["antom_switch_ready"]
    );
}

// ---- the live check --------------------------------------------------------------------------

async fn scrape(h: &Harness) -> String {
    let url = format!("http://{}/metrics", h.admin());
    let response = reqwest::get(&url).await.expect("GET /metrics");
    assert!(
        response.status().is_success(),
        "/metrics: {}",
        response.status()
    );
    response.text().await.expect("metrics text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_alerts_only_use_metrics_the_switch_exposes() {
    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let stans = [601, 602, 603];

    // An approval, then a reversal advice for it: a cancel through the SAF queue.
    let (approved, sent) = t.purchase(stans[0], 1500, &code("00")).await;
    assert_eq!(approved.response_code(), "00");
    let approved_id = approved.payment_request_id().expect("PR");
    let ack = t
        .request(&t.reversal_message(&sent, Mti::REVERSAL_ADVICE))
        .await;
    assert_eq!(ack.response_code(), "00");
    // A decline.
    let (declined, _) = t.purchase(stans[1], 1600, &code("10")).await;
    assert_eq!(declined.response_code(), "51");
    // Unknown until the response deadline: 91, and a cancel.
    let (unknown, _) = t.purchase(stans[2], 1700, &code("32")).await;
    assert_eq!(unknown.response_code(), "91");
    let unknown_id = unknown.payment_request_id().expect("PR");
    h.wait_for_status(approved_id, "CANCELLED", Duration::from_secs(15))
        .await;
    h.wait_for_status(unknown_id, "CANCELLED", Duration::from_secs(15))
        .await;
    // A merchant's REST request (unauthenticated: its answer is a 401 problem).
    let rest = reqwest::get(format!("http://{}/v1/payments/pay_none", h.rest()))
        .await
        .expect("the REST API answers");
    assert_eq!(rest.status().as_u16(), 401);
    // Let the engine acknowledge its entries and refresh the SAF gauges.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let text = scrape(&h).await;
    let samples = parse_exposition(&text);
    let live: BTreeSet<&str> = samples.iter().map(|s| s.name.as_str()).collect();
    // Cardinality, for the record (docs/metrics.md keeps every label set small).
    let switch_series = samples
        .iter()
        .filter(|s| s.name.starts_with("antom_switch_"))
        .count();
    eprintln!(
        "live /metrics: {switch_series} antom_switch_* samples, {} bytes",
        text.len()
    );

    // 1. Every name used by the dashboard and the alert rules is exposed.
    let mut used = names_used(&dashboard_exprs());
    used.extend(names_used(&alert_exprs()));
    let missing: Vec<_> = used
        .iter()
        .filter(|n| !live.contains(n.as_str()) && !SYNTHETIC.contains(&n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "used by the dashboard or alerts but not exposed: {missing:?}"
    );

    // 2. Every exposed switch metric is in the catalogue, with labels from the allowed sets,
    //    and nothing that looks like a terminal id, merchant id or STAN.
    let mut problems = Vec::new();
    for sample in samples
        .iter()
        .filter(|s| s.name.starts_with("antom_switch_"))
    {
        let Some(spec) = find(&sample.name) else {
            problems.push(format!("{} is not in the catalogue", sample.name));
            continue;
        };
        for (label, value) in &sample.labels {
            if spec.kind == MetricKind::Histogram && label == "le" {
                continue;
            }
            if value == TID || value == MID || stans.iter().any(|s| *value == format!("{s:06}")) {
                problems.push(format!(
                    "{}: {label}={value} identifies a transaction",
                    sample.name
                ));
            }
            match spec.allowed(label) {
                None => problems.push(format!("{}: unexpected label {label}", sample.name)),
                Some(values) if !values.contains(&value.as_str()) => {
                    problems.push(format!("{}: {label}={value} outside its set", sample.name))
                }
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");

    // 3. Every catalogued metric is exposed: counters and gauges from start-up (created at
    //    zero), histograms after this traffic.
    let absent: Vec<_> = CATALOGUE
        .iter()
        .filter(|m| {
            let exposed = match m.kind {
                MetricKind::Histogram => format!("{}_count", m.name),
                _ => m.name.to_string(),
            };
            !live.contains(exposed.as_str())
        })
        .map(|m| m.name)
        .collect();
    assert!(absent.is_empty(), "catalogued but not exposed: {absent:?}");

    // 4. The traffic is visible where the dashboard looks for it.
    let value_of = |name: &str, want: &[(&str, &str)]| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter(|l| {
                want.iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let tx = "antom_switch_core_transactions_total";
    assert!(value_of(tx, &[("flow", "purchase"), ("outcome", "approved")]) >= 1.0);
    assert!(value_of(tx, &[("flow", "purchase"), ("outcome", "declined")]) >= 1.0);
    assert!(value_of(tx, &[("flow", "advice")]) >= 1.0);
    assert!(
        value_of(
            "antom_switch_core_unknown_resolved_total",
            &[("resolution", "cancelled")]
        ) >= 1.0
    );
    assert!(
        value_of(
            "antom_switch_downstream_messages_total",
            &[
                ("direction", "out"),
                ("mti", "0210"),
                ("response_code", "91")
            ]
        ) >= 1.0
    );
    assert!(
        value_of(
            "antom_switch_reversal_cancel_outcomes_total",
            &[("result", "success")]
        ) >= 2.0
    );
    assert!(
        value_of(
            "antom_switch_upstream_requests_total",
            &[("api", "pay"), ("result", "S")]
        ) >= 1.0
    );
    assert_eq!(value_of("antom_switch_ready", &[]), 1.0);
    assert_eq!(value_of("antom_switch_saf_dead_letters", &[]), 0.0);
}

// ---- promtool ---------------------------------------------------------------------------------

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(repo("deploy/prometheus"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "promtool not runnable ({e}): install it with scripts/ensure-deps.sh \
                 (Debian package `prometheus`)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn alert_rules_pass_promtool_checks_and_unit_tests() {
    promtool(&["check", "rules", "alerts.yml"]);
    let out = promtool(&["test", "rules", "alerts_test.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
    promtool(&["check", "config", "prometheus.yml"]);
}

#[test]
fn every_alert_has_a_severity_and_a_runbook_section() {
    let rules = yaml("deploy/prometheus/alerts.yml");
    let operations = read("docs/operations.md");
    let tested = read("deploy/prometheus/alerts_test.yml");
    for group in rules["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let name = rule["alert"].as_str().expect("alert name");
            let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
            assert!(
                ["critical", "warning"].contains(&severity),
                "{name}: severity"
            );
            let runbook = rule["annotations"]["runbook"].as_str().expect("runbook");
            let anchor = runbook.split('#').nth(1).expect("runbook anchor");
            assert!(
                operations.contains(&format!("{{#{anchor}}}"))
                    || operations
                        .lines()
                        .any(|l| l.starts_with('#') && slug(l) == anchor),
                "{name}: docs/operations.md has no section #{anchor}"
            );
            assert!(
                operations.contains(name),
                "{name} is not explained in docs/operations.md"
            );
        }
    }
    // The main alerts have unit tests.
    for name in [
        "AntomSwitchDeadLetters",
        "AntomSwitchSafOldestEntryTooOld",
        "AntomSwitchUnknownRateHigh",
        "AntomSwitchCancelFailureRateHigh",
        "AntomSwitchSignatureFailures",
        "AntomSwitchNotReady",
        "AntomSwitchRedisUnavailable",
        "AntomSwitchNoTraffic",
    ] {
        assert!(tested.contains(name), "{name} has no promtool unit test");
    }
}

/// GitHub-style heading anchor.
fn slug(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

#[test]
fn dashboard_queries_are_valid_promql() {
    // promtool has no query checker; a rule file of the dashboard's queries gets the parser.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in dashboard_exprs().iter().enumerate() {
        if expr.starts_with("label_values(") {
            continue;
        }
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$instance", ".*");
        let quoted = serde_json::to_string(&expr).expect("json string");
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {quoted}\n"
        ));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("dashboard_rules.yml");
    std::fs::write(&file, rules).expect("write rules");
    let output = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .expect("promtool (scripts/ensure-deps.sh installs it)");
    assert!(
        output.status.success(),
        "dashboard PromQL rejected:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---- deployment files ------------------------------------------------------------------------

#[test]
fn grafana_dashboard_and_provisioning_agree() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/antom-switch.json"))
            .expect("dashboard JSON");
    assert_eq!(dashboard["uid"], "antom-switch");
    let datasources = yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
    let uid = datasources["datasources"][0]["uid"].as_str().expect("uid");
    let providers = yaml("deploy/grafana/provisioning/dashboards/antom-switch.yml");
    assert_eq!(
        providers["providers"][0]["options"]["path"],
        "/var/lib/grafana/dashboards"
    );
    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        assert!(
            ids.insert(panel["id"].as_u64().expect("id")),
            "panel ids unique"
        );
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], uid, "{}", panel["title"]);
        assert!(
            !panel["targets"].as_array().expect("targets").is_empty(),
            "{}",
            panel["title"]
        );
    }
    // The areas the brief asks for each have a panel.
    let titles: String = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
    for area in [
        "approval",
        "latency",
        "antom",
        "unknown",
        "saf",
        "dead letters",
        "connection",
        "notifications",
        "redis",
        "readiness",
    ] {
        assert!(titles.contains(area), "no panel about {area}");
    }
}

#[test]
fn compose_file_is_consistent() {
    let compose = yaml("deploy/docker-compose.yml");
    let services = compose["services"].as_object().expect("services");
    for name in [
        "keygen",
        "redis",
        "antom-sim",
        "switch",
        "prometheus",
        "grafana",
    ] {
        assert!(services.contains_key(name), "service {name}");
    }
    // Every bind mount points at a file or directory of the repository.
    let mut mounts = 0;
    for (name, service) in services {
        for volume in service["volumes"].as_array().into_iter().flatten() {
            let spec = volume.as_str().expect("short volume syntax");
            if let Some(source) = spec.strip_prefix("./") {
                let source = source.split(':').next().expect("source");
                assert!(
                    repo(&format!("deploy/{source}")).exists(),
                    "{name}: ./{source}"
                );
                mounts += 1;
            }
        }
    }
    assert!(mounts >= 5);
    assert!(
        services["redis"]["command"]
            .as_array()
            .expect("redis command")
            .iter()
            .any(|a| a == "/usr/local/etc/redis/redis.conf"),
        "redis runs with deploy/redis/redis.conf"
    );
    let dockerfile = read("deploy/Dockerfile");
    assert!(dockerfile.matches("\nFROM ").count() >= 3, "multi-stage");
    assert!(dockerfile.contains("\nUSER 10001"), "non-root runtime");
}

fn load_config_with_test_keys(path: &str) -> asw_app::config::Config {
    let mut config =
        asw_app::config::Config::load(&repo(path)).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys");
    config.upstream.merchant_private_key = keys.join("merchant_private_pkcs8.pem");
    config.upstream.antom_public_key = keys.join("antom_public.pem");
    config.upstream.antom_public_key_next = None;
    config.ids.secret_file = None;
    config.ids.secret = Some("deploy-config-test-secret-0123456789".into());
    config
}

#[test]
fn shipped_switch_configs_load_and_validate() {
    for path in [
        "deploy/compose/antom-switch.toml",
        "deploy/ha/antom-switch.toml",
        "deploy/cluster/antom-switch.toml",
        "deploy/k8s/antom-switch.toml",
    ] {
        let config = load_config_with_test_keys(path);
        if let Err(errors) = config.validate() {
            panic!("{path}: {:?}", errors.problems);
        }
    }
}

#[test]
fn ha_example_checks_readiness_and_keeps_terminals_on_tcp() {
    let haproxy = read("deploy/ha/haproxy.cfg");
    let mut sections: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut current = String::new();
    for line in haproxy.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            current = trimmed.to_string();
        } else {
            sections.entry(current.clone()).or_default().push(trimmed);
        }
    }
    let iso = &sections["backend switches_iso8583"];
    assert!(iso.contains(&"mode tcp"));
    assert!(iso.iter().any(|l| l.contains("uri /health/ready")));
    assert_eq!(iso.iter().filter(|l| l.starts_with("server ")).count(), 2);
    assert!(
        iso.iter()
            .filter(|l| l.starts_with("server "))
            .all(|l| l.contains("check port 9090"))
    );
    assert!(sections["frontend iso8583"].contains(&"mode tcp"));

    let sentinel = read("deploy/ha/sentinel.conf");
    assert!(
        sentinel
            .lines()
            .any(|l| l.starts_with("sentinel monitor antom-switch "))
    );
    let known = ["port", "bind", "daemonize", "dir", "sentinel"];
    for line in sentinel
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let directive = line.split_whitespace().next().unwrap_or_default();
        assert!(
            known.contains(&directive),
            "sentinel.conf: unknown directive {directive}"
        );
    }
}

#[test]
fn systemd_unit_is_hardened_and_verifies() {
    let unit = read("deploy/systemd/antom-switch.service");
    for setting in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=",
        "User=antom-switch",
        "KillSignal=SIGTERM",
        "RestartPreventExitStatus=64",
    ] {
        assert!(unit.lines().any(|l| l == setting), "{setting}");
    }
    // systemd-analyze verify catches unknown settings; the binary is not installed here, so that
    // one complaint is expected.
    let Ok(output) = Command::new("systemd-analyze")
        .arg("verify")
        .arg(repo("deploy/systemd/antom-switch.service"))
        .output()
    else {
        eprintln!("systemd-analyze not available: unit syntax not verified");
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let complaints: Vec<_> = stderr
        .lines()
        .filter(|l| !l.contains("is not executable") && !l.trim().is_empty())
        .filter(|l| !l.contains("Failed to") && !l.contains("System has not been booted"))
        .collect();
    assert!(
        complaints.is_empty(),
        "systemd-analyze verify: {complaints:#?}"
    );
}
