//! `chaos`: runs the consistency checker and exits non-zero on any inconsistency.
//!
//! Exit codes: 0 consistent, 1 inconsistent (or not quiet), 2 the run itself failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use asw_chaos::{ChaosConfig, locate_switch_binary, run};
use clap::Parser;

/// Chaos run of antom-switch: two instances, kill -9, a Redis restart, antom-sim faults,
/// then a transaction-by-transaction comparison of terminals and Antom.
#[derive(Parser, Debug)]
#[command(name = "chaos", version)]
struct Args {
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Transactions per second across both instances.
    #[arg(long, default_value_t = 30.0)]
    rate: f64,
    /// Terminal connections per switch instance.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Seconds between switch kills (alternating instances); default: 20, or a third of a
    /// shorter run.
    #[arg(long)]
    kill_every: Option<u64>,
    /// Do not kill -9 and restart Redis half-way.
    #[arg(long)]
    no_redis_restart: bool,
    /// Seed of the fault dice and the load.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The antom-switch binary (default: $ASW_SWITCH_BIN or next to this executable).
    #[arg(long)]
    switch_bin: Option<PathBuf>,
    /// Where to write the JSON report.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Keep configs and switch logs here (default: a temp dir, removed).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Load scenario weights (terminal-sim --mix syntax).
    #[arg(
        long,
        default_value = "purchase=60,void=7,refund=6,advice=8,disconnect=7,resend=4,foreign=4,refundvoid=4"
    )]
    mix: String,
    /// Seconds to wait for the SAF queue to drain after the load.
    #[arg(long, default_value_t = 120)]
    quiet_timeout: u64,
    /// REST payments per second (merchants over the REST API, beside the terminals; 0: none).
    #[arg(long, default_value_t = 5.0)]
    rest_rate: f64,
    /// The Redis the switches share: `single` (killed and restarted half-way), `cluster` (3
    /// masters + 3 replicas: a master killed half-way and rejoining, a manual failover at three
    /// quarters) or `sentinel` (1 master, 2 replicas, 3 sentinels: the master killed half-way).
    #[arg(long, default_value = "single")]
    redis: asw_chaos::RedisKind,
    /// Seconds between Redis faults (a cluster alternates a master kill with a manual
    /// failover); default: one half-way and one at three quarters.
    #[arg(long)]
    redis_fault_every: Option<u64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    let duration = Duration::from_secs(args.duration.max(1));
    let mut config = ChaosConfig::new(
        duration,
        args.switch_bin.unwrap_or_else(locate_switch_binary),
    );
    config.rate_per_s = args.rate;
    config.rest_rate_per_s = args.rest_rate;
    config.connections_per_instance = args.connections;
    config.kill_every = Duration::from_secs(
        args.kill_every
            .unwrap_or_else(|| (args.duration / 3).clamp(1, 20)),
    );
    config.restart_redis = !args.no_redis_restart;
    config.redis = args.redis;
    config.redis_fault_every = args.redis_fault_every.map(Duration::from_secs);
    config.seed = args.seed;
    config.work_dir = args.work_dir;
    config.mix = args.mix;
    config.quiet_timeout = Duration::from_secs(args.quiet_timeout);
    let report = match run(&config, true).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("chaos: run failed: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.table_text());
    for finding in report.findings.iter().take(20) {
        println!(
            "INCONSISTENT {} seq={:?} tid={} stan={} | terminal: {} | antom: {}",
            finding.kind,
            finding.seq,
            finding.terminal_id,
            finding.stan,
            finding.terminal_view,
            finding.antom_view
        );
    }
    if let Some(path) = &args.report {
        match serde_json::to_vec_pretty(&report) {
            Ok(bytes) => {
                if let Err(error) = std::fs::write(path, bytes) {
                    eprintln!("chaos: cannot write {}: {error}", path.display());
                    return ExitCode::from(2);
                }
            }
            Err(error) => {
                eprintln!("chaos: cannot encode the report: {error}");
                return ExitCode::from(2);
            }
        }
    }
    let violations = report.violations();
    if violations.is_empty() && report.quiet {
        println!(
            "consistent: every terminal and every REST merchant agrees with Antom; no dead letter, no duplicate pay, nothing left after the drain, every record accounted for"
        );
        ExitCode::SUCCESS
    } else {
        println!("NOT CONSISTENT (quiet={}):", report.quiet);
        for violation in violations {
            println!("  {violation}");
        }
        ExitCode::FAILURE
    }
}
