//! Logging (tracing) and metrics (Prometheus exporter) set-up.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global Prometheus recorder once per process and returns its handle
/// (`None` if another recorder was installed first, e.g. by a test).
pub fn prometheus() -> Option<PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let buckets = [
                0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                60.0,
            ];
            PrometheusBuilder::new()
                .set_buckets(&buckets)
                .ok()
                .and_then(|b| b.install_recorder().ok())
                .inspect(|handle| {
                    // From here on the global recorder is this one for good, so the hot paths
                    // may keep the handles they resolve instead of asking by name every time.
                    asw_metrics::pin_to_global_recorder();
                    spawn_upkeep(handle.clone());
                })
        })
        .clone()
}

/// How often the recorder's histogram samples are drained when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Drains the recorder's histogram samples every [`UPKEEP_EVERY`] for the life of the process.
/// A recorder installed with `install_recorder` keeps every sample until a scrape or an upkeep
/// folds it into its buckets: without this, a switch nobody scrapes grows by the four or five
/// latency samples of every payment, without end. A thread of its own because the recorder
/// outlives any one runtime (the tests start several switches in one process).
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "no metrics upkeep thread: histogram samples are drained only by scrapes");
    }
}

/// Installs the tracing subscriber (JSON or pretty). `RUST_LOG` overrides the configured level.
/// Safe to call more than once: later calls do nothing.
pub fn init_logging(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
