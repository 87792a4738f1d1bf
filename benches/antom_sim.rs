//! antom-sim throughput: signed UPM `pay` round trips per second with the simulator pinned
//! to one core (a current-thread runtime on its own thread), plus the bare RSA-2048 signature
//! that bounds it.
//!
//! Each measured request is a new payment (unique `paymentRequestId`), so every one goes
//! through request verification, JSON parsing, the ledger, response signing and the call
//! log. Requests are signed by the client before the clock starts, so the client's own RSA
//! work does not compete with the simulator for the measurement.
//!
//! Before the criterion groups it prints one load line: the wall-clock rate and the rate per
//! CPU-second of the simulator's thread (read from /proc). On a shared or busy machine the
//! second figure is the one to compare with the target (2,000 signed pays/s on one core).
//!
//! Run: `cargo bench -p asw-benches --bench antom_sim`

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use asw_antom::Signer;
use asw_antom_sim::{SimConfig, Simulator};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;

// Throwaway test-only keys.
const ANTOM_KEY: &str = include_str!("../crates/asw-antom-sim/testdata/antom_private_pkcs8.pem");
const MERCHANT_KEY: &str =
    include_str!("../crates/asw-antom-sim/testdata/merchant_private_pkcs8.pem");
const MERCHANT_PUBLIC: &str = include_str!("../crates/asw-antom-sim/testdata/merchant_public.pem");
const CLIENT: &str = "SANDBOX_5YTEST00000000000";
const PAY: &str = "/ams/api/v1/payments/pay";
/// Requests in flight at once (keep-alive connections).
const CONCURRENCY: usize = 32;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn pay_body(prid: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "productCode": "IN_STORE_PAYMENT",
        "paymentRequestId": prid,
        "order": {
            "orderDescription": "POS sale",
            "orderAmount": {"currency": "SGD", "value": "1234"},
            "merchant": {
                "referenceMerchantId": "M0001", "merchantMCC": "5411", "merchantName": "Demo Mart",
                "store": {"referenceStoreId": "S0001", "storeName": "Demo Mart Orchard", "storeMCC": "5411"}
            },
            "env": {"storeTerminalId": "T0001", "storeTerminalRequestTime": "2023-11-14T22:13:20+08:00"}
        },
        "paymentAmount": {"currency": "SGD", "value": "1234"},
        "paymentMethod": {"paymentMethodType": "CONNECT_WALLET", "paymentMethodId": "281012345678901200"},
        "paymentFactor": {"inStorePaymentScenario": "PaymentCode"}
    }))
    .unwrap()
}

/// The simulator running on a dedicated thread with a single-threaded runtime: one core.
struct OneCoreSim {
    base: String,
    stop: std::sync::mpsc::Sender<()>,
    cpu: tokio::sync::mpsc::UnboundedSender<std::sync::mpsc::Sender<Duration>>,
}

impl OneCoreSim {
    /// CPU time (user + system) the simulator's thread has used so far.
    fn cpu_time(&self) -> Duration {
        let (tx, rx) = std::sync::mpsc::channel();
        self.cpu.send(tx).unwrap();
        rx.recv().unwrap()
    }
}

/// utime + stime of the calling thread from /proc (Linux, 100 ticks per second).
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn start_sim_on_one_core() -> OneCoreSim {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let (cpu_tx, mut cpu_rx) =
        tokio::sync::mpsc::unbounded_channel::<std::sync::mpsc::Sender<Duration>>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut cfg = SimConfig::from_antom_private_key(ANTOM_KEY)
                .unwrap()
                .with_client(CLIENT, MERCHANT_PUBLIC)
                .unwrap();
            cfg.max_recorded_calls = 10_000_000;
            let sim = Simulator::start(cfg).await.unwrap();
            addr_tx.send(sim.base_url()).unwrap();
            // Runs on this (the simulator's) thread, so it reads this thread's CPU time.
            tokio::spawn(async move {
                while let Some(reply) = cpu_rx.recv().await {
                    let _ = reply.send(thread_cpu_time());
                }
            });
            tokio::task::spawn_blocking(move || stop_rx.recv())
                .await
                .ok();
            sim.shutdown().await;
        });
    });
    OneCoreSim {
        base: addr_rx.recv().unwrap(),
        stop: stop_tx,
        cpu: cpu_tx,
    }
}

struct Prepared {
    body: Vec<u8>,
    signature: String,
}

fn prepare(signer: &Signer, n: u64) -> Vec<Prepared> {
    (0..n)
        .map(|_| {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let body = pay_body(&format!("bench-{id}"));
            let signature = signer
                .signature_header(PAY, CLIENT, "1700000000000", &body)
                .unwrap();
            Prepared { body, signature }
        })
        .collect()
}

async fn fire(http: &reqwest::Client, url: &str, batch: Vec<Prepared>) {
    futures::stream::iter(batch)
        .map(|p| async move {
            let resp = http
                .post(url)
                .header("content-type", "application/json; charset=UTF-8")
                .header("client-id", CLIENT)
                .header("request-time", "1700000000000")
                .header("signature", p.signature)
                .body(p.body)
                .send()
                .await
                .unwrap();
            assert!(resp.headers().contains_key("signature"));
            let body = resp.bytes().await.unwrap();
            assert!(body.starts_with(br#"{"result":{"resultCode":"SUCCESS""#));
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<()>()
        .await;
}

fn pay_round_trips(c: &mut Criterion) {
    let sim = start_sim_on_one_core();
    let url = format!("{}{PAY}", sim.base);
    let signer = Signer::from_private_key(MERCHANT_KEY, 1).unwrap();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();

    // A plain load run first: wall-clock rate, and the rate per CPU-second of the
    // simulator's thread (what one dedicated core sustains, whatever else the machine runs).
    const LOAD: u64 = 5_000;
    let batch = prepare(&signer, LOAD);
    let cpu_before = sim.cpu_time();
    let started = Instant::now();
    client_rt.block_on(fire(&http, &url, batch));
    let wall = started.elapsed();
    let cpu = sim.cpu_time().saturating_sub(cpu_before);
    println!(
        "antom_sim load: {LOAD} new signed pays, concurrency {CONCURRENCY}: {:.0} req/s wall-clock; \
         simulator thread used {:.2} s CPU = {:.0} req per CPU-second",
        LOAD as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64(),
        LOAD as f64 / cpu.as_secs_f64().max(0.001),
    );

    let mut group = c.benchmark_group("antom_sim");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("signed_pay_round_trip_sim_on_1_core", |b| {
        b.iter_custom(|iters| {
            let batch = prepare(&signer, iters);
            client_rt.block_on(async {
                let start = Instant::now();
                fire(&http, &url, batch).await;
                start.elapsed()
            })
        })
    });

    let antom = Signer::from_private_key(ANTOM_KEY, 1).unwrap();
    let body = pay_body("bench-sign");
    group.bench_function("rsa2048_sign_response_only", |b| {
        b.iter(|| {
            antom
                .signature_header(PAY, CLIENT, "2023-11-14T06:13:21-08:00", &body)
                .unwrap()
        })
    });
    group.finish();
    let _ = sim.stop.send(());
}

criterion_group!(benches, pay_round_trips);
criterion_main!(benches);
