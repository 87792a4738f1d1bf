//! SAF drain: how fast the reversal engine empties a backlog of queued cancels against
//! antom-sim, compared with how fast antom-sim answers cancels on its own.
//!
//! The situation it models: Antom was unreachable for a while, the switch kept accepting
//! reversals and queued a cancel for each, and now Antom is back. How long until every
//! customer's money is released?
//!
//! 1. Starts a real `redis-server` (AOF, `appendfsync always`) and antom-sim in-process on its
//!    own runtime (`pre_cancel = pre-close`, so a cancel of a payment it never saw answers `S`,
//!    as it would for a payment that never completed).
//! 2. The simulator's own cancel rate: pre-signed cancels fired at it directly (the client's
//!    RSA work done before the clock starts), 32 in flight.
//! 3. For each consumer count: journals N purchases (state `CANCEL_PENDING`, one SAF entry
//!    each, written by the same store script the switch uses), starts a `ReversalEngine` with
//!    the real upstream client (which signs every cancel and verifies every answer), and
//!    times it until the queue is empty; then checks that every record ended `CANCELLED`.
//!
//! Writes `target/saf-drain/report.json` (or `$SAF_DRAIN_REPORT`).
//! Run: `cargo bench -p asw-benches --bench saf_drain`
//! Knobs: `SAF_DRAIN_N` (default 100000), `SAF_DRAIN_CONSUMERS` (default "2 16"),
//! `SAF_DRAIN_DIRECT` (cancels in the direct measurement, default 20000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use asw_antom::Signer;
use asw_antom_sim::{PreCancel, SimConfig, Simulator};
use asw_core::ports::{Clock, Journal, SystemClock};
use asw_core::record::{TransactionRecord, plan_change};
use asw_core::saf::SafQueue;
use asw_core::state::{CancelReason, Event, TxnState};
use asw_reversal::{EngineConfig, ReversalEngine};
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_testkit::fixtures::purchase_record_of;
use asw_upstream::{AntomClient, ClientGroupConfig, UpstreamSettings};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

// Throwaway test-only keys.
const ANTOM_KEY: &str = include_str!("../crates/asw-antom-sim/testdata/antom_private_pkcs8.pem");
const ANTOM_PUBLIC: &str = include_str!("../crates/asw-antom-sim/testdata/antom_public.pem");
const MERCHANT_KEY: &str =
    include_str!("../crates/asw-antom-sim/testdata/merchant_private_pkcs8.pem");
const MERCHANT_PUBLIC: &str = include_str!("../crates/asw-antom-sim/testdata/merchant_public.pem");
const CLIENT: &str = "SANDBOX_5YTEST00000000000";
const CANCEL: &str = "/ams/api/v1/payments/cancel";
/// Requests in flight in the direct measurement.
const CONCURRENCY: usize = 32;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A purchase the terminal reversed, its pay call long over: the cancel is due at once.
fn reversed_purchase(run: u32, n: u32, now: i64) -> TransactionRecord {
    TransactionRecord {
        call_over_at_ms: now,
        response_deadline_ms: now,
        terminal_deadline_ms: now,
        gateway_deadline_ms: now,
        payment_expiry_ms: now + 3_600_000,
        ..purchase_record_of(&format!("D{run:07}"), n, now)
    }
}

/// Journals `count` reversed purchases and queues their cancels, 64 writes in flight.
async fn seed(store: &RedisStore, run: u32, count: u32) -> Vec<TransactionRecord> {
    let now = SystemClock.now_ms();
    futures::stream::iter(0..count)
        .map(|n| async move {
            let record = reversed_purchase(run, n, now);
            store.begin(&record).await.unwrap();
            let change = plan_change(
                &record,
                Event::CancelRequested(CancelReason::ReversalAdvice),
                now,
                "saf drain bench",
            )
            .unwrap()
            .unwrap();
            assert!(change.enqueue.is_some(), "a reversal queues a cancel");
            store.commit(&change).await.unwrap();
            change.record
        })
        .buffer_unordered(64)
        .collect()
        .await
}

fn upstream(base_url: &str) -> Arc<AntomClient> {
    let group = ClientGroupConfig {
        name: "default".into(),
        base_url: base_url.to_string(),
        client_id: CLIENT.into(),
        merchant_private_key: MERCHANT_KEY.into(),
        key_version: 1,
        antom_public_keys: vec![ANTOM_PUBLIC.into()],
        agent_token: None,
    };
    Arc::new(AntomClient::new(UpstreamSettings::default(), [group]).unwrap())
}

/// Cancels per second antom-sim answers when hit directly with pre-signed requests.
async fn direct_cancel_rate(base_url: &str, count: usize) -> f64 {
    let signer = Signer::from_private_key(MERCHANT_KEY, 1).unwrap();
    let prepared: Vec<(Vec<u8>, String)> = (0..count)
        .map(|n| {
            let body = serde_json::to_vec(
                &serde_json::json!({ "paymentRequestId": format!("direct-cancel-{n}") }),
            )
            .unwrap();
            let signature = signer
                .signature_header(CANCEL, CLIENT, "1700000000000", &body)
                .unwrap();
            (body, signature)
        })
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let url = format!("{base_url}{CANCEL}");
    let started = Instant::now();
    futures::stream::iter(prepared)
        .map(|(body, signature)| {
            let http = &http;
            let url = &url;
            async move {
                let response = http
                    .post(url)
                    .header("content-type", "application/json; charset=UTF-8")
                    .header("client-id", CLIENT)
                    .header("request-time", "1700000000000")
                    .header("signature", signature)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(response.headers().contains_key("signature"));
                let body = response.bytes().await.unwrap();
                assert!(
                    body.starts_with(br#"{"result":{"resultCode":"SUCCESS""#),
                    "{}",
                    String::from_utf8_lossy(&body)
                );
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<()>()
        .await;
    count as f64 / started.elapsed().as_secs_f64()
}

/// Times one drain of `count` queued cancels with `consumers` consumer tasks.
async fn drain(
    redis_url: &str,
    base_url: &str,
    run: u32,
    count: u32,
    consumers: usize,
) -> serde_json::Value {
    // A key prefix per run: a stopped engine's last blocking read may still be served by
    // Redis and park entries with that (gone) consumer until they are claimed.
    let store = &RedisStore::connect(StoreConfig {
        url: redis_url.to_string(),
        key_prefix: format!("drain{run}"),
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    let seeding = Instant::now();
    let records = seed(store, run, count).await;
    let seed_s = seeding.elapsed().as_secs_f64();
    let depth = store.stats(SystemClock.now_ms()).await.unwrap().depth;
    assert!(
        depth >= u64::from(count),
        "queue depth {depth} after seeding"
    );

    let config = EngineConfig {
        instance: format!("drain-{run}"),
        consumers,
        // Nothing is due for the sweeper: keep it out of the measurement.
        sweep_interval_ms: 3_600_000,
        ..EngineConfig::default()
    };
    let engine = Arc::new(ReversalEngine::new(
        upstream(base_url),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(SystemClock),
        config,
    ));
    let token = CancellationToken::new();
    let started = Instant::now();
    let tracker = engine.start(token.clone());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stats = store.stats(SystemClock.now_ms()).await.unwrap();
        if stats.depth == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3_600),
            "drain did not finish: {stats:?}"
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    token.cancel();
    tracker.wait().await;

    let mut cancelled = 0u32;
    for record in &records {
        let now = store
            .load(&record.tag, record.journal_id())
            .await
            .unwrap()
            .unwrap();
        if now.state == TxnState::Cancelled {
            cancelled += 1;
        }
    }
    assert_eq!(cancelled, count, "every queued cancel must end CANCELLED");
    let rate = f64::from(count) / elapsed;
    println!(
        "saf_drain: {count} queued cancels, {consumers} consumers: drained in {elapsed:.1} s = \
         {rate:.0} entries/s (seeding took {seed_s:.1} s); all {cancelled} records CANCELLED"
    );
    serde_json::json!({
        "entries": count,
        "consumers": consumers,
        "drain_s": elapsed,
        "entries_per_s": rate,
        "seed_s": seed_s,
        "cancelled": cancelled,
    })
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that does not match skips the run.
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with("--"))
        && !"saf_drain".contains(filter.as_str())
    {
        return;
    }
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let count: u32 = env_or("SAF_DRAIN_N", 100_000);
    let direct: usize = env_or("SAF_DRAIN_DIRECT", 20_000);
    let consumer_counts: Vec<usize> = std::env::var("SAF_DRAIN_CONSUMERS")
        .unwrap_or_else(|_| "2 16".into())
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect();

    let redis = RedisServer::start().unwrap();
    // The simulator gets its own runtime (2 workers, like the standalone binary on this
    // machine); the engine and the store another one.
    let sim_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = sim_runtime.block_on(async {
        let mut config = SimConfig::from_antom_private_key(ANTOM_KEY)
            .unwrap()
            .with_client(CLIENT, MERCHANT_PUBLIC)
            .unwrap();
        config.pre_cancel = PreCancel::PreClose;
        config.max_recorded_calls = 1_000;
        Simulator::start(config).await.unwrap()
    });
    let base_url = sim.base_url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let report = runtime.block_on(async {
        let direct_rate = direct_cancel_rate(&base_url, direct).await;
        println!(
            "saf_drain: antom-sim answers {direct_rate:.0} signed cancels/s on its own \
             ({direct} pre-signed, {CONCURRENCY} in flight)"
        );
        let mut runs = Vec::new();
        for (run, consumers) in consumer_counts.iter().enumerate() {
            let run = u32::try_from(run).unwrap() + 1;
            let mut result = drain(&redis.url(), &base_url, run, count, *consumers).await;
            result["vs_sim_direct"] =
                serde_json::json!(result["entries_per_s"].as_f64().unwrap_or(0.0) / direct_rate);
            runs.push(result);
        }
        serde_json::json!({
            "sim_direct_cancels_per_s": direct_rate,
            "runs": runs,
            "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        })
    });
    let path = std::env::var("SAF_DRAIN_REPORT").unwrap_or_else(|_| {
        format!(
            "{}/../target/saf-drain/report.json",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    if let Some(dir) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("saf_drain: report written to {path}");
    sim_runtime.block_on(sim.shutdown());
}
