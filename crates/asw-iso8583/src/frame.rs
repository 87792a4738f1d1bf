//! TCP framing as a `tokio_util` codec: length prefix, optional TPDU, keep-alives.
//!
//! The codec only cuts the byte stream into frames; it never parses messages. The
//! length header is checked against the maximum frame size before anything is
//! buffered for the body, so a peer cannot make us allocate more than that.

use std::fmt;
use std::io;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// How the length of a frame is written in front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LengthPrefix {
    /// 2-byte unsigned big-endian length of what follows, excluding itself (default).
    #[default]
    BinaryExclusive,
    /// 2-byte unsigned big-endian length including its own 2 bytes.
    BinaryInclusive,
    /// 4 ASCII decimal digits, excluding itself (`"0168"`).
    Ascii4,
    /// 2 bytes of packed BCD, excluding itself (`01 68`).
    Bcd2,
}

impl LengthPrefix {
    /// Size of the header in bytes.
    pub fn header_len(self) -> usize {
        match self {
            LengthPrefix::Ascii4 => 4,
            _ => 2,
        }
    }

    /// Largest body length the header can express.
    pub fn capacity(self) -> usize {
        match self {
            LengthPrefix::BinaryExclusive => 0xFFFF,
            LengthPrefix::BinaryInclusive => 0xFFFF - 2,
            LengthPrefix::Ascii4 | LengthPrefix::Bcd2 => 9999,
        }
    }

    /// Reads the body length from a complete header.
    fn parse(self, header: &[u8]) -> Result<usize, FrameError> {
        let bad = || FrameError::BadLengthHeader {
            header: header.to_vec(),
        };
        match (self, header) {
            (LengthPrefix::BinaryExclusive, [a, b]) => {
                Ok(usize::from(u16::from_be_bytes([*a, *b])))
            }
            (LengthPrefix::BinaryInclusive, [a, b]) => {
                match usize::from(u16::from_be_bytes([*a, *b])) {
                    // A bare zero header is a keep-alive even on inclusive links.
                    0 => Ok(0),
                    1 => Err(bad()),
                    n => Ok(n - 2),
                }
            }
            (LengthPrefix::Ascii4, digits) => digits.iter().try_fold(0usize, |acc, c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + usize::from(c - b'0'))
                } else {
                    Err(bad())
                }
            }),
            (LengthPrefix::Bcd2, bytes) => bytes.iter().try_fold(0usize, |acc, c| {
                let (hi, lo) = (c >> 4, c & 0x0F);
                if hi <= 9 && lo <= 9 {
                    Ok(acc * 100 + usize::from(hi) * 10 + usize::from(lo))
                } else {
                    Err(bad())
                }
            }),
            _ => Err(bad()),
        }
    }

    fn write(self, len: usize, out: &mut BytesMut) {
        match self {
            LengthPrefix::BinaryExclusive => out.put_u16(len as u16),
            LengthPrefix::BinaryInclusive => out.put_u16((len + 2) as u16),
            LengthPrefix::Ascii4 => out.extend_from_slice(format!("{len:04}").as_bytes()),
            LengthPrefix::Bcd2 => {
                let d = [len / 1000 % 10, len / 100 % 10, len / 10 % 10, len % 10];
                out.put_u8(((d[0] as u8) << 4) | d[1] as u8);
                out.put_u8(((d[2] as u8) << 4) | d[3] as u8);
            }
        }
    }
}

/// The 5-byte transport header of POS dialects: id (`0x60`), destination, source.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tpdu([u8; 5]);

impl Tpdu {
    /// Size on the wire.
    pub const LEN: usize = 5;

    /// A TPDU with id `0x60`.
    pub fn new(destination: [u8; 2], source: [u8; 2]) -> Self {
        Tpdu([0x60, destination[0], destination[1], source[0], source[1]])
    }

    /// The raw 5 bytes.
    pub fn as_bytes(&self) -> &[u8; 5] {
        &self.0
    }

    /// The id byte (`0x60` on every terminal seen so far).
    pub fn id(&self) -> u8 {
        self.0[0]
    }

    /// Destination address (usually the gateway's NII, BCD).
    pub fn destination(&self) -> [u8; 2] {
        [self.0[1], self.0[2]]
    }

    /// Source address (the terminal's).
    pub fn source(&self) -> [u8; 2] {
        [self.0[3], self.0[4]]
    }

    /// The TPDU for the answer: same id, destination and source swapped.
    pub fn response(&self) -> Tpdu {
        Tpdu([self.0[0], self.0[3], self.0[4], self.0[1], self.0[2]])
    }
}

impl fmt::Debug for Tpdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tpdu({})", hex::encode_upper(self.0))
    }
}

/// One unit of the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A zero-length frame: echo it, never parse it.
    KeepAlive,
    /// A message: the raw bytes after the TPDU, still to be decoded.
    Message {
        /// The TPDU, when the link uses one.
        tpdu: Option<Tpdu>,
        /// The message bytes (MTI onwards).
        payload: Bytes,
    },
}

/// Framing failure. Every decode-side variant means the peer broke the framing: close
/// the connection (there is no way to find the next frame boundary again).
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length header announces more than the configured maximum (checked before
    /// buffering the body).
    #[error("frame of {length} bytes is above the limit of {max}")]
    TooLarge {
        /// Announced (or, when encoding, actual) body length.
        length: usize,
        /// Configured limit.
        max: usize,
    },
    /// The length header is not a number in its encoding.
    #[error("frame length header {} is malformed", hex::encode_upper(.header))]
    BadLengthHeader {
        /// The header bytes.
        header: Vec<u8>,
    },
    /// A non-empty frame is too short to hold the TPDU.
    #[error("frame of {length} bytes is too short for the 5-byte TPDU")]
    TpduTruncated {
        /// Body length.
        length: usize,
    },
    /// Encoding a frame whose TPDU presence does not match the link configuration.
    #[error("frame TPDU presence does not match the link (link uses TPDU: {expected})")]
    TpduMismatch {
        /// Whether the link is configured with a TPDU.
        expected: bool,
    },
    /// Socket error from the underlying transport.
    #[error("transport I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Default maximum frame body (TPDU + message) for POS links.
pub const DEFAULT_MAX_FRAME: usize = 4096;

/// `Decoder`/`Encoder` of [`Frame`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCodec {
    prefix: LengthPrefix,
    tpdu: bool,
    max_frame: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(LengthPrefix::BinaryExclusive, true, DEFAULT_MAX_FRAME)
    }
}

impl FrameCodec {
    /// A codec; `max_frame` (body bytes after the header) is capped at what the header
    /// can express.
    pub fn new(prefix: LengthPrefix, tpdu: bool, max_frame: usize) -> Self {
        FrameCodec {
            prefix,
            tpdu,
            max_frame: max_frame.min(prefix.capacity()),
        }
    }

    /// The effective maximum body length.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Whether frames carry a TPDU.
    pub fn uses_tpdu(&self) -> bool {
        self.tpdu
    }

    /// The length prefix variant.
    pub fn prefix(&self) -> LengthPrefix {
        self.prefix
    }
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let header_len = self.prefix.header_len();
        let Some(header) = src.get(..header_len) else {
            return Ok(None);
        };
        let length = self.prefix.parse(header)?;
        if length > self.max_frame {
            return Err(FrameError::TooLarge {
                length,
                max: self.max_frame,
            });
        }
        let total = header_len + length;
        if src.len() < total {
            // Bounded by max_frame, checked above.
            src.reserve(total - src.len());
            return Ok(None);
        }
        src.advance(header_len);
        if length == 0 {
            return Ok(Some(Frame::KeepAlive));
        }
        let mut body = src.split_to(length);
        let tpdu = if self.tpdu {
            let Some(raw) = body.get(..Tpdu::LEN) else {
                return Err(FrameError::TpduTruncated { length });
            };
            let tpdu = Tpdu([raw[0], raw[1], raw[2], raw[3], raw[4]]);
            body.advance(Tpdu::LEN);
            Some(tpdu)
        } else {
            None
        };
        Ok(Some(Frame::Message {
            tpdu,
            payload: body.freeze(),
        }))
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        match frame {
            Frame::KeepAlive => {
                dst.reserve(self.prefix.header_len());
                self.prefix.write(0, dst);
            }
            Frame::Message { tpdu, payload } => {
                if tpdu.is_some() != self.tpdu {
                    return Err(FrameError::TpduMismatch {
                        expected: self.tpdu,
                    });
                }
                let length = payload.len() + if self.tpdu { Tpdu::LEN } else { 0 };
                if length > self.max_frame {
                    return Err(FrameError::TooLarge {
                        length,
                        max: self.max_frame,
                    });
                }
                dst.reserve(self.prefix.header_len() + length);
                self.prefix.write(length, dst);
                if let Some(tpdu) = tpdu {
                    dst.extend_from_slice(tpdu.as_bytes());
                }
                dst.extend_from_slice(&payload);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8], tpdu: Option<Tpdu>) -> Frame {
        Frame::Message {
            tpdu,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn every_prefix_variant_roundtrips() {
        for (prefix, header) in [
            (LengthPrefix::BinaryExclusive, &b"\x00\xA8"[..]),
            (LengthPrefix::BinaryInclusive, &b"\x00\xAA"[..]),
            (LengthPrefix::Ascii4, &b"0168"[..]),
            (LengthPrefix::Bcd2, &b"\x01\x68"[..]),
        ] {
            let mut codec = FrameCodec::new(prefix, false, 4096);
            let mut buf = BytesMut::new();
            let payload = vec![0x42u8; 168];
            codec.encode(frame(&payload, None), &mut buf).unwrap();
            codec.encode(Frame::KeepAlive, &mut buf).unwrap();
            assert_eq!(&buf[..prefix.header_len()], header, "{prefix:?}");
            assert_eq!(codec.decode(&mut buf).unwrap(), Some(frame(&payload, None)));
            assert_eq!(codec.decode(&mut buf).unwrap(), Some(Frame::KeepAlive));
            assert_eq!(codec.decode(&mut buf).unwrap(), None);
        }
    }

    #[test]
    fn tpdu_is_split_off_and_swapped() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&b"\x00\x07\x60\x00\x01\x00\x05\x08\x00"[..]);
        let Some(Frame::Message {
            tpdu: Some(tpdu),
            payload,
        }) = codec.decode(&mut buf).unwrap()
        else {
            panic!("expected a message frame");
        };
        assert_eq!(&payload[..], b"\x08\x00");
        assert_eq!(tpdu.destination(), [0x00, 0x01]);
        assert_eq!(tpdu.source(), [0x00, 0x05]);
        assert_eq!(tpdu.response().as_bytes(), &[0x60, 0x00, 0x05, 0x00, 0x01]);
        let mut short = BytesMut::from(&b"\x00\x03\x60\x00\x01"[..]);
        assert!(matches!(
            codec.decode(&mut short),
            Err(FrameError::TpduTruncated { length: 3 })
        ));
        let mut out = BytesMut::new();
        assert!(matches!(
            codec.encode(frame(b"x", None), &mut out),
            Err(FrameError::TpduMismatch { expected: true })
        ));
    }

    #[test]
    fn oversized_header_rejected_before_buffering() {
        // N8: FF FF on a 4 KiB listener.
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&b"\xFF\xFF"[..]);
        let cap_before = buf.capacity();
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::TooLarge {
                length: 65535,
                max: 4096
            })
        ));
        assert_eq!(buf.capacity(), cap_before);
        let mut ascii = FrameCodec::new(LengthPrefix::Ascii4, false, 100);
        assert!(matches!(
            ascii.decode(&mut BytesMut::from(&b"01x1"[..])),
            Err(FrameError::BadLengthHeader { .. })
        ));
        assert!(matches!(
            ascii.decode(&mut BytesMut::from(&b"0101"[..])),
            Err(FrameError::TooLarge { .. })
        ));
    }
}
