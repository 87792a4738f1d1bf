//! The short chaos runs: two real `antom-switch` processes on one Redis (then on a Redis
//! Cluster, then on a Sentinel group), antom-sim with a random fault mix, kill -9 of each
//! instance, Redis faults (a kill -9 and restart; a cluster master killed and rejoining and a
//! manual failover; a Sentinel master killed), ~20 tx/s of mixed terminal and REST traffic, and
//! in the one-Redis run the second instance's clock 400 ms ahead of the first (libfaketime) —
//! then every terminal and REST merchant must agree with Antom's ledger. The runs share the
//! machine's cores, so they take turns. The default suite runs the one-Redis run; the runs on
//! a cluster and a Sentinel group (30 s and 300 s each) are the suite's long mode
//! (`ASW_LONG=1 scripts/test.sh`): on the debug build on two loaded cores their failover
//! windows stretch past what the short run's drain allows, and the suite must not flake (the
//! store's own failover tests, `crates/asw-store/tests/topologies.rs`, run always).
//!
//! Needs the `antom-switch` binary next to the test binaries (`cargo test --workspace` builds
//! it; otherwise `cargo build -p asw-app`), or `ASW_SWITCH_BIN`.

// A failed set-up step must stop the test with a clear message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use asw_chaos::{ChaosConfig, RedisKind, locate_switch_binary};

/// One chaos run at a time: each one loads both cores.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_chaos_run_ends_consistent() {
    let _turn = TURN.lock().await;
    let bin = locate_switch_binary();
    assert!(
        bin.is_file(),
        "antom-switch not found at {} — run `cargo build -p asw-app` (or set ASW_SWITCH_BIN)",
        bin.display()
    );
    let mut config = ChaosConfig::new(Duration::from_secs(30), bin);
    config.rate_per_s = 25.0;
    config.connections_per_instance = 3;
    config.kill_every = Duration::from_secs(10);
    config.restart_redis = true;
    // Slow Redis between the kills: writes held past the switch's command timeout.
    config.redis_stall_every = Some(Duration::from_secs(7));
    // The second instance's clock 400 ms ahead (libfaketime), inside the switches' 500 ms.
    config.clock_skew_ms = 400;
    config.quiet_timeout = Duration::from_secs(60);
    let report = asw_chaos::run(&config, false).await.expect("chaos run");
    let text = report.table_text();
    eprintln!("{text}");
    for event in &report.events {
        eprintln!("{event}");
    }
    assert!(report.table.sent > 300, "too little traffic:\n{text}");
    assert!(report.quiet, "the SAF queue never drained:\n{text}");
    assert!(
        report.consistent(),
        "{:?}:\n{text}\n{:#?}",
        report.violations(),
        report.findings
    );
}

/// A run on a replicated deployment: `seconds` of load at `rate`, kills every `kill_every`.
async fn replicated_run(redis: RedisKind, seconds: u64, rate: f64, kill_every: u64) {
    let _turn = TURN.lock().await;
    let bin = locate_switch_binary();
    assert!(bin.is_file(), "antom-switch not found at {}", bin.display());
    let mut config = ChaosConfig::new(Duration::from_secs(seconds), bin);
    config.redis = redis;
    config.rate_per_s = rate;
    config.rest_rate_per_s = 2.0;
    config.connections_per_instance = 3;
    config.kill_every = Duration::from_secs(kill_every);
    config.restart_redis = true;
    config.quiet_timeout = Duration::from_secs(90);
    let report = asw_chaos::run(&config, false).await.expect("chaos run");
    let text = report.table_text();
    eprintln!("{text}");
    for event in &report.events {
        eprintln!("{event}");
    }
    let failover = if redis == RedisKind::Cluster {
        "its replica took over"
    } else {
        "new master on port"
    };
    assert!(
        report.events.iter().any(|e| e.contains(failover)),
        "the Redis fault did not happen: {:#?}",
        report.events
    );
    assert!(
        report.table.sent as f64 > rate * seconds as f64 * 0.5,
        "too little traffic:\n{text}"
    );
    assert!(report.quiet, "the SAF queue never drained:\n{text}");
    assert!(
        report.consistent(),
        "{:?}:\n{text}\n{:#?}",
        report.violations(),
        report.findings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long mode: ASW_LONG=1 scripts/test.sh"]
async fn short_chaos_run_on_a_redis_cluster_ends_consistent() {
    replicated_run(RedisKind::Cluster, 30, 20.0, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long mode: ASW_LONG=1 scripts/test.sh"]
async fn short_chaos_run_on_a_sentinel_group_ends_consistent() {
    replicated_run(RedisKind::Sentinel, 30, 20.0, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long mode: ASW_LONG=1 scripts/test.sh"]
async fn long_chaos_run_on_a_redis_cluster_ends_consistent() {
    replicated_run(RedisKind::Cluster, 300, 30.0, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long mode: ASW_LONG=1 scripts/test.sh"]
async fn long_chaos_run_on_a_sentinel_group_ends_consistent() {
    replicated_run(RedisKind::Sentinel, 300, 30.0, 20).await;
}
