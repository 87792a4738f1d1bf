//! The composition root of antom-switch: configuration, wiring of every adapter to the core,
//! the webhook and admin HTTP servers, graceful shutdown and the `antom-switch` CLI.
//!
//! It is the only crate that knows every other one. The end-to-end tests build the switch with
//! [`RunningSwitch::start`], exactly as the binary does.

pub mod admin;
pub mod app;
pub mod config;
pub mod https;
pub mod merchant_events;
pub mod metrics;
pub mod telemetry;
pub mod webhook;

pub use app::{RunningSwitch, StartError};
