//! Property tests: round trip over generated valid messages in both built-in profiles,
//! the decoder never panics on arbitrary or mutated bytes, and the framing never
//! panics, never holds more than one maximum frame while waiting, and round-trips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use asw_iso8583::dialect::{FieldSpec, Format, LengthKind};
use asw_iso8583::{
    Dialect, Frame, FrameCodec, LengthPrefix, Message, Mti, Tpdu, decode, encode_to_bytes,
};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

/// A valid value for `spec` derived from random material.
fn value_for(spec: &FieldSpec, len_seed: u16, raw: &[u8]) -> Vec<u8> {
    let len = match spec.length {
        LengthKind::Fixed => usize::from(spec.max),
        _ => usize::from(len_seed) % (usize::from(spec.max).min(64) + 1),
    };
    let byte = |i: usize| raw.get(i % raw.len().max(1)).copied().unwrap_or(0) ^ (i as u8);
    (0..len)
        .map(|i| {
            let b = byte(i);
            match spec.format {
                Format::N => b'0' + b % 10,
                Format::An => b"ABCXYZabcxyz0123456789 "[usize::from(b) % 23],
                Format::Ans => 0x20 + b % 95,
                Format::B => b,
                Format::Z => b"0123456789="[usize::from(b) % 11],
                Format::Xn if i == 0 => b"CD0"[usize::from(b) % 3],
                Format::Xn => b'0' + b % 10,
            }
        })
        .collect()
}

fn build(dialect: &Dialect, mti: u16, fields: &[(u8, u16, Vec<u8>)]) -> Message {
    let mut m = Message::new(Mti::new(&format!("{:04}", mti % 10000)).unwrap());
    for (n, len_seed, raw) in fields {
        if !dialect.allows(*n) {
            continue;
        }
        let spec = dialect.field(*n).unwrap();
        m.set(dialect, *n, value_for(spec, *len_seed, raw)).unwrap();
    }
    m
}

fn fields_strategy() -> impl Strategy<Value = Vec<(u8, u16, Vec<u8>)>> {
    prop::collection::vec(
        (
            prop_oneof![3 => 2u8..=64, 1 => 66u8..=128],
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..16),
        ),
        0..24,
    )
}

fn dialects() -> [Dialect; 2] {
    [Dialect::pos_binary().unwrap(), Dialect::ascii().unwrap()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn roundtrip_both_profiles(mti in any::<u16>(), fields in fields_strategy()) {
        for dialect in dialects() {
            let m = build(&dialect, mti, &fields);
            let wire = encode_to_bytes(&dialect, &m).unwrap();
            let back = decode(&dialect, wire.clone()).unwrap();
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(encode_to_bytes(&dialect, &back).unwrap(), wire);
        }
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for dialect in dialects() {
            if let Ok(m) = decode(&dialect, Bytes::from(bytes.clone())) {
                // Whatever decodes is valid and re-encodes to something that decodes the same.
                let again = encode_to_bytes(&dialect, &m).unwrap();
                prop_assert_eq!(decode(&dialect, again).unwrap(), m);
            }
        }
    }

    #[test]
    fn decoder_never_panics_on_mutated_messages(
        mti in any::<u16>(),
        fields in fields_strategy(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        for dialect in dialects() {
            let m = build(&dialect, mti, &fields);
            let mut wire = encode_to_bytes(&dialect, &m).unwrap().to_vec();
            for (at, byte) in &edits {
                let i = at.index(wire.len());
                wire[i] = *byte;
            }
            let mutated = decode(&dialect, Bytes::from(wire.clone()));
            if let Ok(m) = mutated {
                let again = encode_to_bytes(&dialect, &m).unwrap();
                prop_assert_eq!(decode(&dialect, again).unwrap(), m);
            }
            let truncated = cut.index(wire.len());
            let _ = decode(&dialect, Bytes::copy_from_slice(&wire[..truncated]));
        }
    }
}

fn prefixes() -> impl Strategy<Value = LengthPrefix> {
    prop_oneof![
        Just(LengthPrefix::BinaryExclusive),
        Just(LengthPrefix::BinaryInclusive),
        Just(LengthPrefix::Ascii4),
        Just(LengthPrefix::Bcd2),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn framing_never_panics_and_never_waits_on_more_than_max(
        prefix in prefixes(),
        tpdu in any::<bool>(),
        max in 0usize..600,
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
    ) {
        let mut codec = FrameCodec::new(prefix, tpdu, max);
        let limit = prefix.header_len() + codec.max_frame();
        let mut buf = BytesMut::new();
        'feed: for chunk in chunks {
            buf.extend_from_slice(&chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(_)) => continue,
                    Ok(None) => {
                        // Waiting for more bytes only ever happens inside one frame.
                        prop_assert!(buf.len() < limit.max(prefix.header_len()));
                        break;
                    }
                    // A framing error closes the connection: stop feeding.
                    Err(_) => break 'feed,
                }
            }
        }
    }

    #[test]
    fn framing_roundtrips_over_any_chunking(
        prefix in prefixes(),
        tpdu in any::<bool>(),
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..6),
        split in prop::collection::vec(1usize..64, 1..40),
    ) {
        let mut codec = FrameCodec::new(prefix, tpdu, 4096);
        let frames: Vec<Frame> = payloads
            .into_iter()
            .map(|p| {
                if p.is_empty() {
                    Frame::KeepAlive
                } else {
                    Frame::Message {
                        tpdu: tpdu.then(|| Tpdu::new([0, 1], [0, 5])),
                        payload: Bytes::from(p),
                    }
                }
            })
            .collect();
        let mut stream = BytesMut::new();
        for f in &frames {
            codec.encode(f.clone(), &mut stream).unwrap();
        }
        let mut got = Vec::new();
        let mut buf = BytesMut::new();
        let mut rest = &stream[..];
        let mut sizes = split.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                got.push(frame);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, frames);
    }
}

#[test]
fn pyiso_and_jpos_binary_dialect_differ_only_in_layout() {
    // The same logical message encodes to different bytes in the two profiles but
    // decodes back to the same value in each.
    let [b, a] = dialects();
    let m = build(
        &b,
        200,
        &[(3, 0, vec![1]), (35, 30, vec![7, 9]), (52, 0, vec![3])],
    );
    let wb = encode_to_bytes(&b, &m).unwrap();
    let wa = encode_to_bytes(&a, &m).unwrap();
    assert_ne!(wa, wb);
    assert_eq!(decode(&a, wa).unwrap(), decode(&b, wb).unwrap());
}
