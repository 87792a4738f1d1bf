//! Clock skew between switch instances.
//!
//! Every instant the switch stores (a closing time in the deadline index, a payment's expiry,
//! the end of a `pay` call, a retry's due time) is read from the clock of the instance that
//! wrote it and judged later by the clock of whichever instance reads it — and a
//! `paymentExpiryTime` is judged by Antom's clock. Those clocks differ. The operator states the
//! largest difference to allow for (`timing.max_clock_skew_ms`, NTP-synchronised hosts stay far
//! inside the default), and every decision that ends something uses it on the safe side:
//!
//! - **"It has passed"** (close a payment, give up looking for a payment at Antom, send the
//!   cancel of a call that may still be out) is decided only when even a clock running
//!   `max_clock_skew_ms` *behind* this one would agree: `now - skew >= instant`. So the fastest
//!   clock never closes early.
//! - **"There is still time"** (hand an approval over before the closing time) is decided only
//!   when even a clock running `max_clock_skew_ms` *ahead* of this one would agree:
//!   `now + skew < instant`. So the slowest clock never tells "approved" after an instance with
//!   a faster clock may already have decided to close.
//!
//! Beyond the tolerance both promises weaken by the excess, never the agreement with Antom: the
//! decisions themselves are compare-and-set on the record, so a closing and a hand-over of the
//! same payment can never both win (ARCHITECTURE.md, "Clocks").

use serde::{Deserialize, Serialize};

/// The largest difference allowed for between two clocks that judge one stored instant, in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockSkew(i64);

impl ClockSkew {
    /// The default tolerance: 500 ms, far above what NTP keeps hosts within.
    pub const DEFAULT_MS: i64 = 500;

    /// A tolerance of `ms` milliseconds (negative values count as zero).
    pub fn from_ms(ms: i64) -> Self {
        Self(ms.max(0))
    }

    /// The tolerance in milliseconds.
    pub fn ms(self) -> i64 {
        self.0
    }

    /// The latest instant that has passed on every clock within the tolerance when this clock
    /// reads `now_ms`: what is due by it may be acted on (the sweeper's horizon).
    pub fn horizon(self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.0)
    }

    /// True when `instant_ms` has passed on every clock within the tolerance of this one.
    pub fn surely_past(self, now_ms: i64, instant_ms: i64) -> bool {
        self.horizon(now_ms) >= instant_ms
    }

    /// True when `instant_ms` is still ahead on every clock within the tolerance of this one.
    pub fn surely_before(self, now_ms: i64, instant_ms: i64) -> bool {
        now_ms.saturating_add(self.0) < instant_ms
    }
}

impl Default for ClockSkew {
    fn default() -> Self {
        Self(Self::DEFAULT_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_and_before_leave_the_tolerance_on_the_safe_side() {
        let skew = ClockSkew::from_ms(500);
        // Reads 1 000 ms after the instant: past for a clock 500 ms behind too.
        assert!(skew.surely_past(2_000, 1_000));
        assert!(skew.surely_past(1_500, 1_000));
        // 499 ms after it by this clock: a clock 500 ms behind has not reached it.
        assert!(!skew.surely_past(1_499, 1_000));
        // Before: a clock 500 ms ahead must not have reached it either.
        assert!(skew.surely_before(499, 1_000));
        assert!(!skew.surely_before(500, 1_000));
        assert_eq!(skew.horizon(1_500), 1_000);
    }

    #[test]
    fn no_tolerance_is_the_plain_comparison_and_negative_counts_as_none() {
        let skew = ClockSkew::from_ms(-5);
        assert_eq!(skew.ms(), 0);
        assert!(skew.surely_past(1_000, 1_000));
        assert!(skew.surely_before(999, 1_000));
        assert!(!skew.surely_before(1_000, 1_000));
    }
}
