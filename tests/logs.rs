//! Runs the end-to-end flows with every log line captured at TRACE and checks that no payment
//! code, key or signature appears in clear anywhere (switch, adapters, simulator, HTTP stack).

// Test helpers: a failed set-up step must stop the test with a clear message.
#![allow(clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_e2e::pos::Pos;
use asw_e2e::{Harness, code};
use asw_iso8583::Mti;
use asw_terminal_sim::Answer;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn key_body_lines(name: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/keys")
        .join(name);
    std::fs::read_to_string(path)
        .expect("key")
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_payment_code_key_or_signature_in_trace_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let h = Harness::start().await;
    let t = Pos::connect(h.downstream()).await;
    let codes: Vec<String> = ["00", "10", "30", "32", "40", "50"]
        .iter()
        .map(|s| code(s))
        .collect();
    let mut approved = None;
    for (i, c) in codes.iter().enumerate() {
        let (response, sent) = t.purchase(300 + i as u32, 1000 + i as u64, c).await;
        if response.response_code() == "00" && approved.is_none() {
            approved = Some((response, sent));
        }
    }
    let (response, sent) = approved.expect("an approval");
    let prid = response.payment_request_id().expect("PR");
    t.request(&t.reversal_message(&sent, Mti::REVERSAL_ADVICE))
        .await;
    t.request(&t.status_message(399, prid)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let logs = String::from_utf8_lossy(&capture.0.lock().expect("capture lock")).to_string();
    assert!(
        logs.len() > 1_000,
        "the capture saw the flows ({} bytes)",
        logs.len()
    );
    for c in &codes {
        assert!(
            !logs.contains(c.as_str()),
            "payment code {c} appears in clear in the logs"
        );
        // The switch's own masking keeps 4 + 4 digits; nothing longer may leak either.
        assert!(
            !logs.contains(&c[..12]),
            "a long prefix of {c} appears in the logs"
        );
    }
    for name in ["merchant_private_pkcs8.pem", "antom_private_pkcs8.pem"] {
        for line in key_body_lines(name) {
            assert!(
                !logs.contains(&line),
                "private key material of {name} in the logs"
            );
        }
    }
    assert!(
        !logs.contains("signature=algorithm"),
        "a signature header value in the logs"
    );
    assert!(
        !logs.contains("algorithm=RSA256,keyVersion"),
        "a signature header value in the logs"
    );
}
