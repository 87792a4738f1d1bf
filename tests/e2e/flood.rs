//! A connection flood against the whole switch (issue 19): strangers from 40 loopback
//! addresses fill `[downstream] max_connections` with silent connections; terminals still get
//! in and transact, and a terminal that is already transacting is never pushed out.
//!
//! No timing is asserted and nothing sleeps before checking that something did not happen:
//! every wait is bounded and waits for an event (an answer, a close).

// Test code: a failed set-up step must stop the test with a clear message.
#![allow(clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use asw_e2e::pos::Pos;
use asw_e2e::{Harness, MID, SAME_STORE_TID, code};
use asw_terminal_sim::Answer;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

/// The seat limit of these tests: small, so a flood of a few hundred sockets fills it.
const SEATS: usize = 64;

/// Opens `n` silent connections from 127.0.0.2 … 127.0.0.41, round-robin.
async fn flood(to: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    for i in 0..n {
        let socket = TcpSocket::new_v4().expect("socket");
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % 40) as u8));
        socket
            .bind(SocketAddr::new(from, 0))
            .expect("bind a loopback address");
        streams.push(socket.connect(to).await.expect("connect"));
    }
    streams
}

/// Whether the switch closes `stream` within 15 s (reading nothing else first).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(15), stream.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_transact_through_a_connection_flood() {
    let h = Harness::start_with(|config, _| {
        config.downstream.max_connections = SEATS;
        // Long: this test is about eviction; strangers must not leave by timing out.
        config.downstream.first_message_timeout_ms = 120_000;
    })
    .await;
    let addr = h.downstream();

    // A terminal already transacting when the flood starts.
    let regular = Pos::connect(addr).await;
    let (answer, _) = regular.purchase(1, 1250, &code("00")).await;
    assert_eq!(answer.response_code(), "00");

    // Three times the limit in strangers: they fill the free seats, then push out each other.
    let mut strangers = flood(addr, 3 * SEATS).await;
    // The oldest stranger lost its seat to a younger one.
    assert!(closed(&mut strangers[0]).await, "no stranger was evicted");

    // A terminal arriving now gets a stranger's seat and transacts. (The switch accepts in
    // order, so every stranger was seated or refused before it.)
    let newcomer = Pos::connect_as(addr, MID, SAME_STORE_TID).await;
    let (answer, _) = newcomer.purchase(2, 1300, &code("00")).await;
    assert_eq!(answer.response_code(), "00");

    // The terminal that was there first was never evicted.
    let (answer, _) = regular.purchase(3, 1400, &code("00")).await;
    assert_eq!(answer.response_code(), "00");
}
