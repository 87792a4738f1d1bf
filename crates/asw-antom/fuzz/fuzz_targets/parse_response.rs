//! Fuzzes response classification: the input is split into header values and a body; every
//! input must produce an Outcome (never a panic), and — since the fuzzer cannot forge RSA
//! signatures — never a Success or Failed.
#![no_main]

use asw_antom::{InquiryPaymentResponse, Outcome, PayResponse, Verifier, parse_response};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const ANTOM_PUBLIC: &str = include_str!("../../testdata/antom_public.pem");
const CLIENT: &str = "SANDBOX_5YTEST00000000000";
const PATH: &str = "/ams/api/v1/payments/pay";

fuzz_target!(|data: &[u8]| {
    let Ok(verifier) = Verifier::from_public_key(ANTOM_PUBLIC) else {
        return;
    };
    // Layout: status byte, then "signature \n response-time \n body".
    let (status, rest) = match data.split_first() {
        Some((s, rest)) => (if *s < 128 { 200 } else { 100 + u16::from(*s) }, rest),
        None => (200, data),
    };
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let signature = parts.next().unwrap_or_default();
    let time = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let mut builder = http::Response::builder().status(status);
    if let Ok(v) = http::HeaderValue::from_bytes(signature) {
        builder = builder.header("signature", v);
    }
    if let Ok(v) = http::HeaderValue::from_bytes(time) {
        builder = builder.header("response-time", v);
    }
    let Ok(response) = builder.body(Bytes::copy_from_slice(body)) else {
        return;
    };
    let pay: Outcome<PayResponse> = parse_response(&verifier, CLIENT, PATH, &response);
    assert!(matches!(pay, Outcome::Unknown(_)));
    let inquiry: Outcome<InquiryPaymentResponse> =
        parse_response(&verifier, CLIENT, PATH, &response);
    assert!(matches!(inquiry, Outcome::Unknown(_)));
});
