//! Recovering what can be read from a message that does not decode.
//!
//! A terminal whose 0200 carries one bad field must still get a 0210 with 39=30 that it
//! can match, so it needs the MTI, F11 and F41 back. The codec decodes whole messages
//! only; this module walks the field layout using lengths alone (never the content),
//! and decodes each wanted field on its own by handing the codec a one-field message.
//! Every bound is checked; nothing here allocates more than the input size.

use asw_iso8583::dialect::{BitmapEncoding, DataEncoding, MtiEncoding, PrefixEncoding};
use asw_iso8583::{Dialect, FieldSpec, Message, Mti, decode};
use bytes::{BufMut, Bytes, BytesMut};

/// Fields echoed in a format-error answer when they can be read on their own.
pub const ECHO_ON_FORMAT_ERROR: [u8; 11] = asw_iso8583::echo::ON_FORMAT_ERROR;

/// What could be read from an undecodable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The request's MTI.
    pub mti: Mti,
    /// The wanted fields that were individually valid, in the request's dialect.
    pub fields: Message,
}

impl Recovered {
    /// Whether both matching keys (F11 STAN and F41 terminal id) were recovered.
    pub fn has_keys(&self) -> bool {
        self.fields.has(11) && self.fields.has(41)
    }
}

fn mti_len(dialect: &Dialect) -> usize {
    match dialect.mti_encoding() {
        MtiEncoding::Ascii => 4,
        MtiEncoding::Bcd => 2,
    }
}

fn bitmap_len(dialect: &Dialect) -> usize {
    match dialect.bitmap_encoding() {
        BitmapEncoding::Binary => 8,
        BitmapEncoding::Hex => 16,
    }
}

fn parse_bitmap(dialect: &Dialect, raw: &[u8]) -> Option<u64> {
    match dialect.bitmap_encoding() {
        BitmapEncoding::Binary => raw.try_into().ok().map(u64::from_be_bytes),
        BitmapEncoding::Hex => {
            let text = std::str::from_utf8(raw).ok()?;
            u64::from_str_radix(text, 16).ok()
        }
    }
}

fn put_bitmap(dialect: &Dialect, bits: u64, out: &mut BytesMut) {
    match dialect.bitmap_encoding() {
        BitmapEncoding::Binary => out.put_u64(bits),
        BitmapEncoding::Hex => out.extend_from_slice(format!("{bits:016X}").as_bytes()),
    }
}

fn parse_prefix(encoding: PrefixEncoding, raw: &[u8]) -> Option<usize> {
    raw.iter().try_fold(0usize, |acc, &c| match encoding {
        PrefixEncoding::Ascii => c.is_ascii_digit().then(|| acc * 10 + usize::from(c - b'0')),
        PrefixEncoding::Bcd => {
            let (hi, lo) = (c >> 4, c & 0x0F);
            (hi <= 9 && lo <= 9).then(|| acc * 100 + usize::from(hi * 10 + lo))
        }
        PrefixEncoding::Binary => Some((acc << 8) | usize::from(c)),
    })
}

/// Total wire size (prefix + data) of the field starting at `rest`, by its layout only.
fn field_wire_size(spec: &FieldSpec, rest: &[u8]) -> Option<usize> {
    if !spec.is_variable() {
        return Some(spec.wire_len(usize::from(spec.max)));
    }
    let prefix_len = spec.prefix_len();
    let announced = parse_prefix(spec.prefix, rest.get(..prefix_len)?)?;
    if announced > spec.prefix_value(usize::from(spec.max)) {
        return None;
    }
    let data = if spec.encoding == DataEncoding::Bcd {
        announced.div_ceil(2)
    } else {
        spec.wire_len(announced)
    };
    Some(prefix_len + data)
}

/// Reads the MTI and, as far as the layout can be followed, the `wanted` fields (2–64)
/// that are valid on their own. `None` when not even the MTI can be read.
pub fn recover(dialect: &Dialect, payload: &[u8], wanted: &[u8]) -> Option<Recovered> {
    let mti_raw = payload.get(..mti_len(dialect))?;
    // The codec decodes the MTI for us when given an empty bitmap after it.
    let mut probe = BytesMut::with_capacity(mti_raw.len() + 16);
    probe.extend_from_slice(mti_raw);
    put_bitmap(dialect, 0, &mut probe);
    let mti = decode(dialect, probe.freeze()).ok()?.mti();
    let mut fields = Message::new(mti);

    let mut pos = mti_raw.len();
    let bitmap_len = bitmap_len(dialect);
    let Some(primary) = payload
        .get(pos..pos + bitmap_len)
        .and_then(|raw| parse_bitmap(dialect, raw))
    else {
        return Some(Recovered { mti, fields });
    };
    pos += bitmap_len;
    if primary & (1 << 63) != 0 {
        // Fields 65-128 come after everything we want; only skip the secondary bitmap.
        pos += bitmap_len;
    }
    for n in 2..=64u8 {
        if primary & (1u64 << (64 - u32::from(n))) == 0 {
            continue;
        }
        let Some(spec) = dialect.field(n) else { break };
        let Some(rest) = payload.get(pos..) else {
            break;
        };
        let Some(size) = field_wire_size(spec, rest) else {
            break;
        };
        let Some(raw) = rest.get(..size) else { break };
        pos += size;
        if wanted.contains(&n)
            && let Some(value) = decode_one(dialect, mti_raw, n, raw)
        {
            fields.set(dialect, n, value).ok();
        }
    }
    Some(Recovered { mti, fields })
}

/// Decodes a single field by wrapping its wire bytes in a message that holds only it.
fn decode_one(dialect: &Dialect, mti_raw: &[u8], n: u8, raw: &[u8]) -> Option<Bytes> {
    let mut probe = BytesMut::with_capacity(mti_raw.len() + 16 + raw.len());
    probe.extend_from_slice(mti_raw);
    put_bitmap(dialect, 1u64 << (64 - u32::from(n)), &mut probe);
    probe.extend_from_slice(raw);
    decode(dialect, probe.freeze()).ok()?.get_bytes(n).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_iso8583::{MessageBuilder, encode_to_bytes};
    use proptest::prelude::*;

    fn purchase(dialect: &Dialect) -> Bytes {
        let mut b = MessageBuilder::new(dialect, Mti::FINANCIAL_REQUEST);
        b.set(3, "000000").unwrap();
        b.set(4, "000000001250").unwrap();
        b.set(11, "000123").unwrap();
        b.set(12, "143015").unwrap();
        b.set(13, "1121").unwrap();
        b.set(22, "032").unwrap();
        b.set(25, "00").unwrap();
        b.set(41, "T0000001").unwrap();
        b.set(42, "M00000000000001").unwrap();
        b.set(48, "PC018281234567890123456").unwrap();
        b.set(49, "344").unwrap();
        encode_to_bytes(dialect, &b.build()).unwrap()
    }

    #[test]
    fn recovers_keys_behind_a_bad_amount() {
        for dialect in [Dialect::pos_binary().unwrap(), Dialect::ascii().unwrap()] {
            let mut wire = purchase(&dialect).to_vec();
            // Corrupt field 4: a non-digit nibble in BCD, a letter in ASCII.
            let f4 = if dialect.name() == "ascii" {
                4 + 16 + 6
            } else {
                2 + 8 + 3
            };
            wire[f4] = if dialect.name() == "ascii" {
                b'X'
            } else {
                0xAB
            };
            assert!(decode(&dialect, Bytes::from(wire.clone())).is_err());
            let got = recover(&dialect, &wire, &ECHO_ON_FORMAT_ERROR).unwrap();
            assert_eq!(got.mti, Mti::FINANCIAL_REQUEST);
            assert!(got.has_keys(), "{}", dialect.name());
            assert_eq!(got.fields.get_str(11), Some("000123"));
            assert_eq!(got.fields.get_str(41), Some("T0000001"));
            assert_eq!(got.fields.get_str(42), Some("M00000000000001"));
            assert!(!got.fields.has(4));
        }
    }

    #[test]
    fn unreadable_mti_gives_none_and_missing_bitmap_gives_mti_only() {
        let d = Dialect::ascii().unwrap();
        assert!(recover(&d, b"02", &ECHO_ON_FORMAT_ERROR).is_none());
        assert!(recover(&d, b"02X0", &ECHO_ON_FORMAT_ERROR).is_none());
        let got = recover(&d, b"0200", &ECHO_ON_FORMAT_ERROR).unwrap();
        assert!(!got.has_keys());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), ascii in any::<bool>()) {
            let d = if ascii { Dialect::ascii().unwrap() } else { Dialect::pos_binary().unwrap() };
            let _ = recover(&d, &bytes, &ECHO_ON_FORMAT_ERROR);
        }

        #[test]
        fn agrees_with_the_codec_on_valid_messages(stan in 0u32..1_000_000, ascii in any::<bool>()) {
            let d = if ascii { Dialect::ascii().unwrap() } else { Dialect::pos_binary().unwrap() };
            let mut m = asw_iso8583::decode(&d, purchase(&d)).unwrap();
            m.set(&d, 11, format!("{stan:06}")).unwrap();
            let wire = encode_to_bytes(&d, &m).unwrap();
            let got = recover(&d, &wire, &ECHO_ON_FORMAT_ERROR).unwrap();
            for n in ECHO_ON_FORMAT_ERROR {
                prop_assert_eq!(got.fields.get(n), m.get(n));
            }
        }
    }
}
