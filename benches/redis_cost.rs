//! Redis CPU per approved purchase, measured on redis-server itself: what the switch writes for
//! one approved terminal purchase (`begin`, then the commit of APPROVED + SENDING; Antom's
//! notification of it is answered from memory by the instance that approved it, see
//! `asw-core/src/flows/approved.rs`; `--with-read` adds the journal read another instance would
//! make for it), many at once as under load, against a fresh
//! redis-server with the production durability (`appendonly yes`, `appendfsync always`).
//!
//! Prints redis-server's CPU (user + system, from `/proc/<pid>/stat`) per purchase, the part
//! spent inside commands (`INFO commandstats`: calls and µs per purchase for each command), and
//! the same with `appendfsync no` to separate the cost of the fsyncs from the cost of the
//! writes. Not a criterion bench: the figure is CPU per operation of another process, not the
//! time of a closure. `cargo bench -p asw-benches --bench redis_cost [-- PURCHASES CONCURRENCY [--with-read] [--rest]]`; `--rest`
//! writes REST payments instead (the order lock, payment index and kept answer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use asw_core::ports::Journal;
use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_testkit::topologies::redis_cli;

#[path = "journal_fixture.rs"]
mod journal_fixture;
use journal_fixture::{approved_purchase, approved_rest_payment};

/// What the switch does in Redis for one approved purchase (and, `with_read`, the read of its
/// notification on an instance that did not approve it).
async fn purchase(store: &RedisStore, n: u32, with_read: bool, rest: bool) {
    let rec = if rest {
        approved_rest_payment(store, n).await
    } else {
        approved_purchase(store, n).await
    };
    if with_read {
        let _ = store
            .load(&rec.tag, rec.payment_request_id.as_str())
            .await
            .unwrap();
    }
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_s() -> f64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn run(fsync: &str, purchases: u32, concurrency: u32, with_read: bool, rest: bool) {
    let server = RedisServer::start_with_args(&["--appendfsync", fsync]).unwrap();
    let pid: u32 = redis_cli(server.port(), &["INFO", "server"])
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(
        runtime
            .block_on(RedisStore::connect(StoreConfig {
                url: server.url(),
                ..StoreConfig::default()
            }))
            .unwrap(),
    );
    // As in `benches/run-e2e.sh`: no merchant has an events endpoint, so no outbox entry.
    store.write_events_only_for(std::collections::HashSet::new());
    let next = Arc::new(AtomicU32::new(0));
    let work = |count: u32| {
        let start = next.fetch_add(0, Ordering::Relaxed);
        next.store(start + count, Ordering::Relaxed);
        runtime.block_on(async {
            let per = count / concurrency;
            let tasks: Vec<_> = (0..concurrency)
                .map(|w| {
                    let store = Arc::clone(&store);
                    tokio::spawn(async move {
                        for i in 0..per {
                            purchase(&store, start + w * per + i, with_read, rest).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        (count / concurrency) * concurrency
    };
    work(2_000.min(purchases)); // warm-up: connections, script cache, allocator
    redis_cli(server.port(), &["CONFIG", "RESETSTAT"]).unwrap();
    let before = cpu_ticks(pid);
    let started = std::time::Instant::now();
    let done = work(purchases);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_us = (cpu_ticks(pid) - before) as f64 / clock_ticks_per_s() * 1e6;
    let stats = redis_cli(server.port(), &["INFO", "commandstats"]).unwrap();
    println!(
        "appendfsync {fsync}: {done} purchases, {concurrency} at once, {:.0}/s: redis-server CPU {:.1} µs per purchase",
        f64::from(done) / elapsed,
        cpu_us / f64::from(done)
    );
    let mut rows: Vec<(String, f64, f64)> = stats
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let field = |k: &str| -> Option<f64> {
                rest.split(',')
                    .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))?
                    .parse()
                    .ok()
            };
            Some((name.to_string(), field("calls")?, field("usec")?))
        })
        .filter(|(name, _, _)| !name.starts_with("config"))
        .collect();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    let inside: f64 = rows
        .iter()
        .filter(|(n, _, _)| !n.starts_with("eval"))
        .map(|r| r.2)
        .sum();
    let total: f64 = rows
        .iter()
        // EVALSHA's time already holds the commands its script runs: adding them (an HGET
        // inside a script is counted as an HGET too) would count them twice.
        .filter(|(n, _, _)| n.starts_with("eval"))
        .map(|r| r.2)
        .sum();
    println!(
        "  commandstats: {:.1} µs per purchase in the scripts; {:.1} µs in the commands they run (and, with --with-read, the read)",
        total / f64::from(done),
        inside / f64::from(done)
    );
    for (name, calls, usec) in rows {
        println!(
            "  {name:>12}: {:>5.2} calls, {:>6.1} µs per purchase",
            calls / f64::from(done),
            usec / f64::from(done)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let purchases = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    let with_read = std::env::args().any(|a| a == "--with-read");
    let rest = std::env::args().any(|a| a == "--rest");
    if rest {
        println!("REST payments (order lock, payment index, kept first answer)");
    }
    run("always", purchases, concurrency, with_read, rest);
    run("no", purchases, concurrency, with_read, rest);
}
