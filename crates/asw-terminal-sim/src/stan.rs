//! The system trace audit number (F11): 000001–999999, then wraps to 000001.

use std::sync::atomic::{AtomicU32, Ordering};

/// A terminal's STAN counter, safe to share between tasks.
#[derive(Debug)]
pub struct StanCounter(AtomicU32);

impl StanCounter {
    /// Largest STAN.
    pub const MAX: u32 = 999_999;

    /// A counter whose first [`next`](Self::next) returns `first` (clamped into 1..=999999).
    pub fn starting_at(first: u32) -> Self {
        StanCounter(AtomicU32::new(first.clamp(1, Self::MAX) - 1))
    }

    /// The next STAN.
    pub fn next(&self) -> u32 {
        let previous = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(if v >= Self::MAX { 1 } else { v + 1 })
            })
            .unwrap_or(0);
        if previous >= Self::MAX {
            1
        } else {
            previous + 1
        }
    }
}

impl Default for StanCounter {
    fn default() -> Self {
        Self::starting_at(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_wraps_without_zero() {
        let c = StanCounter::starting_at(999_998);
        assert_eq!(c.next(), 999_998);
        assert_eq!(c.next(), 999_999);
        assert_eq!(c.next(), 1);
        assert_eq!(c.next(), 2);
        assert_eq!(StanCounter::default().next(), 1);
        assert_eq!(StanCounter::starting_at(0).next(), 1);
    }
}
