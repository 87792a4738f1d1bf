//! The switch's Prometheus recorder keeps histogram samples until something drains them: a
//! scrape does, and so must a periodic upkeep, or a switch nobody scrapes (Prometheus down, a
//! box without it) holds every latency sample it ever took — four or five per payment, tens of
//! kilobytes a second at full rate, without end.
//!
//! Its own test binary: it counts the process's live heap bytes with a wrapping allocator and
//! installs the process-wide recorder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::System;
use std::time::{Duration, Instant};

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes currently allocated by the process.
fn live() -> isize {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize + stats.bytes_reallocated
}

const MB: isize = 1 << 20;

#[test]
fn histogram_samples_are_drained_without_a_scrape() {
    let _handle = asw_app::telemetry::prometheus().expect("the recorder installs");
    let record = |n: usize| {
        for _ in 0..n {
            metrics::histogram!(asw_core::metrics::LATENCY, "flow" => "purchase").record(0.003);
        }
    };
    record(1_000);
    let before = live();
    // Two million samples: 16 MB of them while held.
    record(2_000_000);
    let held = live() - before;
    assert!(
        held > 8 * MB,
        "the samples are held until drained ({held} bytes)"
    );

    // Nobody scrapes. Within a few upkeep periods the samples must be gone (the memory they
    // held is reclaimed once later recordings move the epoch on).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        record(1_000);
        let grown = live() - before;
        if grown < 2 * MB {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no scrape for 20 s: still {grown} bytes more than before the samples"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
