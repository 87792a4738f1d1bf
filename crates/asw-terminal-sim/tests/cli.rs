//! The `terminal-sim` binary against a real downstream server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::process::Stdio;

use asw_downstream::Profile;
use asw_iso8583::tlv::{PrivateData, Tag};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_terminal-sim");

async fn sim(args: &[&str]) -> (i32, Value) {
    let out = Command::new(BIN).args(args).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json)
}

async fn sim_stdin(args: &[&str], input: &str) -> (i32, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    )
}

#[tokio::test]
async fn every_command_sends_what_the_dialect_says() {
    for (profile, name) in [(Profile::PosBinary, "pos-binary"), (Profile::Ascii, "A")] {
        let (server, recorder) = common::server(profile).await;
        let addr = server.local_addr().to_string();
        let base = ["--connect", addr.as_str(), "--profile", name];
        let run = |extra: &'static [&'static str]| {
            let mut args: Vec<&str> = base.to_vec();
            args.extend_from_slice(extra);
            async move { sim(&args).await }
        };

        let (code, answer) = run(&[
            "purchase",
            "--amount",
            "2000",
            "--stan",
            "11",
            "--code",
            "281234567890123456",
        ])
        .await;
        assert_eq!(code, 0, "{answer}");
        assert_eq!(answer["t"], "0210");
        assert_eq!(answer["39"], "00");
        assert_eq!(answer["11"], "000011");

        let (code, _) = run(&[
            "void",
            "--rrn",
            "000000000001",
            "--payment-request-id",
            "PR-1",
            "--stan",
            "12",
        ])
        .await;
        assert_eq!(code, 0);
        let (code, _) = run(&[
            "refund",
            "--payment-id",
            "PI-1",
            "--amount",
            "500",
            "--stan",
            "13",
        ])
        .await;
        assert_eq!(code, 0);
        let (code, answer) = run(&[
            "reverse",
            "--original-stan",
            "11",
            "--original-time",
            "101010",
            "--original-date",
            "1121",
            "--amount",
            "2000",
        ])
        .await;
        assert_eq!(code, 0);
        assert_eq!(answer["t"], "0410");
        let (code, answer) = run(&[
            "advice",
            "--repeat",
            "--original-stan",
            "11",
            "--original-time",
            "101010",
            "--amount",
            "2000",
        ])
        .await;
        assert_eq!(code, 0);
        assert_eq!(answer["t"], "0430");
        let out = Command::new(BIN)
            .args(base)
            .args([
                "order-code",
                "--amount",
                "3000",
                "--stan",
                "16",
                "--poll-ms",
                "20",
            ])
            .output()
            .await
            .unwrap();
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(out.status.code(), Some(0), "{lines:?}");
        assert_eq!(lines.len(), 2, "the code, then one poll: {lines:?}");
        assert_eq!(
            (&lines[0]["t"], &lines[0]["39"]),
            (&"0210".into(), &"09".into())
        );
        assert!(lines[0]["48"].as_str().unwrap().contains("QC"));
        assert_eq!(
            (&lines[1]["t"], &lines[1]["39"]),
            (&"0110".into(), &"00".into())
        );
        let (code, answer) = run(&["inquiry", "--rrn", "000000000001", "--stan", "14"]).await;
        assert_eq!(code, 0);
        assert_eq!(answer["t"], "0110");
        for command in ["echo", "sign-on", "sign-off"] {
            let mut args = base.to_vec();
            args.push(command);
            let (code, answer) = sim(&args).await;
            assert_eq!(code, 0);
            assert_eq!(answer["t"], "0810");
        }
        // A decline exits 1.
        let (code, answer) =
            run(&["purchase", "--code", "289999999999999999", "--stan", "15"]).await;
        assert_eq!(code, 1);
        assert_eq!(answer["39"], "05");

        let requests = recorder.requests.lock().unwrap().clone();
        let by_mti = |mti: &str, f3: &str| {
            requests
                .iter()
                .find(|m| m.mti().as_str() == mti && m.get_str(3) == Some(f3))
                .unwrap_or_else(|| panic!("no {mti}/{f3}"))
                .clone()
        };
        let purchase = by_mti("0200", "000000");
        assert_eq!(purchase.get_str(4), Some("000000002000"));
        assert_eq!(purchase.get_str(22), Some("032"));
        assert_eq!(purchase.get_str(25), Some("00"));
        assert_eq!(purchase.get_str(41), Some("T0000001"));
        assert_eq!(purchase.get_str(42), Some("M00000000000001"));
        assert_eq!(purchase.get_str(48), Some("PC018281234567890123456"));
        assert_eq!(purchase.get_str(49), Some("344"));
        assert!(purchase.has(7) && purchase.has(12) && purchase.has(13));
        let void = by_mti("0200", "020000");
        assert_eq!(void.get_str(37), Some("000000000001"));
        assert_eq!(void.get_str(48), Some("PR004PR-1"));
        let refund = by_mti("0200", "200000");
        assert_eq!(refund.get_str(48), Some("PI004PI-1"));
        assert_eq!(refund.get_str(4), Some("000000000500"));
        let reversal = by_mti("0400", "000000");
        assert_eq!(reversal.get_str(11), Some("000011"));
        assert_eq!(reversal.get_str(12), Some("101010"));
        assert_eq!(reversal.get_str(13), Some("1121"));
        assert_eq!(reversal.get_str(39), Some("98"));
        assert_eq!(reversal.get_str(4), Some("000000002000"));
        assert_eq!(by_mti("0421", "000000").get_str(11), Some("000011"));
        let order_code = by_mti("0200", "910000");
        assert_eq!(order_code.get_str(4), Some("000000003000"));
        assert_eq!(order_code.get_str(11), Some("000016"));
        assert!(!order_code.has(48), "no payment code");
        let poll = requests
            .iter()
            .find(|m| m.mti().as_str() == "0100" && m.get_str(11) == Some("000017"))
            .expect("the poll, on the next STAN");
        let poll_data = PrivateData::parse(poll.get(48).unwrap()).unwrap();
        assert!(poll_data.get(Tag::PaymentRequestId).is_some(), "by PR");
        let inquiry = requests
            .iter()
            .find(|m| m.mti().as_str() == "0100" && m.get_str(11) == Some("000014"))
            .expect("the inquiry");
        assert_eq!(inquiry.get_str(37), Some("000000000001"));
        assert!(
            requests.iter().all(|m| m.mti().as_str() != "0800"),
            "0800 is answered locally"
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn usage_and_connection_errors_exit_2() {
    let (code, _) = sim(&["--connect", "127.0.0.1:1", "echo"]).await;
    assert_eq!(code, 2);
    let (code, _) = sim(&["purchase"]).await;
    assert_eq!(code, 2, "missing --connect");
    let (code, _) = sim(&["--connect", "127.0.0.1:1", "reverse"]).await;
    assert_eq!(code, 2, "missing --original-stan");
    let (code, _) = sim(&["--profile", "C", "encode"]).await;
    assert_eq!(code, 2);
}

#[tokio::test]
async fn encode_decode_round_trip_through_the_binary() {
    let json = r#"{"t":"0200","3":"000000","4":"000000001250","11":"000123","12":"143015","13":"1121","22":"032","25":"00","41":"T0000001","42":"M00000000000001","48":"PC018281234567890123456","49":"344"}"#;
    for profile in ["A", "ascii", "B", "pos-binary"] {
        let (code, hex) = sim_stdin(&["encode", "--profile", profile], json).await;
        assert_eq!(code, 0);
        let (code, back) = sim_stdin(&["decode", "--profile", profile], &hex).await;
        assert_eq!(code, 0);
        let back: Value = serde_json::from_str(&back).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<Value>(json).unwrap(),
            "{profile}"
        );
    }
    // Profile B's purchase starts with the BCD MTI and a binary bitmap.
    let (_, hex) = sim_stdin(&["encode", "--profile", "B"], json).await;
    assert!(hex.starts_with("02003038048000C18000"), "{hex}");
    let (code, _) = sim_stdin(&["decode", "--profile", "B"], "0200").await;
    assert_eq!(code, 2);
}

#[tokio::test]
async fn the_tls_options_connect_to_a_tls_listener() {
    let pki = asw_testkit::TestPki::new().unwrap();
    let (cert, key) = pki.issue("server", &["localhost"]).unwrap();
    let (client_cert, client_key) = pki
        .issue("terminal", &["T0000001.M00000000000001"])
        .unwrap();
    let ca = pki.ca_file().unwrap();
    let config = asw_downstream::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        profile: Profile::Ascii,
        tpdu: false,
        shutdown_grace_ms: 2_000,
        tls: Some(asw_downstream::TlsConfig {
            cert_file: cert,
            key_file: key,
            client_ca_file: Some(ca.clone()),
            handshake_timeout_ms: 2_000,
            client_identity: Default::default(),
        }),
        ..asw_downstream::ServerConfig::default()
    };
    let server = asw_downstream::Server::start(
        config,
        std::sync::Arc::new(asw_downstream::ApproveAllHandler::new()),
    )
    .await
    .unwrap();
    let addr = server.local_addr().to_string();
    let ca = ca.to_str().unwrap();
    let client_cert = client_cert.to_str().unwrap();
    let client_key = client_key.to_str().unwrap();
    let base = ["--connect", addr.as_str(), "--profile", "A", "--tls-ca", ca];

    let mut args = base.to_vec();
    args.extend(["--tls-cert", client_cert, "--tls-key", client_key, "echo"]);
    let (code, answer) = sim(&args).await;
    assert_eq!(code, 0, "{answer}");
    assert_eq!(answer["t"], "0810");
    // Without the client certificate the switch refuses the terminal: exit 2, no answer.
    let mut args = base.to_vec();
    args.push("echo");
    let (code, _) = sim(&args).await;
    assert_eq!(code, 2);
    // A key without its certificate is a usage error.
    let mut args = base.to_vec();
    args.extend(["--tls-key", client_key, "echo"]);
    let (code, _) = sim(&args).await;
    assert_eq!(code, 2);
    server.shutdown().await;
}
