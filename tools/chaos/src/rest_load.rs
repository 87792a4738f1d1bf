//! REST merchants beside the terminals: payment-code payments and online wallet payments over
//! the switch's REST API, with the behaviour a careful merchant integration has
//! (docs/rest-api.md): retry a request whose answer it did not get with the same
//! `Idempotency-Key` (on either instance), read a `pending` or `requires_action` payment until
//! it is final, and cancel it when it gives up without a final answer. For a wallet payment a
//! buyer approves, declines or walks away on antom-sim's page (its buyer hook).
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
    /// Every n-th payment is an online wallet payment (0: none).
    pub online_every: u64,
    /// antom-sim's base URL, where the buyer acts (its `/__sim/buyer` hook).
    pub sim_url: String,
}

/// What one merchant payment ended as, from the merchant's side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestRecord {
    /// The merchant's `Idempotency-Key`.
    pub key: String,
    /// The merchant's order (`order_id`): several attempts may share it.
    #[serde(default)]
    pub order: String,
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
    /// Online wallet payments: what the buyer did on the wallet's page (`approve`, `decline`,
    /// `leave`), once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<String>,
}

impl RestRecord {
    /// The merchant was told the payment succeeded.
    pub fn told_succeeded(&self) -> bool {
        self.told.as_deref() == Some("succeeded")
    }
}

fn is_final(status: &str) -> bool {
    !matches!(status, "pending" | "requires_action")
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

/// The buyer of an online payment: acts once on the wallet's page.
struct Buyer {
    sim_url: String,
    action: &'static str,
    done: bool,
    /// The buyer acts no earlier (a buyer who comes back to an abandoned page).
    not_before: Instant,
}

impl Buyer {
    /// Plays the buyer through antom-sim's hook (what the page's buttons do); a failed call is
    /// tried again on the next read.
    async fn act(&mut self, http: &reqwest::Client, payment: &Value, record: &mut RestRecord) {
        if self.done || payment["status"] != "requires_action" || Instant::now() < self.not_before {
            return;
        }
        let Some(payment_id) = payment["antom"]["payment_id"].as_str() else {
            return;
        };
        let url = format!("{}/__sim/buyer/{payment_id}/{}", self.sim_url, self.action);
        if let Ok(response) = http.post(url).send().await
            && response.status().is_success()
        {
            self.done = true;
            record.buyer = Some(self.action.to_string());
        }
    }
}

async fn one_payment(
    mut merchant: Merchant,
    key: String,
    body: Value,
    give_up: Duration,
    mut buyer: Option<Buyer>,
) -> RestRecord {
    let started = Instant::now();
    let mut record = RestRecord {
        key: key.clone(),
        order: body["order_id"].as_str().unwrap_or_default().to_string(),
        payment_request_id: None,
        told: None,
        cancel_requested: false,
        transport_errors: 0,
        conflicts: 0,
        buyer: None,
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
                if let Some(buyer) = buyer.as_mut() {
                    buyer.act(&merchant.http, &payment, &mut record).await;
                }
            }
            Reply::Answer(409, problem)
                if matches!(
                    problem["code"].as_str(),
                    Some("order_already_paid" | "order_in_progress")
                ) =>
            {
                // Another attempt of the order holds it: this one is refused, final.
                record.told = problem["code"].as_str().map(str::to_string);
                return record;
            }
            Reply::Answer(409, problem) => {
                record.conflicts += 1;
                // The first request still runs (or was orphaned by a kill): its id lets the
                // merchant read it, and cancel it when it gives up.
                if let Some(pid) = problem["payment_id"].as_str() {
                    id = Some(pid.to_string());
                }
            }
            // "Nothing was done" (the journal unreachable): what the merchant was last told,
            // unless a later answer says otherwise.
            Reply::Answer(503, _) if id.is_none() => {
                record.told = Some("unavailable".into());
            }
            Reply::Answer(_, _) => {}
            Reply::NoAnswer => record.transport_errors += 1,
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if record.told.as_deref() == Some("unavailable") && id.is_none() {
        // Every answer said nothing was done: the merchant stops there (nothing to cancel).
        return record;
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
        let amount = 100 + (mix / 17) % 50_000;
        let online = config.online_every > 0 && n.is_multiple_of(config.online_every);
        let (body, buyer) = if online {
            // The buyer approves most of the time, else declines or walks away.
            let action = match (mix / 19) % 10 {
                0..=5 => "approve",
                6 | 7 => "decline",
                _ => "leave",
            };
            let body = json!({
                "order_id": format!("chaos-order-{n}"),
                "amount": { "currency": "SGD", "value": amount },
                "method": { "type": "wallet", "wallet": "GCASH", "terminal_type": "WEB" },
                "return_url": format!("https://shop.example/return?order={n}"),
            });
            let buyer = Buyer {
                sim_url: config.sim_url.clone(),
                action,
                done: false,
                not_before: Instant::now(),
            };
            (body, Some(buyer))
        } else {
            let body = json!({
                "order_id": format!("chaos-order-{n}"),
                "amount": { "currency": "SGD", "value": amount },
                "method": { "type": "payment_code", "code": code },
            });
            (body, None)
        };
        let merchant = Merchant {
            http: http.clone(),
            endpoints: config.endpoints.clone(),
            secret: config.secret.clone(),
            turn: n as usize,
        };
        let key = format!("chaos-{}-{n}", config.seed);
        // A third of the online orders get a second attempt a second later, while the first
        // awaits its buyer — who comes back and approves it after all two seconds in: at most
        // one of the two may stay paid (seed 001's retry, and the switch's cancel of the first).
        let second_attempt = buyer.is_some() && (mix / 23).is_multiple_of(3);
        let mut buyer = buyer;
        if second_attempt && let Some(b) = buyer.as_mut() {
            b.action = "approve";
            b.not_before = Instant::now() + Duration::from_secs(2);
        }
        if second_attempt {
            let merchant = Merchant {
                http: http.clone(),
                endpoints: config.endpoints.clone(),
                secret: config.secret.clone(),
                turn: n as usize + 1,
            };
            let again = Buyer {
                sim_url: config.sim_url.clone(),
                action: "approve",
                done: false,
                not_before: Instant::now(),
            };
            let (key, body, give_up) = (format!("{key}-b"), body.clone(), config.give_up_after);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                one_payment(merchant, key, body, give_up, Some(again)).await
            }));
        }
        tasks.push(tokio::spawn(one_payment(
            merchant,
            key,
            body,
            config.give_up_after,
            buyer,
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
