//! Wiring of the merchants' event delivery: each merchant's endpoint with its secrets read from
//! their file, and the worker started beside the reversal engine.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use asw_core::domain::MerchantWebhookConfig;
use asw_core::flows::Core;
use asw_core::outbox::EventQueue;
use asw_front_rest::webhooks::{Deliverer, Endpoint, WebhookSettings, parse_secrets};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// A merchant's endpoint from its configuration; the error names what is wrong (never the
/// secret).
pub fn endpoint(config: &MerchantWebhookConfig) -> Result<Endpoint, String> {
    if !(config.url.starts_with("https://") || config.url.starts_with("http://")) {
        return Err("url must start with https:// (or http:// on a private network)".into());
    }
    let text = std::fs::read_to_string(&config.secret_file)
        .map_err(|e| format!("cannot read {}: {e}", config.secret_file.display()))?;
    let secrets =
        parse_secrets(&text).map_err(|e| format!("{}: {e}", config.secret_file.display()))?;
    Ok(Endpoint {
        url: config.url.clone(),
        secrets,
    })
}

/// The merchants with a webhook endpoint: the only ones whose events are worth writing (the
/// worker acknowledges any other merchant's event unsent).
pub fn merchants_with_endpoints(config: &Config) -> HashSet<String> {
    config
        .merchants
        .iter()
        .filter(|m| m.webhook.is_some())
        .map(|m| m.merchant_id.trim_end().to_string())
        .collect()
}

/// Starts the delivery worker when the REST API is configured; `None` otherwise.
pub fn start(
    config: &Config,
    core: Arc<Core>,
    queue: Arc<dyn EventQueue>,
    stop: CancellationToken,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(rest) = &config.rest else {
        return Ok(None);
    };
    let mut endpoints = HashMap::new();
    for m in &config.merchants {
        if let Some(hook) = &m.webhook {
            let endpoint =
                endpoint(hook).map_err(|e| format!("merchant {} webhook: {e}", m.merchant_id))?;
            endpoints.insert(m.merchant_id.trim_end().to_string(), endpoint);
        }
    }
    let settings = WebhookSettings {
        retry_schedule_ms: rest.webhooks.retry_schedule_ms.clone(),
        timeout_ms: rest.webhooks.timeout_ms,
        consumer: format!("{}-events", config.reversal.instance),
        poll_ms: 200,
    };
    let deliverer = Arc::new(Deliverer::new(core, queue, endpoints, settings)?);
    Ok(Some(tokio::spawn(deliverer.run(stop))))
}
