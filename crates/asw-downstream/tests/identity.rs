//! Who may speak for which terminal, on real sockets: the client certificate names the
//! terminal, a connection stays with its first terminal, concentrators carry what they
//! declare, merchants' source networks are enforced. Refusals are answered 63 and never
//! reach the handler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use asw_downstream::{
    ApproveAllHandler, CarriedTerminal, ClientIdentity, ConcentratorConfig, NameSource, Profile,
    RequestHandler, Responder, Server, ServerConfig, TlsConfig,
};
use asw_iso8583::{Dialect, Message, MessageBuilder, Mti, decode, encode_to_bytes};
use asw_testkit::{Subject, TestPki};
use async_trait::async_trait;
use bytes::Bytes;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

const M1: &str = "M00000000000001";
const M2: &str = "M00000000000002";

/// Approves every request and counts how many it was handed.
#[derive(Default)]
struct Counting {
    handled: AtomicUsize,
}

#[async_trait]
impl RequestHandler for Counting {
    async fn handle(&self, request: Message, responder: Responder) {
        self.handled.fetch_add(1, Ordering::SeqCst);
        let answer = ApproveAllHandler::new()
            .answer(responder.dialect(), &request)
            .unwrap();
        let _ = responder.send(answer).await;
    }
}

fn plain_config() -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        profile: Profile::Ascii,
        tpdu: false,
        shutdown_grace_ms: 2_000,
        ..ServerConfig::default()
    }
}

struct Switch {
    server: Server,
    handler: Arc<Counting>,
    dialect: Dialect,
}

impl Switch {
    async fn start(config: ServerConfig, networks: &[(&str, &str)]) -> Switch {
        let handler = Arc::new(Counting::default());
        let networks: BTreeMap<String, Vec<String>> = networks
            .iter()
            .map(|(m, n)| (m.to_string(), vec![n.to_string()]))
            .collect();
        let dialect = Profile::Ascii.dialect().unwrap();
        let server = Server::start_with_identity(
            config,
            dialect.clone(),
            Arc::clone(&handler) as Arc<dyn RequestHandler>,
            &networks,
        )
        .await
        .unwrap();
        Switch {
            server,
            handler,
            dialect,
        }
    }

    fn handled(&self) -> usize {
        self.handler.handled.load(Ordering::SeqCst)
    }

    async fn plain(&self) -> TcpStream {
        TcpStream::connect(self.server.local_addr()).await.unwrap()
    }

    /// The answer code (F39) of a purchase claiming `mid`/`tid` on `stream`.
    async fn purchase<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        mid: &str,
        tid: &str,
        stan: u32,
    ) -> String {
        let answer = exchange(
            stream,
            &self.dialect,
            &purchase(&self.dialect, mid, tid, stan),
        )
        .await;
        assert_eq!(answer.mti(), Mti::FINANCIAL_RESPONSE);
        assert_eq!(answer.get_str(11), Some(format!("{stan:06}").as_str()));
        assert_eq!(answer.get_str(41), Some(tid), "F41 is echoed");
        answer.get_str(39).unwrap().to_owned()
    }

    /// The answer code of a sign-on (0800 001) claiming `mid`/`tid`.
    async fn sign_on<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        mid: &str,
        tid: &str,
        stan: u32,
    ) -> String {
        let answer = exchange(
            stream,
            &self.dialect,
            &sign_on(&self.dialect, mid, tid, stan),
        )
        .await;
        assert_eq!(answer.mti(), Mti::NETWORK_RESPONSE);
        assert_eq!(answer.get_str(41), Some(tid), "F41 is echoed");
        answer.get_str(39).unwrap().to_owned()
    }
}

fn purchase(dialect: &Dialect, mid: &str, tid: &str, stan: u32) -> Message {
    let mut b = MessageBuilder::new(dialect, Mti::FINANCIAL_REQUEST);
    b.set(3, "000000").unwrap();
    b.set_number(4, 1250).unwrap();
    b.set_number(11, u64::from(stan)).unwrap();
    b.set(12, "143015").unwrap();
    b.set(13, "1121").unwrap();
    b.set(22, "032").unwrap();
    b.set(25, "00").unwrap();
    b.set_padded(41, tid).unwrap();
    b.set_padded(42, mid).unwrap();
    b.set(48, "PC018281234567890123456").unwrap();
    b.set(49, "344").unwrap();
    b.build()
}

fn sign_on(dialect: &Dialect, mid: &str, tid: &str, stan: u32) -> Message {
    let mut b = MessageBuilder::new(dialect, Mti::NETWORK_REQUEST);
    b.set(7, "1121063015").unwrap();
    b.set_number(11, u64::from(stan)).unwrap();
    b.set_padded(41, tid).unwrap();
    b.set_padded(42, mid).unwrap();
    b.set(70, "001").unwrap();
    b.build()
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    dialect: &Dialect,
    message: &Message,
) -> Message {
    let payload = encode_to_bytes(dialect, message).unwrap();
    let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    stream.write_all(&frame).await.unwrap();
    stream.flush().await.unwrap();
    let mut header = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header))
        .await
        .expect("an answer within 5 s")
        .expect("an answer, not a close");
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
    stream.read_exact(&mut body).await.unwrap();
    decode(dialect, Bytes::from(body)).unwrap()
}

/// A CA, the server's certificate, and terminal certificates issued on demand.
struct Pki {
    pki: TestPki,
    server: (PathBuf, PathBuf),
}

impl Pki {
    fn new() -> Pki {
        let pki = TestPki::new().unwrap();
        let server = pki.issue("server", &["localhost"]).unwrap();
        Pki { pki, server }
    }

    fn config(&self, identity: ClientIdentity) -> ServerConfig {
        ServerConfig {
            tls: Some(TlsConfig {
                cert_file: self.server.0.clone(),
                key_file: self.server.1.clone(),
                client_ca_file: Some(self.pki.ca_file().unwrap()),
                handshake_timeout_ms: 2_000,
                client_identity: identity,
            }),
            ..plain_config()
        }
    }

    /// A TLS connection presenting a certificate with `subject`.
    async fn connect(
        &self,
        switch: &Switch,
        stem: &str,
        subject: Subject<'_>,
    ) -> TlsStream<TcpStream> {
        let (cert, key) = self.pki.issue_subject(stem, &subject).unwrap();
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(self.pki.ca_file().unwrap()).unwrap() {
            roots.add(ca.unwrap()).unwrap();
        }
        let config = ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            CertificateDer::pem_file_iter(cert)
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            PrivateKeyDer::from_pem_file(key).unwrap(),
        )
        .unwrap();
        TlsConnector::from(Arc::new(config))
            .connect(
                ServerName::try_from("localhost").unwrap(),
                switch.plain().await,
            )
            .await
            .unwrap()
    }
}

fn dns<'a>(names: &'a [&'a str]) -> Subject<'a> {
    Subject {
        dns_names: names,
        ..Subject::default()
    }
}

#[tokio::test]
async fn a_certificate_speaks_only_for_the_terminal_it_names() {
    let pki = Pki::new();
    let switch = Switch::start(pki.config(ClientIdentity::default()), &[]).await;
    // The default mapping: SAN dNSName "{terminal}.{merchant}".
    let mut tls = pki
        .connect(&switch, "t1", dns(&["T0000001.M00000000000001"]))
        .await;
    assert_eq!(switch.purchase(&mut tls, M1, "T0000002", 1).await, "63");
    assert_eq!(switch.purchase(&mut tls, M2, "T0000001", 2).await, "63");
    assert_eq!(switch.sign_on(&mut tls, M1, "T0000002", 3).await, "63");
    assert_eq!(switch.handled(), 0, "a refused message reached the handler");
    // Its own terminal passes, even after the refusals.
    assert_eq!(switch.sign_on(&mut tls, M1, "T0000001", 4).await, "00");
    assert_eq!(switch.purchase(&mut tls, M1, "T0000001", 5).await, "00");
    assert_eq!(switch.handled(), 1);
    // A certificate of the CA with the right name in the wrong place is no binding.
    let mut cn_only = pki
        .connect(
            &switch,
            "cn",
            Subject {
                common_name: Some("T0000001.M00000000000001"),
                ..Subject::default()
            },
        )
        .await;
    assert_eq!(switch.purchase(&mut cn_only, M1, "T0000001", 6).await, "63");
    assert_eq!(switch.handled(), 1);
    switch.server.shutdown().await;
}

#[tokio::test]
async fn the_certificate_mapping_is_configurable() {
    let pki = Pki::new();
    let identity = ClientIdentity {
        from: NameSource::SanUri,
        template: "urn:pos:{merchant}:{terminal}".into(),
    };
    let switch = Switch::start(pki.config(identity), &[]).await;
    let mut tls = pki
        .connect(
            &switch,
            "uri",
            Subject {
                uris: &["urn:pos:M00000000000001:T0000003"],
                ..Subject::default()
            },
        )
        .await;
    assert_eq!(switch.purchase(&mut tls, M1, "T0000001", 1).await, "63");
    assert_eq!(switch.purchase(&mut tls, M1, "T0000003", 2).await, "00");
    assert_eq!(switch.handled(), 1);
    switch.server.shutdown().await;
}

#[tokio::test]
async fn a_plain_connection_keeps_its_first_terminal() {
    let switch = Switch::start(plain_config(), &[]).await;
    let mut first = switch.plain().await;
    assert_eq!(switch.sign_on(&mut first, M1, "T0000001", 1).await, "00");
    assert_eq!(switch.purchase(&mut first, M1, "T0000001", 2).await, "00");
    // Another terminal, or the same terminal id of another merchant, on the same connection.
    assert_eq!(switch.purchase(&mut first, M1, "T0000002", 3).await, "63");
    assert_eq!(switch.purchase(&mut first, M2, "T0000001", 4).await, "63");
    assert_eq!(switch.sign_on(&mut first, M1, "T0000002", 5).await, "63");
    assert_eq!(switch.handled(), 1, "a refused message reached the handler");
    // The first terminal goes on; the second gets its own connection.
    assert_eq!(switch.purchase(&mut first, M1, "T0000001", 6).await, "00");
    let mut second = switch.plain().await;
    assert_eq!(switch.purchase(&mut second, M1, "T0000002", 7).await, "00");
    assert_eq!(switch.handled(), 3);
    switch.server.shutdown().await;
}

fn hub(networks: &[&str], certificate_name: Option<&str>) -> ConcentratorConfig {
    ConcentratorConfig {
        name: "ecr-hub".into(),
        networks: networks.iter().map(|n| n.to_string()).collect(),
        certificate_name: certificate_name.map(str::to_owned),
        terminals: vec![
            CarriedTerminal {
                merchant: M1.into(),
                terminal: "T0000001".into(),
            },
            CarriedTerminal {
                merchant: M1.into(),
                terminal: "T0000002".into(),
            },
        ],
        merchants: vec![M2.into()],
    }
}

#[tokio::test]
async fn a_concentrator_carries_its_declared_terminals_and_no_other() {
    let switch = Switch::start(
        ServerConfig {
            concentrators: vec![hub(&["127.0.0.1/32"], None)],
            ..plain_config()
        },
        &[],
    )
    .await;
    let mut hub = switch.plain().await;
    assert_eq!(switch.sign_on(&mut hub, M1, "T0000001", 1).await, "00");
    assert_eq!(switch.purchase(&mut hub, M1, "T0000001", 2).await, "00");
    assert_eq!(switch.purchase(&mut hub, M1, "T0000002", 3).await, "00");
    // Every terminal of a declared merchant.
    assert_eq!(switch.purchase(&mut hub, M2, "T0000042", 4).await, "00");
    assert_eq!(switch.handled(), 3);
    // Not declared.
    assert_eq!(switch.purchase(&mut hub, M1, "T0000003", 5).await, "63");
    assert_eq!(
        switch
            .sign_on(&mut hub, "M00000000000003", "T0000001", 6)
            .await,
        "63"
    );
    assert_eq!(switch.handled(), 3);
    switch.server.shutdown().await;
}

#[tokio::test]
async fn a_concentrator_over_mutual_tls_is_known_by_its_certificate() {
    let pki = Pki::new();
    let mut config = pki.config(ClientIdentity::default());
    config.concentrators = vec![hub(&[], Some("ecr-hub.store.example"))];
    let switch = Switch::start(config, &[]).await;
    let mut hub = pki
        .connect(&switch, "hub", dns(&["ecr-hub.store.example"]))
        .await;
    assert_eq!(switch.purchase(&mut hub, M1, "T0000001", 1).await, "00");
    assert_eq!(switch.purchase(&mut hub, M1, "T0000002", 2).await, "00");
    assert_eq!(switch.purchase(&mut hub, M1, "T0000003", 3).await, "63");
    // A terminal certificate is no concentrator.
    let mut terminal = pki
        .connect(&switch, "t1", dns(&["T0000001.M00000000000001"]))
        .await;
    assert_eq!(
        switch.purchase(&mut terminal, M1, "T0000001", 4).await,
        "00"
    );
    assert_eq!(
        switch.purchase(&mut terminal, M1, "T0000002", 5).await,
        "63"
    );
    assert_eq!(switch.handled(), 3);
    switch.server.shutdown().await;
}

#[tokio::test]
async fn a_source_outside_the_merchants_networks_is_refused() {
    let switch = Switch::start(plain_config(), &[(M1, "10.0.0.0/8"), (M2, "127.0.0.0/8")]).await;
    let mut stream = switch.plain().await;
    assert_eq!(switch.sign_on(&mut stream, M1, "T0000001", 1).await, "63");
    assert_eq!(switch.purchase(&mut stream, M1, "T0000001", 2).await, "63");
    assert_eq!(switch.handled(), 0);
    // A refused claim binds nothing: a merchant whose networks include loopback may use it.
    assert_eq!(switch.purchase(&mut stream, M2, "T0000001", 3).await, "00");
    assert_eq!(switch.handled(), 1);
    switch.server.shutdown().await;
}
