//! Events to merchants: the delivery worker of the outbox.
//!
//! An event is written by the commit of the state change that causes it
//! ([`asw_core::record::MerchantEvent`]); this worker POSTs it to the merchant's endpoint,
//! signed per the Standard Webhooks spec, and acknowledges it on a 2xx. Anything else is retried
//! on the schedule (by default the spec's: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
//! 10 h), a 410 disables the endpoint, and what runs out of retries goes to the dead letters for
//! `antom-switch events replay`. Delivery is at least once: the `webhook-id` is stable.
//!
//! `payment.succeeded` tells the merchant its payment succeeded, so it obeys the rule answers
//! obey: the approval is marked handed over before the event leaves, only before its closing
//! time, and an event the merchant did not acknowledge undoes its own mark.

mod sign;

pub use sign::{SecretError, WebhookSecret, parse_secrets, signature};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asw_core::domain::Origin;
use asw_core::flows::{Core, HandOver};
use asw_core::outbox::{EventQueue, QueuedEvent};
use asw_core::ports::StoreError;
use asw_core::record::TransactionRecord;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::metrics as metric;
use crate::view::{payment_json_told, refund_json, rfc3339};

/// A merchant's endpoint, ready to sign for.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Where events go.
    pub url: String,
    /// Its secret(s).
    pub secrets: Vec<WebhookSecret>,
}

/// How the worker delivers.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Delay before each attempt, the first included (the spec's: 0, 5 s, 5 min, …).
    pub retry_schedule_ms: Vec<u64>,
    /// One delivery's time limit.
    pub timeout_ms: u64,
    /// This worker's consumer name (unique per instance sharing a Redis).
    pub consumer: String,
    /// Pause when nothing is queued.
    pub poll_ms: u64,
}

/// The spec's retry schedule.
pub const STANDARD_SCHEDULE_MS: [u64; 8] = [
    0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/// The delivery worker.
pub struct Deliverer {
    core: Arc<Core>,
    queue: Arc<dyn EventQueue>,
    endpoints: HashMap<String, Endpoint>,
    http: reqwest::Client,
    settings: WebhookSettings,
    /// Merchants whose endpoint answered 410 Gone, until the next start.
    gone: Mutex<HashSet<String>>,
}

enum Verdict {
    Delivered,
    Retry(String),
    Gone,
}

impl Deliverer {
    /// A worker for these endpoints (merchant id → endpoint).
    pub fn new(
        core: Arc<Core>,
        queue: Arc<dyn EventQueue>,
        endpoints: HashMap<String, Endpoint>,
        settings: WebhookSettings,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            core,
            queue,
            endpoints,
            http,
            settings,
            gone: Mutex::new(HashSet::new()),
        })
    }

    /// Delivers until `stop`; what is in hand when it stops stays queued for the next start.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut last_claim = Instant::now();
        let mut last_stats = Instant::now();
        while !stop.is_cancelled() {
            let now = self.core.clock().now_ms();
            if let Err(error) = self.queue.promote_due(now, 100).await {
                warn!(%error, "outbox: cannot promote due retries");
            }
            let mut batch = match self.queue.fetch(&self.settings.consumer, 16).await {
                Ok(batch) => batch,
                Err(error) => {
                    warn!(%error, "outbox: cannot fetch events");
                    Vec::new()
                }
            };
            if last_claim.elapsed() >= Duration::from_secs(5) {
                last_claim = Instant::now();
                let stale =
                    Duration::from_millis(self.settings.timeout_ms.saturating_mul(3).max(30_000));
                if let Ok(claimed) = self
                    .queue
                    .claim_stale(&self.settings.consumer, stale, 16)
                    .await
                {
                    batch.extend(claimed);
                }
            }
            if last_stats.elapsed() >= Duration::from_secs(1) {
                last_stats = Instant::now();
                if let Ok(stats) = self.queue.stats(now).await {
                    metrics::gauge!(metric::EVENTS_WAITING).set(stats.depth as f64);
                    metrics::gauge!(metric::EVENTS_DEAD).set(stats.dead_letters as f64);
                    metrics::gauge!(metric::EVENTS_OLDEST_AGE)
                        .set(stats.oldest_age_ms.unwrap_or(0) as f64 / 1000.0);
                }
            }
            if batch.is_empty() {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(self.settings.poll_ms)) => {}
                }
                continue;
            }
            let deliveries = batch.iter().map(|q| self.handle(q));
            for result in futures::future::join_all(deliveries).await {
                if let Err(error) = result {
                    warn!(%error, "outbox: an event stays queued (store unavailable)");
                }
            }
        }
    }

    fn count(result: &'static str) {
        metrics::counter!(metric::WEBHOOK_DELIVERIES, "result" => result).increment(1);
    }

    async fn record_of(&self, q: &QueuedEvent) -> Result<Option<TransactionRecord>, StoreError> {
        let origin = Origin::rest(q.event.merchant_id.clone(), "webhooks");
        if q.event.kind.starts_with("refund.") {
            self.core.find_refund(&origin, &q.event.journal_id).await
        } else {
            self.core.find_payment(&origin, &q.event.journal_id).await
        }
    }

    async fn handle(&self, q: &QueuedEvent) -> Result<(), StoreError> {
        let event = &q.event;
        let Some(endpoint) = self.endpoints.get(&event.merchant_id) else {
            Self::count("no_endpoint");
            return self.queue.ack(q).await;
        };
        if self
            .gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&event.merchant_id)
        {
            Self::count("gone");
            return self
                .queue
                .dead_letter(q, "endpoint answered 410 Gone")
                .await;
        }
        let Some(record) = self.record_of(q).await? else {
            Self::count("dead");
            return self
                .queue
                .dead_letter(q, "the record is gone (retention)")
                .await;
        };
        let mut marked = false;
        let data = match event.kind.as_str() {
            "payment.succeeded" => match self.core.hand_over_by_event(record.clone()).await? {
                HandOver::TooLate => {
                    // The sweeper cancels it; the cancel raises payment.cancelled.
                    Self::count("superseded");
                    return self.queue.ack(q).await;
                }
                handed => {
                    marked = handed == HandOver::MarkedNow;
                    serde_json::to_value(payment_json_told(&record, true))
                }
            },
            kind if kind.starts_with("refund.") => serde_json::to_value(refund_json(&record)),
            _ => serde_json::to_value(payment_json_told(&record, false)),
        }
        .unwrap_or_default();
        let body = serde_json::json!({
            "id": event.id,
            "type": event.kind,
            "created_at": rfc3339(event.created_at_ms),
            "data": data,
        })
        .to_string();
        let verdict = self.post(endpoint, &event.id, &body).await;
        if marked && !matches!(verdict, Verdict::Delivered) {
            // Not acknowledged: the success counts as undelivered again.
            if let Some(current) = self.record_of(q).await? {
                self.core.event_not_acknowledged(current).await;
            }
        }
        match verdict {
            Verdict::Delivered => {
                Self::count("delivered");
                info!(event_id = %event.id, kind = %event.kind, attempts = q.attempts + 1, "event delivered");
                self.queue.ack(q).await
            }
            Verdict::Gone => {
                Self::count("gone");
                warn!(merchant_id = %event.merchant_id, "the merchant's endpoint answered 410 Gone: disabled until restart");
                self.gone
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(event.merchant_id.clone());
                self.queue
                    .dead_letter(q, "endpoint answered 410 Gone")
                    .await
            }
            Verdict::Retry(why) => {
                let next = usize::try_from(q.attempts.saturating_add(1)).unwrap_or(usize::MAX);
                match self.settings.retry_schedule_ms.get(next) {
                    Some(delay) => {
                        Self::count("failed");
                        let at = self.core.clock().now_ms()
                            + i64::try_from(*delay).unwrap_or(i64::MAX / 2);
                        self.queue.retry_at(q, at, &why).await
                    }
                    None => {
                        Self::count("dead");
                        self.queue
                            .dead_letter(q, &format!("retries exhausted: {why}"))
                            .await
                    }
                }
            }
        }
    }

    async fn post(&self, endpoint: &Endpoint, id: &str, body: &str) -> Verdict {
        let timestamp = self.core.clock().now_ms() / 1000;
        let signature = signature(&endpoint.secrets, id, timestamp, body);
        let sent = self
            .http
            .post(&endpoint.url)
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Verdict::Delivered,
            Ok(r) if r.status().as_u16() == 410 => Verdict::Gone,
            Ok(r) => Verdict::Retry(format!("HTTP {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Verdict::Retry("timeout".into()),
            Err(_) => Verdict::Retry("connection failed".into()),
        }
    }
}
