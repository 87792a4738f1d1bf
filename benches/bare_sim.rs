//! The floor under antom-sim's CPU per purchase: what Antom's side of one in-store purchase
//! costs on antom-sim's own crates, with none of its logic.
//!
//! For each `pay` it verifies the request's signature, parses the typed request, answers a
//! signed SUCCESS (hyper's server, aws-lc), and 500 ms later sends a signed `notifyPayment` to
//! the request's `paymentNotifyUrl` (reqwest) and reads the acknowledgement. Nothing else: no
//! ledger, scenarios, call log, idempotency or inquiries. `benches/run-e2e.sh` runs it in
//! antom-sim's place with `BARE_SIM=1` (with `BARE=1`: the bare switch accepts its answers), so
//! its CPU per signature is the floor the 1.3× goal for antom-sim is measured against
//! (`benches/RESULTS.md`). Not a simulator: it approves everything and keeps nothing.
//!
//! `cargo build --release -p asw-benches --example bare_sim`, then
//! `bare_sim LISTEN_ADDR ANTOM_PRIVATE_KEY_PEM MERCHANT_PUBLIC_KEY_PEM`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use asw_antom::{PayRequest, Signer, Verifier};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

#[path = "bare_counts.rs"]
mod bare_counts;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Sim {
    signer: Signer,
    verifier: Verifier,
    http: reqwest::Client,
    seq: AtomicU64,
    /// Notifications acknowledged / not (printed every 5 s: the run's check that they reached
    /// the switch and passed its verification).
    acked: AtomicU64,
    refused: AtomicU64,
}

fn now_text() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    ms.to_string()
}

fn header<'a>(req: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

fn reply(status: http::StatusCode, body: Bytes) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

impl Sim {
    async fn pay(self: Arc<Self>, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return reply(http::StatusCode::BAD_REQUEST, Bytes::new());
        };
        if parts.uri.path() == "/__sim/calls" {
            // run-e2e.sh reads the simulator's call log; this one keeps none.
            return reply(http::StatusCode::OK, Bytes::from_static(br#"{"calls":[]}"#));
        }
        let path = parts.uri.path().to_owned();
        let (Some(client_id), Some(time), Some(signature)) = (
            header(&parts, "client-id"),
            header(&parts, "request-time"),
            header(&parts, "signature"),
        ) else {
            return reply(http::StatusCode::BAD_REQUEST, Bytes::new());
        };
        if self
            .verifier
            .verify_message(&path, client_id, time, &body, signature)
            .is_err()
        {
            return reply(http::StatusCode::UNAUTHORIZED, Bytes::new());
        }
        let Ok(pay) = serde_json::from_slice::<PayRequest>(&body) else {
            return reply(http::StatusCode::BAD_REQUEST, Bytes::new());
        };
        let payment_id = format!("20261207{:024}", self.seq.fetch_add(1, Ordering::Relaxed));
        let amount = format!(
            r#"{{"currency":"{}","value":"{}"}}"#,
            pay.payment_amount.currency, pay.payment_amount.value
        );
        let now = now_text();
        let answer = format!(
            concat!(
                r#"{{"result":{{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success."}},"#,
                r#""paymentRequestId":"{prid}","paymentId":"{pid}","paymentAmount":{amount},"#,
                r#""paymentCreateTime":"2026-12-07T06:00:00+08:00","paymentTime":"2026-12-07T06:00:00+08:00"}}"#
            ),
            prid = pay.payment_request_id,
            pid = payment_id,
            amount = amount,
        );
        let Ok(signature) = self
            .signer
            .signature_header(&path, client_id, &now, answer.as_bytes())
        else {
            return reply(http::StatusCode::INTERNAL_SERVER_ERROR, Bytes::new());
        };
        if let Some(url) = pay.payment_notify_url.clone() {
            let notify = format!(
                concat!(
                    r#"{{"notifyType":"PAYMENT_RESULT","result":{{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success."}},"#,
                    r#""paymentRequestId":"{prid}","paymentId":"{pid}","paymentAmount":{amount},"actualPaymentAmount":{amount},"#,
                    r#""paymentCreateTime":"2026-12-07T06:00:00+08:00","paymentTime":"2026-12-07T06:00:00+08:00"}}"#
                ),
                prid = pay.payment_request_id,
                pid = payment_id,
                amount = amount,
            );
            let (sim, client_id) = (self.clone(), client_id.to_owned());
            tokio::spawn(async move { sim.notify(url, client_id, notify).await });
        }
        let mut response = reply(http::StatusCode::OK, Bytes::from(answer));
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        for (name, value) in [
            ("response-time", now.as_str()),
            ("client-id", client_id),
            ("signature", signature.as_str()),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        response
    }

    async fn notify(&self, url: String, client_id: String, body: String) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(parsed) = reqwest::Url::parse(&url) else {
            return;
        };
        let now = now_text();
        let Ok(signature) =
            self.signer
                .signature_header(parsed.path(), &client_id, &now, body.as_bytes())
        else {
            return;
        };
        let sent = self
            .http
            .post(parsed)
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=UTF-8",
            )
            .header("client-id", client_id)
            .header("request-time", now)
            .header("signature", signature)
            .body(body)
            .send()
            .await;
        let acked = match sent {
            Ok(answer) => {
                let ok = answer.status() == http::StatusCode::OK;
                ok && answer.bytes().await.is_ok_and(|b| {
                    b.windows(br#""resultStatus":"S""#.len())
                        .any(|w| w == br#""resultStatus":"S""#)
                })
            }
            Err(_) => false,
        };
        let counter = if acked { &self.acked } else { &self.refused };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, antom_key, merchant_public] = &args[..] else {
        panic!("usage: bare_sim LISTEN ANTOM_PRIVATE_KEY_PEM MERCHANT_PUBLIC_KEY_PEM");
    };
    let sim = Arc::new(Sim {
        signer: Signer::from_private_key(&std::fs::read_to_string(antom_key).unwrap(), 1).unwrap(),
        verifier: Verifier::from_public_key(&std::fs::read_to_string(merchant_public).unwrap())
            .unwrap(),
        http: reqwest::Client::builder().build().unwrap(),
        seq: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    });
    let counts = sim.clone();
    bare_counts::print_every_5s(
        ["payments", "notifications acknowledged", "not"],
        move || {
            [
                counts.seq.load(Ordering::Relaxed),
                counts.acked.load(Ordering::Relaxed),
                counts.refused.load(Ordering::Relaxed),
            ]
        },
    );
    let listener = TcpListener::bind(listen.as_str()).await.unwrap();
    println!("bare_sim listening on http://{listen}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let sim = sim.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let sim = sim.clone();
                async move { Ok::<_, Infallible>(sim.pay(req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
