//! The downstream server on real sockets (127.0.0.1:0), spoken to with raw bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asw_downstream::{
    ApproveAllHandler, DeliveryError, FramePrefix, Profile, RequestHandler, Responder, Server,
    ServerConfig, ShutdownOutcome,
};
use asw_iso8583::{Dialect, Message, MessageBuilder, Mti, decode, encode_to_bytes};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Notify, mpsc};

const TPDU: [u8; 5] = [0x60, 0x00, 0x01, 0x00, 0x07];

fn config(profile: Profile) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        profile,
        tpdu: profile == Profile::PosBinary,
        read_timeout_ms: 300,
        idle_timeout_ms: 5_000,
        shutdown_grace_ms: 5_000,
        ..ServerConfig::default()
    }
}

async fn start(config: ServerConfig, handler: Arc<dyn RequestHandler>) -> Server {
    Server::start(config, handler).await.unwrap()
}

struct Client {
    stream: TcpStream,
    dialect: Dialect,
    tpdu: bool,
}

impl Client {
    async fn connect(addr: SocketAddr, profile: Profile) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            dialect: profile.dialect().unwrap(),
            tpdu: profile == Profile::PosBinary,
        }
    }

    async fn send_raw(&mut self, body: &[u8]) {
        let mut frame = (body.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        self.stream.write_all(&frame).await.unwrap();
    }

    async fn send_payload(&mut self, payload: &[u8]) {
        let mut body = Vec::new();
        if self.tpdu {
            body.extend_from_slice(&TPDU);
        }
        body.extend_from_slice(payload);
        self.send_raw(&body).await;
    }

    async fn send(&mut self, message: &Message) {
        let payload = encode_to_bytes(&self.dialect, message).unwrap();
        self.send_payload(&payload).await;
    }

    /// The next frame body, or `None` when the server closed the connection.
    async fn recv_raw(&mut self) -> Option<Vec<u8>> {
        let mut header = [0u8; 2];
        tokio::time::timeout(Duration::from_secs(5), self.stream.read_exact(&mut header))
            .await
            .expect("no frame within 5 s")
            .ok()?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(body)
    }

    async fn recv(&mut self) -> Message {
        let body = self.recv_raw().await.expect("connection closed");
        let payload = if self.tpdu {
            assert_eq!(
                &body[..5],
                &[0x60, 0x00, 0x07, 0x00, 0x01],
                "TPDU not swapped"
            );
            &body[5..]
        } else {
            &body[..]
        };
        decode(&self.dialect, Bytes::copy_from_slice(payload)).unwrap()
    }

    /// Whether the server closes the connection within `wait`.
    async fn closed_within(&mut self, wait: Duration) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(wait, self.stream.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

fn purchase(dialect: &Dialect, stan: u32, amount: u64) -> Message {
    let mut b = MessageBuilder::new(dialect, Mti::FINANCIAL_REQUEST);
    b.set(3, "000000").unwrap();
    b.set_number(4, amount).unwrap();
    b.set_number(11, u64::from(stan)).unwrap();
    b.set(12, "143015").unwrap();
    b.set(13, "1121").unwrap();
    b.set(22, "032").unwrap();
    b.set(25, "00").unwrap();
    b.set(41, "T0000001").unwrap();
    b.set(42, "M00000000000001").unwrap();
    b.set(48, "PC018281234567890123456").unwrap();
    b.set(49, "344").unwrap();
    b.build()
}

fn network(dialect: &Dialect, code: &str, stan: u32) -> Message {
    let mut b = MessageBuilder::new(dialect, Mti::NETWORK_REQUEST);
    b.set(7, "1121063015").unwrap();
    b.set_number(11, u64::from(stan)).unwrap();
    b.set(41, "T0000001").unwrap();
    b.set(42, "M00000000000001").unwrap();
    b.set(70, code.to_owned()).unwrap();
    b.build()
}

/// Answers after sleeping as many milliseconds as the amount (F4) says, and reports
/// what `send` returned.
struct DelayHandler {
    events: mpsc::UnboundedSender<(String, Result<(), String>)>,
}

#[async_trait]
impl RequestHandler for DelayHandler {
    async fn handle(&self, request: Message, responder: Responder) {
        let delay: u64 = request.get_str(4).and_then(|a| a.parse().ok()).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let answer = ApproveAllHandler::new()
            .answer(responder.dialect(), &request)
            .unwrap();
        let result = responder.send(answer).await.map_err(|e| e.to_string());
        let stan = request.get_str(11).unwrap_or_default().to_owned();
        let _ = self.events.send((stan, result));
    }
}

#[tokio::test]
async fn network_management_is_answered_locally_in_both_profiles() {
    for profile in [Profile::PosBinary, Profile::Ascii] {
        let server = start(config(profile), Arc::new(ApproveAllHandler::new())).await;
        let mut client = Client::connect(server.local_addr(), profile).await;
        for (i, code) in ["001", "301", "002"].into_iter().enumerate() {
            let request = network(&client.dialect, code, 10 + i as u32);
            client.send(&request).await;
            let answer = client.recv().await;
            assert_eq!(answer.mti(), Mti::NETWORK_RESPONSE);
            assert_eq!(answer.get_str(39), Some("00"));
            for n in [7, 11, 41, 42, 70] {
                assert_eq!(answer.get(n), request.get(n), "field {n} not echoed");
            }
        }
        client.send(&network(&client.dialect, "999", 20)).await;
        assert_eq!(client.recv().await.get_str(39), Some("12"));
        assert_eq!(server.shutdown().await, ShutdownOutcome::Clean);
    }
}

#[tokio::test]
async fn purchase_reaches_the_handler_and_answer_echoes_keys() {
    for profile in [Profile::PosBinary, Profile::Ascii] {
        let server = start(config(profile), Arc::new(ApproveAllHandler::new())).await;
        let mut client = Client::connect(server.local_addr(), profile).await;
        let request = purchase(&client.dialect, 123, 1250);
        client.send(&request).await;
        let answer = client.recv().await;
        assert_eq!(answer.mti(), Mti::FINANCIAL_RESPONSE);
        assert_eq!(answer.get_str(39), Some("00"));
        assert_eq!(answer.get_str(11), Some("000123"));
        assert_eq!(answer.get_str(41), Some("T0000001"));
        assert!(answer.has(37));
        assert!(!answer.has(48), "the payment code must never be echoed");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn outstanding_requests_are_answered_out_of_order() {
    let (events, mut seen) = mpsc::unbounded_channel();
    let server = start(
        config(Profile::PosBinary),
        Arc::new(DelayHandler { events }),
    )
    .await;
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    for (stan, delay) in [(1, 400), (2, 10), (3, 200)] {
        client.send(&purchase(&client.dialect, stan, delay)).await;
    }
    let mut order = Vec::new();
    for _ in 0..3 {
        order.push(client.recv().await.get_str(11).unwrap().to_owned());
    }
    assert_eq!(order, ["000002", "000003", "000001"]);
    for _ in 0..3 {
        assert!(seen.recv().await.unwrap().1.is_ok());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn many_concurrent_connections() {
    let server = start(
        config(Profile::PosBinary),
        Arc::new(ApproveAllHandler::new()),
    )
    .await;
    let addr = server.local_addr();
    let mut tasks = Vec::new();
    for c in 0..100u32 {
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr, Profile::PosBinary).await;
            for i in 0..5 {
                client
                    .send(&purchase(&client.dialect, c * 10 + i, 100))
                    .await;
            }
            let mut stans = Vec::new();
            for _ in 0..5 {
                stans.push(client.recv().await.get_str(11).unwrap().to_owned());
            }
            stans.sort();
            let expected: Vec<String> = (0..5).map(|i| format!("{:06}", c * 10 + i)).collect();
            assert_eq!(stans, expected);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn keep_alives_are_echoed() {
    let server = start(
        config(Profile::PosBinary),
        Arc::new(ApproveAllHandler::new()),
    )
    .await;
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    client.stream.write_all(&[0, 0, 0, 0]).await.unwrap();
    assert_eq!(client.recv_raw().await, Some(vec![]));
    assert_eq!(client.recv_raw().await, Some(vec![]));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_field_gets_format_error_with_keys() {
    for profile in [Profile::PosBinary, Profile::Ascii] {
        let server = start(config(profile), Arc::new(ApproveAllHandler::new())).await;
        let mut client = Client::connect(server.local_addr(), profile).await;
        let mut wire = encode_to_bytes(&client.dialect, &purchase(&client.dialect, 77, 1250))
            .unwrap()
            .to_vec();
        // Field 4 is right after field 3; make it non-numeric.
        if profile == Profile::Ascii {
            wire[4 + 16 + 6] = b'X';
        } else {
            wire[2 + 8 + 3] = 0xAB;
        }
        client.send_payload(&wire).await;
        let answer = client.recv().await;
        assert_eq!(answer.mti(), Mti::FINANCIAL_RESPONSE);
        assert_eq!(answer.get_str(39), Some("30"));
        assert_eq!(answer.get_str(11), Some("000077"));
        assert_eq!(answer.get_str(41), Some("T0000001"));
        server.shutdown().await;
    }
}

#[tokio::test]
async fn unsupported_mti_gets_12_and_garbage_is_dropped() {
    let server = start(config(Profile::Ascii), Arc::new(ApproveAllHandler::new())).await;
    let mut client = Client::connect(server.local_addr(), Profile::Ascii).await;
    let mut advice = purchase(&client.dialect, 5, 100);
    advice.set_mti(Mti::new("0220").unwrap());
    client.send(&advice).await;
    let answer = client.recv().await;
    assert_eq!(answer.mti(), Mti::new("0230").unwrap());
    assert_eq!(answer.get_str(39), Some("12"));
    // Garbage, a truncated message and a response MTI: no answer, connection kept.
    client.send_payload(b"\xff\x00garbage").await;
    client.send_payload(b"0200F23C").await;
    let mut response = purchase(&client.dialect, 6, 100);
    response.set_mti(Mti::FINANCIAL_RESPONSE);
    client.send(&response).await;
    client.send(&network(&client.dialect, "301", 9)).await;
    let answer = client.recv().await;
    assert_eq!(answer.mti(), Mti::NETWORK_RESPONSE);
    assert_eq!(answer.get_str(11), Some("000009"));
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_length_header_closes_the_connection() {
    let server = start(
        config(Profile::PosBinary),
        Arc::new(ApproveAllHandler::new()),
    )
    .await;
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    client.stream.write_all(&[0xFF, 0xFF, 0x60]).await.unwrap();
    assert!(client.closed_within(Duration::from_secs(2)).await);
    // A frame too short for its TPDU also loses the framing.
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    client.send_raw(&[0x60, 0x00]).await;
    assert!(client.closed_within(Duration::from_secs(2)).await);
    server.shutdown().await;
}

#[tokio::test]
async fn stalled_and_slow_frames_hit_the_read_timeout() {
    let server = start(
        config(Profile::PosBinary),
        Arc::new(ApproveAllHandler::new()),
    )
    .await;
    // Header announces 100 bytes; 10 arrive, then nothing.
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    client.stream.write_all(&[0, 100]).await.unwrap();
    client.stream.write_all(&[0x60; 10]).await.unwrap();
    assert!(client.closed_within(Duration::from_secs(2)).await);
    // One byte every 100 ms: the frame as a whole is bounded, not each read.
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    let started = tokio::time::Instant::now();
    client.stream.write_all(&[0, 50]).await.unwrap();
    let mut closed = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if client.stream.write_all(&[0x60]).await.is_err() {
            closed = true;
            break;
        }
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(1), client.stream.read(&mut byte)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "slow sender not cut off");
    assert!(started.elapsed() < Duration::from_millis(1500));
    server.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = start(
        ServerConfig {
            idle_timeout_ms: 200,
            ..config(Profile::PosBinary)
        },
        Arc::new(ApproveAllHandler::new()),
    )
    .await;
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    assert!(client.closed_within(Duration::from_secs(2)).await);
    server.shutdown().await;
}

#[tokio::test]
async fn floods_beyond_the_limits_are_rejected_and_the_server_stays_up() {
    let server = start(
        ServerConfig {
            max_connections: 5,
            max_connections_per_ip: 3,
            ..config(Profile::PosBinary)
        },
        Arc::new(ApproveAllHandler::new()),
    )
    .await;
    let addr = server.local_addr();
    let connect_from = |ip: [u8; 4]| async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((ip, 0))).unwrap();
        Client {
            stream: socket.connect(addr).await.unwrap(),
            dialect: Dialect::pos_binary().unwrap(),
            tpdu: true,
        }
    };
    let mut kept = Vec::new();
    for _ in 0..3 {
        kept.push(connect_from([127, 0, 0, 1]).await);
    }
    // A fourth from the same IP is over the per-IP limit.
    let mut over_ip = connect_from([127, 0, 0, 1]).await;
    assert!(over_ip.closed_within(Duration::from_secs(2)).await);
    for _ in 0..2 {
        kept.push(connect_from([127, 0, 0, 2]).await);
    }
    // Let the server register the accepted ones, then flood past the global limit.
    for client in &mut kept {
        client
            .send(&network(&client.dialect.clone(), "301", 1))
            .await;
        client.recv().await;
    }
    for _ in 0..20 {
        let mut flood = connect_from([127, 0, 0, 3]).await;
        assert!(flood.closed_within(Duration::from_secs(2)).await);
    }
    // The admitted connections still work; after they close, new ones are accepted.
    for client in &mut kept {
        client
            .send(&network(&client.dialect.clone(), "301", 2))
            .await;
        assert_eq!(client.recv().await.get_str(39), Some("00"));
    }
    drop(kept);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = Client::connect(addr, Profile::PosBinary).await;
    again.send(&network(&again.dialect.clone(), "301", 3)).await;
    assert_eq!(again.recv().await.get_str(39), Some("00"));
    server.shutdown().await;
}

/// Waits for the test's go-ahead, then answers and reports what `send` returned.
struct GatedHandler {
    go: Arc<Notify>,
    started: Arc<Notify>,
    events: mpsc::UnboundedSender<Result<(), DeliveryError>>,
}

#[async_trait]
impl RequestHandler for GatedHandler {
    async fn handle(&self, request: Message, responder: Responder) {
        self.started.notify_one();
        self.go.notified().await;
        let answer = ApproveAllHandler::new()
            .answer(responder.dialect(), &request)
            .unwrap();
        let result = responder.send(answer).await;
        // Work after a failed delivery (e.g. queueing a cancel) still runs.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = self.events.send(result);
    }
}

#[tokio::test]
async fn disconnect_mid_transaction_does_not_cancel_the_handler() {
    let go = Arc::new(Notify::new());
    let started = Arc::new(Notify::new());
    let (events, mut results) = mpsc::unbounded_channel();
    let handler = GatedHandler {
        go: Arc::clone(&go),
        started: Arc::clone(&started),
        events,
    };
    let server = start(config(Profile::PosBinary), Arc::new(handler)).await;
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    client.send(&purchase(&client.dialect, 42, 1250)).await;
    started.notified().await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(100)).await;
    go.notify_one();
    let result = results.recv().await.expect("handler was cancelled");
    assert!(
        matches!(result, Err(DeliveryError::ConnectionClosed)),
        "{result:?}"
    );
    assert_eq!(server.shutdown().await, ShutdownOutcome::Clean);
}

#[tokio::test]
async fn shutdown_waits_for_in_flight_handlers_and_delivers_their_answers() {
    let go = Arc::new(Notify::new());
    let started = Arc::new(Notify::new());
    let (events, mut results) = mpsc::unbounded_channel();
    let handler = GatedHandler {
        go: Arc::clone(&go),
        started: Arc::clone(&started),
        events,
    };
    let server = start(config(Profile::PosBinary), Arc::new(handler)).await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, Profile::PosBinary).await;
    client.send(&purchase(&client.dialect, 43, 1250)).await;
    started.notified().await;
    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // No new connections once shutdown began.
    assert!(TcpStream::connect(addr).await.is_err() || !shutdown.is_finished());
    go.notify_one();
    let answer = client.recv().await;
    assert_eq!(answer.get_str(11), Some("000043"));
    assert!(results.recv().await.unwrap().is_ok());
    assert_eq!(shutdown.await.unwrap(), ShutdownOutcome::Clean);
}

#[tokio::test]
async fn other_length_prefixes_work() {
    let server = start(
        ServerConfig {
            frame_prefix: FramePrefix::Ascii4,
            ..config(Profile::Ascii)
        },
        Arc::new(ApproveAllHandler::new()),
    )
    .await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let d = Dialect::ascii().unwrap();
    let payload = encode_to_bytes(&d, &network(&d, "301", 5)).unwrap();
    let mut frame = format!("{:04}", payload.len()).into_bytes();
    frame.extend_from_slice(&payload);
    stream.write_all(&frame).await.unwrap();
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await.unwrap();
    let len: usize = std::str::from_utf8(&header).unwrap().parse().unwrap();
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.unwrap();
    let answer = decode(&d, Bytes::from(body)).unwrap();
    assert_eq!(answer.get_str(39), Some("00"));
    server.shutdown().await;
}

#[tokio::test]
async fn large_and_pipelined_frames_are_read_whole() {
    // An idle connection's read buffer is small (a few hundred bytes): a frame larger than it
    // must still be read whole, and several frames written at once must all be answered.
    let server = start(
        config(Profile::PosBinary),
        Arc::new(ApproveAllHandler::new()),
    )
    .await;
    let mut client = Client::connect(server.local_addr(), Profile::PosBinary).await;
    let mut large = purchase(&client.dialect, 1, 1250);
    // F48 is private TLV data: 900 bytes of it make a frame of about 1 KB.
    large
        .set(
            &client.dialect,
            48,
            format!("PC018281234567890123456XX{:0>875}", 0),
        )
        .unwrap();
    client.send(&large).await;
    let answer = client.recv().await;
    assert_eq!(answer.get_str(11), Some("000001"));
    assert_eq!(answer.get_str(39), Some("00"));

    let mut burst = Vec::new();
    for stan in 2..6 {
        let payload =
            encode_to_bytes(&client.dialect, &network(&client.dialect, "301", stan)).unwrap();
        let mut body = TPDU.to_vec();
        body.extend_from_slice(&payload);
        burst.extend_from_slice(&(body.len() as u16).to_be_bytes());
        burst.extend_from_slice(&body);
    }
    let payload = encode_to_bytes(&client.dialect, &large).unwrap();
    burst.extend_from_slice(&((payload.len() + 5) as u16).to_be_bytes());
    burst.extend_from_slice(&TPDU);
    burst.extend_from_slice(&payload);
    client.stream.write_all(&burst).await.unwrap();
    let mut stans: Vec<String> = Vec::new();
    for _ in 0..5 {
        stans.push(client.recv().await.get_str(11).unwrap().to_owned());
    }
    stans.sort();
    assert_eq!(stans, ["000001", "000002", "000003", "000004", "000005"]);
    server.shutdown().await;
}
