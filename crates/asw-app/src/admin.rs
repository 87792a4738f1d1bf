//! The admin endpoints: `/metrics`, `/health/live`, `/health/ready`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

/// What readiness depends on.
pub struct Readiness {
    store: Arc<asw_store::RedisStore>,
    draining: AtomicBool,
    consumers_running: AtomicBool,
    /// Every configured listener (terminals, the REST API) is bound and serving.
    listening: AtomicBool,
}

impl Readiness {
    /// Readiness over a store; not draining, consumers not yet running.
    pub fn new(store: Arc<asw_store::RedisStore>) -> Self {
        Self {
            store,
            draining: AtomicBool::new(false),
            consumers_running: AtomicBool::new(false),
            listening: AtomicBool::new(false),
        }
    }

    /// Marks the instance as draining (shutdown started).
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Records whether the reversal engine's consumers are running.
    pub fn set_consumers_running(&self, running: bool) {
        self.consumers_running.store(running, Ordering::SeqCst);
    }

    /// Records that every configured listener (terminals, REST API) is bound and serving.
    pub fn set_listening(&self) {
        self.listening.store(true, Ordering::SeqCst);
    }

    /// Checks every condition; the reasons it is not ready.
    pub async fn check(&self) -> Vec<&'static str> {
        let mut reasons = Vec::new();
        if self.draining.load(Ordering::SeqCst) {
            reasons.push("draining");
        }
        if !self.consumers_running.load(Ordering::SeqCst) {
            reasons.push("reversal consumers not running");
        }
        if !self.listening.load(Ordering::SeqCst) {
            reasons.push("listeners not bound yet");
        }
        match tokio::time::timeout(Duration::from_secs(1), self.store.ping()).await {
            Ok(Ok(())) => {}
            _ => reasons.push("redis unreachable"),
        }
        metrics::gauge!(crate::metrics::READY).set(if reasons.is_empty() { 1.0 } else { 0.0 });
        reasons
    }
}

struct AdminState {
    prometheus: Option<PrometheusHandle>,
    readiness: Arc<Readiness>,
}

/// The admin router.
pub fn router(prometheus: Option<PrometheusHandle>, readiness: Arc<Readiness>) -> Router {
    let state = Arc::new(AdminState {
        prometheus,
        readiness,
    });
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/health/live", get(|| async { "live\n" }))
        .route("/health/ready", get(ready))
        .with_state(state)
}

async fn metrics_text(State(state): State<Arc<AdminState>>) -> Response {
    // Refresh the readiness gauge so a scrape always sees the current value.
    let _ = state.readiness.check().await;
    match &state.prometheus {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed\n",
        )
            .into_response(),
    }
}

async fn ready(State(state): State<Arc<AdminState>>) -> Response {
    let reasons = state.readiness.check().await;
    if reasons.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", reasons.join(", ")),
        )
            .into_response()
    }
}
