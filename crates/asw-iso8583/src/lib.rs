//! ISO 8583 codec: the dialect as data, zero-copy pack/unpack, field-48 TLV and tokio framing.
//!
//! What this crate owns:
//! * [`Dialect`]: the per-field wire layout, loaded from TOML and validated at load time;
//!   two built-in profiles (`pos-binary`, the default, and `ascii`).
//! * [`Message`] / [`MessageBuilder`]: an MTI plus field values in logical form, with
//!   every value checked against the dialect when set, so an invalid message cannot be
//!   emitted; [`decode`] / [`encode`] between that and bytes.
//! * [`tlv`]: the field 48 private-data elements (`PC`, `PR`, `PI`, …).
//! * [`mask`]: secrets (payment code, PAN, track data, PIN block) masked in `Debug`/`Display`.
//! * [`frame`]: length prefixes, TPDU and keep-alives as a `tokio_util` codec.
//! * [`json`]: an unmasked JSON view for tools.
//!
//! ```
//! use asw_iso8583::{Dialect, MessageBuilder, Mti, decode, encode_to_bytes};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dialect = Dialect::pos_binary()?;
//! let mut b = MessageBuilder::new(&dialect, Mti::FINANCIAL_REQUEST);
//! b.set(3, "000000")?.set_number(4, 1250)?.set(11, "000123")?.set_padded(42, "M1")?;
//! let wire = encode_to_bytes(&dialect, &b.build())?;
//! let request = decode(&dialect, wire)?;
//! assert_eq!(request.get_str(4), Some("000000001250"));
//! let mut answer = request.respond(&dialect, &[3, 4, 11, 41, 42])?;
//! answer.set(39, "00")?;
//! assert_eq!(answer.build().mti(), Mti::FINANCIAL_RESPONSE);
//! # Ok(())
//! # }
//! ```
//!
//! What it must not know: sockets, time, Antom, transaction state or which fields a
//! given business message needs. It is pure: no I/O, no runtime, no global state.

pub mod codec;
pub mod dialect;
pub mod echo;
pub mod frame;
pub mod json;
pub mod mask;
pub mod message;
pub mod mti;
pub mod tlv;

pub use codec::{DecodeError, EncodeError, Part, decode, encode, encode_to_bytes};
pub use dialect::{Dialect, DialectError, FieldSpec};
pub use frame::{Frame, FrameCodec, FrameError, LengthPrefix, Tpdu};
pub use mask::mask_payment_code;
pub use message::{BuildError, Message, MessageBuilder, ValueError};
pub use mti::Mti;
pub use tlv::{PrivateData, PrivateDataBuilder, Tag, TlvError};
