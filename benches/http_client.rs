//! What an HTTP client costs per request beyond HTTP itself: reqwest (what the switch's Antom
//! client and antom-sim's notifier use) against hyper-util's pooled client (the layer under
//! reqwest), both sending the same signed POST over a keep-alive loopback connection to the
//! same hyper server.
//!
//! The server runs on its own thread (a current-thread runtime), the client on the bench's
//! thread. Before the criterion groups it prints, for each client, the client thread's CPU per
//! request from `/proc/thread-self/schedstat` over 20,000 sequential requests: the figure to
//! read (the criterion times include the server's share and the loopback wake-ups).
//!
//! Run: `cargo bench -p asw-benches --bench http_client`

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

const ACK: &str =
    r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#;
/// A notification-sized body and signature header (the sizes matter, not the content).
const BODY: &str = r#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"paymentRequestId":"P0123456789abcdef0123456789abcdef01","paymentId":"20261207114010800100188830200000001","paymentAmount":{"currency":"SGD","value":"1250"},"paymentCreateTime":"2026-12-07T11:40:10+08:00","paymentTime":"2026-12-07T11:40:11+08:00"}"#;

fn signature() -> String {
    format!(
        "algorithm=RSA256,keyVersion=1,signature={}",
        "A".repeat(344)
    )
}

async fn answer(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(ACK.as_bytes())));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// A keep-alive HTTP/1.1 server on its own thread; returns its address.
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), hyper::service::service_fn(answer))
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// CPU time of the calling thread, in ns.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Clients {
    url: String,
    uri: http::Uri,
    reqwest: reqwest::Client,
    hyper: Client<HttpConnector, Full<Bytes>>,
    signature: String,
}

impl Clients {
    fn new(addr: SocketAddr) -> Self {
        let url = format!("http://{addr}/antom/notify");
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            uri: url.parse().unwrap(),
            url,
            reqwest: reqwest::Client::builder()
                .pool_max_idle_per_host(16)
                .tcp_nodelay(true)
                .no_proxy()
                .build()
                .unwrap(),
            hyper: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(16)
                .build(connector),
            signature: signature(),
        }
    }

    /// The request's headers, the same for both clients.
    fn headers(&self) -> [(&'static str, &str); 4] {
        [
            ("content-type", "application/json; charset=UTF-8"),
            ("client-id", "SANDBOX_5YTEST00000000000"),
            ("request-time", "2026-12-07T11:40:12+08:00"),
            ("signature", &self.signature),
        ]
    }

    async fn via_reqwest(&self) -> usize {
        let mut request = self.reqwest.post(&self.url);
        for (name, value) in self.headers() {
            request = request.header(name, value);
        }
        let response = request
            .timeout(std::time::Duration::from_secs(5))
            .body(Bytes::from_static(BODY.as_bytes()))
            .send()
            .await
            .unwrap();
        response.bytes().await.unwrap().len()
    }

    async fn via_hyper(&self) -> usize {
        let mut request = Request::post(self.uri.clone());
        for (name, value) in self.headers() {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from_static(BODY.as_bytes())))
            .unwrap();
        let response = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            self.hyper.request(request),
        )
        .await
        .unwrap()
        .unwrap();
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .len()
    }
}

fn bench(c: &mut Criterion) {
    let addr = start_server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clients = Clients::new(addr);
    const N: u32 = 20_000;
    for (name, hyper) in [("reqwest", false), ("hyper-util", true)] {
        rt.block_on(async {
            for _ in 0..200 {
                if hyper {
                    clients.via_hyper().await;
                } else {
                    clients.via_reqwest().await;
                }
            }
            let (cpu, wall) = (thread_cpu_ns(), Instant::now());
            for _ in 0..N {
                if hyper {
                    clients.via_hyper().await;
                } else {
                    clients.via_reqwest().await;
                }
            }
            let cpu_us = (thread_cpu_ns() - cpu) as f64 / 1e3 / f64::from(N);
            let wall_us = wall.elapsed().as_secs_f64() * 1e6 / f64::from(N);
            println!("{name}: client CPU {cpu_us:.1} µs per request, round trip {wall_us:.1} µs");
        });
    }
    let mut group = c.benchmark_group("http_client_post");
    group.bench_function("reqwest", |b| {
        b.to_async(&rt).iter(|| clients.via_reqwest());
    });
    group.bench_function("hyper_util", |b| {
        b.to_async(&rt).iter(|| clients.via_hyper());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
