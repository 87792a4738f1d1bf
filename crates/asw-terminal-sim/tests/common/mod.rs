//! A downstream server with a recording test handler, shared by the integration tests.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_downstream::{Profile, RequestHandler, Responder, Server, ServerConfig};
use asw_iso8583::tlv::{PrivateData, PrivateDataBuilder, Tag};
use asw_iso8583::{Dialect, Message};
use async_trait::async_trait;

/// Answers like a switch would (RRN, approval code, PR/PI for purchases) and keeps every
/// request. A purchase with payment code 289999999999999999 is declined (05); its
/// amount modulo 1000 is a delay in milliseconds. An order code (F3 910000) is answered 09
/// with a code to display (QC, QE); a status inquiry then says 00.
#[derive(Default)]
pub struct Recorder {
    pub requests: Mutex<Vec<Message>>,
}

pub fn answer(dialect: &Dialect, request: &Message, seq: usize) -> Message {
    let mut b = request
        .respond(dialect, &[3, 4, 7, 11, 12, 13, 24, 25, 41, 42, 49])
        .unwrap();
    let class = request.mti().class();
    let mut code = "00";
    if class == 1 || class == 2 {
        b.set(37, format!("{seq:012}")).unwrap();
        let pc = request
            .get(48)
            .and_then(|v| PrivateData::parse(v).ok())
            .and_then(|d| d.get(Tag::PaymentCode).map(str::to_owned));
        let order_code = request.get_str(3) == Some("910000");
        if pc.as_deref().is_some_and(|c| c == "289999999999999999") {
            code = "05";
        } else if order_code {
            code = "09";
        } else {
            b.set(38, format!("{:06}", seq % 1_000_000)).unwrap();
        }
        let mut data = PrivateDataBuilder::new();
        data.push(Tag::PaymentRequestId, &format!("PR-{seq}"))
            .unwrap();
        data.push(Tag::PaymentId, &format!("PI-{seq}")).unwrap();
        if order_code {
            data.push(Tag::OrderCode, &format!("https://qr.test/{seq}"))
                .unwrap();
            data.push(Tag::OrderCodeExpiry, "20261207101800").unwrap();
        }
        b.set(48, data.build()).unwrap();
    }
    b.set(39, code).unwrap();
    b.build()
}

#[async_trait]
impl RequestHandler for Recorder {
    async fn handle(&self, request: Message, responder: Responder) {
        let seq = {
            let mut requests = self.requests.lock().unwrap();
            requests.push(request.clone());
            requests.len()
        };
        let delay = request
            .get_str(4)
            .and_then(|a| a.parse::<u64>().ok())
            .map_or(0, |a| a % 1000);
        if request.mti().class() == 2 && delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let answer = answer(responder.dialect(), &request, seq);
        let _ = responder.send(answer).await;
    }
}

pub async fn server(profile: Profile) -> (Server, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        profile,
        tpdu: profile == Profile::PosBinary,
        shutdown_grace_ms: 5_000,
        ..ServerConfig::default()
    };
    let server = Server::start(config, recorder.clone()).await.unwrap();
    (server, recorder)
}
