//! Reversal engine: SAF consumers, cancel retry policy, cancel-to-refund fallback, dead letters and the deadline sweeper.
