//! Store round trips: what one purchase costs in Redis (begin + commit of the approval with its
//! `SENDING` mark = two atomic scripts, as the switch writes them), and the SAF enqueue / fetch / ack cycle. Starts its own
//! redis-server (asw-testkit) twice: with `appendfsync always` (production) and `everysec`
//! (to separate fsync cost from script cost).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use asw_core::ports::Journal;
use asw_core::record::plan_change;
use asw_core::saf::SafQueue;
use asw_core::state::{CancelReason, Event};
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "journal_fixture.rs"]
mod journal_fixture;
use journal_fixture::{NOW, approved_purchase, record};

async fn purchase(store: &RedisStore, n: u32) {
    approved_purchase(store, n).await;
}

fn bench_server(c: &mut Criterion, label: &str, fsync: &str) {
    let server = RedisServer::start_with_args(&["--appendfsync", fsync]).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = runtime
        .block_on(RedisStore::connect(StoreConfig {
            url: server.url(),
            ..StoreConfig::default()
        }))
        .unwrap();
    let counter = AtomicU32::new(0);
    let mut group = c.benchmark_group(format!("store_{label}"));
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(30);

    group.bench_function("ping_round_trip", |b| {
        b.to_async(&runtime)
            .iter(|| async { store.ping().await.unwrap() })
    });
    group.bench_function("purchase_begin_approved_sending", |b| {
        b.to_async(&runtime)
            .iter(|| purchase(&store, counter.fetch_add(1, Ordering::Relaxed)))
    });
    group.bench_function("purchase_x16_concurrent", |b| {
        b.to_async(&runtime).iter(|| async {
            let base = counter.fetch_add(16, Ordering::Relaxed);
            futures::future::join_all((0..16).map(|i| purchase(&store, base + i))).await;
        })
    });
    group.bench_function("saf_enqueue_fetch_ack", |b| {
        b.to_async(&runtime).iter(|| async {
            let rec = record(counter.fetch_add(1, Ordering::Relaxed));
            store.begin(&rec).await.unwrap();
            let cancel = plan_change(
                &rec,
                Event::CancelRequested(CancelReason::ReversalAdvice),
                NOW,
                "bench",
            )
            .unwrap()
            .unwrap();
            store.commit(&cancel).await.unwrap();
            let got = store.fetch("bench-0", 1, Duration::ZERO).await.unwrap();
            for m in &got {
                store.ack(m).await.unwrap();
            }
        })
    });
    group.finish();
    drop(store);
    drop(server);
}

fn benches(c: &mut Criterion) {
    bench_server(c, "fsync_always", "always");
    bench_server(c, "fsync_everysec", "everysec");
}

criterion_group!(store, benches);
criterion_main!(store);
