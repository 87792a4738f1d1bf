//! The short chaos run: two real `antom-switch` processes on one Redis, antom-sim with a
//! random fault mix, kill -9 of each instance, one Redis kill -9 and restart, ~25 tx/s of
//! mixed terminal traffic — then every terminal must agree with Antom's ledger.
//!
//! Needs the `antom-switch` binary next to the test binaries (`cargo test --workspace` builds
//! it; otherwise `cargo build -p asw-app`), or `ASW_SWITCH_BIN`.

// A failed set-up step must stop the test with a clear message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use asw_chaos::{ChaosConfig, locate_switch_binary};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_chaos_run_ends_consistent() {
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
