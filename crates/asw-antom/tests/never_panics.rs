//! Whatever bytes and headers arrive, parsing returns a value: no panic, and nothing but a
//! correctly signed answer is ever Success or Failed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use asw_antom::signature::SignatureHeader;
use asw_antom::{
    InquiryPaymentResponse, Outcome, PayResponse, Signer, Verifier, parse_response,
    verify_notification,
};
use bytes::Bytes;
use proptest::prelude::*;

const ANTOM_PRIVATE: &str = include_str!("../testdata/antom_private_pkcs8.b64");
const ANTOM_PUBLIC: &str = include_str!("../testdata/antom_public.pem");
const CLIENT: &str = "SANDBOX_5YTEST00000000000";
const PATH: &str = "/ams/api/v1/payments/pay";

fn response(status: u16, headers: &[(&str, String)], body: Vec<u8>) -> http::Response<Bytes> {
    let mut b = http::Response::builder().status(status);
    for (name, value) in headers {
        if let Ok(v) = http::HeaderValue::from_bytes(value.as_bytes()) {
            b = b.header(*name, v);
        }
    }
    b.body(Bytes::from(body)).unwrap()
}

/// JSON-ish bodies are more interesting than uniform noise.
fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        "\\{\"result\":\\{\"resultCode\":\"[A-Z_]{0,12}\",\"resultStatus\":\"[SFUX]\"\\}(,\"paymentStatus\":\"[A-Z]{0,10}\")?\\}"
            .prop_map(String::into_bytes),
        any::<String>().prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_unsigned_answers_are_unknown(
        status in prop_oneof![Just(200u16), 100u16..600],
        body in body_strategy(),
        sig in any::<String>(),
        time in any::<String>(),
        with_sig in any::<bool>(),
    ) {
        let verifier = Verifier::from_public_key(ANTOM_PUBLIC).unwrap();
        let mut headers = vec![("response-time", time), ("client-id", CLIENT.to_owned())];
        if with_sig {
            headers.push(("signature", sig));
        }
        let r = response(status, &headers, body);
        let pay: Outcome<PayResponse> = parse_response(&verifier, CLIENT, PATH, &r);
        prop_assert!(matches!(pay, Outcome::Unknown(_)));
        let inq: Outcome<InquiryPaymentResponse> = parse_response(&verifier, CLIENT, PATH, &r);
        prop_assert!(matches!(inq, Outcome::Unknown(_)));
        prop_assert!(verify_notification(&verifier, PATH, r.headers(), r.body()).is_err());
    }

    #[test]
    fn arbitrary_signed_bodies_never_panic(body in body_strategy()) {
        let signer = Signer::from_private_key(ANTOM_PRIVATE, 1).unwrap();
        let verifier = Verifier::from_public_key(ANTOM_PUBLIC).unwrap();
        let t = "2023-11-14T06:13:21-08:00";
        let sig = signer.signature_header(PATH, CLIENT, t, &body).unwrap();
        let r = response(200, &[("response-time", t.to_owned()), ("signature", sig), ("client-id", CLIENT.to_owned())], body);
        let _: Outcome<PayResponse> = parse_response(&verifier, CLIENT, PATH, &r);
        let _: Outcome<InquiryPaymentResponse> = parse_response(&verifier, CLIENT, PATH, &r);
    }

    #[test]
    fn signature_header_parsing_never_panics(value in any::<String>()) {
        let _ = SignatureHeader::parse(&value);
    }
}
