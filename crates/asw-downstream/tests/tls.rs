//! The listener with TLS: certificates generated per test (rcgen), real sockets, a rustls
//! client speaking ISO 8583 frames through the tunnel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use asw_downstream::{ApproveAllHandler, Profile, Server, ServerConfig, ServerError, TlsConfig};
use asw_iso8583::{Dialect, Message, MessageBuilder, Mti, decode, encode_to_bytes};
use asw_testkit::TestPki;
use bytes::Bytes;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// A throwaway CA and its files (asw-testkit).
struct Pki(TestPki);

impl Pki {
    fn new() -> Pki {
        Pki(TestPki::new().unwrap())
    }
    fn write(&self, name: &str, contents: &str) -> PathBuf {
        self.0.write(name, contents).unwrap()
    }
    fn issue(&self, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        self.0.issue(stem, names).unwrap()
    }
    fn ca_file(&self) -> PathBuf {
        self.0.ca_file().unwrap()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn connector(trusted_ca: &PathBuf, client_cert: Option<(&PathBuf, &PathBuf)>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(trusted_ca).unwrap() {
        roots.add(ca.unwrap()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(cert)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap(),
    };
    TlsConnector::from(Arc::new(config))
}

fn tls_config(cert: PathBuf, key: PathBuf, client_ca: Option<PathBuf>) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        profile: Profile::Ascii,
        tpdu: false,
        shutdown_grace_ms: 2_000,
        tls: Some(TlsConfig {
            cert_file: cert,
            key_file: key,
            client_ca_file: client_ca,
            handshake_timeout_ms: 2_000,
            client_identity: Default::default(),
        }),
        ..ServerConfig::default()
    }
}

async fn start(config: ServerConfig) -> Server {
    Server::start(config, Arc::new(ApproveAllHandler::new()))
        .await
        .unwrap()
}

fn echo(dialect: &Dialect, stan: u32) -> Message {
    let mut b = MessageBuilder::new(dialect, Mti::NETWORK_REQUEST);
    b.set(7, "1121063015").unwrap();
    b.set_number(11, u64::from(stan)).unwrap();
    b.set(41, "T0000001").unwrap();
    b.set(42, "M00000000000001").unwrap();
    b.set(70, "301").unwrap();
    b.build()
}

/// Writes one framed message and reads one framed answer; `None` when the server closed
/// the connection (or reset it) instead of answering.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    dialect: &Dialect,
    message: &Message,
) -> Option<Message> {
    let payload = encode_to_bytes(dialect, message).unwrap();
    let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    stream.write_all(&frame).await.ok()?;
    stream.flush().await.ok()?;
    let mut header = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header))
        .await
        .expect("neither an answer nor a close within 5 s")
        .ok()?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
    stream.read_exact(&mut body).await.ok()?;
    Some(decode(dialect, Bytes::from(body)).unwrap())
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

#[tokio::test]
async fn a_terminal_speaks_iso8583_through_tls() {
    let pki = Pki::new();
    let (cert, key) = pki.issue("server", &["localhost"]);
    let server = start(tls_config(cert, key, None)).await;
    let dialect = Profile::Ascii.dialect().unwrap();
    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut tls = connector(&pki.ca_file(), None)
        .connect(localhost(), tcp)
        .await
        .unwrap();
    for stan in 1..=3 {
        let answer = exchange(&mut tls, &dialect, &echo(&dialect, stan))
            .await
            .expect("answered");
        assert_eq!(answer.mti(), Mti::NETWORK_RESPONSE);
        assert_eq!(answer.get_str(39), Some("00"));
        assert_eq!(answer.get_str(11), Some(format!("{stan:06}").as_str()));
    }
    drop(tls);
    server.shutdown().await;
}

#[tokio::test]
async fn plain_tcp_on_a_tls_listener_gets_no_answer() {
    let pki = Pki::new();
    let (cert, key) = pki.issue("server", &["localhost"]);
    let server = start(tls_config(cert, key, None)).await;
    let dialect = Profile::Ascii.dialect().unwrap();
    let mut plain = TcpStream::connect(server.local_addr()).await.unwrap();
    // The ISO frame is not a TLS ClientHello: the handshake fails and the socket closes
    // with at most a TLS alert record (content type 21), never an ISO answer.
    let payload = encode_to_bytes(&dialect, &echo(&dialect, 9)).unwrap();
    let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    plain.write_all(&frame).await.unwrap();
    let mut back = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut back))
        .await
        .expect("closed");
    assert!(back.is_empty() || back[0] == 0x15, "{back:02x?}");
    // The listener keeps serving TLS terminals.
    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut tls = connector(&pki.ca_file(), None)
        .connect(localhost(), tcp)
        .await
        .unwrap();
    assert!(
        exchange(&mut tls, &dialect, &echo(&dialect, 10))
            .await
            .is_some()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let pki = Pki::new();
    let (cert, key) = pki.issue("server", &["localhost"]);
    let server = start(tls_config(cert, key, None)).await;
    let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut byte))
        .await
        .expect("closed by the 2 s handshake timeout");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn mutual_tls_serves_only_terminals_with_a_certificate_from_the_client_ca() {
    let pki = Pki::new();
    let (cert, key) = pki.issue("server", &["localhost"]);
    // Named as the default `client_identity` mapping expects: "{terminal}.{merchant}".
    let (terminal_cert, terminal_key) = pki.issue("terminal", &["T0000001.M00000000000001"]);
    let stranger = Pki::new();
    let (stranger_cert, stranger_key) = stranger.issue("stranger", &["T0000002"]);
    let server = start(tls_config(cert, key, Some(pki.ca_file()))).await;
    let dialect = Profile::Ascii.dialect().unwrap();
    let ca = pki.ca_file();

    let cases = [
        ("no certificate", None, false),
        (
            "a certificate from another CA",
            Some((&stranger_cert, &stranger_key)),
            false,
        ),
        (
            "a certificate from the client CA",
            Some((&terminal_cert, &terminal_key)),
            true,
        ),
    ];
    for (what, client_cert, served) in cases {
        let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
        // With TLS 1.3 the client may finish its side before the server refuses: the
        // refusal then shows as no answer to the first message.
        let answer = match connector(&ca, client_cert).connect(localhost(), tcp).await {
            Ok(mut tls) => exchange(&mut tls, &dialect, &echo(&dialect, 20)).await,
            Err(_) => None,
        };
        assert_eq!(answer.is_some(), served, "{what}");
        if let Some(answer) = answer {
            assert_eq!(answer.get_str(39), Some("00"), "{what}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn unusable_tls_files_stop_the_start_and_name_the_setting() {
    let pki = Pki::new();
    let (cert, key) = pki.issue("server", &["localhost"]);
    let (_, other_key) = pki.issue("other", &["localhost"]);
    let missing = pki.0.dir().join("missing.crt");
    let empty = pki.write("empty.pem", "");

    let error = |config: ServerConfig| async move {
        match Server::start(config, Arc::new(ApproveAllHandler::new())).await {
            Err(ServerError::Tls(e)) => e.to_string(),
            Err(other) => panic!("not a TLS error: {other}"),
            Ok(_) => panic!("started with unusable TLS files"),
        }
    };
    let message = error(tls_config(missing.clone(), key.clone(), None)).await;
    assert!(
        message.contains("cert_file") && message.contains("missing.crt"),
        "{message}"
    );
    let message = error(tls_config(empty.clone(), key.clone(), None)).await;
    assert!(message.contains("no CERTIFICATE"), "{message}");
    let message = error(tls_config(cert.clone(), empty.clone(), None)).await;
    assert!(message.contains("key_file"), "{message}");
    let message = error(tls_config(cert.clone(), other_key, None)).await;
    assert!(
        message.contains("rejected"),
        "the key does not match: {message}"
    );
    let message = error(tls_config(cert, key, Some(empty))).await;
    assert!(message.contains("client_ca_file"), "{message}");
}
