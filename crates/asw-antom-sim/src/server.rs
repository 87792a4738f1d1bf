//! The HTTP side: accept loop, protocol checks (path, method, media type, client, key,
//! signature), dispatch to the ledger, scenario and fault delivery (slow, dropped, 5xx,
//! badly signed), response signing, and the call log.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use asw_antom::api::{
    CancelRequest, InquiryPaymentRequest, InquiryRefundRequest, PayRequest, RefundRequest,
};
use asw_antom::capture::CaptureRequest;
use asw_antom::session::CreatePaymentSessionRequest;
use asw_antom::{AntomResult, Api, ResultStatus, SignatureHeader};
use bytes::Bytes;
use dashmap::DashMap;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{CaptureFault, SimClient, SimConfig};
use crate::ledger::{Answer, Effect, Ledger, NewPaymentFaults, format_time, param_illegal};
use crate::scenario::{self, Scenario};

/// The simulator's clock: the real time plus an offset tests can move forward.
#[derive(Debug, Default)]
pub(crate) struct SimClock {
    offset_ms: AtomicI64,
    /// Woken whenever the offset changes, so timers (online expiry) re-read the clock
    /// instead of sleeping on a deadline that moved.
    pub moved: tokio::sync::Notify,
}

impl SimClock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::milliseconds(self.offset_ms())
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets the offset, clamped to ±100 years so time arithmetic can never overflow.
    pub fn set_offset_ms(&self, ms: i64) {
        const LIMIT_MS: i64 = 100 * 366 * 24 * 3600 * 1000;
        self.offset_ms
            .store(ms.clamp(-LIMIT_MS, LIMIT_MS), Ordering::Relaxed);
        self.moved.notify_waiters();
    }
}

/// One call received, as the control API lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Order of arrival (1-based).
    pub seq: u64,
    /// When it arrived (UTC, RFC 3339, with the simulator's clock offset).
    pub time: String,
    /// `pay`, `inquiry_payment`, `cancel`, `refund`, `inquiry_refund`, or `unknown`.
    pub api: String,
    /// Method as received.
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// The `client-id` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The payment concerned, when the body named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    /// `paymentId` from the body, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// `refundRequestId` from the body, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    /// `captureRequestId` from the body, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_request_id: Option<String>,
    /// The result code decided (also when the answer was then lost or garbled).
    pub result_code: String,
    /// `S`, `F` or `U`.
    pub result_status: String,
    /// HTTP status sent (0 when the connection was dropped).
    pub http_status: u16,
    /// Whether the connection was dropped instead of answering.
    pub dropped: bool,
    /// `signed`, `unsigned`, `bad_signature` or `raw` (HTML, empty, plain text).
    pub signing: &'static str,
    /// Delay added before answering, in milliseconds.
    pub delay_ms: u64,
    /// The payment's scenario, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<&'static str>,
    /// The client closed the connection before the answer was ready (e.g. its timeout
    /// expired during a slow answer); the decision above still stands.
    pub client_gone: bool,
    /// Microseconds from the request's arrival until its answer was ready (the added delay
    /// and the response signature included): the simulator's own share of a call, which the
    /// end-to-end benchmark subtracts to get the latency the switch adds.
    pub handled_us: u64,
}

/// Records a call even when the handler is dropped half-way because the client went away.
struct RecordGuard<'a> {
    log: &'a CallLog,
    record: CallRecord,
    arrived: std::time::Instant,
    done: bool,
}

impl RecordGuard<'_> {
    fn elapsed_us(&self) -> u64 {
        u64::try_from(self.arrived.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

impl Drop for RecordGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut record = self.record.clone();
            record.client_gone = true;
            record.handled_us = self.elapsed_us();
            self.log.record(record);
        }
    }
}

/// The call log: a sharded map keyed by sequence number, so recording never takes a
/// global lock on the hot path. Listing sorts by sequence.
#[derive(Debug)]
pub(crate) struct CallLog {
    records: DashMap<u64, CallRecord>,
    seq: AtomicU64,
    not_recorded: AtomicU64,
    cap: usize,
}

impl CallLog {
    fn new(cap: usize) -> Self {
        Self {
            records: DashMap::new(),
            seq: AtomicU64::new(0),
            not_recorded: AtomicU64::new(0),
            cap,
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn record(&self, record: CallRecord) {
        if self.records.len() >= self.cap {
            self.not_recorded.fetch_add(1, Ordering::Relaxed);
        } else {
            self.records.insert(record.seq, record);
        }
    }

    /// Every recorded call in arrival order, and how many were not kept (over the cap).
    pub fn list(&self) -> (Vec<CallRecord>, u64) {
        let mut calls: Vec<CallRecord> = self.records.iter().map(|r| r.value().clone()).collect();
        calls.sort_by_key(|c| c.seq);
        (calls, self.not_recorded.load(Ordering::Relaxed))
    }

    pub fn clear(&self) {
        self.records.clear();
        self.not_recorded.store(0, Ordering::Relaxed);
    }
}

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub clients: HashMap<String, SimClient>,
    pub ledger: Ledger,
    pub calls: CallLog,
    pub clock: SimClock,
    pub http: reqwest::Client,
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
}

impl Shared {
    pub fn new(cfg: SimConfig, http: reqwest::Client) -> Self {
        let clients = cfg
            .clients
            .iter()
            .map(|c| (c.client_id.clone(), c.clone()))
            .collect();
        let calls = CallLog::new(cfg.max_recorded_calls);
        Self {
            cfg,
            clients,
            ledger: Ledger::default(),
            calls,
            clock: SimClock::default(),
            http,
            tracker: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        }
    }

    /// Carries out the side effects of a call (notifications), on the task tracker.
    pub fn run_effects(self: &Arc<Self>, effects: Vec<Effect>, rng: Option<&mut StdRng>) {
        let mut rng = rng;
        for effect in effects {
            match effect {
                Effect::WatchExpiry(job) => {
                    let shared = Arc::clone(self);
                    self.tracker
                        .spawn(async move { crate::buyer::watch_expiry(shared, job).await });
                }
                Effect::Notify(job) => {
                    let delay = match (self.cfg.faults.notify_delay_ms, rng.as_deref_mut()) {
                        (Some([min, max]), Some(rng)) => {
                            Duration::from_millis(rng.random_range(min..=max))
                        }
                        (Some([min, _]), None) => Duration::from_millis(min),
                        (None, _) => self.cfg.notify_delay,
                    } + job.after;
                    let shared = Arc::clone(self);
                    self.tracker
                        .spawn(async move { crate::notify::deliver(shared, job, delay).await });
                }
            }
        }
    }
}

/// How the answer leaves.
#[derive(Debug)]
enum Mode {
    /// Signed with the Antom key.
    Signed,
    /// Signed over different content: well-formed, does not verify.
    BadSignature,
    /// No signature header (bad-signature answers).
    Unsigned,
    /// Drop the connection without answering.
    Drop,
    /// A non-JSON or non-200 answer.
    Raw {
        status: StatusCode,
        content_type: &'static str,
        body: &'static str,
    },
}

/// The plan for answering one API call.
struct Plan {
    result: AntomResult,
    body: Vec<u8>,
    mode: Mode,
    delay: Duration,
    payment_request_id: Option<String>,
    scenario: Option<Scenario>,
}

impl Plan {
    fn from_answer(answer: &Answer) -> Self {
        Self {
            result: answer.result.clone(),
            body: answer.body.clone(),
            mode: Mode::Signed,
            delay: Duration::ZERO,
            payment_request_id: answer.payment_request_id.clone(),
            scenario: answer.scenario,
        }
    }

    /// A protocol-level answer carrying only `result`.
    fn result_only(result: AntomResult, mode: Mode) -> Self {
        let body =
            serde_json::to_vec(&serde_json::json!({ "result": &result })).unwrap_or_default();
        Self {
            result,
            body,
            mode,
            delay: Duration::ZERO,
            payment_request_id: None,
            scenario: None,
        }
    }
}

const HTML_503: &str = "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>";
const HTML_200: &str = "<!DOCTYPE html><html><body><p>Please wait...</p></body></html>";

fn protocol_fail(code: &str, message: &str) -> AntomResult {
    AntomResult::new(code, ResultStatus::Failed, message)
}

fn unknown(code: &str) -> AntomResult {
    AntomResult::new(
        code,
        ResultStatus::Unknown,
        "API failed due to unknown reason.",
    )
}

/// Fault-mix dice for one call, reproducible from the seed and the call's sequence number.
struct Dice {
    rng: Option<StdRng>,
}

impl Dice {
    fn new(shared: &Shared, seq: u64) -> Self {
        let faults = &shared.cfg.faults;
        let rng = faults
            .is_active()
            .then(|| StdRng::seed_from_u64(faults.seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        Self { rng }
    }

    fn roll(&mut self, rate: f64) -> bool {
        match &mut self.rng {
            Some(rng) if rate > 0.0 => rng.random::<f64>() < rate,
            _ => false,
        }
    }
}

/// Serves one HTTP request (API or control).
pub(crate) async fn handle(
    shared: Arc<Shared>,
    kill: CancellationToken,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path().starts_with("/__sim/") || req.uri().path() == "/__sim" {
        return Ok(crate::control::handle(&shared, req).await);
    }
    // The buyer's pages are not API calls: no signature, not in the call log.
    if req.uri().path().starts_with(crate::session::PAGE_PREFIX)
        || req.uri().path() == crate::session_page::SDK_PATH
    {
        return Ok(crate::session_page::handle(&shared, &req));
    }
    if req.uri().path().starts_with(crate::card_page::PREFIX) {
        return Ok(crate::card_page::handle(&shared, req).await);
    }
    if req.uri().path().starts_with(crate::pages::PREFIX) {
        return Ok(crate::pages::handle(&shared, &req));
    }
    let seq = shared.calls.next_seq();
    let arrived_at = std::time::Instant::now();
    let arrived = shared.clock.now();
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let api = Api::from_path(parts.uri.path());
    let client_id = header_str(&parts.headers, "client-id").map(str::to_owned);
    let record = CallRecord {
        seq,
        time: format_time(arrived, time::UtcOffset::UTC),
        api: api.map_or("unknown", Api::label).to_owned(),
        method: parts.method.to_string(),
        path: path.clone(),
        client_id: client_id.clone(),
        payment_request_id: None,
        payment_id: None,
        refund_request_id: None,
        capture_request_id: None,
        result_code: String::new(),
        result_status: String::new(),
        http_status: 0,
        dropped: false,
        signing: "signed",
        delay_ms: 0,
        scenario: None,
        client_gone: false,
        handled_us: 0,
    };
    let mut guard = RecordGuard {
        log: &shared.calls,
        record,
        arrived: arrived_at,
        done: false,
    };
    let record = &mut guard.record;
    let mut dice = Dice::new(&shared, seq);
    let plan = match check_protocol(&shared, &parts, api, body).await {
        Err(plan) => plan,
        Ok((api, raw)) => {
            read_ids(&raw, record);
            dispatch(
                &shared,
                api,
                client_id.as_deref().unwrap_or(""),
                &raw,
                &mut dice,
            )
            .await
        }
    };
    record.result_code = plan.result.result_code.clone();
    record.result_status = plan.result.result_status.as_str().to_owned();
    if record.payment_request_id.is_none() {
        record.payment_request_id = plan.payment_request_id.clone();
    }
    record.scenario = plan.scenario.map(Scenario::name);
    record.delay_ms = u64::try_from(plan.delay.as_millis()).unwrap_or(u64::MAX);
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    guard.done = true;
    let mut record = guard.record.clone();
    let response = match plan.mode {
        Mode::Drop => {
            record.dropped = true;
            record.signing = "none";
            record.handled_us = guard.elapsed_us();
            shared.calls.record(record);
            // Closing the connection drops this future too; nothing is ever written.
            kill.cancel();
            std::future::pending::<()>().await;
            return Ok(Response::new(Full::new(Bytes::new())));
        }
        Mode::Raw {
            status,
            content_type,
            body,
        } => {
            record.signing = "raw";
            let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
            *resp.status_mut() = status;
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            resp
        }
        Mode::Unsigned => {
            record.signing = "unsigned";
            json_response(StatusCode::OK, plan.body)
        }
        Mode::Signed | Mode::BadSignature => {
            let bad = matches!(plan.mode, Mode::BadSignature);
            if bad {
                record.signing = "bad_signature";
            }
            signed_response(
                &shared,
                &path,
                client_id.as_deref().unwrap_or(""),
                plan.body,
                bad,
            )
        }
    };
    record.http_status = response.status().as_u16();
    record.handled_us = guard.elapsed_us();
    shared.calls.record(record);
    Ok(response)
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Best-effort ids for the call log (the body may be anything).
fn read_ids(raw: &[u8], record: &mut CallRecord) {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Ids {
        payment_request_id: Option<serde_json::Value>,
        payment_id: Option<serde_json::Value>,
        refund_request_id: Option<serde_json::Value>,
        capture_request_id: Option<serde_json::Value>,
    }
    let as_string = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Ok(ids) = serde_json::from_slice::<Ids>(raw) {
        record.payment_request_id = as_string(ids.payment_request_id);
        record.payment_id = as_string(ids.payment_id);
        record.refund_request_id = as_string(ids.refund_request_id);
        record.capture_request_id = as_string(ids.capture_request_id);
    }
}

/// Path, method, media type, body size, client, key version and signature. On success
/// returns the API and the raw body; otherwise the protocol error to answer.
async fn check_protocol(
    shared: &Shared,
    parts: &http::request::Parts,
    api: Option<Api>,
    body: Incoming,
) -> Result<(Api, Bytes), Plan> {
    let cfg = &shared.cfg;
    let Some(api) = api else {
        return Err(Plan::result_only(
            protocol_fail("NO_INTERFACE_DEF", "the API is not defined"),
            Mode::Signed,
        ));
    };
    if parts.method != Method::POST {
        return Err(Plan::result_only(
            protocol_fail("METHOD_NOT_SUPPORTED", "only POST is supported"),
            Mode::Signed,
        ));
    }
    let json = header_str(&parts.headers, "content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Err(Plan::result_only(
            protocol_fail(
                "MEDIA_TYPE_NOT_ACCEPTABLE",
                "use application/json; charset=UTF-8",
            ),
            Mode::Signed,
        ));
    }
    let raw = match Limited::new(body, cfg.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Err(Plan::result_only(
                param_illegal("the body is too large or could not be read"),
                Mode::Signed,
            ));
        }
    };
    let bad_signature = || {
        Plan::result_only(
            protocol_fail(
                cfg.signature_error_spelling.code(),
                "the signature could not be verified",
            ),
            Mode::Unsigned,
        )
    };
    let client = header_str(&parts.headers, "client-id").and_then(|id| shared.clients.get(id));
    let Some(client) = client else {
        return Err(Plan::result_only(
            protocol_fail("CLIENT_INVALID", "the client id is not valid"),
            Mode::Signed,
        ));
    };
    let Some(signature) = header_str(&parts.headers, "signature") else {
        return Err(bad_signature());
    };
    let Ok(parsed) = SignatureHeader::parse(signature) else {
        return Err(bad_signature());
    };
    let version = parsed
        .key_version
        .or_else(|| client.keys.keys().next_back().copied());
    let Some(verifier) = version.and_then(|v| client.keys.get(&v)) else {
        return Err(Plan::result_only(
            protocol_fail("KEY_NOT_FOUND", "no key for this client id and key version"),
            Mode::Signed,
        ));
    };
    let Some(request_time) = header_str(&parts.headers, "request-time") else {
        return Err(bad_signature());
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str());
    let content =
        asw_antom::signature::content_to_sign(path, &client.client_id, request_time, &raw);
    if verifier.verify_raw(&content, &parsed.signature).is_err() {
        return Err(bad_signature());
    }
    if let Some(max) = cfg.max_clock_skew {
        let now = shared.clock.now();
        let skew_ok =
            parse_request_time(request_time).is_some_and(|t| (now - t).unsigned_abs() <= max);
        if !skew_ok {
            return Err(Plan::result_only(
                param_illegal("request-time is invalid or too far from the current time"),
                Mode::Signed,
            ));
        }
    }
    Ok((api, raw))
}

/// `request-time` as epoch milliseconds or ISO 8601 with offset.
fn parse_request_time(value: &str) -> Option<OffsetDateTime> {
    if let Ok(ms) = value.trim().parse::<i128>() {
        return OffsetDateTime::from_unix_timestamp_nanos(ms.checked_mul(1_000_000)?).ok();
    }
    OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339).ok()
}

fn parse<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, AntomResult> {
    // serde's message names the field and position, never the value.
    serde_json::from_slice(raw).map_err(|e| param_illegal(&format!("illegal body: {e}")))
}

/// Runs the API and applies scenario and fault-mix delivery.
async fn dispatch(
    shared: &Arc<Shared>,
    api: Api,
    client_id: &str,
    raw: &[u8],
    dice: &mut Dice,
) -> Plan {
    match api {
        Api::Pay => match parse_pay(raw).and_then(validate_pay) {
            Ok(req) => pay(shared, client_id, &req, dice).await,
            Err(r) => Plan::result_only(r, Mode::Signed),
        },
        Api::InquiryPayment => match parse::<InquiryPaymentRequest>(raw) {
            Ok(req) => other_api(shared, dice, false, |now| {
                shared.ledger.inquiry_payment(&req, now, &shared.cfg)
            }),
            Err(r) => Plan::result_only(r, Mode::Signed),
        },
        Api::Cancel => match parse::<CancelRequest>(raw) {
            Ok(req) => other_api(shared, dice, true, |now| {
                shared.ledger.cancel(&req, now, &shared.cfg)
            }),
            Err(r) => Plan::result_only(r, Mode::Signed),
        },
        Api::Refund => match parse::<RefundRequest>(raw).and_then(validate_refund) {
            Ok(req) => other_api(shared, dice, true, |now| {
                shared.ledger.refund(&req, now, &shared.cfg)
            }),
            Err(r) => Plan::result_only(r, Mode::Signed),
        },
        Api::InquiryRefund => match parse::<InquiryRefundRequest>(raw) {
            Ok(req) => other_api(shared, dice, false, |now| {
                shared.ledger.inquiry_refund(&req, now, &shared.cfg)
            }),
            Err(r) => Plan::result_only(r, Mode::Signed),
        },
        Api::Capture => match parse::<CaptureRequest>(raw).and_then(validate_capture) {
            Ok(req) => capture(shared, dice, &req),
            Err(r) => Plan::result_only(r, Mode::Signed),
        },
        Api::CreatePaymentSession => match parse_session(raw) {
            Ok(req) => create_session(shared, client_id, &req, dice),
            Err(r) => Plan::result_only(r, Mode::Signed),
        },
    }
}

fn parse_session(raw: &[u8]) -> Result<CreatePaymentSessionRequest, AntomResult> {
    let req = parse::<CreatePaymentSessionRequest>(raw)?;
    crate::session::validate(&req)?;
    Ok(req)
}

/// `createPaymentSession`: the amount rows of the scenario table (`9901`: `U`, nothing
/// stored; `9902`: created, answered after `slow_answer`) and, for any other amount, the
/// random fault mix of `pay` (a `U` there has the session created).
fn create_session(
    shared: &Arc<Shared>,
    client_id: &str,
    req: &CreatePaymentSessionRequest,
    dice: &mut Dice,
) -> Plan {
    let cfg = &shared.cfg;
    let scenario = scenario::select_checkout(&req.payment_amount.value);
    let mut plan_mode = None;
    let mut delay = Duration::ZERO;
    let mut unknown_committed = false;
    if scenario == Scenario::Checkout {
        let mix = &cfg.faults;
        if dice.roll(mix.http_5xx_rate) {
            let mut plan = Plan::result_only(unknown("UNKNOWN_EXCEPTION"), Mode::Signed);
            plan.mode = Mode::Raw {
                status: StatusCode::SERVICE_UNAVAILABLE,
                content_type: "text/html",
                body: HTML_503,
            };
            plan.payment_request_id = Some(req.payment_request_id.clone());
            return plan;
        }
        unknown_committed = dice.roll(mix.u_rate);
        if dice.roll(mix.lost_after_commit_rate) {
            plan_mode = Some(Mode::Drop);
        } else if dice.roll(mix.bad_signature_rate) {
            plan_mode = Some(Mode::BadSignature);
        }
        if dice.roll(mix.slow_rate) {
            delay = Duration::from_millis(mix.slow_ms);
        }
    }
    let commit = scenario != Scenario::UnknownNotCommitted;
    let answer = shared
        .ledger
        .create_session(client_id, req, commit, shared.clock.now(), cfg);
    let mut plan = Plan::from_answer(&answer);
    plan.scenario = Some(scenario);
    if answer.created {
        if unknown_committed {
            plan = Plan::result_only(unknown("UNKNOWN_EXCEPTION"), Mode::Signed);
            plan.payment_request_id = Some(req.payment_request_id.clone());
        }
        if scenario == Scenario::SlowCommitted {
            delay += cfg.slow_answer;
        }
        if let Some(mode) = plan_mode {
            plan.mode = mode;
        }
        plan.delay += delay;
    }
    plan
}

fn illegal(message: &str) -> AntomResult {
    param_illegal(message)
}

fn is_currency(c: &str) -> bool {
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())
}

fn validate_amount(what: &str, amount: &asw_antom::Amount) -> Result<(), AntomResult> {
    if !is_currency(&amount.currency) {
        return Err(illegal(&format!(
            "{what}.currency must be ISO 4217 alpha-3"
        )));
    }
    match amount.minor_units() {
        Some(v) if v > 0 => Ok(()),
        _ => Err(illegal(&format!(
            "{what}.value must be a positive integer in minor units"
        ))),
    }
}

fn too_long(what: &str, value: Option<&str>, max: usize) -> Result<(), AntomResult> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(illegal(&format!("{what} is longer than {max} characters")))
        }
        _ => Ok(()),
    }
}

/// Parses a `pay` body. An online body lacking the parts only in-store requires is read
/// leniently (see [`crate::online::parse_lenient`]); in-store bodies parse exactly as before.
fn parse_pay(raw: &[u8]) -> Result<PayRequest, AntomResult> {
    parse::<PayRequest>(raw).or_else(|e| crate::online::parse_lenient(raw).unwrap_or(Err(e)))
}

fn validate_pay(req: PayRequest) -> Result<PayRequest, AntomResult> {
    let online = match req.product_code.as_str() {
        asw_antom::api::IN_STORE_PAYMENT => false,
        asw_antom::api::CASHIER_PAYMENT => true,
        _ => {
            return Err(illegal(
                "productCode must be IN_STORE_PAYMENT or CASHIER_PAYMENT",
            ));
        }
    };
    validate_pay_common(&req)?;
    if online {
        crate::online::validate(&req)?;
    } else {
        validate_in_store(&req)?;
    }
    Ok(req)
}

/// Checks shared by in-store and online pays: ids, amounts, lengths, times.
fn validate_pay_common(req: &PayRequest) -> Result<(), AntomResult> {
    if req.payment_request_id.is_empty() {
        return Err(illegal("paymentRequestId is required"));
    }
    too_long("paymentRequestId", Some(&req.payment_request_id), 64)?;
    validate_amount("paymentAmount", &req.payment_amount)?;
    validate_amount("order.orderAmount", &req.order.order_amount)?;
    if req.order.order_amount.currency != req.payment_amount.currency {
        return Err(illegal(
            "order.orderAmount and paymentAmount must use the same currency",
        ));
    }
    too_long(
        "order.orderDescription",
        Some(&req.order.order_description),
        256,
    )?;
    too_long(
        "order.referenceOrderId",
        req.order.reference_order_id.as_deref(),
        64,
    )?;
    too_long("paymentNotifyUrl", req.payment_notify_url.as_deref(), 2048)?;
    if req.payment_method.payment_method_type.is_empty() {
        return Err(illegal("paymentMethod.paymentMethodType is required"));
    }
    if let Some(t) = &req.payment_expiry_time
        && OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_err()
    {
        return Err(illegal("paymentExpiryTime must be ISO 8601 with an offset"));
    }
    Ok(())
}

/// In-store only: the scenario and its payment code, the terminal time.
fn validate_in_store(req: &PayRequest) -> Result<(), AntomResult> {
    let scenario = req.payment_factor.in_store_payment_scenario.as_deref();
    match scenario {
        Some("PaymentCode") => {
            let Some(code) = &req.payment_method.payment_method_id else {
                return Err(illegal(
                    "paymentMethod.paymentMethodId is required for PaymentCode",
                ));
            };
            too_long("paymentMethod.paymentMethodId", Some(code.expose()), 128)?;
        }
        Some("OrderCode") => {}
        _ => {
            return Err(illegal(
                "paymentFactor.inStorePaymentScenario must be PaymentCode or OrderCode",
            ));
        }
    }
    if let Some(env) = &req.order.env
        && let Some(t) = &env.store_terminal_request_time
        && OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_err()
    {
        return Err(illegal(
            "order.env.storeTerminalRequestTime must be ISO 8601 with an offset",
        ));
    }
    Ok(())
}

fn validate_capture(req: CaptureRequest) -> Result<CaptureRequest, AntomResult> {
    if req.capture_request_id.is_empty() {
        return Err(illegal("captureRequestId is required"));
    }
    too_long("captureRequestId", Some(&req.capture_request_id), 64)?;
    if req.payment_id.is_empty() {
        return Err(illegal("paymentId is required"));
    }
    too_long("paymentId", Some(&req.payment_id), 64)?;
    validate_amount("captureAmount", &req.capture_amount)?;
    Ok(req)
}

/// `capture`: the ledger call with the fault mix of the other mutating APIs, plus the
/// configured `capture_fault` on the first attempt of each `captureRequestId`.
fn capture(shared: &Arc<Shared>, dice: &mut Dice, req: &CaptureRequest) -> Plan {
    let mut fault = None;
    let mut plan = other_api(shared, dice, true, |now| {
        let (answer, delivery) = shared.ledger.capture(req, now, &shared.cfg);
        fault = delivery;
        answer
    });
    match fault {
        Some(CaptureFault::LostAfterCommit) => plan.mode = Mode::Drop,
        Some(CaptureFault::SlowCommitted) => plan.delay += shared.cfg.slow_answer,
        _ => {}
    }
    plan
}

fn validate_refund(req: RefundRequest) -> Result<RefundRequest, AntomResult> {
    if req.refund_request_id.is_empty() {
        return Err(illegal("refundRequestId is required"));
    }
    too_long("refundRequestId", Some(&req.refund_request_id), 64)?;
    if req.payment_id.is_empty() {
        return Err(illegal("paymentId is required"));
    }
    too_long("paymentId", Some(&req.payment_id), 64)?;
    too_long("refundReason", req.refund_reason.as_deref(), 256)?;
    validate_amount("refundAmount", &req.refund_amount)?;
    Ok(req)
}

/// Whether a payment code is one a wallet could have issued (digits, sane length).
fn plausible_code(code: &str) -> bool {
    (10..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

/// The scenario of a new payment: online ones by amount only; in-store by amount and code,
/// and a code no wallet could issue is declined outright.
fn scenario_for(req: &PayRequest) -> Scenario {
    let amount_value = &req.payment_amount.value;
    if req.product_code == asw_antom::api::CASHIER_PAYMENT {
        return scenario::select_checkout(amount_value);
    }
    let code = req
        .payment_method
        .payment_method_id
        .as_ref()
        .map(|c| c.expose());
    match code {
        Some(c) if !plausible_code(c) => Scenario::Decline("INVALID_PAYMENT_CODE"),
        _ => scenario::select(code, amount_value),
    }
}

async fn pay(shared: &Arc<Shared>, client_id: &str, req: &PayRequest, dice: &mut Dice) -> Plan {
    let cfg = &shared.cfg;
    let mut scenario = scenario_for(req);
    let is_new = !shared.ledger.contains(&req.payment_request_id);
    let mut faults = NewPaymentFaults::default();
    let mut fault_mode = None;
    let mut fault_delay = Duration::ZERO;
    if is_new && scenario.takes_random_faults() {
        let mix = &cfg.faults;
        if dice.roll(mix.http_5xx_rate) {
            let mut plan = Plan::result_only(unknown("UNKNOWN_EXCEPTION"), Mode::Signed);
            plan.mode = Mode::Raw {
                status: StatusCode::SERVICE_UNAVAILABLE,
                content_type: "text/html",
                body: HTML_503,
            };
            plan.payment_request_id = Some(req.payment_request_id.clone());
            return plan;
        }
        if dice.roll(mix.u_rate) {
            // In-store: `U PAYMENT_IN_PROCESS`, settled by inquiries. Online that is already
            // the normal answer, so the `U` there is UNKNOWN_EXCEPTION with the order created.
            scenario = if scenario == Scenario::Checkout {
                Scenario::UnknownCommitted
            } else {
                Scenario::ProcessingThenSuccess
            };
        }
        if dice.roll(mix.lost_after_commit_rate) {
            fault_mode = Some(Mode::Drop);
        } else if dice.roll(mix.bad_signature_rate) {
            fault_mode = Some(Mode::BadSignature);
        }
        if dice.roll(mix.slow_rate) {
            fault_delay = Duration::from_millis(mix.slow_ms);
        }
        faults.duplicate_notify = dice.roll(mix.duplicate_notify_rate);
        faults.late_notify_after_cancel = dice.roll(mix.late_notify_after_cancel_rate);
    }
    let answer = if is_new && scenario == Scenario::SlowLateCommit {
        // The request is "stuck in transit": nothing exists until the delay is over, and it
        // lands even if the client has given up (so it runs on its own task).
        let task_shared = Arc::clone(shared);
        let task_req = req.clone();
        let task_client = client_id.to_owned();
        let landed = shared.tracker.spawn(async move {
            tokio::time::sleep(task_shared.cfg.slow_answer).await;
            let mut answer = task_shared.ledger.pay(
                &task_client,
                &task_req,
                scenario,
                faults,
                task_shared.clock.now(),
                &task_shared.cfg,
            );
            task_shared.run_effects(std::mem::take(&mut answer.effects), None);
            answer
        });
        match landed.await {
            Ok(answer) => answer,
            Err(_) => {
                return Plan::result_only(unknown("UNKNOWN_EXCEPTION"), Mode::Signed);
            }
        }
    } else {
        shared
            .ledger
            .pay(client_id, req, scenario, faults, shared.clock.now(), cfg)
    };
    let mut plan = Plan::from_answer(&answer);
    if answer.created {
        match scenario {
            Scenario::LostAfterCommit | Scenario::InquiryNotFoundAtFirst => plan.mode = Mode::Drop,
            Scenario::SlowCommitted | Scenario::SlowNotCommitted => plan.delay = cfg.slow_answer,
            Scenario::Http500Committed => {
                plan.mode = Mode::Raw {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    content_type: "text/plain",
                    body: "Internal Server Error",
                }
            }
            Scenario::Http503NotCommitted => {
                plan.mode = Mode::Raw {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    content_type: "text/html",
                    body: HTML_503,
                }
            }
            Scenario::EmptyBodyCommitted => {
                plan.mode = Mode::Raw {
                    status: StatusCode::OK,
                    content_type: "application/json; charset=UTF-8",
                    body: "",
                }
            }
            Scenario::HtmlBodyCommitted => {
                plan.mode = Mode::Raw {
                    status: StatusCode::OK,
                    content_type: "text/html",
                    body: HTML_200,
                }
            }
            Scenario::TruncatedJsonCommitted => {
                let half = plan.body.len() / 2;
                plan.body.truncate(half);
            }
            Scenario::BadResponseSignature => plan.mode = Mode::BadSignature,
            _ => {}
        }
        if let Some(mode) = fault_mode {
            plan.mode = mode;
        }
        plan.delay += fault_delay;
    }
    shared.run_effects(answer.effects, dice.rng.as_mut());
    plan
}

/// inquiryPayment, cancel, refund, inquiryRefund: the ledger call plus the fault mix.
/// `mutating` APIs can also get a `U` that did nothing.
fn other_api(
    shared: &Arc<Shared>,
    dice: &mut Dice,
    mutating: bool,
    call: impl FnOnce(OffsetDateTime) -> Answer,
) -> Plan {
    let mix = &shared.cfg.faults;
    if dice.roll(mix.http_5xx_rate) {
        let mut plan = Plan::result_only(unknown("UNKNOWN_EXCEPTION"), Mode::Signed);
        plan.mode = Mode::Raw {
            status: StatusCode::SERVICE_UNAVAILABLE,
            content_type: "text/html",
            body: HTML_503,
        };
        return plan;
    }
    if mutating && dice.roll(mix.u_rate) {
        return Plan::result_only(unknown("UNKNOWN_EXCEPTION"), Mode::Signed);
    }
    let answer = call(shared.clock.now());
    let mut plan = Plan::from_answer(&answer);
    if answer.scenario == Some(Scenario::InquirySlow)
        && answer.payment_request_id.is_some()
        && plan.result.result_code != "ORDER_NOT_EXIST"
        && !mutating
    {
        plan.delay = shared.cfg.slow_answer;
    }
    if dice.roll(mix.lost_after_commit_rate) {
        plan.mode = Mode::Drop;
    } else if dice.roll(mix.bad_signature_rate) {
        plan.mode = Mode::BadSignature;
    }
    if dice.roll(mix.slow_rate) {
        plan.delay += Duration::from_millis(mix.slow_ms);
    }
    shared.run_effects(answer.effects, dice.rng.as_mut());
    plan
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asw_antom::JSON_CONTENT_TYPE),
    );
    resp
}

/// Signs `POST <path>\n<client-id>.<response-time>.<body>` with the Antom key.
fn signed_response(
    shared: &Shared,
    path: &str,
    client_id: &str,
    body: Vec<u8>,
    corrupt: bool,
) -> Response<Full<Bytes>> {
    let response_time = format_time(shared.clock.now(), shared.cfg.response_utc_offset);
    let signer = &shared.cfg.antom_signer;
    let header_value = if corrupt {
        // Signed over a different body: well-formed, never verifies.
        let mut other = body.clone();
        other.extend_from_slice(b" ");
        signer.signature_header(path, client_id, &response_time, &other)
    } else {
        signer.signature_header(path, client_id, &response_time, &body)
    };
    let mut resp = json_response(StatusCode::OK, body);
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&response_time) {
        headers.insert("response-time", v);
    }
    if let Ok(v) = HeaderValue::from_str(client_id) {
        headers.insert("client-id", v);
    }
    match header_value.map(|h| HeaderValue::from_str(&h)) {
        Ok(Ok(v)) => {
            headers.insert("signature", v);
        }
        _ => tracing::error!("signing a response failed; answering unsigned"),
    }
    resp
}

/// Accepts connections until shutdown. Each connection can be killed by its handler
/// (the "answer lost" faults) without touching the others.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    max_connections: usize,
) {
    let limit = Arc::new(Semaphore::new(max_connections));
    loop {
        let permit = tokio::select! {
            () = shared.shutdown.cancelled() => break,
            permit = Arc::clone(&limit).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = shared.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, _peer): (tokio::net::TcpStream, SocketAddr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let tracker = shared.tracker.clone();
        tracker.spawn(async move {
            let _permit = permit;
            let kill = CancellationToken::new();
            let service = {
                let shared = Arc::clone(&shared);
                let kill = kill.clone();
                hyper::service::service_fn(move |req| {
                    handle(Arc::clone(&shared), kill.clone(), req)
                })
            };
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = conn => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                () = kill.cancelled() => {}
                () = shared.shutdown.cancelled() => {}
            }
        });
    }
}

/// Entry points for the cargo-fuzz targets in `fuzz/`; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// A ledger plus the request parsing and validation the server applies to bodies.
    #[derive(Debug)]
    pub struct Harness {
        cfg: SimConfig,
        ledger: Ledger,
    }

    impl Harness {
        /// A harness with an empty ledger.
        pub fn new(cfg: SimConfig) -> Self {
            Self {
                cfg,
                ledger: Ledger::default(),
            }
        }

        /// Parses and validates one request body for `api` and, when it is valid, applies it
        /// to the ledger exactly as the server would. Returns the result code.
        pub fn feed(&self, api: Api, raw: &[u8]) -> String {
            let now = OffsetDateTime::now_utc();
            let cfg = &self.cfg;
            let result = match api {
                Api::Pay => parse_pay(raw).and_then(validate_pay).map(|req| {
                    let scenario = scenario_for(&req);
                    self.ledger.pay(
                        "fuzz",
                        &req,
                        scenario,
                        NewPaymentFaults::default(),
                        now,
                        cfg,
                    )
                }),
                Api::InquiryPayment => parse::<InquiryPaymentRequest>(raw)
                    .map(|req| self.ledger.inquiry_payment(&req, now, cfg)),
                Api::Cancel => {
                    parse::<CancelRequest>(raw).map(|req| self.ledger.cancel(&req, now, cfg))
                }
                Api::Refund => parse::<RefundRequest>(raw)
                    .and_then(validate_refund)
                    .map(|req| self.ledger.refund(&req, now, cfg)),
                Api::InquiryRefund => parse::<InquiryRefundRequest>(raw)
                    .map(|req| self.ledger.inquiry_refund(&req, now, cfg)),
                Api::Capture => parse::<CaptureRequest>(raw)
                    .and_then(validate_capture)
                    .map(|req| self.ledger.capture(&req, now, cfg).0),
                Api::CreatePaymentSession => parse_session(raw)
                    .map(|req| self.ledger.create_session("fuzz", &req, true, now, cfg)),
            };
            match result {
                Ok(answer) => answer.result.result_code,
                Err(r) => r.result_code,
            }
        }

        /// Whether a `request-time` value parses (epoch ms or ISO 8601).
        pub fn request_time_parses(value: &str) -> bool {
            parse_request_time(value).is_some()
        }
    }
}
