//! Open-loop load generator: transactions start on a fixed schedule (by time, never by
//! answers), so a slow switch shows up as latency and late sends instead of silently
//! lowering the offered rate. Latency is measured from the *scheduled* start.
//!
//! Every transaction leaves a [`TxRecord`] of what the terminal saw, for a consistency
//! check against the Antom simulator's ledger: `terminal_believes_paid` is the
//! terminal's final belief (approved and neither voided nor reversed).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_iso8583::mask_payment_code;
use asw_iso8583::tlv::{PrivateData, Tag};
use asw_iso8583::{Message, Mti};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::codes::CodeList;
use crate::durable::{DurableError, Entry, InFlight, Journal, RecordLog, STAN_MARGIN};
use crate::flows::{MessageFactory, Original, Reference};
use crate::link::LinkConfig;
use crate::stan::StanCounter;
use crate::terminal::{Terminal, TerminalError};

/// What a generated transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// A purchase.
    Purchase,
    /// A purchase, then a void of it when approved.
    Void,
    /// A purchase, then a full refund of it when approved.
    Refund,
    /// A purchase, then a reversal advice (0420, repeated as 0421) whatever the answer.
    Advice,
    /// A purchase on its own connection, closed right after sending (no answer seen).
    Disconnect,
    /// A purchase, then, once answered, the same request again on its own connection that is
    /// closed right after sending: a duplicate whose answer nobody reads. The terminal keeps
    /// the first answer, so the switch must not undo it when re-sending the answer fails.
    Resend,
    /// A purchase, then, when approved, a refund and a void of it sent by *another* terminal
    /// of the run (on that terminal's own connection): both must be refused and change
    /// nothing at Antom.
    Foreign,
    /// A purchase, then, when approved, a refund of half of it and a void of the whole: the
    /// void of a refunded payment cannot be honoured, so it must be declined (or, when the
    /// refund did not go through, carried out).
    RefundVoid,
}

impl Scenario {
    /// Name used in `--mix` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Purchase => "purchase",
            Scenario::Void => "void",
            Scenario::Refund => "refund",
            Scenario::Advice => "advice",
            Scenario::Disconnect => "disconnect",
            Scenario::Resend => "resend",
            Scenario::Foreign => "foreign",
            Scenario::RefundVoid => "refundvoid",
        }
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Scenario::Purchase,
            Scenario::Void,
            Scenario::Refund,
            Scenario::Advice,
            Scenario::Disconnect,
            Scenario::Resend,
            Scenario::Foreign,
            Scenario::RefundVoid,
        ]
        .into_iter()
        .find(|scenario| scenario.name() == s)
        .ok_or_else(|| format!("unknown scenario {s:?}"))
    }
}

/// Weighted scenarios, e.g. `purchase=90,void=3,refund=2,advice=3,disconnect=1,resend=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    weights: Vec<(Scenario, u32)>,
    total: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            weights: vec![(Scenario::Purchase, 1)],
            total: 1,
        }
    }
}

impl FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut weights = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not scenario=weight"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("weight of {name:?} is not a whole number"))?;
            weights.push((name.trim().parse()?, weight));
        }
        let total = weights.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return Err("the mix needs at least one positive weight".into());
        }
        Ok(Mix { weights, total })
    }
}

impl Mix {
    /// A scenario drawn by weight.
    pub fn pick(&self, rng: &mut impl Rng) -> Scenario {
        let mut roll = rng.random_range(0..self.total);
        for (scenario, weight) in &self.weights {
            if roll < *weight {
                return *scenario;
            }
            roll -= weight;
        }
        Scenario::Purchase
    }
}

/// Settings of a load run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The switch.
    pub addr: SocketAddr,
    /// Wire settings.
    pub link: LinkConfig,
    /// Persistent connections, one simulated terminal (TID) each.
    pub connections: usize,
    /// Transactions started per second.
    pub rate_per_s: f64,
    /// How long transactions are started for.
    pub duration: Duration,
    /// Scenario weights.
    pub mix: Mix,
    /// Payment code templates.
    pub codes: CodeList,
    /// Smallest purchase amount (minor units).
    pub amount_min: u64,
    /// Largest purchase amount (minor units).
    pub amount_max: u64,
    /// F49, ISO 4217 numeric.
    pub currency: u16,
    /// F42.
    pub merchant_id: String,
    /// Terminal ids are this prefix followed by the connection index, 8 characters in all.
    pub terminal_prefix: String,
    /// F24 (NII) to send, if any.
    pub nii: Option<String>,
    /// How long a terminal waits for an answer.
    pub response_timeout: Duration,
    /// Send a reversal advice when a purchase gets no answer (what real terminals do).
    pub reverse_on_timeout: bool,
    /// A request written later than this after its scheduled time counts as late.
    pub late_after: Duration,
    /// Seed of scenario, amount and code choices.
    pub seed: u64,
    /// Terminal clock.
    pub clock: Clock,
    /// Write every record to this append-only file, made durable before each message is sent
    /// ([`crate::durable`]); a run on a file that already holds records continues its numbering
    /// and STANs and settles what a killed predecessor left in flight.
    pub durable_records: Option<std::path::PathBuf>,
    /// Another instance of the switch: re-sent purchases go to it, and reversal advices
    /// alternate between it (first) and `addr` — a terminal whose reconnect lands on the other
    /// node behind a load balancer.
    pub follow_up_addr: Option<SocketAddr>,
}

impl LoadConfig {
    /// Defaults for everything but the target and link.
    pub fn new(addr: SocketAddr, link: LinkConfig) -> Self {
        LoadConfig {
            addr,
            link,
            connections: 10,
            rate_per_s: 100.0,
            duration: Duration::from_secs(10),
            mix: Mix::default(),
            codes: CodeList::default(),
            amount_min: 100,
            amount_max: 99_999,
            currency: 344,
            merchant_id: "M00000000000001".into(),
            terminal_prefix: "L".into(),
            nii: None,
            response_timeout: Duration::from_secs(65),
            reverse_on_timeout: true,
            late_after: Duration::from_millis(5),
            seed: 1,
            clock: Clock::utc(),
            durable_records: None,
            follow_up_addr: None,
        }
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A setting is unusable.
    #[error("invalid load settings: {0}")]
    Config(String),
    /// The first connections could not be opened.
    #[error(transparent)]
    Connect(#[from] TerminalError),
    /// The durable records file cannot be read or written.
    #[error(transparent)]
    Durable(#[from] DurableError),
}

/// The follow-up kinds, as static names (records read back from a file name them by text).
const FOLLOW_UP_KINDS: [&str; 8] = [
    "void",
    "refund",
    "reversal_advice",
    "resend",
    "partial_refund",
    "foreign_refund",
    "foreign_void",
    "purchase",
];

/// The static name of follow-up kind `kind`.
pub fn follow_up_kind(kind: &str) -> Option<&'static str> {
    FOLLOW_UP_KINDS.into_iter().find(|k| *k == kind)
}

/// A [`FollowUp`] as read back from a file: its kind as text, made static on the way in.
#[derive(Deserialize)]
struct FollowUpText {
    kind: String,
    mti: String,
    stan: String,
    attempts: u32,
    response_code: Option<String>,
    #[serde(default)]
    answers: Vec<String>,
    rrn: Option<String>,
    latency_us: Option<u64>,
    error: Option<String>,
}

// By hand: a derived impl would borrow the `&'static str` kind from the input.
impl<'de> Deserialize<'de> for FollowUp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FollowUp::try_from(FollowUpText::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<FollowUpText> for FollowUp {
    type Error = String;
    fn try_from(f: FollowUpText) -> Result<Self, String> {
        Ok(FollowUp {
            kind: follow_up_kind(&f.kind)
                .ok_or_else(|| format!("unknown follow-up kind {:?}", f.kind))?,
            mti: f.mti,
            stan: f.stan,
            attempts: f.attempts,
            response_code: f.response_code,
            answers: f.answers,
            rrn: f.rrn,
            latency_us: f.latency_us,
            error: f.error,
        })
    }
}

/// A message sent after the purchase (void, refund, reversal advice) and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct FollowUp {
    /// `void`, `refund`, `reversal_advice`, `resend` (a duplicate whose answer is not read),
    /// `partial_refund` (half the amount, before a void), `foreign_refund` / `foreign_void`
    /// (sent by another terminal).
    pub kind: &'static str,
    /// MTI of the last message sent (0421 when the advice was repeated).
    pub mti: String,
    /// Its F11.
    pub stan: String,
    /// Messages sent (advices are repeated until acknowledged, up to [`ADVICE_ATTEMPTS`]
    /// times).
    pub attempts: u32,
    /// F39 of the answer to the last message sent.
    pub response_code: Option<String>,
    /// F39 of the answer to each message sent, in order, `none` where nothing came back: a
    /// refusal (e.g. `96`) before the acknowledgement is otherwise lost from the record, and
    /// the checker judges every answer the switch gave, not only the last one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    /// F37 of the answer.
    pub rrn: Option<String>,
    /// From sending to the answer.
    pub latency_us: Option<u64>,
    /// Why there was no answer.
    pub error: Option<String>,
}

/// How many times a reversal advice is sent at most: the 0420, then 0421 repeats until a 0430
/// with `00` acknowledges it. A real terminal keeps repeating (for hours, across restarts); the
/// load tool must end, so an advice still unacknowledged after this many is recorded as such.
/// With the doubling pause below the attempts span about 16 s: longer than a Redis master's
/// failover and its replica's resynchronisation, during which a switch that cannot store an
/// advice durably refuses it (96) rather than acknowledge it.
pub const ADVICE_ATTEMPTS: u32 = 6;

/// Pause before the first 0421 repeat of a reversal advice; it doubles before each next one
/// (0.5, 1, 2, 4, 8 s).
pub const ADVICE_REPEAT_DELAY: Duration = Duration::from_millis(500);

/// What the terminal saw of one transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxRecord {
    /// Sequence number in the schedule.
    pub seq: u64,
    /// Scenario.
    pub scenario: Scenario,
    /// F42.
    pub merchant_id: String,
    /// F41.
    pub terminal_id: String,
    /// F13 (local MMDD).
    pub local_date: String,
    /// F12 (local hhmmss).
    pub local_time: String,
    /// F7 (UTC MMDDhhmmss).
    pub transmission: String,
    /// F11.
    pub stan: String,
    /// F4 (minor units).
    pub amount: u64,
    /// F49.
    pub currency: u16,
    /// F48 PC, masked.
    pub payment_code: String,
    /// Scheduled start, from the start of the run.
    pub scheduled_at_ms: f64,
    /// When the purchase write completed, from the start of the run.
    pub sent_at_ms: Option<f64>,
    /// Written later than `late_after` after the scheduled time.
    pub sent_late: bool,
    /// Whether the purchase was written at all.
    pub sent: bool,
    /// F39 of the purchase answer.
    pub response_code: Option<String>,
    /// F37 of the purchase answer.
    pub rrn: Option<String>,
    /// F48 PR of the purchase answer.
    pub payment_request_id: Option<String>,
    /// F48 PI of the purchase answer.
    pub payment_id: Option<String>,
    /// From the scheduled start to the answer.
    pub latency_us: Option<u64>,
    /// The terminal closed its connection before the answer (disconnect scenario).
    pub disconnected_before_answer: bool,
    /// No answer within the response timeout.
    pub timed_out: bool,
    /// Why there was no answer (send error, connection closed).
    pub error: Option<String>,
    /// Void, refund or reversal advice sent afterwards: the last follow-up, the one that
    /// decides the terminal's belief.
    pub follow_up: Option<FollowUp>,
    /// Follow-ups sent before `follow_up` or by other terminals: a partial refund before a
    /// void, refunds and voids from a terminal with no authority over the payment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_follow_ups: Vec<FollowUp>,
    /// The terminal's final belief: approved and neither voided nor reversed.
    pub terminal_believes_paid: bool,
    /// In a durable snapshot: the message about to be sent when it was written (none once the
    /// transaction is finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<InFlight>,
    /// The load process was killed while this message was in flight (`purchase`, `void`…):
    /// it may or may not have reached the switch; a restarted process settled it as a real
    /// terminal does after a power loss (a reversal advice for a purchase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed_while: Option<String>,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p99_9: u64,
    /// Largest.
    pub max: u64,
}

/// Totals of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Switch address.
    pub target: String,
    /// Connections opened.
    pub connections: usize,
    /// Offered rate.
    pub rate_per_s: f64,
    /// Sending window.
    pub duration_s: f64,
    /// Transactions scheduled.
    pub scheduled: u64,
    /// Purchases written.
    pub sent: u64,
    /// Purchases that could not be written.
    pub send_errors: u64,
    /// Purchases written later than `late_after` after their scheduled time.
    pub sent_late: u64,
    /// `late_after` in milliseconds.
    pub late_after_ms: f64,
    /// Largest delay between a purchase's scheduled time and its write, in ms.
    pub max_send_lag_ms: f64,
    /// Purchases written per second, from the start to the last write.
    pub achieved_send_rate_per_s: f64,
    /// Purchases answered.
    pub answered: u64,
    /// Purchases not answered in time.
    pub timeouts: u64,
    /// Purchases whose terminal hung up on purpose.
    pub disconnects: u64,
    /// Purchase latency from the scheduled start, answered ones only.
    pub latency_us: Percentiles,
    /// Purchase answers by F39.
    pub response_codes: BTreeMap<String, u64>,
    /// Transactions by scenario.
    pub scenarios: BTreeMap<String, u64>,
    /// Follow-up answers by kind and F39 (`void:00`, `reversal_advice:none`…).
    pub follow_ups: BTreeMap<String, u64>,
    /// Answers that matched no outstanding request.
    pub unmatched_answers: u64,
    /// Wall time of the whole run including the wait for the last answers.
    pub elapsed_s: f64,
    /// CPU time (user + system) this process spent on the run, when the OS tells
    /// (Linux). On a shared machine this, not the achieved rate, shows capacity.
    pub cpu_seconds: Option<f64>,
    /// `cpu_seconds` per scheduled transaction, in microseconds.
    pub cpu_us_per_transaction: Option<f64>,
}

/// A run's summary and every transaction record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    /// Totals.
    pub summary: Summary,
    /// One record per scheduled transaction, in schedule order.
    pub transactions: Vec<TxRecord>,
}

struct Slot {
    terminal_id: String,
    stan: StanCounter,
    terminal: tokio::sync::Mutex<Option<Arc<Terminal>>>,
    unmatched_of_closed: std::sync::atomic::AtomicU64,
}

impl Slot {
    async fn terminal(&self, ctx: &Ctx) -> Result<Arc<Terminal>, TerminalError> {
        let mut current = self.terminal.lock().await;
        if let Some(terminal) = current.as_ref().filter(|t| !t.is_closed()) {
            return Ok(Arc::clone(terminal));
        }
        if let Some(old) = current.take() {
            self.unmatched_of_closed.fetch_add(
                old.unmatched_answers(),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        let terminal = Arc::new(Terminal::connect(ctx.config.addr, ctx.config.link.clone()).await?);
        *current = Some(Arc::clone(&terminal));
        Ok(terminal)
    }
}

struct Ctx {
    config: LoadConfig,
    start: Instant,
    records: Mutex<Vec<TxRecord>>,
    /// Every terminal of the run, for follow-ups sent by a terminal other than the payer's.
    slots: std::sync::OnceLock<Vec<Arc<Slot>>>,
    /// The durable records file, when there is one.
    log: Option<RecordLog>,
}

impl Ctx {
    /// Writes a snapshot of `record` to the durable file, `flight` being the message about to
    /// be sent (none: the transaction is finished). The message must not be sent when this
    /// fails: it would be on the wire without a record.
    fn persist(&self, record: &TxRecord, flight: Option<InFlight>) -> Result<(), String> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        let mut snapshot = record.clone();
        snapshot.in_flight = flight;
        log.append(&Entry::Record(Box::new(snapshot)))
            .map_err(|e| format!("records file: {e}"))
    }

    fn persist_before(
        &self,
        record: &TxRecord,
        kind: &str,
        terminal_id: &str,
        stan: &str,
    ) -> Result<(), String> {
        self.persist(
            record,
            Some(InFlight {
                kind: kind.into(),
                terminal_id: terminal_id.into(),
                stan: stan.into(),
            }),
        )
    }
}

fn terminal_ids(prefix: &str, count: usize) -> Result<Vec<String>, String> {
    let width = 8usize.saturating_sub(prefix.len());
    if width == 0 || count > 10usize.pow(width as u32) {
        return Err(format!(
            "terminal prefix {prefix:?} leaves too few digits for {count} terminals"
        ));
    }
    Ok((0..count).map(|i| format!("{prefix}{i:0width$}")).collect())
}

/// Runs the load and returns the report once every transaction has finished.
pub async fn run(config: LoadConfig) -> Result<LoadReport, LoadError> {
    if config.connections == 0 || !config.rate_per_s.is_finite() || config.rate_per_s <= 0.0 {
        return Err(LoadError::Config(
            "connections and rate must be positive".into(),
        ));
    }
    if config.amount_min == 0 || config.amount_min > config.amount_max {
        return Err(LoadError::Config(
            "amounts must satisfy 0 < min <= max".into(),
        ));
    }
    let ids =
        terminal_ids(&config.terminal_prefix, config.connections).map_err(LoadError::Config)?;
    let journal = match &config.durable_records {
        Some(path) => Some(Journal::read(path)?),
        None => None,
    };
    let log = match &config.durable_records {
        Some(path) => Some(RecordLog::open(path)?),
        None => None,
    };
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut slots = Vec::with_capacity(ids.len());
    for terminal_id in ids {
        let terminal = Terminal::connect(config.addr, config.link.clone()).await?;
        let random = rng.random_range(1..=StanCounter::MAX);
        // A restarted terminal continues after the STANs it used before its kill.
        let first = journal
            .as_ref()
            .and_then(|j| j.last_stans.get(&terminal_id))
            .map_or(random, |last| {
                (last + STAN_MARGIN - 1) % StanCounter::MAX + 1
            });
        slots.push(Arc::new(Slot {
            terminal_id,
            stan: StanCounter::starting_at(first),
            terminal: tokio::sync::Mutex::new(Some(Arc::new(terminal))),
            unmatched_of_closed: Default::default(),
        }));
    }
    let scheduled = (config.rate_per_s * config.duration.as_secs_f64()).floor() as u64;
    let interval = 1.0 / config.rate_per_s;
    let ctx = Arc::new(Ctx {
        start: Instant::now() + Duration::from_millis(20),
        records: Mutex::new(Vec::with_capacity(scheduled as usize)),
        slots: std::sync::OnceLock::new(),
        config,
        log,
    });
    let _ = ctx.slots.set(slots.clone());
    let first_seq = journal.as_ref().map_or(0, Journal::next_seq);
    let run_number = journal.as_ref().map_or(1, Journal::next_run);
    if let Some(journal) = &journal {
        // What the killed predecessor left in flight is settled before anything new is sent,
        // as a terminal does when it powers up again.
        for record in journal.in_flight() {
            let settled = settle(&ctx, &slots, record.clone()).await;
            ctx.persist(&settled, None).map_err(|e| {
                LoadError::Durable(DurableError::Io {
                    path: ctx.config.durable_records.clone().unwrap_or_default(),
                    source: std::io::Error::other(e),
                })
            })?;
        }
    }
    if let Some(log) = &ctx.log {
        log.append(&Entry::Run {
            run: run_number,
            first_seq,
            scheduled,
        })?;
    }
    let tracker = TaskTracker::new();
    let cpu_before = process_cpu_seconds();
    let mut seq = 0u64;
    while seq < scheduled {
        // Launch everything that is due, then sleep until the next slot: one timer
        // wake-up per tick instead of one per transaction.
        let now = Instant::now();
        loop {
            let at = ctx.start + Duration::from_secs_f64(seq as f64 * interval);
            if at > now || seq >= scheduled {
                break;
            }
            let scenario = ctx.config.mix.pick(&mut rng);
            let code = ctx.config.codes.pick(&mut rng);
            let amount = rng.random_range(ctx.config.amount_min..=ctx.config.amount_max);
            let slot = Arc::clone(&slots[(seq % slots.len() as u64) as usize]);
            let ctx = Arc::clone(&ctx);
            let this = first_seq + seq;
            tracker.spawn(async move {
                let record = transaction(&ctx, &slot, this, at, scenario, code, amount).await;
                // A failed final write leaves the last in-flight snapshot: the next run on the
                // file settles it as interrupted, which is safe.
                let _ = ctx.persist(&record, None);
                if let Ok(mut records) = ctx.records.lock() {
                    records.push(record);
                }
            });
            seq += 1;
        }
        if seq < scheduled {
            let next = ctx.start + Duration::from_secs_f64(seq as f64 * interval);
            tokio::time::sleep_until(next).await;
        }
    }
    let sending_window = ctx.start.elapsed();
    tracker.close();
    tracker.wait().await;
    if let Some(log) = &ctx.log {
        log.append(&Entry::End { run: run_number })?;
    }
    let mut unmatched = 0;
    for slot in &slots {
        unmatched += slot
            .unmatched_of_closed
            .load(std::sync::atomic::Ordering::Relaxed);
        if let Some(terminal) = slot.terminal.lock().await.as_ref() {
            unmatched += terminal.unmatched_answers();
        }
    }
    let mut transactions = ctx
        .records
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    transactions.sort_by_key(|r| r.seq);
    let cpu_seconds = match (cpu_before, process_cpu_seconds()) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    let mut summary = summarize(
        &ctx.config,
        scheduled,
        sending_window,
        ctx.start.elapsed(),
        unmatched,
        &transactions,
    );
    summary.cpu_seconds = cpu_seconds;
    summary.cpu_us_per_transaction = cpu_seconds.map(|cpu| cpu * 1e6 / (scheduled.max(1) as f64));
    Ok(LoadReport {
        summary,
        transactions,
    })
}

fn summarize(
    config: &LoadConfig,
    scheduled: u64,
    sending_window: Duration,
    elapsed: Duration,
    unmatched_answers: u64,
    records: &[TxRecord],
) -> Summary {
    let mut histogram = Histogram::<u64>::new(3).ok();
    let mut summary = Summary {
        target: config.addr.to_string(),
        connections: config.connections,
        rate_per_s: config.rate_per_s,
        duration_s: config.duration.as_secs_f64(),
        scheduled,
        sent: 0,
        send_errors: 0,
        sent_late: 0,
        late_after_ms: config.late_after.as_secs_f64() * 1000.0,
        max_send_lag_ms: 0.0,
        achieved_send_rate_per_s: 0.0,
        answered: 0,
        timeouts: 0,
        disconnects: 0,
        latency_us: Percentiles::default(),
        response_codes: BTreeMap::new(),
        scenarios: BTreeMap::new(),
        follow_ups: BTreeMap::new(),
        unmatched_answers,
        elapsed_s: elapsed.as_secs_f64(),
        cpu_seconds: None,
        cpu_us_per_transaction: None,
    };
    let mut last_send_ms: f64 = 0.0;
    for r in records {
        if let Some(at) = r.sent_at_ms {
            last_send_ms = last_send_ms.max(at);
            summary.max_send_lag_ms = summary.max_send_lag_ms.max(at - r.scheduled_at_ms);
        }
        *summary
            .scenarios
            .entry(r.scenario.name().into())
            .or_default() += 1;
        if r.sent {
            summary.sent += 1;
        } else {
            summary.send_errors += 1;
        }
        summary.sent_late += u64::from(r.sent_late);
        summary.timeouts += u64::from(r.timed_out);
        summary.disconnects += u64::from(r.disconnected_before_answer);
        if let Some(code) = &r.response_code {
            summary.answered += 1;
            *summary.response_codes.entry(code.clone()).or_default() += 1;
        }
        if let (Some(latency), Some(h)) = (r.latency_us, histogram.as_mut()) {
            let _ = h.record(latency.max(1));
        }
        for f in r.follow_up.iter().chain(&r.other_follow_ups) {
            let code = f.response_code.as_deref().unwrap_or("none");
            *summary
                .follow_ups
                .entry(format!("{}:{code}", f.kind))
                .or_default() += 1;
        }
    }
    // The window ends at the last write, or at the end of the schedule if that is later.
    let window_s = (last_send_ms / 1000.0).max(sending_window.as_secs_f64());
    summary.achieved_send_rate_per_s = summary.sent as f64 / window_s.max(f64::MIN_POSITIVE);
    if let Some(h) = histogram.filter(|h| !h.is_empty()) {
        summary.latency_us = Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            max: h.max(),
        };
    }
    summary
}

/// User + system CPU seconds of this process, from `/proc/self/stat` (Linux; the
/// kernel reports clock ticks of 1/100 s there on every common configuration).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn tlv(answer: &Message, tag: Tag) -> Option<String> {
    let data = PrivateData::parse(answer.get(48)?).ok()?;
    data.get(tag).map(str::to_owned)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn transaction(
    ctx: &Ctx,
    slot: &Slot,
    seq: u64,
    scheduled: Instant,
    scenario: Scenario,
    code: String,
    amount: u64,
) -> TxRecord {
    let config = &ctx.config;
    let stamp = config.clock.stamp(slot.stan.next());
    let mut factory =
        MessageFactory::new(&config.link.dialect, &config.merchant_id, &slot.terminal_id);
    if let Some(nii) = &config.nii {
        factory = factory.with_nii(nii);
    }
    let mut record = TxRecord {
        seq,
        scenario,
        merchant_id: config.merchant_id.clone(),
        terminal_id: slot.terminal_id.clone(),
        local_date: stamp.local_date.clone(),
        local_time: stamp.local_time.clone(),
        transmission: stamp.transmission.clone(),
        stan: format!("{:06}", stamp.stan),
        amount,
        currency: config.currency,
        payment_code: mask_payment_code(&code),
        scheduled_at_ms: scheduled.duration_since(ctx.start).as_secs_f64() * 1000.0,
        sent_at_ms: None,
        sent_late: false,
        sent: false,
        response_code: None,
        rrn: None,
        payment_request_id: None,
        payment_id: None,
        latency_us: None,
        disconnected_before_answer: false,
        timed_out: false,
        error: None,
        follow_up: None,
        other_follow_ups: Vec::new(),
        terminal_believes_paid: false,
        in_flight: None,
        killed_while: None,
    };
    let purchase = match factory.purchase(&stamp, amount, config.currency, &code) {
        Ok(purchase) => purchase,
        Err(error) => {
            record.error = Some(format!("build: {error}"));
            return record;
        }
    };
    if let Err(error) = ctx.persist_before(&record, "purchase", &slot.terminal_id, &record.stan) {
        record.error = Some(error);
        return record;
    }
    if scenario == Scenario::Disconnect {
        // Its own connection, so hanging up does not disturb the shared ones.
        match Terminal::connect(config.addr, config.link.clone()).await {
            Ok(terminal) => match terminal.send(&purchase).await {
                Ok(pending) => {
                    mark_sent(ctx, &mut record, scheduled);
                    record.disconnected_before_answer = true;
                    drop(pending);
                    drop(terminal);
                }
                Err(error) => record.error = Some(format!("send: {error}")),
            },
            Err(error) => record.error = Some(format!("connect: {error}")),
        }
        if record.sent && config.reverse_on_timeout {
            // A terminal that lost its connection without an answer reverses the purchase once
            // its response timer runs out, as it does after a timeout. The switch cannot tell
            // an answer written just before the hang-up from one the terminal read: only this
            // advice settles that race. Waiting the full timeout first leaves the switch's own
            // cancellation of an undelivered approval to act alone until then.
            tokio::time::sleep_until(scheduled + config.response_timeout).await;
            record.follow_up = Some(
                advice(
                    ctx,
                    slot,
                    &factory,
                    Original::of(&purchase).as_ref(),
                    &record,
                )
                .await,
            );
        }
        return record;
    }
    let sent = match slot.terminal(ctx).await {
        Ok(terminal) => terminal.send(&purchase).await,
        Err(error) => Err(error),
    };
    let outcome = match sent {
        Ok(pending) => {
            mark_sent(ctx, &mut record, scheduled);
            pending.wait(config.response_timeout).await
        }
        Err(error) => {
            record.error = Some(format!("send: {error}"));
            return record;
        }
    };
    let mut original = Original::of(&purchase);
    match outcome {
        Ok(answer) => {
            record.latency_us = Some(micros(scheduled.elapsed()));
            record.response_code = answer.get_str(39).map(str::to_owned);
            record.rrn = answer.get_str(37).map(|s| s.trim_end().to_owned());
            record.payment_request_id = tlv(&answer, Tag::PaymentRequestId);
            record.payment_id = tlv(&answer, Tag::PaymentId);
            if let Some(original) = original.as_mut() {
                original.rrn = record.rrn.clone();
            }
        }
        Err(error) => {
            record.timed_out = matches!(error, TerminalError::Timeout(_));
            record.error = Some(error.to_string());
        }
    }
    let approved = record.response_code.as_deref() == Some("00");
    let unanswered = record.response_code.is_none();
    let reference = Reference {
        rrn: record.rrn.clone(),
        payment_request_id: record.payment_request_id.clone(),
        payment_id: record.payment_id.clone(),
    };
    record.follow_up = match scenario {
        Scenario::Void | Scenario::Refund if approved => {
            let stamp = config.clock.stamp(slot.stan.next());
            let (kind, message) = if scenario == Scenario::Void {
                (
                    "void",
                    factory.void(&stamp, amount, config.currency, &reference),
                )
            } else {
                (
                    "refund",
                    factory.refund(&stamp, amount, config.currency, &reference),
                )
            };
            Some(match message {
                Ok(message) => follow_up(ctx, slot, kind, &message, 1, &record).await,
                Err(error) => failed_follow_up(kind, &stamp.stan, error.to_string()),
            })
        }
        Scenario::RefundVoid if approved => {
            let stamp = config.clock.stamp(slot.stan.next());
            let partial = match factory.refund(&stamp, amount / 2, config.currency, &reference) {
                Ok(message) => follow_up(ctx, slot, "partial_refund", &message, 1, &record).await,
                Err(error) => failed_follow_up("partial_refund", &stamp.stan, error.to_string()),
            };
            record.other_follow_ups.push(partial);
            let stamp = config.clock.stamp(slot.stan.next());
            Some(
                match factory.void(&stamp, amount, config.currency, &reference) {
                    Ok(message) => follow_up(ctx, slot, "void", &message, 1, &record).await,
                    Err(error) => failed_follow_up("void", &stamp.stan, error.to_string()),
                },
            )
        }
        Scenario::Foreign if approved => {
            record.other_follow_ups =
                foreign_follow_ups(ctx, slot, amount, &reference, &record).await;
            None
        }
        Scenario::Advice => Some(advice(ctx, slot, &factory, original.as_ref(), &record).await),
        Scenario::Resend if !unanswered => Some(resend_and_hang_up(ctx, &purchase, &record).await),
        _ if unanswered && config.reverse_on_timeout => {
            Some(advice(ctx, slot, &factory, original.as_ref(), &record).await)
        }
        _ => None,
    };
    let voided = record.follow_up.as_ref().is_some_and(|f| {
        f.kind == "reversal_advice"
            || (f.kind == "void" && f.response_code.as_deref() == Some("00"))
    });
    record.terminal_believes_paid = approved && !voided;
    record
}

/// A refund and a void of another terminal's payment, sent by the next terminal of the run
/// on its own connection (so its identity is its own; only its authority is missing).
async fn foreign_follow_ups(
    ctx: &Ctx,
    payer: &Slot,
    amount: u64,
    reference: &Reference,
    record: &TxRecord,
) -> Vec<FollowUp> {
    let config = &ctx.config;
    let slots = ctx.slots.get().map(Vec::as_slice).unwrap_or_default();
    if slots.len() < 2 {
        return vec![failed_follow_up(
            "foreign_refund",
            &0,
            "needs at least two connections".into(),
        )];
    }
    // The slot after the payer's: never the payer itself, whatever the sequence numbers (a
    // restarted load does not start at 0).
    let payer_index = slots
        .iter()
        .position(|s| s.terminal_id == payer.terminal_id)
        .unwrap_or(0);
    let other = &slots[(payer_index + 1) % slots.len()];
    let mut factory = MessageFactory::new(
        &config.link.dialect,
        &config.merchant_id,
        &other.terminal_id,
    );
    if let Some(nii) = &config.nii {
        factory = factory.with_nii(nii);
    }
    // By PR only: the RRN is per terminal, so from another terminal it names nothing anyway.
    let by_id = Reference {
        rrn: None,
        payment_request_id: reference.payment_request_id.clone(),
        payment_id: None,
    };
    let mut sent = Vec::with_capacity(2);
    for kind in ["foreign_refund", "foreign_void"] {
        let stamp = config.clock.stamp(other.stan.next());
        let message = if kind == "foreign_refund" {
            factory.refund(&stamp, amount, config.currency, &by_id)
        } else {
            factory.void(&stamp, amount, config.currency, &by_id)
        };
        sent.push(match message {
            Ok(message) => follow_up(ctx, other, kind, &message, 1, record).await,
            Err(error) => failed_follow_up(kind, &stamp.stan, error.to_string()),
        });
    }
    sent
}

/// Writes `purchase` again on a new connection and closes it at once, without reading.
async fn resend_and_hang_up(ctx: &Ctx, purchase: &Message, record: &TxRecord) -> FollowUp {
    let mut follow = FollowUp {
        kind: "resend",
        mti: purchase.mti().to_string(),
        stan: purchase.get_str(11).unwrap_or_default().to_owned(),
        attempts: 1,
        response_code: None,
        answers: Vec::new(),
        rrn: None,
        latency_us: None,
        error: None,
    };
    if let Err(error) = ctx.persist_before(record, "resend", &record.terminal_id, &follow.stan) {
        follow.error = Some(error);
        return follow;
    }
    let addr = ctx.config.follow_up_addr.unwrap_or(ctx.config.addr);
    match Terminal::connect(addr, ctx.config.link.clone()).await {
        Ok(terminal) => match terminal.send(purchase).await {
            Ok(pending) => {
                drop(pending);
                drop(terminal);
            }
            Err(error) => follow.error = Some(format!("send: {error}")),
        },
        Err(error) => follow.error = Some(format!("connect: {error}")),
    }
    follow
}

fn mark_sent(ctx: &Ctx, record: &mut TxRecord, scheduled: Instant) {
    let now = Instant::now();
    record.sent = true;
    record.sent_late = now.duration_since(scheduled) > ctx.config.late_after;
    record.sent_at_ms = Some(now.duration_since(ctx.start).as_secs_f64() * 1000.0);
}

fn failed_follow_up(kind: &'static str, stan: &u32, error: String) -> FollowUp {
    FollowUp {
        kind,
        mti: String::new(),
        stan: format!("{stan:06}"),
        attempts: 0,
        response_code: None,
        answers: Vec::new(),
        rrn: None,
        latency_us: None,
        error: Some(error),
    }
}

async fn advice(
    ctx: &Ctx,
    slot: &Slot,
    factory: &MessageFactory<'_>,
    original: Option<&Original>,
    record: &TxRecord,
) -> FollowUp {
    let Some(original) = original else {
        return failed_follow_up("reversal_advice", &0, "original not readable".into());
    };
    let mut last = failed_follow_up("reversal_advice", &original.stan, "not sent".into());
    let mut answers = Vec::new();
    // An advice must be acknowledged: repeat it (as 0421) until a 0430 with 00 arrives — a
    // 0430 with another code (e.g. 96 while the switch's store is down) is not an
    // acknowledgement, as real terminals treat it, so it is repeated too.
    for attempt in 1..=ADVICE_ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(ADVICE_REPEAT_DELAY * (1 << (attempt - 2).min(4))).await;
        }
        let transmission = ctx.config.clock.stamp(original.stan).transmission;
        match factory.reversal_advice(&transmission, original, "98", attempt > 1) {
            Ok(message) => {
                last = follow_up(ctx, slot, "reversal_advice", &message, attempt, record).await;
                answers.push(last.response_code.clone().unwrap_or_else(|| "none".into()));
                last.answers.clone_from(&answers);
                if last.response_code.as_deref() == Some("00") {
                    break;
                }
            }
            Err(error) => {
                return failed_follow_up("reversal_advice", &original.stan, error.to_string());
            }
        }
    }
    last
}

/// The original of a recorded purchase, for its reversal advice.
fn original_of(record: &TxRecord) -> Option<Original> {
    Some(Original {
        // F3 of a purchase, as `MessageFactory::purchase` builds it.
        processing_code: "000000".into(),
        amount: record.amount,
        currency: record.currency,
        stan: record.stan.parse().ok()?,
        local_time: record.local_time.clone(),
        local_date: record.local_date.clone(),
        rrn: record.rrn.clone(),
    })
}

/// Settles a transaction a killed predecessor left in flight, as a terminal does when it
/// powers up again: a purchase (or its reversal advice) that may have reached the switch
/// without an answer is reversed with an advice; any other message is recorded as unanswered.
async fn settle(ctx: &Ctx, slots: &[Arc<Slot>], mut record: TxRecord) -> TxRecord {
    let Some(flight) = record.in_flight.take() else {
        return record;
    };
    const KILLED: &str = "the terminal was killed before the answer";
    record.killed_while = Some(flight.kind.clone());
    let interrupted = |kind: &'static str| FollowUp {
        kind,
        mti: String::new(),
        stan: flight.stan.clone(),
        attempts: 1,
        response_code: None,
        answers: Vec::new(),
        rrn: None,
        latency_us: None,
        error: Some(KILLED.into()),
    };
    match follow_up_kind(&flight.kind) {
        Some(kind @ ("purchase" | "reversal_advice")) => {
            if kind == "purchase" {
                record.error = Some(KILLED.into());
            }
            let slot = slots.iter().find(|s| s.terminal_id == record.terminal_id);
            match (slot, original_of(&record)) {
                (Some(slot), Some(original)) if ctx.config.reverse_on_timeout => {
                    let mut factory = MessageFactory::new(
                        &ctx.config.link.dialect,
                        &ctx.config.merchant_id,
                        &record.terminal_id,
                    );
                    if let Some(nii) = &ctx.config.nii {
                        factory = factory.with_nii(nii);
                    }
                    record.follow_up =
                        Some(advice(ctx, slot, &factory, Some(&original), &record).await);
                }
                _ if kind == "reversal_advice" => {
                    record.follow_up = Some(interrupted("reversal_advice"));
                }
                _ => {}
            }
        }
        Some(kind @ ("partial_refund" | "foreign_refund" | "foreign_void")) => {
            record.other_follow_ups.push(interrupted(kind));
        }
        Some(kind) => record.follow_up = Some(interrupted(kind)),
        None => {
            record.error = Some(format!("killed while sending an unknown {:?}", flight.kind));
        }
    }
    let approved = record.response_code.as_deref() == Some("00");
    let voided = record.follow_up.as_ref().is_some_and(|f| {
        f.kind == "reversal_advice"
            || (f.kind == "void" && f.response_code.as_deref() == Some("00"))
    });
    record.terminal_believes_paid = approved && !voided;
    record
}

async fn follow_up(
    ctx: &Ctx,
    slot: &Slot,
    kind: &'static str,
    message: &Message,
    attempts: u32,
    record: &TxRecord,
) -> FollowUp {
    let started = Instant::now();
    let stan = message.get_str(11).unwrap_or_default();
    // Only the first message of a follow-up needs its own snapshot: repeats of an advice are
    // the same advice, settled again by a restarted process.
    if attempts <= 1
        && let Err(error) = ctx.persist_before(record, kind, &slot.terminal_id, stan)
    {
        return FollowUp {
            kind,
            mti: message.mti().to_string(),
            stan: stan.to_owned(),
            attempts: 0,
            response_code: None,
            answers: Vec::new(),
            rrn: None,
            latency_us: None,
            error: Some(error),
        };
    }
    // An advice's odd attempts go to the other instance when there is one (its own connection,
    // closed after the answer); the even ones to this terminal's own switch, so a dead other
    // instance cannot keep an advice from being acknowledged.
    let other = ctx
        .config
        .follow_up_addr
        .filter(|_| kind == "reversal_advice" && attempts % 2 == 1);
    let result = match other {
        Some(addr) => match Terminal::connect(addr, ctx.config.link.clone()).await {
            Ok(terminal) => terminal.request(message, ctx.config.response_timeout).await,
            Err(error) => Err(error),
        },
        None => match slot.terminal(ctx).await {
            Ok(terminal) => terminal.request(message, ctx.config.response_timeout).await,
            Err(error) => Err(error),
        },
    };
    let mut follow = FollowUp {
        kind,
        mti: message.mti().to_string(),
        stan: message.get_str(11).unwrap_or_default().to_owned(),
        attempts,
        response_code: None,
        answers: Vec::new(),
        rrn: None,
        latency_us: None,
        error: None,
    };
    match result {
        Ok(answer) => {
            follow.response_code = answer.get_str(39).map(str::to_owned);
            follow.rrn = answer.get_str(37).map(|s| s.trim_end().to_owned());
            follow.latency_us = Some(micros(started.elapsed()));
            if answer.mti() == Mti::REVERSAL_ADVICE_RESPONSE && follow.response_code.is_none() {
                follow.error = Some("0430 without F39".into());
            }
        }
        Err(error) => follow.error = Some(error.to_string()),
    }
    follow
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let mix: Mix = "purchase=90,void=3,refund=2,advice=3,disconnect=1,resend=1"
            .parse()
            .unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = BTreeMap::new();
        for _ in 0..10_000 {
            *counts.entry(mix.pick(&mut rng)).or_insert(0u32) += 1;
        }
        assert!(counts[&Scenario::Purchase] > 8_700);
        assert!(counts[&Scenario::Disconnect] > 50);
        assert!(counts[&Scenario::Resend] > 50);
        assert!("purchase=0".parse::<Mix>().is_err());
        assert!("teleport=1".parse::<Mix>().is_err());
        assert!("purchase".parse::<Mix>().is_err());
    }

    #[test]
    fn cpu_time_is_readable_on_linux() {
        let cpu = process_cpu_seconds().unwrap();
        assert!(cpu >= 0.0);
    }

    #[test]
    fn terminal_ids_fill_eight_characters() {
        assert_eq!(terminal_ids("LAB", 2).unwrap(), ["LAB00000", "LAB00001"]);
        assert!(terminal_ids("LABCDEFG", 2).is_err());
        assert!(terminal_ids("LABCDEF", 11).is_err());
    }
}
