//! terminal-sim hot paths and a loopback round trip against asw-downstream with the
//! approve-all handler: building + encoding a purchase, matching an answer, one request
//! at a time (latency) and 100 outstanding on one connection (throughput).
//!
//! Run: `cargo bench -p asw-benches --bench terminal_sim`. The load tool's own figure
//! (open loop, one core) comes from `terminal-sim load`, see the crate README.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)] // bench code: failing loudly is the point; criterion macros make undocumented items

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use asw_downstream::{ApproveAllHandler, Profile, Server, ServerConfig};
use asw_iso8583::{decode, encode_to_bytes};
use asw_terminal_sim::{Clock, LinkConfig, MessageFactory, ProfileName, StanCounter, Terminal};
use criterion::{Criterion, Throughput};

const CODE: &str = "281234567890123456";

fn build_and_encode(c: &mut Criterion) {
    let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
    let factory = MessageFactory::new(&link.dialect, "M00000000000001", "T0000001");
    let clock = Clock::utc();
    let stan = StanCounter::default();
    let mut group = c.benchmark_group("terminal_sim");
    group.throughput(Throughput::Elements(1));
    group.bench_function("purchase_build_encode", |b| {
        b.iter(|| {
            let message = factory
                .purchase(&clock.stamp(stan.next()), 1250, 344, CODE)
                .unwrap();
            black_box(encode_to_bytes(&link.dialect, &message).unwrap())
        })
    });
    let answer = ApproveAllHandler::new()
        .answer(
            &link.dialect,
            &factory.purchase(&clock.stamp(1), 1250, 344, CODE).unwrap(),
        )
        .unwrap();
    let wire = encode_to_bytes(&link.dialect, &answer).unwrap();
    group.bench_function("answer_decode", |b| {
        b.iter(|| black_box(decode(&link.dialect, wire.clone()).unwrap()))
    });
    group.finish();
}

fn loopback(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
    let (server, terminal) = runtime.block_on(async {
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            profile: Profile::PosBinary,
            shutdown_grace_ms: 1_000,
            ..ServerConfig::default()
        };
        let server = Server::start(config, Arc::new(ApproveAllHandler::new()))
            .await
            .unwrap();
        let terminal = Terminal::connect(server.local_addr(), link.clone())
            .await
            .unwrap();
        (server, terminal)
    });
    let factory = MessageFactory::new(&link.dialect, "M00000000000001", "T0000001");
    let clock = Clock::utc();
    let stan = StanCounter::default();
    let timeout = Duration::from_secs(5);
    let mut group = c.benchmark_group("terminal_sim_loopback");
    group.throughput(Throughput::Elements(1));
    group.bench_function("purchase_round_trip", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = factory
                .purchase(&clock.stamp(stan.next()), 1250, 344, CODE)
                .unwrap();
            black_box(terminal.request(&request, timeout).await.unwrap())
        })
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("purchase_100_outstanding", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut pending = Vec::with_capacity(100);
            for _ in 0..100 {
                let request = factory
                    .purchase(&clock.stamp(stan.next()), 1250, 344, CODE)
                    .unwrap();
                pending.push(terminal.send(&request).await.unwrap());
            }
            for p in pending {
                black_box(p.wait(timeout).await.unwrap());
            }
        })
    });
    group.finish();
    drop(terminal);
    runtime.block_on(server.shutdown());
}

criterion::criterion_group!(benches, build_and_encode, loopback);
criterion::criterion_main!(benches);
