//! `chaos`: runs the consistency checker and exits non-zero on any inconsistency.
//!
//! Exit codes: 0 consistent, 1 at least one violation class (see `asw_chaos::verdict`), 2 the
//! run itself failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use asw_chaos::{
    Cause, ChaosConfig, UncertainBounds, locate_switch_binary, locate_terminal_sim_binary, run,
};
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
    /// Every n-th REST payment is an online wallet payment whose buyer approves, declines or
    /// walks away on antom-sim's page (0: none).
    #[arg(long, default_value_t = 3)]
    rest_online_every: u64,
    /// The Redis the switches share: `single` (killed and restarted half-way), `cluster` (3
    /// masters + 3 replicas: a master killed half-way and rejoining, a manual failover at three
    /// quarters) or `sentinel` (1 master, 2 replicas, 3 sentinels: the master killed half-way).
    #[arg(long, default_value = "single")]
    redis: asw_chaos::RedisKind,
    /// Seconds between Redis faults (a cluster alternates a master kill with a manual
    /// failover); default: one half-way and one at three quarters.
    #[arg(long)]
    redis_fault_every: Option<u64>,
    /// Slow Redis: every this many seconds, the master(s) hold all writes for
    /// --redis-stall-ms (longer than the switch's command timeout).
    #[arg(long)]
    redis_stall_every: Option<u64>,
    /// How long a slow-Redis stall holds the writes, in ms.
    #[arg(long, default_value_t = 1_500)]
    redis_stall_ms: u64,
    /// A preset: `long` is the run anyone can repeat for the record — 1,800 s at 56 purchases/s
    /// over 8 connections per instance plus 5 REST payments/s (over 100,000 transactions), the
    /// terminals as killable processes, Redis faults every 300 s, kills during the drain, the
    /// second instance's clock 400 ms ahead; the other flags given explicitly still apply on
    /// top of it.
    #[arg(long)]
    profile: Option<Profile>,
    /// Largest share of terminal records whose outcome may be accepted either way (all causes
    /// together); more fails the run.
    #[arg(long, default_value_t = 0.05, value_parser = share)]
    max_uncertain_share: f64,
    /// A bound of its own for one cause, `CAUSE=SHARE` (repeatable); causes: advice_unanswered,
    /// void_unanswered, refund_unresolved.
    #[arg(long, value_parser = cause_bound)]
    max_uncertain_cause: Vec<(Cause, f64)>,
    /// Run the terminals as separate `terminal-sim load` processes writing fsync'd records
    /// before each send, killed with SIGKILL and restarted (see --kill-terminals-every).
    #[arg(long)]
    terminal_processes: bool,
    /// The terminal-sim binary (default: $ASW_TERMINAL_SIM_BIN or next to this executable).
    #[arg(long)]
    terminal_sim_bin: Option<PathBuf>,
    /// Seconds between kills of a terminal process (alternating), with --terminal-processes.
    #[arg(long, default_value_t = 15)]
    kill_terminals_every: u64,
    /// Do not kill a switch (and a terminal process) during the drain.
    #[arg(long)]
    no_drain_kill: bool,
    /// Clock skew: the second switch instance runs its wall clock this many ms ahead of the
    /// first and of antom-sim (negative: behind), through libfaketime (`apt-get install
    /// faketime`); the monotonic clock is untouched. The switches allow for 500 ms
    /// (`timing.max_clock_skew_ms`); beyond it the run shows what an out-of-tolerance clock
    /// does. `--profile long` uses 400.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_skew_ms: i64,
}

fn share(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not a share between 0 and 1"))
    }
}

fn cause_bound(text: &str) -> Result<(Cause, f64), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not CAUSE=SHARE"))?;
    let cause = Cause::from_name(name.trim()).ok_or_else(|| {
        let names: Vec<&str> = Cause::ALL.iter().map(|c| c.name()).collect();
        format!("unknown cause {name:?} (one of {})", names.join(", "))
    })?;
    Ok((cause, share(value.trim())?))
}

/// The switches' `timing.max_clock_skew_ms` (the default the run's configuration keeps).
const SWITCH_SKEW_TOLERANCE_MS: i64 = 500;

/// Presets of `--profile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Profile {
    /// The long run (see `--profile`).
    Long,
}

/// Applies a preset to the flags left at their defaults.
fn apply_profile(args: &mut Args, matches: &clap::ArgMatches) {
    let default =
        |id: &str| matches.value_source(id) != Some(clap::parser::ValueSource::CommandLine);
    if args.profile == Some(Profile::Long) {
        if default("duration") {
            args.duration = 1_800;
        }
        if default("rate") {
            args.rate = 56.0;
        }
        if default("connections") {
            args.connections = 8;
        }
        if default("rest_rate") {
            args.rest_rate = 5.0;
        }
        if default("redis_fault_every") && args.redis_fault_every.is_none() {
            args.redis_fault_every = Some(300);
        }
        if default("redis_stall_every") && args.redis_stall_every.is_none() {
            args.redis_stall_every = Some(45);
        }
        if default("clock_skew_ms") {
            args.clock_skew_ms = 400;
        }
        args.terminal_processes = true;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let matches = <Args as clap::CommandFactory>::command().get_matches();
    let mut args = match <Args as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(error) => error.exit(),
    };
    apply_profile(&mut args, &matches);
    let duration = Duration::from_secs(args.duration.max(1));
    let mut config = ChaosConfig::new(
        duration,
        args.switch_bin.unwrap_or_else(locate_switch_binary),
    );
    config.rate_per_s = args.rate;
    config.rest_rate_per_s = args.rest_rate;
    config.rest_online_every = args.rest_online_every;
    config.connections_per_instance = args.connections;
    config.kill_every = Duration::from_secs(
        args.kill_every
            .unwrap_or_else(|| (args.duration / 3).clamp(1, 20)),
    );
    config.restart_redis = !args.no_redis_restart;
    config.redis = args.redis;
    config.redis_fault_every = args.redis_fault_every.map(Duration::from_secs);
    config.redis_stall_every = args.redis_stall_every.map(Duration::from_secs);
    config.redis_stall = Duration::from_millis(args.redis_stall_ms);
    config.seed = args.seed;
    config.work_dir = args.work_dir;
    config.mix = args.mix;
    config.quiet_timeout = Duration::from_secs(args.quiet_timeout);
    config.terminal_sim_bin = args.terminal_processes.then(|| {
        args.terminal_sim_bin
            .unwrap_or_else(locate_terminal_sim_binary)
    });
    config.kill_terminals_every = Duration::from_secs(args.kill_terminals_every.max(1));
    config.kill_during_drain = !args.no_drain_kill;
    config.clock_skew_ms = args.clock_skew_ms;
    if args.clock_skew_ms.abs() > SWITCH_SKEW_TOLERANCE_MS {
        eprintln!(
            "chaos: --clock-skew-ms {} is beyond the switches' tolerance ({SWITCH_SKEW_TOLERANCE_MS} ms): timing promises may break by the excess",
            args.clock_skew_ms
        );
    }
    config.uncertain_bounds = UncertainBounds {
        total: args.max_uncertain_share,
        per_cause: args.max_uncertain_cause.into_iter().collect(),
    };
    let report = match run(&config, true).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("chaos: run failed: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.table_text());
    print!("{}", report.summary_text());
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
    if report.consistent() {
        println!(
            "consistent: every terminal and every REST merchant agrees with Antom; every payment is its own request's, named by one record; no refused advice, dead letter or duplicate pay; nothing left after the drain; every record accounted for; uncertain outcomes within bounds"
        );
    } else {
        println!("NOT CONSISTENT (quiet={}):", report.quiet);
        for violation in report.violations() {
            println!("  {violation}");
        }
    }
    ExitCode::from(report.exit_code())
}
