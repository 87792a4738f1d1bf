//! The end-to-end tests that can share one process: each module starts its own Redis,
//! antom-sim and switch on free ports (see the `asw_e2e` harness), so they run in parallel
//! like separate binaries did, but link once.
//!
//! Three tests stay in binaries of their own because they touch process-wide state:
//! `logs` installs the global tracing subscriber (at TRACE, capturing every line), the live
//! check in `observability` reads the process-wide Prometheus recorder (whose gauges every
//! switch in the process would overwrite), and `chaos_short` spawns real switch processes
//! for a minute of load that would starve the timing-sensitive tests here.

mod authority;
mod browser;
mod card;
mod events;
mod flood;
mod online;
mod order_code;
mod purchase;
mod refund;
mod rest;
mod reversal;
mod session;
mod tls;
mod upgrade;
mod webhook;
