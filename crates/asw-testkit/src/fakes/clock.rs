//! Clocks for tests: [`VirtualClock`] follows tokio's (pausable) time, [`ManualClock`] moves only
//! when the test (or a wait) moves it, [`SkewedClock`] reads another clock shifted (one switch
//! instance whose clock runs ahead of or behind the others').

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use asw_core::ports::Clock;
use async_trait::async_trait;

/// 2026-11-22T10:00:00Z in milliseconds since the Unix epoch: the default start of test time.
pub const TEST_EPOCH_MS: i64 = 1_795_341_600_000;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A clock on tokio's time: `now_ms = epoch_ms + (tokio::time::Instant::now() - start)` and
/// `sleep` is `tokio::time::sleep`.
///
/// Under `#[tokio::test(start_paused = true)]` tokio's time is virtual and jumps ahead whenever
/// every task waits, so a flow that waits 30 s runs in microseconds, and the wall-clock time it
/// reads moves exactly with its waits. Outside a paused runtime it is real time shifted to
/// `epoch_ms`.
#[derive(Clone, Copy, Debug)]
pub struct VirtualClock {
    epoch_ms: i64,
    start: tokio::time::Instant,
}

impl VirtualClock {
    /// A clock that reads `epoch_ms` now. Create it inside the test's runtime: a paused runtime's
    /// `Instant` is only frozen there.
    pub fn new(epoch_ms: i64) -> Self {
        Self {
            epoch_ms,
            start: tokio::time::Instant::now(),
        }
    }

    /// A clock starting at [`TEST_EPOCH_MS`] (2026-11-22T10:00:00Z).
    pub fn at_test_epoch() -> Self {
        Self::new(TEST_EPOCH_MS)
    }

    /// The time it read when created.
    pub fn epoch_ms(&self) -> i64 {
        self.epoch_ms
    }

    /// Moves paused tokio time forward by `duration`, firing every timer due meanwhile. Only
    /// valid in a paused runtime (tokio panics otherwise).
    pub async fn advance(&self, duration: Duration) {
        tokio::time::advance(duration).await;
    }
}

#[async_trait]
impl Clock for VirtualClock {
    fn now_ms(&self) -> i64 {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.start);
        self.epoch_ms.saturating_add(millis(elapsed))
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock the test moves by hand; every [`Clock::sleep`] moves it by the wait and returns at
/// once (after yielding, so other tasks run).
///
/// For tests whose other half runs in real time (a real Redis, whose timeouts a paused tokio
/// clock would fire spuriously): time only moves when someone asks it to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock that reads `now_ms` until moved.
    pub fn new(now_ms: i64) -> Self {
        Self(AtomicI64::new(now_ms))
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `ms` (backwards too: tests of clock jumps need it).
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    async fn sleep(&self, duration: Duration) {
        self.advance(millis(duration));
        tokio::task::yield_now().await;
    }
}

/// Another clock read `offset_ms` ahead (positive) or behind (negative): the clock of a second
/// switch instance on the same time line. Waits are the inner clock's: a skew shifts what a
/// clock reads, not how long a wait takes.
pub struct SkewedClock {
    inner: Arc<dyn Clock>,
    offset_ms: i64,
}

impl SkewedClock {
    /// `inner` shifted by `offset_ms`.
    pub fn new(inner: Arc<dyn Clock>, offset_ms: i64) -> Self {
        Self { inner, offset_ms }
    }

    /// The shift.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }
}

impl std::fmt::Debug for SkewedClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkewedClock")
            .field("offset_ms", &self.offset_ms)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Clock for SkewedClock {
    fn now_ms(&self) -> i64 {
        self.inner.now_ms().saturating_add(self.offset_ms)
    }

    async fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_time_moves_with_waits_only() {
        let clock = VirtualClock::at_test_epoch();
        assert_eq!(clock.now_ms(), TEST_EPOCH_MS);
        clock.sleep(Duration::from_secs(30)).await;
        assert_eq!(clock.now_ms(), TEST_EPOCH_MS + 30_000);
        clock.advance(Duration::from_millis(5)).await;
        assert_eq!(clock.now_ms(), TEST_EPOCH_MS + 30_005);
        assert_eq!(clock.now().to_string(), "2026-11-22 10:00:30.005 +00:00:00");
    }

    #[tokio::test(start_paused = true)]
    async fn a_skewed_clock_reads_shifted_and_waits_unshifted() {
        let base = Arc::new(VirtualClock::at_test_epoch());
        let ahead = SkewedClock::new(base.clone(), 500);
        let behind = SkewedClock::new(base.clone(), -500);
        assert_eq!(ahead.now_ms(), TEST_EPOCH_MS + 500);
        assert_eq!(behind.now_ms(), TEST_EPOCH_MS - 500);
        ahead.sleep(Duration::from_secs(1)).await;
        assert_eq!(base.now_ms(), TEST_EPOCH_MS + 1_000);
        assert_eq!(behind.now_ms(), TEST_EPOCH_MS + 500);
    }

    #[tokio::test]
    async fn manual_time_moves_by_hand_and_by_waits() {
        let clock = ManualClock::new(1_000);
        clock.sleep(Duration::from_millis(250)).await;
        clock.advance(750);
        assert_eq!(clock.now_ms(), 2_000);
        clock.set(10);
        assert_eq!(clock.now_ms(), 10);
    }
}
