//! Connection floods on real sockets: strangers that connect and say nothing must not keep a
//! genuine terminal out, and must never push out a terminal that is already talking.
//!
//! The strangers come from 40 loopback addresses (127.0.0.2 … 127.0.0.41), as in the report
//! that prompted this (6,000 idle connections from 40 addresses held a 2,048 cap for the whole
//! idle timeout). The cap is small here so the test stays fast.
//!
//! No timing is asserted and nothing sleeps before checking that something did not happen:
//! every wait is a bounded wait for an event (an answer, a close, a count reached).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use asw_downstream::{ApproveAllHandler, Profile, Server, ServerConfig};
use asw_iso8583::{Dialect, Message, MessageBuilder, Mti, decode, encode_to_bytes};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const TPDU: [u8; 5] = [0x60, 0x00, 0x01, 0x00, 0x07];
/// Every bounded wait of this file: long enough for a loaded 2-core machine, and only ever
/// reached when the test fails.
const BOUND: Duration = Duration::from_secs(10);

fn config(max_connections: usize) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_connections,
        read_timeout_ms: 5_000,
        idle_timeout_ms: 60_000,
        // Long: these tests are about eviction, not the first-message timeout.
        first_message_timeout_ms: 60_000,
        shutdown_grace_ms: 5_000,
        ..ServerConfig::default()
    }
}

async fn start(config: ServerConfig) -> Server {
    Server::start(config, Arc::new(ApproveAllHandler::new()))
        .await
        .unwrap()
}

/// The `n`-th stranger's source address: 127.0.0.2 … 127.0.0.41, round-robin.
fn stranger_ip(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (n % 40) as u8))
}

/// A TCP connection from `from` to `to`.
async fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// Waits (bounded) until the server counts `n` open connections.
async fn wait_open(server: &Server, n: usize) {
    tokio::time::timeout(BOUND, async {
        while server.open_connections() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("open connections: {} != {n}", server.open_connections()));
}

/// Whether the server closes `stream` within the bound (reading nothing else first).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(BOUND, stream.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// A terminal speaking profile B with a TPDU.
struct Terminal {
    stream: TcpStream,
    dialect: Dialect,
}

impl Terminal {
    async fn connect(from: IpAddr, to: SocketAddr) -> Terminal {
        Terminal {
            stream: connect_from(from, to).await,
            dialect: Profile::PosBinary.dialect().unwrap(),
        }
    }

    async fn send(&mut self, message: &Message) {
        let payload = encode_to_bytes(&self.dialect, message).unwrap();
        let mut body = TPDU.to_vec();
        body.extend_from_slice(&payload);
        let mut frame = (body.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await.unwrap();
    }

    /// The next answer, or `None` when the server closed the connection.
    async fn recv(&mut self) -> Option<Message> {
        let mut header = [0u8; 2];
        tokio::time::timeout(BOUND, self.stream.read_exact(&mut header))
            .await
            .expect("no frame within the bound")
            .ok()?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(decode(&self.dialect, Bytes::copy_from_slice(&body[5..])).unwrap())
    }

    /// Sends a network management request (`001` sign-on, `301` echo) and returns F39 of
    /// the answer, or `None` when the connection was closed instead.
    async fn network(&mut self, code: &str, stan: u32) -> Option<String> {
        let mut b = MessageBuilder::new(&self.dialect, Mti::NETWORK_REQUEST);
        b.set(7, "1121063015").unwrap();
        b.set_number(11, u64::from(stan)).unwrap();
        b.set(41, "T0000001").unwrap();
        b.set(42, "M00000000000001").unwrap();
        b.set(70, code.to_owned()).unwrap();
        self.send(&b.build()).await;
        let answer = self.recv().await?;
        assert_eq!(answer.mti(), Mti::NETWORK_RESPONSE);
        Some(answer.get_str(39).unwrap_or_default().to_owned())
    }

    /// A purchase; returns F39 of the answer (`None`: closed instead).
    async fn purchase(&mut self, stan: u32) -> Option<String> {
        let mut b = MessageBuilder::new(&self.dialect, Mti::FINANCIAL_REQUEST);
        b.set(3, "000000").unwrap();
        b.set_number(4, 1250).unwrap();
        b.set_number(11, u64::from(stan)).unwrap();
        b.set(12, "143015").unwrap();
        b.set(13, "1121").unwrap();
        b.set(22, "032").unwrap();
        b.set(25, "00").unwrap();
        b.set(41, "T0000001").unwrap();
        b.set(42, "M00000000000001").unwrap();
        b.set(48, "PC018281234567890123456").unwrap();
        b.set(49, "344").unwrap();
        self.send(&b.build()).await;
        let answer = self.recv().await?;
        assert_eq!(answer.mti(), Mti::FINANCIAL_RESPONSE);
        Some(answer.get_str(39).unwrap_or_default().to_owned())
    }
}

/// Opens `n` silent connections from the 40 stranger addresses, starting at the `first`-th.
async fn strangers(to: SocketAddr, first: usize, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    for i in first..first + n {
        streams.push(connect_from(stranger_ip(i), to).await);
    }
    streams
}

#[tokio::test]
async fn a_terminal_gets_in_while_strangers_hold_every_seat() {
    let server = start(config(64)).await;
    let addr = server.local_addr();
    let mut flood = strangers(addr, 0, 64).await;
    wait_open(&server, 64).await;

    let mut terminal = Terminal::connect(IpAddr::V4(Ipv4Addr::LOCALHOST), addr).await;
    assert_eq!(terminal.network("301", 1).await.as_deref(), Some("00"));
    assert_eq!(terminal.purchase(2).await.as_deref(), Some("00"));
    // The seat came from the oldest stranger.
    assert!(
        closed(&mut flood[0]).await,
        "the oldest stranger was not evicted"
    );
    wait_open(&server, 64).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_signed_on_terminal_is_never_evicted_for_strangers() {
    let server = start(config(64)).await;
    let addr = server.local_addr();
    let mut terminal = Terminal::connect(IpAddr::V4(Ipv4Addr::LOCALHOST), addr).await;
    assert_eq!(terminal.network("001", 1).await.as_deref(), Some("00"));

    // Three times the cap: every stranger beyond the 63 free seats pushes out an older one.
    let _flood = strangers(addr, 0, 192).await;
    // A last stranger that gets an answer proves the server has accepted (and seated or
    // refused) every connection opened before it: connections are accepted in order.
    let mut probe = Terminal::connect(stranger_ip(0), addr).await;
    assert_eq!(probe.network("301", 2).await.as_deref(), Some("00"));

    assert_eq!(terminal.network("301", 3).await.as_deref(), Some("00"));
    assert_eq!(terminal.purchase(4).await.as_deref(), Some("00"));
    server.shutdown().await;
}

#[tokio::test]
async fn when_every_seat_is_held_by_terminals_a_newcomer_is_refused() {
    let server = start(config(4)).await;
    let addr = server.local_addr();
    let mut terminals = Vec::new();
    for i in 0..4 {
        let mut terminal = Terminal::connect(stranger_ip(i), addr).await;
        assert_eq!(terminal.network("001", 1).await.as_deref(), Some("00"));
        terminals.push(terminal);
    }
    let mut newcomer = connect_from(stranger_ip(4), addr).await;
    assert!(closed(&mut newcomer).await, "a fifth connection was seated");
    for (i, terminal) in terminals.iter_mut().enumerate() {
        assert_eq!(
            terminal.network("301", 2).await.as_deref(),
            Some("00"),
            "terminal {i}"
        );
    }
    server.shutdown().await;
}

// The short first-message timeouts below (1 s) must leave room for a sign-on or a keep-alive
// echo on a loaded machine: that is their only timing assumption, and it fails loudly.

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_first_message_timeout() {
    let server = start(ServerConfig {
        first_message_timeout_ms: 1_000,
        ..config(64)
    })
    .await;
    let addr = server.local_addr();
    // Opened first, so its first-message deadline passes before the silent one's.
    let mut terminal = Terminal::connect(IpAddr::V4(Ipv4Addr::LOCALHOST), addr).await;
    assert_eq!(terminal.network("001", 1).await.as_deref(), Some("00"));
    let mut silent = connect_from(stranger_ip(0), addr).await;
    assert!(
        closed(&mut silent).await,
        "the silent connection stayed open"
    );
    // The terminal's deadline has passed too; having signed on, it is still served.
    assert_eq!(terminal.network("301", 2).await.as_deref(), Some("00"));
    server.shutdown().await;
}

#[tokio::test]
async fn keep_alives_and_refused_messages_are_not_a_valid_exchange() {
    let server = start(ServerConfig {
        first_message_timeout_ms: 1_000,
        ..config(64)
    })
    .await;
    let addr = server.local_addr();

    // Keep-alives are echoed, but anyone can send two zero bytes.
    let mut keepalive = connect_from(stranger_ip(0), addr).await;
    keepalive.write_all(&[0, 0]).await.unwrap();
    let mut echo = [0u8; 2];
    tokio::time::timeout(BOUND, keepalive.read_exact(&mut echo))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echo, [0, 0]);
    assert!(closed(&mut keepalive).await, "keep-alives kept it open");

    // An unsupported network management code is answered 12: not an exchange either.
    let mut refused = Terminal::connect(stranger_ip(1), addr).await;
    assert_eq!(refused.network("999", 1).await.as_deref(), Some("12"));
    assert!(
        closed(&mut refused.stream).await,
        "a refused message kept it open"
    );
    server.shutdown().await;
}
