//! The `antom-switch` command line: configuration checks, environment overrides, exit codes.

// Test helpers: a failed set-up step must stop the test with a clear message.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use asw_testkit::fixtures::switch_config::SwitchToml;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn keys() -> PathBuf {
    repo().join("tests/testdata/keys")
}

fn valid_config(dir: &Path) -> PathBuf {
    let text = SwitchToml::minimal("http://127.0.0.1:9", keys()).render();
    let path = dir.join("antom-switch.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn check(config: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_antom-switch"));
    command.arg("check-config").arg("--config").arg(config);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("antom-switch runs")
}

#[test]
fn a_valid_configuration_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = check(&valid_config(dir.path()), &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn check_config_states_who_may_follow_up_on_a_payment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    let output = check(&config, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "merchant M00000000000001: 1 terminal(s); voids, refunds and status inquiries by \
             the paying terminal only (follow_ups = \"terminal\")"
        ),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&config).expect("read");
    let scoped = text.replace(
        "store_name = \"Test Coffee One\"",
        "store_name = \"Test Coffee One\"\nfollow_ups = \"store\"",
    );
    std::fs::write(&config, &scoped).expect("write");
    let output = check(&config, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("in the paying terminal's store (follow_ups = \"store\")"),
        "{stdout}"
    );
    // An unknown scope and an empty store are refused.
    let bad = scoped.replace("follow_ups = \"store\"", "follow_ups = \"everyone\"");
    std::fs::write(&config, bad).expect("write");
    assert_eq!(check(&config, &[]).status.code(), Some(64));
    let empty_store =
        format!("{scoped}[[merchants.terminals]]\nterminal_id = \"T2\"\nstore_id = \" \"\n");
    std::fs::write(&config, empty_store).expect("write");
    let output = check(&config, &[]);
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("merchants[0].terminals[1].store_id"),
        "{stderr}"
    );
}

#[test]
fn environment_overrides_every_key_and_errors_name_their_key_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    // The timing rule: response deadline < terminal timeout < gateway deadline.
    let output = check(
        &config,
        &[
            ("ANTOM_SWITCH__TIMING__TERMINAL_TIMEOUT_MS", "95000"),
            ("ANTOM_SWITCH__UPSTREAM__CLIENT_ID", ""),
        ],
    );
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("timing.terminal_timeout_ms"), "{stderr}");
    assert!(stderr.contains("upstream.client_id"), "{stderr}");
}

#[test]
fn unknown_keys_and_bad_values_are_reported_with_exit_64() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str("\n[redis]\nurll = \"redis://x\"\n");
    std::fs::write(&config, text).expect("write");
    let output = check(&config, &[]);
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("redis"), "{stderr}");
    assert!(stderr.contains("urll"), "{stderr}");
}

#[test]
fn a_terminal_configured_twice_for_one_merchant_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str("[[merchants.terminals]]\nterminal_id = \"T0000001\"\nenabled = false\n");
    std::fs::write(&config, text).expect("write");
    let output = check(&config, &[]);
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("merchants[0].terminals[1].terminal_id"),
        "{stderr}"
    );
    assert!(stderr.contains("duplicate terminal id"), "{stderr}");
}

#[test]
fn unusable_tls_files_are_reported_by_check_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    let pki = asw_testkit::TestPki::new().expect("test pki");
    let (cert, _key) = pki.issue("switch", &["localhost"]).expect("cert");
    let (_, other_key) = pki.issue("other", &["localhost"]).expect("other key");
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str(&format!(
        "\n[downstream.tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        cert.display().to_string(),
        other_key.display().to_string()
    ));
    std::fs::write(&config, text).expect("write");
    let output = check(&config, &[]);
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("downstream.tls"), "{stderr}");
}

#[test]
fn missing_key_files_are_reported_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    let output = check(
        &config,
        &[(
            "ANTOM_SWITCH__UPSTREAM__MERCHANT_PRIVATE_KEY",
            "/nonexistent/key.pem",
        )],
    );
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("upstream.merchant_private_key"));
}

#[test]
fn the_annotated_example_configuration_parses() {
    // Every key of the example must be a real key (unknown keys are errors). Only the files it
    // names (keys, ids secret) do not exist on a build machine.
    let example = repo().join("config/antom-switch.example.toml");
    let config = asw_app::config::Config::load(&example).expect("the example parses");
    let problems = config
        .validate()
        .expect_err("its key files do not exist here")
        .problems;
    for (key, _) in &problems {
        assert!(
            key.starts_with("upstream.") || key.starts_with("ids."),
            "unexpected problem in the example: {key}"
        );
    }
}

/// The valid configuration with `extra` inserted before its `[[merchants]]` table and
/// `merchant_extra` at the end of the merchant's keys (before its terminals).
fn config_with(dir: &Path, extra: &str, merchant_extra: &str) -> PathBuf {
    let config = valid_config(dir);
    let text = std::fs::read_to_string(&config).expect("read");
    let text = text.replace("[[merchants]]", &format!("{extra}\n[[merchants]]"));
    let text = text.replace(
        "[[merchants.terminals]]",
        &format!("{merchant_extra}\n[[merchants.terminals]]"),
    );
    std::fs::write(&config, text).expect("write");
    config
}

#[test]
fn check_config_shows_who_may_speak_for_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = check(&valid_config(dir.path()), &[]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("downstream identity: no certificate binding")
            && stdout.contains("one terminal per connection")
            && stdout.contains("no concentrators"),
        "{stdout}"
    );

    let pki = asw_testkit::TestPki::new().expect("test pki");
    let (cert, key) = pki.issue("switch", &["localhost"]).expect("cert");
    let ca = pki.ca_file().expect("ca");
    let tls = format!(
        r#"[downstream.tls]
cert_file = {:?}
key_file = {:?}
client_ca_file = {:?}
client_identity = {{ from = "san-uri", template = "urn:pos:{{merchant}}:{{terminal}}" }}
[[downstream.concentrators]]
name = "ecr-hub"
networks = ["10.1.2.3/32"]
certificate_name = "urn:pos:hub"
terminals = [{{ merchant = "M00000000000001", terminal = "T0000001" }}]
"#,
        cert.display().to_string(),
        key.display().to_string(),
        ca.display().to_string(),
    );
    let config = config_with(dir.path(), &tls, r#"allowed_networks = ["10.0.0.0/8"]"#);
    let output = check(&config, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "mutual TLS",
        "san-uri must be \"urn:pos:{merchant}:{terminal}\"",
        "source networks restricted for 1 merchant(s)",
        "concentrators: ecr-hub",
    ] {
        assert!(stdout.contains(expected), "{expected} not in {stdout}");
    }
}

#[test]
fn bad_identity_settings_are_reported_with_their_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let concentrator = r#"[[downstream.concentrators]]
name = "hub"
certificate_name = "hub.example"
merchants = ["M00000000000001"]
"#;
    let config = config_with(
        dir.path(),
        concentrator,
        r#"allowed_networks = ["10.0.0.0/8", "10.0.0.300/8"]"#,
    );
    let output = check(&config, &[]);
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("merchants[0].allowed_networks[1]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("concentrators[0].certificate_name: only with mutual TLS"),
        "{stderr}"
    );
    assert!(!stderr.contains("allowed_networks[0]"), "{stderr}");

    let pki = asw_testkit::TestPki::new().expect("test pki");
    let (cert, key) = pki.issue("switch", &["localhost"]).expect("cert");
    let tls = format!(
        "[downstream.tls]\ncert_file = {:?}\nkey_file = {:?}\nclient_ca_file = {:?}\n\
         client_identity = {{ template = \"{{terminal}}\" }}\n",
        cert.display().to_string(),
        key.display().to_string(),
        pki.ca_file().expect("ca").display().to_string(),
    );
    let output = check(&config_with(dir.path(), &tls, ""), &[]);
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tls.client_identity.template"), "{stderr}");
}

#[test]
fn check_config_warns_when_a_merchants_rest_timeout_is_not_longer_than_the_closing_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    let text = std::fs::read_to_string(&config).expect("read");
    let with_rest = |timeout: u64| {
        format!(
            "[rest]\nsync_wait_ms = 20000\n{}",
            text.replace(
                "store_name = \"Test Coffee One\"",
                &format!(
                    "store_name = \"Test Coffee One\"\nrest_timeout_ms = {timeout}\napi_keys = [{{ id = \"k\", sha256 = \"{}\" }}]",
                    "ab".repeat(32)
                ),
            )
        )
    };
    // The default gateway deadline is 60 s: a 30 s merchant timeout is too short.
    std::fs::write(&config, with_rest(30_000)).expect("write");
    let output = check(&config, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("warning: merchant M00000000000001: rest_timeout_ms (30000) is not longer than the switch's closing time"),
        "{stdout}"
    );
    std::fs::write(&config, with_rest(120_000)).expect("write");
    let stdout = String::from_utf8_lossy(&check(&config, &[]).stdout).into_owned();
    assert!(!stdout.contains("warning:"), "{stdout}");
}

#[test]
fn check_config_takes_one_redis_deployment_and_warns_on_a_one_shard_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    let text = std::fs::read_to_string(&config).expect("read");
    let with_redis = |lines: &str| format!("{text}\n[redis]\n{lines}\n");
    let url_line = "url = \"redis://127.0.0.1:6379/\"";
    let cluster = "cluster_nodes = [\"redis://127.0.0.1:7000\", \"redis://127.0.0.1:7001\"]";

    // url and cluster_nodes together: refused, naming the rule.
    std::fs::write(&config, with_redis(&format!("{url_line}\n{cluster}"))).expect("write");
    let output = check(&config, &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("exactly one of url, cluster_nodes and sentinel"),
        "{stderr}"
    );

    // A cluster alone passes, with a warning while every key would sit on one master.
    std::fs::write(&config, with_redis(cluster)).expect("write");
    let output = check(&config, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("warning: redis.shards is 1 on a Redis Cluster"),
        "{stdout}"
    );
    std::fs::write(&config, with_redis(&format!("{cluster}\nshards = 16"))).expect("write");
    let stdout = String::from_utf8_lossy(&check(&config, &[]).stdout).into_owned();
    assert!(!stdout.contains("warning:"), "{stdout}");

    // A Sentinel group passes too.
    std::fs::write(
        &config,
        with_redis("sentinel = { master_name = \"asw\", nodes = [\"redis://127.0.0.1:26379\"] }"),
    )
    .expect("write");
    let output = check(&config, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_card_like_method_that_is_not_an_antom_method_type_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with(
        dir.path(),
        "[rest]\ncard_like_methods = [\"CARD\", \"pay pal\"]\n",
        "",
    );
    let output = check(&config, &[]);
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rest.card_like_methods"), "{stderr}");
}

#[test]
fn a_hand_over_settle_window_shorter_than_a_hand_over_is_reported() {
    // The terminal write timeout defaults to 5 s: a failed write must still be recordable
    // inside the window, so 10 s (not more than twice it) is refused, 11 s taken.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = valid_config(dir.path());
    let short = check(
        &config,
        &[("ANTOM_SWITCH__TIMING__HANDOVER_SETTLE_MS", "10000")],
    );
    assert_eq!(short.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(stderr.contains("timing.handover_settle_ms"), "{stderr}");
    let enough = check(
        &config,
        &[("ANTOM_SWITCH__TIMING__HANDOVER_SETTLE_MS", "11000")],
    );
    assert_eq!(
        enough.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&enough.stderr)
    );
}
