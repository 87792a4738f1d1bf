//! The message model: an MTI and up to 127 field values, plus a validating builder.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::dialect::{Dialect, FieldSpec, Format, LengthKind};
use crate::mti::Mti;

/// Why a value does not fit its field definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A fixed field got a value of the wrong size.
    #[error("fixed field needs exactly {expected} units, got {actual}")]
    WrongLength {
        /// Required size.
        expected: usize,
        /// Size given.
        actual: usize,
    },
    /// A variable field got a value above its maximum.
    #[error("value of {actual} units is above the maximum of {max}")]
    TooLong {
        /// Largest allowed size.
        max: usize,
        /// Size given.
        actual: usize,
    },
    /// A byte is not allowed by the field's content type.
    #[error("byte 0x{byte:02X} at position {index} is not allowed in a {format} field")]
    BadCharacter {
        /// Content type of the field.
        format: Format,
        /// Position of the byte in the value.
        index: usize,
        /// The offending byte.
        byte: u8,
    },
}

/// Checks a logical value against a field definition (content type and length).
pub fn check_value(spec: &FieldSpec, value: &[u8]) -> Result<(), ValueError> {
    let max = usize::from(spec.max);
    if spec.length == LengthKind::Fixed {
        if value.len() != max {
            return Err(ValueError::WrongLength {
                expected: max,
                actual: value.len(),
            });
        }
    } else if value.len() > max {
        return Err(ValueError::TooLong {
            max,
            actual: value.len(),
        });
    }
    let bad = match spec.format {
        Format::N => first_bad(value, |_, b| b.is_ascii_digit()),
        Format::An => first_bad(value, |_, b| b.is_ascii_alphanumeric() || b == b' '),
        Format::Ans => first_bad(value, |_, b| (0x20..=0x7E).contains(&b)),
        Format::B => None,
        Format::Z => first_bad(value, |_, b| b.is_ascii_digit() || b == b'='),
        Format::Xn => first_bad(value, |i, b| {
            b.is_ascii_digit() || (i == 0 && (b == b'C' || b == b'D'))
        }),
    };
    match bad {
        Some((index, byte)) => Err(ValueError::BadCharacter {
            format: spec.format,
            index,
            byte,
        }),
        None => Ok(()),
    }
}

#[inline]
fn first_bad(value: &[u8], ok: impl Fn(usize, u8) -> bool) -> Option<(usize, u8)> {
    value
        .iter()
        .enumerate()
        .find(|(i, b)| !ok(*i, **b))
        .map(|(i, b)| (i, *b))
}

/// Why a field could not be set on a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The dialect does not define or allow this field (1 and bit 65 are never set
    /// directly; 65–128 need the secondary bitmap to be allowed).
    #[error("field {0} is not allowed by the dialect")]
    FieldNotAllowed(u8),
    /// The value does not fit the field's definition.
    #[error("field {field}: {error}")]
    BadValue {
        /// Field number.
        field: u8,
        /// What is wrong with the value.
        error: ValueError,
    },
    /// A numeric value does not fit the field's size.
    #[error("field {field}: number {value} does not fit in {digits} digits")]
    NumberTooLarge {
        /// Field number.
        field: u8,
        /// The number given.
        value: u64,
        /// Size of the field.
        digits: usize,
    },
    /// A helper needs a fixed field and got a variable one.
    #[error("field {0} is not a fixed field")]
    NotFixed(u8),
    /// The request's MTI has no response MTI (it is already a response).
    #[error("MTI {0} has no response MTI")]
    NoResponseMti(Mti),
}

/// Field-number mask for the `present` bitmap: field `n` (1..=128) is bit `128 - n`,
/// so the u128 reads like the wire bitmaps (primary in the high half).
#[inline]
pub(crate) fn bit(n: u8) -> u128 {
    1u128 << (128 - u32::from(n))
}

/// Where a field value lives, plus a lazily made shared handle for [`Message::get_bytes`].
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) slot: Slot,
    shared: OnceLock<Bytes>,
}

impl From<Slot> for Entry {
    fn from(slot: Slot) -> Self {
        Entry {
            slot,
            shared: OnceLock::new(),
        }
    }
}

/// Where a field value lives.
#[derive(Clone)]
pub(crate) enum Slot {
    /// A range of the decoded input buffer.
    Wire(u32, u32),
    /// A range of the buffer of converted (BCD-unpacked / hex-decoded) values.
    Arena(u32, u32),
    /// A value set by the caller.
    Owned(Bytes),
}

/// An ISO 8583 message: an MTI and field values in logical form (ASCII digits for
/// numerics, text for `an`/`ans`/`z`/`xn`, raw bytes for `b`), independent of the wire
/// encoding. A decoded message keeps the input buffer and one buffer of converted
/// values and refers to ranges of them, so decoding copies no ASCII/binary value and
/// takes no reference count per field. `Debug`/`Display` mask sensitive fields.
#[derive(Clone)]
pub struct Message {
    pub(crate) mti: Mti,
    /// Present fields, bit layout per [`bit`]; never contains field 1.
    pub(crate) present: u128,
    /// Values of present fields in ascending field order.
    pub(crate) slots: Vec<Entry>,
    pub(crate) wire: Bytes,
    pub(crate) arena: Bytes,
}

impl PartialEq for Message {
    /// Equal when MTI and every field value are equal, however they are stored.
    fn eq(&self, other: &Self) -> bool {
        self.mti == other.mti && self.present == other.present && self.fields().eq(other.fields())
    }
}

impl Eq for Message {}

impl Message {
    /// An empty message with the given MTI.
    pub fn new(mti: Mti) -> Self {
        Message {
            mti,
            present: 0,
            slots: Vec::new(),
            wire: Bytes::new(),
            arena: Bytes::new(),
        }
    }

    /// The message type indicator.
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// Replaces the MTI.
    pub fn set_mti(&mut self, mti: Mti) {
        self.mti = mti;
    }

    #[inline]
    fn index(&self, n: u8) -> Option<usize> {
        if n == 0 || n > 128 || self.present & bit(n) == 0 {
            return None;
        }
        Some(Self::rank(self.present, n))
    }

    /// Number of present fields below `n`.
    #[inline]
    fn rank(present: u128, n: u8) -> usize {
        present
            .checked_shr(129 - u32::from(n))
            .unwrap_or(0)
            .count_ones() as usize
    }

    #[inline]
    fn slot_value<'a>(&'a self, entry: &'a Entry) -> &'a [u8] {
        match &entry.slot {
            Slot::Wire(start, end) => self
                .wire
                .get(*start as usize..*end as usize)
                .unwrap_or_default(),
            Slot::Arena(start, end) => self
                .arena
                .get(*start as usize..*end as usize)
                .unwrap_or_default(),
            Slot::Owned(bytes) => bytes,
        }
    }

    /// Whether field `n` is present.
    pub fn has(&self, n: u8) -> bool {
        self.index(n).is_some()
    }

    /// The value of field `n` in logical form.
    pub fn get(&self, n: u8) -> Option<&[u8]> {
        let slot = self.slots.get(self.index(n)?)?;
        Some(self.slot_value(slot))
    }

    /// The value of field `n` as a shared buffer (no copy: a slice of the buffer it
    /// was decoded from, made on first request).
    pub fn get_bytes(&self, n: u8) -> Option<&Bytes> {
        let entry = self.slots.get(self.index(n)?)?;
        Some(match &entry.slot {
            Slot::Wire(start, end) => entry
                .shared
                .get_or_init(|| self.wire.slice(*start as usize..*end as usize)),
            Slot::Arena(start, end) => entry
                .shared
                .get_or_init(|| self.arena.slice(*start as usize..*end as usize)),
            Slot::Owned(bytes) => bytes,
        })
    }

    /// The value of field `n` as text; `None` if absent or not UTF-8 (binary fields).
    pub fn get_str(&self, n: u8) -> Option<&str> {
        self.get(n).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Present field numbers, ascending (field 1, the secondary bitmap, is implicit).
    pub fn field_numbers(&self) -> impl Iterator<Item = u8> + '_ {
        let mut rest = self.present;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let n = rest.leading_zeros() as u8 + 1;
            rest &= !bit(n);
            Some(n)
        })
    }

    /// Present fields with their values, ascending.
    pub fn fields(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.field_numbers()
            .zip(self.slots.iter().map(|s| self.slot_value(s)))
    }

    /// Number of present fields.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no field is present.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Sets field `n` after checking the value against the dialect.
    pub fn set(
        &mut self,
        dialect: &Dialect,
        n: u8,
        value: impl Into<Bytes>,
    ) -> Result<(), BuildError> {
        let spec = match dialect.field(n) {
            Some(spec) if dialect.allows(n) => spec,
            _ => return Err(BuildError::FieldNotAllowed(n)),
        };
        let value = value.into();
        check_value(spec, &value).map_err(|error| BuildError::BadValue { field: n, error })?;
        self.insert_unchecked(n, value);
        Ok(())
    }

    /// Inserts without validation; callers have checked `n` and the value.
    pub(crate) fn insert_unchecked(&mut self, n: u8, value: Bytes) {
        let i = Self::rank(self.present, n);
        if self.present & bit(n) != 0 {
            if let Some(entry) = self.slots.get_mut(i) {
                *entry = Slot::Owned(value).into();
            }
        } else {
            self.present |= bit(n);
            self.slots.insert(i, Slot::Owned(value).into());
        }
    }

    /// Removes field `n`, returning its value.
    pub fn remove(&mut self, n: u8) -> Option<Bytes> {
        let value = self.get_bytes(n)?.clone();
        let i = self.index(n)?;
        self.present &= !bit(n);
        self.slots.remove(i);
        Some(value)
    }

    /// Starts the response to this message: response MTI (see [`Mti::response`]) and
    /// the listed fields copied when present (e.g. 3, 4, 11, 12, 13, 24, 25, 41, 42, 49).
    pub fn respond<'d>(
        &self,
        dialect: &'d Dialect,
        echo: &[u8],
    ) -> Result<MessageBuilder<'d>, BuildError> {
        let mti = self
            .mti
            .response()
            .ok_or(BuildError::NoResponseMti(self.mti))?;
        let mut builder = MessageBuilder::new(dialect, mti);
        builder.echo(self, echo)?;
        Ok(builder)
    }
}

/// Builds a message field by field; every value is checked against the dialect when
/// it is set, so an invalid message cannot be produced.
#[derive(Clone)]
pub struct MessageBuilder<'d> {
    dialect: &'d Dialect,
    message: Message,
}

impl<'d> MessageBuilder<'d> {
    /// An empty message of type `mti` in `dialect`.
    pub fn new(dialect: &'d Dialect, mti: Mti) -> Self {
        MessageBuilder {
            dialect,
            message: Message::new(mti),
        }
    }

    /// Sets field `n` (validated).
    pub fn set(&mut self, n: u8, value: impl Into<Bytes>) -> Result<&mut Self, BuildError> {
        self.message.set(self.dialect, n, value)?;
        Ok(self)
    }

    /// Sets a fixed numeric field from a number, zero-filled on the left.
    pub fn set_number(&mut self, n: u8, value: u64) -> Result<&mut Self, BuildError> {
        let spec = self.fixed_spec(n)?;
        let digits = usize::from(spec.max);
        let text = format!("{value:0digits$}");
        if text.len() != digits {
            return Err(BuildError::NumberTooLarge {
                field: n,
                value,
                digits,
            });
        }
        self.set(n, text)
    }

    /// Sets a fixed `an`/`ans` field, filling with spaces on the right (too long is an
    /// error, never silently cut).
    pub fn set_padded(&mut self, n: u8, text: &str) -> Result<&mut Self, BuildError> {
        let spec = self.fixed_spec(n)?;
        let width = usize::from(spec.max);
        self.set(n, format!("{text:<width$}"))
    }

    fn fixed_spec(&self, n: u8) -> Result<FieldSpec, BuildError> {
        match self.dialect.field(n) {
            Some(spec) if spec.length == LengthKind::Fixed => Ok(*spec),
            Some(_) => Err(BuildError::NotFixed(n)),
            None => Err(BuildError::FieldNotAllowed(n)),
        }
    }

    /// Copies the listed fields from `request` when present (validated again against
    /// this builder's dialect).
    pub fn echo(&mut self, request: &Message, fields: &[u8]) -> Result<&mut Self, BuildError> {
        for &n in fields {
            if let Some(value) = request.get_bytes(n) {
                self.message.set(self.dialect, n, value.clone())?;
            }
        }
        Ok(self)
    }

    /// Removes field `n`.
    pub fn remove(&mut self, n: u8) -> &mut Self {
        self.message.remove(n);
        self
    }

    /// The message built so far.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Finishes the message.
    pub fn build(self) -> Message {
        self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect() -> Dialect {
        Dialect::pos_binary().unwrap()
    }

    #[test]
    fn set_get_remove_keep_order() {
        let d = dialect();
        let mut m = Message::new(Mti::FINANCIAL_REQUEST);
        m.set(&d, 41, "T0000001").unwrap();
        m.set(&d, 3, "000000").unwrap();
        m.set(&d, 70, "301").unwrap();
        m.set(&d, 11, "000123").unwrap();
        m.set(&d, 11, "000124").unwrap();
        assert_eq!(m.field_numbers().collect::<Vec<_>>(), vec![3, 11, 41, 70]);
        assert_eq!(m.get_str(11), Some("000124"));
        assert_eq!(m.get(2), None);
        assert_eq!(m.remove(41).as_deref(), Some(&b"T0000001"[..]));
        assert_eq!(m.get_str(70), Some("301"));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn set_validates_content_and_length() {
        let d = dialect();
        let mut b = MessageBuilder::new(&d, Mti::FINANCIAL_RESPONSE);
        assert!(matches!(
            b.set(3, "12"),
            Err(BuildError::BadValue {
                field: 3,
                error: ValueError::WrongLength { .. }
            })
        ));
        assert!(matches!(
            b.set(4, "00000000012A"),
            Err(BuildError::BadValue {
                error: ValueError::BadCharacter { index: 11, .. },
                ..
            })
        ));
        assert!(matches!(
            b.set(2, "12345678901234567890"),
            Err(BuildError::BadValue {
                error: ValueError::TooLong { max: 19, .. },
                ..
            })
        ));
        assert!(matches!(
            b.set(37, "ABC-12345678"),
            Err(BuildError::BadValue { .. })
        ));
        assert!(matches!(
            b.set(41, "T\u{7f}000001"),
            Err(BuildError::BadValue { .. })
        ));
        assert_eq!(b.set(1, "x").err(), Some(BuildError::FieldNotAllowed(1)));
        assert_eq!(
            b.set(65, vec![0u8; 8]).err(),
            Some(BuildError::FieldNotAllowed(65))
        );
        assert_eq!(
            b.set(129, "x").err(),
            Some(BuildError::FieldNotAllowed(129))
        );
        b.set_number(4, 1250).unwrap().set_padded(42, "M1").unwrap();
        assert_eq!(b.message().get_str(4), Some("000000001250"));
        assert_eq!(b.message().get_str(42), Some("M1             "));
        assert!(matches!(
            b.set_number(11, 1_000_000),
            Err(BuildError::NumberTooLarge { .. })
        ));
        assert!(matches!(
            b.set_padded(42, "M1234567890123456"),
            Err(BuildError::BadValue { .. })
        ));
        assert_eq!(b.set_number(48, 1).err(), Some(BuildError::NotFixed(48)));
    }

    #[test]
    fn respond_echoes_and_sets_mti() {
        let d = dialect();
        let mut req = Message::new(Mti::REVERSAL_ADVICE_REPEAT);
        req.set(&d, 11, "000007").unwrap();
        req.set(&d, 41, "T0000001").unwrap();
        let mut resp = req.respond(&d, &[3, 11, 41]).unwrap();
        resp.set(39, "00").unwrap();
        let resp = resp.build();
        assert_eq!(resp.mti(), Mti::REVERSAL_ADVICE_RESPONSE);
        assert_eq!(resp.field_numbers().collect::<Vec<_>>(), vec![11, 39, 41]);
        assert!(matches!(
            resp.respond(&d, &[]),
            Err(BuildError::NoResponseMti(_))
        ));
    }
}
