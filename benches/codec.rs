//! ISO 8583 codec benchmark: decode + encode of the typical profile-B 0200 purchase
//! (dialect example, 99-byte message after the TPDU) with `asw-iso8583`, plus decode and
//! encode alone and the same message in the ASCII profile.
//!
//! Run: `cargo bench -p asw-benches --bench codec`. The comparison with `iso8583_rs`
//! lives in `crates/asw-iso8583/compare` (own workspace); pyiso8583 is timed by
//! `benches/pyiso8583_bench.py`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: failing loudly is the point

use std::hint::black_box;

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

fn purchase() -> Vec<u8> {
    hex::decode(PURCHASE_0200_HEX).unwrap()
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
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    codec_benches(&mut criterion);
    criterion.final_summary();
}
