//! REST merchants beside the terminals: payment-code payments over the switch's REST API, with
//! the behaviour a careful merchant integration has (docs/rest-api.md): retry a request whose
//! answer it did not get with the same `Idempotency-Key` (on either instance), read a `pending`
//! payment until it is final, and cancel it when it gives up without a final answer.
//!
//! What each merchant was told is compared with Antom by [`crate::check::compare_rest`]: told
//! `succeeded` ⇔ SUCCESS at Antom.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

/// Settings of the REST load.
#[derive(Debug, Clone)]
pub struct RestLoadConfig {
    /// The REST listeners of every switch instance (requests alternate between them).
    pub endpoints: Vec<SocketAddr>,
    /// The merchant's API key secret.
    pub secret: String,
    /// Payments started per second.
    pub rate_per_s: f64,
    /// How long payments are started.
    pub duration: Duration,
    /// When a merchant without a final answer gives up and cancels, from the first POST.
    pub give_up_after: Duration,
    /// Payment-code suffixes (antom-sim scenarios; `??` is random, mostly plain successes).
    pub suffixes: Vec<&'static str>,
    /// Seed of the keys, amounts and scenarios.
    pub seed: u64,
}

/// What one merchant payment ended as, from the merchant's side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestRecord {
    /// The merchant's `Idempotency-Key`.
    pub key: String,
    /// Antom `paymentRequestId`, once an answer named it.
    pub payment_request_id: Option<String>,
    /// The last status the merchant was told (`succeeded` wins: once told, it stops).
    pub told: Option<String>,
    /// It gave up without a final answer and asked for the cancel.
    pub cancel_requested: bool,
    /// Requests that got no HTTP answer (connection refused or reset, timeout).
    pub transport_errors: u32,
    /// `409` answers (the first request still running, or orphaned by a kill).
    pub conflicts: u32,
}

impl RestRecord {
    /// The merchant was told the payment succeeded.
    pub fn told_succeeded(&self) -> bool {
        self.told.as_deref() == Some("succeeded")
    }
}

fn is_final(status: &str) -> bool {
    !matches!(status, "pending")
}

struct Merchant {
    http: reqwest::Client,
    endpoints: Vec<SocketAddr>,
    secret: String,
    turn: usize,
}

enum Reply {
    Answer(u16, Value),
    NoAnswer,
}

impl Merchant {
    fn next(&mut self) -> SocketAddr {
        self.turn = self.turn.wrapping_add(1);
        self.endpoints[self.turn % self.endpoints.len()]
    }

    async fn call(
        &mut self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let addr = self.next();
        let mut request = self
            .http
            .request(method, format!("http://{addr}{path}"))
            .bearer_auth(&self.secret);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => Reply::Answer(
                        status,
                        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                    ),
                    Err(_) => Reply::NoAnswer,
                }
            }
            Err(_) => Reply::NoAnswer,
        }
    }
}

async fn one_payment(
    mut merchant: Merchant,
    key: String,
    body: Value,
    give_up: Duration,
) -> RestRecord {
    let started = Instant::now();
    let mut record = RestRecord {
        key: key.clone(),
        payment_request_id: None,
        told: None,
        cancel_requested: false,
        transport_errors: 0,
        conflicts: 0,
    };
    let mut id: Option<String> = None;
    let note = |record: &mut RestRecord, id: &mut Option<String>, payment: &Value| {
        if let Some(prid) = payment["antom"]["payment_request_id"].as_str() {
            record.payment_request_id = Some(prid.to_string());
        }
        if let Some(pid) = payment["id"].as_str() {
            *id = Some(pid.to_string());
        }
        if let Some(status) = payment["status"].as_str() {
            record.told = Some(status.to_string());
        }
    };
    // Create (retried with the same key), then read until final.
    while started.elapsed() < give_up {
        let reply = match &id {
            None => {
                merchant
                    .call(
                        reqwest::Method::POST,
                        "/v1/payments",
                        Some(&key),
                        Some(&body),
                    )
                    .await
            }
            Some(pid) => {
                merchant
                    .call(
                        reqwest::Method::GET,
                        &format!("/v1/payments/{pid}"),
                        None,
                        None,
                    )
                    .await
            }
        };
        match reply {
            Reply::Answer(200 | 201, payment) => {
                note(&mut record, &mut id, &payment);
                if record.told.as_deref().is_some_and(is_final) {
                    return record;
                }
            }
            Reply::Answer(409, _) => record.conflicts += 1,
            Reply::Answer(_, _) => {}
            Reply::NoAnswer => record.transport_errors += 1,
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // No final answer in time: the safety net. With no id yet, retry the POST for it (the
    // key names the payment) until the cancel is acknowledged.
    let deadline = Instant::now() + give_up;
    while Instant::now() < deadline {
        let Some(pid) = id.clone() else {
            if let Reply::Answer(200 | 201, payment) = merchant
                .call(
                    reqwest::Method::POST,
                    "/v1/payments",
                    Some(&key),
                    Some(&body),
                )
                .await
            {
                note(&mut record, &mut id, &payment);
                if record.told_succeeded() {
                    return record;
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        };
        let cancel_key = format!("{key}-cancel");
        match merchant
            .call(
                reqwest::Method::POST,
                &format!("/v1/payments/{pid}/cancel"),
                Some(&cancel_key),
                Some(&json!({})),
            )
            .await
        {
            Reply::Answer(200 | 202, _) => {
                record.cancel_requested = true;
                record.told = Some("cancel_requested".into());
                return record;
            }
            Reply::NoAnswer => record.transport_errors += 1,
            Reply::Answer(_, _) => {}
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    record
}

/// Runs the REST load; returns one record per payment started.
pub async fn run(config: RestLoadConfig) -> Vec<RestRecord> {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
    {
        Ok(http) => http,
        Err(_) => return Vec::new(),
    };
    let interval = Duration::from_secs_f64(1.0 / config.rate_per_s.max(0.01));
    let mut tasks = Vec::new();
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < config.duration {
        n += 1;
        // A small deterministic mix: amounts and scenarios from the seed and the sequence.
        let mix = config
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(n);
        let suffix = config.suffixes[(mix % config.suffixes.len() as u64) as usize];
        let random = format!("{:02}", (mix / 7) % 100);
        let suffix = if suffix == "??" {
            random.as_str()
        } else {
            suffix
        };
        let code = format!("2810{:012}{suffix}", (mix / 13) % 1_000_000_000_000);
        let body = json!({
            "order_id": format!("chaos-order-{n}"),
            "amount": { "currency": "SGD", "value": 100 + (mix / 17) % 50_000 },
            "method": { "type": "payment_code", "code": code },
        });
        let merchant = Merchant {
            http: http.clone(),
            endpoints: config.endpoints.clone(),
            secret: config.secret.clone(),
            turn: n as usize,
        };
        let key = format!("chaos-{}-{n}", config.seed);
        tasks.push(tokio::spawn(one_payment(
            merchant,
            key,
            body,
            config.give_up_after,
        )));
        tokio::time::sleep(interval).await;
    }
    let mut records = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(record) = task.await {
            records.push(record);
        }
    }
    records
}
