//! The bare examples' progress line: three counters printed every 5 s when they changed, so a
//! run's log shows that each purchase's notification made it through (shared by
//! `bare_switch.rs` and `bare_sim.rs` through `#[path]`).

use std::time::Duration;

/// Prints `labels` beside the values `read` returns, every 5 s while they change.
pub fn print_every_5s(labels: [&'static str; 3], read: impl Fn() -> [u64; 3] + Send + 'static) {
    tokio::spawn(async move {
        let mut last = [0; 3];
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let now = read();
            if now != last {
                println!(
                    "{} {} {} {} {} {}",
                    labels[0], now[0], labels[1], now[1], labels[2], now[2]
                );
                last = now;
            }
        }
    });
}
