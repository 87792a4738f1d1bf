//! The floor under the switch's CPU per purchase: a purchase's I/O and cryptography on the same
//! crates, with none of the switch's logic.
//!
//! For each ISO 8583 request it reads, it makes what no correct switch can skip: a durable
//! write before the Antom call (`SET NX` of a record the size of the journal's), the signed
//! `pay` call (reqwest, aws-lc), the verification and parse of Antom's answer, a durable write
//! of the outcome, and the ISO answer; its webhook verifies each notification and answers it.
//! Nothing else: no state machine, no deadlines, no audit trail, no indexes, no metrics, no
//! logs, no admission control. `benches/run-e2e.sh` runs it in place of the switch with
//! `BARE=1`, under the same load, so the difference between the two runs is what the switch's
//! own work costs on this machine, and this run's figure is the floor its overhead is measured
//! against (`benches/RESULTS.md`). Not a product: every error just drops the request.
//!
//! `cargo build --release -p asw-benches --example bare_switch`, then
//! `bare_switch POS_ADDR REDIS_URL ANTOM_URL CLIENT_ID MERCHANT_KEY_PEM ANTOM_PUBLIC_PEM WEBHOOK_ADDR
//! NOTIFY` (`NOTIFY` 1: ask antom-sim for notifications, 0: not)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use asw_antom::wire::{ClientCredentials, build_raw_request, parse_response};
use asw_antom::{Outcome, PayResponse, Signer, Verifier};
use asw_iso8583::tlv::{PrivateData, Tag};
use asw_iso8583::{Dialect, Frame, FrameCodec, Message};
use asw_terminal_sim::{LinkConfig, ProfileName};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

#[path = "bare_counts.rs"]
mod bare_counts;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A record the size of the journal's (the switch writes ~1 KB of JSON per record write).
const RECORD: &str = include_str!("bare_switch_record.json");
const PAY_PATH: &str = "/ams/api/v1/payments/pay";

struct Bare {
    dialect: Dialect,
    codec: FrameCodec,
    redis: redis::aio::MultiplexedConnection,
    http: reqwest::Client,
    antom_url: String,
    credentials: ClientCredentials,
    verifier: Verifier,
    /// `None` (`NOTIFY=0` in run-e2e.sh): no `paymentNotifyUrl`, so antom-sim sends none.
    notify_url: Option<String>,
    seq: AtomicU64,
    /// Notifications verified and acknowledged / refused (printed every 5 s: the run's check
    /// that antom-sim's notifications reached this webhook and passed its verification).
    notified: AtomicU64,
    refused: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Bare {
    async fn purchase(&self, request: &Message) -> Option<&'static str> {
        let f48 = request.get(48)?;
        let code = PrivateData::parse(f48)
            .ok()?
            .get(Tag::PaymentCode)?
            .to_owned();
        let amount: u64 = request.get_str(4)?.parse().ok()?;
        let id = format!(
            "{}{}{:012}",
            request.get_str(41)?.trim(),
            request.get_str(11)?,
            self.seq.fetch_add(1, Ordering::Relaxed)
        );
        let key = format!("bare:{{0}}:txn:{id}");
        let mut redis = self.redis.clone();
        // The durable write before the call: without it a crash after the call loses a payment.
        let created: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(RECORD)
            .arg("NX")
            .arg("PX")
            .arg(86_400_000)
            .query_async(&mut redis)
            .await
            .ok()?;
        created?;
        let body = format!(
            concat!(
                r#"{{"productCode":"IN_STORE_PAYMENT","paymentRequestId":"{id}","#,
                r#""order":{{"orderDescription":"Bench Coffee","orderAmount":{{"currency":"SGD","value":"{v}"}},"#,
                r#""merchant":{{"referenceMerchantId":"SG-BENCH-M1","merchantMCC":"5814","merchantName":"Bench Coffee","#,
                r#""store":{{"referenceStoreId":"SG-BENCH-S1","storeName":"Bench Coffee One","storeMCC":"5814"}}}}}},"#,
                r#""paymentAmount":{{"currency":"SGD","value":"{v}"}},"#,
                r#""paymentMethod":{{"paymentMethodType":"CONNECT_WALLET","paymentMethodId":"{code}"}},"#,
                r#""paymentFactor":{{"inStorePaymentScenario":"PaymentCode"}}{notify}}}"#
            ),
            id = id,
            v = amount,
            code = code,
            notify = self
                .notify_url
                .as_deref()
                .map(|url| format!(r#","paymentNotifyUrl":"{url}""#))
                .unwrap_or_default(),
        );
        let built =
            build_raw_request(&self.credentials, PAY_PATH, Bytes::from(body), now_ms()).ok()?;
        let (parts, body) = built.request.into_parts();
        let answer = self
            .http
            .post(format!("{}{}", self.antom_url, built.path))
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .ok()?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.ok()?;
        let mut response = http::Response::new(bytes);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        let approved = matches!(
            parse_response::<PayResponse>(
                &self.verifier,
                self.credentials.client_id(),
                &built.path,
                &response
            ),
            Outcome::Success(_)
        );
        // The durable write of the outcome, before the terminal is told.
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(RECORD)
            .arg("PX")
            .arg(86_400_000)
            .query_async(&mut redis)
            .await
            .ok()?;
        Some(if approved { "00" } else { "05" })
    }

    async fn answer(&self, request: &Message) -> Option<Message> {
        let code = if request.mti().as_str() == "0200" {
            self.purchase(request).await?
        } else {
            "00"
        };
        let mut builder = request
            .respond(&self.dialect, &asw_iso8583::echo::RESPONSE)
            .ok()?;
        builder.set(39, code).ok()?;
        Some(builder.build())
    }
}

async fn serve_terminal(bare: Arc<Bare>, socket: TcpStream) {
    let _ = socket.set_nodelay(true);
    let (mut sink, mut stream) = Framed::new(socket, bare.codec).split();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Frame>(64);
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(frame)) = stream.next().await {
        let Frame::Message { tpdu, payload } = frame else {
            let _ = tx.send(Frame::KeepAlive).await;
            continue;
        };
        let (bare, tx) = (bare.clone(), tx.clone());
        tokio::spawn(async move {
            let Ok(request) = asw_iso8583::decode(&bare.dialect, payload) else {
                return;
            };
            if let Some(answer) = bare.answer(&request).await
                && let Ok(payload) = asw_iso8583::encode_to_bytes(&bare.dialect, &answer)
            {
                let tpdu = tpdu.map(|t| t.response());
                let _ = tx.send(Frame::Message { tpdu, payload }).await;
            }
        });
    }
    drop(tx);
    let _ = writer.await;
}

async fn notify(
    axum::extract::State(bare): axum::extract::State<Arc<Bare>>,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
) -> (http::StatusCode, &'static str) {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match asw_antom::webhook::verify_notification(&bare.verifier, path, &headers, &body) {
        Ok(_) => {
            bare.notified.fetch_add(1, Ordering::Relaxed);
            (
                http::StatusCode::OK,
                r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#,
            )
        }
        Err(_) => {
            bare.refused.fetch_add(1, Ordering::Relaxed);
            (http::StatusCode::UNAUTHORIZED, "")
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [
        pos,
        redis_url,
        antom_url,
        client_id,
        key,
        antom_public,
        webhook,
        notify_flag,
    ] = &args[..]
    else {
        panic!(
            "usage: bare_switch POS REDIS_URL ANTOM_URL CLIENT_ID KEY_PEM ANTOM_PUBLIC_PEM WEBHOOK 1|0"
        );
    };
    let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
    let signer = Signer::from_private_key(&std::fs::read_to_string(key).unwrap(), 1).unwrap();
    let verifier =
        Verifier::from_public_key(&std::fs::read_to_string(antom_public).unwrap()).unwrap();
    let redis = redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let bare = Arc::new(Bare {
        dialect: (*link.dialect).clone(),
        codec: link.codec(),
        redis,
        http: reqwest::Client::builder().build().unwrap(),
        antom_url: antom_url.clone(),
        credentials: ClientCredentials::new(client_id.clone(), Arc::new(signer)),
        verifier,
        notify_url: (notify_flag.as_str() == "1").then(|| format!("http://{webhook}/antom/notify")),
        seq: AtomicU64::new(0),
        notified: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    });
    let counts = bare.clone();
    bare_counts::print_every_5s(
        ["purchases", "notifications verified", "refused"],
        move || {
            [
                counts.seq.load(Ordering::Relaxed),
                counts.notified.load(Ordering::Relaxed),
                counts.refused.load(Ordering::Relaxed),
            ]
        },
    );
    let hook = axum::Router::new()
        .route("/antom/notify", axum::routing::post(notify))
        .with_state(bare.clone());
    let hook_listener = TcpListener::bind(webhook.as_str()).await.unwrap();
    tokio::spawn(async move { axum::serve(hook_listener, hook).await });
    let listener = TcpListener::bind(pos.as_str()).await.unwrap();
    loop {
        if let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve_terminal(bare.clone(), socket));
        }
    }
}
