//! The consistency checker of antom-switch under faults (the "chaos run").
//!
//! It owns the whole experiment: a real `redis-server` (AOF, `appendfsync always`), antom-sim
//! with a random fault mix, **two** real `antom-switch` processes sharing that Redis, two
//! `terminal-sim` loads (one per instance), SIGKILL of a switch instance at intervals with a
//! restart, one kill -9 and restart of Redis, a wait until everything is quiet, and then the
//! comparison of what every terminal saw with what Antom holds ([`check`]).
//!
//! It must not know the switch's internals: it talks to the switch only through its binary, its
//! configuration file, ISO 8583 over TCP, `/health/ready` and the `saf` and `txn show` CLI
//! commands; the one rule it shares is the documented derivation of terminal payment ids (with
//! the `[ids] secret` it wrote into the configuration). Every violation it reports
//! ([`verdict::CLASSES`]) is a bug in the switch or a hole in the proof.

pub mod check;
pub mod check_rest;
pub mod clock_shift;
pub mod deployment;
pub mod history;
pub mod rest_load;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use asw_antom_sim::{FaultMix, SimConfig, SimHandle, Simulator};
use asw_terminal_sim::codes::CodeList;
use asw_terminal_sim::durable::Journal;
use asw_terminal_sim::load::{self, LoadConfig, LoadReport, Mix, Summary};
use asw_terminal_sim::{Clock, LinkConfig, ProfileName};
// The switches' configuration file, client id, merchant (every load terminal belongs to it)
// and timings: the tests' one switch configuration.
use asw_testkit::fixtures::switch_config::{
    CLIENT_ID, GATEWAY_DEADLINE_MS, MERCHANT_ID as MID, ONLINE_CLOSE_MARGIN_MS, ONLINE_EXPIRY_MS,
    PAY_TIMEOUT_MS, RestToml, Services, SwitchToml, TERMINAL_TIMEOUT_MS,
};
use asw_testkit::free_port;
use serde::Serialize;

pub use check::{Cause, Comparison, Finding, IdRule, Table};
pub use check_rest::{RestTable, compare_rest, is_rest_payment};
pub use clock_shift::ClockShift;
pub use deployment::{Deployment, RedisKind};
pub use history::Offender;
pub use rest_load::{RestLoadConfig, RestRecord};
pub use verdict::{Evidence, Judgement, LoadEvidence, UncertainBounds, UncertainReport, Violation};

/// SGD, numeric.
const CURRENCY: u16 = 702;
/// Terminal id prefixes, one per switch instance (`CA000000`, `CB000000`, …).
const TID_PREFIXES: [&str; 2] = ["CA", "CB"];

/// Payment-code templates: half plain successes (where the random faults apply), half antom-sim
/// scenarios (declines, U then success/fail, U but stored, lost answers, bad signatures, a
/// SUCCESS notification after a cancel, duplicate notifications).
const CODES: &str = "\
28????????????????
29????????????????
27????????????????
26????????????????
28??????????????00
25????????????????
28??????????????01
28??????????????02
28??????????????03
28??????????????04
28??????????????05
28??????????????10
28??????????????13
28??????????????30
28??????????????31
28??????????????33
28??????????????34
28??????????????40
28??????????????50
28??????????????51
28??????????????52
28??????????????53
";

/// Payment-code suffixes of the REST merchants: `??` random (mostly plain successes, where the
/// random faults apply), the rest antom-sim scenarios (decline, processing then success or fail,
/// processing until cancelled, U, lost answers, slow answers, bad signatures, late and duplicate
/// notifications).
const REST_SUFFIXES: [&str; 16] = [
    "??", "??", "??", "??", "00", "10", "30", "31", "32", "33", "34", "40", "41", "50", "52", "53",
];

/// Settings of one chaos run.
#[derive(Debug, Clone)]
pub struct ChaosConfig {
    /// How long transactions are started for.
    pub duration: Duration,
    /// Transactions per second, across both instances.
    pub rate_per_s: f64,
    /// Terminal connections per instance.
    pub connections_per_instance: usize,
    /// A switch instance is killed (SIGKILL) and restarted this often, alternating.
    pub kill_every: Duration,
    /// Kill -9 and restart Redis once, half-way.
    pub restart_redis: bool,
    /// Seed of the fault dice and the load's choices.
    pub seed: u64,
    /// The `antom-switch` binary.
    pub switch_bin: PathBuf,
    /// Give up waiting for the SAF queue to drain after this.
    pub quiet_timeout: Duration,
    /// Where the switches' logs and configs go (a temp dir when `None`).
    pub work_dir: Option<PathBuf>,
    /// Load scenario weights, `--mix` syntax of terminal-sim.
    pub mix: String,
    /// REST payments started per second (merchants over the REST API, beside the terminals);
    /// 0 runs without them.
    pub rest_rate_per_s: f64,
    /// Every n-th REST payment is an online wallet payment whose buyer approves, declines or
    /// walks away on antom-sim's page (0: none).
    pub rest_online_every: u64,
    /// The Redis deployment the switches share (and whose master the run kills).
    pub redis: RedisKind,
    /// Redis faults this often (the deployment's first and second fault in turn); `None`: the
    /// first half-way and the second at three quarters.
    pub redis_fault_every: Option<Duration>,
    /// Slow Redis: this often, every master holds its clients' writes for `redis_stall`
    /// (`CLIENT PAUSE … WRITE`), longer than the store's command timeout, so writes time out
    /// at the switch and land afterwards. `None`: never.
    pub redis_stall_every: Option<Duration>,
    /// How long each stall holds the writes.
    pub redis_stall: Duration,
    /// How many outcomes may be accepted either way before the run fails.
    pub uncertain_bounds: UncertainBounds,
    /// Run each instance's terminals as a separate `terminal-sim load` process (this binary)
    /// writing durable records, killed with SIGKILL and restarted every `kill_terminals_every`;
    /// `None`: the load runs in this process and is never killed.
    pub terminal_sim_bin: Option<PathBuf>,
    /// How often a terminal process is killed (alternating), when they are processes.
    pub kill_terminals_every: Duration,
    /// Also kill -9 (and restart) during the drain: a switch instance as the quiet wait starts
    /// and, with terminal processes, one terminal process while it finishes its last
    /// transactions.
    pub kill_during_drain: bool,
    /// Clock skew between the instances: the second one runs its wall clock this many ms ahead
    /// of the first (and of antom-sim), with libfaketime; 0: none. Within the switches'
    /// `timing.max_clock_skew_ms` (500 ms) the run must stay consistent.
    pub clock_skew_ms: i64,
}

impl ChaosConfig {
    /// Defaults for a run of `duration` with the switch binary at `switch_bin`.
    pub fn new(duration: Duration, switch_bin: PathBuf) -> Self {
        Self {
            duration,
            rate_per_s: 30.0,
            connections_per_instance: 4,
            kill_every: Duration::from_secs(20),
            restart_redis: true,
            seed: 7,
            switch_bin,
            quiet_timeout: Duration::from_secs(120),
            work_dir: None,
            mix:
                "purchase=60,void=7,refund=6,advice=8,disconnect=7,resend=4,foreign=4,refundvoid=4"
                    .into(),
            redis: RedisKind::Single,
            redis_fault_every: None,
            redis_stall_every: None,
            redis_stall: Duration::from_millis(1_500),
            rest_rate_per_s: 5.0,
            rest_online_every: 3,
            uncertain_bounds: UncertainBounds::default(),
            terminal_sim_bin: None,
            kill_terminals_every: Duration::from_secs(15),
            kill_during_drain: true,
            clock_skew_ms: 0,
        }
    }
}

/// Why a run could not be carried out (as opposed to finding inconsistencies).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    /// The switch binary is missing; build it first.
    #[error("antom-switch binary not found at {0} (cargo build --release -p asw-app)")]
    SwitchBinaryMissing(PathBuf),
    /// Redis could not be started or restarted.
    #[error("redis-server: {0}")]
    Redis(#[from] asw_testkit::TestkitError),
    /// antom-sim could not be configured or started.
    #[error("antom-sim: {0}")]
    Simulator(String),
    /// A switch process failed to start or become ready.
    #[error("switch instance {instance}: {reason}")]
    Switch {
        /// Which instance.
        instance: String,
        /// What went wrong.
        reason: String,
    },
    /// The load generator refused its settings or could not connect.
    #[error("terminal-sim load: {0}")]
    Load(String),
    /// The terminal-sim binary is missing; build it first.
    #[error("terminal-sim binary not found at {0} (cargo build --release -p asw-terminal-sim)")]
    TerminalSimBinaryMissing(PathBuf),
    /// `--clock-skew-ms` needs libfaketime.
    #[error(
        "libfaketime not found (apt-get install faketime, or scripts/ensure-deps.sh; or set ASW_LIBFAKETIME)"
    )]
    NoFaketime,
    /// libfaketime did not shift the clock as asked.
    #[error("clock shift: {0}")]
    ClockShift(String),
    /// A terminal process's durable records cannot be read.
    #[error("terminal records: {0}")]
    Records(#[from] asw_terminal_sim::durable::DurableError),
    /// Local file or process I/O.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// The outcome of a run: the verdict, the table, every finding, the offenders' histories and
/// what happened when.
#[derive(Debug, Clone, Serialize)]
pub struct ChaosReport {
    /// Every violation class with something in it (empty: the run passed).
    pub verdict: Vec<Violation>,
    /// Totals, including `inconsistent`.
    pub table: Table,
    /// The REST merchants' totals, with their own `inconsistent`.
    pub rest: RestTable,
    /// Every violation finding, grouped by class, with both views.
    pub findings: Vec<Finding>,
    /// The first offenders ([`history::OFFENDERS`]) with their full history: record, payment,
    /// Antom's calls, SAF entries and the journal's audit trail.
    pub offenders: Vec<Offender>,
    /// Outcomes the terminal itself could not know (accepted either way), per cause, against
    /// their bounds.
    pub uncertain: UncertainReport,
    /// Each record accepted either way, one finding each.
    pub uncertain_records: Vec<Finding>,
    /// Kills, restarts and the quiet wait, with seconds since the start.
    pub events: Vec<String>,
    /// Whether the SAF queue drained before `quiet_timeout`.
    pub quiet: bool,
    /// The load tools' summaries, one per instance.
    pub loads: Vec<Summary>,
    /// Calls the simulator could not record (its log is capped).
    pub calls_not_recorded: u64,
    /// Wall time of the whole run.
    pub elapsed_s: f64,
    /// The settings, for the record.
    pub settings: serde_json::Value,
}

impl ChaosReport {
    /// True when the verdict found nothing: see [`ChaosReport::violations`].
    pub fn consistent(&self) -> bool {
        self.verdict.is_empty()
    }

    /// Everything the verdict judged and found wrong, one line per class (empty: the run
    /// passed). Not only disagreements between the merchants and Antom: a refused advice, a
    /// payment of the wrong request or named twice, a dead letter, a second `pay` for one
    /// payment, something still processing or queued after the drain, a lost record, too many
    /// outcomes left in doubt — each is a failure of the switch, or a hole in the proof
    /// ([`verdict::CLASSES`]).
    pub fn violations(&self) -> Vec<String> {
        self.verdict.iter().map(ToString::to_string).collect()
    }

    /// The process exit status the verdict asks for: 0 consistent, 1 not.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.verdict.is_empty())
    }

    /// The human summary: the verdict, the uncertain shares and the offenders' histories.
    pub fn summary_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "uncertain (accepted either way): {} of {} records = {:.2}% (bound {:.2}%)\n",
            self.uncertain.total,
            self.uncertain.records,
            self.uncertain.share * 100.0,
            self.uncertain.bound * 100.0
        ));
        for (cause, c) in &self.uncertain.by_cause {
            out.push_str(&format!(
                "  {:<20} {:>6} {:>7.2}%{}  {}\n",
                cause.name(),
                c.count,
                c.share * 100.0,
                c.bound
                    .map(|b| format!(" (bound {:.2}%)", b * 100.0))
                    .unwrap_or_default(),
                c.description
            ));
        }
        if !self.offenders.is_empty() {
            out.push_str(&format!(
                "first {} offenders of {} findings:\n",
                self.offenders.len(),
                self.findings.len()
            ));
            for (i, o) in self.offenders.iter().enumerate() {
                out.push_str(&history::offender_text(i + 1, o));
            }
        }
        out
    }

    /// The table as aligned text.
    pub fn table_text(&self) -> String {
        let value = serde_json::to_value(&self.table).unwrap_or_default();
        let mut out = String::new();
        if let Some(map) = value.as_object() {
            for (k, v) in map {
                out.push_str(&format!("{k:<40} {v:>10}\n"));
            }
        }
        let rest = serde_json::to_value(&self.rest).unwrap_or_default();
        if let Some(map) = rest.as_object() {
            for (k, v) in map {
                out.push_str(&format!("{:<40} {v:>10}\n", format!("rest_{k}")));
            }
        }
        out
    }
}

/// Finds `antom-switch`: `$ASW_SWITCH_BIN`, else next to the running executable (or one level
/// up, for test binaries under `deps/`).
pub fn locate_switch_binary() -> PathBuf {
    locate_binary("ASW_SWITCH_BIN", "antom-switch")
}

/// Finds `terminal-sim`: `$ASW_TERMINAL_SIM_BIN`, else next to the running executable.
pub fn locate_terminal_sim_binary() -> PathBuf {
    locate_binary("ASW_TERMINAL_SIM_BIN", "terminal-sim")
}

fn locate_binary(variable: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    for _ in 0..2 {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
        if !dir.pop() {
            break;
        }
    }
    exe.parent()
        .map(|d| d.join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys")
}

fn read_key(name: &str) -> Result<String, ChaosError> {
    Ok(std::fs::read_to_string(keys_dir().join(name))?)
}

/// The terminal port of the instance after `index` (the terminals' follow-ups go there), when
/// there are two or more.
fn other_instance(switches: &[SwitchProcess], index: usize) -> Option<u16> {
    (switches.len() > 1).then(|| switches[(index + 1) % switches.len()].pos)
}

/// One switch process and what it needs to be restarted.
struct SwitchProcess {
    name: String,
    config: PathBuf,
    log: PathBuf,
    admin: u16,
    pos: u16,
    rest: u16,
    child: Option<Child>,
    bin: PathBuf,
    /// This instance's wall clock runs shifted (every restart too).
    clock: Option<ClockShift>,
}

impl SwitchProcess {
    fn spawn(&mut self) -> Result<(), ChaosError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut command = Command::new(&self.bin);
        if let Some(shift) = &self.clock {
            shift.apply(&mut command);
        }
        let child = command
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            // The switch logs to standard output: keep it, it is what explains an offender.
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| ChaosError::Switch {
                instance: self.name.clone(),
                reason: format!("spawn: {e}"),
            })?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) -> Result<(), ChaosError> {
        let url = format!("http://127.0.0.1:{}/health/ready", self.admin);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(ChaosError::Switch {
                    instance: self.name.clone(),
                    reason: format!("exited with {status}; see {}", self.log.display()),
                });
            }
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(ChaosError::Switch {
            instance: self.name.clone(),
            reason: format!("not ready within 30 s; see {}", self.log.display()),
        })
    }

    /// SIGKILL: no shutdown code runs.
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SwitchProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One instance's `terminal-sim load` process and what it needs to be restarted: the same
/// durable records file, so a restarted process continues the numbering and the STANs and
/// settles what the killed one left in flight.
struct TerminalProcess {
    label: &'static str,
    bin: PathBuf,
    /// Every argument but `--duration`, `--seed` and `--report`.
    args: Vec<String>,
    records: PathBuf,
    work: PathBuf,
    seed: u64,
    child: Option<Child>,
    runs: u32,
    reports: Vec<PathBuf>,
    /// The last run exited normally with nothing left to send.
    done: bool,
    /// The last run was started with nothing left to send (a settling run).
    last_run_final: bool,
    failures: u32,
}

impl TerminalProcess {
    fn spawn(&mut self, remaining: Duration) -> Result<(), ChaosError> {
        self.runs += 1;
        let report = self
            .work
            .join(format!("load-{}-{}.json", self.label, self.runs));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.work.join(format!("terminal-sim-{}.log", self.label)))?;
        let child = Command::new(&self.bin)
            .args(&self.args)
            .arg("--duration")
            .arg(format!("{:.3}", remaining.as_secs_f64()))
            .arg("--seed")
            .arg(
                self.seed
                    .wrapping_add(u64::from(self.runs) * 1_000)
                    .to_string(),
            )
            .arg("--report")
            .arg(&report)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| ChaosError::Load(format!("spawn terminal-sim: {e}")))?;
        self.child = Some(child);
        self.reports.push(report);
        self.last_run_final = remaining.is_zero();
        self.done = false;
        Ok(())
    }

    /// SIGKILL: the process writes nothing more; its records file ends where it was.
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Reaps an exited process: `Some(true)` when it ended normally.
    fn reap(&mut self) -> Option<bool> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status.success())
    }

    /// The summaries the runs that completed wrote.
    fn summaries(&self) -> Vec<Summary> {
        self.reports
            .iter()
            .filter_map(|path| std::fs::read(path).ok())
            .filter_map(|bytes| serde_json::from_slice::<LoadReport>(&bytes).ok())
            .map(|report| report.summary)
            .collect()
    }
}

impl Drop for TerminalProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The REST merchant's API key (a throwaway for the run; the switches get its SHA-256).
const REST_SECRET: &str = "sk_chaos_merchant_7f3a9c";

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn config_text(
    name: &str,
    redis_toml: &str,
    sim: &str,
    ports: (u16, u16, u16, u16),
    terminals: &[String],
) -> String {
    let (pos, hook, admin, rest) = ports;
    let services = Services {
        // Replaced by the deployment's own `[redis]` body below.
        redis_url: String::new(),
        downstream_port: pos,
        webhook_port: hook,
        admin_port: admin,
        instance: name.into(),
    };
    SwitchToml {
        terminals: terminals.to_vec(),
        rest: Some(RestToml {
            port: rest,
            // The POST waits past the response deadline: most answers are final.
            sync_wait_ms: 5_000,
            api_key_sha256: sha256_hex(REST_SECRET),
            webhook: None,
        }),
        redis_toml: Some(redis_toml.to_string()),
        ..SwitchToml::running(sim, keys_dir(), services)
    }
    .render()
}

fn sim_config(seed: u64) -> Result<SimConfig, ChaosError> {
    let sim_err = |e: asw_antom_sim::ConfigError| ChaosError::Simulator(e.to_string());
    let mut sim = SimConfig::from_antom_private_key(&read_key("antom_private_pkcs8.pem")?)
        .map_err(sim_err)?
        .with_client(CLIENT_ID, &read_key("merchant_public.pem")?)
        .map_err(sim_err)?;
    sim.notify_delay = Duration::from_millis(300);
    sim.notify_retry_scale = 0.001;
    sim.notify_timeout = Duration::from_secs(2);
    sim.slow_answer = Duration::from_millis(2_500);
    sim.settle_after_inquiries = 2;
    sim.inquiry_not_found_for = Duration::from_millis(800);
    sim.faults = FaultMix {
        u_rate: 0.10,
        // Slower than the switch's pay timeout: the client gives up, the operation stands.
        slow_rate: 0.05,
        slow_ms: PAY_TIMEOUT_MS + 1_000,
        lost_after_commit_rate: 0.02,
        bad_signature_rate: 0.01,
        http_5xx_rate: 0.01,
        notify_delay_ms: Some([100, 3_000]),
        duplicate_notify_rate: 0.05,
        late_notify_after_cancel_rate: 0.10,
        seed,
    };
    Ok(sim)
}

/// Terminal ids of instance `index` (what its load tool will use).
fn terminal_ids(index: usize, connections: usize) -> Vec<String> {
    let prefix = TID_PREFIXES[index % TID_PREFIXES.len()];
    (0..connections)
        .map(|i| format!("{prefix}{i:06}"))
        .collect()
}

/// The entries `antom-switch saf <what>` prints (`list`: queued, `dead`: dead letters), as
/// JSON values; `None` when the CLI could not answer (e.g. Redis restarting).
async fn saf_entries(bin: &Path, config: &Path, what: &str) -> Option<Vec<serde_json::Value>> {
    let output = tokio::process::Command::new(bin)
        .args(["saf", what, "--max", "100000", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    match value {
        serde_json::Value::Array(entries) => Some(entries),
        _ => None,
    }
}

/// The `[ids] secret` of a switch configuration text (the checker rebuilds exact payment ids
/// with it); `None` when the text has none inline.
pub fn ids_secret(config_text: &str) -> Option<Vec<u8>> {
    let mut in_ids = false;
    for line in config_text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_ids = line == "[ids]";
            continue;
        }
        if in_ids
            && let Some(value) = line.strip_prefix("secret")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            let value = value.trim();
            return value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(|v| v.as_bytes().to_vec());
        }
    }
    None
}

struct Timeline {
    start: Instant,
    events: Vec<String>,
    verbose: bool,
}

impl Timeline {
    fn note(&mut self, what: impl Into<String>) {
        let line = format!(
            "{:7.1}s {}",
            self.start.elapsed().as_secs_f64(),
            what.into()
        );
        if self.verbose {
            eprintln!("chaos: {line}");
        }
        self.events.push(line);
    }
}

/// Runs the experiment and compares. `verbose` prints the timeline to stderr as it happens.
pub async fn run(config: &ChaosConfig, verbose: bool) -> Result<ChaosReport, ChaosError> {
    if !config.switch_bin.is_file() {
        return Err(ChaosError::SwitchBinaryMissing(config.switch_bin.clone()));
    }
    let mut timeline = Timeline {
        start: Instant::now(),
        events: Vec::new(),
        verbose,
    };
    let temp = tempfile::Builder::new().prefix("asw-chaos-").tempdir()?;
    let work = config
        .work_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&work)?;

    let mut redis = tokio::task::block_in_place(|| Deployment::start(config.redis))?;
    timeline.note(redis.describe());
    let sim = Simulator::start(sim_config(config.seed)?)
        .await
        .map_err(|e| ChaosError::Simulator(e.to_string()))?;
    timeline.note(format!("antom-sim on {}", sim.base_url()));

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| ChaosError::Load(e.to_string()))?;
    let connections = config.connections_per_instance.max(1);
    let mut all_terminals = Vec::new();
    for index in 0..TID_PREFIXES.len() {
        all_terminals.extend(terminal_ids(index, connections));
    }
    // The second instance's clock runs ahead by the skew (the first and antom-sim keep the
    // host's): proved on this host before the run relies on it.
    let shift = match config.clock_skew_ms {
        0 => None,
        skew => {
            let shift = ClockShift::locate(skew)?;
            let measured = shift.verify()?;
            timeline.note(format!(
                "switch chaos-b runs its clock {} ms ahead (libfaketime {}; measured {measured} ms)",
                skew,
                shift.spec()
            ));
            Some(shift)
        }
    };
    let mut switches = Vec::new();
    let mut secret = None;
    for (index, name) in ["chaos-a", "chaos-b"].into_iter().enumerate() {
        let ports = (free_port()?, free_port()?, free_port()?, free_port()?);
        let path = work.join(format!("{name}.toml"));
        let text = config_text(
            name,
            &redis.redis_toml(),
            &sim.base_url(),
            ports,
            &all_terminals,
        );
        secret = secret.or_else(|| ids_secret(&text));
        std::fs::write(&path, text)?;
        let mut switch = SwitchProcess {
            name: name.into(),
            config: path,
            log: work.join(format!("{name}.log")),
            admin: ports.2,
            pos: ports.0,
            rest: ports.3,
            child: None,
            bin: config.switch_bin.clone(),
            clock: shift.clone().filter(|_| index == 1),
        };
        switch.spawn()?;
        switch.wait_ready(&http).await?;
        timeline.note(format!(
            "switch {name} ready (pos {}, admin {})",
            ports.0, ports.2
        ));
        switches.push(switch);
    }

    // Two loads, one per instance, running concurrently with the fault injector: in this
    // process, or as `terminal-sim load` processes that are killed and restarted too.
    let mut loads = Vec::new();
    let mut terminals: Vec<TerminalProcess> = Vec::new();
    let mix: Mix = config.mix.parse().map_err(ChaosError::Load)?;
    let codes = CodeList::parse(CODES).map_err(|e| ChaosError::Load(e.to_string()))?;
    let rate_per_instance = config.rate_per_s / TID_PREFIXES.len() as f64;
    if let Some(bin) = &config.terminal_sim_bin {
        if !bin.is_file() {
            return Err(ChaosError::TerminalSimBinaryMissing(bin.clone()));
        }
        let codes_path = work.join("codes.txt");
        std::fs::write(&codes_path, CODES)?;
        for (index, switch) in switches.iter().enumerate() {
            let label = TID_PREFIXES[index % TID_PREFIXES.len()];
            let records = work.join(format!("terminals-{label}.jsonl"));
            // A reused work dir must not resume an earlier run's records.
            match std::fs::remove_file(&records) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            let mut args: Vec<String> = vec![
                "--connect".into(),
                format!("127.0.0.1:{}", switch.pos),
                "--profile".into(),
                "B".into(),
                "--timeout-ms".into(),
                TERMINAL_TIMEOUT_MS.to_string(),
                "load".into(),
                "--connections".into(),
                connections.to_string(),
                "--rate".into(),
                rate_per_instance.to_string(),
                "--mix".into(),
                config.mix.clone(),
                "--codes".into(),
                codes_path.display().to_string(),
                "--amount-min".into(),
                "100".into(),
                "--amount-max".into(),
                "99999".into(),
                "--currency".into(),
                CURRENCY.to_string(),
                "--mid".into(),
                MID.into(),
                "--tid-prefix".into(),
                label.into(),
                "--late-ms".into(),
                "200".into(),
                "--records".into(),
                records.display().to_string(),
                "--utc".into(),
            ];
            // Re-sent purchases and every other attempt of an advice go to the other instance,
            // as a terminal's reconnect behind a load balancer may.
            if let Some(other) = other_instance(&switches, index) {
                args.extend(["--follow-ups-to".into(), format!("127.0.0.1:{other}")]);
            }
            let mut process = TerminalProcess {
                label,
                bin: bin.clone(),
                args,
                records,
                work: work.clone(),
                seed: config.seed.wrapping_mul(31).wrapping_add(index as u64),
                child: None,
                runs: 0,
                reports: Vec::new(),
                done: false,
                last_run_final: false,
                failures: 0,
            };
            process.spawn(config.duration)?;
            terminals.push(process);
        }
    } else {
        for (index, switch) in switches.iter().enumerate() {
            let link = LinkConfig::for_profile(ProfileName::PosBinary)
                .map_err(|e| ChaosError::Load(e.to_string()))?;
            let mut lc = LoadConfig::new(
                std::net::SocketAddr::from(([127, 0, 0, 1], switch.pos)),
                link,
            );
            lc.connections = connections;
            lc.rate_per_s = rate_per_instance;
            lc.duration = config.duration;
            lc.mix = mix.clone();
            lc.codes = codes.clone();
            lc.amount_min = 100;
            lc.amount_max = 99_999;
            lc.currency = CURRENCY;
            lc.merchant_id = MID.into();
            lc.terminal_prefix = TID_PREFIXES[index].into();
            lc.response_timeout = Duration::from_millis(TERMINAL_TIMEOUT_MS);
            lc.reverse_on_timeout = true;
            lc.late_after = Duration::from_millis(200);
            lc.seed = config.seed.wrapping_mul(31).wrapping_add(index as u64);
            lc.clock = Clock::utc();
            lc.follow_up_addr = other_instance(&switches, index)
                .map(|other| std::net::SocketAddr::from(([127, 0, 0, 1], other)));
            loads.push(tokio::spawn(load::run(lc)));
        }
    }
    let rest_load = (config.rest_rate_per_s > 0.0).then(|| {
        tokio::spawn(rest_load::run(RestLoadConfig {
            endpoints: switches
                .iter()
                .map(|s| std::net::SocketAddr::from(([127, 0, 0, 1], s.rest)))
                .collect(),
            secret: REST_SECRET.into(),
            rate_per_s: config.rest_rate_per_s,
            duration: config.duration,
            // Past the gateway deadline (an orphaned first request is settled by then) and
            // past an online payment's closing time (its expiry plus the margin).
            give_up_after: Duration::from_millis(
                GATEWAY_DEADLINE_MS.max(ONLINE_EXPIRY_MS + ONLINE_CLOSE_MARGIN_MS) + 6_000,
            ),
            suffixes: REST_SUFFIXES.to_vec(),
            seed: config.seed,
            online_every: config.rest_online_every,
            sim_url: sim.base_url(),
        }))
    });
    timeline.note(format!(
        "load started: {} tx/s for {:?} over {} connections",
        config.rate_per_s,
        config.duration,
        connections * TID_PREFIXES.len()
    ));

    // Fault injector: kill -9 one instance every `kill_every` (alternating) and restart it;
    // Redis faults half-way and at three quarters, or every `redis_fault_every`.
    let load_done = Arc::new(AtomicBool::new(false));
    let run_start = Instant::now();
    let mut next_kill = run_start + config.kill_every;
    let (mut redis_at, mut second_redis_fault_at) = match config.redis_fault_every {
        Some(every) if config.restart_redis => (Some(run_start + every), None),
        _ => (
            config
                .restart_redis
                .then(|| run_start + config.duration / 2),
            config
                .restart_redis
                .then(|| run_start + config.duration * 3 / 4),
        ),
    };
    let mut redis_faults = 0u32;
    let mut next_stall = config.redis_stall_every.map(|every| run_start + every);
    let mut victim = 0usize;
    let mut load_handles = loads;
    let mut finished: Vec<Option<LoadReport>> = load_handles.iter().map(|_| None).collect();
    // Terminal kills fall between switch kills.
    let mut next_terminal_kill = run_start + config.kill_terminals_every / 2;
    let mut terminal_victim = 0usize;
    let mut drain_kill_done = !config.kill_during_drain || terminals.is_empty();
    loop {
        // Poll the loads.
        for (i, handle) in load_handles.iter_mut().enumerate() {
            if finished[i].is_none() && handle.is_finished() {
                let report = handle
                    .await
                    .map_err(|e| ChaosError::Load(e.to_string()))?
                    .map_err(|e| ChaosError::Load(e.to_string()))?;
                finished[i] = Some(report);
            }
        }
        let remaining = config.duration.saturating_sub(run_start.elapsed());
        for process in &mut terminals {
            match process.reap() {
                Some(true) => process.done = true,
                Some(false) => {
                    // Mostly a start while its switch was down (the first connections are
                    // refused): try again with what is left of the window.
                    process.failures += 1;
                    if process.failures > 50 {
                        return Err(ChaosError::Load(format!(
                            "terminal-sim {} keeps failing; see {}",
                            process.label,
                            work.join(format!("terminal-sim-{}.log", process.label))
                                .display()
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    process.spawn(remaining)?;
                }
                None => {}
            }
        }
        if finished.iter().all(Option::is_some) && terminals.iter().all(|t| t.done) {
            load_done.store(true, Ordering::SeqCst);
            break;
        }
        let sending = run_start.elapsed() < config.duration;
        let now = Instant::now();
        if sending && !terminals.is_empty() && now >= next_terminal_kill {
            let count = terminals.len();
            let process = &mut terminals[terminal_victim % count];
            if process.running() {
                process.kill9();
                timeline.note(format!("kill -9 terminal-sim {}", process.label));
                process.spawn(remaining)?;
                timeline.note(format!(
                    "terminal-sim {} restarted on its records ({:.1} s of load left)",
                    process.label,
                    remaining.as_secs_f64()
                ));
            }
            terminal_victim += 1;
            next_terminal_kill = now + config.kill_terminals_every;
        }
        if !drain_kill_done && run_start.elapsed() >= config.duration + Duration::from_secs(2) {
            // The window is over but answers, voids and advices are still in flight.
            if let Some(process) = terminals.iter_mut().find(|t| t.running()) {
                process.kill9();
                timeline.note(format!(
                    "kill -9 terminal-sim {} while it drains",
                    process.label
                ));
                process.spawn(Duration::ZERO)?;
                timeline.note(format!(
                    "terminal-sim {} restarted to settle what it left in flight",
                    process.label
                ));
            }
            drain_kill_done = true;
        }
        if sending
            && let Some(at) = redis_at
            && now >= at
        {
            let note = &mut |n| timeline.note(n);
            if redis_faults % 2 == 1 && redis.kind() == RedisKind::Cluster {
                tokio::task::block_in_place(|| redis.second_fault(note))?;
            } else {
                tokio::task::block_in_place(|| redis.first_fault(note))?;
            }
            redis_faults += 1;
            redis_at = config.redis_fault_every.map(|every| Instant::now() + every);
        }
        if sending
            && let Some(at) = second_redis_fault_at
            && now >= at
        {
            tokio::task::block_in_place(|| redis.second_fault(&mut |n| timeline.note(n)))?;
            second_redis_fault_at = None;
        }
        if sending
            && let Some(at) = next_stall
            && now >= at
        {
            let note = &mut |n| timeline.note(n);
            tokio::task::block_in_place(|| redis.stall_writes(config.redis_stall, note))?;
            next_stall = config.redis_stall_every.map(|every| Instant::now() + every);
        }
        if sending && now >= next_kill {
            let count = switches.len();
            let switch = &mut switches[victim % count];
            switch.kill9();
            timeline.note(format!("kill -9 switch {}", switch.name));
            tokio::time::sleep(Duration::from_millis(300)).await;
            switch.spawn()?;
            switch.wait_ready(&http).await?;
            timeline.note(format!("switch {} restarted and ready", switch.name));
            victim += 1;
            next_kill = Instant::now() + config.kill_every;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reports: Vec<LoadReport> = finished.into_iter().flatten().collect();
    let rest_records = match rest_load {
        Some(task) => task.await.map_err(|e| ChaosError::Load(e.to_string()))?,
        None => Vec::new(),
    };
    timeline.note("load finished");
    if config.kill_during_drain {
        // The queue drains across a crash too: whatever the killed instance held is taken
        // over by the other one or by itself after the restart.
        let count = switches.len();
        let switch = &mut switches[victim % count];
        switch.kill9();
        timeline.note(format!(
            "kill -9 switch {} as the drain starts",
            switch.name
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        switch.spawn()?;
        switch.wait_ready(&http).await?;
        timeline.note(format!("switch {} restarted and ready", switch.name));
    }

    // Quiet: every gateway deadline passed and the SAF queue empty (twice in a row).
    tokio::time::sleep(Duration::from_millis(GATEWAY_DEADLINE_MS + 2_000)).await;
    let quiet_start = Instant::now();
    let mut quiet = false;
    let mut empty_in_a_row = 0;
    let mut saf_left = Vec::new();
    while quiet_start.elapsed() < config.quiet_timeout {
        match saf_entries(&config.switch_bin, &switches[0].config, "list").await {
            Some(entries) if entries.is_empty() => {
                empty_in_a_row += 1;
                saf_left = entries;
                if empty_in_a_row >= 3 {
                    quiet = true;
                    break;
                }
            }
            Some(entries) => {
                empty_in_a_row = 0;
                saf_left = entries;
            }
            None => empty_in_a_row = 0,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    timeline.note(if quiet {
        "quiet: SAF empty".to_string()
    } else {
        format!(
            "not quiet after {:?}: {} SAF entries left",
            config.quiet_timeout,
            saf_left.len()
        )
    });
    // Late notifications still in flight must not change the verdict: let them land first.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let dead_letters = saf_entries(&config.switch_bin, &switches[0].config, "dead")
        .await
        .unwrap_or_default();
    let final_saf = saf_entries(&config.switch_bin, &switches[0].config, "list")
        .await
        .unwrap_or(saf_left);

    let year = time::OffsetDateTime::now_utc().year();
    let mut load_evidence: Vec<LoadEvidence> = reports
        .iter()
        .zip(TID_PREFIXES)
        .map(|(r, label)| LoadEvidence {
            label: label.into(),
            scheduled: r.summary.scheduled,
            records: r.transactions.clone(),
            runs: Vec::new(),
        })
        .collect();
    let mut summaries: Vec<Summary> = reports.iter().map(|r| r.summary.clone()).collect();
    for process in &terminals {
        // What each terminal process made durable is the record: the killed runs' reports
        // were never written.
        let journal = Journal::read(&process.records)?;
        load_evidence.push(LoadEvidence::from_journal(process.label, &journal));
        summaries.extend(process.summaries());
        timeline.note(format!(
            "terminal-sim {}: {} runs, {} records{}",
            process.label,
            journal.runs.len(),
            journal.records.len(),
            if journal.torn_tail {
                ", a torn last line skipped"
            } else {
                ""
            }
        ));
    }
    let evidence = Evidence {
        loads: load_evidence,
        rest_records,
        payments: sim.payments(),
        calls: sim.calls(),
        dead_letters,
        saf_left: final_saf,
        quiet,
        calls_not_recorded: not_recorded(&http, &sim).await,
        ids: IdRule::new(year, secret),
    };
    let judgement = verdict::judge(&evidence, &config.uncertain_bounds);
    timeline.note(format!(
        "compared {} transactions and {} REST payments with {} payments at Antom: {} violation classes, {} findings",
        judgement.table.transactions,
        judgement.rest.payments,
        evidence.payments.len(),
        judgement.violations.len(),
        judgement.findings.len()
    ));
    // Before the switches and Redis go: the journal is read through the switch CLI.
    let mut offenders = history::offenders(&judgement.findings, &evidence, history::OFFENDERS);
    history::attach_journals(&mut offenders, &config.switch_bin, &switches[0].config).await;

    for mut switch in switches {
        switch.kill9();
    }
    let calls_not_recorded = evidence.calls_not_recorded;
    sim.shutdown().await;
    drop(redis);
    let settings = serde_json::json!({
        "duration_s": config.duration.as_secs_f64(),
        "rate_per_s": config.rate_per_s,
        "connections_per_instance": connections,
        "kill_every_s": config.kill_every.as_secs_f64(),
        "restart_redis": config.restart_redis,
        "redis": config.redis,
        "redis_fault_every_s": config.redis_fault_every.map(|d| d.as_secs_f64()),
        "redis_stall_every_s": config.redis_stall_every.map(|d| d.as_secs_f64()),
        "redis_stall_ms": config.redis_stall.as_millis(),
        "seed": config.seed,
        "mix": config.mix,
        "rest_rate_per_s": config.rest_rate_per_s,
        "uncertain_bounds": config.uncertain_bounds,
        "terminal_processes": config.terminal_sim_bin.is_some(),
        "kill_terminals_every_s": config.kill_terminals_every.as_secs_f64(),
        "kill_during_drain": config.kill_during_drain,
        "clock_skew_ms": config.clock_skew_ms,
        "work_dir": work.display().to_string(),
    });
    Ok(ChaosReport {
        verdict: judgement.violations,
        table: judgement.table,
        rest: judgement.rest,
        findings: judgement.findings,
        offenders,
        uncertain: judgement.uncertain,
        uncertain_records: judgement.uncertain_findings,
        events: timeline.events,
        quiet,
        loads: summaries,
        calls_not_recorded,
        elapsed_s: timeline.start.elapsed().as_secs_f64(),
        settings,
    })
}

async fn not_recorded(http: &reqwest::Client, sim: &SimHandle) -> u64 {
    let url = format!("{}/__sim/calls", sim.base_url());
    let Ok(response) = http.get(&url).send().await else {
        return 0;
    };
    let Ok(body) = response.bytes().await else {
        return 0;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return 0;
    };
    value["notRecorded"].as_u64().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ids_secret_is_read_from_the_ids_section_only() {
        let text = "[rest]\nsecret = \"not-this\"\n[ids]\nsecret = \"s3cret\"\n[[merchants]]\n";
        assert_eq!(ids_secret(text), Some(b"s3cret".to_vec()));
        assert_eq!(ids_secret("[ids]\nsecret_file = \"/x\"\n"), None);
        assert_eq!(ids_secret("[rest]\nsecret = \"x\"\n"), None);
    }

    #[test]
    fn the_switch_configuration_the_run_writes_carries_the_ids_secret() {
        // Without it the checker could only compare id prefixes: a configuration change that
        // moves the secret out of the file must show up here.
        let text = config_text(
            "chaos-a",
            "url = \"redis://127.0.0.1:1\"",
            "http://127.0.0.1:2",
            (3, 4, 5, 6),
            &terminal_ids(0, 2),
        );
        assert!(ids_secret(&text).is_some_and(|s| !s.is_empty()));
    }
}
