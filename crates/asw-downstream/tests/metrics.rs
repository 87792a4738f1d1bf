//! The metrics of the spec, observed through a process-wide test recorder while real
//! clients talk to the server. (Its own test binary: the recorder is global.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use asw_downstream::{ApproveAllHandler, Profile, Server, ServerConfig};
use asw_iso8583::{Dialect, MessageBuilder, Mti, encode_to_bytes};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Default)]
struct Cell(AtomicU64);

impl metrics::CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

impl metrics::GaugeFn for Cell {
    fn increment(&self, value: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some((f64::from_bits(v) + value).to_bits())
            });
    }
    fn decrement(&self, value: f64) {
        metrics::GaugeFn::increment(self, -value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

#[derive(Default)]
struct TestRecorder {
    cells: Mutex<BTreeMap<String, Arc<Cell>>>,
}

fn render(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl TestRecorder {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        Arc::clone(self.cells.lock().unwrap().entry(render(key)).or_default())
    }
    fn counter_value(&self, name: &str) -> u64 {
        self.cells
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.0.load(Ordering::Relaxed))
    }
    fn gauge_value(&self, name: &str) -> f64 {
        f64::from_bits(self.counter_value(name))
    }
    fn names(&self) -> Vec<String> {
        self.cells.lock().unwrap().keys().cloned().collect()
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

struct Shared(&'static TestRecorder);

impl Recorder for Shared {
    fn describe_counter(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_counter(k, u, d)
    }
    fn describe_gauge(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_gauge(k, u, d)
    }
    fn describe_histogram(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_histogram(k, u, d)
    }
    fn register_counter(&self, key: &Key, m: &Metadata<'_>) -> Counter {
        self.0.register_counter(key, m)
    }
    fn register_gauge(&self, key: &Key, m: &Metadata<'_>) -> Gauge {
        self.0.register_gauge(key, m)
    }
    fn register_histogram(&self, key: &Key, m: &Metadata<'_>) -> Histogram {
        self.0.register_histogram(key, m)
    }
}

fn recorder() -> &'static TestRecorder {
    static RECORDER: OnceLock<&'static TestRecorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder: &'static TestRecorder = Box::leak(Box::default());
        metrics::set_global_recorder(Shared(recorder)).unwrap();
        recorder
    })
}

async fn exchange(stream: &mut TcpStream, payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    stream.write_all(&frame).await.unwrap();
    let mut header = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header))
        .await
        .unwrap()
        .unwrap();
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
    stream.read_exact(&mut body).await.unwrap();
    body
}

#[tokio::test]
async fn the_specified_series_move() {
    let rec = recorder();
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        profile: Profile::Ascii,
        tpdu: false,
        max_connections_per_ip: 1,
        ..ServerConfig::default()
    };
    // The binary registers every crate's declarations at start-up; this test does the
    // downstream's part of it.
    asw_metrics::register(asw_downstream::metrics::METRICS);
    let server = Server::start(config, Arc::new(ApproveAllHandler::new()))
        .await
        .unwrap();
    // Label sets exist at zero before any traffic.
    for reason in ["too_large", "format_error", "unreadable", "read_timeout"] {
        let name = format!("antom_switch_downstream_frames_rejected_total{{reason={reason}}}");
        assert!(rec.names().contains(&name), "{name} missing");
    }
    for reason in [
        "certificate_mismatch",
        "network_not_allowed",
        "terminal_switched",
        "not_carried",
    ] {
        let name = format!("antom_switch_downstream_identity_refused_total{{reason={reason}}}");
        assert!(rec.names().contains(&name), "{name} missing");
    }
    let d = Dialect::ascii().unwrap();
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut b = MessageBuilder::new(&d, Mti::FINANCIAL_REQUEST);
    b.set(3, "000000").unwrap();
    b.set(11, "000001").unwrap();
    b.set(41, "T0000001").unwrap();
    b.set(48, "PC018281234567890123456").unwrap();
    let purchase = encode_to_bytes(&d, &b.clone().build()).unwrap();
    exchange(&mut stream, &purchase).await;
    // The same connection claiming another terminal: refused with 63 and counted.
    b.set(41, "T0000002").unwrap();
    let switched = encode_to_bytes(&d, &b.build()).unwrap();
    exchange(&mut stream, &switched).await;
    assert_eq!(exchange(&mut stream, &[]).await, Vec::<u8>::new());
    // A second connection from the same IP is over the per-IP limit of 1.
    let mut rejected = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(rejected.read(&mut byte).await.unwrap_or(0), 0);
    assert_eq!(
        rec.gauge_value("antom_switch_downstream_connections_open{}"),
        1.0
    );
    // Oversize header: the connection is closed.
    stream.write_all(b"\xff\xff").await.unwrap();
    assert_eq!(stream.read(&mut byte).await.unwrap_or(0), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let value = |name: &str| rec.counter_value(name);
    assert_eq!(
        value("antom_switch_downstream_connections_total{result=accepted}"),
        1
    );
    assert_eq!(
        value("antom_switch_downstream_connections_total{result=rejected_ip_limit}"),
        1
    );
    assert_eq!(value("antom_switch_downstream_keepalives_total{}"), 1);
    assert_eq!(
        value("antom_switch_downstream_messages_total{direction=in,mti=0200,response_code=none}"),
        2
    );
    assert_eq!(
        value("antom_switch_downstream_messages_total{direction=out,mti=0210,response_code=00}"),
        1
    );
    assert_eq!(
        value("antom_switch_downstream_identity_refused_total{reason=terminal_switched}"),
        1
    );
    assert_eq!(
        value("antom_switch_downstream_messages_total{direction=out,mti=0210,response_code=63}"),
        1
    );
    assert_eq!(
        value("antom_switch_downstream_frames_rejected_total{reason=too_large}"),
        1
    );
    assert_eq!(
        rec.gauge_value("antom_switch_downstream_connections_open{}"),
        0.0
    );
    server.shutdown().await;

    // Connections shed to keep seats for terminals (after the counts above: same recorder).
    for reason in ["evicted", "first_message_timeout"] {
        let name = format!("antom_switch_downstream_connections_shed_total{{reason={reason}}}");
        assert!(rec.names().contains(&name), "{name} missing");
    }
    let shed = |reason: &str| {
        rec.counter_value(&format!(
            "antom_switch_downstream_connections_shed_total{{reason={reason}}}"
        ))
    };
    let new = || rec.gauge_value("antom_switch_downstream_connections_new{}");
    let start = |max_connections, first_message_timeout_ms| {
        Server::start(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                max_connections,
                first_message_timeout_ms,
                ..ServerConfig::default()
            },
            Arc::new(ApproveAllHandler::new()),
        )
    };
    // A silent connection: closed by the first-message timeout.
    let server = start(4, 300).await.unwrap();
    let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
    assert_eq!(silent.read(&mut byte).await.unwrap_or(0), 0);
    server.shutdown().await;
    assert_eq!(shed("first_message_timeout"), 1);
    // A silent connection, then a second that takes its seat (the limit is 1).
    let server = start(1, 60_000).await.unwrap();
    let mut evicted = TcpStream::connect(server.local_addr()).await.unwrap();
    let _newcomer = TcpStream::connect(server.local_addr()).await.unwrap();
    assert_eq!(evicted.read(&mut byte).await.unwrap_or(0), 0);
    assert_eq!(shed("evicted"), 1);
    assert_eq!(new(), 1.0, "the newcomer is a new connection");
    server.shutdown().await;
    assert_eq!(new(), 0.0);
}
