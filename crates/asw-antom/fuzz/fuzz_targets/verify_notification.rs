//! Fuzzes webhook verification: arbitrary headers and body must give a typed error (the
//! fuzzer cannot forge a signature), never a panic.
#![no_main]

use asw_antom::{Verifier, verify_notification};
use libfuzzer_sys::fuzz_target;

const ANTOM_PUBLIC: &str = include_str!("../../testdata/antom_public.pem");

fuzz_target!(|data: &[u8]| {
    let Ok(verifier) = Verifier::from_public_key(ANTOM_PUBLIC) else {
        return;
    };
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let client_id = parts.next().unwrap_or_default();
    let time = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("client-id", client_id),
        ("request-time", time),
        ("signature", signature),
    ] {
        if let Ok(v) = http::HeaderValue::from_bytes(value) {
            headers.insert(name, v);
        }
    }
    assert!(verify_notification(&verifier, "/antom/notify", &headers, body).is_err());
});
