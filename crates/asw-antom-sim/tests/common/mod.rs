//! Shared test harness: starts a simulator on 127.0.0.1:0 with the test-only keys from
//! `testdata/`, and a small signing client that verifies every answer's signature.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use asw_antom::{Signer, Verifier};
use asw_antom_sim::{SimConfig, SimHandle, Simulator};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "SANDBOX_5YTEST00000000000";
pub const PAY: &str = "/ams/api/v1/payments/pay";
pub const INQUIRY: &str = "/ams/api/v1/payments/inquiryPayment";
pub const CANCEL: &str = "/ams/api/v1/payments/cancel";
pub const REFUND: &str = "/ams/api/v1/payments/refund";
pub const INQUIRY_REFUND: &str = "/ams/api/v1/payments/inquiryRefund";

pub fn testdata(name: &str) -> String {
    std::fs::read_to_string(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A config with the test keys, one client, fast timings.
pub fn config() -> SimConfig {
    let mut cfg = SimConfig::from_antom_private_key(&testdata("antom_private_pkcs8.pem"))
        .unwrap()
        .with_client(CLIENT_ID, &testdata("merchant_public.pem"))
        .unwrap();
    cfg.notify_delay = Duration::from_millis(20);
    cfg.notify_retry_scale = 0.001;
    cfg.slow_answer = Duration::from_millis(600);
    cfg.inquiry_not_found_for = Duration::from_millis(400);
    cfg
}

pub async fn start_with(tweak: impl FnOnce(&mut SimConfig)) -> (SimHandle, Client) {
    let mut cfg = config();
    tweak(&mut cfg);
    let sim = Simulator::start(cfg).await.unwrap();
    let client = Client::new(&sim.base_url());
    (sim, client)
}

pub async fn start() -> (SimHandle, Client) {
    start_with(|_| {}).await
}

/// What came back from one call.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
    /// `Some(true)` when a signature header was present and verified, `Some(false)` when
    /// present and bad, `None` when absent.
    pub verified: Option<bool>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn code(&self) -> String {
        self.json()["result"]["resultCode"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    pub fn status_letter(&self) -> String {
        self.json()["result"]["resultStatus"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    /// Asserts a verified signature and returns the result code.
    pub fn signed_code(&self) -> String {
        assert_eq!(
            self.verified,
            Some(true),
            "answer not properly signed: {self:?}"
        );
        self.code()
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub client_id: String,
    pub signer: Signer,
    pub antom: Verifier,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: base.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            signer: Signer::from_private_key(&testdata("merchant_private_pkcs1.pem"), 1).unwrap(),
            antom: Verifier::from_public_key(&testdata("antom_public.pem")).unwrap(),
        }
    }

    /// Signed POST of `body` to `path`, ISO request-time.
    pub async fn call(&self, path: &str, body: &Value) -> Reply {
        self.call_raw(path, serde_json::to_vec(body).unwrap())
            .await
            .unwrap()
    }

    pub async fn call_raw(&self, path: &str, body: Vec<u8>) -> Result<Reply, reqwest::Error> {
        let time = "1700000000000";
        let sig = self
            .signer
            .signature_header(path, &self.client_id, time, &body)
            .unwrap();
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json; charset=UTF-8")
            .header("client-id", &self.client_id)
            .header("request-time", time)
            .header("signature", sig)
            .body(body)
            .send()
            .await?;
        self.reply(path, resp).await
    }

    pub async fn reply(
        &self,
        path: &str,
        resp: reqwest::Response,
    ) -> Result<Reply, reqwest::Error> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        let verified = headers.get("signature").map(|sig| {
            let time = headers
                .get("response-time")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let cid = headers
                .get("client-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            self.antom
                .verify_message(path, cid, time, &body, sig.to_str().unwrap_or(""))
                .is_ok()
        });
        Ok(Reply {
            status,
            headers,
            body,
            verified,
        })
    }
}

/// A User-Presented Mode pay body.
pub fn pay_body(prid: &str, code: &str, value: &str, notify: Option<&str>) -> Value {
    let mut body = json!({
        "productCode": "IN_STORE_PAYMENT",
        "paymentRequestId": prid,
        "order": {
            "orderDescription": "POS sale",
            "orderAmount": {"currency": "SGD", "value": value},
            "merchant": {
                "referenceMerchantId": "M0001", "merchantMCC": "5411", "merchantName": "Demo Mart",
                "store": {"referenceStoreId": "S0001", "storeName": "Demo Mart Orchard", "storeMCC": "5411"}
            },
            "env": {"storeTerminalId": "T0001", "storeTerminalRequestTime": "2023-11-14T22:13:20+08:00"}
        },
        "paymentAmount": {"currency": "SGD", "value": value},
        "paymentMethod": {"paymentMethodType": "CONNECT_WALLET", "paymentMethodId": code},
        "paymentFactor": {"inStorePaymentScenario": "PaymentCode"}
    });
    if let Some(url) = notify {
        body["paymentNotifyUrl"] = json!(url);
    }
    body
}

/// A payment code selecting the scenario with these last two digits.
pub fn code(suffix: &str) -> String {
    format!("2810123456789012{suffix}")
}

pub fn by_prid(prid: &str) -> Value {
    json!({ "paymentRequestId": prid })
}

pub fn refund_body(refund_id: &str, payment_id: &str, value: &str) -> Value {
    json!({
        "refundRequestId": refund_id,
        "paymentId": payment_id,
        "refundAmount": {"currency": "SGD", "value": value}
    })
}

/// GET a control endpoint; returns the status and the JSON body.
pub async fn get_json(url: &str) -> (u16, Value) {
    let resp = reqwest::Client::new().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// POST JSON to a control endpoint; returns the status and the JSON body.
pub async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
