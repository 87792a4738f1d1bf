//! The end-to-end test harness: starts Redis, antom-sim and the switch on free ports.
