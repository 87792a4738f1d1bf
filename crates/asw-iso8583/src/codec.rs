//! Packing and unpacking messages according to a [`Dialect`].
//!
//! The decoder reads with a cursor that checks every bound before touching a byte and
//! checks every length against the field maximum before using it, so malformed input
//! yields a [`DecodeError`] and never a panic or an allocation sized by the peer.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::dialect::{
    BitmapEncoding, DataEncoding, Dialect, FieldSpec, Format, LengthCounts, MtiEncoding,
    PrefixEncoding,
};
use crate::message::{Message, Slot, ValueError, bit, check_value};
use crate::mti::Mti;

/// The part of a message an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The message type indicator.
    Mti,
    /// The primary bitmap.
    PrimaryBitmap,
    /// The secondary bitmap (field 1).
    SecondaryBitmap,
    /// A data field.
    Field(u8),
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Mti => f.write_str("MTI"),
            Part::PrimaryBitmap => f.write_str("primary bitmap"),
            Part::SecondaryBitmap => f.write_str("secondary bitmap"),
            Part::Field(n) => write!(f, "field {n}"),
        }
    }
}

/// Why bytes from a peer are not a valid message of the dialect. The sender is at
/// fault; decoding the same bytes again gives the same error (not retryable).
/// Offsets are byte positions in the decoded buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ends inside a part.
    #[error("{part} truncated at byte {offset}: needs {needed} bytes, {available} left")]
    Truncated {
        /// What was being read.
        part: Part,
        /// Where it starts.
        offset: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// The MTI is not four decimal digits.
    #[error("MTI at byte {offset} is not four decimal digits")]
    BadMti {
        /// Where the MTI starts.
        offset: usize,
    },
    /// A hex bitmap holds a non-hexadecimal character.
    #[error("{part} at byte {offset} is not hexadecimal")]
    BadBitmap {
        /// Which bitmap.
        part: Part,
        /// Where it starts.
        offset: usize,
    },
    /// Bit 1 is set but the dialect allows fields 2–64 only.
    #[error("a secondary bitmap is present but the dialect allows only fields 2-64")]
    SecondaryBitmapNotAllowed,
    /// Bit 65 (tertiary bitmap / field 65) is set and the dialect does not allow it.
    #[error("bit 65 (tertiary bitmap) is set; the dialect does not support it")]
    Field65NotAllowed,
    /// A bitmap announces a field the dialect does not define.
    #[error("field {field} is not defined in the dialect")]
    UnknownField {
        /// Field number.
        field: u8,
    },
    /// A length prefix is not a valid number in its encoding.
    #[error("field {field}: length prefix at byte {offset} is not a valid number")]
    BadLength {
        /// Field number.
        field: u8,
        /// Where the prefix starts.
        offset: usize,
    },
    /// A length prefix is above the field maximum.
    #[error("field {field}: length {length} at byte {offset} is above the maximum {max}")]
    LengthAboveMax {
        /// Field number.
        field: u8,
        /// Where the prefix starts.
        offset: usize,
        /// Length read.
        length: usize,
        /// Field maximum.
        max: usize,
    },
    /// A packed-BCD byte holds a nibble that is not a digit (or `D` in track data).
    #[error("field {field}: byte {offset} is not valid BCD")]
    BadBcd {
        /// Field number.
        field: u8,
        /// The offending byte.
        offset: usize,
    },
    /// A hex-encoded binary field holds a non-hexadecimal character.
    #[error("field {field}: data at byte {offset} is not hexadecimal")]
    BadHex {
        /// Field number.
        field: u8,
        /// Where the data starts.
        offset: usize,
    },
    /// The value breaks the field's content rules (e.g. a letter in an `n` field).
    #[error("field {field} at byte {offset}: {error}")]
    BadValue {
        /// Field number.
        field: u8,
        /// Where the data starts.
        offset: usize,
        /// What is wrong.
        error: ValueError,
    },
    /// Bytes remain after the last field the bitmaps announce.
    #[error("{count} bytes left over after the last field, at byte {offset}")]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many.
        count: usize,
    },
}

impl DecodeError {
    /// The field the error is about, when it is about one field.
    pub fn field(&self) -> Option<u8> {
        match self {
            DecodeError::Truncated {
                part: Part::Field(n),
                ..
            } => Some(*n),
            DecodeError::UnknownField { field }
            | DecodeError::BadLength { field, .. }
            | DecodeError::LengthAboveMax { field, .. }
            | DecodeError::BadBcd { field, .. }
            | DecodeError::BadHex { field, .. }
            | DecodeError::BadValue { field, .. } => Some(*field),
            DecodeError::Field65NotAllowed => Some(65),
            _ => None,
        }
    }
}

/// Why a message cannot be written in a dialect (the message was built for another
/// dialect, or changed by hand). Our own fault: the caller must fix the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The dialect does not define or allow this field.
    #[error("field {0} is not allowed by the dialect")]
    FieldNotAllowed(u8),
    /// The value does not fit the field definition.
    #[error("field {field}: {error}")]
    BadValue {
        /// Field number.
        field: u8,
        /// What is wrong.
        error: ValueError,
    },
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn take(&mut self, n: usize, part: Part) -> Result<&'a [u8], DecodeError> {
        let available = self.buf.len().saturating_sub(self.pos);
        if n > available {
            return Err(DecodeError::Truncated {
                part,
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..start + n])
    }
}

#[inline]
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn read_bitmap(
    cur: &mut Cursor<'_>,
    encoding: BitmapEncoding,
    part: Part,
) -> Result<u64, DecodeError> {
    match encoding {
        BitmapEncoding::Binary => {
            let raw = cur.take(8, part)?;
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(raw);
            Ok(u64::from_be_bytes(bytes))
        }
        BitmapEncoding::Hex => {
            let offset = cur.pos;
            let raw = cur.take(16, part)?;
            raw.iter().try_fold(0u64, |acc, &c| {
                hex_value(c)
                    .map(|v| (acc << 4) | u64::from(v))
                    .ok_or(DecodeError::BadBitmap { part, offset })
            })
        }
    }
}

fn parse_prefix(encoding: PrefixEncoding, raw: &[u8]) -> Option<usize> {
    match encoding {
        PrefixEncoding::Ascii => raw.iter().try_fold(0usize, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + usize::from(c - b'0'))
        }),
        PrefixEncoding::Bcd => raw.iter().try_fold(0usize, |acc, &c| {
            let (hi, lo) = (c >> 4, c & 0x0F);
            (hi <= 9 && lo <= 9).then(|| acc * 100 + usize::from(hi) * 10 + usize::from(lo))
        }),
        PrefixEncoding::Binary => Some(
            raw.iter()
                .fold(0usize, |acc, &c| (acc << 8) | usize::from(c)),
        ),
    }
}

/// Unpacks `digits` BCD digits from `raw` into `out` as ASCII.
fn unpack_bcd(
    raw: &[u8],
    digits: usize,
    spec: &FieldSpec,
    field: u8,
    offset: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let total = raw.len() * 2;
    // Odd digit counts leave one pad nibble, first or last depending on the dialect.
    let first = usize::from(total > digits && spec.pad.is_left());
    let nibble_at = |position: usize| {
        let byte = raw.get(position / 2).copied().unwrap_or(0);
        if position.is_multiple_of(2) {
            byte >> 4
        } else {
            byte & 0x0F
        }
    };
    let bad = |position: usize| DecodeError::BadBcd {
        field,
        offset: offset + position / 2,
    };
    for position in (0..first).chain(first + digits..total) {
        if !matches!(nibble_at(position), 0x0 | 0xF) {
            return Err(bad(position));
        }
    }
    let track = spec.format == Format::Z;
    for position in first..first + digits {
        out.push(match nibble_at(position) {
            nibble @ 0..=9 => b'0' + nibble,
            0xD if track => b'=',
            _ => return Err(bad(position)),
        });
    }
    Ok(())
}

/// Where a decoded value lives: in the input buffer, or in the arena of converted
/// (BCD-unpacked / hex-decoded) values that is frozen once at the end.
enum Value {
    Wire(u32, u32),
    Arena(u32, u32),
}

fn decode_field(
    spec: &FieldSpec,
    field: u8,
    cur: &mut Cursor<'_>,
    arena: &mut Vec<u8>,
) -> Result<Value, DecodeError> {
    let part = Part::Field(field);
    let field_offset = cur.pos;
    let max = usize::from(spec.max);
    let is_bcd = spec.encoding == DataEncoding::Bcd;
    // `len` is the logical length, `wire_len` the data bytes on the wire.
    let (mut len, wire_len) = if spec.is_variable() {
        let raw = cur.take(spec.prefix_len(), part)?;
        let announced = parse_prefix(spec.prefix, raw).ok_or(DecodeError::BadLength {
            field,
            offset: field_offset,
        })?;
        if announced > spec.prefix_value(max) {
            return Err(DecodeError::LengthAboveMax {
                field,
                offset: field_offset,
                length: announced,
                max,
            });
        }
        if is_bcd {
            (announced, announced.div_ceil(2))
        } else {
            (announced, spec.wire_len(announced))
        }
    } else {
        (max, spec.wire_len(max))
    };
    let data_offset = cur.pos;
    let raw = cur.take(wire_len, part)?;
    if spec.counts == LengthCounts::NibblesWithPad
        && spec.is_variable()
        && len % 2 == 0
        && raw.last().is_some_and(|b| b & 0x0F == 0x0F)
    {
        len -= 1;
    }
    if len > max {
        return Err(DecodeError::LengthAboveMax {
            field,
            offset: field_offset,
            length: len,
            max,
        });
    }
    let bad_value = |error| DecodeError::BadValue {
        field,
        offset: data_offset,
        error,
    };
    match spec.encoding {
        DataEncoding::Ascii | DataEncoding::Binary => {
            check_value(spec, raw).map_err(bad_value)?;
            Ok(Value::Wire(
                data_offset as u32,
                (data_offset + wire_len) as u32,
            ))
        }
        DataEncoding::Bcd | DataEncoding::Hex => {
            let start = arena.len();
            match (spec.encoding, spec.format) {
                (DataEncoding::Hex, _) => {
                    for (i, pair) in raw.chunks_exact(2).enumerate() {
                        let byte = hex_value(pair[0])
                            .zip(hex_value(pair[1]))
                            .map(|(h, l)| (h << 4) | l)
                            .ok_or(DecodeError::BadHex {
                                field,
                                offset: data_offset + 2 * i,
                            })?;
                        arena.push(byte);
                    }
                }
                (_, Format::Xn) => {
                    let (sign, digits) = raw.split_first().ok_or(DecodeError::BadLength {
                        field,
                        offset: field_offset,
                    })?;
                    arena.push(*sign);
                    unpack_bcd(digits, len - 1, spec, field, data_offset + 1, arena)?;
                    // The sign is the only byte the nibble check does not cover.
                    check_value(spec, &arena[start..]).map_err(bad_value)?;
                }
                // Unpacking admits digits (and `=` in track data) only, and yields
                // exactly `len` characters: the value is valid by construction.
                _ => unpack_bcd(raw, len, spec, field, data_offset, arena)?,
            }
            Ok(Value::Arena(start as u32, arena.len() as u32))
        }
    }
}

/// Decodes one message (MTI, bitmaps, fields) that must fill `wire` exactly.
/// Field values of ASCII and binary fields share `wire`'s buffer; BCD and hex values
/// share one buffer allocated per message.
pub fn decode(dialect: &Dialect, wire: Bytes) -> Result<Message, DecodeError> {
    let mut cur = Cursor {
        buf: &wire[..],
        pos: 0,
    };
    let mti = match dialect.mti_encoding() {
        MtiEncoding::Ascii => {
            let raw = cur.take(4, Part::Mti)?;
            Mti::from_digits(raw).map_err(|_| DecodeError::BadMti { offset: 0 })?
        }
        MtiEncoding::Bcd => {
            let raw = cur.take(2, Part::Mti)?;
            let digits = [raw[0] >> 4, raw[0] & 0x0F, raw[1] >> 4, raw[1] & 0x0F];
            if digits.iter().any(|d| *d > 9) {
                return Err(DecodeError::BadMti { offset: 0 });
            }
            Mti::from_digits(&digits.map(|d| b'0' + d))
                .map_err(|_| DecodeError::BadMti { offset: 0 })?
        }
    };
    let primary = read_bitmap(&mut cur, dialect.bitmap_encoding(), Part::PrimaryBitmap)?;
    let mut present = u128::from(primary) << 64;
    if present & bit(1) != 0 {
        if !dialect.secondary_bitmap_allowed() {
            return Err(DecodeError::SecondaryBitmapNotAllowed);
        }
        let secondary = read_bitmap(&mut cur, dialect.bitmap_encoding(), Part::SecondaryBitmap)?;
        present |= u128::from(secondary);
        present &= !bit(1);
    }
    if present & bit(65) != 0 && !dialect.field_65_allowed() {
        return Err(DecodeError::Field65NotAllowed);
    }
    if wire.len() > u32::MAX as usize {
        return Err(DecodeError::TrailingBytes {
            offset: u32::MAX as usize,
            count: wire.len() - u32::MAX as usize,
        });
    }
    let mut slots = Vec::with_capacity(present.count_ones() as usize);
    // Converted values never exceed twice the input (BCD doubles, hex halves), so this
    // is the only allocation for them, bounded by the input size.
    let mut arena = Vec::new();
    let mut rest = present;
    while rest != 0 {
        let n = rest.leading_zeros() as u8 + 1;
        rest &= !bit(n);
        let spec = dialect
            .field(n)
            .ok_or(DecodeError::UnknownField { field: n })?;
        if arena.capacity() == 0 && spec.encoding != DataEncoding::Ascii {
            arena.reserve_exact(2 * wire.len());
        }
        slots.push(
            match decode_field(spec, n, &mut cur, &mut arena)? {
                Value::Wire(start, end) => Slot::Wire(start, end),
                Value::Arena(start, end) => Slot::Arena(start, end),
            }
            .into(),
        );
    }
    if cur.pos != wire.len() {
        return Err(DecodeError::TrailingBytes {
            offset: cur.pos,
            count: wire.len() - cur.pos,
        });
    }
    Ok(Message {
        mti,
        present,
        slots,
        wire,
        arena: Bytes::from(arena),
    })
}

fn put_prefix(out: &mut BytesMut, spec: &FieldSpec, value: usize) {
    let digits = usize::from(spec.length.digits());
    match spec.prefix {
        PrefixEncoding::Ascii => {
            let mut rest = value;
            let start = out.len();
            for _ in 0..digits {
                out.put_u8(0);
            }
            for slot in out[start..].iter_mut().rev() {
                *slot = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
        }
        PrefixEncoding::Bcd => {
            let bytes = digits.div_ceil(2);
            let mut rest = value;
            let start = out.len();
            for _ in 0..bytes {
                out.put_u8(0);
            }
            for slot in out[start..].iter_mut().rev() {
                let lo = (rest % 10) as u8;
                rest /= 10;
                let hi = (rest % 10) as u8;
                rest /= 10;
                *slot = (hi << 4) | lo;
            }
        }
        PrefixEncoding::Binary => {
            let bytes = digits.div_ceil(2);
            for i in (0..bytes).rev() {
                out.put_u8((value >> (8 * i)) as u8);
            }
        }
    }
}

#[inline]
fn bcd_nibble(c: u8) -> u8 {
    // Values are checked before packing: digits, or `=` in track data.
    if c == b'=' {
        0xD
    } else {
        c.wrapping_sub(b'0') & 0x0F
    }
}

fn pack_bcd(out: &mut BytesMut, digits: &[u8], spec: &FieldSpec) {
    let pad = spec.pad.nibble();
    let mut chunk = Chunked::default();
    let mut iter = digits.iter().map(|c| bcd_nibble(*c));
    if digits.len() % 2 == 1 && spec.pad.is_left() {
        let first = iter.next().unwrap_or(0);
        chunk.push(out, (pad << 4) | first);
    }
    while let Some(hi) = iter.next() {
        let lo = iter.next().unwrap_or(pad);
        chunk.push(out, (hi << 4) | lo);
    }
    chunk.flush(out);
}

/// Batches single-byte writes: `BytesMut::put_u8` checks capacity on every call.
struct Chunked {
    buf: [u8; 64],
    len: usize,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl Chunked {
    #[inline]
    fn push(&mut self, out: &mut BytesMut, byte: u8) {
        if self.len == self.buf.len() {
            self.flush(out);
        }
        self.buf[self.len] = byte;
        self.len += 1;
    }

    fn flush(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(&self.buf[..self.len]);
        self.len = 0;
    }
}

fn encode_field(
    spec: &FieldSpec,
    field: u8,
    value: &[u8],
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    check_value(spec, value).map_err(|error| EncodeError::BadValue { field, error })?;
    if spec.is_variable() {
        put_prefix(out, spec, spec.prefix_value(value.len()));
    }
    match (spec.encoding, spec.format) {
        (DataEncoding::Ascii | DataEncoding::Binary, _) => out.extend_from_slice(value),
        (DataEncoding::Hex, _) => {
            let mut chunk = Chunked::default();
            for b in value {
                chunk.push(out, HEX_UPPER[usize::from(b >> 4)]);
                chunk.push(out, HEX_UPPER[usize::from(b & 0x0F)]);
            }
            chunk.flush(out);
        }
        (DataEncoding::Bcd, Format::Xn) => {
            if let Some((sign, digits)) = value.split_first() {
                out.put_u8(*sign);
                pack_bcd(out, digits, spec);
            }
        }
        (DataEncoding::Bcd, _) => pack_bcd(out, value, spec),
    }
    Ok(())
}

/// Appends the wire form of `message` to `out`. Every value is checked against the
/// dialect; on error nothing is appended.
pub fn encode(dialect: &Dialect, message: &Message, out: &mut BytesMut) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_inner(dialect, message, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_inner(
    dialect: &Dialect,
    message: &Message,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    out.reserve(
        64 + message
            .fields()
            .map(|(_, v)| 2 * v.len() + 4)
            .sum::<usize>(),
    );
    match dialect.mti_encoding() {
        MtiEncoding::Ascii => out.extend_from_slice(message.mti.as_bytes()),
        MtiEncoding::Bcd => {
            let d = message.mti.as_bytes().map(|c| c - b'0');
            out.put_u8((d[0] << 4) | d[1]);
            out.put_u8((d[2] << 4) | d[3]);
        }
    }
    let mut bitmap = message.present;
    if bitmap as u64 != 0 {
        bitmap |= bit(1);
    }
    let words: &[u64] = if bitmap & bit(1) != 0 {
        &[(bitmap >> 64) as u64, bitmap as u64]
    } else {
        &[(bitmap >> 64) as u64]
    };
    for word in words {
        match dialect.bitmap_encoding() {
            BitmapEncoding::Binary => out.put_u64(*word),
            BitmapEncoding::Hex => {
                for shift in (0..16).rev() {
                    out.put_u8(HEX_UPPER[((word >> (4 * shift)) & 0xF) as usize]);
                }
            }
        }
    }
    for (n, value) in message.fields() {
        let spec = match dialect.field(n) {
            Some(spec) if dialect.allows(n) => spec,
            _ => return Err(EncodeError::FieldNotAllowed(n)),
        };
        encode_field(spec, n, value, out)?;
    }
    Ok(())
}

/// Convenience: encodes into a fresh buffer.
pub fn encode_to_bytes(dialect: &Dialect, message: &Message) -> Result<Bytes, EncodeError> {
    let mut out = BytesMut::new();
    encode(dialect, message, &mut out)?;
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ascii() -> Dialect {
        Dialect::ascii().unwrap()
    }

    fn dec(d: &Dialect, hex_or_text: &[u8]) -> Result<Message, DecodeError> {
        decode(d, Bytes::copy_from_slice(hex_or_text))
    }

    #[test]
    fn pos_binary_roundtrip_with_odd_digits_and_track2() {
        let d = Dialect::pos_binary().unwrap();
        let mut m = Message::new(Mti::FINANCIAL_REQUEST);
        m.set(&d, 2, "1234567890123456789").unwrap();
        m.set(&d, 22, "032").unwrap();
        m.set(&d, 28, "C00000100").unwrap();
        m.set(&d, 35, "1234567890123456=1234567").unwrap();
        m.set(&d, 52, vec![0u8, 1, 2, 3, 4, 5, 6, 255]).unwrap();
        m.set(&d, 100, "1").unwrap();
        let wire = encode_to_bytes(&d, &m).unwrap();
        let hex = hex::encode_upper(&wire);
        assert!(hex.starts_with("0200C"), "{hex}");
        // F2: length 0x19, right-padded F.
        assert!(hex.contains("191234567890123456789F"), "{hex}");
        // F22: left-padded 0.
        assert!(hex.contains("0032"), "{hex}");
        // F28: ASCII sign + BCD.
        assert!(hex.contains("4300000100"), "{hex}");
        // F35: = as D.
        assert!(hex.contains("241234567890123456D1234567"), "{hex}");
        assert!(hex.ends_with("011F"), "{hex}");
        assert_eq!(decode(&d, wire).unwrap(), m);
    }

    #[test]
    fn negative_errors_are_typed() {
        let d = ascii();
        assert!(matches!(
            dec(&d, b"0200400000000000000010123"),
            Err(DecodeError::Truncated {
                part: Part::Field(2),
                ..
            })
        ));
        assert!(matches!(
            dec(&d, b"02"),
            Err(DecodeError::Truncated {
                part: Part::Mti,
                ..
            })
        ));
        assert!(matches!(dec(&d, b"02X0"), Err(DecodeError::BadMti { .. })));
        let b = Dialect::pos_binary().unwrap();
        assert!(matches!(
            dec(&b, &[0x02, 0xA0]),
            Err(DecodeError::BadMti { .. })
        ));
        // F3 with a bad nibble.
        let mut raw = vec![0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0];
        raw.extend_from_slice(&[0x00, 0x0A, 0x00]);
        assert_eq!(
            dec(&b, &raw),
            Err(DecodeError::BadBcd {
                field: 3,
                offset: 11
            })
        );
        // F3 with letters in the ASCII dialect.
        assert!(matches!(
            dec(&d, b"0200200000000000000000A000"),
            Err(DecodeError::BadValue { field: 3, .. })
        ));
    }

    #[test]
    fn no_secondary_bitmap_without_high_fields() {
        let d = ascii();
        let mut m = Message::new(Mti::NETWORK_REQUEST);
        m.set(&d, 11, "000001").unwrap();
        let wire = encode_to_bytes(&d, &m).unwrap();
        assert_eq!(&wire[..], b"08000020000000000000000001");
        m.set(&d, 70, "301").unwrap();
        let wire = encode_to_bytes(&d, &m).unwrap();
        assert_eq!(&wire[..], b"080080200000000000000400000000000000000001301");
    }

    #[test]
    fn encode_rejects_message_from_a_laxer_dialect() {
        let lax = Dialect::from_toml(
            "name = \"lax\"\nextends = \"ascii\"\n[fields]\n48 = { format = \"b\", length = \"lll\", max = 999 }\n",
        )
        .unwrap();
        let mut m = Message::new(Mti::FINANCIAL_REQUEST);
        m.set(&lax, 48, vec![0u8, 1]).unwrap();
        let mut out = BytesMut::from(&b"keep"[..]);
        assert!(matches!(
            encode(&ascii(), &m, &mut out),
            Err(EncodeError::BadValue { field: 48, .. })
        ));
        assert_eq!(&out[..], b"keep");
    }
}
