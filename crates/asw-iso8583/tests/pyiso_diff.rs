//! Differential test against pyiso8583 4.0.1: seeded random messages in both built-in
//! profiles are encoded by us and decoded by pyiso8583, and encoded by pyiso8583 and
//! decoded by us; values and bytes must agree.
//!
//! Python comes from `ASW_PYTHON`, else `<workspace>/target/pyenv/bin/python` (made by
//! `scripts/ensure-deps.sh`). Without pyiso8583 the test fails, it does not skip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use asw_iso8583::dialect::{DataEncoding, LengthKind, Pad, PrefixEncoding};
use asw_iso8583::dialect::{FieldSpec, Format};
use asw_iso8583::json::to_json;
use asw_iso8583::{Dialect, Message, Mti, decode, encode_to_bytes};
use bytes::Bytes;
use serde_json::{Map, Value, json};

fn python() -> PathBuf {
    let path = match std::env::var_os("ASW_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python"),
    };
    let ok = Command::new(&path)
        .args([
            "-c",
            "import iso8583; assert iso8583.__version__ == '4.0.1'",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "pyiso8583 4.0.1 is not available at {} (set ASW_PYTHON or run scripts/ensure-deps.sh)",
        path.display()
    );
    path
}

/// SplitMix64: a tiny seeded generator so failures reproduce exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_value(rng: &mut Rng, spec: &FieldSpec) -> Vec<u8> {
    let len = match spec.length {
        LengthKind::Fixed => usize::from(spec.max),
        _ => rng.below(u64::from(spec.max.min(40)) + 1) as usize,
    };
    (0..len)
        .map(|i| {
            let r = rng.below(256) as u8;
            match spec.format {
                Format::N => b'0' + r % 10,
                Format::An => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "[usize::from(r) % 37],
                Format::Ans => 0x20 + r % 95,
                Format::B => r,
                Format::Z => b"0123456789="[usize::from(r) % 11],
                Format::Xn if i == 0 => b"CD"[usize::from(r) % 2],
                Format::Xn => b'0' + r % 10,
            }
        })
        .collect()
}

fn random_message(rng: &mut Rng, dialect: &Dialect) -> Message {
    const MTIS: [&str; 8] = [
        "0100", "0110", "0200", "0210", "0420", "0430", "0800", "0810",
    ];
    let mti = Mti::new(MTIS[rng.below(8) as usize]).unwrap();
    let mut m = Message::new(mti);
    let count = rng.below(20);
    for _ in 0..count {
        let n = if rng.below(4) == 0 {
            66 + rng.below(63) as u8
        } else {
            2 + rng.below(63) as u8
        };
        let spec = *dialect.field(n).unwrap();
        m.set(dialect, n, random_value(rng, &spec)).unwrap();
    }
    m
}

fn describe(dialect: &Dialect) -> Value {
    let mut fields = Map::new();
    for n in 2..=128u8 {
        let Some(f) = dialect.field(n) else { continue };
        fields.insert(
            n.to_string(),
            json!({
                "format": f.format.name(),
                "digits": f.length.digits(),
                "prefix_len": f.prefix_len(),
                "max": f.max,
                "encoding": match f.encoding {
                    DataEncoding::Ascii => "ascii",
                    DataEncoding::Bcd => "bcd",
                    DataEncoding::Binary => "binary",
                    DataEncoding::Hex => "hex",
                },
                "prefix": match f.prefix {
                    PrefixEncoding::Ascii => "ascii",
                    PrefixEncoding::Bcd => "bcd",
                    PrefixEncoding::Binary => "binary",
                },
                "pad": match f.pad {
                    Pad::Left0 => "left-0",
                    Pad::LeftF => "left-f",
                    Pad::Right0 => "right-0",
                    Pad::RightF => "right-f",
                },
            }),
        );
    }
    json!({
        "mti": format!("{:?}", dialect.mti_encoding()).to_lowercase(),
        "bitmap": format!("{:?}", dialect.bitmap_encoding()).to_lowercase(),
        "fields": fields,
    })
}

fn run_profile(dialect: &Dialect, seed: u64, cases: usize) {
    let mut rng = Rng(seed);
    let messages: Vec<Message> = (0..cases)
        .map(|_| random_message(&mut rng, dialect))
        .collect();
    compare(dialect, &messages, &format!("seed {seed}"));
}

/// Encodes `messages` with us and decodes them with pyiso8583 (and the reverse); values and
/// bytes must agree. `label` names the set in failures.
fn compare(dialect: &Dialect, messages: &[Message], label: &str) {
    let cases = messages.len();
    let wires: Vec<Bytes> = messages
        .iter()
        .map(|m| encode_to_bytes(dialect, m).unwrap())
        .collect();
    let request = json!({
        "dialect": describe(dialect),
        "cases": messages.iter().zip(&wires).map(|(m, w)| json!({
            "hex": hex::encode_upper(w),
            "fields": to_json(dialect, m),
        })).collect::<Vec<_>>(),
    });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pyiso_diff.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "pyiso_diff.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response["version"], "4.0.1");
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), cases);
    for (i, ((m, wire), r)) in messages.iter().zip(&wires).zip(results).enumerate() {
        let ours = to_json(dialect, m);
        let ctx = format!(
            "{} {label} case {i}: {}",
            dialect.name(),
            hex::encode_upper(wire)
        );
        assert!(
            r["decode_error"].is_null(),
            "{ctx}: pyiso8583 could not decode ours: {}",
            r["decode_error"]
        );
        assert_eq!(r["decoded"], ours, "{ctx}: pyiso8583 decoded other values");
        assert!(
            r["encode_error"].is_null(),
            "{ctx}: pyiso8583 could not encode: {}",
            r["encode_error"]
        );
        let theirs = hex::decode(r["encoded_hex"].as_str().unwrap()).unwrap();
        let back = decode(dialect, Bytes::from(theirs.clone()))
            .unwrap_or_else(|e| panic!("{ctx}: we cannot decode pyiso8583's bytes: {e}"));
        assert_eq!(&back, m, "{ctx}: we decoded pyiso8583's bytes differently");
        assert_eq!(
            hex::encode_upper(&theirs),
            hex::encode_upper(wire),
            "{ctx}: byte-level difference"
        );
    }
}

#[test]
fn agrees_with_pyiso8583_on_the_ascii_profile() {
    run_profile(&Dialect::ascii().unwrap(), 0xA5C1, 400);
}

#[test]
fn agrees_with_pyiso8583_on_the_pos_binary_profile() {
    run_profile(&Dialect::pos_binary().unwrap(), 0xB1B0, 400);
}

/// The merchant-presented order code's messages: the 0200/910000 request (no field 48) and its
/// 0210 answer, 39 = 09 with the code to display in field 48 (`QC`, `QE` beside `PR`, `PI`,
/// `RM`), in both profiles.
#[test]
fn agrees_with_pyiso8583_on_the_order_code_messages() {
    use asw_iso8583::{MessageBuilder, PrivateDataBuilder, Tag};
    for dialect in [Dialect::ascii().unwrap(), Dialect::pos_binary().unwrap()] {
        let mut b = MessageBuilder::new(&dialect, Mti::FINANCIAL_REQUEST);
        b.set(3, "910000").unwrap();
        b.set_number(4, 1250).unwrap();
        b.set_number(11, 301).unwrap();
        b.set(12, "101500").unwrap();
        b.set(13, "1207").unwrap();
        b.set(22, "032").unwrap();
        b.set(25, "00").unwrap();
        b.set_padded(41, "T0000001").unwrap();
        b.set_padded(42, "M00000000000001").unwrap();
        b.set_number(49, 702).unwrap();
        let request = b.build();
        let mut r = request
            .respond(&dialect, &[3, 4, 11, 12, 13, 25, 41, 42, 49])
            .unwrap();
        r.set_padded(37, "634110000301").unwrap();
        r.set(39, "09").unwrap();
        let mut data = PrivateDataBuilder::new();
        data.push(
            Tag::PaymentRequestId,
            "P261207M00000000000001T0000001000301-1a2b3c4d",
        )
        .unwrap()
        .push(Tag::PaymentId, "20261207194010800100100000000001")
        .unwrap()
        .push(Tag::ResultMessage, "AWAITING_BUYER")
        .unwrap()
        .push(
            Tag::OrderCode,
            "https://qr.antom-sim.invalid/20261207194010800100100000000001",
        )
        .unwrap()
        .push(Tag::OrderCodeExpiry, "20261207101800")
        .unwrap();
        r.set(48, data.build()).unwrap();
        compare(&dialect, &[request, r.build()], "order code");
    }
}
