//! Terminals over TLS end to end: the switch's listener configured with `[downstream.tls]`
//! (certificates generated per test, client certificates required), terminal-sim's TLS link,
//! and antom-sim's ledger.

use std::time::Duration;

use asw_downstream::TlsConfig;
use asw_e2e::{Harness, MID, SGD, TID, code};
use asw_iso8583::tlv::{PrivateData, Tag};
use asw_terminal_sim::{Clock, LinkConfig, MessageFactory, ProfileName, Terminal, TlsLink};
use asw_testkit::TestPki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_over_mutual_tls_is_paid_and_plain_tcp_gets_nothing() {
    let pki = TestPki::new().expect("test pki");
    let (cert, key) = pki.issue("switch", &["localhost"]).expect("server cert");
    // Named as the default `client_identity` mapping expects: "{terminal}.{merchant}".
    let terminal_name = format!("{TID}.{MID}");
    let (terminal_cert, terminal_key) = pki
        .issue("terminal", &[terminal_name.as_str()])
        .expect("client cert");
    let ca = pki.ca_file().expect("ca file");
    let client_ca = ca.clone();
    let h = Harness::start_with(|config, _| {
        config.downstream.tls = Some(TlsConfig {
            cert_file: cert,
            key_file: key,
            client_ca_file: Some(client_ca),
            handshake_timeout_ms: 2_000,
            client_identity: Default::default(),
        });
    })
    .await;

    let mut link = LinkConfig::for_profile(ProfileName::PosBinary).expect("link");
    link.tls = Some(
        TlsLink::from_files(&ca, "localhost", Some((&terminal_cert, &terminal_key)))
            .expect("tls link"),
    );
    let terminal = Terminal::connect(h.downstream(), link.clone())
        .await
        .expect("tls connect");
    let factory = MessageFactory::new(&link.dialect, MID, TID);
    let purchase = factory
        .purchase(&Clock::local().stamp(301), 4200, SGD, &code("00"))
        .expect("purchase");
    let answer = terminal
        .request(&purchase, Duration::from_secs(10))
        .await
        .expect("answer over tls");
    assert_eq!(answer.get_str(39), Some("00"));
    let prid = answer
        .get(48)
        .and_then(|v| PrivateData::parse(v).ok())
        .and_then(|d| d.get(Tag::PaymentRequestId).map(str::to_owned))
        .expect("PR in F48");
    assert_eq!(h.payment(&prid).expect("payment").status, "SUCCESS");

    // The same bytes in the clear: no TLS handshake, so no ISO answer and nothing sent to
    // Antom; the socket is closed.
    let mut plain = tokio::net::TcpStream::connect(h.downstream())
        .await
        .expect("tcp connect");
    let again = factory
        .purchase(&Clock::local().stamp(302), 4300, SGD, &code("00"))
        .expect("purchase");
    let body = asw_iso8583::encode_to_bytes(&link.dialect, &again).expect("encode");
    let mut frame = ((body.len() + 5) as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&[0x60, 0x00, 0x01, 0x00, 0x00]);
    frame.extend_from_slice(&body);
    let _ = plain.write_all(&frame).await;
    let mut back = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut back))
        .await
        .expect("closed within the handshake timeout");
    // At most a TLS alert record (content type 21), never an ISO answer.
    assert!(back.is_empty() || back[0] == 0x15, "{back:02x?}");
    assert!(
        h.sim.payments().iter().all(|p| p.amount != "4300"),
        "a cleartext purchase reached Antom"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_claiming_another_terminal_over_mutual_tls_gets_63_and_reaches_nobody() {
    const OTHER_TID: &str = "T0000002";
    let pki = TestPki::new().expect("test pki");
    let (cert, key) = pki.issue("switch", &["localhost"]).expect("server cert");
    let terminal_name = format!("{TID}.{MID}");
    let (terminal_cert, terminal_key) = pki
        .issue("terminal", &[terminal_name.as_str()])
        .expect("client cert");
    let ca = pki.ca_file().expect("ca file");
    let client_ca = ca.clone();
    let h = Harness::start_with(|config, _| {
        config.downstream.tls = Some(TlsConfig {
            cert_file: cert,
            key_file: key,
            client_ca_file: Some(client_ca),
            handshake_timeout_ms: 2_000,
            client_identity: Default::default(),
        });
        // The claimed terminal exists and is enabled: only the certificate stands in the way.
        let terminals = &mut config.merchants[0].terminals;
        if !terminals.iter().any(|t| t.terminal_id == OTHER_TID) {
            let mut other = terminals[0].clone();
            other.terminal_id = OTHER_TID.into();
            terminals.push(other);
        }
    })
    .await;

    let mut link = LinkConfig::for_profile(ProfileName::PosBinary).expect("link");
    link.tls = Some(
        TlsLink::from_files(&ca, "localhost", Some((&terminal_cert, &terminal_key)))
            .expect("tls link"),
    );
    let terminal = Terminal::connect(h.downstream(), link.clone())
        .await
        .expect("tls connect");
    let impostor = MessageFactory::new(&link.dialect, MID, OTHER_TID);
    let purchase = impostor
        .purchase(&Clock::local().stamp(401), 4400, SGD, &code("00"))
        .expect("purchase");
    let answer = terminal
        .request(&purchase, Duration::from_secs(10))
        .await
        .expect("answer over tls");
    assert_eq!(answer.get_str(39), Some("63"));
    assert_eq!(answer.get_str(41).map(str::trim_end), Some(OTHER_TID));
    assert_eq!(answer.get_str(11), Some("000401"));
    assert!(h.sim.calls().is_empty(), "the impostor reached Antom");

    // The certificate's own terminal goes on, on the same connection.
    let own = MessageFactory::new(&link.dialect, MID, TID);
    let purchase = own
        .purchase(&Clock::local().stamp(402), 4500, SGD, &code("00"))
        .expect("purchase");
    let answer = terminal
        .request(&purchase, Duration::from_secs(10))
        .await
        .expect("answer over tls");
    assert_eq!(answer.get_str(39), Some("00"));
    assert!(h.sim.payments().iter().all(|p| p.amount != "4400"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_api_over_tls_pays_and_plain_http_gets_nothing() {
    let pki = TestPki::new().expect("test pki");
    let (cert, key) = pki.issue("rest", &["localhost"]).expect("server cert");
    let ca = pki.ca_file().expect("ca file");
    let h = Harness::start_with(|config, _| {
        if let Some(rest) = config.rest.as_mut() {
            rest.tls = Some(asw_app::config::RestTlsConfig {
                cert_file: cert,
                key_file: key,
                handshake_timeout_ms: 2_000,
            });
        }
    })
    .await;
    let root =
        reqwest::Certificate::from_pem(&std::fs::read(&ca).expect("ca")).expect("ca certificate");
    let https = reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .expect("client");
    let port = h.rest().port();
    let body = format!(
        r#"{{"order_id":"tls-1","amount":{{"currency":"SGD","value":4300}},"method":{{"type":"payment_code","code":"{}"}}}}"#,
        code("00")
    );
    let answer = https
        .post(format!("https://localhost:{port}/v1/payments"))
        .bearer_auth(asw_e2e::REST_SECRET)
        .header("idempotency-key", "tls-1")
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("an answer over TLS");
    assert_eq!(answer.status().as_u16(), 201);
    let payment: serde_json::Value =
        serde_json::from_slice(&answer.bytes().await.expect("body")).expect("json");
    assert_eq!(payment["status"], "succeeded");
    let prid = payment["antom"]["payment_request_id"]
        .as_str()
        .expect("prid");
    assert_eq!(h.payment(prid).expect("at Antom").status, "SUCCESS");

    // Plain HTTP to the TLS port: no HTTP answer, nothing at Antom.
    let plain = reqwest::Client::new()
        .post(format!("http://localhost:{port}/v1/payments"))
        .bearer_auth(asw_e2e::REST_SECRET)
        .header("idempotency-key", "tls-2")
        .header("content-type", "application/json")
        .body(body.replace("tls-1", "tls-2"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    assert_eq!(h.sim.payments().len(), 1);
}
