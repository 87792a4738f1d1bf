//! ISO 8583 codec comparison: decode + encode of the typical profile-B 0200 purchase
//! (dialect example, 99-byte message after the TPDU) with `asw-iso8583`, and the same
//! bytes with the `iso8583_rs` crate (0.1.10) for comparison. Before timing, both are
//! checked to reproduce the input bytes, and a one-shot robustness check mutates the
//! message and counts panics.
//!
//! Run: `cd crates/asw-iso8583/compare && cargo bench` (own workspace, see Cargo.toml).
//! The main workspace's `benches/codec.rs` times asw-iso8583 alone; pyiso8583 is timed
//! by `benches/pyiso8583_bench.py`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: failing loudly is the point

use std::hint::black_box;
use std::process::Command;

use asw_iso8583::{Dialect, decode, encode};
use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput};

/// The 0200 purchase of the dialect example, profile B, without length header and TPDU.
const PURCHASE_0200_HEX: &str = concat!(
    "0200",
    "3038058000C18014",
    "000000",
    "000000001250",
    "000123",
    "143015",
    "1121",
    "0032",
    "0001",
    "00",
    "5430303030303031",               // "T0000001"
    "4D3030303030303030303030303031", // "M00000000000001"
    "0023",
    "5043303138323831323334353637383930313233343536", // "PC018281234567890123456"
    "0344",
    "0006",
    "303030303037", // "000007"
    "0009",
    "494E56303030313233", // "INV000123"
);

/// The same layout for `iso8583_rs` (its spec can only come from a YAML file named by
/// the `SPEC_FILE` environment variable, read once into global state).
const ISO8583_RS_SPEC: &str = r#"
name: ProfileB
id: 1
header_fields:
  - { name: "message_type", id: 1, type: Fixed, len: 2, data_encoding: BCD }
messages:
  - name: "0200"
    id: 1
    selector: ["0200", "0210"]
    fields:
      - { name: "message_type", id: 1, type: Fixed, len: 2, data_encoding: BCD }
      - name: "bitmap"
        id: 2
        type: Bitmapped
        len: 0
        data_encoding: BINARY
        children:
          - { name: "proc_code", id: 3, type: Fixed, len: 3, data_encoding: BCD, position: 3 }
          - { name: "amount", id: 4, type: Fixed, len: 6, data_encoding: BCD, position: 4 }
          - { name: "stan", id: 11, type: Fixed, len: 3, data_encoding: BCD, position: 11 }
          - { name: "local_time", id: 12, type: Fixed, len: 3, data_encoding: BCD, position: 12 }
          - { name: "local_date", id: 13, type: Fixed, len: 2, data_encoding: BCD, position: 13 }
          - { name: "entry_mode", id: 22, type: Fixed, len: 2, data_encoding: BCD, position: 22 }
          - { name: "nii", id: 24, type: Fixed, len: 2, data_encoding: BCD, position: 24 }
          - { name: "condition", id: 25, type: Fixed, len: 1, data_encoding: BCD, position: 25 }
          - { name: "response_code", id: 39, type: Fixed, len: 2, data_encoding: ASCII, position: 39 }
          - { name: "terminal_id", id: 41, type: Fixed, len: 8, data_encoding: ASCII, position: 41 }
          - { name: "merchant_id", id: 42, type: Fixed, len: 15, data_encoding: ASCII, position: 42 }
          - { name: "private_48", id: 48, type: Variable, len: 2, len_encoding: BCD, data_encoding: ASCII, position: 48 }
          - { name: "currency", id: 49, type: Fixed, len: 2, data_encoding: BCD, position: 49 }
          - { name: "batch", id: 60, type: Variable, len: 2, len_encoding: BCD, data_encoding: ASCII, position: 60 }
          - { name: "invoice", id: 62, type: Variable, len: 2, len_encoding: BCD, data_encoding: ASCII, position: 62 }
"#;

fn purchase() -> Vec<u8> {
    hex::decode(PURCHASE_0200_HEX).unwrap()
}

fn iso8583_rs_roundtrip(wire: &mut Vec<u8>) -> Result<Vec<u8>, String> {
    let spec = iso8583_rs::iso8583::iso_spec::spec("ProfileB");
    let msg = spec.parse(wire).map_err(|e| e.msg)?;
    msg.assemble().map_err(|e| e.msg)
}

/// Counts outcomes of decoding `count` single-byte mutations of the message.
fn robustness(count: usize) {
    let wire = purchase();
    let dialect = Dialect::pos_binary().unwrap();
    let (mut ours_ok, mut ours_err) = (0, 0);
    let (mut theirs_ok, mut theirs_err, mut theirs_panic) = (0, 0, 0);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut mutated = wire.clone();
        let at = (state % mutated.len() as u64) as usize;
        mutated[at] = (state >> 32) as u8;
        match decode(&dialect, Bytes::from(mutated.clone())) {
            Ok(_) => ours_ok += 1,
            Err(_) => ours_err += 1,
        }
        match std::panic::catch_unwind(move || {
            let mut m = mutated;
            iso8583_rs_roundtrip(&mut m)
        }) {
            Ok(Ok(_)) => theirs_ok += 1,
            Ok(Err(_)) => theirs_err += 1,
            Err(_) => theirs_panic += 1,
        }
    }
    std::panic::set_hook(default_hook);
    println!(
        "robustness, {count} single-byte mutations of the 0200: asw-iso8583 ok {ours_ok} / err {ours_err} / panic 0; \
         iso8583_rs ok {theirs_ok} / err {theirs_err} / panic {theirs_panic}"
    );
}

fn codec_benches(c: &mut Criterion) {
    let wire = purchase();
    let dialect = Dialect::pos_binary().unwrap();
    let ascii = Dialect::ascii().unwrap();
    let input = Bytes::from(wire.clone());

    // Both libraries must reproduce the input before their speed means anything.
    let mut out = BytesMut::new();
    encode(
        &dialect,
        &decode(&dialect, input.clone()).unwrap(),
        &mut out,
    )
    .unwrap();
    assert_eq!(&out[..], &wire[..]);
    assert_eq!(iso8583_rs_roundtrip(&mut wire.clone()).unwrap(), wire);
    robustness(20_000);

    let message = decode(&dialect, input.clone()).unwrap();
    let mut ascii_wire = BytesMut::new();
    encode(&ascii, &message, &mut ascii_wire).unwrap();
    let ascii_input = ascii_wire.freeze();

    let mut group = c.benchmark_group("iso8583_0200_purchase");
    group.throughput(Throughput::Elements(1));
    group.bench_function("asw_iso8583/pos_binary/decode+encode", |b| {
        let mut out = BytesMut::with_capacity(256);
        b.iter(|| {
            out.clear();
            let m = decode(&dialect, black_box(input.clone())).unwrap();
            encode(&dialect, &m, &mut out).unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("asw_iso8583/pos_binary/decode", |b| {
        b.iter(|| black_box(decode(&dialect, black_box(input.clone())).unwrap()))
    });
    group.bench_function("asw_iso8583/pos_binary/encode", |b| {
        let mut out = BytesMut::with_capacity(256);
        b.iter(|| {
            out.clear();
            encode(&dialect, black_box(&message), &mut out).unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("asw_iso8583/ascii/decode+encode", |b| {
        let mut out = BytesMut::with_capacity(256);
        b.iter(|| {
            out.clear();
            let m = decode(&ascii, black_box(ascii_input.clone())).unwrap();
            encode(&ascii, &m, &mut out).unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("iso8583_rs/pos_binary/decode+encode", |b| {
        let mut data = wire.clone();
        b.iter(|| black_box(iso8583_rs_roundtrip(black_box(&mut data)).unwrap()))
    });
    group.finish();
}

fn main() {
    // iso8583_rs reads its spec path from SPEC_FILE on first use. Setting an environment
    // variable in-process is `unsafe` (and forbidden here), so re-run this binary with
    // the variable set instead.
    if std::env::var_os("SPEC_FILE").is_none() {
        let path =
            std::env::temp_dir().join(format!("asw-bench-iso8583-rs-{}.yaml", std::process::id()));
        std::fs::write(&path, ISO8583_RS_SPEC).unwrap();
        let status = Command::new(std::env::current_exe().unwrap())
            .args(std::env::args_os().skip(1))
            .env("SPEC_FILE", &path)
            .status()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        std::process::exit(status.code().unwrap_or(1));
    }
    let mut criterion = Criterion::default().configure_from_args();
    codec_benches(&mut criterion);
    criterion.final_summary();
}
