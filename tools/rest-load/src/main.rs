//! `rest-load`: an open-loop load of payment-code payments against the switch's REST API.
//!
//! Payments start at a fixed rate whatever the answers do (a closed loop would slow down with
//! the switch and hide its queueing), each with its own `Idempotency-Key`. The report has the
//! shape of `terminal-sim load`'s, so `benches/run-e2e.sh` reads both alike: a `succeeded`
//! answer counts under response code `00`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

#[derive(Parser, Debug)]
#[command(name = "rest-load", version)]
struct Args {
    /// Base URL of the REST API (`http://127.0.0.1:8443`).
    #[arg(long)]
    url: String,
    /// The merchant's API key secret.
    #[arg(long)]
    secret: String,
    /// Payments started per second.
    #[arg(long)]
    rate: f64,
    /// Seconds of load.
    #[arg(long)]
    duration: f64,
    /// At most this many requests in flight (beyond it a start waits: counted as send lag).
    #[arg(long, default_value_t = 512)]
    concurrency: usize,
    /// A prefix making this run's idempotency keys unique.
    #[arg(long, default_value = "run")]
    run: String,
    /// Where to write the JSON report.
    #[arg(long)]
    report: PathBuf,
}

#[derive(Serialize)]
struct Transaction {
    latency_us: Option<u64>,
    status: Option<u16>,
    payment_status: Option<String>,
    payment_request_id: Option<String>,
}

async fn one(
    http: reqwest::Client,
    url: String,
    secret: String,
    key: String,
    n: u64,
) -> Transaction {
    let body = json!({
        "order_id": key,
        "amount": { "currency": "SGD", "value": 100 + n % 9_800 },
        // Ends in 00 and below 9901: a plain success in antom-sim.
        "method": { "type": "payment_code", "code": format!("2810{:012}00", n % 1_000_000_000_000) },
    });
    let started = Instant::now();
    let sent = http
        .post(format!("{url}/v1/payments"))
        .bearer_auth(&secret)
        .header("idempotency-key", &key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    let Ok(response) = sent else {
        return Transaction {
            latency_us: None,
            status: None,
            payment_status: None,
            payment_request_id: None,
        };
    };
    let status = response.status().as_u16();
    let answer: serde_json::Value = response
        .bytes()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    Transaction {
        latency_us: Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)),
        status: Some(status),
        payment_status: answer["status"].as_str().map(str::to_string),
        payment_request_id: answer["antom"]["payment_request_id"]
            .as_str()
            .map(str::to_string),
    }
}

fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((q * sorted.len() as f64) as usize).min(sorted.len() - 1);
    sorted.get(index).copied()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.concurrency)
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            eprintln!("rest-load: {e}");
            return ExitCode::from(2);
        }
    };
    let slots = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let total = (args.rate * args.duration).round() as u64;
    let start = Instant::now();
    let mut max_lag = Duration::ZERO;
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        max_lag = max_lag.max(Instant::now().saturating_duration_since(due));
        let (http, url, secret) = (http.clone(), args.url.clone(), args.secret.clone());
        let key = format!("{}-{n}", args.run);
        tasks.push(tokio::spawn(async move {
            let t = one(http, url, secret, key, n).await;
            drop(permit);
            t
        }));
    }
    let mut transactions = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(t) = task.await {
            transactions.push(t);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut latencies: Vec<u64> = transactions.iter().filter_map(|t| t.latency_us).collect();
    latencies.sort_unstable();
    let succeeded = transactions
        .iter()
        .filter(|t| t.payment_status.as_deref() == Some("succeeded"))
        .count();
    let answered = transactions.iter().filter(|t| t.status.is_some()).count();
    let summary = json!({
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "elapsed_s": elapsed,
        "scheduled": total,
        "answered": answered,
        "response_codes": { "00": succeeded, "other": answered - succeeded },
        "latency_us": {
            "p50": percentile(&latencies, 0.50),
            "p99": percentile(&latencies, 0.99),
            "p99_9": percentile(&latencies, 0.999),
            "max": latencies.last(),
        },
        "max_send_lag_ms": max_lag.as_secs_f64() * 1000.0,
    });
    let report = json!({ "summary": summary, "transactions": transactions });
    if let Err(e) = std::fs::write(&args.report, report.to_string()) {
        eprintln!("rest-load: cannot write {}: {e}", args.report.display());
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
