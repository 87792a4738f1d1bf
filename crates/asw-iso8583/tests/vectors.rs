//! Golden vectors (testdata/vectors.json, with their sources and licences): every
//! vector decodes to the listed fields, and encoding those fields gives the bytes back
//! exactly. Negative vectors (testdata/negative.json) give their typed errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::PathBuf;

use asw_iso8583::codec::Part;
use asw_iso8583::json::{from_json, to_json};
use asw_iso8583::{
    DecodeError, Dialect, Frame, FrameCodec, FrameError, Message, Tpdu, decode, encode_to_bytes,
};
use bytes::{Bytes, BytesMut};
use serde_json::Value;
use tokio_util::codec::{Decoder, Encoder};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn load_dialect(name: &str) -> Dialect {
    match name {
        "ascii" => Dialect::ascii().unwrap(),
        "pos-binary" => Dialect::pos_binary().unwrap(),
        path => Dialect::from_toml(&std::fs::read_to_string(testdata(path)).unwrap()).unwrap(),
    }
}

fn vectors() -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(testdata("vectors.json")).unwrap()).unwrap()
}

/// Splits a framed vector into TPDU and message bytes with the default POS codec.
fn unframe(wire: &[u8]) -> (Tpdu, Bytes) {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(wire);
    match codec.decode(&mut buf).unwrap() {
        Some(Frame::Message {
            tpdu: Some(tpdu),
            payload,
        }) => {
            assert!(buf.is_empty());
            (tpdu, payload)
        }
        other => panic!("expected a framed message, got {other:?}"),
    }
}

#[test]
fn every_vector_decodes_and_reencodes_exactly() {
    let all = vectors();
    assert_eq!(
        all.len(),
        12,
        "V1-V5, V7, V10-V13 and the two dialect examples"
    );
    for v in all {
        let id = v["id"].as_str().unwrap();
        let dialect = load_dialect(v["dialect"].as_str().unwrap());
        let wire = hex::decode(v["hex"].as_str().unwrap()).unwrap();
        let (tpdu, payload) = if v["framed"].as_bool().unwrap() {
            let (tpdu, payload) = unframe(&wire);
            (Some(tpdu), payload)
        } else {
            (None, Bytes::from(wire.clone()))
        };
        if let Some(expected) = v["tpdu"].as_str() {
            assert_eq!(
                hex::encode_upper(tpdu.unwrap().as_bytes()),
                expected,
                "{id}"
            );
        }

        let message = decode(&dialect, payload.clone()).unwrap_or_else(|e| panic!("{id}: {e}"));
        let decoded = to_json(&dialect, &message);
        assert_eq!(decoded, v["fields"], "{id}: decoded fields differ");

        let rebuilt: Message = from_json(&dialect, &v["fields"]).unwrap();
        assert_eq!(rebuilt, message, "{id}");
        let encoded = encode_to_bytes(&dialect, &rebuilt).unwrap();
        assert_eq!(
            hex::encode_upper(&encoded),
            hex::encode_upper(&payload),
            "{id}: encoding differs"
        );
        if let Some(tpdu) = tpdu {
            let mut out = BytesMut::new();
            FrameCodec::default()
                .encode(
                    Frame::Message {
                        tpdu: Some(tpdu),
                        payload: encoded,
                    },
                    &mut out,
                )
                .unwrap();
            assert_eq!(&out[..], &wire[..], "{id}: frame differs");
        }
    }
}

#[test]
fn dialect_examples_use_the_default_profile() {
    for v in vectors() {
        let id = v["id"].as_str().unwrap();
        if id.starts_with('D') {
            assert_eq!(v["dialect"], "pos-binary", "{id}");
        }
    }
}

#[test]
fn decoded_values_share_the_input_buffer() {
    let v = &vectors()[0];
    let wire = Bytes::from(hex::decode(v["hex"].as_str().unwrap()).unwrap());
    let message = decode(&Dialect::ascii().unwrap(), wire.clone()).unwrap();
    let f3 = message.get(3).unwrap();
    let range = wire.as_ptr() as usize..wire.as_ptr() as usize + wire.len();
    assert!(
        range.contains(&(f3.as_ptr() as usize)),
        "field 3 was copied"
    );
}

#[test]
fn negative_vectors_give_typed_errors() {
    let ascii = Dialect::ascii().unwrap();
    let all: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(testdata("negative.json")).unwrap()).unwrap();
    assert_eq!(all.len(), 8);
    for v in all {
        let id = v["id"].as_str().unwrap();
        if id == "N8" {
            let mut codec = FrameCodec::default();
            let mut buf = BytesMut::from(&hex::decode(v["hex"].as_str().unwrap()).unwrap()[..]);
            let err = codec.decode(&mut buf).unwrap_err();
            assert!(
                matches!(
                    err,
                    FrameError::TooLarge {
                        length: 65535,
                        max: 4096
                    }
                ),
                "{id}: {err}"
            );
            continue;
        }
        let bytes = Bytes::from(v["ascii"].as_str().unwrap().to_owned());
        let err = decode(&ascii, bytes).unwrap_err();
        let ok = match id {
            "N1" => matches!(
                err,
                DecodeError::Truncated {
                    part: Part::Field(2),
                    needed: 10,
                    available: 7,
                    ..
                }
            ),
            "N2" => matches!(
                err,
                DecodeError::BadBitmap {
                    part: Part::PrimaryBitmap,
                    ..
                }
            ),
            "N3" => matches!(err, DecodeError::TrailingBytes { count: 2, .. }),
            "N4" => matches!(
                err,
                DecodeError::LengthAboveMax {
                    field: 2,
                    length: 20,
                    max: 19,
                    ..
                }
            ),
            "N5" => matches!(
                err,
                DecodeError::Truncated {
                    part: Part::SecondaryBitmap,
                    ..
                }
            ),
            "N6" => matches!(err, DecodeError::BadLength { field: 2, .. }),
            "N7" => matches!(err, DecodeError::Field65NotAllowed),
            other => panic!("unknown vector {other}"),
        };
        assert!(ok, "{id}: unexpected error {err:?}");
        // Errors carry the field number where there is one, for the response code 30.
        if matches!(id, "N1" | "N4" | "N6") {
            assert_eq!(err.field(), Some(2), "{id}");
        }
    }
}
