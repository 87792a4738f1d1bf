//! antom-sim: a faithful local Antom simulator for tests, demos and benchmarks.
